#pragma once

// A BrokerSource for controller tests: answers requests from a scripted broker (its tree, region
// statistics, block maps, process tables, sessions and container elements), checks the admin scope of
// operations like the broker does, records every request, and lets the test push StatsUpdate,
// TreeChanged, ProcessEvent and VariableChanged or move the connection's status by hand.
//
//   FakeBrokerWorld world;
//   world.script(url).tree = ...;
//   MonitorController monitor(world.factory(), std::make_unique<FakeKeyStore>());
//   monitor.addConnection("a", url, "admin-key", false);
//   world.source(url)->pushStats(...);

#include <monitor/controllers/broker_source.h>
#include <monitor/controllers/key_store.h>

#include <QDateTime>
#include <QHash>
#include <QPointer>
#include <QTimer>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace commy::monitor::test {

// What one fake broker holds. Keys are "tenant/service" (and "tenant/service/root" for roots).
struct FakeBrokerScript {
    QString adminKey = QStringLiteral("admin-key"); // authenticates as server_admin
    QHash<QString, QStringList> tenantKeys; // "tenant:key" -> its scopes
    bool refuseAll = false; // every key: UNAUTHORIZED
    protocol::BrokerInfoResult info { QStringLiteral("0.1.0"), 1000, 1, 0, 0 };
    protocol::TreeResult tree;
    QHash<QString, protocol::RegionStats> stats;
    QHash<QString, std::vector<protocol::BlockEntry>> blocks;
    QHash<QString, std::vector<protocol::ProcessEntry>> processes;
    std::vector<protocol::SessionEntry> sessions;
    QHash<QString, protocol::BrowseResult> roots; // every element; requests get their page of it
    protocol::CleanupResult cleanup;
    QHash<QString, protocol::Error> failures; // by request type ("ResizeRegion"): answered with this
};

inline QString serviceKey(const QString& tenant, const QString& service) { return tenant + QLatin1Char('/') + service; }

class FakeBrokerSource : public BrokerSource {
    Q_OBJECT

public:
    explicit FakeBrokerSource(std::function<FakeBrokerScript*(const QUrl&)> scriptFor)
        : m_scriptFor(std::move(scriptFor))
    {
    }

    void open(const QUrl& url, const QString& key) override
    {
        ++m_epoch;
        openedUrl = url;
        openedKey = key;
        setGrant({}, {});
        emit statusChanged(ConnectionStatus::Connecting, {});
        const quint64 epoch = m_epoch;
        QTimer::singleShot(0, this, [this, epoch] {
            if (epoch != m_epoch)
                return;
            FakeBrokerScript& s = script();
            const KeyParts parts = splitKey(openedKey);
            if (!s.refuseAll && !parts.tenant && parts.key == s.adminKey) {
                setGrant({ QStringLiteral("server_admin") }, {});
            } else if (!s.refuseAll && parts.tenant && s.tenantKeys.contains(openedKey)) {
                setGrant(s.tenantKeys.value(openedKey), *parts.tenant);
            } else {
                emit statusChanged(
                    ConnectionStatus::AuthenticationFailed, QStringLiteral("UNAUTHORIZED: invalid credentials"));
                return;
            }
            emit statusChanged(ConnectionStatus::Connected, {});
        });
    }

    void close() override
    {
        ++m_epoch;
        setGrant({}, {});
        emit statusChanged(ConnectionStatus::Disconnected, {});
    }

    void send(protocol::Request request, Callback done) override
    {
        requests.push_back(request);
        if (hold) {
            held.push_back({ std::move(request), std::move(done) });
            return;
        }
        QPointer<FakeBrokerSource> self(this);
        QTimer::singleShot(0, this, [self, request = std::move(request), done = std::move(done)] {
            if (!self)
                return;
            ++self->answered;
            if (done)
                done(self->answer(request));
        });
    }

    // Answers the requests kept while `hold` was set, oldest first.
    void release()
    {
        hold = false;
        auto pending = std::move(held);
        held.clear();
        for (auto& [request, done] : pending) {
            ++answered;
            if (done)
                done(answer(request));
        }
    }

    // How many requests of a type ("GetTree") were sent.
    int count(const QString& type) const
    {
        int n = 0;
        for (const protocol::Request& request : requests)
            n += protocol::requestTypeName(request) == type ? 1 : 0;
        return n;
    }
    template <class R> std::vector<R> sent() const
    {
        std::vector<R> found;
        for (const protocol::Request& request : requests)
            if (const R* r = std::get_if<R>(&request))
                found.push_back(*r);
        return found;
    }

    void setStatus(ConnectionStatus status, const QString& detail = {}) { emit statusChanged(status, detail); }
    void pushStats(const QString& tenant, const QString& service, const protocol::RegionStats& stats)
    {
        script().stats[serviceKey(tenant, service)] = stats;
        emit statsUpdated(protocol::StatsUpdate { tenant, service, stats });
    }

    FakeBrokerScript& script() { return *m_scriptFor(openedUrl); }

    QUrl openedUrl;
    QString openedKey;
    std::vector<protocol::Request> requests;
    int answered = 0; // of `requests`: the others wait in the event queue or in `held`
    bool hold = false;
    std::vector<std::pair<protocol::Request, Callback>> held;

private:
    static protocol::Error error(protocol::ErrorCode code, const QString& message)
    {
        return protocol::Error { code, message, std::nullopt };
    }

    Reply refuse(protocol::ErrorCode code, const QString& message) { return commy::unexpected(error(code, message)); }

    const protocol::ServiceTree* findService(const QString& tenant, const QString& service)
    {
        for (const protocol::TenantTree& t : script().tree.tenants)
            if (t.name == tenant)
                for (const protocol::ServiceTree& s : t.services)
                    if (s.name == service)
                        return &s;
        return nullptr;
    }

    Reply answer(const protocol::Request& request)
    {
        FakeBrokerScript& s = script();
        const QString type = protocol::requestTypeName(request);
        if (s.failures.contains(type))
            return commy::unexpected(s.failures.value(type));
        if (scopes().isEmpty())
            return refuse(protocol::ErrorCode::Unauthorized, QStringLiteral("not authenticated"));
        return std::visit([&](const auto& r) { return handle(r); }, request);
    }

    template <class R> Reply handle(const R&) { return protocol::ResultData(protocol::EmptyResult {}); }

    Reply handle(const protocol::Heartbeat&)
    {
        return protocol::ResultData(protocol::HeartbeatResult { QDateTime::currentMSecsSinceEpoch() });
    }
    Reply handle(const protocol::GetBrokerInfo&)
    {
        if (!isServerAdmin())
            return refuse(protocol::ErrorCode::PermissionDenied, QStringLiteral("needs server_admin"));
        return protocol::ResultData(script().info);
    }
    Reply handle(const protocol::GetTree& r)
    {
        if (!r.tenant) {
            if (!isServerAdmin())
                return refuse(protocol::ErrorCode::PermissionDenied, QStringLiteral("needs server_admin"));
            return protocol::ResultData(script().tree);
        }
        for (const protocol::TenantTree& t : script().tree.tenants)
            if (t.name == *r.tenant)
                return protocol::ResultData(protocol::TreeResult { { t } });
        return refuse(protocol::ErrorCode::NotFound, QStringLiteral("no such tenant"));
    }
    Reply handle(const protocol::ListTenants&)
    {
        protocol::ListTenantsResult result;
        for (const protocol::TenantTree& t : script().tree.tenants)
            result.tenants.push_back({ t.name, qint64(t.services.size()) });
        return protocol::ResultData(result);
    }
    Reply handle(const protocol::ListServices& r)
    {
        protocol::ListServicesResult result;
        for (const protocol::TenantTree& t : script().tree.tenants)
            if (t.name == r.tenant)
                for (const protocol::ServiceTree& service : t.services)
                    result.services.push_back({ service.name, service.size, service.limit, 0 });
        return protocol::ResultData(result);
    }
    Reply handle(const protocol::GetRegionStats& r)
    {
        const auto found = script().stats.constFind(serviceKey(r.tenant, r.service));
        if (found == script().stats.constEnd())
            return refuse(protocol::ErrorCode::NotFound, QStringLiteral("no such service"));
        return protocol::ResultData(*found);
    }
    Reply handle(const protocol::GetBlockMap& r)
    {
        const std::vector<protocol::BlockEntry> all = script().blocks.value(serviceKey(r.tenant, r.service));
        protocol::BlockMapResult result;
        result.total = qint64(all.size());
        const qint64 first = r.offset.value_or(0);
        const qint64 limit = r.limit.value_or(protocol::kDefaultBlockMapLimit);
        for (qint64 i = first; i < qint64(all.size()) && i < first + limit; ++i)
            result.blocks.push_back(all[std::size_t(i)]);
        return protocol::ResultData(result);
    }
    Reply handle(const protocol::GetProcesses& r)
    {
        return protocol::ResultData(
            protocol::ProcessesResult { script().processes.value(serviceKey(r.tenant, r.service)) });
    }
    Reply handle(const protocol::GetSessions&)
    {
        if (!isServerAdmin())
            return refuse(protocol::ErrorCode::PermissionDenied, QStringLiteral("needs server_admin"));
        return protocol::ResultData(protocol::SessionsResult { script().sessions });
    }
    Reply handle(const protocol::BrowseRoot& r)
    {
        const auto found = script().roots.constFind(serviceKey(r.tenant, r.service) + QLatin1Char('/') + r.root);
        if (found == script().roots.constEnd())
            return refuse(protocol::ErrorCode::NotFound, QStringLiteral("no such root"));
        protocol::BrowseResult page = *found;
        page.elements.clear();
        const qint64 first = r.offset.value_or(0);
        const qint64 limit = r.limit.value_or(protocol::kDefaultBrowseLimit);
        for (qint64 i = first; i < qint64(found->elements.size()) && i < first + limit; ++i)
            page.elements.push_back(found->elements[std::size_t(i)]);
        return protocol::ResultData(page);
    }
    Reply handle(const protocol::ResizeRegion& r)
    {
        if (!allows(QStringLiteral("admin"), r.tenant))
            return refuse(protocol::ErrorCode::PermissionDenied, QStringLiteral("this request needs the admin scope"));
        protocol::RegionStats& stats = script().stats[serviceKey(r.tenant, r.service)];
        stats.size = r.size;
        ++stats.generation;
        return protocol::ResultData(protocol::RegionSizeResult { r.size });
    }
    Reply handle(const protocol::ShrinkRegion& r)
    {
        if (!allows(QStringLiteral("admin"), r.tenant))
            return refuse(protocol::ErrorCode::PermissionDenied, QStringLiteral("this request needs the admin scope"));
        protocol::RegionStats& stats = script().stats[serviceKey(r.tenant, r.service)];
        stats.size = std::max<qint64>(stats.used, 4096);
        return protocol::ResultData(protocol::RegionSizeResult { stats.size });
    }
    Reply handle(const protocol::CleanupRegion& r)
    {
        if (!allows(QStringLiteral("admin"), r.tenant))
            return refuse(protocol::ErrorCode::PermissionDenied, QStringLiteral("this request needs the admin scope"));
        return protocol::ResultData(script().cleanup);
    }
    Reply handle(const protocol::Watch& r)
    {
        for (const protocol::WatchTarget& target : r.targets)
            if (!findService(target.tenant, target.service))
                return refuse(protocol::ErrorCode::NotFound, QStringLiteral("no such service"));
        return protocol::ResultData(protocol::EmptyResult {});
    }

    std::function<FakeBrokerScript*(const QUrl&)> m_scriptFor;
    quint64 m_epoch = 0;
};

// The brokers of a test, by URL, and the sources the monitor made for them.
class FakeBrokerWorld {
public:
    FakeBrokerScript& script(const QString& url) { return m_scripts[url]; }

    std::function<std::unique_ptr<BrokerSource>()> factory()
    {
        return [this] {
            auto source
                = std::make_unique<FakeBrokerSource>([this](const QUrl& url) { return &m_scripts[url.toString()]; });
            m_sources.push_back(source.get());
            return source;
        };
    }

    // The newest live source opened on `url`.
    FakeBrokerSource* source(const QString& url) const
    {
        for (auto it = m_sources.rbegin(); it != m_sources.rend(); ++it)
            if (*it && (*it)->openedUrl.toString() == url)
                return *it;
        return nullptr;
    }

private:
    QHash<QString, FakeBrokerScript> m_scripts;
    std::vector<QPointer<FakeBrokerSource>> m_sources;
};

// Keys in memory; `available` false behaves like a machine without a keychain service.
class FakeKeyStore : public KeyStore {
    Q_OBJECT

public:
    explicit FakeKeyStore(QHash<QString, QString>* entries = nullptr, bool available = true)
        : m_entries(entries ? entries : &m_own)
        , m_available(available)
    {
    }

    void probe(ProbeDone done) override
    {
        QTimer::singleShot(
            0, this, [this, done] { done(m_available, m_available ? QString() : QStringLiteral("no service")); });
    }
    void read(const QString& entry, ReadDone done) override
    {
        QTimer::singleShot(0, this, [this, entry, done] {
            if (!m_available)
                done(std::nullopt, QStringLiteral("no service"));
            else if (m_entries->contains(entry))
                done(m_entries->value(entry), {});
            else
                done(std::nullopt, {});
        });
    }
    void write(const QString& entry, const QString& key, Done done) override
    {
        QTimer::singleShot(0, this, [this, entry, key, done] {
            if (m_available)
                m_entries->insert(entry, key);
            done(m_available ? QString() : QStringLiteral("no service"));
        });
    }
    void remove(const QString& entry, Done done) override
    {
        QTimer::singleShot(0, this, [this, entry, done] {
            m_entries->remove(entry);
            done({});
        });
    }

private:
    QHash<QString, QString> m_own;
    QHash<QString, QString>* m_entries;
    bool m_available;
};

} // namespace commy::monitor::test
