// Operations on a service's region: resize, shrink, cleanup. Each is written to the audit log with
// what it did, and the store's recorded size follows the file.

#include "broker_impl.h"

#include <commy/shm/region.h>
#include <commy/shm/region_format.h>

#include <algorithm>

namespace commy::broker {

using protocol::ErrorCode;

namespace {

QString serviceLabel(const ServiceKey& key) { return QStringLiteral("service '%1'").arg(key.text()); }

qint64 wire(std::uint64_t value) { return qint64(std::min<std::uint64_t>(value, protocol::kMaxWireInteger)); }

// The smallest file that keeps every used block: the end of the last one, plus the arena's closing
// block header. A region can never be smaller than that.
BrokerExpected<qint64> bytesInUse(shm::Region& region, const ServiceKey& key)
{
    auto blocks = region.blocks();
    if (!blocks)
        return regionFailure(blocks.error(), serviceLabel(key));
    std::uint64_t end = blocks->empty() ? 0 : blocks->front().offset;
    for (const shm::BlockInfo& block : *blocks) {
        if (!block.free)
            end = std::max(end, block.offset + block.size);
    }
    return wire(end + shm::format::kBlockHeaderBytes);
}

} // namespace

void Broker::Impl::recordSize(const ServiceKey& key, shm::Region& region)
{
    // The region file is the truth; the row only remembers it (a failure here loses nothing).
    (void)store->updateServiceSize(key.tenant, key.service, wire(region.size()));
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::ResizeRegion& m)
{
    const ServiceKey key { m.tenant, m.service };
    auto found = serviceRegion(key);
    if (!found)
        return unexpected(found.error());
    shm::Region& region = **found;
    const qint64 before = wire(region.size());
    const qint64 limit = wire(region.limit());
    if (limit > 0 && m.size > limit)
        return fail(ErrorCode::InvalidRequest,
            QStringLiteral("size %1 is above the limit of %2 bytes of %3")
                .arg(m.size)
                .arg(limit)
                .arg(serviceLabel(key)));

    if (m.size >= before) {
        if (auto grown = region.resizeFile(std::uint64_t(m.size)); !grown)
            return regionFailure(grown.error(), serviceLabel(key));
    } else {
        auto inUse = bytesInUse(region, key);
        if (!inUse)
            return unexpected(inUse.error());
        if (m.size < *inUse)
            return fail(ErrorCode::InvalidRequest,
                QStringLiteral("size %1 is below the %2 bytes in use in %3 (up to the end of its last used block)")
                    .arg(m.size)
                    .arg(*inUse)
                    .arg(serviceLabel(key)));
        // The engine shrinks only by trimming free space at the end: trim all of it, then grow back
        // to the size asked for when the trim went further.
        auto shrunk = region.shrinkToUsage();
        if (!shrunk)
            return regionFailure(shrunk.error(), serviceLabel(key));
        if (qint64(*shrunk) < m.size) {
            if (auto grown = region.resizeFile(std::uint64_t(m.size)); !grown) {
                recordSize(key, region);
                return regionFailure(grown.error(), serviceLabel(key));
            }
        }
    }
    recordSize(key, region);
    const qint64 after = wire(region.size());
    audit(session, m.tenant, QStringLiteral("ResizeRegion"), key.text(),
        QStringLiteral("size %1 -> %2 (asked %3)").arg(before).arg(after).arg(m.size));
    return protocol::RegionSizeResult { after };
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::ShrinkRegion& m)
{
    const ServiceKey key { m.tenant, m.service };
    auto found = serviceRegion(key);
    if (!found)
        return unexpected(found.error());
    shm::Region& region = **found;
    const qint64 before = wire(region.size());
    auto shrunk = region.shrinkToUsage();
    if (!shrunk)
        return regionFailure(shrunk.error(), serviceLabel(key));
    recordSize(key, region);
    audit(session, m.tenant, QStringLiteral("ShrinkRegion"), key.text(),
        QStringLiteral("size %1 -> %2").arg(before).arg(wire(*shrunk)));
    return protocol::RegionSizeResult { wire(*shrunk) };
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::CleanupRegion& m)
{
    const ServiceKey key { m.tenant, m.service };
    auto found = serviceRegion(key);
    if (!found)
        return unexpected(found.error());
    shm::Region& region = **found;
    auto report = region.cleanup();
    if (!report)
        return regionFailure(report.error(), serviceLabel(key));
    recordSize(key, region); // finishing a resize a dead process left behind may change the size
    protocol::CleanupResult result;
    QStringList freed;
    for (const shm::CleanupReport::FreedSlot& slot : report->freedSlots) {
        result.freedSlots.push_back({ qint64(slot.slot), wire(slot.pid), QString::fromStdString(slot.name) });
        freed.append(QStringLiteral("%1 (pid %2, %3)").arg(slot.slot).arg(slot.pid).arg(result.freedSlots.back().name));
    }
    result.reclaimedBlocks = wire(report->reclaimedBlocks);
    result.reclaimedBytes = wire(report->reclaimedBytes);
    result.lockRecovered = report->lockRecovered;
    result.resizeAborted = report->resizeAborted;
    audit(session, m.tenant, QStringLiteral("CleanupRegion"), key.text(),
        QStringLiteral("freed slots [%1], reclaimed %2 blocks / %3 bytes%4%5")
            .arg(freed.join(QStringLiteral(", ")))
            .arg(result.reclaimedBlocks)
            .arg(result.reclaimedBytes)
            .arg(result.lockRecovered ? QStringLiteral(", lock recovered") : QString())
            .arg(result.resizeAborted ? QStringLiteral(", resize aborted") : QString()));
    return result;
}

} // namespace commy::broker
