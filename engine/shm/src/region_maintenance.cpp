// Online resize, shrink and cleanup of what dead processes left behind.

#include "region_impl.h"

#include "journal.h"
#include "process_table.h"

namespace commy::shm {

using namespace format;

RegionExpected<void> Region::resizeFile(std::uint64_t requested)
{
    const std::uint64_t newSize = roundUpToPage(requested);
    if (newSize > kSizeMask / 2)
        return unexpected(RegionError::InvalidArgument);
    RegionImpl& impl = *m_impl;
    {
        LockedRegion locked(impl);
        if (!locked.ok())
            return unexpected(locked.error());
        RegionHeader& h = impl.view.header();
        if (h.resize.inProgress != 0 && !impl.finishAbandonedResize(std::chrono::milliseconds(5000)))
            return unexpected(RegionError::ResizeInProgress);
        if (h.geometry.limit != 0 && newSize > h.geometry.limit)
            return unexpected(RegionError::LimitExceeded);
        if (newSize < h.geometry.fileSize)
            return unexpected(RegionError::InvalidArgument); // shrinking is shrinkToUsage(): it never cuts live data
        if (newSize == h.geometry.fileSize)
            return {};

        const std::uint64_t pid = platform::currentPid();
        Transaction record(impl.view);
        record.set(h.resize.ownerPid, pid);
        record.set(h.resize.ownerStartTime, platform::processStartTime(pid));
        record.set(h.resize.startedAtNs, platform::wallClockNs());
        record.set(h.resize.oldSize, h.geometry.fileSize);
        record.set(h.resize.targetSize, newSize);
        record.set(h.resize.inProgress, 1);
        record.commit();

        if (auto resized = impl.file.resize(newSize); !resized) {
            Transaction abort(impl.view);
            abort.set(h.resize.inProgress, 0);
            abort.commit();
            return unexpected(resized.error());
        }
        Transaction txn(impl.view);
        txn.set(h.geometry.fileSize, newSize);
        txn.set(h.geometry.generation, h.geometry.generation + 1);
        txn.commit();
        ++h.stats.grows;
    }
    // The next acquire() remaps if our mapping is too short and adopts the new space into the arena.
    LockedRegion locked(impl);
    if (!locked.ok())
        return unexpected(locked.error());
    Transaction done(impl.view);
    done.set(impl.view.header().resize.inProgress, 0);
    done.commit();
    return {};
}

RegionExpected<std::uint64_t> Region::shrinkToUsage()
{
    RegionImpl& impl = *m_impl;
    LockedRegion locked(impl);
    if (!locked.ok())
        return unexpected(locked.error());
    impl.flushCacheLocked(); // stashed blocks at the end would keep the tail from shrinking
    const RegionView& view = impl.view;
    RegionHeader& h = view.header();
    if (h.resize.inProgress != 0 && !impl.finishAbandonedResize(std::chrono::milliseconds(5000)))
        return unexpected(RegionError::ResizeInProgress);
    Transaction txn(view);
    auto newEnd = Allocator(view).trimTail(txn);
    if (!newEnd) {
        (void)finish(view, txn, newEnd);
        return newEnd;
    }
    if (*newEnd >= h.geometry.fileSize) {
        txn.commit();
        return h.geometry.fileSize;
    }
    txn.set(h.geometry.fileSize, *newEnd);
    txn.set(h.geometry.generation, h.geometry.generation + 1);
    txn.commit();
    // Cutting the file after the header says so: a crash in between leaves a file longer than its
    // header, which is harmless.
    (void)impl.file.resize(*newEnd);
    ++h.stats.shrinks;
    return *newEnd;
}

RegionExpected<bool> Region::checkOperationTimeout(std::chrono::milliseconds timeout)
{
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    const ResizeRecord& r = m_impl->view.header().resize;
    if (r.inProgress == 0)
        return false;
    const std::uint64_t now = platform::wallClockNs();
    const bool timedOut = now > r.startedAtNs
        && now - r.startedAtNs > static_cast<std::uint64_t>(std::chrono::nanoseconds(timeout).count());
    return timedOut || platform::processGone(r.ownerPid, r.ownerStartTime);
}

RegionExpected<bool> Region::cleanupFailedResize(std::chrono::milliseconds timeout)
{
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    return m_impl->finishAbandonedResize(timeout);
}

RegionExpected<CleanupReport> Region::cleanup()
{
    RegionImpl& impl = *m_impl;
    LockedRegion locked(impl);
    if (!locked.ok())
        return unexpected(locked.error());
    const RegionView& view = impl.view;
    CleanupReport report;
    report.lockRecovered = locked.recovered();
    report.resizeAborted = impl.finishAbandonedResize(std::chrono::milliseconds(5000));
    for (std::uint32_t i = 0; i < kMaxProcesses; ++i) {
        if (!process_table::isDead(view, i))
            continue;
        const ProcessInfo info = process_table::describe(view, i, std::chrono::milliseconds(0));
        const std::uint64_t blocksBefore = view.header().stats.reclaimedBlocks;
        auto bytes = impl.retireSlot(i);
        if (!bytes)
            return unexpected(bytes.error());
        report.reclaimedBytes += *bytes;
        report.reclaimedBlocks += view.header().stats.reclaimedBlocks - blocksBefore;
        report.freedSlots.push_back({ i, info.pid, info.name });
    }
    ++view.header().stats.cleanups;
    return report;
}

} // namespace commy::shm
