#pragma once

// One broker as the monitor follows it: its BrokerSource, a copy of its tree's structure (so variable
// pushes are applied as deltas; the live region stats are kept by the hierarchy alone, and a tenant read
// again starts from them), and the requests that keep the HierarchyModel and the EventModel current:
// - on every (re)connection: GetBrokerInfo and GetTree (server_admin), or GetTree of the key's tenant;
//   then a Watch of every service and a Subscribe to each (variable changes for the events panel);
// - StatsUpdate pushes, batched per turn of the event loop -> HierarchyModel::applyStats;
// - VariableChanged pushes, batched -> the root's version and length (setRoots) and events;
// - TreeChanged -> GetTree of that tenant -> setTenant (or removeTenant when it is gone);
// - ProcessEvent -> events (the region view reads the process table itself);
// - every few seconds, ListTenants (or ListServices) to notice tenants and services that came or went
//   (only those tenants are read again), and GetBrokerInfo for the broker's own row.
// Not a QML type: MonitorController owns these and shows them through its models.

#include "broker_source.h"

#include "../snapshots.h"

#include <QDateTime>
#include <QHash>
#include <QMap>
#include <QObject>
#include <QPair>
#include <QSet>
#include <QTimer>
#include <QUrl>

#include <memory>
#include <optional>

namespace commy::monitor {

class HierarchyModel;
class EventModel;

class BrokerConnection : public QObject {
    Q_OBJECT

public:
    static constexpr int kWatchIntervalMs = 1000;
    static constexpr int kStructureIntervalMs = 5000;

    BrokerConnection(const QString& name, const QUrl& url, std::unique_ptr<BrokerSource> source,
        HierarchyModel* hierarchy, EventModel* events, QObject* parent = nullptr);
    ~BrokerConnection() override;

    QString name() const;
    QUrl url() const;
    BrokerSource* source() const;

    // Opens with `key`; an empty key leaves the connection closed, `reason` saying why.
    void open(const QString& key, const QString& reason = {});
    void close();
    QString key() const;
    // Connecting while the key is read from the keychain: not settled yet.
    void waitForKey();

    ConnectionStatus status() const;
    QString statusText() const;
    qint64 rttMs() const;
    // The first tree arrived (stays true across reconnects).
    bool isLoaded() const;
    // Loaded, or stopped for good (refused key or certificate, no key): nothing more will come.
    bool isSettled() const;

    // A service's structure (roots) as last read; its stats there are those of that read.
    const ServiceSnapshot* service(const QString& tenant, const QString& service) const;
    // A service's live stats (the last push), as the hierarchy shows them.
    std::optional<RegionStats> serviceStats(const QString& tenant, const QString& service) const;
    const RootSnapshot* root(const QString& tenant, const QString& service, const QString& root) const;
    // A newer state of one root, learnt by whoever browses it: into the tree and the hierarchy.
    void updateRoot(const QString& tenant, const QString& service, const RootSnapshot& root);
    // Reads one tenant's subtree again (coalesced: one request per tenant in flight).
    void refreshTenant(const QString& tenant);

    // Adds an event from this broker (source prefixed with the connection's name).
    void addEvent(EventKind kind, const QString& source, const QString& text);

signals:
    void stateChanged(); // status, statusText, rttMs or the grant
    void loadedChanged();
    // After each batch of StatsUpdate pushes reached the hierarchy.
    void statsApplied(const QList<commy::monitor::ServiceStatsUpdate>& updates);
    // A service's roots changed in the tree (versions, lengths, roots added or removed).
    void rootsChanged(const QString& tenant, const QString& service);
    // A tenant's subtree was read again or removed.
    void tenantChanged(const QString& tenant);
    void processEventReceived(const commy::protocol::ProcessEvent& event);

private:
    struct ServiceEntry {
        ServiceSnapshot snapshot;
        QHash<QString, qsizetype> rootIndex;
        void indexRoots();
    };
    using TenantEntry = QMap<QString, ServiceEntry>;

    void onStatus(ConnectionStatus status, const QString& detail);
    void onConnected();
    void loadAll();
    void applyTree(const protocol::TreeResult& tree, bool complete);
    TenantSnapshot mergeTenant(const protocol::TenantTree& tenant);
    TenantSnapshot snapshotOf(const QString& tenant) const;
    // The broker's row, with every tenant's subtree or (for setBrokerInfo) without.
    BrokerSnapshot brokerSnapshot(bool withTenants = true) const;
    void removeTenant(const QString& tenant);
    void syncWatch();
    void checkStructure();
    void setLoaded();
    void failed(const QString& what, const protocol::Error& error);

    void onStats(const protocol::StatsUpdate& update);
    void onVariable(const protocol::VariableChanged& change);
    void onTreeChanged(const protocol::TreeChanged& change);
    void onProcessEvent(const protocol::ProcessEvent& event);
    void flush();

    QString m_name;
    QUrl m_url;
    std::unique_ptr<BrokerSource> m_source;
    HierarchyModel* m_hierarchy;
    EventModel* m_events;
    QString m_key;
    QString m_noKeyReason;
    ConnectionStatus m_status = ConnectionStatus::Disconnected;
    QString m_detail;
    qint64 m_rttMs = -1;
    bool m_loaded = false;
    quint64 m_session = 0; // bumped per (re)connection: replies for an older one are ignored

    QMap<QString, TenantEntry> m_tree;
    QString m_version;
    qint64 m_uptimeMs = 0;
    int m_sessionCount = 0;
    std::vector<protocol::WatchTarget> m_watched; // the last Watch sent
    QSet<QPair<QString, QString>> m_subscribed;
    QSet<QString> m_refreshing; // tenants with a GetTree in flight
    QSet<QString> m_refreshAgain; // ... and changed again meanwhile
    bool m_structureInFlight = false;
    QTimer m_structureTimer;

    // Pushes wait here for the next turn of the event loop: a burst is applied once.
    QTimer m_flushTimer;
    QList<ServiceStatsUpdate> m_pendingStats;
    QList<protocol::VariableChanged> m_pendingVariables;
};

} // namespace commy::monitor
