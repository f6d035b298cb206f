#include "fake_broker.h"

#include <QDateTime>
#include <QHostAddress>

using namespace commy::protocol;

namespace {

QString serviceKey(const QString& tenant, const QString& service) { return tenant + QLatin1Char('/') + service; }

} // namespace

FakeBroker::FakeBroker(std::optional<QSslConfiguration> tls)
    : m_server(std::make_unique<QWebSocketServer>(
        QStringLiteral("fake-commyd"), tls ? QWebSocketServer::SecureMode : QWebSocketServer::NonSecureMode))
    , m_secure(tls.has_value())
{
    if (tls)
        m_server->setSslConfiguration(*tls);
    QObject::connect(m_server.get(), &QWebSocketServer::newConnection, m_server.get(), [this] { onConnection(); });
}

FakeBroker::~FakeBroker()
{
    for (QWebSocket* socket : std::as_const(m_sockets)) {
        socket->disconnect();
        socket->abort();
        delete socket;
    }
}

bool FakeBroker::listen(quint16 port)
{
    if (!m_server->listen(QHostAddress::LocalHost, port))
        return false;
    m_port = m_server->serverPort();
    return true;
}

void FakeBroker::stopListening() { m_server->close(); }

QUrl FakeBroker::url() const
{
    return QUrl(
        QStringLiteral("%1://127.0.0.1:%2").arg(m_secure ? QStringLiteral("wss") : QStringLiteral("ws")).arg(m_port));
}

void FakeBroker::dropAll(bool abort)
{
    const QList<QWebSocket*> sockets = m_sockets;
    for (QWebSocket* socket : sockets) {
        if (abort)
            socket->abort();
        else
            socket->close(QWebSocketProtocol::CloseCodeGoingAway, QStringLiteral("fake broker going away"));
    }
}

void FakeBroker::onConnection()
{
    while (QWebSocket* socket = m_server->nextPendingConnection()) {
        ++accepted;
        m_sockets.append(socket);
        QObject::connect(socket, &QWebSocket::textMessageReceived, socket,
            [this, socket](const QString& text) { onRequest(socket, text); });
        QObject::connect(socket, &QWebSocket::disconnected, socket, [this, socket] {
            m_sockets.removeAll(socket);
            m_subscriptions.remove(socket);
            m_seq.remove(socket);
            socket->deleteLater();
        });
    }
}

void FakeBroker::onRequest(QWebSocket* socket, const QString& text)
{
    const DecodeResult decoded = decodeRequest(text.toUtf8());
    if (!decoded) {
        sendRaw(socket, encodeError(decoded.error()));
        return;
    }
    received.append(*decoded);
    if (intercept && intercept(socket, *decoded))
        return;
    answer(socket, *decoded);
}

void FakeBroker::answer(QWebSocket* socket, const RequestFrame& frame)
{
    const RequestId& id = frame.id;
    if (const auto* auth = std::get_if<Authenticate>(&frame.request)) {
        bool ok = false;
        if (const auto* key = std::get_if<ApiKeyCredential>(&auth->credential))
            ok = key->key == validKey;
        else if (const auto* password = std::get_if<PasswordCredential>(&auth->credential))
            ok = password->username == validUser && password->password == validPassword;
        else if (const auto* token = std::get_if<TokenCredential>(&auth->credential))
            ok = validTokens.contains(token->token);
        if (!ok) {
            replyError(socket, id, ErrorCode::Unauthorized, QStringLiteral("authentication failed"));
            return;
        }
        lastToken = QStringLiteral("tok-%1").arg(++m_tokensIssued);
        validTokens.insert(lastToken);
        reply(socket, id, AuthenticateResult { lastToken, tokenLifetime, { Scope::Read, Scope::Subscribe } });
    } else if (std::holds_alternative<Heartbeat>(frame.request)) {
        reply(socket, id, HeartbeatResult { QDateTime::currentMSecsSinceEpoch() });
    } else if (const auto* subscribe = std::get_if<Subscribe>(&frame.request)) {
        m_subscriptions[socket].insert(serviceKey(subscribe->tenant, subscribe->service));
        reply(socket, id, EmptyResult {});
    } else if (const auto* read = std::get_if<ReadVariable>(&frame.request)) {
        const auto it
            = m_variables.constFind(serviceKey(read->tenant, read->service) + QLatin1Char('/') + read->variable);
        if (it == m_variables.constEnd())
            replyError(socket, id, ErrorCode::NotFound, QStringLiteral("no such variable"));
        else
            reply(socket, id, ReadResult { it->value, it->version });
    } else if (const auto* list = std::get_if<ListVariables>(&frame.request)) {
        const QString prefix = serviceKey(list->tenant, list->service) + QLatin1Char('/');
        ListVariablesResult result;
        for (auto it = m_variables.constBegin(); it != m_variables.constEnd(); ++it) {
            if (it.key().startsWith(prefix))
                result.variables.push_back({ it.key().mid(prefix.size()), it->value.size(), it->version });
        }
        reply(socket, id, result);
    } else {
        reply(socket, id, EmptyResult {});
    }
}

void FakeBroker::reply(QWebSocket* socket, const RequestId& id, const ResultData& result)
{
    sendRaw(socket, encodeResult(id, result));
}

void FakeBroker::replyError(
    QWebSocket* socket, const RequestId& id, ErrorCode code, const QString& message, std::optional<qint64> retryAfter)
{
    sendRaw(socket, encodeError(id, Error { code, message, retryAfter }));
}

void FakeBroker::sendRaw(QWebSocket* socket, const QByteArray& frame)
{
    socket->sendTextMessage(QString::fromUtf8(frame));
}

void FakeBroker::push(QWebSocket* socket, const VariableChanged& change) { sendRaw(socket, encodePush(change)); }

qint64 FakeBroker::store(
    const QString& tenant, const QString& service, const QString& variable, const QByteArray& value)
{
    Variable& stored = m_variables[serviceKey(tenant, service) + QLatin1Char('/') + variable];
    stored.value = value;
    return ++stored.version;
}

void FakeBroker::publish(
    const QString& tenant, const QString& service, const QString& variable, const QByteArray& value)
{
    const qint64 version = store(tenant, service, variable, value);
    for (QWebSocket* socket : std::as_const(m_sockets)) {
        if (m_subscriptions.value(socket).contains(serviceKey(tenant, service)))
            push(socket, VariableChanged { tenant, service, variable, value, version, ++m_seq[socket], false });
    }
}

int FakeBroker::countOf(const QString& type) const { return int(ofType(type).size()); }

QList<RequestFrame> FakeBroker::ofType(const QString& type) const
{
    QList<RequestFrame> result;
    for (const RequestFrame& frame : received) {
        if (requestTypeName(frame.request) == type)
            result.append(frame);
    }
    return result;
}
