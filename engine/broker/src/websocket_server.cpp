#include <commy/broker/websocket_server.h>

#include "tls_files.h"
#include "ws_connection.h"
#include "ws_logging.h"

#include "ws_send_batch.h"

#include <QHash>
#include <QSet>
#include <QSslServer>
#include <QTcpServer>
#include <QTcpSocket>

namespace commy::broker {

namespace {

QString hostText(const QHostAddress& address)
{
    return address.protocol() == QAbstractSocket::IPv6Protocol ? QStringLiteral("[%1]").arg(address.toString())
                                                               : address.toString();
}

} // namespace

struct WebSocketServer::Impl {
    WebSocketServer* q = nullptr;
    SessionHandler* handler = nullptr;
    WebSocketServerOptions options;
    bool secure = false;
    bool closed = false;
    QString closeReason;
    std::unique_ptr<QTcpServer> listener; // a QSslServer for wss
    WsSendBatch batch;
    QSet<WsConnection*> handshaking;
    QHash<SessionId, WsConnection*> connections; // open sessions

    ConnectionSettings connectionSettings() const
    {
        ConnectionSettings settings;
        settings.maxMessageBytes = options.maxMessageBytes;
        settings.handshakeTimeoutMs = options.handshakeTimeoutMs;
        settings.idleTimeoutMs = options.idleTimeoutMs;
        settings.pingIntervalMs = options.pingIntervalMs;
        settings.closeTimeoutMs = options.closeTimeoutMs;
        settings.queue.boundBytes = options.sendBufferBytes;
        settings.queue.graceMs = options.sendGraceMs;
        return settings;
    }

    void accept();
    void watchTls(QSslServer& server);
};

void WebSocketServer::Impl::accept()
{
    while (listener->hasPendingConnections()) {
        QTcpSocket* socket = listener->nextPendingConnection();
        if (!socket)
            continue;
        if (closed) {
            socket->abort();
            socket->deleteLater();
            continue;
        }
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        auto* connection = new WsConnection(socket, handler, connectionSettings(), &batch, q);
        handshaking.insert(connection);
        WsConnection::Callbacks callbacks;
        callbacks.opened = [this, connection] {
            handshaking.remove(connection);
            connections.insert(connection->session(), connection);
            emit q->sessionOpened(connection->session());
        };
        callbacks.closing = [this, connection](int code) { emit q->sessionClosing(connection->session(), code); };
        callbacks.finished = [this, connection] {
            connection->deleteLater();
            if (handshaking.remove(connection))
                return; // never got past the handshake: no session
            connections.remove(connection->session());
            emit q->sessionClosed(connection->session());
        };
        connection->start(std::move(callbacks));
    }
}

void WebSocketServer::Impl::watchTls(QSslServer& server)
{
    // A failed TLS handshake costs that one connection only; say why, for whoever runs the server.
    QObject::connect(&server, &QSslServer::sslErrors, q, [](QSslSocket* socket, const QList<QSslError>& errors) {
        for (const QSslError& error : errors)
            qCWarning(lcWebSocket, "TLS error with %s: %s", qPrintable(socket->peerAddress().toString()),
                qPrintable(error.errorString()));
    });
    QObject::connect(&server, &QSslServer::errorOccurred, q, [](QSslSocket* socket, QAbstractSocket::SocketError) {
        qCWarning(lcWebSocket, "TLS connection from %s failed: %s", qPrintable(socket->peerAddress().toString()),
            qPrintable(socket->errorString()));
    });
    QObject::connect(&server, &QSslServer::handshakeInterruptedOnError, q, [](QSslSocket* socket, const QSslError& e) {
        qCWarning(lcWebSocket, "TLS handshake with %s interrupted: %s", qPrintable(socket->peerAddress().toString()),
            qPrintable(e.errorString()));
    });
}

WebSocketServer::WebSocketServer(SessionHandler* handler, WebSocketServerOptions options, QObject* parent)
    : QObject(parent)
    , m_impl(std::make_unique<Impl>())
{
    m_impl->q = this;
    m_impl->handler = handler;
    m_impl->options = std::move(options);
}

WebSocketServer::~WebSocketServer()
{
    for (WsConnection* connection : std::as_const(m_impl->connections))
        delete connection; // aborts the socket and closes the session
    m_impl->connections.clear();
    qDeleteAll(m_impl->handshaking);
    m_impl->handshaking.clear();
    m_impl->listener.reset();
}

Expected<void, QString> WebSocketServer::listen()
{
    const WebSocketServerOptions& options = m_impl->options;
    if (isListening())
        return unexpected(QStringLiteral("already listening on %1").arg(url().toString()));
    if (options.tlsCertificateFile.isEmpty() != options.tlsKeyFile.isEmpty())
        return unexpected(QStringLiteral("TLS needs both a certificate file and a key file"));

    std::unique_ptr<QTcpServer> listener;
    const bool secure = !options.tlsCertificateFile.isEmpty();
    if (secure) {
        auto configuration = loadTlsConfiguration(options.tlsCertificateFile, options.tlsKeyFile);
        if (!configuration)
            return unexpected(configuration.error());
        auto tlsServer = std::make_unique<QSslServer>();
        tlsServer->setSslConfiguration(*configuration);
        tlsServer->setHandshakeTimeout(options.handshakeTimeoutMs);
        m_impl->watchTls(*tlsServer);
        listener = std::move(tlsServer);
    } else {
        listener = std::make_unique<QTcpServer>();
    }
    listener->setListenBacklogSize(512); // bursts of clients connecting at once
    if (!listener->listen(options.host, options.port))
        return unexpected(QStringLiteral("cannot listen on %1:%2: %3")
                              .arg(hostText(options.host))
                              .arg(options.port)
                              .arg(listener->errorString()));
    connect(listener.get(), &QTcpServer::pendingConnectionAvailable, this, [this] { m_impl->accept(); });
    connect(listener.get(), &QTcpServer::acceptError, this, [this](QAbstractSocket::SocketError) {
        qCWarning(lcWebSocket, "accepting a connection failed: %s", qPrintable(m_impl->listener->errorString()));
    });
    m_impl->listener = std::move(listener);
    m_impl->secure = secure;
    m_impl->closed = false;
    qCInfo(lcWebSocket, "listening on %s", qPrintable(url().toString()));
    return {};
}

bool WebSocketServer::isListening() const { return m_impl->listener && m_impl->listener->isListening(); }

bool WebSocketServer::isSecure() const { return m_impl->secure; }

quint16 WebSocketServer::port() const { return isListening() ? m_impl->listener->serverPort() : 0; }

QUrl WebSocketServer::url() const
{
    if (!isListening())
        return {};
    QUrl url;
    url.setScheme(m_impl->secure ? QStringLiteral("wss") : QStringLiteral("ws"));
    url.setHost(m_impl->listener->serverAddress().toString());
    url.setPort(m_impl->listener->serverPort());
    return url;
}

void WebSocketServer::close(quint16 code, const QString& reason)
{
    m_impl->closed = true;
    m_impl->closeReason = reason.isEmpty() ? QStringLiteral("server shutting down") : reason;
    if (m_impl->listener)
        m_impl->listener->close();
    const QList<WsConnection*> handshaking = m_impl->handshaking.values();
    for (WsConnection* connection : handshaking)
        connection->close(code, m_impl->closeReason); // dropped: no session to close yet
    const QList<WsConnection*> connections = m_impl->connections.values();
    for (WsConnection* connection : connections)
        connection->close(code, m_impl->closeReason);
}

int WebSocketServer::sessionCount() const { return int(m_impl->connections.size()); }

} // namespace commy::broker
