#include "hierarchy_model.h"

#include "../format.h"
#include "roles.h"
#include "row_sync.h"

#include <algorithm>
#include <type_traits>
#include <utility>

namespace commy::monitor {

namespace {

// What an in-place update may change: everything but the identity (name, path, node type).
const QList<int> kValueRoles { Qt::DisplayRole, SizeRole, VersionRole, TenantCountRole, ServiceCountRole, RootCountRole,
    LimitRole, UsedRole, FreeRole, UsageRole, LargestFreeRole, FragmentationRole, UsedBlocksRole, FreeBlocksRole,
    GenerationRole, KindRole, TypeRole, LengthRole, UrlRole, BrokerVersionRole, UptimeRole, SessionCountRole };
// What a stats delta changes on a service row, and on the rows above it.
const QList<int> kStatsRoles { Qt::DisplayRole, SizeRole, LimitRole, UsedRole, FreeRole, UsageRole, LargestFreeRole,
    FragmentationRole, UsedBlocksRole, FreeBlocksRole, GenerationRole };
// What GetBrokerInfo changes on a broker row.
const QList<int> kBrokerInfoRoles { UrlRole, BrokerVersionRole, UptimeRole, SessionCountRole };
const QList<int> kTotalsRoles { Qt::DisplayRole, SizeRole, LimitRole, UsedRole, FreeRole, UsageRole, LargestFreeRole,
    UsedBlocksRole, FreeBlocksRole, TenantCountRole, ServiceCountRole, RootCountRole };

template <typename Item> const QString& itemKey(const Item& item)
{
    if constexpr (std::is_same_v<Item, BrokerSnapshot>)
        return item.id;
    else
        return item.name;
}

double usageOf(quint64 used, quint64 free) { return used + free == 0 ? 0.0 : double(used) / double(used + free); }

size_t hashName(QStringView name)
{
    // Seeded per process (QHashSeed), so names chosen by clients cannot be made to collide.
    static const size_t seed = QHashSeed::globalSeed();
    return qHash(name, seed);
}

// A node's children by name: open addressing with linear probing over (hash, node) pairs in one array.
// A lookup reads the slot array and the one node whose hash matches; QHash<QString, Node*> also reads
// the characters of every key it probes. With 10^4 lookups per update tick spread over a large tree,
// those cache misses were most of the tick.
template <typename NodeT> class NameIndex {
public:
    NodeT* find(QStringView name, size_t hash) const
    {
        if (m_slots.empty())
            return nullptr;
        const size_t mask = m_slots.size() - 1;
        for (size_t i = hash & mask;; i = (i + 1) & mask) {
            const Slot& slot = m_slots[i];
            if (!slot.node)
                return nullptr;
            if (slot.hash == hash && slot.node->name == name)
                return slot.node;
        }
    }

    void insert(NodeT* node)
    {
        if ((m_count + 1) * 2 > m_slots.size())
            rehash(std::max<size_t>(8, m_slots.size() * 2));
        place(node);
        ++m_count;
    }

    void erase(const NodeT* node)
    {
        if (m_slots.empty())
            return;
        const size_t mask = m_slots.size() - 1;
        size_t hole = node->nameHash & mask;
        while (m_slots[hole].node != node) {
            if (!m_slots[hole].node)
                return;
            hole = (hole + 1) & mask;
        }
        m_slots[hole] = {};
        --m_count;
        // Backward-shift deletion: pull later entries of the probe run into the hole unless their home
        // slot lies (cyclically) after the hole, so no tombstones are needed.
        for (size_t j = (hole + 1) & mask; m_slots[j].node; j = (j + 1) & mask) {
            const size_t home = m_slots[j].hash & mask;
            const bool stays = hole < j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (stays)
                continue;
            m_slots[hole] = m_slots[j];
            m_slots[j] = {};
            hole = j;
        }
    }

    void clear()
    {
        m_slots.clear();
        m_count = 0;
    }

private:
    struct Slot {
        size_t hash = 0;
        NodeT* node = nullptr;
    };

    void rehash(size_t capacity)
    {
        std::vector<Slot> old = std::exchange(m_slots, std::vector<Slot>(capacity));
        for (const Slot& slot : old) {
            if (slot.node)
                place(slot.node);
        }
    }

    void place(NodeT* node)
    {
        const size_t mask = m_slots.size() - 1;
        size_t i = node->nameHash & mask;
        while (m_slots[i].node)
            i = (i + 1) & mask;
        m_slots[i] = Slot { node->nameHash, node };
    }

    std::vector<Slot> m_slots;
    size_t m_count = 0;
};

} // namespace

struct HierarchyModel::Node {
    // What a stats update reads and writes comes first, together: it touches 10^4 nodes a tick.
    Node* parent = nullptr;
    size_t nameHash = 0;
    QString name;
    int row = 0;
    NodeType type = NodeType::Broker;
    bool dirty = false; // applyStats() bookkeeping, false between calls
    RegionStats stats; // services
    Totals totals;
    std::vector<std::unique_ptr<Node>> children;
    NameIndex<Node> byName; // the children
    RootSnapshot root; // roots (its name is unused: `name` above)
    QString url; // brokers
    QString brokerVersion;
    qint64 uptimeMs = 0;
    int sessionCount = 0;

    void renumber(std::size_t from)
    {
        for (std::size_t r = from; r < children.size(); ++r)
            children[r]->row = int(r);
    }
};

// The row_sync hooks for the children of one node.
template <typename Item> struct HierarchyModel::Sync {
    HierarchyModel* model;
    Node* parent;

    static const QString& key(const std::unique_ptr<Node>& node) { return node->name; }
    static const QString& key(const Item& item) { return itemKey(item); }
    std::unique_ptr<Node> make(const Item& item) const { return model->build(item, parent); }
    bool update(std::unique_ptr<Node>& node, const Item& item) const { return model->update(*node, item); }

    void beginRemove(int first, int last) const
    {
        model->beginRemoveRows(model->indexFor(parent), first, last);
        for (int r = first; r <= last; ++r)
            parent->byName.erase(parent->children[std::size_t(r)].get());
    }
    void endRemove(int first) const
    {
        parent->renumber(std::size_t(first));
        model->endRemoveRows();
    }
    void beginInsert(int first, int last) const { model->beginInsertRows(model->indexFor(parent), first, last); }
    void endInsert(int first, int last) const
    {
        for (int r = first; r <= last; ++r) {
            parent->byName.insert(parent->children[std::size_t(r)].get());
        }
        parent->renumber(std::size_t(first));
        model->endInsertRows();
    }
    void beginMove(int from, int to) const
    {
        const QModelIndex index = model->indexFor(parent);
        [[maybe_unused]] const bool ok = model->beginMoveRows(index, from, from, index, to);
        Q_ASSERT(ok);
    }
    void endMove(int to, int) const
    {
        parent->renumber(std::size_t(to));
        model->endMoveRows();
    }
    void changed(int first, int last) const { model->emitRowsChanged(parent, first, last, kValueRoles); }
};

HierarchyModel::HierarchyModel(QObject* parent)
    : QAbstractItemModel(parent)
    , m_root(std::make_unique<Node>())
{
}

HierarchyModel::~HierarchyModel() = default;

void HierarchyModel::setBroker(const BrokerSnapshot& broker)
{
    if (Node* node = child(m_root.get(), broker.id)) {
        if (update(*node, broker))
            emitRowsChanged(m_root.get(), node->row, node->row, kValueRoles);
        return;
    }
    const int row = int(m_root->children.size());
    auto node = build(broker, m_root.get());
    beginInsertRows({}, row, row);
    node->row = row;
    m_root->byName.insert(node.get());
    m_root->children.push_back(std::move(node));
    endInsertRows();
    emit brokerCountChanged();
}

bool HierarchyModel::setBrokerInfo(const BrokerSnapshot& broker)
{
    Node* node = child(m_root.get(), broker.id);
    if (!node)
        return false;
    if (node->url == broker.url && node->brokerVersion == broker.version && node->uptimeMs == broker.uptimeMs
        && node->sessionCount == broker.sessionCount)
        return true;
    node->url = broker.url;
    node->brokerVersion = broker.version;
    node->uptimeMs = broker.uptimeMs;
    node->sessionCount = broker.sessionCount;
    emitRowsChanged(m_root.get(), node->row, node->row, kBrokerInfoRoles);
    return true;
}

bool HierarchyModel::removeBroker(const QString& id)
{
    const Node* node = child(m_root.get(), id);
    if (!node)
        return false;
    const int row = node->row;
    beginRemoveRows({}, row, row);
    m_root->byName.erase(node);
    m_root->children.erase(m_root->children.begin() + row);
    m_root->renumber(std::size_t(row));
    endRemoveRows();
    emit brokerCountChanged();
    return true;
}

void HierarchyModel::clear()
{
    if (m_root->children.empty())
        return;
    beginResetModel();
    m_root->children.clear();
    m_root->byName.clear();
    endResetModel();
    emit brokerCountChanged();
}

int HierarchyModel::applyStats(const QString& brokerId, const QList<ServiceStatsUpdate>& updates)
{
    Node* broker = child(m_root.get(), brokerId);
    if (!broker)
        return 0;
    int found = 0;
    std::vector<Node*> dirtyTenants;
    Node* tenant = nullptr;
    for (const ServiceStatsUpdate& update : updates) {
        // Updates come grouped by tenant: the previous one's tenant is usually this one's.
        if (!tenant || tenant->name != update.tenant)
            tenant = child(broker, update.tenant);
        Node* service = tenant ? child(tenant, update.service) : nullptr;
        if (!service)
            continue;
        ++found;
        if (service->stats == update.stats)
            continue;
        service->stats = update.stats;
        service->totals = totalsOf(*service);
        service->dirty = true;
        if (!tenant->dirty) {
            tenant->dirty = true;
            dirtyTenants.push_back(tenant);
        }
    }
    if (dirtyTenants.empty())
        return found;

    // One dataChanged per run of adjacent changed rows, not one per row: a view or proxy pays per signal.
    const auto emitRuns = [this](Node* parent, const QList<int>& roles) {
        const int count = int(parent->children.size());
        for (int first = 0; first < count;) {
            if (!parent->children[std::size_t(first)]->dirty) {
                ++first;
                continue;
            }
            int last = first;
            while (last + 1 < count && parent->children[std::size_t(last + 1)]->dirty)
                ++last;
            for (int r = first; r <= last; ++r)
                parent->children[std::size_t(r)]->dirty = false;
            emitRowsChanged(parent, first, last, roles);
            first = last + 1;
        }
    };
    for (Node* dirty : dirtyTenants) {
        emitRuns(dirty, kStatsRoles);
        const Totals totals = totalsOf(*dirty);
        dirty->dirty = totals != dirty->totals;
        dirty->totals = totals;
    }
    emitRuns(broker, kTotalsRoles);
    refreshUpwards(broker);
    return found;
}

bool HierarchyModel::setTenant(const QString& brokerId, const TenantSnapshot& tenant)
{
    Node* broker = child(m_root.get(), brokerId);
    if (!broker)
        return false;
    if (Node* node = child(broker, tenant.name)) {
        if (update(*node, tenant))
            emitRowsChanged(broker, node->row, node->row, kValueRoles);
    } else {
        const auto after = std::find_if(broker->children.begin(), broker->children.end(),
            [&](const std::unique_ptr<Node>& sibling) { return tenant.name < sibling->name; });
        const int row = int(after - broker->children.begin());
        auto built = build(tenant, broker);
        beginInsertRows(indexFor(broker), row, row);
        broker->byName.insert(built.get());
        broker->children.insert(after, std::move(built));
        broker->renumber(std::size_t(row));
        endInsertRows();
    }
    refreshUpwards(broker);
    return true;
}

bool HierarchyModel::removeTenant(const QString& brokerId, const QString& tenant)
{
    Node* broker = child(m_root.get(), brokerId);
    const Node* node = broker ? child(broker, tenant) : nullptr;
    if (!node)
        return false;
    const int row = node->row;
    beginRemoveRows(indexFor(broker), row, row);
    broker->byName.erase(node);
    broker->children.erase(broker->children.begin() + row);
    broker->renumber(std::size_t(row));
    endRemoveRows();
    refreshUpwards(broker);
    return true;
}

bool HierarchyModel::setRoots(
    const QString& brokerId, const QString& tenant, const QString& service, const QList<RootSnapshot>& roots)
{
    Node* node = child(m_root.get(), brokerId);
    node = node ? child(node, tenant) : nullptr;
    node = node ? child(node, service) : nullptr;
    if (!node)
        return false;
    Sync<RootSnapshot> sync { this, node };
    syncRows(node->children, roots, sync);
    refreshUpwards(node);
    return true;
}

int HierarchyModel::brokerCount() const { return int(m_root->children.size()); }

std::optional<RegionStats> HierarchyModel::serviceStats(
    const QString& brokerId, const QString& tenant, const QString& service) const
{
    const Node* node = child(m_root.get(), brokerId);
    node = node ? child(node, tenant) : nullptr;
    node = node ? child(node, service) : nullptr;
    if (!node)
        return std::nullopt;
    return node->stats;
}

QModelIndex HierarchyModel::indexOf(const QStringList& path) const
{
    const Node* node = m_root.get();
    for (const QString& name : path) {
        node = child(node, name);
        if (!node)
            return {};
    }
    return node == m_root.get() ? QModelIndex() : indexFor(node);
}

QModelIndex HierarchyModel::index(int row, int column, const QModelIndex& parent) const
{
    if (column < 0 || column >= ColumnCount || row < 0 || (parent.isValid() && parent.column() != 0))
        return {};
    const Node* node = parent.isValid() ? nodeFor(parent) : m_root.get();
    if (!node || row >= int(node->children.size()))
        return {};
    return indexFor(node->children[std::size_t(row)].get(), column);
}

QModelIndex HierarchyModel::parent(const QModelIndex& child) const
{
    const Node* node = nodeFor(child);
    return node ? indexFor(node->parent) : QModelIndex();
}

int HierarchyModel::rowCount(const QModelIndex& parent) const
{
    if (parent.isValid() && parent.column() != 0)
        return 0;
    const Node* node = parent.isValid() ? nodeFor(parent) : m_root.get();
    return node ? int(node->children.size()) : 0;
}

int HierarchyModel::columnCount(const QModelIndex&) const { return ColumnCount; }

bool HierarchyModel::hasChildren(const QModelIndex& parent) const { return rowCount(parent) > 0; }

QVariant HierarchyModel::data(const QModelIndex& index, int role) const
{
    const Node* node = nodeFor(index);
    if (!node)
        return {};
    const Totals& totals = node->totals;
    const bool isRoot = node->type == NodeType::Root;
    const bool isService = node->type == NodeType::Service;
    const bool isBroker = node->type == NodeType::Broker;

    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NameColumn:
            return node->name;
        case DetailColumn:
            switch (node->type) {
            case NodeType::Broker:
                return tr("%n tenant(s)", nullptr, totals.tenants);
            case NodeType::Tenant:
                return tr("%n service(s)", nullptr, totals.services);
            case NodeType::Service:
                return tr("%n root(s)", nullptr, totals.roots);
            case NodeType::Root:
                return node->root.type;
            }
            return {};
        case SizeColumn:
            return formatBytes(totals.size);
        case UsedColumn:
            return isRoot ? QVariant() : formatBytes(totals.used);
        case UsageColumn:
            return isRoot ? QVariant() : formatPercent(usageOf(totals.used, totals.free));
        case FragmentationColumn:
            return isService ? formatPercent(node->stats.fragmentation) : QVariant();
        }
        return {};
    case Qt::TextAlignmentRole:
        return index.column() >= SizeColumn ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
    case NameRole:
        return node->name;
    case PathRole: {
        QStringList path;
        for (const Node* n = node; n && n != m_root.get(); n = n->parent)
            path.prepend(n->name);
        return path;
    }
    case NodeTypeRole:
        return int(node->type);
    case TenantCountRole:
        return totals.tenants;
    case ServiceCountRole:
        return totals.services;
    case RootCountRole:
        return totals.roots;
    case SizeRole:
        return totals.size;
    }
    if (isRoot) {
        switch (role) {
        case KindRole:
            return node->root.kind;
        case TypeRole:
            return node->root.type;
        case LengthRole:
            return node->root.length;
        case VersionRole:
            return node->root.version;
        }
        return {};
    }
    switch (role) {
    case LimitRole:
        return totals.limit;
    case UsedRole:
        return totals.used;
    case FreeRole:
        return totals.free;
    case UsageRole:
        return usageOf(totals.used, totals.free);
    case LargestFreeRole:
        return totals.largestFree;
    case UsedBlocksRole:
        return totals.usedBlocks;
    case FreeBlocksRole:
        return totals.freeBlocks;
    }
    if (isService) {
        switch (role) {
        case FragmentationRole:
            return node->stats.fragmentation;
        case GenerationRole:
            return node->stats.generation;
        }
    }
    if (isBroker) {
        switch (role) {
        case UrlRole:
            return node->url;
        case BrokerVersionRole:
            return node->brokerVersion;
        case UptimeRole:
            return node->uptimeMs;
        case SessionCountRole:
            return node->sessionCount;
        }
    }
    return {};
}

QVariant HierarchyModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NameColumn:
        return tr("Name");
    case DetailColumn:
        return tr("Contents");
    case SizeColumn:
        return tr("Size");
    case UsedColumn:
        return tr("Used");
    case UsageColumn:
        return tr("Usage");
    case FragmentationColumn:
        return tr("Fragmentation");
    }
    return {};
}

QHash<int, QByteArray> HierarchyModel::roleNames() const
{
    return commy::monitor::roleNames({ NameRole, PathRole, NodeTypeRole, TenantCountRole, ServiceCountRole,
        RootCountRole, SizeRole, LimitRole, UsedRole, FreeRole, UsageRole, LargestFreeRole, FragmentationRole,
        UsedBlocksRole, FreeBlocksRole, GenerationRole, KindRole, TypeRole, LengthRole, VersionRole, UrlRole,
        BrokerVersionRole, UptimeRole, SessionCountRole });
}

HierarchyModel::Node* HierarchyModel::child(const Node* parent, const QString& name) const
{
    return parent->byName.find(name, hashName(name));
}

HierarchyModel::Node* HierarchyModel::nodeFor(const QModelIndex& index) const
{
    if (!index.isValid() || index.model() != this)
        return nullptr;
    return static_cast<Node*>(index.internalPointer());
}

QModelIndex HierarchyModel::indexFor(const Node* node, int column) const
{
    if (!node || node == m_root.get())
        return {};
    return createIndex(node->row, column, const_cast<Node*>(node));
}

// A subtree is built level by level (all its tenants, then all their services, then all the roots), so
// the nodes of one level are allocated together: a tick that updates every service then reads one
// compact range of memory instead of services strewn among four times as many roots.
std::unique_ptr<HierarchyModel::Node> HierarchyModel::build(const BrokerSnapshot& broker, Node* parent) const
{
    auto node = shallow(broker, parent);
    buildLevels(addChildren(*node, broker.tenants));
    node->totals = totalsOf(*node);
    return node;
}

std::unique_ptr<HierarchyModel::Node> HierarchyModel::build(const TenantSnapshot& tenant, Node* parent) const
{
    auto node = shallow(tenant, parent);
    buildLevels(Built<TenantSnapshot> { { node.get(), &tenant } });
    return node;
}

std::unique_ptr<HierarchyModel::Node> HierarchyModel::build(const ServiceSnapshot& service, Node* parent) const
{
    auto node = shallow(service, parent);
    buildLevels(Built<ServiceSnapshot> { { node.get(), &service } });
    return node;
}

std::unique_ptr<HierarchyModel::Node> HierarchyModel::build(const RootSnapshot& root, Node* parent) const
{
    return shallow(root, parent);
}

std::unique_ptr<HierarchyModel::Node> HierarchyModel::shallow(const BrokerSnapshot& broker, Node* parent)
{
    auto node = makeNode(NodeType::Broker, broker.id, parent);
    node->url = broker.url;
    node->brokerVersion = broker.version;
    node->uptimeMs = broker.uptimeMs;
    node->sessionCount = broker.sessionCount;
    return node;
}

std::unique_ptr<HierarchyModel::Node> HierarchyModel::shallow(const TenantSnapshot& tenant, Node* parent)
{
    return makeNode(NodeType::Tenant, tenant.name, parent);
}

std::unique_ptr<HierarchyModel::Node> HierarchyModel::shallow(const ServiceSnapshot& service, Node* parent)
{
    auto node = makeNode(NodeType::Service, service.name, parent);
    node->stats = service.stats;
    return node;
}

std::unique_ptr<HierarchyModel::Node> HierarchyModel::shallow(const RootSnapshot& root, Node* parent)
{
    auto node = makeNode(NodeType::Root, root.name, parent);
    node->root = root;
    node->root.name.clear();
    node->totals = totalsOf(*node);
    return node;
}

std::unique_ptr<HierarchyModel::Node> HierarchyModel::makeNode(NodeType type, const QString& name, Node* parent)
{
    auto node = std::make_unique<Node>();
    node->type = type;
    node->parent = parent;
    // A copy of its own, allocated right after the node (rather than shared with the snapshot's string,
    // wherever that lives): looking a node up by name reads both.
    node->name = QString(name.constData(), name.size());
    node->nameHash = hashName(name);
    return node;
}

template <typename Item>
HierarchyModel::Built<Item> HierarchyModel::addChildren(Node& parent, const QList<Item>& items) const
{
    Built<Item> added;
    added.reserve(std::size_t(items.size()));
    parent.children.reserve(std::size_t(items.size()));
    for (const Item& item : items) {
        if (child(&parent, itemKey(item)))
            continue; // a duplicate name: the first one wins
        parent.children.push_back(shallow(item, &parent));
        Node* node = parent.children.back().get();
        parent.byName.insert(node);
        added.emplace_back(node, &item);
    }
    parent.renumber(0);
    return added;
}

void HierarchyModel::buildLevels(const Built<TenantSnapshot>& tenants) const
{
    Built<ServiceSnapshot> services;
    for (const auto& [node, tenant] : tenants) {
        const Built<ServiceSnapshot> added = addChildren(*node, tenant->services);
        services.insert(services.end(), added.begin(), added.end());
    }
    buildLevels(services);
    for (const auto& [node, tenant] : tenants)
        node->totals = totalsOf(*node);
}

void HierarchyModel::buildLevels(const Built<ServiceSnapshot>& services) const
{
    for (const auto& [node, service] : services)
        addChildren(*node, service->roots);
    for (const auto& [node, service] : services)
        node->totals = totalsOf(*node);
}

bool HierarchyModel::update(Node& node, const BrokerSnapshot& broker)
{
    Sync<TenantSnapshot> sync { this, &node };
    syncRows(node.children, broker.tenants, sync);
    const Totals totals = totalsOf(node);
    const bool changed = totals != node.totals || node.url != broker.url || node.brokerVersion != broker.version
        || node.uptimeMs != broker.uptimeMs || node.sessionCount != broker.sessionCount;
    node.totals = totals;
    node.url = broker.url;
    node.brokerVersion = broker.version;
    node.uptimeMs = broker.uptimeMs;
    node.sessionCount = broker.sessionCount;
    return changed;
}

bool HierarchyModel::update(Node& node, const TenantSnapshot& tenant)
{
    Sync<ServiceSnapshot> sync { this, &node };
    syncRows(node.children, tenant.services, sync);
    const Totals totals = totalsOf(node);
    const bool changed = totals != node.totals;
    node.totals = totals;
    return changed;
}

bool HierarchyModel::update(Node& node, const ServiceSnapshot& service)
{
    Sync<RootSnapshot> sync { this, &node };
    syncRows(node.children, service.roots, sync);
    const bool statsChanged = node.stats != service.stats;
    node.stats = service.stats;
    const Totals totals = totalsOf(node);
    const bool changed = statsChanged || totals != node.totals;
    node.totals = totals;
    return changed;
}

bool HierarchyModel::update(Node& node, const RootSnapshot& root)
{
    RootSnapshot& mine = node.root;
    // Field by field, numbers first: no copies of the strings (their reference counts are atomic).
    if (mine.version == root.version && mine.size == root.size && mine.length == root.length && mine.kind == root.kind
        && mine.type == root.type)
        return false;
    mine.version = root.version;
    mine.size = root.size;
    mine.length = root.length;
    mine.kind = root.kind;
    mine.type = root.type;
    node.totals = totalsOf(node);
    return true;
}

HierarchyModel::Totals HierarchyModel::totalsOf(const Node& node)
{
    Totals totals;
    switch (node.type) {
    case NodeType::Root:
        totals.size = node.root.size;
        return totals;
    case NodeType::Service:
        totals.size = node.stats.size;
        totals.limit = node.stats.limit;
        totals.used = node.stats.used;
        totals.free = node.stats.free;
        totals.largestFree = node.stats.largestFree;
        totals.usedBlocks = node.stats.usedBlocks;
        totals.freeBlocks = node.stats.freeBlocks;
        totals.roots = int(node.children.size());
        return totals;
    case NodeType::Tenant:
    case NodeType::Broker:
        for (const auto& child : node.children) {
            const Totals& c = child->totals;
            totals.size += c.size;
            totals.limit += c.limit;
            totals.used += c.used;
            totals.free += c.free;
            totals.largestFree = std::max(totals.largestFree, c.largestFree);
            totals.usedBlocks += c.usedBlocks;
            totals.freeBlocks += c.freeBlocks;
            totals.tenants += c.tenants;
            totals.services += c.services;
            totals.roots += c.roots;
        }
        if (node.type == NodeType::Tenant)
            totals.services = int(node.children.size());
        else
            totals.tenants = int(node.children.size());
        return totals;
    }
    return totals;
}

void HierarchyModel::refreshUpwards(Node* node)
{
    for (; node && node != m_root.get(); node = node->parent) {
        const Totals totals = totalsOf(*node);
        if (totals == node->totals)
            return;
        node->totals = totals;
        emitRowsChanged(node->parent, node->row, node->row, kTotalsRoles);
    }
}

void HierarchyModel::emitRowsChanged(const Node* parent, int first, int last, const QList<int>& roles)
{
    const QModelIndex parentIndex = indexFor(parent);
    emit dataChanged(index(first, 0, parentIndex), index(last, ColumnCount - 1, parentIndex), roles);
}

} // namespace commy::monitor
