#include <commy/client/broker_client.h>

#include <commy/protocol/codec.h>
#include <commy/protocol/server_codec.h>

#include "backoff.h"
#include "pending_requests.h"
#include "seq_tracker.h"
#include "session_memory.h"

#include <QPointer>
#include <QSslError>
#include <QTimer>
#include <QWebSocket>

namespace commy::client {

using detail::Clock;

namespace {

protocol::Error clientError(protocol::ErrorCode code, QString message)
{
    return protocol::Error { code, std::move(message), std::nullopt };
}

QString describe(const protocol::Error& error)
{
    return QStringLiteral("%1: %2").arg(protocol::errorCodeName(error.code), error.message);
}

// Request ids go out as JSON integers; anything else in a reply cannot be one of ours.
std::optional<quint64> ourId(const std::optional<protocol::RequestId>& id)
{
    const qint64* number = id ? std::get_if<qint64>(&*id) : nullptr;
    if (!number || *number <= 0)
        return std::nullopt;
    return quint64(*number);
}

} // namespace

// Counts the socket handlers on the stack: the destructor must not delete the socket under them.
class BrokerClient::HandlerScope {
public:
    explicit HandlerScope(BrokerClient* client)
        : m_client(client)
    {
        // Through the plain pointer and one data() read: each QPointer access may be null to the
        // optimiser, and GCC -O2 reports the second one as a potential null dereference.
        ++client->m_handlerDepth;
    }
    ~HandlerScope()
    {
        if (BrokerClient* client = m_client.data())
            --client->m_handlerDepth;
    }
    HandlerScope(const HandlerScope&) = delete;
    HandlerScope& operator=(const HandlerScope&) = delete;

private:
    QPointer<BrokerClient> m_client;
};

BrokerClient::BrokerClient(QObject* parent)
    : BrokerClient(Options {}, parent)
{
}

BrokerClient::BrokerClient(Options options, QObject* parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_backoff(std::make_unique<detail::Backoff>(m_options.initialBackoff, m_options.maxBackoff))
    , m_pending(std::make_unique<detail::PendingRequests>())
    , m_memory(std::make_unique<detail::SessionMemory>())
    , m_seq(std::make_unique<detail::SeqTracker>())
    , m_reconnectTimer(new QTimer(this))
    , m_connectTimer(new QTimer(this))
    , m_timeoutTimer(new QTimer(this))
{
    for (QTimer* timer : { m_reconnectTimer, m_connectTimer, m_timeoutTimer }) {
        timer->setSingleShot(true);
        timer->setTimerType(Qt::PreciseTimer);
    }
    connect(m_reconnectTimer, &QTimer::timeout, this, &BrokerClient::startAttempt);
    connect(m_connectTimer, &QTimer::timeout, this, [this] {
        if (!fail(QStringLiteral("connecting to %1 timed out").arg(m_url.toString())))
            return;
        dropSocket();
        connectionLost();
    });
    connect(m_timeoutTimer, &QTimer::timeout, this, &BrokerClient::expireRequests);
}

BrokerClient::~BrokerClient()
{
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
        if (m_handlerDepth > 0)
            m_socket->deleteLater();
        else
            delete m_socket;
    }
}

const BrokerClient::Options& BrokerClient::options() const { return m_options; }

void BrokerClient::setOptions(Options options)
{
    m_options = std::move(options);
    m_backoff->setLimits(m_options.initialBackoff, m_options.maxBackoff);
}

BrokerClient::State BrokerClient::state() const { return m_state; }
QUrl BrokerClient::url() const { return m_url; }
QString BrokerClient::errorString() const { return m_errorString; }

void BrokerClient::open(const QUrl& url)
{
    if (m_state != State::Disconnected)
        close();
    const QString scheme = url.scheme();
    if (!url.isValid() || (scheme != u"ws" && scheme != u"wss") || url.host().isEmpty()) {
        fail(QStringLiteral("cannot open '%1': a broker URL is ws://HOST:PORT or wss://HOST:PORT").arg(url.toString()));
        return;
    }
    m_url = url;
    m_backoff->reset();
    setState(State::Connecting);
    startAttempt();
}

void BrokerClient::close()
{
    const bool wasConnected = m_state == State::Connected;
    m_reconnectTimer->stop();
    m_connectTimer->stop();
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->close();
        dropSocket();
    }
    ++m_generation;
    m_restoring = false;
    m_resyncing.clear();
    m_resyncAgain.clear();
    m_memory->clear();
    m_seq->clear();
    completeAll(QStringLiteral("the client was closed before the reply came"), false);
    if (!setState(State::Disconnected))
        return;
    if (wasConnected)
        emit disconnected();
}

bool BrokerClient::setState(State state)
{
    if (m_state == state)
        return true;
    m_state = state;
    QPointer<BrokerClient> self(this);
    emit stateChanged(state);
    return !self.isNull();
}

bool BrokerClient::fail(const QString& message)
{
    m_errorString = message;
    m_errorReported = true;
    QPointer<BrokerClient> self(this);
    emit errorOccurred(message);
    return !self.isNull();
}

// --- The connection ----------------------------------------------------------------------------

void BrokerClient::startAttempt()
{
    dropSocket();
    ++m_generation;
    m_errorReported = false;
    m_socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, nullptr);
    m_socket->setMaxAllowedIncomingMessageSize(quint64(m_options.maxIncomingMessageSize));
    if (m_url.scheme() == u"wss") {
        QSslConfiguration ssl = m_options.sslConfiguration;
        if (!m_options.caCertificates.isEmpty())
            ssl.addCaCertificates(m_options.caCertificates);
        m_socket->setSslConfiguration(ssl);
    }
    connect(m_socket, &QWebSocket::connected, this, [this] {
        HandlerScope scope(this);
        onSocketConnected();
    });
    connect(m_socket, &QWebSocket::disconnected, this, [this] {
        HandlerScope scope(this);
        onSocketDisconnected();
    });
    connect(m_socket, &QWebSocket::textMessageReceived, this, [this](const QString& message) {
        HandlerScope scope(this);
        onTextMessage(message);
    });
    connect(m_socket, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray&) {
        HandlerScope scope(this);
        fail(QStringLiteral("the broker sent a binary frame; it was ignored"));
    });
    connect(m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
        [this](QAbstractSocket::SocketError) {
            HandlerScope scope(this);
            // A TLS failure was already reported, with its reasons, by sslErrors.
            if (!m_errorReported)
                fail(QStringLiteral("connection to %1: %2").arg(m_url.toString(), m_socket->errorString()));
        });
    connect(m_socket, &QWebSocket::sslErrors, this, [this](const QList<QSslError>& errors) {
        HandlerScope scope(this);
        if (m_options.ignoreSslErrors) {
            m_socket->ignoreSslErrors();
            return;
        }
        QStringList reasons;
        for (const QSslError& error : errors)
            reasons.append(error.errorString());
        fail(QStringLiteral("TLS error with %1: %2").arg(m_url.toString(), reasons.join(QStringLiteral("; "))));
    });
    m_connectTimer->start(m_options.connectTimeout);
    m_socket->open(m_url);
}

void BrokerClient::dropSocket()
{
    if (!m_socket)
        return;
    m_socket->disconnect(this);
    // Possibly called from one of the socket's own signals.
    m_socket->deleteLater();
    m_socket = nullptr;
}

void BrokerClient::onSocketConnected()
{
    m_connectTimer->stop();
    if (m_memory->empty()) {
        becomeConnected(false);
        return;
    }
    m_restoring = true;
    restoreSession();
}

void BrokerClient::becomeConnected(bool restored)
{
    m_restoring = false;
    m_backoff->reset();
    // Requests made while the connection was being (re)established, in the order they were made.
    for (const quint64 id : m_pending->unsentIds()) {
        if (const detail::Pending* pending = m_pending->find(id))
            transmit(id, pending->request);
    }
    if (!setState(State::Connected))
        return;
    QPointer<BrokerClient> self(this);
    if (restored)
        emit resubscribed();
    if (self)
        emit connected();
}

void BrokerClient::onSocketDisconnected()
{
    if (m_socket && !m_errorReported) {
        const auto code = m_socket->closeCode();
        const QString reason = m_socket->closeReason();
        if (!fail(QStringLiteral("the connection to %1 closed (code %2%3)")
                      .arg(m_url.toString())
                      .arg(int(code))
                      .arg(reason.isEmpty() ? QString() : QStringLiteral(": ") + reason)))
            return;
    }
    dropSocket();
    connectionLost();
}

void BrokerClient::connectionLost()
{
    m_connectTimer->stop();
    const bool wasConnected = m_state == State::Connected;
    ++m_generation;
    m_restoring = false;
    m_resyncing.clear();
    m_resyncAgain.clear();
    // What was sent may or may not have been carried out; what was not sent waits for the next
    // connection (or its timeout).
    completeAll(QStringLiteral("the connection to the broker closed before the reply came; the request may or may "
                               "not have been carried out"),
        true);
    if (m_options.autoReconnect)
        m_reconnectTimer->start(m_backoff->next());
    else
        completeAll(QStringLiteral("not connected to a broker"), false);
    if (!setState(m_options.autoReconnect ? State::Reconnecting : State::Disconnected))
        return;
    if (wasConnected)
        emit disconnected();
}

// --- Requests ----------------------------------------------------------------------------------

quint64 BrokerClient::send(protocol::Request request, Callback callback)
{
    const quint64 id = enqueue(std::move(request), std::move(callback), true);
    if (m_state == State::Connected) {
        transmit(id, m_pending->find(id)->request);
    } else if (m_state == State::Disconnected) {
        // Never from inside send(): the caller may not be ready for its callback yet.
        QTimer::singleShot(0, this, [this, id] {
            if (auto pending = m_pending->take(id); pending && pending->callback)
                pending->callback(unexpected(
                    clientError(protocol::ErrorCode::InternalError, QStringLiteral("not connected to a broker"))));
        });
    }
    return id;
}

quint64 BrokerClient::sendInternal(protocol::Request request, Callback callback)
{
    const quint64 generation = m_generation;
    // Replies to an earlier connection's requests are stale: the connection they served is gone.
    Callback guarded = [this, generation, callback = std::move(callback)](const Reply& reply) {
        if (generation == m_generation)
            callback(reply);
    };
    const quint64 id = enqueue(std::move(request), std::move(guarded), false);
    transmit(id, m_pending->find(id)->request);
    return id;
}

void BrokerClient::transmit(quint64 id, const protocol::Request& request)
{
    if (!m_socket)
        return;
    m_socket->sendTextMessage(QString::fromUtf8(protocol::encodeRequest(qint64(id), request)));
    m_pending->markSent(id, m_generation);
}

quint64 BrokerClient::enqueue(protocol::Request request, Callback callback, bool fromUser)
{
    const quint64 id = m_nextId++;
    const Clock::time_point deadline = Clock::now() + m_options.requestTimeout;
    m_pending->add(detail::Pending { id, std::move(request), std::move(callback), fromUser, false, 0, deadline });
    armTimeout(deadline);
    return id;
}

// Deadlines mostly come in increasing order: the timer stays armed for the earliest one and moves
// only for a request whose deadline is earlier still.
void BrokerClient::armTimeout(Clock::time_point deadline)
{
    if (m_timeoutTimer->isActive() && m_armedDeadline <= deadline)
        return;
    m_armedDeadline = deadline;
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    m_timeoutTimer->start(std::max(wait, std::chrono::milliseconds(0)));
}

void BrokerClient::expireRequests()
{
    std::vector<detail::Pending> expired = m_pending->takeExpired(Clock::now());
    if (const auto next = m_pending->nextDeadline())
        armTimeout(*next);
    QPointer<BrokerClient> self(this);
    for (detail::Pending& pending : expired) {
        if (pending.callback)
            pending.callback(unexpected(clientError(protocol::ErrorCode::Timeout,
                QStringLiteral("no reply from the broker within %1 ms").arg(m_options.requestTimeout.count()))));
        if (!self)
            return;
    }
}

void BrokerClient::completeAll(const QString& message, bool sentOnly)
{
    std::vector<detail::Pending> taken = m_pending->takeAll(sentOnly);
    if (taken.empty())
        return;
    // Later, from the event loop: close() and the socket's handlers must not run user code midway.
    QTimer::singleShot(0, this, [taken = std::move(taken), message]() mutable {
        for (detail::Pending& pending : taken) {
            if (pending.callback)
                pending.callback(unexpected(clientError(protocol::ErrorCode::InternalError, message)));
        }
    });
}

// --- What the broker sends ---------------------------------------------------------------------

void BrokerClient::onTextMessage(const QString& message)
{
    auto frame = protocol::decodeServerFrame(message.toUtf8());
    if (!frame) {
        const auto id = ourId(frame.error().id);
        auto pending = id ? m_pending->take(*id) : std::nullopt;
        const QString problem = QStringLiteral("malformed frame from the broker: %1").arg(frame.error().message);
        if (pending && pending->callback)
            pending->callback(unexpected(clientError(protocol::ErrorCode::InternalError, problem)));
        else
            fail(problem);
        return;
    }
    if (auto* result = std::get_if<protocol::ResultFrame>(&*frame)) {
        if (const auto id = ourId(result->id))
            dispatchResult(*id, result->data);
    } else if (auto* error = std::get_if<protocol::ErrorFrame>(&*frame)) {
        const auto id = ourId(error->id);
        auto pending = id ? m_pending->take(*id) : std::nullopt;
        if (!pending) {
            // Replies to requests that already timed out land here too; only an id-less one matters.
            if (!error->id)
                fail(QStringLiteral("the broker reported an error: %1").arg(describe(error->error)));
            return;
        }
        if (pending->callback)
            pending->callback(unexpected(error->error));
    } else if (auto* change = std::get_if<protocol::VariableChanged>(&*frame)) {
        onPush(*change);
    } else if (auto* stats = std::get_if<protocol::StatsUpdate>(&*frame)) {
        emit statsUpdated(*stats);
    } else if (auto* process = std::get_if<protocol::ProcessEvent>(&*frame)) {
        emit processEvent(*process);
    } else if (auto* tree = std::get_if<protocol::TreeChanged>(&*frame)) {
        emit treeChanged(*tree);
    }
}

void BrokerClient::dispatchResult(quint64 id, const QJsonObject& data)
{
    auto pending = m_pending->take(id);
    if (!pending)
        return; // timed out already
    auto payload = protocol::decodeResult(pending->request, data);
    if (!payload) {
        if (pending->callback)
            pending->callback(unexpected(clientError(protocol::ErrorCode::InternalError,
                QStringLiteral("malformed reply from the broker: %1").arg(payload.error().message))));
        return;
    }
    if (pending->fromUser)
        remember(pending->request, *payload);
    if (pending->callback)
        pending->callback(Reply(std::move(payload).value()));
}

void BrokerClient::remember(const protocol::Request& request, const protocol::ResultData& result)
{
    m_memory->record(request, result, Clock::now());
    if (const auto* subscribe = std::get_if<protocol::Subscribe>(&request))
        m_seq->restart(subscribe->tenant, subscribe->service);
}

void BrokerClient::onPush(const protocol::VariableChanged& push)
{
    const bool gap = m_seq->observe(push) == detail::SeqTracker::Verdict::Gap;
    QPointer<BrokerClient> self(this);
    if (gap)
        emit gapDetected(push.tenant, push.service);
    if (self && !m_seq->isRepeat(push))
        deliver(push);
    if (self && gap)
        resync(push.tenant, push.service);
}

void BrokerClient::deliver(const protocol::VariableChanged& change)
{
    m_seq->delivered(change);
    emit variableChanged(change);
}

} // namespace commy::client
