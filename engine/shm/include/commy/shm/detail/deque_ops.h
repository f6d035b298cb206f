#pragma once

// Operations on a ring buffer (a DequeBody), used by SharedVecDeque: element i lives at
// data[(head + i) % capacity]. Both ends are pushed without moving any element: the slot before
// the head and the slot after the tail are unreachable until the head / length words say
// otherwise, so they are written without saving them; only those words are journaled.
// Everything is addressed by offsets: an allocation may move this process's mapping.

#include <commy/shm/container_txn.h>
#include <commy/shm/detail/vec_ops.h>
#include <commy/shm/element_traits.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

namespace commy::shm::detail {

template <class Traits> struct DequeOps {
    using Stored = typename Traits::Stored;
    using Value = typename Traits::Value;
    static constexpr std::uint64_t kSize = sizeof(Stored);
    static constexpr std::uint64_t kAlign = alignof(Stored) > 16 ? alignof(Stored) : 16;
    // Beyond this an array's size in bytes could overflow; asking for it is asking for too much.
    static constexpr std::uint64_t kMaxCapacity = (std::uint64_t { 1 } << 62) / kSize;
    static constexpr std::uint64_t kHeadAndLength = offsetof(format::DequeBody, head);
    static_assert(offsetof(format::DequeBody, length) == kHeadAndLength + 8);

    static format::DequeBody* body(const ContainerTxn& txn, std::uint64_t bodyAt)
    {
        return txn.at<format::DequeBody>(bodyAt);
    }

    // A copy of the body, once checked to describe a ring inside the arena (the file may have
    // been damaged by another process): Corrupt otherwise.
    static RegionExpected<format::DequeBody> state(const ContainerTxn& txn, std::uint64_t bodyAt)
    {
        const format::DequeBody* b = body(txn, bodyAt);
        if (!b)
            return unexpected(RegionError::Corrupt);
        const format::DequeBody s = *b;
        if (s.capacity == 0) {
            if (s.length != 0 || s.head != 0)
                return unexpected(RegionError::Corrupt);
            return s;
        }
        if (s.length > s.capacity || s.head >= s.capacity || s.capacity > kMaxCapacity
            || !txn.at(s.data, s.capacity * kSize))
            return unexpected(RegionError::Corrupt);
        return s;
    }

    // Offset of logical position `index` (0 <= index <= capacity); head < capacity, so one
    // subtraction wraps it.
    static std::uint64_t slotAt(const format::DequeBody& b, std::uint64_t index)
    {
        std::uint64_t ring = b.head + index;
        if (ring >= b.capacity)
            ring -= b.capacity;
        return b.data + ring * kSize;
    }
    static Stored itemAt(const ContainerTxn& txn, const format::DequeBody& b, std::uint64_t index)
    {
        Stored item;
        std::memcpy(static_cast<void*>(&item), txn.at(slotAt(b, index), kSize), kSize);
        return item;
    }

    // Moves the elements, in order, to the start of a new array of `capacity` slots (head 0), then
    // switches the body over in one saved update and drops the old array.
    static RegionExpected<void> rebuild(ContainerTxn& txn, std::uint64_t bodyAt, std::uint64_t capacity)
    {
        if (capacity > kMaxCapacity)
            return unexpected(RegionError::OutOfMemory);
        auto fresh = txn.allocate(capacity * kSize, kAlign);
        if (!fresh)
            return unexpected(fresh.error());
        auto old = state(txn, bodyAt); // after the allocation: the mapping may have moved
        if (!old)
            return unexpected(old.error());
        auto* to = static_cast<unsigned char*>(txn.at(*fresh, capacity * kSize));
        if (!to || old->length > capacity)
            return unexpected(RegionError::Corrupt);
        if (old->length > 0) {
            // At most two runs: head .. end of the array, then the wrapped part from its start.
            const std::uint64_t first = std::min(old->length, old->capacity - old->head);
            std::memcpy(to, txn.at(slotAt(*old, 0), first * kSize), first * kSize);
            if (first < old->length)
                std::memcpy(to + first * kSize, txn.at(old->data, (old->length - first) * kSize),
                    (old->length - first) * kSize);
        }
        if (auto saved = txn.save(bodyAt, sizeof(format::DequeBody)); !saved)
            return saved;
        format::DequeBody* b = body(txn, bodyAt);
        b->data = *fresh;
        b->head = 0;
        b->capacity = capacity;
        return old->data ? txn.release(old->data) : RegionExpected<void>();
    }

    // The body, grown first when it is full.
    static RegionExpected<format::DequeBody> roomForOne(ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto s = state(txn, bodyAt);
        if (!s || s->length < s->capacity)
            return s;
        if (auto grown = rebuild(txn, bodyAt, grownCapacity(s->capacity, s->length + 1)); !grown)
            return unexpected(grown.error());
        return state(txn, bodyAt);
    }

    // Bulk work on elements that own blocks commits a step every kDropsPerStep elements, or sooner
    // once the journal is half full: one element (a vector of strings) journals a record per block.
    static bool stepDue(const ContainerTxn& txn, std::uint64_t done)
    {
        const format::ContainerHeader& h = txn.header();
        return done % kDropsPerStep == 0 || (h.journalUsed & ~format::kJournalCommitted) > h.journalCapacity / 2;
    }

    static RegionExpected<void> setHeadAndLength(
        ContainerTxn& txn, std::uint64_t bodyAt, std::uint64_t head, std::uint64_t length)
    {
        if (auto saved = txn.save(bodyAt + kHeadAndLength, 16); !saved)
            return saved;
        format::DequeBody* b = body(txn, bodyAt);
        b->head = head;
        b->length = length;
        return {};
    }

    static RegionExpected<std::uint64_t> length(const ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto s = state(txn, bodyAt);
        if (!s)
            return unexpected(s.error());
        return s->length;
    }

    static RegionExpected<void> pushBack(ContainerTxn& txn, std::uint64_t bodyAt, const auto& value)
    {
        auto s = roomForOne(txn, bodyAt);
        if (!s)
            return unexpected(s.error());
        // The slot after the tail is not reachable: written without saving it.
        if (auto stored = Traits::store(txn, slotAt(*s, s->length), value); !stored)
            return stored;
        return txn.set(body(txn, bodyAt)->length, s->length + 1);
    }

    static RegionExpected<void> pushFront(ContainerTxn& txn, std::uint64_t bodyAt, const auto& value)
    {
        auto s = roomForOne(txn, bodyAt);
        if (!s)
            return unexpected(s.error());
        const std::uint64_t head = s->head == 0 ? s->capacity - 1 : s->head - 1;
        // The slot before the head is not reachable either.
        if (auto stored = Traits::store(txn, s->data + head * kSize, value); !stored)
            return stored;
        return setHeadAndLength(txn, bodyAt, head, s->length + 1);
    }

    // Appends [first, last) after the tail and then sets the length once. Elements that own blocks
    // are committed in steps (each allocation is journaled), like VecOps::append.
    template <class It> static RegionExpected<void> append(ContainerTxn& txn, std::uint64_t bodyAt, It first, It last)
    {
        auto s = state(txn, bodyAt);
        if (!s)
            return unexpected(s.error());
        const std::uint64_t start = s->length;
        std::uint64_t count = start;
        for (It it = first; it != last; ++it) {
            if (count == s->capacity) {
                // A rebuild moves the elements the body counts: count the appended ones first.
                if (count != body(txn, bodyAt)->length) {
                    if (auto step = txn.set(body(txn, bodyAt)->length, count); !step)
                        return step;
                }
                if (auto grown = rebuild(txn, bodyAt, grownCapacity(count, count + 1)); !grown)
                    return grown;
                if (s = state(txn, bodyAt); !s)
                    return unexpected(s.error());
            }
            if (auto stored = Traits::store(txn, slotAt(*s, count), *it); !stored)
                return stored;
            ++count;
            if (Traits::kOwnsBlocks && stepDue(txn, count - start)) {
                if (auto step = txn.set(body(txn, bodyAt)->length, count); !step)
                    return step;
                if (auto step = txn.commit(); !step)
                    return step;
            }
        }
        return count == body(txn, bodyAt)->length ? RegionExpected<void>() : txn.set(body(txn, bodyAt)->length, count);
    }

    static RegionExpected<std::optional<Value>> popBack(ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto s = state(txn, bodyAt);
        if (!s)
            return unexpected(s.error());
        if (s->length == 0)
            return std::optional<Value>();
        const Stored last = itemAt(txn, *s, s->length - 1);
        std::optional<Value> value = Traits::load(txn, last);
        if (auto dropped = Traits::drop(txn, last); !dropped)
            return unexpected(dropped.error());
        if (auto shortened = txn.set(body(txn, bodyAt)->length, s->length - 1); !shortened)
            return unexpected(shortened.error());
        return value;
    }

    static RegionExpected<std::optional<Value>> popFront(ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto s = state(txn, bodyAt);
        if (!s)
            return unexpected(s.error());
        if (s->length == 0)
            return std::optional<Value>();
        const Stored first = itemAt(txn, *s, 0);
        std::optional<Value> value = Traits::load(txn, first);
        if (auto dropped = Traits::drop(txn, first); !dropped)
            return unexpected(dropped.error());
        const std::uint64_t head = s->head + 1 == s->capacity ? 0 : s->head + 1;
        if (auto shortened = setHeadAndLength(txn, bodyAt, head, s->length - 1); !shortened)
            return unexpected(shortened.error());
        return value;
    }

    static RegionExpected<Value> get(const ContainerTxn& txn, std::uint64_t bodyAt, std::uint64_t index)
    {
        auto s = state(txn, bodyAt);
        if (!s)
            return unexpected(s.error());
        if (index >= s->length)
            return unexpected(RegionError::OutOfRange);
        return Traits::load(txn, itemAt(txn, *s, index));
    }

    static RegionExpected<void> set(ContainerTxn& txn, std::uint64_t bodyAt, std::uint64_t index, const auto& value)
    {
        auto s = state(txn, bodyAt);
        if (!s)
            return unexpected(s.error());
        if (index >= s->length)
            return unexpected(RegionError::OutOfRange);
        const std::uint64_t slot = slotAt(*s, index);
        const Stored old = itemAt(txn, *s, index);
        if (auto saved = txn.save(slot, kSize); !saved)
            return saved;
        if (auto dropped = Traits::drop(txn, old); !dropped)
            return dropped;
        return Traits::store(txn, slot, value);
    }

    // Drops every element. Elements that own blocks are dropped from the back in committed steps,
    // so the journal stays small; a process killed in between leaves a shorter, consistent deque.
    static RegionExpected<void> clear(ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto s = state(txn, bodyAt);
        if (!s)
            return unexpected(s.error());
        if constexpr (Traits::kOwnsBlocks) {
            for (std::uint64_t left = s->length; left > 0; --left) {
                if (auto popped = popBack(txn, bodyAt); !popped)
                    return unexpected(popped.error());
                if (stepDue(txn, left)) {
                    if (auto step = txn.commit(); !step)
                        return step;
                }
            }
            return {};
        } else {
            return s->length == 0 ? RegionExpected<void>() : setHeadAndLength(txn, bodyAt, 0, 0);
        }
    }

    static RegionExpected<void> reserveTotal(ContainerTxn& txn, std::uint64_t bodyAt, std::uint64_t wanted)
    {
        auto s = state(txn, bodyAt);
        if (!s)
            return unexpected(s.error());
        if (s->capacity >= wanted)
            return {};
        return rebuild(txn, bodyAt, wanted);
    }

    static RegionExpected<void> shrinkToFit(ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto s = state(txn, bodyAt);
        if (!s)
            return unexpected(s.error());
        if (s->capacity == s->length)
            return {};
        if (s->length > 0)
            return rebuild(txn, bodyAt, s->length);
        if (auto saved = txn.save(bodyAt, sizeof(format::DequeBody)); !saved)
            return saved;
        *body(txn, bodyAt) = {};
        return txn.release(s->data);
    }

    // Releases the array and everything its elements own.
    static RegionExpected<void> dropAll(ContainerTxn& txn, std::uint64_t bodyAt)
    {
        if (auto cleared = clear(txn, bodyAt); !cleared)
            return cleared;
        const std::uint64_t data = body(txn, bodyAt)->data;
        return data ? txn.release(data) : RegionExpected<void>();
    }

    // Calls `visit(index, Value)` for every element, front to back.
    template <class Visit>
    static RegionExpected<void> forEach(const ContainerTxn& txn, std::uint64_t bodyAt, Visit&& visit)
    {
        auto s = state(txn, bodyAt);
        if (!s)
            return unexpected(s.error());
        for (std::uint64_t i = 0; i < s->length; ++i)
            visit(i, Traits::load(txn, itemAt(txn, *s, i)));
        return {};
    }
};

} // namespace commy::shm::detail
