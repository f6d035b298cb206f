#pragma once

// An open-addressing hash table over a HashBody, shared by SharedHashMap and SharedHashSet.
//
//   table block: [capacity control bytes][padding to the slot alignment][capacity slots]
//   control byte: 0 = empty, 1 = deleted (a tombstone), 0x80 | 7 low bits of the hash = full
//   slot:         [stored key][padding][stored value][padding to slotBytes]
//
// Slot choice. Growth is 1.5x, so capacities are not powers of two and `hash & (capacity - 1)` is
// not available; `hash % capacity` would cost a division per lookup. Instead the home slot is the
// high word of the 128-bit product hash * capacity (a multiply-shift range reduction), which maps
// a uniform 64-bit hash uniformly onto [0, capacity) with one multiplication. It consumes the high
// bits of the hash, so the 7-bit tag in the control byte takes the low bits: a tag match is an
// independent 1-in-128 filter before a key is compared. Collisions probe linearly, wrapping
// around from the last slot to the first.
//
// Load. Full plus deleted slots stay at most 7/8 of the capacity, so every probe ends at an empty
// slot. An insert that would pass that rebuilds the table into a NEW block (1.5x larger, or the
// same size when most of the load is tombstones), then saves the body once and releases the old
// block at commit: the undo journal holds a few entries however large the table is.
//
// Every stored offset and count is checked against the mapping before it is used (the file may
// be damaged); a table that does not fit its geometry is Corrupt.
//
// Reads. Lookups of plain keys and values run without the lock, validated by the header's seqlock
// word (optimisticFind() below); everything else runs in a ContainerTxn under the lock.

#include <commy/shm/container_format.h>
#include <commy/shm/container_txn.h>
#include <commy/shm/element_traits.h>
#include <commy/shm/region_format.h>

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

namespace commy::shm::detail {

inline constexpr unsigned char kHashEmpty = 0;
inline constexpr unsigned char kHashDeleted = 1;
inline constexpr unsigned char kHashFull = 0x80;
inline constexpr std::uint64_t kMinHashCapacity = 8;
// Far beyond any region; keeps capacity * slotBytes and the probe arithmetic from overflowing.
inline constexpr std::uint64_t kMaxHashCapacity = std::uint64_t { 1 } << 40;
// Entries committed per step by bulk operations (clear of entries that own blocks, extend), so one
// step's journal stays far below the 16 KiB default.
inline constexpr std::uint64_t kHashEntriesPerStep = 32;

__extension__ using HashWide = unsigned __int128;

inline std::uint64_t hashHome(std::uint64_t hash, std::uint64_t capacity)
{
    return static_cast<std::uint64_t>((static_cast<HashWide>(hash) * capacity) >> 64);
}
inline unsigned char hashTag(std::uint64_t hash) { return static_cast<unsigned char>(kHashFull | (hash & 0x7f)); }
inline bool hashFull(unsigned char control) { return (control & kHashFull) != 0; }

// Too full once more than 7/8 of the slots are used (live or deleted).
inline bool hashOverloaded(std::uint64_t used, std::uint64_t capacity) { return used * 8 > capacity * 7; }
// The smallest capacity that holds `entries` without passing the load limit (0 for none).
inline std::uint64_t hashCapacityFor(std::uint64_t entries)
{
    if (entries == 0)
        return 0;
    const std::uint64_t needed = (entries * 8 + 6) / 7;
    return needed < kMinHashCapacity ? kMinHashCapacity : needed;
}
inline std::uint64_t hashGrownCapacity(std::uint64_t capacity)
{
    const std::uint64_t next = capacity + capacity / 2;
    return next < kMinHashCapacity ? kMinHashCapacity : next;
}

constexpr std::uint64_t hashAlignUp(std::uint64_t value, std::uint64_t alignment)
{
    return (value + alignment - 1) / alignment * alignment;
}

// The slot layout of a key / value pair; a set has no value (valueSize 0, valueOffset 0).
struct HashGeometry {
    std::uint64_t slotAlign = 1;
    std::uint64_t slotBytes = 0;
    std::uint64_t valueOffset = 0;
    std::uint64_t valueSize = 0;

    static constexpr HashGeometry of(
        std::uint64_t keySize, std::uint64_t keyAlign, std::uint64_t valueSize, std::uint64_t valueAlign)
    {
        HashGeometry g;
        g.slotAlign = keyAlign > valueAlign ? keyAlign : valueAlign;
        if (g.slotAlign == 0)
            g.slotAlign = 1;
        g.valueSize = valueSize;
        g.valueOffset = valueSize == 0 ? 0 : hashAlignUp(keySize, valueAlign == 0 ? 1 : valueAlign);
        g.slotBytes = hashAlignUp(valueSize == 0 ? keySize : g.valueOffset + valueSize, g.slotAlign);
        return g;
    }
    static HashGeometry of(const format::ContainerHeader& h)
    {
        return of(h.keySize, h.keyAlign, h.valueSize, h.valueAlign);
    }

    std::uint64_t slotsOffset(std::uint64_t capacity) const { return hashAlignUp(capacity, slotAlign); }
    // Bytes of a table block of `capacity` slots; 0 when the capacity is out of range.
    std::uint64_t tableBytes(std::uint64_t capacity) const
    {
        if (capacity == 0 || capacity > kMaxHashCapacity || slotBytes == 0 || slotBytes > (std::uint64_t { 1 } << 22))
            return 0;
        return slotsOffset(capacity) + capacity * slotBytes;
    }
    std::uint64_t blockAlign() const { return slotAlign > 16 ? slotAlign : 16; }
};

struct HashScan {
    std::uint64_t found = ~std::uint64_t { 0 }; // the slot whose key matched
    std::uint64_t free = ~std::uint64_t { 0 }; // the first deleted or empty slot on the way (if asked for)
    bool ended = false; // reached the key or an empty slot; false: no empty slot in the whole table
};

// Walks the probe sequence of `hash`, calling `match(slot)` for each slot with the hash's tag, in
// probe order, until it returns true or an empty slot ends the sequence. One control byte at a
// time on purpose: the usual probe ends at its first slot, and with a predicted branch the CPU
// loads that slot's key while the control byte is still on its way. (A scan of eight control
// bytes as one word makes the key's address depend on the loaded word: two cache misses in a row
// instead of two at once, measured a third slower on large tables.)
template <bool kWantFree, class Match>
HashScan hashScan(unsigned char* control, std::uint64_t capacity, std::uint64_t hash, Match&& match)
{
    HashScan result;
    const unsigned char tag = hashTag(hash);
    std::uint64_t index = hashHome(hash, capacity);
    for (std::uint64_t step = 0; step < capacity; ++step) {
        const unsigned char c = std::atomic_ref<unsigned char>(control[index]).load(std::memory_order_relaxed);
        if (c == tag && match(index)) {
            result.found = index;
            result.ended = true;
            return result;
        }
        if constexpr (kWantFree) {
            if ((c == kHashEmpty || c == kHashDeleted) && result.free == ~std::uint64_t { 0 })
                result.free = index;
        }
        if (c == kHashEmpty) {
            result.ended = true;
            return result;
        }
        index = index + 1 == capacity ? 0 : index + 1;
    }
    return result;
}

// What is wrong with a body's fields (nullptr when nothing): they agree with the element layout
// and the counts with the capacity. Reads nothing but the body.
inline const char* hashShapeProblem(const format::HashBody& b, const HashGeometry& g)
{
    if (b.capacity == 0)
        return b.table == 0 && b.length == 0 && b.tombstones == 0 ? nullptr : "empty table with entries";
    if (g.tableBytes(b.capacity) == 0 || b.capacity < kMinHashCapacity)
        return "capacity out of range";
    if (b.slotBytes != g.slotBytes || b.valueOffset != g.valueOffset || b.slotsOffset != g.slotsOffset(b.capacity))
        return "slot geometry does not match the element layout";
    if (b.length > b.capacity || b.tombstones > b.capacity - b.length)
        return "more entries than slots";
    if (hashOverloaded(b.length + b.tombstones, b.capacity))
        return "load above 7/8";
    if (b.table % g.blockAlign() != 0)
        return "misaligned table block";
    return nullptr;
}

// hashShapeProblem(), or that the table block is not inside the mapping. `control` receives the
// table block's address (valid until the next allocate()).
inline const char* hashBodyProblem(
    const ContainerTxn& txn, const format::HashBody& b, const HashGeometry& g, unsigned char** control = nullptr)
{
    if (const char* problem = hashShapeProblem(b, g))
        return problem;
    if (b.capacity == 0)
        return nullptr;
    auto* table = static_cast<unsigned char*>(txn.at(b.table, g.tableBytes(b.capacity)));
    if (!table)
        return "table block outside the region";
    if (control)
        *control = table;
    return nullptr;
}

// Addresses a lock-free reader keeps between calls, so that the next read skips Region::pointer().
// Addresses stay usable for the Region's lifetime (remapping keeps earlier mappings), as long as
// the file still reaches them:
// - the header, while the region's generation is the one seen when the address was checked: the
//   file only gets shorter through shrinkToUsage(), which bumps the generation before it cuts;
// - the table block, while a validated body still names it (same offset and capacity): a live
//   block is never cut off.
struct HashTableCache {
    format::ContainerHeader* header = nullptr;
    std::uint64_t* generationWord = nullptr; // the region header's generation, in the header's mapping
    std::uint64_t generation = 0;
    std::uint64_t table = 0;
    std::uint64_t capacity = 0;
    unsigned char* control = nullptr;
};

// What a map's value contributes to a slot; nothing for a set (ValueTraits = void).
template <class ValueTraits> struct HashValueInfo {
    static constexpr std::uint64_t kSize = sizeof(typename ValueTraits::Stored);
    static constexpr std::uint64_t kAlign = alignof(typename ValueTraits::Stored);
    static constexpr bool kOwnsBlocks = ValueTraits::kOwnsBlocks;
};
template <> struct HashValueInfo<void> {
    static constexpr std::uint64_t kSize = 0;
    static constexpr std::uint64_t kAlign = 0;
    static constexpr bool kOwnsBlocks = false;
};

// ValueTraits = void for a set.
template <class KeyTraits, class ValueTraits = void> struct HashOps {
    static constexpr bool kIsMap = !std::is_void_v<ValueTraits>;
    using KeyStored = typename KeyTraits::Stored;
    using ValueInfo = HashValueInfo<ValueTraits>;
    static constexpr std::uint64_t npos = ~std::uint64_t { 0 };
    static constexpr bool kOwnsBlocks = KeyTraits::kOwnsBlocks || ValueInfo::kOwnsBlocks;
    static constexpr HashGeometry kGeometry
        = HashGeometry::of(sizeof(KeyStored), alignof(KeyStored), ValueInfo::kSize, ValueInfo::kAlign);

    static ElementLayout layout()
    {
        return { static_cast<std::uint32_t>(sizeof(KeyStored)), static_cast<std::uint32_t>(alignof(KeyStored)),
            static_cast<std::uint32_t>(ValueInfo::kSize), static_cast<std::uint32_t>(ValueInfo::kAlign) };
    }

    // A validated view of the table; the pointers are valid until the next allocate().
    struct Table {
        format::HashBody body;
        unsigned char* control = nullptr;
        unsigned char* slotArray = nullptr;

        std::uint64_t capacity() const { return body.capacity; }
        std::uint64_t slotAt(std::uint64_t index) const
        {
            return body.table + body.slotsOffset + index * kGeometry.slotBytes;
        }
        std::uint64_t controlAt(std::uint64_t index) const { return body.table + index; }
        unsigned char controlOf(std::uint64_t index) const
        {
            return std::atomic_ref<unsigned char>(control[index]).load(std::memory_order_relaxed);
        }
        const KeyStored& key(std::uint64_t index) const
        {
            return *static_cast<const KeyStored*>(static_cast<const void*>(slotArray + index * kGeometry.slotBytes));
        }
        template <class V = ValueTraits> const typename V::Stored& value(std::uint64_t index) const
        {
            return *static_cast<const typename V::Stored*>(
                static_cast<const void*>(slotArray + index * kGeometry.slotBytes + kGeometry.valueOffset));
        }
        std::uint64_t next(std::uint64_t index) const { return index + 1 == body.capacity ? 0 : index + 1; }
    };

    static format::HashBody* bodyOf(const ContainerTxn& txn, std::uint64_t bodyAt)
    {
        return txn.at<format::HashBody>(bodyAt);
    }

    static RegionExpected<Table> open(const ContainerTxn& txn, std::uint64_t bodyAt)
    {
        const format::HashBody* b = bodyOf(txn, bodyAt);
        Table t;
        if (!b || hashBodyProblem(txn, *b, kGeometry, &t.control))
            return unexpected(RegionError::Corrupt);
        t.body = *b;
        if (t.control)
            t.slotArray = t.control + b->slotsOffset;
        return t;
    }

    // Entries held, and slots in the table (0 until the first insert).
    static RegionExpected<std::uint64_t> length(const ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto t = open(txn, bodyAt);
        if (!t)
            return unexpected(t.error());
        return t->body.length;
    }
    static RegionExpected<std::uint64_t> capacity(const ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto t = open(txn, bodyAt);
        if (!t)
            return unexpected(t.error());
        return t->capacity();
    }

    struct Probe {
        std::uint64_t found = npos; // the key's slot
        std::uint64_t free = npos; // the first deleted or empty slot on the key's probe path
    };

    // Follows `key`'s probe sequence to its slot or to the first empty slot.
    template <class Lookup>
    static RegionExpected<Probe> probe(const ContainerTxn& txn, const Table& t, const Lookup& key, std::uint64_t hash)
    {
        Probe result;
        if (t.capacity() == 0)
            return result;
        const HashScan scan = hashScan<true>(t.control, t.capacity(), hash,
            [&](std::uint64_t slot) { return KeyTraits::equals(txn, t.key(slot), key); });
        if (!scan.ended)
            return unexpected(RegionError::Corrupt); // the load limit keeps an empty slot in every valid table
        result.found = scan.found;
        result.free = scan.free;
        return result;
    }

    static RegionExpected<void> setControl(ContainerTxn& txn, const Table& t, std::uint64_t index, unsigned char value)
    {
        if (auto saved = txn.save(t.controlAt(index), 1); !saved)
            return saved;
        auto* control = static_cast<unsigned char*>(txn.at(t.controlAt(index), 1));
        if (!control)
            return unexpected(RegionError::Corrupt);
        std::atomic_ref<unsigned char>(*control).store(value, std::memory_order_relaxed);
        return {};
    }

    static RegionExpected<void> setCounts(
        ContainerTxn& txn, std::uint64_t bodyAt, std::uint64_t length, std::uint64_t tombstones)
    {
        static_assert(offsetof(format::HashBody, tombstones) == offsetof(format::HashBody, length) + 8);
        if (auto saved = txn.save(bodyAt + offsetof(format::HashBody, length), 16); !saved)
            return saved;
        format::HashBody* b = bodyOf(txn, bodyAt);
        b->length = length;
        b->tombstones = tombstones;
        return {};
    }

    // Moves every entry into a fresh table of `capacity` slots (0: none), then points the body at
    // it and releases the old one at commit. Entries own their blocks by offset, so a move is a
    // byte copy; nothing of the old table is overwritten, so nothing but the body is journaled.
    static RegionExpected<void> rehash(ContainerTxn& txn, std::uint64_t bodyAt, std::uint64_t capacity)
    {
        std::uint64_t fresh = 0;
        const std::uint64_t bytes = kGeometry.tableBytes(capacity);
        if (capacity > 0) {
            if (bytes == 0)
                return unexpected(RegionError::OutOfMemory);
            auto block = txn.allocate(bytes, kGeometry.blockAlign());
            if (!block)
                return unexpected(block.error());
            fresh = *block;
        }
        auto old = open(txn, bodyAt); // after the allocation: it may have moved the mapping
        if (!old)
            return unexpected(old.error());
        if (old->body.length > 0 && hashOverloaded(old->body.length, capacity))
            return unexpected(RegionError::InvalidArgument);
        if (capacity > 0) {
            auto* control = static_cast<unsigned char*>(txn.at(fresh, bytes));
            if (!control)
                return unexpected(RegionError::Corrupt);
            unsigned char* slotArray = control + kGeometry.slotsOffset(capacity);
            std::uint64_t moved = 0;
            for (std::uint64_t i = 0; i < old->capacity(); ++i) {
                const unsigned char c = old->controlOf(i);
                if (!hashFull(c))
                    continue;
                const std::uint64_t hash = KeyTraits::hash(txn, old->key(i));
                std::uint64_t to = hashHome(hash, capacity);
                std::uint64_t step = 0;
                for (; step < capacity && control[to] != kHashEmpty; ++step)
                    to = to + 1 == capacity ? 0 : to + 1;
                if (step == capacity)
                    return unexpected(RegionError::Corrupt);
                control[to] = hashTag(hash);
                std::memcpy(slotArray + to * kGeometry.slotBytes, old->slotArray + i * kGeometry.slotBytes,
                    kGeometry.slotBytes);
                ++moved;
            }
            if (moved != old->body.length)
                return unexpected(RegionError::Corrupt);
        }
        if (auto saved = txn.save(bodyAt, sizeof(format::HashBody)); !saved)
            return saved;
        format::HashBody* b = bodyOf(txn, bodyAt);
        b->table = fresh;
        b->capacity = capacity;
        b->tombstones = 0;
        b->slotsOffset = capacity ? kGeometry.slotsOffset(capacity) : 0;
        b->slotBytes = capacity ? kGeometry.slotBytes : 0;
        b->valueOffset = capacity ? kGeometry.valueOffset : 0;
        return old->body.table ? txn.release(old->body.table) : RegionExpected<void>();
    }

    // Makes room for one more entry at a currently empty slot: grows 1.5x, or rebuilds at the same
    // size when dropping the tombstones alone leaves a third of the load limit free.
    static RegionExpected<void> makeRoom(ContainerTxn& txn, std::uint64_t bodyAt, const Table& t)
    {
        const std::uint64_t capacity = t.capacity();
        const std::uint64_t length = t.body.length;
        std::uint64_t target = hashGrownCapacity(capacity);
        if (capacity > 0 && (length + 1) * 12 <= capacity * 7)
            target = capacity;
        if (target < hashCapacityFor(length + 1))
            target = hashCapacityFor(length + 1);
        return rehash(txn, bodyAt, target);
    }

    // Inserts `key` when absent. Returns the slot of the key and whether it was already there.
    static RegionExpected<std::pair<std::uint64_t, bool>> insertKey(
        ContainerTxn& txn, std::uint64_t bodyAt, const typename KeyTraits::Value& key)
    {
        const std::uint64_t hash = KeyTraits::hashLookup(key);
        auto t = open(txn, bodyAt);
        if (!t)
            return unexpected(t.error());
        auto p = probe(txn, *t, key, hash);
        if (!p)
            return unexpected(p.error());
        if (p->found != npos)
            return std::pair { t->slotAt(p->found), true };
        if (p->free == npos
            || (t->controlOf(p->free) == kHashEmpty
                && hashOverloaded(t->body.length + t->body.tombstones + 1, t->capacity()))) {
            if (auto grown = makeRoom(txn, bodyAt, *t); !grown)
                return unexpected(grown.error());
            t = open(txn, bodyAt);
            if (!t)
                return unexpected(t.error());
            p = probe(txn, *t, key, hash);
            if (!p)
                return unexpected(p.error());
            if (p->free == npos)
                return unexpected(RegionError::Corrupt);
        }
        const std::uint64_t index = p->free;
        const bool reused = t->controlOf(index) == kHashDeleted;
        const format::HashBody body = t->body;
        const std::uint64_t slot = t->slotAt(index);
        // The slot is not full, so nothing reaches its bytes: they are written without saving.
        if (auto stored = KeyTraits::store(txn, slot, key); !stored)
            return unexpected(stored.error());
        t = open(txn, bodyAt); // storing a nested key may allocate
        if (!t)
            return unexpected(t.error());
        if (auto marked = setControl(txn, *t, index, hashTag(hash)); !marked)
            return unexpected(marked.error());
        if (auto counted = setCounts(txn, bodyAt, body.length + 1, body.tombstones - (reused ? 1 : 0)); !counted)
            return unexpected(counted.error());
        return std::pair { slot, false };
    }

    // Drops the entry at `index`. Its slot becomes empty when the next slot is empty (no probe
    // sequence runs through it then), otherwise a tombstone.
    static RegionExpected<void> eraseAt(ContainerTxn& txn, std::uint64_t bodyAt, const Table& t, std::uint64_t index)
    {
        const KeyStored key = t.key(index);
        if constexpr (kIsMap) {
            const typename ValueTraits::Stored value = t.value(index);
            if (auto dropped = ValueTraits::drop(txn, value); !dropped)
                return dropped;
        }
        if (auto dropped = KeyTraits::drop(txn, key); !dropped)
            return dropped;
        const bool empty = t.controlOf(t.next(index)) == kHashEmpty;
        if (auto marked = setControl(txn, t, index, empty ? kHashEmpty : kHashDeleted); !marked)
            return marked;
        return setCounts(txn, bodyAt, t.body.length - 1, t.body.tombstones + (empty ? 0 : 1));
    }

    template <class Lookup>
    static RegionExpected<std::uint64_t> find(const ContainerTxn& txn, std::uint64_t bodyAt, const Lookup& key)
    {
        auto t = open(txn, bodyAt);
        if (!t)
            return unexpected(t.error());
        auto p = probe(txn, *t, key, KeyTraits::hashLookup(key));
        if (!p)
            return unexpected(p.error());
        return p->found;
    }

    // Drops every entry and releases the table. Entries that own blocks are dropped in committed
    // steps, so the journal stays small; a process killed in between leaves a smaller, valid table.
    static RegionExpected<void> clear(ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto t = open(txn, bodyAt);
        if (!t)
            return unexpected(t.error());
        if (t->capacity() == 0)
            return {};
        if constexpr (kOwnsBlocks) {
            std::uint64_t inStep = 0;
            for (std::uint64_t i = 0; i < t->capacity(); ++i) {
                if (!hashFull(t->controlOf(i)))
                    continue;
                const KeyStored key = t->key(i);
                if constexpr (kIsMap) {
                    const typename ValueTraits::Stored value = t->value(i);
                    if (auto dropped = ValueTraits::drop(txn, value); !dropped)
                        return dropped;
                }
                if (auto dropped = KeyTraits::drop(txn, key); !dropped)
                    return dropped;
                if (auto marked = setControl(txn, *t, i, kHashDeleted); !marked)
                    return marked;
                if (auto counted = setCounts(txn, bodyAt, t->body.length - 1, t->body.tombstones + 1); !counted)
                    return counted;
                if (++inStep == kHashEntriesPerStep) {
                    inStep = 0;
                    if (auto step = txn.commit(); !step)
                        return step;
                }
                t = open(txn, bodyAt);
                if (!t)
                    return unexpected(t.error());
            }
        }
        const std::uint64_t table = t->body.table;
        if (auto saved = txn.save(bodyAt, sizeof(format::HashBody)); !saved)
            return saved;
        *bodyOf(txn, bodyAt) = {};
        return txn.release(table);
    }

    static RegionExpected<void> reserve(ContainerTxn& txn, std::uint64_t bodyAt, std::uint64_t additional)
    {
        auto t = open(txn, bodyAt);
        if (!t)
            return unexpected(t.error());
        if (additional > kMaxHashCapacity)
            return unexpected(RegionError::OutOfMemory);
        const std::uint64_t wanted = hashCapacityFor(t->body.length + additional);
        if (wanted <= t->capacity() && !hashOverloaded(t->body.length + t->body.tombstones + additional, t->capacity()))
            return {};
        return rehash(txn, bodyAt, wanted > t->capacity() ? wanted : t->capacity());
    }

    static RegionExpected<void> shrinkToFit(ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto t = open(txn, bodyAt);
        if (!t)
            return unexpected(t.error());
        const std::uint64_t wanted = hashCapacityFor(t->body.length);
        if (wanted >= t->capacity())
            return {};
        return rehash(txn, bodyAt, wanted);
    }

    // Calls visit(index of the slot) for every full slot, in slot order.
    template <class Visit>
    static RegionExpected<void> forEachSlot(const ContainerTxn& txn, std::uint64_t bodyAt, Visit&& visit)
    {
        auto t = open(txn, bodyAt);
        if (!t)
            return unexpected(t.error());
        for (std::uint64_t i = 0; i < t->capacity(); ++i) {
            if (hashFull(t->controlOf(i)))
                visit(*t, i);
        }
        return {};
    }

    // ---- lock-free lookups (plain keys and values only) ----
    //
    // A reader that does not take the lock follows the seqlock protocol on the header's `sequence`
    // word: a writer makes it odd before its first change to anything reachable (ContainerTxn does
    // so on its first save / allocate / release) and even again only once the operation is
    // committed or rolled back, including the frees of dropped blocks. The reader:
    //   1. loads the sequence (acquire); odd means a writer is inside an operation: try again;
    //   2. loads the table's offset and capacity and probes the table with relaxed atomic loads
    //      only, at most `capacity` steps, inside a block whose bounds were checked against the
    //      mapping (Region::pointer()), because what it reads may be torn or stale: the table may
    //      have been replaced, and its block reused, since step 1;
    //   3. copies the key and value out, then an acquire fence and a second load of the sequence:
    //      if it is unchanged no writer ran in between, so the copy is a committed state.
    // After four failed tries it takes the lock (a writer killed mid-operation leaves the sequence
    // odd until the next locker repairs the container). Addresses are kept between calls (see
    // HashTableCache); a stale mapping is harmless, as remapping keeps earlier mappings alive.
    // Not covered: a shrinkToUsage() by another process that cuts the file in the few nanoseconds
    // between a check and the read that follows it, exactly over a block (an old table, or the
    // header of a map destroyed meanwhile) this reader is about to touch: reading past the end of
    // a truncated file raises SIGBUS. The locked path has the same window for the header.
    // Keys and values that own blocks (strings, vectors) are not read this way: following their
    // offsets without the lock would need the same checks for every nested block.

    enum class Optimistic { Found, Absent, Busy };

    template <class T> static T relaxedCopy(unsigned char* from)
    {
        // Word by word in the widest unit the alignment allows: each word is one atomic load.
        constexpr std::size_t kUnit = alignof(T) >= 8 ? 8 : alignof(T) >= 4 ? 4 : alignof(T) >= 2 ? 2 : 1;
        using Unit = std::conditional_t<kUnit == 8, std::uint64_t,
            std::conditional_t<kUnit == 4, std::uint32_t, std::conditional_t<kUnit == 2, std::uint16_t, std::uint8_t>>>;
        std::array<Unit, sizeof(T) / kUnit> words;
        for (std::size_t i = 0; i < words.size(); ++i)
            words[i] = std::atomic_ref<Unit>(*static_cast<Unit*>(static_cast<void*>(from + i * kUnit)))
                           .load(std::memory_order_relaxed);
        return std::bit_cast<T>(words);
    }

    static bool plainEquals(const KeyStored& stored, const KeyStored& key)
    {
        if constexpr (std::is_arithmetic_v<KeyStored> || std::is_enum_v<KeyStored>)
            return stored == key;
        else
            return std::memcmp(&stored, &key, sizeof(KeyStored)) == 0;
    }

    // The container header's address, from the cache while the region's generation holds.
    static format::ContainerHeader* cachedHeader(const ContainerRef& ref, HashTableCache& cache)
    {
        if (cache.header
            && std::atomic_ref<std::uint64_t>(*cache.generationWord).load(std::memory_order_acquire)
                == cache.generation)
            return cache.header;
        cache.header = nullptr;
        Region& region = ref.region();
        auto* h = static_cast<format::ContainerHeader*>(region.pointer(ref.offset(), sizeof(format::ContainerHeader)));
        if (!h)
            return nullptr;
        // The region header sits at the start of the same mapping.
        auto* base = static_cast<unsigned char*>(static_cast<void*>(h)) - ref.offset();
        auto* regionHeader = static_cast<format::RegionHeader*>(static_cast<void*>(base));
        std::uint64_t* word = &regionHeader->geometry.generation;
        const std::uint64_t generation = std::atomic_ref<std::uint64_t>(*word).load(std::memory_order_acquire);
        // Checked again after the generation was read: a shrink that cut the header off before the
        // read is seen here, one after it moves the generation.
        if (region.pointer(ref.offset(), sizeof(format::ContainerHeader)) == nullptr)
            return nullptr;
        cache.header = h;
        cache.generationWord = word;
        cache.generation = generation;
        return h;
    }

    // Looks `key` up without the lock; `out` (void for a set) receives the value when Found. Busy
    // when writers kept the sequence moving for every attempt (or the body did not validate): take
    // the lock then.
    template <class Out>
    static Optimistic optimisticFind(const ContainerRef& ref, HashTableCache& cache, const KeyStored& key, Out* out)
    {
        static_assert(PlainElement<KeyStored>);
        constexpr int kAttempts = 4;
        const std::uint64_t hash = KeyTraits::hashLookup(key);
        for (int attempt = 0; attempt < kAttempts; ++attempt) {
            format::ContainerHeader* h = cachedHeader(ref, cache);
            if (!h)
                return Optimistic::Busy;
            std::atomic_ref<std::uint64_t> sequence(h->sequence);
            const std::uint64_t before = sequence.load(std::memory_order_acquire);
            if ((before & 1) != 0
                || std::atomic_ref<std::uint32_t>(h->magic).load(std::memory_order_relaxed) != format::kContainerMagic)
                continue;
            // Only what this read uses: the table's offset and capacity. The slot layout comes from
            // the element types; counts do not matter to a lookup. Both are checked as on the
            // locked path: a capacity out of range or a block outside the mapping sends the call
            // to the lock, which reports Corrupt.
            auto* body = static_cast<format::HashBody*>(static_cast<void*>(h->body));
            const std::uint64_t table = std::atomic_ref<std::uint64_t>(body->table).load(std::memory_order_relaxed);
            const std::uint64_t capacity
                = std::atomic_ref<std::uint64_t>(body->capacity).load(std::memory_order_relaxed);
            Optimistic result = Optimistic::Absent;
            if (capacity != 0 || table != 0) {
                if (table != cache.table || capacity != cache.capacity) {
                    const std::uint64_t bytes = kGeometry.tableBytes(capacity);
                    if (bytes == 0 || capacity < kMinHashCapacity || table % kGeometry.blockAlign() != 0)
                        continue;
                    cache.table = 0;
                    cache.capacity = 0;
                    cache.control = static_cast<unsigned char*>(ref.region().pointer(table, bytes));
                    if (!cache.control)
                        continue;
                    cache.table = table;
                    cache.capacity = capacity;
                }
                unsigned char* control = cache.control;
                unsigned char* slotArray = control + kGeometry.slotsOffset(capacity);
                const auto matches = [&](std::uint64_t slot) {
                    unsigned char* at = slotArray + slot * kGeometry.slotBytes;
                    if (!plainEquals(relaxedCopy<KeyStored>(at), key))
                        return false;
                    if constexpr (!std::is_void_v<Out>)
                        *out = relaxedCopy<Out>(at + kGeometry.valueOffset);
                    return true;
                };
                const HashScan scan = hashScan<false>(control, capacity, hash, matches);
                if (!scan.ended)
                    continue; // no empty slot: a torn read
                if (scan.found != npos)
                    result = Optimistic::Found;
            }
            std::atomic_thread_fence(std::memory_order_acquire);
            if (sequence.load(std::memory_order_relaxed) == before)
                return result;
        }
        return Optimistic::Busy;
    }
};

} // namespace commy::shm::detail
