// The lock / remap protocol every Region call follows, and the repairs done under the lock.

#include "region_impl.h"

#include "journal.h"
#include "process_table.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace commy::shm {

using namespace format;

RegionExpected<void> RegionImpl::remap(std::uint64_t fileSize)
{
    // Read the limit from the old mapping before it goes away.
    const std::uint64_t length = mappingLength(fileSize, view.header().geometry.limit);
    std::lock_guard guard(mappingMutex);
    auto fresh = platform::Mapping::map(file, length);
    if (!fresh)
        return unexpected(fresh.error());
    retiredMappings.push_back(std::move(mapping));
    mapping = std::move(*fresh);
    view = { mapping.base(), mapping.length() };
    lock.rebind(view.header().lock.mutexStorage);
    return {};
}

RegionExpected<bool> RegionImpl::acquire()
{
    // The clock is read only once a wait has timed out: an uncontended lock costs tens of
    // nanoseconds, a clock read a good part of that.
    std::optional<std::chrono::steady_clock::time_point> deadline;
    const auto patience = std::min<std::chrono::milliseconds>(lockTimeout, std::chrono::milliseconds(500));
    for (;;) {
        auto acquired = lock.lockFor(patience);
        if (!acquired)
            return unexpected(acquired.error());
        if (*acquired == platform::RegionLock::Acquired::TimedOut) {
            if (renewVanishedLock())
                continue;
            const auto now = std::chrono::steady_clock::now();
            if (!deadline)
                deadline = now + (lockTimeout - patience);
            if (now >= *deadline)
                return unexpected(RegionError::LockTimeout);
            continue;
        }
        RegionHeader& h = view.header();
        // A holder that died mid-mutation left its journal behind; so did one whose lock had to be
        // renewed. Either way the journal is rolled back before anyone reads the structures.
        const bool ownerDied = *acquired == platform::RegionLock::Acquired::PreviousOwnerDied;
        const bool recovered = ownerDied || h.journal.count != 0;
        if (recovered) {
            rollbackJournal(view);
            (void)Allocator(view).rebuildDerivedState();
            ++h.stats.lockRecoveries;
        }
        if (ownerDied)
            lock.markConsistent();
        h.lock.holderPid = platform::currentPid();
        h.stats.allocations += std::exchange(unreportedAllocations, 0);
        h.stats.deallocations += std::exchange(unreportedDeallocations, 0);

        const std::uint64_t fileSize = h.geometry.fileSize;
        if (fileSize > mapping.length()) {
            // Another process grew the file past our mapping: remap outside the lock, since a
            // robust mutex must not move while it is held.
            release();
            if (auto remapped = remap(fileSize); !remapped)
                return unexpected(remapped.error());
            continue;
        }
        if (h.geometry.arenaEnd > fileSize || h.geometry.arenaEnd < kMinRegionBytes) {
            release();
            return unexpected(RegionError::Corrupt);
        }
        const std::uint64_t usable = fileSize / kGranule * kGranule;
        if (usable >= h.geometry.arenaEnd + kMinBlockBytes) {
            // The file grew (by us or someone who has not finished): give the new space to the arena.
            Transaction txn(view);
            if (!finish(view, txn, Allocator(view).extend(usable, txn))) {
                release();
                return unexpected(RegionError::Corrupt);
            }
        }
        return recovered;
    }
}

bool RegionImpl::renewVanishedLock()
{
    // Only a damaged file gets here: the kernel releases the lock of every holder that dies. The
    // file lock makes one process renew it; the others see a live holder (the renewer) and wait.
    if (!lock.holderVanished())
        return false;
    file.lockExclusive();
    const bool renew = lock.holderVanished();
    if (renew)
        (void)platform::RegionLock::initialize(view.header().lock.mutexStorage);
    file.unlockExclusive();
    return renew;
}

void RegionImpl::release()
{
    view.header().lock.holderPid = 0;
    lock.unlock();
}

RegionExpected<void> RegionImpl::growLocked(std::uint64_t atLeast)
{
    RegionHeader& h = view.header();
    const std::uint64_t current = h.geometry.fileSize;
    const std::uint64_t limit = h.geometry.limit;
    std::uint64_t target = roundUpToPage(current + std::max(atLeast, h.geometry.growStep));
    if (limit != 0)
        target = std::min(target, limit);
    if (target < current + atLeast || target <= current)
        return unexpected(RegionError::LimitExceeded);
    if (auto resized = file.resize(target); !resized)
        return unexpected(resized.error());
    Transaction txn(view);
    txn.set(h.geometry.fileSize, target);
    txn.set(h.geometry.generation, h.geometry.generation + 1);
    txn.commit();
    ++h.stats.grows;
    return {};
}

RegionExpected<std::uint64_t> RegionImpl::reclaimBlocksOf(std::uint32_t deadSlot)
{
    Allocator allocator(view);
    std::vector<BlockInfo> owned;
    auto walked = allocator.walk([&](const BlockInfo& b) {
        if (!b.free && b.ownerSlot == deadSlot)
            owned.push_back(b);
    });
    if (!walked)
        return unexpected(RegionError::Corrupt);
    std::uint64_t bytes = 0;
    for (const BlockInfo& b : owned) {
        Transaction txn(view);
        if (!finish(view, txn, allocator.deallocate(b.offset + kBlockHeaderBytes, txn)))
            return unexpected(RegionError::Corrupt);
        bytes += b.size;
        ++view.header().stats.reclaimedBlocks;
        view.header().stats.reclaimedBytes += b.size;
    }
    return bytes;
}

RegionExpected<std::uint64_t> RegionImpl::retireSlot(std::uint32_t retired)
{
    auto bytes = reclaimBlocksOf(retired);
    if (bytes) {
        Transaction txn(view);
        process_table::release(view, retired, txn);
        txn.commit();
    }
    return bytes;
}

void RegionImpl::flushCacheLocked()
{
    Allocator allocator(view);
    for (const std::uint64_t offset : cache.takeAll()) {
        Transaction txn(view);
        // Counted as a deallocation when it was stashed. A block that no longer validates was
        // damaged by someone else; the block walk reports it.
        (void)finish(view, txn, allocator.deallocate(offset, txn));
    }
}

bool RegionImpl::finishAbandonedResize(std::chrono::milliseconds timeout)
{
    RegionHeader& h = view.header();
    ResizeRecord& r = h.resize;
    if (r.inProgress == 0)
        return false;
    const bool ownerGone = platform::processGone(r.ownerPid, r.ownerStartTime);
    const std::uint64_t now = platform::wallClockNs();
    const bool timedOut = now > r.startedAtNs
        && now - r.startedAtNs > static_cast<std::uint64_t>(std::chrono::nanoseconds(timeout).count());
    if (!ownerGone && !timedOut)
        return false;
    // The header's fileSize is only changed after the file has its new size, so the header is the
    // truth: cut back a file that was extended but never recorded, keep one that was.
    if (auto actual = file.size(); actual && *actual > h.geometry.fileSize)
        (void)file.resize(h.geometry.fileSize);
    Transaction txn(view);
    txn.set(r.inProgress, 0);
    txn.commit();
    return true;
}

} // namespace commy::shm
