#pragma once

// Brokers -> tenants -> services -> roots, fed by snapshots. setBroker() diffs a broker's whole tree
// against the rows it has (rows come, go and move by name; values change in place), applyStats() and
// setRoots() take the deltas a broker pushes. A routine update never resets the model.

#include "../snapshots.h"

#include <QAbstractItemModel>
#include <QHash>
#include <QtQml/qqmlregistration.h>

#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace commy::monitor {

class HierarchyModel : public QAbstractItemModel {
    Q_OBJECT
    QML_ELEMENT
    Q_PROPERTY(int brokerCount READ brokerCount NOTIFY brokerCountChanged)

public:
    enum Column { NameColumn, DetailColumn, SizeColumn, UsedColumn, UsageColumn, FragmentationColumn, ColumnCount };
    Q_ENUM(Column)

    explicit HierarchyModel(QObject* parent = nullptr);
    ~HierarchyModel() override;

    // Adds the broker (a new id goes after the others) or brings its subtree to the snapshot.
    void setBroker(const BrokerSnapshot& broker);
    // Only the broker's own row (URL, version, uptime, sessions): `broker.tenants` is not read, the
    // subtree stays as it is. For the periodic GetBrokerInfo, which must not diff a whole large tree.
    // False when the broker is not there.
    bool setBrokerInfo(const BrokerSnapshot& broker);
    bool removeBroker(const QString& id);
    // Drops every broker (a reset: for shutting down, not for updates).
    void clear();
    // Region stats of services (a StatsUpdate push). Updates for services not in the tree are skipped;
    // returns how many were found.
    int applyStats(const QString& brokerId, const QList<ServiceStatsUpdate>& updates);
    // One tenant's subtree (a TreeChanged push for a tenant, GetTree {tenant}): diffed in, or added before
    // the first tenant whose name sorts after it (tenants listed in name order stay so). False when the
    // broker is not there.
    bool setTenant(const QString& brokerId, const TenantSnapshot& tenant);
    bool removeTenant(const QString& brokerId, const QString& tenant);
    // One service's roots (a TreeChanged push or a GetTree of one service); false when it is not there.
    bool setRoots(
        const QString& brokerId, const QString& tenant, const QString& service, const QList<RootSnapshot>& roots);

    int brokerCount() const;
    // A service's stats as the last snapshot or push left them; nothing when the service is not there.
    std::optional<RegionStats> serviceStats(
        const QString& brokerId, const QString& tenant, const QString& service) const;
    // The row of a broker, tenant, service or root: {broker}, {broker, tenant}, ... Invalid when absent.
    Q_INVOKABLE QModelIndex indexOf(const QStringList& path) const;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    bool hasChildren(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

signals:
    void brokerCountChanged();

private:
    struct Node;
    struct Totals {
        quint64 size = 0;
        quint64 limit = 0;
        quint64 used = 0;
        quint64 free = 0;
        quint64 largestFree = 0;
        quint64 usedBlocks = 0;
        quint64 freeBlocks = 0;
        int tenants = 0;
        int services = 0;
        int roots = 0;
        bool operator==(const Totals&) const = default;
    };
    template <typename Item> struct Sync;

    Node* child(const Node* parent, const QString& name) const;
    Node* nodeFor(const QModelIndex& index) const;
    QModelIndex indexFor(const Node* node, int column = 0) const;
    std::unique_ptr<Node> build(const BrokerSnapshot& broker, Node* parent) const;
    std::unique_ptr<Node> build(const TenantSnapshot& tenant, Node* parent) const;
    std::unique_ptr<Node> build(const ServiceSnapshot& service, Node* parent) const;
    std::unique_ptr<Node> build(const RootSnapshot& root, Node* parent) const;
    template <typename Item> using Built = std::vector<std::pair<Node*, const Item*>>;
    static std::unique_ptr<Node> shallow(const BrokerSnapshot& broker, Node* parent);
    static std::unique_ptr<Node> shallow(const TenantSnapshot& tenant, Node* parent);
    static std::unique_ptr<Node> shallow(const ServiceSnapshot& service, Node* parent);
    static std::unique_ptr<Node> shallow(const RootSnapshot& root, Node* parent);
    static std::unique_ptr<Node> makeNode(NodeType type, const QString& name, Node* parent);
    template <typename Item> Built<Item> addChildren(Node& parent, const QList<Item>& items) const;
    void buildLevels(const Built<TenantSnapshot>& tenants) const;
    void buildLevels(const Built<ServiceSnapshot>& services) const;
    bool update(Node& node, const BrokerSnapshot& broker);
    bool update(Node& node, const TenantSnapshot& tenant);
    bool update(Node& node, const ServiceSnapshot& service);
    bool update(Node& node, const RootSnapshot& root);
    static Totals totalsOf(const Node& node);
    // Recomputes the totals of `node` and its ancestors; emits dataChanged for each one that changed.
    void refreshUpwards(Node* node);
    void emitRowsChanged(const Node* parent, int first, int last, const QList<int>& roles);

    std::unique_ptr<Node> m_root; // invisible; its children are the brokers
};

} // namespace commy::monitor
