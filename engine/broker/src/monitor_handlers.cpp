// Monitoring: what the broker and its regions hold (GetBrokerInfo, GetTree, GetRegionStats,
// GetBlockMap, GetProcesses, GetSessions, BrowseRoot), and Watch with its periodic pushes. Everything
// is read from the regions at the moment of the request, never from a cache: the monitor shows what
// is there.

#include "broker_impl.h"
#include "permissions.h"

#include <commy/shm/container_reader.h>
#include <commy/shm/region.h>
#include <commy/shm/region_format.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>

#include <algorithm>
#include <chrono>

#ifndef COMMY_VERSION
#error "engine_broker is built with COMMY_VERSION (the project version)"
#endif

namespace commy::broker {

Q_DECLARE_LOGGING_CATEGORY(lcBroker)

using protocol::ErrorCode;

namespace {

constexpr Scopes kReadOrAdmin { Scope::Read, Scope::Admin };

// Region counters are unsigned 64-bit; the wire carries what a double holds exactly.
qint64 wire(std::uint64_t value) { return qint64(std::min<std::uint64_t>(value, protocol::kMaxWireInteger)); }

QString serviceLabel(const ServiceKey& key) { return QStringLiteral("service '%1'").arg(key.text()); }

std::optional<protocol::RootKind> wireKind(shm::RootKind kind)
{
    using shm::RootKind;
    switch (kind) {
    case RootKind::Bytes:
        return protocol::RootKind::Bytes;
    case RootKind::Vec:
        return protocol::RootKind::Vec;
    case RootKind::String:
        return protocol::RootKind::String;
    case RootKind::Box:
        return protocol::RootKind::Box;
    case RootKind::HashMap:
        return protocol::RootKind::HashMap;
    case RootKind::HashSet:
        return protocol::RootKind::HashSet;
    case RootKind::BTreeMap:
        return protocol::RootKind::BTreeMap;
    case RootKind::BTreeSet:
        return protocol::RootKind::BTreeSet;
    case RootKind::VecDeque:
        return protocol::RootKind::Deque;
    }
    return std::nullopt; // a value no build of the engine writes
}

protocol::Liveness wireLiveness(shm::Liveness liveness)
{
    switch (liveness) {
    case shm::Liveness::Alive:
        return protocol::Liveness::Alive;
    case shm::Liveness::Stale:
        return protocol::Liveness::Stale;
    case shm::Liveness::Dead:
        break;
    }
    return protocol::Liveness::Dead;
}

protocol::RegionStats wireStats(const shm::AllocatorStats& s)
{
    protocol::RegionStats stats;
    stats.size = wire(s.size);
    stats.limit = wire(s.limit);
    stats.used = wire(s.usedBytes);
    stats.free = wire(s.freeBytes);
    stats.largestFree = wire(s.largestFreeBlock);
    stats.fragmentation = std::clamp(s.fragmentation, 0.0, 1.0);
    stats.usedBlocks = wire(s.usedBlocks);
    stats.freeBlocks = wire(s.freeBlocks);
    stats.generation = wire(s.generation);
    stats.grows = wire(s.grows);
    stats.shrinks = wire(s.shrinks);
    stats.lockRecoveries = wire(s.lockRecoveries);
    stats.cleanups = wire(s.cleanups);
    return stats;
}

qint64 heartbeatAgeMs(const shm::ProcessInfo& process)
{
    // Heartbeats are wall-clock stamps written by other processes: compare with the wall clock.
    const auto nowNs
        = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count();
    const qint64 ageNs = qint64(nowNs) - qint64(process.lastHeartbeatNs);
    return std::max<qint64>(0, ageNs / 1'000'000);
}

// Bytes of a plain root's block: its payload, from the block walk (sorted by offset).
qint64 payloadBytes(const std::vector<shm::BlockInfo>& blocks, std::uint64_t payloadOffset)
{
    const std::uint64_t header = payloadOffset - shm::format::kBlockHeaderBytes;
    const auto it = std::lower_bound(blocks.begin(), blocks.end(), header,
        [](const shm::BlockInfo& block, std::uint64_t offset) { return block.offset < offset; });
    if (it == blocks.end() || it->offset != header || it->free)
        return 0;
    return wire(it->size - shm::format::kBlockHeaderBytes);
}

std::map<std::uint32_t, WatchedProcess> processSnapshot(const std::vector<shm::ProcessInfo>& processes)
{
    std::map<std::uint32_t, WatchedProcess> snapshot;
    for (const shm::ProcessInfo& process : processes)
        snapshot[process.slot]
            = { process.pid, process.startTime, QString::fromStdString(process.name), wireLiveness(process.liveness) };
    return snapshot;
}

std::set<std::pair<std::string, std::uint64_t>> rootSnapshot(const std::vector<shm::RootInfo>& roots)
{
    std::set<std::pair<std::string, std::uint64_t>> snapshot;
    for (const shm::RootInfo& root : roots)
        snapshot.emplace(root.name, root.offset);
    return snapshot;
}

QString describePeer(const PeerInfo& peer)
{
    return peer.address.protocol() == QAbstractSocket::IPv6Protocol
        ? QStringLiteral("[%1]:%2").arg(peer.address.toString()).arg(peer.port)
        : QStringLiteral("%1:%2").arg(peer.address.toString()).arg(peer.port);
}

} // namespace

BrokerExpected<shm::Region*> Broker::Impl::serviceRegion(const ServiceKey& key)
{
    // The database is the authority on which services exist; the file follows it.
    if (auto found = requireService(key); !found)
        return unexpected(found.error());
    return regions.region(key);
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::GetBrokerInfo&)
{
    auto tenants = store->listTenants();
    if (!tenants)
        return storeFailure(tenants.error(), QStringLiteral("tenants"));
    const BrokerCounters counts = self->counters();
    return protocol::BrokerInfoResult { QStringLiteral(COMMY_VERSION), started.elapsed(), counts.sessions,
        qint64(tenants->size()), counts.subscriptions };
}

BrokerExpected<protocol::ServiceTree> Broker::Impl::serviceTree(const ServiceKey& key)
{
    auto region = regions.region(key);
    if (!region)
        return unexpected(region.error());
    shm::Region& r = **region;
    auto stats = r.stats();
    if (!stats)
        return regionFailure(stats.error(), serviceLabel(key));
    auto roots = r.roots();
    if (!roots)
        return regionFailure(roots.error(), serviceLabel(key));

    protocol::ServiceTree tree { key.service, wire(stats->size), wire(stats->limit), wire(stats->usedBytes), {} };
    std::optional<std::vector<shm::BlockInfo>> blocks; // walked once, and only for plain roots
    for (const shm::RootInfo& root : *roots) {
        const auto kind = wireKind(root.kind);
        if (!kind) {
            qCWarning(lcBroker) << "region of" << key.text() << "has root" << root.name.c_str() << "of unknown kind"
                                << unsigned(root.kind);
            continue;
        }
        qint64 size = 0;
        if (root.kind == shm::RootKind::Bytes) {
            if (!blocks) {
                auto walked = r.blocks();
                if (!walked)
                    return regionFailure(walked.error(), serviceLabel(key));
                blocks = std::move(*walked);
            }
            size = payloadBytes(*blocks, root.offset);
        } else if (auto reader = shm::ContainerReader::open(r, root.name)) {
            if (auto summary = reader->summary())
                size = wire(summary->length);
        }
        // A container that cannot be read (destroyed meanwhile, damaged) still shows, with size 0:
        // BrowseRoot reports why.
        tree.roots.push_back(
            { QString::fromStdString(root.name), *kind, QString::fromStdString(root.type), size, wire(root.version) });
    }
    std::sort(tree.roots.begin(), tree.roots.end(),
        [](const protocol::RootSummary& a, const protocol::RootSummary& b) { return a.name < b.name; });
    return tree;
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::GetTree& m)
{
    QList<TenantInfo> tenants;
    if (m.tenant) {
        auto exists = store->tenantExists(*m.tenant);
        if (!exists)
            return storeFailure(exists.error(), QStringLiteral("tenant '%1'").arg(*m.tenant));
        if (!*exists)
            return fail(ErrorCode::NotFound, QStringLiteral("tenant '%1' not found").arg(*m.tenant));
        tenants.append({ *m.tenant, 0 });
    } else {
        auto all = store->listTenants();
        if (!all)
            return storeFailure(all.error(), QStringLiteral("tenants"));
        tenants = *all;
    }
    protocol::TreeResult result;
    for (const TenantInfo& tenant : tenants) {
        auto services = store->listServices(tenant.name);
        if (!services)
            return storeFailure(services.error(), QStringLiteral("tenant '%1'").arg(tenant.name));
        protocol::TenantTree node { tenant.name, {} };
        for (const ServiceInfo& service : *services) {
            auto tree = serviceTree({ tenant.name, service.name });
            if (!tree)
                return unexpected(tree.error());
            node.services.push_back(std::move(*tree));
        }
        result.tenants.push_back(std::move(node));
    }
    return result;
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::GetRegionStats& m)
{
    const ServiceKey key { m.tenant, m.service };
    auto region = serviceRegion(key);
    if (!region)
        return unexpected(region.error());
    auto stats = (*region)->stats();
    if (!stats)
        return regionFailure(stats.error(), serviceLabel(key));
    return wireStats(*stats);
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::GetBlockMap& m)
{
    const ServiceKey key { m.tenant, m.service };
    auto region = serviceRegion(key);
    if (!region)
        return unexpected(region.error());
    auto blocks = (*region)->blocks();
    if (!blocks)
        return regionFailure(blocks.error(), serviceLabel(key));
    const std::size_t total = blocks->size();
    const std::size_t first = std::min<std::size_t>(std::size_t(m.offset.value_or(0)), total);
    const std::size_t last
        = std::min<std::size_t>(first + std::size_t(m.limit.value_or(protocol::kDefaultBlockMapLimit)), total);
    protocol::BlockMapResult result;
    result.total = qint64(total);
    result.blocks.reserve(last - first);
    for (std::size_t i = first; i < last; ++i) {
        const shm::BlockInfo& block = (*blocks)[i];
        result.blocks.push_back({ wire(block.offset), wire(block.size), block.free,
            block.ownerSlot == shm::kNoOwner ? -1 : qint64(block.ownerSlot) });
    }
    return result;
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::GetProcesses& m)
{
    const ServiceKey key { m.tenant, m.service };
    auto region = serviceRegion(key);
    if (!region)
        return unexpected(region.error());
    auto processes = (*region)->processes();
    if (!processes)
        return regionFailure(processes.error(), serviceLabel(key));
    protocol::ProcessesResult result;
    for (const shm::ProcessInfo& process : *processes)
        result.processes.push_back({ qint64(process.slot), wire(process.pid), QString::fromStdString(process.name),
            heartbeatAgeMs(process), wireLiveness(process.liveness) });
    return result;
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::GetSessions&)
{
    const qint64 time = now();
    protocol::SessionsResult result;
    for (const auto& [id, session] : sessions) {
        protocol::SessionEntry entry;
        entry.id = qint64(id);
        entry.peer = describePeer(session.peer);
        if (!session.clientName.isEmpty())
            entry.clientName = session.clientName;
        for (const auto& [owner, grant] : session.grants) {
            if (owner && grant.expiresAt > time)
                entry.tenants.push_back(*owner);
        }
        entry.subscriptions = qint64(session.subscriptions.size());
        entry.queueBytes = session.output ? session.output->queuedBytes() : 0;
        result.sessions.push_back(std::move(entry));
    }
    return result;
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::BrowseRoot& m)
{
    const ServiceKey key { m.tenant, m.service };
    auto region = serviceRegion(key);
    if (!region)
        return unexpected(region.error());
    const QString label = QStringLiteral("root '%1' of %2").arg(m.root, serviceLabel(key));
    auto reader = shm::ContainerReader::open(**region, m.root.toStdString());
    if (!reader) {
        // A name longer than a region can hold names no root there.
        if (reader.error() == shm::RegionError::NameTooLong)
            return fail(ErrorCode::NotFound, QStringLiteral("%1 not found").arg(label));
        if (reader.error() == shm::RegionError::TypeMismatch)
            return fail(ErrorCode::InvalidRequest,
                QStringLiteral("%1 is not a container (a plain block of bytes has no elements)").arg(label));
        return regionFailure(reader.error(), label);
    }
    auto json = reader->toJson(
        std::uint64_t(m.offset.value_or(0)), std::uint64_t(m.limit.value_or(protocol::kDefaultBrowseLimit)));
    if (!json)
        return regionFailure(json.error(), label);
    const QJsonObject read
        = QJsonDocument::fromJson(QByteArray::fromRawData(json->data(), qsizetype(json->size()))).object();

    protocol::BrowseResult result;
    const QString kindName = read.value(QStringLiteral("kind")).toString();
    for (int value = int(shm::RootKind::Bytes); value <= int(shm::RootKind::VecDeque); ++value) {
        const auto kind = shm::RootKind(value);
        if (kindName == QLatin1String(shm::rootKindName(kind)))
            result.kind = wireKind(kind).value_or(protocol::RootKind::Bytes);
    }
    result.type = read.value(QStringLiteral("descriptor")).toString();
    result.length = read.value(QStringLiteral("length")).toInteger();
    result.version = read.value(QStringLiteral("version")).toInteger();
    const QJsonArray elements = read.value(QStringLiteral("elements")).toArray();
    for (const QJsonValue& value : elements) {
        const QJsonObject element = value.toObject();
        protocol::BrowseElement item;
        item.index = element.value(QStringLiteral("index")).toInteger();
        if (element.contains(QStringLiteral("key")))
            item.key = element.value(QStringLiteral("key"));
        item.value = element.value(QStringLiteral("value"));
        result.elements.push_back(std::move(item));
    }
    return result;
}

// --- Watch -------------------------------------------------------------------------------------

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::Watch& m)
{
    if (m.targets.empty()) {
        session.watch.reset();
        scheduleMonitor();
        return protocol::EmptyResult {};
    }
    MonitorWatch next;
    next.intervalMs = m.intervalMs;
    std::set<ServiceKey> named;
    for (const protocol::WatchTarget& target : m.targets) {
        const ServiceKey key { target.tenant, target.service };
        if (!named.insert(key).second)
            continue;
        auto region = serviceRegion(key);
        if (!region)
            return unexpected(region.error());
        // Processes and roots as they are now: events report changes from here on. Stats have no
        // baseline, so the first tick pushes them all.
        WatchedService watched { key, std::nullopt, {}, {} };
        if (auto processes = (*region)->processes())
            watched.processes = processSnapshot(*processes);
        if (auto roots = (*region)->roots())
            watched.roots = rootSnapshot(*roots);
        next.targets.push_back(std::move(watched));
    }
    // The first tick runs as soon as the reply has gone out, so the client has current stats at once.
    next.dueMs = started.elapsed();
    session.watch = std::move(next);
    scheduleMonitor();
    return protocol::EmptyResult {};
}

void Broker::Impl::pushChanges(SessionState& session, WatchedService& target, shm::Region& region)
{
    const ServiceKey& key = target.key;
    if (auto stats = region.stats()) {
        const protocol::RegionStats current = wireStats(*stats);
        if (target.stats != current) {
            target.stats = current;
            session.output->sendReply(protocol::encodePush(protocol::StatsUpdate { key.tenant, key.service, current }));
        }
    }
    if (auto processes = region.processes()) {
        std::map<std::uint32_t, WatchedProcess> current = processSnapshot(*processes);
        const auto event = [&](std::uint32_t slot, const WatchedProcess& process, protocol::Liveness liveness) {
            session.output->sendReply(protocol::encodePush(protocol::ProcessEvent {
                key.tenant, key.service, qint64(slot), wire(process.pid), process.name, liveness }));
        };
        const auto same = [](const WatchedProcess& a, const WatchedProcess& b) {
            return a.pid == b.pid && a.startTime == b.startTime;
        };
        for (const auto& [slot, before] : target.processes) {
            const auto found = current.find(slot);
            if (found == current.end() || !same(found->second, before))
                event(slot, before, protocol::Liveness::Gone);
        }
        for (const auto& [slot, process] : current) {
            const auto before = target.processes.find(slot);
            if (before == target.processes.end() || !same(before->second, process)
                || before->second.liveness != process.liveness)
                event(slot, process, process.liveness);
        }
        target.processes = std::move(current);
    }
    if (auto roots = region.roots()) {
        auto current = rootSnapshot(*roots);
        if (current != target.roots) {
            target.roots = std::move(current);
            session.output->sendReply(protocol::encodePush(protocol::TreeChanged { key.tenant, key.service }));
        }
    }
}

void Broker::Impl::monitorTick()
{
    const qint64 tickMs = started.elapsed();
    const qint64 time = now();
    for (auto& [id, session] : sessions) {
        if (!session.watch || session.watch->dueMs > tickMs)
            continue;
        MonitorWatch& watching = *session.watch;
        watching.dueMs = tickMs + watching.intervalMs;
        for (auto it = watching.targets.begin(); it != watching.targets.end();) {
            // A watch lives as long as the grant it was made under, like a subscription: while the
            // grant is gone (expired, logged out) it pushes nothing.
            if (checkTenantScope(session, it->key.tenant, kReadOrAdmin, time)) {
                ++it;
                continue;
            }
            auto region = regions.region(it->key);
            if (!region) {
                it = watching.targets.erase(it); // the service is gone
                continue;
            }
            pushChanges(session, *it, **region);
            ++it;
        }
    }
    scheduleMonitor();
}

void Broker::Impl::scheduleMonitor()
{
    std::optional<qint64> due;
    for (const auto& [id, session] : sessions) {
        if (session.watch && !session.watch->targets.empty())
            due = std::min(due.value_or(session.watch->dueMs), session.watch->dueMs);
    }
    if (!due) {
        monitorTimer.stop();
        return;
    }
    monitorTimer.start(int(std::clamp<qint64>(*due - started.elapsed(), 0, protocol::kMaxWatchIntervalMs)));
}

void Broker::Impl::dropWatchTargets(const std::function<bool(const ServiceKey&)>& which)
{
    for (auto& [id, session] : sessions) {
        if (!session.watch)
            continue;
        auto& targets = session.watch->targets;
        targets.erase(std::remove_if(targets.begin(), targets.end(),
                          [&](const WatchedService& target) { return which(target.key); }),
            targets.end());
    }
}

} // namespace commy::broker
