#include "region_report.h"

#include "console.h"

#include <QJsonArray>

#include <algorithm>
#include <chrono>

namespace {

using namespace commy::ctl;
namespace shm = commy::shm;

// JSON numbers are doubles: offsets and sizes above 2^53 would lose precision, but no region gets there.
QJsonValue jsonNumber(std::uint64_t value) { return QJsonValue(static_cast<double>(value)); }

double heartbeatAgeSeconds(const shm::ProcessInfo& process, std::uint64_t nowNs)
{
    if (nowNs <= process.lastHeartbeatNs)
        return 0.0;
    return static_cast<double>(nowNs - process.lastHeartbeatNs) / 1e9;
}

QString ownerText(std::uint32_t slot) { return slot == shm::kNoOwner ? QStringLiteral("-") : QString::number(slot); }

} // namespace

namespace commy::ctl {

std::uint64_t wallClockNs()
{
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
}

shm::RegionExpected<RegionSnapshot> takeSnapshot(shm::Region& region)
{
    RegionSnapshot snapshot;
    snapshot.path = QString::fromStdString(region.path());
    auto stats = region.stats();
    if (!stats)
        return unexpected(stats.error());
    snapshot.stats = *stats;
    auto roots = region.roots();
    if (!roots)
        return unexpected(roots.error());
    snapshot.roots = std::move(*roots);
    for (const shm::RootInfo& root : snapshot.roots) {
        if (root.kind == shm::RootKind::Bytes)
            continue;
        // A container this build cannot read, or one that is damaged, is listed without its length.
        if (auto reader = shm::ContainerReader::open(region, root.name)) {
            if (auto summary = reader->summary())
                snapshot.containers.emplace(root.name, std::move(*summary));
        }
    }
    auto processes = region.processes();
    if (!processes)
        return unexpected(processes.error());
    snapshot.processes = std::move(*processes);
    snapshot.takenAtNs = wallClockNs();
    return snapshot;
}

QJsonObject snapshotToJson(const RegionSnapshot& snapshot)
{
    const shm::AllocatorStats& s = snapshot.stats;
    QJsonObject allocator {
        { QStringLiteral("arenaBytes"), jsonNumber(s.arenaBytes) },
        { QStringLiteral("usedBytes"), jsonNumber(s.usedBytes) },
        { QStringLiteral("freeBytes"), jsonNumber(s.freeBytes) },
        { QStringLiteral("usedBlocks"), jsonNumber(s.usedBlocks) },
        { QStringLiteral("freeBlocks"), jsonNumber(s.freeBlocks) },
        { QStringLiteral("largestFreeBlock"), jsonNumber(s.largestFreeBlock) },
        { QStringLiteral("fragmentation"), s.fragmentation },
    };
    QJsonObject counters {
        { QStringLiteral("allocations"), jsonNumber(s.allocations) },
        { QStringLiteral("deallocations"), jsonNumber(s.deallocations) },
        { QStringLiteral("failedAllocations"), jsonNumber(s.failedAllocations) },
        { QStringLiteral("lockRecoveries"), jsonNumber(s.lockRecoveries) },
        { QStringLiteral("cleanups"), jsonNumber(s.cleanups) },
        { QStringLiteral("reclaimedBytes"), jsonNumber(s.reclaimedBytes) },
        { QStringLiteral("grows"), jsonNumber(s.grows) },
        { QStringLiteral("shrinks"), jsonNumber(s.shrinks) },
    };
    QJsonArray roots;
    for (const shm::RootInfo& root : snapshot.roots) {
        QJsonObject entry {
            { QStringLiteral("name"), QString::fromStdString(root.name) },
            { QStringLiteral("type"), QString::fromStdString(root.type) },
            { QStringLiteral("kind"), QLatin1String(shm::rootKindName(root.kind)) },
            { QStringLiteral("offset"), jsonNumber(root.offset) },
            { QStringLiteral("version"), jsonNumber(root.version) },
        };
        if (const auto container = snapshot.containers.find(root.name); container != snapshot.containers.end())
            entry.insert(QStringLiteral("length"), jsonNumber(container->second.length));
        roots.append(entry);
    }
    QJsonArray processes;
    for (const shm::ProcessInfo& process : snapshot.processes) {
        processes.append(QJsonObject {
            { QStringLiteral("slot"), jsonNumber(process.slot) },
            { QStringLiteral("pid"), jsonNumber(process.pid) },
            { QStringLiteral("name"), QString::fromStdString(process.name) },
            { QStringLiteral("liveness"), QLatin1String(shm::livenessName(process.liveness)) },
            { QStringLiteral("heartbeatAgeSeconds"), heartbeatAgeSeconds(process, snapshot.takenAtNs) },
            { QStringLiteral("attachedAtNs"), jsonNumber(process.attachedAtNs) },
        });
    }
    return QJsonObject {
        { QStringLiteral("path"), snapshot.path },
        { QStringLiteral("size"), jsonNumber(s.size) },
        { QStringLiteral("limit"), jsonNumber(s.limit) },
        { QStringLiteral("autoGrow"), s.autoGrow },
        { QStringLiteral("growStep"), jsonNumber(s.growStep) },
        { QStringLiteral("generation"), jsonNumber(s.generation) },
        { QStringLiteral("allocator"), allocator },
        { QStringLiteral("stats"), counters },
        { QStringLiteral("roots"), roots },
        { QStringLiteral("processes"), processes },
    };
}

QStringList snapshotToText(const RegionSnapshot& snapshot)
{
    const shm::AllocatorStats& s = snapshot.stats;
    QStringList lines;
    lines << QStringLiteral("region      %1").arg(snapshot.path);
    lines << QStringLiteral("size        %1 (%2 bytes)").arg(formatBytes(s.size)).arg(s.size);
    lines << QStringLiteral("limit       %1")
                 .arg(s.limit == 0 ? QStringLiteral("none")
                                   : QStringLiteral("%1 (%2 bytes)").arg(formatBytes(s.limit)).arg(s.limit));
    lines << QStringLiteral("auto-grow   %1")
                 .arg(s.autoGrow ? QStringLiteral("on, at least %1 per step").arg(formatBytes(s.growStep))
                                 : QStringLiteral("off"));
    lines << QStringLiteral("generation  %1").arg(s.generation);
    lines << QString();
    lines << QStringLiteral("allocator   arena %1").arg(formatBytes(s.arenaBytes));
    lines << QStringLiteral("  used      %1 in %2 blocks").arg(formatBytes(s.usedBytes)).arg(s.usedBlocks);
    lines << QStringLiteral("  free      %1 in %2 blocks").arg(formatBytes(s.freeBytes)).arg(s.freeBlocks);
    lines << QStringLiteral("  largest free block %1").arg(formatBytes(s.largestFreeBlock));
    lines << QStringLiteral("  fragmentation      %1").arg(s.fragmentation, 0, 'f', 3);
    lines << QString();
    lines << QStringLiteral("stats       allocations %1, deallocations %2, failed allocations %3")
                 .arg(s.allocations)
                 .arg(s.deallocations)
                 .arg(s.failedAllocations);
    lines << QStringLiteral("            lock recoveries %1, cleanups %2, reclaimed %3, grows %4, shrinks %5")
                 .arg(s.lockRecoveries)
                 .arg(s.cleanups)
                 .arg(formatBytes(s.reclaimedBytes))
                 .arg(s.grows)
                 .arg(s.shrinks);
    lines << QString();
    lines << QStringLiteral("roots (%1)").arg(snapshot.roots.size());
    for (const shm::RootInfo& root : snapshot.roots) {
        QString line = QStringLiteral("  %1  kind %2  type %3  offset %4  version %5")
                           .arg(QString::fromStdString(root.name), -24)
                           .arg(QLatin1String(shm::rootKindName(root.kind)))
                           .arg(QString::fromStdString(root.type))
                           .arg(formatHex(root.offset))
                           .arg(root.version);
        if (const auto container = snapshot.containers.find(root.name); container != snapshot.containers.end())
            line += QStringLiteral("  length %1").arg(container->second.length);
        lines << line;
    }
    lines << QString();
    lines << QStringLiteral("processes (%1)").arg(snapshot.processes.size());
    for (const shm::ProcessInfo& process : snapshot.processes) {
        lines << QStringLiteral("  slot %1  pid %2  %3  %4  heartbeat %5 s ago")
                     .arg(process.slot, 3)
                     .arg(process.pid, 7)
                     .arg(QLatin1String(shm::livenessName(process.liveness)), -5)
                     .arg(QString::fromStdString(process.name), -20)
                     .arg(heartbeatAgeSeconds(process, snapshot.takenAtNs), 0, 'f', 1);
    }
    return lines;
}

QJsonObject blocksToJson(const QString& path, const std::vector<shm::BlockInfo>& blocks)
{
    QJsonArray array;
    for (const shm::BlockInfo& block : blocks) {
        array.append(QJsonObject {
            { QStringLiteral("offset"), jsonNumber(block.offset) },
            { QStringLiteral("size"), jsonNumber(block.size) },
            { QStringLiteral("free"), block.free },
            { QStringLiteral("published"), block.published },
            { QStringLiteral("ownerSlot"),
                block.ownerSlot == shm::kNoOwner ? QJsonValue() : jsonNumber(block.ownerSlot) },
        });
    }
    return QJsonObject { { QStringLiteral("path"), path }, { QStringLiteral("blocks"), array } };
}

QStringList blocksToText(const std::vector<shm::BlockInfo>& blocks)
{
    QStringList lines;
    lines << QStringLiteral("%1  %2  %3  %4")
                 .arg(QStringLiteral("offset"), -12)
                 .arg(QStringLiteral("size"), 10)
                 .arg(QStringLiteral("state"), -9)
                 .arg(QStringLiteral("owner"));
    for (const shm::BlockInfo& block : blocks) {
        const QString state = block.free ? QStringLiteral("free")
            : block.published            ? QStringLiteral("published")
                                         : QStringLiteral("used");
        lines << QStringLiteral("%1  %2  %3  %4")
                     .arg(formatHex(block.offset), -12)
                     .arg(block.size, 10)
                     .arg(state, -9)
                     .arg(ownerText(block.ownerSlot));
    }
    lines << QStringLiteral("%1 blocks").arg(blocks.size());
    return lines;
}

QJsonObject cleanupToJson(const shm::CleanupReport& report)
{
    QJsonArray freed;
    for (const shm::CleanupReport::FreedSlot& slot : report.freedSlots) {
        freed.append(QJsonObject {
            { QStringLiteral("slot"), jsonNumber(slot.slot) },
            { QStringLiteral("pid"), jsonNumber(slot.pid) },
            { QStringLiteral("name"), QString::fromStdString(slot.name) },
        });
    }
    return QJsonObject {
        { QStringLiteral("freedSlots"), freed },
        { QStringLiteral("reclaimedBlocks"), jsonNumber(report.reclaimedBlocks) },
        { QStringLiteral("reclaimedBytes"), jsonNumber(report.reclaimedBytes) },
        { QStringLiteral("lockRecovered"), report.lockRecovered },
        { QStringLiteral("resizeAborted"), report.resizeAborted },
    };
}

QStringList cleanupToText(const shm::CleanupReport& report)
{
    QStringList lines;
    lines << QStringLiteral("freed slots       %1").arg(report.freedSlots.size());
    for (const shm::CleanupReport::FreedSlot& slot : report.freedSlots)
        lines << QStringLiteral("  slot %1  pid %2  %3")
                     .arg(slot.slot, 3)
                     .arg(slot.pid, 7)
                     .arg(QString::fromStdString(slot.name));
    lines << QStringLiteral("reclaimed blocks  %1").arg(report.reclaimedBlocks);
    lines << QStringLiteral("reclaimed bytes   %1 (%2)")
                 .arg(report.reclaimedBytes)
                 .arg(formatBytes(report.reclaimedBytes));
    lines << QStringLiteral("lock recovered    %1")
                 .arg(report.lockRecovered ? QStringLiteral("yes") : QStringLiteral("no"));
    lines << QStringLiteral("resize aborted    %1")
                 .arg(report.resizeAborted ? QStringLiteral("yes") : QStringLiteral("no"));
    return lines;
}

QStringList dumpToText(const shm::ContainerSummary& summary, const std::vector<shm::DecodedElement>& elements,
    std::uint64_t offset, std::uint64_t limit)
{
    QStringList lines;
    lines << QStringLiteral("root      %1").arg(QString::fromStdString(summary.name));
    lines << QStringLiteral("kind      %1").arg(QString::fromStdString(summary.kindName));
    lines << QStringLiteral("type      %1").arg(QString::fromStdString(summary.descriptor));
    lines << QStringLiteral("length    %1%2")
                 .arg(summary.length)
                 .arg(summary.kind == shm::RootKind::String ? QStringLiteral(" bytes") : QString());
    lines << QStringLiteral("version   %1").arg(summary.version);
    if (summary.recoveries > 0)
        lines << QStringLiteral("recovered %1 interrupted operations").arg(summary.recoveries);
    if (summary.lockHolderPid != 0)
        lines << QStringLiteral("locked by pid %1").arg(summary.lockHolderPid);
    const std::uint64_t end = offset >= summary.length ? offset : offset + std::min(limit, summary.length - offset);
    lines << QStringLiteral("showing   [%1, %2) of %3").arg(offset).arg(end).arg(summary.length);
    for (const shm::DecodedElement& element : elements) {
        lines << (element.hasKey
                ? QStringLiteral("%1  %2 -> %3")
                      .arg(element.index, 8)
                      .arg(QString::fromStdString(element.key), QString::fromStdString(element.value))
                : QStringLiteral("%1  %2").arg(element.index, 8).arg(QString::fromStdString(element.value)));
    }
    return lines;
}

} // namespace commy::ctl
