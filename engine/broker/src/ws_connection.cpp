#include "ws_connection.h"

#include "ws_logging.h"

#include <commy/protocol/codec.h>

#include <QSslSocket>
#include <QTcpSocket>
#include <QWebSocket>

namespace commy::broker {

namespace {

// An IPv4 peer reached through a dual-stack socket shows as ::ffff:a.b.c.d; the broker compares
// addresses (rate limits, loopback checks), so it gets the plain IPv4 form.
PeerInfo peerOf(const QWebSocket& socket)
{
    PeerInfo peer { socket.peerAddress(), socket.peerPort() };
    bool isV4 = false;
    const quint32 v4 = peer.address.toIPv4Address(&isV4);
    if (isV4 && peer.address.protocol() == QAbstractSocket::IPv6Protocol)
        peer.address = QHostAddress(v4);
    return peer;
}

QString describe(const PeerInfo& peer)
{
    return peer.address.protocol() == QAbstractSocket::IPv6Protocol
        ? QStringLiteral("[%1]:%2").arg(peer.address.toString()).arg(peer.port)
        : QStringLiteral("%1:%2").arg(peer.address.toString()).arg(peer.port);
}

} // namespace

WsConnection::WsConnection(
    QWebSocket* socket, QTcpSocket* transport, SessionHandler* handler, ConnectionSettings settings, QObject* parent)
    : QObject(parent)
    , m_socket(socket)
    , m_transport(transport)
    , m_handler(handler)
    , m_settings(settings)
    , m_queue(settings.queue)
    , m_peer(peerOf(*socket))
{
    m_socket->setParent(this);
    m_pingTimer.setInterval(m_settings.pingIntervalMs);
    m_idleTimer.setSingleShot(true);
    m_pressureTimer.setSingleShot(true);
    m_closeTimer.setSingleShot(true);
    connect(&m_pingTimer, &QTimer::timeout, this, [this] { m_socket->ping(); });
    connect(&m_idleTimer, &QTimer::timeout, this, &WsConnection::onIdleCheck);
    connect(&m_pressureTimer, &QTimer::timeout, this, &WsConnection::drain);
    connect(&m_closeTimer, &QTimer::timeout, this, [this] {
        qCInfo(lcWebSocket, "session %llu: %s did not finish closing within %d ms; dropping it", m_session,
            qPrintable(describe(m_peer)), m_settings.closeTimeoutMs);
        m_socket->abort();
    });
}

WsConnection::~WsConnection() { abortNow(); }

void WsConnection::start(Callbacks callbacks)
{
    m_callbacks = std::move(callbacks);
    m_clock.start();
    noteActivity();

    connect(m_socket, &QWebSocket::textMessageReceived, this, &WsConnection::onTextMessage);
    connect(m_socket, &QWebSocket::binaryMessageReceived, this, [this] { onBinaryMessage(); });
    // Any frame, including each part of a long fragmented message, and any pong shows the peer is alive.
    connect(m_socket, &QWebSocket::textFrameReceived, this, [this] { noteActivity(); });
    connect(m_socket, &QWebSocket::binaryFrameReceived, this, [this] { noteActivity(); });
    connect(m_socket, &QWebSocket::pong, this, [this] { noteActivity(); });
    connect(m_socket, &QWebSocket::bytesWritten, this, [this] { drain(); });
    if (auto* tls = qobject_cast<QSslSocket*>(m_transport.data()))
        connect(tls, &QSslSocket::encryptedBytesWritten, this, [this] { drain(); });
    connect(m_socket, &QWebSocket::aboutToClose, this, &WsConnection::onClosingStarted);
    // Queued: a disconnect can happen inside a write the handler made, and closing the session from
    // there would re-enter the handler.
    connect(m_socket, &QWebSocket::disconnected, this, &WsConnection::onDisconnected, Qt::QueuedConnection);

    m_session = m_handler->openSession(m_peer, this);
    m_sessionOpen = true;
    qCInfo(lcWebSocket, "session %llu: opened for %s", m_session, qPrintable(describe(m_peer)));

    if (m_settings.pingIntervalMs > 0)
        m_pingTimer.start();
    if (m_settings.idleTimeoutMs > 0)
        m_idleTimer.start(m_settings.idleTimeoutMs);
    if (m_socket->state() != QAbstractSocket::ConnectedState)
        QMetaObject::invokeMethod(this, &WsConnection::onDisconnected, Qt::QueuedConnection);
}

void WsConnection::close(QWebSocketProtocol::CloseCode code, const QString& reason)
{
    if (m_closing || !m_sessionOpen)
        return;
    m_closing = true;
    qCInfo(lcWebSocket, "session %llu: closing %s with %d (%s)", m_session, qPrintable(describe(m_peer)), int(code),
        qPrintable(reason));
    if (m_callbacks.closing)
        m_callbacks.closing(int(code));
    m_socket->close(code, reason);
    onClosingStarted();
}

void WsConnection::abortNow()
{
    m_socket->disconnect(this);
    if (m_transport)
        m_transport->disconnect(this);
    m_pingTimer.stop();
    m_idleTimer.stop();
    m_pressureTimer.stop();
    m_closeTimer.stop();
    m_closing = true;
    m_socket->abort();
    endSession();
}

void WsConnection::sendReply(const QByteArray& frame)
{
    if (m_closing)
        return;
    m_queue.enqueueReply(frame);
    drain();
}

void WsConnection::sendPush(const protocol::VariableChanged& push)
{
    if (m_closing)
        return;
    m_queue.enqueuePush(push);
    drain();
}

void WsConnection::onTextMessage(const QString& message)
{
    if (m_closing || !m_sessionOpen)
        return;
    m_handler->handleFrame(m_session, message.toUtf8());
}

void WsConnection::onBinaryMessage()
{
    protocol::Error error;
    error.code = protocol::ErrorCode::InvalidRequest;
    error.message = QStringLiteral("binary frames are not accepted: send JSON in text frames");
    sendReply(protocol::encodeError(std::nullopt, error));
}

void WsConnection::onClosingStarted()
{
    // Also reached when QtWebSockets closes on its own (a message over the limit: 1009).
    m_closing = true;
    m_pingTimer.stop();
    m_idleTimer.stop();
    m_pressureTimer.stop();
    if (m_settings.closeTimeoutMs > 0 && !m_closeTimer.isActive())
        m_closeTimer.start(m_settings.closeTimeoutMs);
}

void WsConnection::onDisconnected()
{
    m_pingTimer.stop();
    m_idleTimer.stop();
    m_pressureTimer.stop();
    m_closeTimer.stop();
    if (!m_sessionOpen)
        return;
    if (m_closing)
        qCInfo(lcWebSocket, "session %llu: %s disconnected (close code %d%s%s)", m_session,
            qPrintable(describe(m_peer)), int(m_socket->closeCode()), m_socket->closeReason().isEmpty() ? "" : ": ",
            qPrintable(m_socket->closeReason()));
    else
        qCInfo(
            lcWebSocket, "session %llu: %s went away without a close frame", m_session, qPrintable(describe(m_peer)));
    m_closing = true;
    endSession();
    if (m_callbacks.finished)
        m_callbacks.finished();
}

void WsConnection::onIdleCheck()
{
    const qint64 idleMs = m_clock.elapsed() - m_lastActivityMs;
    if (idleMs >= m_settings.idleTimeoutMs) {
        close(QWebSocketProtocol::CloseCodeGoingAway, QStringLiteral("idle"));
        return;
    }
    m_idleTimer.start(int(m_settings.idleTimeoutMs - idleMs));
}

void WsConnection::drain()
{
    if (m_closing)
        return;
    if (!m_queue.isEmpty()) {
        for (const QByteArray& frame : m_queue.takeSendable(unsentBytes()))
            m_socket->sendTextMessage(QString::fromUtf8(frame));
    }
    checkPressure();
}

void WsConnection::checkPressure()
{
    const bool wasOver = m_queue.overBoundSince().has_value();
    const qint64 nowMs = m_clock.elapsed();
    if (m_queue.overBoundTooLong(unsentBytes(), nowMs)) {
        qCWarning(lcWebSocket, "session %llu: %s stayed over its send bound for %lld ms (%lld pushes merged)",
            m_session, qPrintable(describe(m_peer)), nowMs - *m_queue.overBoundSince(), m_queue.coalescedTotal());
        close(QWebSocketProtocol::CloseCodePolicyViolated, QStringLiteral("too slow: send buffer over its bound"));
        return;
    }
    const std::optional<qint64> since = m_queue.overBoundSince();
    if (!since) {
        m_pressureTimer.stop();
        return;
    }
    if (!wasOver && !m_pressureSeen) {
        m_pressureSeen = true; // said once: a slow link crosses the bound back and forth
        qCInfo(lcWebSocket, "session %llu: %s is over its send bound; merging pushes", m_session,
            qPrintable(describe(m_peer)));
    }
    // Re-check when the grace runs out even if the socket stays silent.
    if (!m_pressureTimer.isActive())
        m_pressureTimer.start(int(*since + m_queue.options().graceMs - nowMs + 1));
}

qint64 WsConnection::unsentBytes() const
{
    qint64 bytes = m_socket->bytesToWrite();
    // TLS encrypts eagerly: what waits for the network sits in the encrypted buffer.
    if (const auto* tls = qobject_cast<const QSslSocket*>(m_transport.data()))
        bytes += tls->encryptedBytesToWrite();
    return bytes;
}

void WsConnection::endSession()
{
    if (!m_sessionOpen)
        return;
    m_sessionOpen = false;
    m_handler->closeSession(m_session);
}

} // namespace commy::broker
