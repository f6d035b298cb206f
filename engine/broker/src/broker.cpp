#include "broker_impl.h"
#include "permissions.h"

#include <commy/protocol/codec.h>

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QLoggingCategory>

namespace commy::broker {

Q_LOGGING_CATEGORY(lcBroker, "commy.broker")

namespace {
constexpr int kHeartbeatIntervalMs = 500;
}

Broker::Impl::Impl(BrokerOptions brokerOptions, std::unique_ptr<Store> openedStore)
    : options(std::move(brokerOptions))
    , store(std::move(openedStore))
    , regions(options.dataDir)
    , throttle(options.maxFailedAuthentications, options.failureWindowMs)
{
}

qint64 Broker::Impl::now() const { return options.clock ? options.clock() : QDateTime::currentMSecsSinceEpoch(); }

Expected<std::unique_ptr<Broker>, QString> Broker::open(BrokerOptions options)
{
    if (options.dataDir.isEmpty())
        return unexpected(QStringLiteral("no data directory given"));
    options.dataDir = QDir(options.dataDir).absolutePath();
    if (!QDir().mkpath(options.dataDir))
        return unexpected(QStringLiteral("cannot create the data directory %1").arg(options.dataDir));
    // Region files and the database hold every tenant's data: nobody else may list or open them.
    QFile::setPermissions(options.dataDir, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);

    Store::Options storeOptions;
    storeOptions.dataDir = options.dataDir;
    storeOptions.clock = options.clock;
    storeOptions.pbkdf2Iterations = options.pbkdf2Iterations;
    auto store = Store::open(storeOptions);
    if (!store)
        return unexpected(QStringLiteral("cannot open the broker database in %1").arg(options.dataDir));

    auto impl = std::make_unique<Impl>(std::move(options), std::move(*store));
    auto tenants = impl->store->listTenants();
    if (!tenants)
        return unexpected(QStringLiteral("cannot read the tenants: %1").arg(impl->store->errorString()));
    for (const TenantInfo& tenant : *tenants) {
        auto stored = impl->store->listServices(tenant.name);
        if (!stored)
            return unexpected(QStringLiteral("cannot read the services: %1").arg(impl->store->errorString()));
        for (const ServiceInfo& service : *stored)
            impl->knownServices.insert({ tenant.name, service.name });
    }
    std::unique_ptr<Broker> broker(new Broker(std::move(impl)));
    return broker;
}

Broker::Broker(std::unique_ptr<Impl> impl)
    : m_impl(std::move(impl))
{
    m_impl->self = this;
    m_impl->heartbeat.setInterval(kHeartbeatIntervalMs);
    connect(&m_impl->heartbeat, &QTimer::timeout, this, [this] {
        for (const ServiceKey& key : m_impl->regions.openKeys())
            if (auto region = m_impl->regions.region(key))
                (*region)->heartbeat();
    });
    m_impl->heartbeat.start();
    m_impl->started.start();
    m_impl->monitorTimer.setSingleShot(true);
    connect(&m_impl->monitorTimer, &QTimer::timeout, this, [this] { m_impl->monitorTick(); });
}

Broker::~Broker()
{
    // Stop every watcher first, then join them all: each join then waits at most one wait slice.
    for (auto& [key, watcher] : m_impl->watchers)
        watcher->requestStop();
    m_impl->watchers.clear();
}

Expected<std::optional<QString>, QString> Broker::bootstrapAdminKey(const QString& presetKey)
{
    auto keys = m_impl->store->listKeys(std::nullopt);
    if (!keys)
        return unexpected(QStringLiteral("cannot read the server keys: %1").arg(m_impl->store->errorString()));
    for (const KeyInfo& key : *keys)
        if (!key.revoked)
            return std::optional<QString>();
    auto created = m_impl->store->createKey(std::nullopt, Scope::ServerAdmin, QStringLiteral("bootstrap"), presetKey);
    if (!created) {
        if (created.error() == StoreError::InvalidArgument)
            return unexpected(QStringLiteral("the bootstrap admin key must look like <key_id>.<secret>, with a "
                                             "key id of 1-64 characters [A-Za-z0-9_.-] and at least %1 characters "
                                             "of secret")
                                  .arg(Store::kMinPresetSecretLength));
        return unexpected(
            QStringLiteral("cannot create the bootstrap admin key: %1").arg(m_impl->store->errorString()));
    }
    (void)m_impl->store->appendAudit(QStringLiteral("commyd"), QStringLiteral("CreateKey"), QStringLiteral("server"),
        QStringLiteral("bootstrap admin key %1").arg(created->keyId));
    return std::optional<QString>(created->key);
}

SessionId Broker::openSession(const PeerInfo& peer, SessionOutput* output)
{
    const SessionId id = m_impl->nextSession++;
    SessionState& session = m_impl->sessions[id];
    session.id = id;
    session.peer = peer;
    session.output = output;
    return id;
}

void Broker::closeSession(SessionId id)
{
    auto it = m_impl->sessions.find(id);
    if (it == m_impl->sessions.end())
        return;
    m_impl->unsubscribeAll(it->second, [](const ServiceKey&) { return true; });
    m_impl->sessions.erase(it);
}

void Broker::handleFrame(SessionId id, QByteArrayView frame)
{
    auto it = m_impl->sessions.find(id);
    if (it == m_impl->sessions.end())
        return;
    SessionState& session = it->second;
    auto decoded = protocol::decodeRequest(frame);
    if (!decoded) {
        session.output->sendReply(protocol::encodeError(decoded.error()));
        return;
    }
    m_impl->dispatch(session, *decoded);
}

void Broker::Impl::dispatch(SessionState& session, const protocol::RequestFrame& frame)
{
    if (auto denied = checkPermission(session, requirementOf(frame.request), now())) {
        session.output->sendReply(protocol::encodeError(frame.id, *denied));
        return;
    }
    SessionOutput* output = session.output;
    const Result result = std::visit([&](const auto& message) { return handle(session, message); }, frame.request);
    if (result)
        output->sendReply(protocol::encodeResult(frame.id, *result));
    else
        output->sendReply(protocol::encodeError(frame.id, result.error()));
}

void Broker::Impl::watch(const ServiceKey& key)
{
    if (watchers.count(key))
        return;
    // Start from now: what changed before the first subscriber is not news to anyone.
    (void)regions.takeChanges(key);
    watchers.emplace(key,
        std::make_unique<RegionWatcher>(regions.regionPath(key), regions.changeCursor(key), regions.writerSlot(key),
            self, [this, key] { onRegionChanged(key); }));
}

void Broker::Impl::onRegionChanged(const ServiceKey& key)
{
    if (!regions.isOpen(key))
        return; // the service was deleted after the wake-up was queued
    auto changes = regions.takeChanges(key);
    if (!changes) {
        qCWarning(lcBroker) << "cannot read the changes of" << key.text() << ":" << changes.error().message;
        return;
    }
    fanOut(key, *changes);
}

void Broker::Impl::publishWrite(const ServiceKey& key, const QString& variable, const QByteArray& value, qint64 version)
{
    fanOut(key, { VariableValue { variable, value, version } });
}

void Broker::Impl::fanOut(const ServiceKey& key, const std::vector<VariableValue>& changes)
{
    auto it = subscribers.find(key);
    if (it == subscribers.end() || changes.empty())
        return;
    const qint64 time = now();
    std::vector<std::optional<protocol::PushEncoding>> encodings(changes.size());
    for (const SessionId id : it->second) {
        SessionState& session = sessions.at(id);
        Subscription& subscription = session.subscriptions.at(key);
        // A subscription lives as long as the grant it was made under.
        auto grant = [&session](const Owner& owner) -> const Grant* {
            const auto found = session.grants.find(owner);
            return found == session.grants.end() ? nullptr : &found->second;
        };
        const Grant* server = grant(std::nullopt);
        const Grant* tenant = grant(key.tenant);
        const bool allowed = (server && server->expiresAt > time)
            || (tenant && tenant->expiresAt > time && (tenant->scopes & Scope::Subscribe));
        if (!allowed)
            continue;
        for (std::size_t i = 0; i < changes.size(); ++i) {
            const VariableValue& change = changes[i];
            if (!subscription.matches(change.name))
                continue;
            protocol::VariableChanged push { key.tenant, key.service, change.name, change.value, change.version,
                ++subscription.seq, false };
            if (!encodings[i]) // once per change, shared by every subscription it reaches
                encodings[i].emplace(push);
            session.output->sendPush(push, *encodings[i]);
        }
    }
}

void Broker::Impl::unsubscribeAll(SessionState& session, const std::function<bool(const ServiceKey&)>& which)
{
    for (auto it = session.subscriptions.begin(); it != session.subscriptions.end();) {
        if (!which(it->first)) {
            ++it;
            continue;
        }
        if (auto subs = subscribers.find(it->first); subs != subscribers.end()) {
            subs->second.erase(session.id);
            if (subs->second.empty())
                subscribers.erase(subs);
        }
        it = session.subscriptions.erase(it);
    }
}

void Broker::Impl::forgetService(const ServiceKey& key)
{
    for (auto& [id, session] : sessions)
        unsubscribeAll(session, [&](const ServiceKey& other) { return other == key; });
    dropWatchTargets([&](const ServiceKey& other) { return other == key; });
    watchers.erase(key);
    knownServices.erase(key);
    regions.remove(key);
}

void Broker::flush() { m_impl->regions.flush(); }

BrokerCounters Broker::counters() const
{
    BrokerCounters counters;
    counters.sessions = qint64(m_impl->sessions.size());
    for (const auto& [key, ids] : m_impl->subscribers)
        counters.subscriptions += qint64(ids.size());
    counters.openRegions = qint64(m_impl->regions.openKeys().size());
    return counters;
}

QString Broker::dataDir() const { return m_impl->options.dataDir; }

Store& Broker::store() { return *m_impl->store; }

} // namespace commy::broker
