#pragma once

#include <commy/shm/expected.h>
#include <commy/shm/region_error.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace commy::shm {

enum class OpenMode { CreateOnly, OpenExisting, OpenOrCreate };

struct RegionOptions {
    OpenMode mode = OpenMode::OpenExisting;
    std::uint64_t size = 0; // file size when creating (at least minRegionSize())
    std::uint64_t limit = 0; // largest size the file may grow to; 0 = no limit
    bool autoGrow = false; // grow the file (up to the limit) when an allocation does not fit
    unsigned fileMode = 0600; // permissions of a newly created file
    // How long a call waits for the region lock before failing with LockTimeout. Locked steps take
    // microseconds, so reaching this means the holder is stuck (or the lock word is damaged).
    std::chrono::milliseconds lockTimeout = std::chrono::seconds(30);
    // Small blocks (below 1 KiB) this process frees are kept, up to this many bytes, for its own
    // next allocations of the same size, which then need no lock. They stay owned by this process
    // (cleanup reclaims them if it dies) and are given back before stats(), blocks(), checkSanity(),
    // shrinkToUsage() and detach(), and whenever the region runs out of memory. 0 disables it.
    std::uint64_t localCacheBytes = 64 * 1024;
};

struct AllocatorStats {
    std::uint64_t size = 0; // file size
    std::uint64_t limit = 0;
    bool autoGrow = false; // set when the region was created with auto-grow
    std::uint64_t growStep = 0; // bytes one auto-grow step adds at least
    std::uint64_t rootTableOffset = 0; // payload offset of the named-root table's block; 0 = none yet
    std::uint64_t arenaBytes = 0; // bytes managed by the allocator
    std::uint64_t usedBytes = 0; // in used blocks, headers included
    std::uint64_t freeBytes = 0; // in free blocks, headers included
    std::uint64_t usedBlocks = 0;
    std::uint64_t freeBlocks = 0;
    std::uint64_t largestFreeBlock = 0;
    double fragmentation = 0; // 1 - largest free / total free; 0 when nothing is free
    std::uint64_t generation = 0;
    std::uint64_t allocations = 0;
    std::uint64_t deallocations = 0;
    std::uint64_t failedAllocations = 0;
    std::uint64_t lockRecoveries = 0;
    std::uint64_t cleanups = 0;
    std::uint64_t reclaimedBlocks = 0;
    std::uint64_t reclaimedBytes = 0;
    std::uint64_t grows = 0;
    std::uint64_t shrinks = 0;
};

inline constexpr std::uint32_t kNoOwner = 0xffffffff; // BlockInfo::ownerSlot of free and published blocks

struct BlockInfo {
    std::uint64_t offset = 0; // of the block header
    std::uint64_t size = 0; // header included
    bool free = false;
    bool published = false;
    std::uint32_t ownerSlot = kNoOwner;
};

enum class Liveness { Alive, Stale, Dead };
const char* livenessName(Liveness liveness);

struct ProcessInfo {
    std::uint32_t slot = 0;
    std::uint64_t pid = 0;
    std::uint64_t startTime = 0;
    std::string name;
    std::uint64_t attachedAtNs = 0; // wall clock, ns since the epoch
    std::uint64_t lastHeartbeatNs = 0;
    Liveness liveness = Liveness::Alive;
};

enum class RootKind : std::uint32_t { Bytes = 1, Vec, String, Box, HashMap, HashSet, BTreeMap, BTreeSet, VecDeque };

struct RootInfo {
    std::string name;
    std::string type;
    RootKind kind = RootKind::Bytes;
    std::uint64_t offset = 0; // payload offset
    std::uint64_t version = 0;
};

struct RootChange {
    std::uint64_t sequence = 0; // position in the region's change journal, 1, 2, ...
    std::uint64_t rootOffset = 0; // payload offset of the root's block (RootInfo::offset)
    std::uint64_t version = 0; // the root's version after the change
    std::uint32_t writerSlot = kNoOwner; // process slot of the writer
};

struct ChangeBatch {
    std::vector<RootChange> changes; // oldest first
    std::uint64_t sequence = 0; // of the newest change; pass it to the next changesSince()
    bool missed = false; // older changes were overwritten in the ring before they were read
};

struct CorruptionReport {
    std::uint64_t offset = 0; // where the inconsistency was found
    std::string description;
    // Corrupt for an inconsistency found; another value when the check could not run at all
    // (e.g. LockTimeout: a live process holds the lock).
    RegionError error = RegionError::Corrupt;
};

struct CleanupReport {
    struct FreedSlot {
        std::uint32_t slot;
        std::uint64_t pid;
        std::string name;
    };
    std::vector<FreedSlot> freedSlots;
    std::uint64_t reclaimedBlocks = 0;
    std::uint64_t reclaimedBytes = 0;
    bool lockRecovered = false; // the lock was held by a dead process and has been repaired
    bool resizeAborted = false; // a resize left behind by a dead process was finished or rolled back
};

class RegionImpl;
namespace detail {
struct RegionAccess;
}

// A memory-mapped region file shared by many processes: an allocator over the arena, a process
// table with heartbeats, and a directory of named roots. All mutations take the region's robust
// cross-process lock; a process killed while holding it leaves the region consistent for the next
// locker. Offsets are the only references that make sense across processes: pointer() turns one into
// an address valid in this process until the next call that may remap (any call on this object).
//
// A Region object is used by one thread at a time (its optional heartbeat thread is internal).
class Region {
public:
    static RegionExpected<std::unique_ptr<Region>> open(const std::string& path, const RegionOptions& options);
    static std::uint64_t minRegionSize();
    ~Region();
    Region(const Region&) = delete;
    Region& operator=(const Region&) = delete;

    const std::string& path() const;
    std::uint64_t size() const;
    std::uint64_t limit() const;
    std::uint64_t generation() const;

    // Allocator. Offsets returned are payload offsets from the start of the file, aligned as asked
    // (8..4096, a power of two). A block belongs to this process's slot (when attached) until it is
    // published, so cleanup() can reclaim what a dead process allocated but never made reachable.
    RegionExpected<std::uint64_t> allocate(std::uint64_t bytes, std::uint64_t alignment = 16);
    RegionExpected<void> deallocate(std::uint64_t offset);
    RegionExpected<void> publish(std::uint64_t offset);
    RegionExpected<AllocatorStats> stats();
    RegionExpected<std::vector<BlockInfo>> blocks();
    Expected<void, CorruptionReport> checkSanity();

    // Address of [offset, offset + bytes) in this process, or nullptr when that range is not inside
    // the arena. Valid until the next call on this object.
    void* pointer(std::uint64_t offset, std::uint64_t bytes);

    // Process table.
    RegionExpected<std::uint32_t> attach(std::string_view name);
    RegionExpected<void> detach();
    bool attached() const;
    std::uint32_t slot() const; // valid while attached()
    void heartbeat();
    void startHeartbeatThread(std::chrono::milliseconds interval = std::chrono::milliseconds(100));
    void stopHeartbeatThread();
    RegionExpected<std::vector<ProcessInfo>> processes(
        std::chrono::milliseconds staleAfter = std::chrono::milliseconds(1000));

    // Named roots: name -> (block, kind, type descriptor). Creating a root publishes its block;
    // removeRoot() frees it; takeRoot() hands it back to this process (unpublished) instead.
    // Both refuse a container root, one whose block holds a container header (TypeMismatch):
    // that block is only the start of what the container owns; a container is removed, with
    // everything it owns, by its class's destroy().
    RegionExpected<void> createRoot(
        std::string_view name, std::uint64_t offset, RootKind kind = RootKind::Bytes, std::string_view type = "bytes");
    RegionExpected<RootInfo> findRoot(std::string_view name);
    RegionExpected<void> removeRoot(std::string_view name);
    RegionExpected<std::uint64_t> takeRoot(std::string_view name);
    // Bumps a root's version and records the change in the region's change journal (a ring of the
    // last 256 changes), waking every process blocked in waitForChange().
    RegionExpected<std::uint64_t> bumpRootVersion(std::string_view name);

    // Change notification across processes. changeSequence() is the newest change's sequence;
    // waitForChange() blocks until it passes `after` or the timeout ends, and returns it;
    // changesSince() lists the changes after `after` that the ring still holds.
    // `ignoredWriter` is a process slot whose own changes should not wake this wait: a process that
    // both writes (through another Region object) and watches for other processes' writes is then not
    // woken by itself on every write. Such changes still count once the wait ends for another reason
    // (another writer, the timeout, or a sequence already past `after`). Best effort: writers in
    // slots above 30 wake every waiter.
    std::uint64_t changeSequence() const;
    std::uint64_t waitForChange(std::uint64_t after, std::chrono::milliseconds timeout,
        std::optional<std::uint32_t> ignoredWriter = std::nullopt);
    RegionExpected<ChangeBatch> changesSince(std::uint64_t after);
    RegionExpected<std::vector<RootInfo>> roots();

    // Online resize. Other processes stay attached; they remap on their next call.
    RegionExpected<void> resizeFile(std::uint64_t newSize);
    RegionExpected<std::uint64_t> shrinkToUsage(); // returns the new size
    // True when a resize has been in progress longer than `timeout` or its process is dead.
    RegionExpected<bool> checkOperationTimeout(std::chrono::milliseconds timeout);
    // Finishes or rolls back a resize left behind by a dead or timed-out process; true if there was one.
    RegionExpected<bool> cleanupFailedResize(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

    // Writes the region's contents to storage (they reach the file system's cache on every write
    // already; this makes them survive a power loss). No lock is taken.
    RegionExpected<void> flush();

    // Frees the slots of dead processes, recovers a lock they held, finishes their interrupted
    // resize and reclaims the blocks they allocated but never published.
    RegionExpected<CleanupReport> cleanup();

private:
    friend struct detail::RegionAccess; // containers run their journal's region steps under the lock
    explicit Region(std::unique_ptr<RegionImpl> impl);
    std::unique_ptr<RegionImpl> m_impl;
};

// Parses "4096", "64K", "64M", "1G" (binary units); nullopt-like failure as InvalidArgument.
RegionExpected<std::uint64_t> parseSize(std::string_view text);

} // namespace commy::shm
