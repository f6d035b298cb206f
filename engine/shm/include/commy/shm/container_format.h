#pragma once

// The in-file layout of shared containers. A container is a named root whose block starts with a
// ContainerHeader; its elements live in further blocks the header's body refers to by offset.
//
//   root block (ContainerHeader, 256 bytes)
//   +------------------------------------------------------------------------------------+
//   | magic, kind, element layout (key / value size and alignment), version, seqlock word |
//   | undo journal: offset, capacity and bytes used of the journal block                 |
//   | recoveries, lock holder pid                                                          |
//   | lock: process-shared robust mutex (64 bytes)                                         |
//   | body: kind-specific (64 bytes): VecBody, DequeBody, HashBody, BTreeBody or BoxBody  |
//   +------------------------------------------------------------------------------------+
//   journal block: ContainerJournalEntry records, each followed by its saved bytes (8-aligned); the first
//                  `journalUsed` bytes are live while an operation is in progress.
//
// Nested containers (a SharedString value in a map, a SharedVec element of a vector) are stored
// inline as their body (a VecBody), so moving an element moves only offsets.

#include <cstdint>
#include <type_traits>

namespace commy::shm::format {

inline constexpr std::uint32_t kContainerMagic = 0x52544e43; // "CNTR"
inline constexpr std::uint64_t kContainerLockBytes = 64;
inline constexpr std::uint64_t kContainerBodyBytes = 64;
inline constexpr std::uint64_t kJournalCommitted = std::uint64_t { 1 } << 63;
// A container's undo journal doubles when one operation needs more room, up to this size.
inline constexpr std::uint64_t kMaxJournalBytes = std::uint64_t { 64 } << 20;

// A contiguous array: SharedVec, SharedString, and every nested string or vector.
struct VecBody {
    std::uint64_t data; // payload offset of the element array; 0 while capacity is 0
    std::uint64_t length;
    std::uint64_t capacity; // in elements
};
static_assert(sizeof(VecBody) == 24);

// A ring buffer: element i lives at data[(head + i) % capacity].
struct DequeBody {
    std::uint64_t data;
    std::uint64_t head;
    std::uint64_t length;
    std::uint64_t capacity;
};
static_assert(sizeof(DequeBody) == 32);

// An open-addressing hash table (detail/hash_table.h): one control byte per slot (0 empty, 1 deleted,
// 0x80 | 7 hash bits full), then the slots (key, value) at `slotsOffset` inside the same block.
struct HashBody {
    std::uint64_t table; // payload offset of the table block; 0 while capacity is 0
    std::uint64_t capacity; // slots: 0, or at least 8 (growth is 1.5x, so not a power of two)
    std::uint64_t length; // full slots (live entries)
    std::uint64_t tombstones; // deleted slots not yet reused; length + tombstones <= 7/8 capacity
    std::uint64_t slotsOffset; // from the start of the table block to the first slot (0 while capacity is 0)
    std::uint64_t slotBytes; // bytes per slot (key, value, padding; 0 while capacity is 0)
    std::uint64_t valueOffset; // from the start of a slot to its value (0 for sets)
};
static_assert(sizeof(HashBody) == 56);

// A B-tree of fixed-size nodes (see BTreeNodeHeader for a node's layout). Every leaf is at depth
// `height`; every node but the root holds between (nodeCapacity - 1) / 2 and nodeCapacity elements.
// nodeCapacity, nodeBytes, slotBytes and valueOffset are fixed at creation from the element layout
// (btreeGeometry()), so a tool can read the tree from the header alone.
struct BTreeBody {
    std::uint64_t root; // payload offset of the root node; 0 when empty
    std::uint64_t length; // elements
    std::uint64_t height; // 0 when empty, 1 when the root is a leaf
    std::uint64_t nodeCapacity; // most elements a node holds (odd: 2 * minimum degree - 1)
    std::uint64_t nodeBytes; // of an internal node; a leaf is nodeBytes - 8 * (nodeCapacity + 1)
    std::uint64_t slotBytes; // bytes per element (key, value, padding)
    std::uint64_t valueOffset; // from the start of an element to its value
};
static_assert(sizeof(BTreeBody) == 56);

// The start of every B-tree node. A node block is laid out as
//
//   +-------------------------------------------------------------------------------------+
//   | BTreeNodeHeader (16 bytes): count, leaf, total                                      |
//   | (padding up to the slot alignment, when an element needs more than 16)              |
//   | slots[nodeCapacity], slotBytes each: stored key at 0, stored value at valueOffset;  |
//   |   the first `count` are live, in ascending key order                                |
//   | -- a leaf block ends here (padded to 8) --                                          |
//   | children[nodeCapacity + 1]: payload offsets of the child nodes; first count + 1 live |
//   +-------------------------------------------------------------------------------------+
//
// Every key under children[i] sorts after slots[i - 1] and before slots[i]. `total` counts the
// elements of the node's whole subtree, so a reader can skip to the n-th element in O(log n).
struct BTreeNodeHeader {
    std::uint32_t count; // live elements in this node
    std::uint32_t leaf; // 1 for a leaf (no child array), 0 for an internal node
    std::uint64_t total; // elements in this node and every node below it
};
static_assert(sizeof(BTreeNodeHeader) == 16);
static_assert(std::is_trivially_copyable_v<BTreeNodeHeader> && std::is_standard_layout_v<BTreeNodeHeader>);

// Nodes are sized to about this many bytes (a few cache lines per level, few levels), with at
// least kBTreeMinCapacity elements so that large elements still make a proper B-tree.
inline constexpr std::uint64_t kBTreeTargetNodeBytes = 1024;
inline constexpr std::uint64_t kBTreeMinCapacity = 5;

// Where everything lies in a node, derived from the element layout alone.
struct BTreeGeometry {
    std::uint64_t capacity = 0; // elements per node, odd
    std::uint64_t slotBytes = 0;
    std::uint64_t valueOffset = 0;
    std::uint64_t alignment = 0; // of node blocks (and of the slots inside them)
    std::uint64_t slotsOffset = 0; // from the node start to slots[0]
    std::uint64_t childrenOffset = 0; // from the node start to children[0]; also the bytes of a leaf
    std::uint64_t nodeBytes = 0; // of an internal node

    constexpr std::uint64_t minDegree() const { return (capacity + 1) / 2; }
    constexpr std::uint64_t minCount() const { return minDegree() - 1; } // fewest elements off the root
    constexpr std::uint64_t leafBytes() const { return childrenOffset; }
    constexpr std::uint64_t bytesOf(bool leaf) const { return leaf ? childrenOffset : nodeBytes; }
};

// The node geometry for elements of a stored key (size, alignment) and stored value (size 0 for
// sets). Alignments are powers of two; 0 counts as 1.
constexpr BTreeGeometry btreeGeometry(
    std::uint64_t keySize, std::uint64_t keyAlign, std::uint64_t valueSize, std::uint64_t valueAlign)
{
    const auto roundUp = [](std::uint64_t n, std::uint64_t a) { return (n + a - 1) / a * a; };
    keyAlign = keyAlign == 0 ? 1 : keyAlign;
    valueAlign = valueAlign == 0 ? 1 : valueAlign;
    const std::uint64_t slotAlign = keyAlign > valueAlign ? keyAlign : valueAlign;
    BTreeGeometry g;
    g.valueOffset = roundUp(keySize, valueAlign);
    g.slotBytes = roundUp(g.valueOffset + valueSize, slotAlign);
    if (g.slotBytes == 0)
        g.slotBytes = slotAlign;
    g.alignment = slotAlign > 16 ? slotAlign : 16;
    g.slotsOffset = roundUp(sizeof(BTreeNodeHeader), slotAlign);
    const std::uint64_t fixed = g.slotsOffset + 8; // header and the extra child offset
    const std::uint64_t room = kBTreeTargetNodeBytes > fixed ? kBTreeTargetNodeBytes - fixed : 0;
    std::uint64_t capacity = room > g.slotBytes + 8 ? room / (g.slotBytes + 8) : 0;
    if (capacity % 2 == 0 && capacity > 0)
        --capacity;
    g.capacity = capacity < kBTreeMinCapacity ? kBTreeMinCapacity : capacity;
    g.childrenOffset = roundUp(g.slotsOffset + g.capacity * g.slotBytes, 8);
    g.nodeBytes = g.childrenOffset + 8 * (g.capacity + 1);
    return g;
}

// One value in a block of its own; readers may copy it without the lock (seqlock).
struct BoxBody {
    std::uint64_t data; // payload offset of the value
    std::uint64_t bytes;
};
static_assert(sizeof(BoxBody) == 16);

struct ContainerHeader {
    std::uint32_t magic; // kContainerMagic
    std::uint32_t kind; // RootKind
    std::uint32_t keySize; // bytes of a stored key (maps and sets) or element
    std::uint32_t keyAlign;
    std::uint32_t valueSize; // bytes of a stored value (maps); 0 otherwise
    std::uint32_t valueAlign;
    std::uint64_t version; // bumped by every committed change
    // Seqlock word: odd while a writer is changing the container, so lock-free readers retry.
    std::uint64_t sequence;
    std::uint64_t journalOffset; // payload offset of the undo journal block
    std::uint64_t journalCapacity; // bytes
    // Bytes of live entries, non-zero while an operation is in progress, plus kJournalCommitted
    // once the operation is complete and only its deferred frees remain (recovery then finishes
    // them instead of undoing it). One word, so both change together.
    std::uint64_t journalUsed;
    std::uint64_t recoveries; // operations rolled back after their process died
    std::uint64_t holderPid; // the pid holding the lock, 0 when free (informational)
    std::uint64_t reserved[6];
    unsigned char lock[kContainerLockBytes];
    unsigned char body[kContainerBodyBytes];
};
static_assert(sizeof(ContainerHeader) == 256);
static_assert(std::is_trivially_copyable_v<ContainerHeader> && std::is_standard_layout_v<ContainerHeader>);

enum class ContainerJournalKind : std::uint64_t {
    Saved = 1, // `bytes` old bytes at `offset` follow the entry; restored on undo
    Allocated = 2, // the operation allocated the block at `offset`; freed on undo
    Dropped = 3, // the operation dropped the block at `offset`; freed once it is committed
};

struct ContainerJournalEntry {
    std::uint64_t kind; // ContainerJournalKind
    std::uint64_t done; // set (with the free, in one region transaction) once the block is freed
    std::uint64_t offset;
    std::uint64_t bytes; // Saved: bytes that follow, padded to 8
};
static_assert(sizeof(ContainerJournalEntry) == 32);

} // namespace commy::shm::format
