#pragma once

// Every custom role of the monitor's models, in one place, so a role name means the same thing in every
// view. Custom roles carry raw values (bytes as integers, fractions as 0..1, times as QDateTime, enums
// as int); only Qt::DisplayRole (and the proxies) format them for people. Role numbers are not an
// interface: QML addresses roles by the names roleName() gives.

#include <QByteArray>
#include <QHash>

#include <initializer_list>

namespace commy::monitor {

enum Role : int {
    // Shared by several models.
    NameRole = 0x0100 + 1, // Qt::UserRole + 1; QString
    PathRole, // QStringList: broker, tenant, service, root (as deep as the row)
    SizeRole, // quint64 bytes
    VersionRole, // quint64
    CountRole, // quint64

    // Hierarchy (HierarchyModel).
    NodeTypeRole, // int (NodeType)
    TenantCountRole, // int, below this row
    ServiceCountRole, // int, below this row
    RootCountRole, // int, below this row
    LimitRole, // quint64 bytes; summed over services for brokers and tenants, 0 = no limit
    UsedRole, // quint64 bytes
    FreeRole, // quint64 bytes
    UsageRole, // double 0..1, used / (used + free)
    LargestFreeRole, // quint64 bytes; the largest of its services for brokers and tenants
    FragmentationRole, // double 0..1 (services only)
    UsedBlocksRole, // quint64
    FreeBlocksRole, // quint64
    GenerationRole, // quint64 (services only)
    KindRole, // QString, roots only: "vec", "hashmap", ...
    TypeRole, // QString, roots only: the type descriptor
    LengthRole, // quint64, roots only
    UrlRole, // QString, brokers only
    BrokerVersionRole, // QString, brokers only
    UptimeRole, // qint64 ms, brokers only
    SessionCountRole, // int, brokers only

    // Processes (ProcessModel).
    SlotRole, // quint32
    PidRole, // qint64
    HeartbeatAgeRole, // qint64 ms
    LivenessRole, // int (Liveness)
    HeartbeatHistoryRole, // QList<qreal>: recent heartbeat ages in ms, oldest first

    // Sessions (SessionModel).
    PeerRole, // QString
    TenantsRole, // QStringList
    SubscriptionsRole, // int
    QueueBytesRole, // qint64

    // Events (EventModel).
    TimeRole, // QDateTime
    EventKindRole, // int (EventKind)
    SourceRole, // QString
    TextRole, // QString

    // Container elements (ContainerElementsModel).
    IndexRole, // quint64
    HasKeyRole, // bool
    KeyRole, // QString
    ValueRole, // QString
    StaleRole, // bool: the row was read at an older version of the root; a fresher read is on its way

    // Free-block histogram (FreeBlockHistogramModel).
    BucketLowRole, // quint64 bytes, inclusive
    BucketHighRole, // quint64 bytes, exclusive
    BytesRole, // quint64 bytes in the bucket's blocks
    FractionRole, // double 0..1 of all free bytes
};

// The QML name of a custom role ("name", "usage", ...); empty for a role that is not one of these.
QByteArray roleName(int role);

// Qt's default role names plus the named custom roles: what a model's roleNames() returns.
QHash<int, QByteArray> roleNames(std::initializer_list<int> roles);

} // namespace commy::monitor
