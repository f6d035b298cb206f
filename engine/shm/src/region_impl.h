#pragma once

// Internal: the state behind commy::shm::Region and the lock/remap protocol every call follows.

#include "allocator.h"
#include "journal.h"
#include "local_cache.h"
#include "platform/platform.h"
#include "region_view.h"

#include <commy/shm/region.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace commy::shm {

// How much of a file to map: the whole limit up front (or generous room when there is none), so
// that growing the file makes new pages usable in every process without a remap.
inline std::uint64_t mappingLength(std::uint64_t fileSize, std::uint64_t limit)
{
    constexpr std::uint64_t kRoomWithoutLimit = std::uint64_t { 1 } << 30;
    if (limit != 0)
        return limit > fileSize ? limit : fileSize;
    return fileSize * 2 > kRoomWithoutLimit ? fileSize * 2 : kRoomWithoutLimit;
}

inline std::uint64_t roundUpToPage(std::uint64_t bytes)
{
    return (bytes + format::kPageSize - 1) / format::kPageSize * format::kPageSize;
}

inline std::uint64_t relaxedLoad(std::uint64_t& word)
{
    return std::atomic_ref<std::uint64_t>(word).load(std::memory_order_relaxed);
}

// Ends a mutation: commits it, or undoes it if it failed after writing something, so an error never
// leaves a half-done step behind.
template <class T> T finish(const RegionView& view, Transaction& txn, T result)
{
    if (!result && txn.writes() > 0) {
        rollbackJournal(view);
        (void)Allocator(view).rebuildDerivedState();
    } else {
        txn.commit();
    }
    return result;
}

class RegionImpl {
public:
    std::string path;
    platform::File file;
    platform::Mapping mapping;
    // Earlier mappings stay mapped until the region is closed: a robust mutex held while the mapping
    // moved (a container lock) is still linked into the thread's robust list at its old address,
    // which must keep reaching the same file page.
    std::vector<platform::Mapping> retiredMappings;
    RegionView view;
    platform::RegionLock lock;
    bool autoGrow = false;
    std::chrono::milliseconds lockTimeout { 30000 };
    std::optional<std::uint32_t> slot;
    LocalCache cache;
    // Calls served by the local cache, added to the region's counters at the next lock.
    std::uint64_t unreportedAllocations = 0;
    std::uint64_t unreportedDeallocations = 0;

    // The heartbeat thread writes through the mapping; remapping takes this mutex to exclude it.
    std::mutex mappingMutex;
    std::thread heartbeatThread;
    std::mutex heartbeatMutex;
    std::condition_variable heartbeatWake;
    bool heartbeatStop = false;

    std::uint64_t ownerField() const { return slot ? *slot + 1 : format::kPublished; }
    RegionExpected<void> remap(std::uint64_t fileSize);

    // Takes the region lock. Repairs the region if the previous holder died, remaps if another
    // process grew the file, and adopts grown file space into the arena. Returns whether a repair
    // happened.
    RegionExpected<bool> acquire();
    void release();
    bool renewVanishedLock(); // true if it renewed the lock

    RegionExpected<void> growLocked(std::uint64_t atLeast);
    RegionExpected<std::uint64_t> reclaimBlocksOf(std::uint32_t slot);
    // Frees a slot's unpublished blocks, then the slot itself (kept if the blocks could not be
    // freed, so they stay attributed to it). Returns the bytes freed. The lock must be held.
    RegionExpected<std::uint64_t> retireSlot(std::uint32_t slot);
    // Gives the local cache's blocks back to the region; the lock must be held.
    void flushCacheLocked();
    // Allocates under the lock (flushing the cache and auto-growing when the arena is full), for
    // `owner`; `alsoInTransaction` runs inside the allocating transaction with the new offset.
    template <class Also>
    RegionExpected<std::uint64_t> allocateLocked(
        std::uint64_t bytes, std::uint64_t alignment, std::uint64_t owner, Also&& alsoInTransaction);
    bool finishAbandonedResize(std::chrono::milliseconds timeout);
};

// Holds the region lock for a scope.
class LockedRegion {
public:
    explicit LockedRegion(RegionImpl& impl)
        : m_impl(impl)
        , m_result(impl.acquire())
    {
    }
    ~LockedRegion()
    {
        if (m_result)
            m_impl.release();
    }
    LockedRegion(const LockedRegion&) = delete;
    LockedRegion& operator=(const LockedRegion&) = delete;

    bool ok() const { return m_result.hasValue(); }
    RegionError error() const { return m_result.error(); }
    bool recovered() const { return m_result.hasValue() && *m_result; }

private:
    RegionImpl& m_impl;
    RegionExpected<bool> m_result;
};

template <class Also>
RegionExpected<std::uint64_t> RegionImpl::allocateLocked(
    std::uint64_t bytes, std::uint64_t alignment, std::uint64_t owner, Also&& alsoInTransaction)
{
    for (;;) {
        LockedRegion locked(*this);
        if (!locked.ok())
            return unexpected(locked.error());
        Transaction txn(view);
        auto result = Allocator(view).allocate(bytes, alignment, owner, txn);
        if (result)
            alsoInTransaction(txn, *result);
        result = finish(view, txn, std::move(result));
        format::Stats& stats = view.header().stats;
        if (result) {
            ++stats.allocations;
            return result;
        }
        if (result.error() == RegionError::OutOfMemory && !cache.empty()) {
            flushCacheLocked(); // the stash may hold exactly the space needed
            continue;
        }
        if (result.error() == RegionError::OutOfMemory && autoGrow) {
            // Grow by at least what the request needs with alignment slack, then retry: the next
            // acquire() remaps if needed and hands the new space to the arena.
            if (growLocked(bytes + alignment + 2 * format::kMinBlockBytes))
                continue;
        }
        ++stats.failedAllocations;
        return result;
    }
}

} // namespace commy::shm
