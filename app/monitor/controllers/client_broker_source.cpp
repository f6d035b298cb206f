#include "client_broker_source.h"

#include <QPointer>

namespace commy::monitor {

namespace {

QString describe(const protocol::Error& error)
{
    QString text = protocol::errorCodeName(error.code) + QLatin1String(": ") + error.message;
    if (error.retryAfter)
        text += QObject::tr(" (retry after %1 s)").arg(*error.retryAfter);
    return text;
}

QStringList scopeNames(const std::vector<protocol::Scope>& scopes)
{
    QStringList names;
    for (const protocol::Scope scope : scopes)
        names.append(protocol::scopeName(scope));
    return names;
}

} // namespace

ClientBrokerSource::ClientBrokerSource(QObject* parent)
    : ClientBrokerSource(client::BrokerClient::Options {}, parent)
{
}

ClientBrokerSource::ClientBrokerSource(client::BrokerClient::Options options, QObject* parent)
    : BrokerSource(parent)
    , m_options(std::move(options))
{
    m_heartbeat.setInterval(kHeartbeatIntervalMs);
    connect(&m_heartbeat, &QTimer::timeout, this, &ClientBrokerSource::sendHeartbeat);
}

ClientBrokerSource::~ClientBrokerSource()
{
    if (m_client)
        m_client->disconnect(this);
}

ConnectionStatus ClientBrokerSource::status() const { return m_status; }

void ClientBrokerSource::open(const QUrl& url, const QString& key)
{
    close();
    ++m_epoch;
    m_key = key;
    m_lastError.clear();
    m_client = std::make_unique<client::BrokerClient>(m_options);
    client::BrokerClient* client = m_client.get();
    connect(client, &client::BrokerClient::stateChanged, this, &ClientBrokerSource::onClientState);
    connect(client, &client::BrokerClient::connected, this, &ClientBrokerSource::onClientConnected);
    connect(client, &client::BrokerClient::errorOccurred, this, &ClientBrokerSource::onClientError);
    connect(client, &client::BrokerClient::statsUpdated, this, &BrokerSource::statsUpdated);
    connect(client, &client::BrokerClient::processEvent, this, &BrokerSource::processEvent);
    connect(client, &client::BrokerClient::treeChanged, this, &BrokerSource::treeChanged);
    connect(client, &client::BrokerClient::variableChanged, this, &BrokerSource::variableChanged);
    setStatus(ConnectionStatus::Connecting, {});
    const quint64 epoch = m_epoch;
    client->open(url);
    // A URL the client refuses leaves it Disconnected (errorOccurred said why).
    if (epoch == m_epoch && m_client && m_client->state() == client::BrokerClient::State::Disconnected)
        setStatus(ConnectionStatus::Disconnected, m_lastError);
}

void ClientBrokerSource::close()
{
    ++m_epoch;
    m_heartbeat.stop();
    m_heartbeatInFlight = false;
    m_authenticated = false;
    m_watch.reset();
    setGrant({}, {});
    if (m_client) {
        // Possibly inside one of the client's own signals: it goes later, once closed. Its pending
        // requests complete now, with an error.
        client::BrokerClient* client = m_client.release();
        client->disconnect(this);
        client->close();
        client->deleteLater();
    }
    setStatus(ConnectionStatus::Disconnected, {});
}

void ClientBrokerSource::send(protocol::Request request, Callback done)
{
    if (!m_client) {
        QTimer::singleShot(0, this, [done = std::move(done)] {
            if (done)
                done(commy::unexpected(
                    protocol::Error { protocol::ErrorCode::InternalError, tr("not connected to a broker"), {} }));
        });
        return;
    }
    std::optional<protocol::Watch> watch;
    if (const auto* w = std::get_if<protocol::Watch>(&request))
        watch = *w;
    QPointer<ClientBrokerSource> self(this);
    const quint64 epoch = m_epoch;
    m_client->send(std::move(request), [self, epoch, watch, done = std::move(done)](const Reply& reply) {
        // One read of the guard: to GCC -O2 every QPointer access may be null, and it warns
        // (-Wnull-dereference) on each one after the first.
        ClientBrokerSource* const that = self.data();
        if (that && epoch == that->m_epoch && watch && reply)
            that->m_watch = watch->targets.empty() ? std::nullopt : watch;
        if (done)
            done(reply);
    });
}

void ClientBrokerSource::setStatus(ConnectionStatus status, const QString& detail)
{
    if (status == m_status && detail == m_lastStatusDetail)
        return;
    m_status = status;
    m_lastStatusDetail = detail;
    emit statusChanged(status, detail);
}

void ClientBrokerSource::onClientState(client::BrokerClient::State state)
{
    if (m_status == ConnectionStatus::AuthenticationFailed || m_status == ConnectionStatus::TlsError)
        return; // closing for good; the refusal is the news
    switch (state) {
    case client::BrokerClient::State::Connecting:
        setStatus(ConnectionStatus::Connecting, {});
        return;
    case client::BrokerClient::State::Connected:
        return; // Connected once authenticated (onClientConnected)
    case client::BrokerClient::State::Reconnecting:
        m_heartbeat.stop();
        m_heartbeatInFlight = false;
        setStatus(ConnectionStatus::Reconnecting, m_lastError);
        return;
    case client::BrokerClient::State::Disconnected:
        m_heartbeat.stop();
        setStatus(ConnectionStatus::Disconnected, m_lastError);
        return;
    }
}

void ClientBrokerSource::onClientConnected()
{
    if (m_status == ConnectionStatus::AuthenticationFailed || m_status == ConnectionStatus::TlsError)
        return;
    if (!m_authenticated) {
        authenticate();
        return;
    }
    // A restored session: BrokerClient re-authenticated and re-subscribed; the Watch is ours to send.
    if (m_watch)
        send(*m_watch, {});
    m_heartbeat.start();
    setStatus(ConnectionStatus::Connected, {});
    sendHeartbeat();
}

void ClientBrokerSource::onClientError(const QString& message)
{
    m_lastError = message;
    if (message.startsWith(QLatin1String("TLS error"))) {
        giveUp(ConnectionStatus::TlsError, message);
        return;
    }
    // BrokerClient fell back from the token to the key and the broker refused that too.
    if (message.startsWith(QLatin1String("re-authentication"))
        && (message.contains(QLatin1String("UNAUTHORIZED")) || message.contains(QLatin1String("RATE_LIMITED")))) {
        giveUp(ConnectionStatus::AuthenticationFailed, message);
        return;
    }
    if (m_status == ConnectionStatus::Reconnecting)
        setStatus(ConnectionStatus::Reconnecting, message);
}

void ClientBrokerSource::authenticate()
{
    const KeyParts parts = splitKey(m_key);
    if (parts.key.isEmpty()) {
        giveUp(ConnectionStatus::AuthenticationFailed, tr("no key to authenticate with"));
        return;
    }
    protocol::Authenticate request { parts.tenant, protocol::ApiKeyCredential { parts.key },
        QStringLiteral("commy-monitor") };
    QPointer<ClientBrokerSource> self(this);
    const quint64 epoch = m_epoch;
    m_client->request(std::move(request),
        [self, epoch, tenant = parts.tenant.value_or(QString())](
            const commy::Expected<protocol::AuthenticateResult, protocol::Error>& reply) {
            ClientBrokerSource* const that = self.data();
            if (!that || epoch != that->m_epoch)
                return;
            if (reply) {
                that->m_authenticated = true;
                that->setGrant(scopeNames(reply->scopes), tenant);
                that->m_heartbeat.start();
                that->setStatus(ConnectionStatus::Connected, {});
                // setStatus() notifies observers, which may have deleted the source.
                if (ClientBrokerSource* const alive = self.data())
                    alive->sendHeartbeat();
                return;
            }
            const protocol::Error& error = reply.error();
            const bool refused = error.code == protocol::ErrorCode::Unauthorized
                || error.code == protocol::ErrorCode::RateLimited || error.code == protocol::ErrorCode::InvalidRequest
                || error.code == protocol::ErrorCode::PermissionDenied;
            // Otherwise the connection broke under the request: the next connection authenticates again.
            if (refused || (that->m_client && that->m_client->state() == client::BrokerClient::State::Connected))
                that->giveUp(ConnectionStatus::AuthenticationFailed, describe(error));
        });
}

void ClientBrokerSource::sendHeartbeat()
{
    if (!m_client || m_heartbeatInFlight || m_status != ConnectionStatus::Connected)
        return;
    m_heartbeatInFlight = true;
    QElapsedTimer clock;
    clock.start();
    QPointer<ClientBrokerSource> self(this);
    const quint64 epoch = m_epoch;
    m_client->request(protocol::Heartbeat {},
        [self, epoch, clock](const commy::Expected<protocol::HeartbeatResult, protocol::Error>& reply) {
            ClientBrokerSource* const that = self.data();
            if (!that || epoch != that->m_epoch)
                return;
            that->m_heartbeatInFlight = false;
            if (reply)
                emit that->roundTrip(clock.elapsed());
        });
}

void ClientBrokerSource::giveUp(ConnectionStatus status, const QString& detail)
{
    m_heartbeat.stop();
    setStatus(status, detail);
    // Not from inside the client's own signal: it may be in the middle of restoring a session.
    const quint64 epoch = m_epoch;
    QTimer::singleShot(0, this, [this, epoch] {
        if (epoch != m_epoch || !m_client)
            return;
        ++m_epoch;
        client::BrokerClient* client = m_client.release();
        client->disconnect(this);
        client->close();
        client->deleteLater();
        m_authenticated = false;
    });
}

} // namespace commy::monitor
