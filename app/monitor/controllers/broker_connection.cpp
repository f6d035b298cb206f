#include "broker_connection.h"

#include "conversions.h"

#include "../models/event_model.h"
#include "../models/hierarchy_model.h"

#include <QPointer>

namespace commy::monitor {

namespace {

QString livenessText(protocol::Liveness liveness)
{
    switch (liveness) {
    case protocol::Liveness::Alive:
        return QObject::tr("is alive");
    case protocol::Liveness::Stale:
        return QObject::tr("is stale (no heartbeat)");
    case protocol::Liveness::Dead:
        return QObject::tr("is dead");
    case protocol::Liveness::Gone:
        return QObject::tr("left the process table");
    }
    return {};
}

bool isConnectionLoss(const protocol::Error& error)
{
    // The connection closed under the request (or the client was closed): a new connection reads
    // everything again. BrokerClient says so with INTERNAL_ERROR and these words.
    return error.code == protocol::ErrorCode::InternalError
        && (error.message.contains(QLatin1String("connection")) || error.message.contains(QLatin1String("closed"))
            || error.message.contains(QLatin1String("not connected")));
}

} // namespace

void BrokerConnection::ServiceEntry::indexRoots()
{
    rootIndex.clear();
    rootIndex.reserve(snapshot.roots.size());
    for (qsizetype i = 0; i < snapshot.roots.size(); ++i)
        rootIndex.insert(snapshot.roots[i].name, i);
}

BrokerConnection::BrokerConnection(const QString& name, const QUrl& url, std::unique_ptr<BrokerSource> source,
    HierarchyModel* hierarchy, EventModel* events, QObject* parent)
    : QObject(parent)
    , m_name(name)
    , m_url(url)
    , m_source(std::move(source))
    , m_hierarchy(hierarchy)
    , m_events(events)
{
    m_flushTimer.setSingleShot(true);
    m_flushTimer.setInterval(0);
    connect(&m_flushTimer, &QTimer::timeout, this, &BrokerConnection::flush);
    m_structureTimer.setInterval(kStructureIntervalMs);
    connect(&m_structureTimer, &QTimer::timeout, this, &BrokerConnection::checkStructure);

    BrokerSource* s = m_source.get();
    connect(s, &BrokerSource::statusChanged, this, &BrokerConnection::onStatus);
    connect(s, &BrokerSource::roundTrip, this, [this](qint64 ms) {
        if (ms == m_rttMs)
            return;
        m_rttMs = ms;
        emit stateChanged();
    });
    connect(s, &BrokerSource::statsUpdated, this, &BrokerConnection::onStats);
    connect(s, &BrokerSource::variableChanged, this, &BrokerConnection::onVariable);
    connect(s, &BrokerSource::treeChanged, this, &BrokerConnection::onTreeChanged);
    connect(s, &BrokerSource::processEvent, this, &BrokerConnection::onProcessEvent);

    BrokerSnapshot broker;
    broker.id = m_name;
    broker.url = m_url.toString();
    m_hierarchy->setBroker(broker);
}

BrokerConnection::~BrokerConnection()
{
    m_source->disconnect(this);
    m_source->close();
}

QString BrokerConnection::name() const { return m_name; }

QUrl BrokerConnection::url() const { return m_url; }

BrokerSource* BrokerConnection::source() const { return m_source.get(); }

QString BrokerConnection::key() const { return m_key; }

void BrokerConnection::open(const QString& key, const QString& reason)
{
    m_key = key;
    m_watched.clear();
    m_subscribed.clear();
    if (key.isEmpty()) {
        m_source->close();
        m_status = ConnectionStatus::Disconnected;
        m_detail = reason.isEmpty() ? tr("no key: edit the connection to enter one") : reason;
        emit stateChanged();
        if (!m_loaded)
            emit loadedChanged(); // settled
        return;
    }
    m_source->open(m_url, key);
}

void BrokerConnection::waitForKey()
{
    m_status = ConnectionStatus::Connecting;
    m_detail = tr("reading the key from the keychain");
    emit stateChanged();
}

void BrokerConnection::close()
{
    m_structureTimer.stop();
    m_source->close();
}

ConnectionStatus BrokerConnection::status() const { return m_status; }

QString BrokerConnection::statusText() const
{
    const QString name = connectionStatusName(m_status);
    return m_detail.isEmpty() ? name : name + QLatin1String(": ") + m_detail;
}

qint64 BrokerConnection::rttMs() const { return m_rttMs; }

bool BrokerConnection::isLoaded() const { return m_loaded; }

bool BrokerConnection::isSettled() const
{
    return m_loaded || m_status == ConnectionStatus::AuthenticationFailed || m_status == ConnectionStatus::TlsError
        || m_status == ConnectionStatus::Disconnected;
}

std::optional<RegionStats> BrokerConnection::serviceStats(const QString& tenant, const QString& service) const
{
    return m_hierarchy->serviceStats(m_name, tenant, service);
}

const ServiceSnapshot* BrokerConnection::service(const QString& tenant, const QString& service) const
{
    const auto t = m_tree.constFind(tenant);
    if (t == m_tree.constEnd())
        return nullptr;
    const auto s = t->constFind(service);
    return s == t->constEnd() ? nullptr : &s->snapshot;
}

const RootSnapshot* BrokerConnection::root(const QString& tenant, const QString& service, const QString& root) const
{
    const auto t = m_tree.constFind(tenant);
    if (t == m_tree.constEnd())
        return nullptr;
    const auto s = t->constFind(service);
    if (s == t->constEnd())
        return nullptr;
    const qsizetype index = s->rootIndex.value(root, -1);
    return index < 0 ? nullptr : &s->snapshot.roots[index];
}

void BrokerConnection::updateRoot(const QString& tenant, const QString& service, const RootSnapshot& root)
{
    auto t = m_tree.find(tenant);
    if (t == m_tree.end())
        return;
    auto s = t->find(service);
    if (s == t->end())
        return;
    const qsizetype index = s->rootIndex.value(root.name, -1);
    if (index < 0 || s->snapshot.roots[index] == root)
        return;
    s->snapshot.roots[index] = root;
    m_hierarchy->setRoots(m_name, tenant, service, s->snapshot.roots);
    emit rootsChanged(tenant, service);
}

void BrokerConnection::addEvent(EventKind kind, const QString& source, const QString& text)
{
    m_events->append(EventRecord {
        QDateTime::currentDateTimeUtc(), kind, source.isEmpty() ? m_name : m_name + QLatin1Char('/') + source, text });
}

void BrokerConnection::failed(const QString& what, const protocol::Error& error)
{
    if (isConnectionLoss(error))
        return;
    addEvent(EventKind::Error, {}, tr("%1 failed: %2").arg(what, describeError(error)));
}

// --- Status ------------------------------------------------------------------------------------

void BrokerConnection::onStatus(ConnectionStatus status, const QString& detail)
{
    const bool statusMoved = status != m_status;
    const bool wasSettled = isSettled();
    m_status = status;
    m_detail = detail;
    if (status != ConnectionStatus::Connected) {
        m_structureTimer.stop();
        m_rttMs = -1;
    }
    if (statusMoved) {
        QString text = connectionStatusName(status);
        if (status == ConnectionStatus::Connected)
            text += tr(" (%1)").arg(m_source->scopes().join(QLatin1String(", ")));
        else if (!detail.isEmpty())
            text += QLatin1String(": ") + detail;
        addEvent(status == ConnectionStatus::AuthenticationFailed || status == ConnectionStatus::TlsError
                ? EventKind::Error
                : EventKind::Connection,
            {}, text);
    }
    QPointer<BrokerConnection> self(this);
    emit stateChanged();
    if (!self)
        return;
    if (wasSettled != isSettled())
        emit loadedChanged();
    if (self && statusMoved && status == ConnectionStatus::Connected)
        onConnected();
}

void BrokerConnection::onConnected()
{
    ++m_session;
    m_refreshing.clear();
    m_refreshAgain.clear();
    m_structureInFlight = false;
    loadAll();
    m_structureTimer.start();
}

void BrokerConnection::loadAll()
{
    QPointer<BrokerConnection> self(this);
    const quint64 session = m_session;
    if (m_source->isServerAdmin()) {
        m_source->send(protocol::GetBrokerInfo {}, [self, session](const BrokerSource::Reply& reply) {
            if (!self || session != self->m_session)
                return;
            if (!reply) {
                self->failed(tr("GetBrokerInfo"), reply.error());
                return;
            }
            const auto& info = std::get<protocol::BrokerInfoResult>(*reply);
            self->m_version = info.version;
            self->m_uptimeMs = info.uptimeMs;
            self->m_sessionCount = int(info.sessions);
            if (self->m_loaded)
                self->m_hierarchy->setBrokerInfo(self->brokerSnapshot(false));
        });
    }
    const QString tenant = m_source->keyTenant();
    if (!m_source->isServerAdmin() && tenant.isEmpty())
        return;
    protocol::GetTree request;
    if (!m_source->isServerAdmin())
        request.tenant = tenant;
    m_source->send(request, [self, session](const BrokerSource::Reply& reply) {
        if (!self || session != self->m_session)
            return;
        if (!reply) {
            self->failed(tr("GetTree"), reply.error());
            return;
        }
        self->applyTree(std::get<protocol::TreeResult>(*reply), true);
    });
}

// --- The tree ----------------------------------------------------------------------------------

void BrokerConnection::applyTree(const protocol::TreeResult& tree, bool complete)
{
    QSet<QString> seen;
    for (const protocol::TenantTree& tenant : tree.tenants) {
        mergeTenant(tenant);
        seen.insert(tenant.name);
    }
    if (complete) {
        for (auto it = m_tree.begin(); it != m_tree.end();) {
            if (seen.contains(it.key()))
                ++it;
            else
                it = m_tree.erase(it);
        }
    }
    m_hierarchy->setBroker(brokerSnapshot());
    for (auto t = m_tree.constBegin(); t != m_tree.constEnd(); ++t)
        emit tenantChanged(t.key());
    setLoaded();
    syncWatch();
}

TenantSnapshot BrokerConnection::mergeTenant(const protocol::TenantTree& tenant)
{
    TenantEntry merged;
    for (const protocol::ServiceTree& service : tenant.services) {
        ServiceEntry next;
        next.snapshot.name = service.name;
        // Free space, blocks and fragmentation come only with pushes, which the hierarchy keeps: start
        // from its figures. Size, limit and used from the tree just read are the newest.
        if (const auto live = m_hierarchy->serviceStats(m_name, tenant.name, service.name))
            next.snapshot.stats = *live;
        next.snapshot.stats.size = quint64(std::max<qint64>(0, service.size));
        next.snapshot.stats.limit = quint64(std::max<qint64>(0, service.limit));
        next.snapshot.stats.used = quint64(std::max<qint64>(0, service.used));
        next.snapshot.roots.reserve(qsizetype(service.roots.size()));
        for (const protocol::RootSummary& root : service.roots)
            next.snapshot.roots.append(toRoot(root));
        next.indexRoots();
        merged.insert(service.name, std::move(next));
    }
    m_tree[tenant.name] = std::move(merged);
    return snapshotOf(tenant.name);
}

TenantSnapshot BrokerConnection::snapshotOf(const QString& tenant) const
{
    TenantSnapshot snapshot;
    snapshot.name = tenant;
    const auto t = m_tree.constFind(tenant);
    if (t == m_tree.constEnd())
        return snapshot;
    snapshot.services.reserve(t->size());
    for (const ServiceEntry& service : *t)
        snapshot.services.append(service.snapshot);
    return snapshot;
}

BrokerSnapshot BrokerConnection::brokerSnapshot(bool withTenants) const
{
    BrokerSnapshot broker;
    broker.id = m_name;
    broker.url = m_url.toString();
    broker.version = m_version;
    broker.uptimeMs = m_uptimeMs;
    broker.sessionCount = m_sessionCount;
    if (!withTenants)
        return broker;
    broker.tenants.reserve(m_tree.size());
    for (auto t = m_tree.constBegin(); t != m_tree.constEnd(); ++t)
        broker.tenants.append(snapshotOf(t.key()));
    return broker;
}

void BrokerConnection::refreshTenant(const QString& tenant)
{
    if (m_status != ConnectionStatus::Connected)
        return;
    if (m_refreshing.contains(tenant)) {
        m_refreshAgain.insert(tenant);
        return;
    }
    m_refreshing.insert(tenant);
    QPointer<BrokerConnection> self(this);
    const quint64 session = m_session;
    m_source->send(protocol::GetTree { tenant }, [self, session, tenant](const BrokerSource::Reply& reply) {
        if (!self || session != self->m_session)
            return;
        self->m_refreshing.remove(tenant);
        if (reply) {
            const auto& tree = std::get<protocol::TreeResult>(*reply);
            bool found = false;
            for (const protocol::TenantTree& t : tree.tenants) {
                if (t.name != tenant)
                    continue;
                found = true;
                const TenantSnapshot snapshot = self->mergeTenant(t);
                if (!self->m_hierarchy->setTenant(self->m_name, snapshot))
                    self->m_hierarchy->setBroker(self->brokerSnapshot());
                emit self->tenantChanged(tenant);
            }
            if (!found)
                self->removeTenant(tenant);
        } else if (reply.error().code == protocol::ErrorCode::NotFound) {
            self->removeTenant(tenant);
        } else {
            self->failed(tr("GetTree %1").arg(tenant), reply.error());
        }
        if (!self)
            return;
        self->syncWatch();
        if (self->m_refreshAgain.remove(tenant))
            self->refreshTenant(tenant);
    });
}

void BrokerConnection::removeTenant(const QString& tenant)
{
    if (!m_tree.remove(tenant))
        return;
    m_hierarchy->removeTenant(m_name, tenant);
    emit tenantChanged(tenant);
}

void BrokerConnection::setLoaded()
{
    if (m_loaded)
        return;
    const bool wasSettled = isSettled();
    m_loaded = true;
    if (!wasSettled)
        emit loadedChanged();
}

void BrokerConnection::syncWatch()
{
    if (m_status != ConnectionStatus::Connected)
        return;
    std::vector<protocol::WatchTarget> targets;
    QList<QPair<QString, QString>> toSubscribe;
    for (auto t = m_tree.constBegin(); t != m_tree.constEnd(); ++t) {
        const bool mayWatch
            = m_source->allows(QStringLiteral("read"), t.key()) || m_source->allows(QStringLiteral("admin"), t.key());
        const bool maySubscribe = m_source->allows(QStringLiteral("subscribe"), t.key());
        for (auto s = t->constBegin(); s != t->constEnd(); ++s) {
            if (mayWatch && qsizetype(targets.size()) < protocol::kMaxWatchTargets)
                targets.push_back({ t.key(), s.key() });
            const QPair<QString, QString> key { t.key(), s.key() };
            if (maySubscribe && !m_subscribed.contains(key))
                toSubscribe.append(key);
        }
    }
    QPointer<BrokerConnection> self(this);
    const quint64 session = m_session;
    if (targets != m_watched) {
        m_watched = targets;
        m_source->send(protocol::Watch { std::move(targets), kWatchIntervalMs },
            [self, session](const BrokerSource::Reply& reply) {
                if (!self || session != self->m_session || reply)
                    return;
                // A service went away between the tree and the Watch: the next check sends it again.
                self->m_watched.clear();
                if (reply.error().code != protocol::ErrorCode::NotFound)
                    self->failed(tr("Watch"), reply.error());
            });
    }
    for (const auto& key : toSubscribe) {
        m_subscribed.insert(key);
        m_source->send(protocol::Subscribe { key.first, key.second, std::nullopt },
            [self, session, key](const BrokerSource::Reply& reply) {
                if (!self || session != self->m_session || reply)
                    return;
                self->m_subscribed.remove(key);
                if (reply.error().code != protocol::ErrorCode::NotFound)
                    self->failed(tr("Subscribe %1/%2").arg(key.first, key.second), reply.error());
            });
    }
}

void BrokerConnection::checkStructure()
{
    if (m_status != ConnectionStatus::Connected || m_structureInFlight)
        return;
    QPointer<BrokerConnection> self(this);
    const quint64 session = m_session;
    m_structureInFlight = true;
    if (m_source->isServerAdmin()) {
        m_source->send(protocol::ListTenants {}, [self, session](const BrokerSource::Reply& reply) {
            if (!self || session != self->m_session)
                return;
            self->m_structureInFlight = false;
            if (!reply) {
                self->failed(tr("ListTenants"), reply.error());
                return;
            }
            QSet<QString> listed;
            for (const protocol::TenantInfo& tenant : std::get<protocol::ListTenantsResult>(*reply).tenants) {
                listed.insert(tenant.name);
                const auto known = self->m_tree.constFind(tenant.name);
                if (known == self->m_tree.constEnd() || known->size() != tenant.services)
                    self->refreshTenant(tenant.name);
            }
            const QStringList known = self->m_tree.keys();
            for (const QString& tenant : known)
                if (!listed.contains(tenant))
                    self->removeTenant(tenant);
            if (self)
                self->syncWatch();
        });
        m_source->send(protocol::GetBrokerInfo {}, [self, session](const BrokerSource::Reply& reply) {
            if (!self || session != self->m_session || !reply)
                return;
            const auto& info = std::get<protocol::BrokerInfoResult>(*reply);
            self->m_version = info.version;
            self->m_uptimeMs = info.uptimeMs;
            self->m_sessionCount = int(info.sessions);
            self->m_hierarchy->setBrokerInfo(self->brokerSnapshot(false));
        });
        return;
    }
    const QString tenant = m_source->keyTenant();
    m_source->send(protocol::ListServices { tenant }, [self, session, tenant](const BrokerSource::Reply& reply) {
        if (!self || session != self->m_session)
            return;
        self->m_structureInFlight = false;
        if (!reply) {
            // A key with neither read nor admin cannot list: the tree it has stays.
            if (reply.error().code != protocol::ErrorCode::PermissionDenied)
                self->failed(tr("ListServices"), reply.error());
            return;
        }
        QSet<QString> listed;
        for (const protocol::ServiceInfo& service : std::get<protocol::ListServicesResult>(*reply).services)
            listed.insert(service.name);
        const auto known = self->m_tree.constFind(tenant);
        QSet<QString> have;
        if (known != self->m_tree.constEnd())
            for (auto s = known->constBegin(); s != known->constEnd(); ++s)
                have.insert(s.key());
        if (listed != have)
            self->refreshTenant(tenant);
    });
}

// --- Pushes ------------------------------------------------------------------------------------

void BrokerConnection::onStats(const protocol::StatsUpdate& update)
{
    // Two pushes for one service in a batch are both applied, the later last: cheaper than hashing.
    m_pendingStats.append(ServiceStatsUpdate { update.tenant, update.service, toStats(update.stats) });
    if (!m_flushTimer.isActive())
        m_flushTimer.start();
}

void BrokerConnection::onVariable(const protocol::VariableChanged& change)
{
    m_pendingVariables.append(change);
    if (!m_flushTimer.isActive())
        m_flushTimer.start();
}

void BrokerConnection::onTreeChanged(const protocol::TreeChanged& change) { refreshTenant(change.tenant); }

void BrokerConnection::onProcessEvent(const protocol::ProcessEvent& event)
{
    const QString process = tr("%1 (pid %2, slot %3)")
                                .arg(event.name.isEmpty() ? tr("a process") : event.name)
                                .arg(event.pid)
                                .arg(event.slot);
    addEvent(EventKind::Process, event.tenant + QLatin1Char('/') + event.service,
        process + QLatin1Char(' ') + livenessText(event.liveness));
    emit processEventReceived(event);
}

void BrokerConnection::flush()
{
    if (!m_pendingStats.isEmpty()) {
        QList<ServiceStatsUpdate> updates;
        updates.swap(m_pendingStats);
        // Only the hierarchy keeps the pushed figures: a second copy here cost a third of the tick.
        m_hierarchy->applyStats(m_name, updates);
        QPointer<BrokerConnection> self(this);
        emit statsApplied(updates);
        if (!self)
            return;
        // The next batch fills this buffer again: a fresh one of a megabyte per tick cost page faults
        // (glibc maps a block that large anew each time). clear() keeps the capacity.
        updates.clear();
        if (m_pendingStats.isEmpty())
            m_pendingStats.swap(updates);
    }
    if (!m_pendingVariables.isEmpty()) {
        QList<protocol::VariableChanged> changes;
        changes.swap(m_pendingVariables);
        QList<EventRecord> records;
        records.reserve(changes.size());
        QList<QPair<QString, QString>> touched;
        QSet<QPair<QString, QString>> seen;
        const QDateTime now = QDateTime::currentDateTimeUtc();
        for (const protocol::VariableChanged& change : changes) {
            records.append(EventRecord { now, EventKind::Variable,
                m_name + QLatin1Char('/') + change.tenant + QLatin1Char('/') + change.service + QLatin1Char('/')
                    + change.variable,
                tr("= %1 (version %2)").arg(valueText(change.value)).arg(change.version) });
            auto t = m_tree.find(change.tenant);
            if (t == m_tree.end())
                continue;
            auto s = t->find(change.service);
            if (s == t->end())
                continue;
            const qsizetype index = s->rootIndex.value(change.variable, -1);
            if (index < 0) {
                refreshTenant(change.tenant); // a variable the tree does not have yet
                continue;
            }
            RootSnapshot& root = s->snapshot.roots[index];
            if (quint64(change.version) < root.version)
                continue;
            root.version = quint64(change.version);
            root.length = quint64(change.value.size());
            root.size = root.length;
            const QPair<QString, QString> key { change.tenant, change.service };
            if (!seen.contains(key)) {
                seen.insert(key);
                touched.append(key);
            }
        }
        m_events->append(records);
        for (const auto& [tenant, service] : touched) {
            m_hierarchy->setRoots(m_name, tenant, service, m_tree[tenant][service].snapshot.roots);
            QPointer<BrokerConnection> self(this);
            emit rootsChanged(tenant, service);
            if (!self)
                return;
        }
    }
}

} // namespace commy::monitor
