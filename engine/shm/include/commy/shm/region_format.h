#pragma once

// The on-disk (and in-memory) layout of a region file. Everything here lives inside the mapped file,
// so every struct is trivially copyable and standard layout, refers to other parts only by byte
// offsets from the start of the file (0 means "none"), and has its size pinned by static_asserts.
// Any change here that alters a size or offset must bump kFormatVersion.
//
//   offset 0
//   +--------------------------------------------------------------------------------------+
//   | RegionHeader                                                                         |
//   |   identity      magic "COMMYRGN", format version, ABI fingerprint, header size,      |
//   |                 arena offset, slot count, creation time, checksum of all of these     |
//   |   geometry      file size, limit, generation counter, arena end, flags               |
//   |   lock          process-shared robust mutex, the pid that holds it, boot id          |
//   |   undo journal  words saved before a locked mutation; replayed if the holder dies    |
//   |   allocator     free-list bitmap and heads (384 bins), byte and block counters       |
//   |   stats         allocation / free / recovery / cleanup / resize counters             |
//   |   resize        the resize in progress, if any (owner, sizes, start time)            |
//   |   roots         offset, capacity and count of the named-root hash table              |
//   |   changes       ring of the last 256 root changes (root, version, writer), wake word |
//   |   processes     kMaxProcesses ProcessSlot entries (pid, start time, name, heartbeat)  |
//   +--------------------------------------------------------------------------------------+  arenaOffset
//   | arena: blocks laid end to end, each starting with a 16-byte BlockHeader               |
//   |   [BlockHeader | payload ...][BlockHeader | FreeLinks ...]...[sentinel BlockHeader]  |
//   +--------------------------------------------------------------------------------------+  arenaEnd
//   | (file space not yet adopted by the arena after a grow; normally empty)                |
//   +--------------------------------------------------------------------------------------+  fileSize

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace commy::shm::format {

inline constexpr char kMagic[8] = { 'C', 'O', 'M', 'M', 'Y', 'R', 'G', 'N' };
inline constexpr std::uint32_t kFormatVersion = 2;
inline constexpr std::uint32_t kMaxProcesses = 128;
inline constexpr std::uint32_t kJournalCapacity = 128;
// Bins: 62 exact sizes below 1 KiB, then 8 sub-bins per power of two up to 2^48.
inline constexpr std::uint32_t kBinCount = 384;
inline constexpr unsigned kSubBinsLog2 = 3;
inline constexpr std::uint32_t kProcessNameBytes = 48;
inline constexpr std::uint32_t kRootNameBytes = 64;
inline constexpr std::uint32_t kRootTypeBytes = 48;
inline constexpr std::uint32_t kChangeRecords = 256;
inline constexpr std::uint64_t kPageSize = 4096;

// Blocks: sizes are multiples of kGranule and include the 16-byte header.
inline constexpr std::uint64_t kGranule = 16;
inline constexpr std::uint64_t kBlockHeaderBytes = 16;
inline constexpr std::uint64_t kMinBlockBytes = 32; // header + the two free-list links
inline constexpr std::uint64_t kMaxAlignment = 4096;
inline constexpr std::uint64_t kSmallBlockLimit = 1024; // blocks below this use exact-size bins

struct Identity {
    char magic[8];
    std::uint32_t formatVersion;
    std::uint32_t headerBytes;
    std::uint64_t abiFingerprint;
    std::uint64_t arenaOffset;
    std::uint32_t maxProcesses;
    std::uint32_t reserved;
    std::uint64_t createdAtNs;
    std::uint64_t checksum; // FNV-1a of the fields above
};
static_assert(sizeof(Identity) == 56);

struct Geometry {
    std::uint64_t fileSize; // bytes the file is meant to have
    std::uint64_t limit; // largest size the file may grow to; 0 = no limit
    std::uint64_t generation; // bumped on every resize; processes remap when it moves
    std::uint64_t arenaEnd; // end of the last block (the sentinel); <= fileSize
    std::uint64_t flags; // kFlagAutoGrow
    std::uint64_t growStep; // bytes added by one auto-grow step (at least what the request needs)
};
static_assert(sizeof(Geometry) == 48);
inline constexpr std::uint64_t kFlagAutoGrow = 1;

struct LockArea {
    // Linux: a pthread_mutex_t in the first bytes; Windows: the holder word in the last 8 (the mutex is named).
    alignas(8) unsigned char mutexStorage[64];
    std::uint64_t holderPid; // written right after acquiring, cleared before releasing
    // The boot the mutex was last initialised in. A mutex held when the machine went down is never
    // released by the kernel (nobody is left to die), so a region opened in a new boot gets a fresh one.
    std::uint64_t bootId;
};
static_assert(sizeof(LockArea) == 80);

struct JournalEntry {
    std::uint64_t offset; // of the 8-byte word that was about to change
    std::uint64_t oldValue;
};

struct UndoJournal {
    std::uint64_t count; // entries in use; 0 = no mutation in flight
    std::uint64_t reserved;
    JournalEntry entries[kJournalCapacity];
};
static_assert(sizeof(UndoJournal) == 16 + 16 * kJournalCapacity);

struct AllocatorState {
    std::uint64_t binBitmap[kBinCount / 64]; // bit set <=> bin list is non-empty
    std::uint64_t binHeads[kBinCount]; // block offsets
    std::uint64_t usedBytes; // including block headers
    std::uint64_t freeBytes;
    std::uint64_t usedBlocks;
    std::uint64_t freeBlocks;
};
static_assert(sizeof(AllocatorState) == 8 * (kBinCount / 64 + kBinCount + 4));

struct Stats {
    std::uint64_t allocations;
    std::uint64_t deallocations;
    std::uint64_t failedAllocations;
    std::uint64_t lockRecoveries; // times a locker found the previous holder dead and repaired
    std::uint64_t cleanups;
    std::uint64_t reclaimedBlocks;
    std::uint64_t reclaimedBytes;
    std::uint64_t grows;
    std::uint64_t shrinks;
    std::uint64_t reserved[7];
};
static_assert(sizeof(Stats) == 128);

struct ResizeRecord {
    std::uint64_t inProgress; // 1 while a resize is under way
    std::uint64_t ownerPid;
    std::uint64_t ownerStartTime;
    std::uint64_t startedAtNs;
    std::uint64_t oldSize;
    std::uint64_t targetSize;
};
static_assert(sizeof(ResizeRecord) == 48);

struct RootTableRef {
    std::uint64_t tableOffset; // payload offset of an array of RootEntry
    std::uint64_t capacity; // power of two
    std::uint64_t used; // live entries
    std::uint64_t tombstones;
};
static_assert(sizeof(RootTableRef) == 32);

enum class SlotState : std::uint64_t { Free = 0, Attached = 1 };

struct ProcessSlot {
    std::uint64_t state; // SlotState
    std::uint64_t pid;
    std::uint64_t startTime; // OS process start time, to tell a reused pid apart
    std::uint64_t attachedAtNs; // wall clock
    std::uint64_t lastHeartbeatNs; // wall clock; written with atomic_ref, read without the lock
    std::uint64_t reserved[3];
    char name[kProcessNameBytes];
};
static_assert(sizeof(ProcessSlot) == 112);

// One change to a root's data: which root (its block's payload offset), the version it reached and
// the slot of the process that wrote it.
struct ChangeRecord {
    std::uint64_t sequence; // 1, 2, ...; the record is valid once ChangeJournal::sequence reached it
    std::uint64_t rootOffset;
    std::uint64_t version;
    std::uint64_t writerSlot;
};
static_assert(sizeof(ChangeRecord) == 32);

// A ring of the latest changes, appended without a lock: a writer claims a sequence number, fills
// its record (the record's own sequence last), then advances `sequence` past it. `wakeWord` is the
// low half of the sequence, a 32-bit futex word other processes sleep on until something changes;
// `waiters` counts the sleepers, so that writers make the wake-up system call only when needed.
struct ChangeJournal {
    std::uint64_t sequence; // of the newest finished record; 0 = none yet
    std::uint64_t claimed; // of the newest claimed record
    std::uint32_t wakeWord;
    std::uint32_t waiters;
    std::uint64_t reserved;
    ChangeRecord records[kChangeRecords];
};
static_assert(sizeof(ChangeJournal) == 32 + 32 * kChangeRecords);

struct RegionHeader {
    Identity identity;
    Geometry geometry;
    LockArea lock;
    UndoJournal journal;
    AllocatorState allocator;
    Stats stats;
    ResizeRecord resize;
    RootTableRef roots;
    ChangeJournal changes;
    ProcessSlot processes[kMaxProcesses];
};
static_assert(std::is_trivially_copyable_v<RegionHeader> && std::is_standard_layout_v<RegionHeader>);
static_assert(sizeof(RegionHeader)
    == 56 + 48 + 80 + 2064 + sizeof(AllocatorState) + 128 + 48 + 32 + sizeof(ChangeJournal) + 112 * kMaxProcesses);

inline constexpr std::uint64_t kArenaOffset = (sizeof(RegionHeader) + kPageSize - 1) / kPageSize * kPageSize;
// The smallest region: the header, one minimal block and the end sentinel.
inline constexpr std::uint64_t kMinRegionBytes = kArenaOffset + kMinBlockBytes + kBlockHeaderBytes;

// Every block starts with this. The header of the block after the last one is the end sentinel:
// size 0, marked used, so coalescing stops there.
struct BlockHeader {
    std::uint64_t prevSize; // size of the physically previous block; 0 for the first block
    std::uint64_t bits; // size (bits 4..47) | kUsedBit | owner (bits 48..63)
};
static_assert(sizeof(BlockHeader) == kBlockHeaderBytes);

inline constexpr std::uint64_t kUsedBit = 1;
inline constexpr std::uint64_t kSizeMask = 0x0000'FFFF'FFFF'FFF0ull;
inline constexpr unsigned kOwnerShift = 48;
// Owner field: 0 = published (reachable from shared data, owned by nobody), k = process slot k - 1.
inline constexpr std::uint64_t kPublished = 0;

// A free block's payload starts with its free-list links (block offsets, 0 = none).
struct FreeLinks {
    std::uint64_t next;
    std::uint64_t prev;
};
static_assert(sizeof(FreeLinks) == kMinBlockBytes - kBlockHeaderBytes);

enum class RootState : std::uint64_t { Empty = 0, Used = 1, Tombstone = 2 };

struct RootEntry {
    char name[kRootNameBytes]; // NUL-terminated
    char type[kRootTypeBytes]; // type descriptor, e.g. "bytes" or "map<i64,string>"; NUL-terminated
    std::uint64_t offset; // payload offset of the root's block
    std::uint64_t version; // bumped by whoever changes the root's data
    std::uint64_t state; // RootState; the one word that makes an entry live or dead
    std::uint32_t kind; // RootKind
    std::uint32_t reserved;
};
static_assert(sizeof(RootEntry) == 144);
static_assert(std::is_trivially_copyable_v<RootEntry> && std::is_standard_layout_v<RootEntry>);

// A fingerprint of everything that fixes the in-file layout, so a build that lays it out
// differently (another compiler, another architecture, a changed struct) refuses the file.
constexpr std::uint64_t abiFingerprint()
{
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&h](std::uint64_t v) {
        for (int i = 0; i < 8; ++i) {
            h ^= (v >> (8 * i)) & 0xff;
            h *= 1099511628211ull;
        }
    };
    mix(sizeof(void*));
    mix(alignof(std::uint64_t));
    mix(sizeof(RegionHeader));
    mix(offsetof(RegionHeader, geometry));
    mix(offsetof(RegionHeader, lock));
    mix(offsetof(RegionHeader, changes));
    mix(kChangeRecords);
    mix(offsetof(RegionHeader, journal));
    mix(offsetof(RegionHeader, allocator));
    mix(offsetof(RegionHeader, stats));
    mix(offsetof(RegionHeader, resize));
    mix(offsetof(RegionHeader, roots));
    mix(offsetof(RegionHeader, processes));
    mix(sizeof(ProcessSlot));
    mix(sizeof(BlockHeader));
    mix(sizeof(RootEntry));
    mix(kBinCount);
    mix(kJournalCapacity);
    mix(kMaxProcesses);
    mix(std::endian::native == std::endian::little ? 1 : 2);
    return h;
}

static_assert(std::atomic_ref<std::uint64_t>::required_alignment == alignof(std::uint64_t),
    "in-file counters are accessed through atomic_ref");

} // namespace commy::shm::format
