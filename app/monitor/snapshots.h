#pragma once

// Plain values of what a broker reports to the monitor. The models are fed with these (whole snapshots
// or deltas) and never see a socket or a message; the controller that talks to a broker translates its
// replies and pushes into them.

#include <QDateTime>
#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QtQml/qqmlregistration.h>

namespace commy::monitor {
Q_NAMESPACE
QML_NAMED_ELEMENT(Monitor)

enum class NodeType { Broker, Tenant, Service, Root };
Q_ENUM_NS(NodeType)

// As the region reports a process: "dead" is the OS's verdict (pid gone or reused), "stale" only means
// its heartbeat is late.
enum class Liveness { Alive, Stale, Dead };
Q_ENUM_NS(Liveness)

enum class EventKind { Variable, Process, Operation, Connection, Error };
Q_ENUM_NS(EventKind)

// Lower-case names as they appear in exported files and filters ("alive", "process", ...).
QString livenessName(Liveness liveness);
QString eventKindName(EventKind kind);

inline constexpr quint32 kNoOwner = 0xffffffff; // BlockSnapshot::ownerSlot of free and published blocks

struct RootSnapshot {
    QString name;
    QString kind; // as the wire names it: "vec", "hashmap", "string", ...
    QString type; // the type descriptor, e.g. "vec<i64>"
    quint64 size = 0; // bytes of the root's storage
    quint64 length = 0; // elements; bytes for a string root
    quint64 version = 0;

    bool operator==(const RootSnapshot&) const = default;
};

struct RegionStats {
    quint64 size = 0; // file size
    quint64 limit = 0; // largest size the region may grow to; 0 = no limit
    quint64 used = 0; // bytes in used blocks, headers included
    quint64 free = 0; // bytes in free blocks, headers included
    quint64 largestFree = 0;
    double fragmentation = 0; // 1 - largest free / total free; 0 when nothing is free
    quint64 usedBlocks = 0;
    quint64 freeBlocks = 0;
    quint64 generation = 0; // bumped by every resize

    // Share of the allocator's arena in use (used / (used + free)); 0 for an empty arena.
    double usage() const { return used + free == 0 ? 0.0 : double(used) / double(used + free); }
    bool operator==(const RegionStats&) const = default;
};

struct ServiceSnapshot {
    QString name;
    RegionStats stats;
    QList<RootSnapshot> roots;
};

struct TenantSnapshot {
    QString name;
    QList<ServiceSnapshot> services;
};

struct BrokerSnapshot {
    QString id; // the connection's name in the monitor: identifies the broker's row
    QString url;
    QString version;
    qint64 uptimeMs = 0;
    int sessionCount = 0;
    QList<TenantSnapshot> tenants;
};

// One service's region stats, as a StatsUpdate push carries them.
struct ServiceStatsUpdate {
    QString tenant;
    QString service;
    RegionStats stats;
};

struct ProcessSnapshot {
    quint32 slot = 0;
    qint64 pid = 0;
    QString name;
    qint64 heartbeatAgeMs = 0;
    Liveness liveness = Liveness::Alive;

    bool operator==(const ProcessSnapshot&) const = default;
};

struct SessionSnapshot {
    QString peer; // "address:port" of the WebSocket client; unique per broker
    QStringList tenants;
    int subscriptions = 0;
    qint64 queueBytes = 0; // waiting in its outbound queue

    bool operator==(const SessionSnapshot&) const = default;
};

struct BlockSnapshot {
    quint64 offset = 0; // of the block header, in the region
    quint64 size = 0; // header included
    bool free = false;
    quint32 ownerSlot = kNoOwner; // the allocating process while the block is unpublished

    bool operator==(const BlockSnapshot&) const = default;
};

struct EventRecord {
    QDateTime time;
    EventKind kind = EventKind::Variable;
    QString source; // "broker/tenant/service[/root]" or a process
    QString text;

    bool operator==(const EventRecord&) const = default;
};

// One decoded element of a container root (BrowseRoot): keys and values as text.
struct ElementSnapshot {
    quint64 index = 0; // position in the container's order
    bool hasKey = false; // maps only
    QString key;
    QString value;

    bool operator==(const ElementSnapshot&) const = default;
};

// A page of elements as a fetch returns it. A failed fetch carries an error and no elements.
struct ElementPage {
    quint64 offset = 0; // index of elements.front()
    quint64 length = 0; // the container's element count when it was read
    quint64 version = 0; // the root's version when it was read
    QList<ElementSnapshot> elements;
    QString error;
};

} // namespace commy::monitor
