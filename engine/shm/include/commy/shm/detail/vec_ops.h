#pragma once

// Operations on a contiguous array (a VecBody), shared by SharedVec, SharedString and nested
// vectors. Everything is addressed by offsets: an allocation may move this process's mapping.

#include <commy/shm/container_txn.h>
#include <commy/shm/element_traits.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

namespace commy::shm::detail {

// Growth is 1.5x, and at least 4 elements.
inline std::uint64_t grownCapacity(std::uint64_t current, std::uint64_t needed)
{
    std::uint64_t next = current + current / 2;
    if (next < 4)
        next = 4;
    return next < needed ? needed : next;
}

// An insert or remove journals the elements it shifts when they are at most this many bytes;
// beyond that it builds a new array instead, so one operation never outgrows the journal.
inline constexpr std::uint64_t kInPlaceShiftBytes = 2048;

// Elements dropped per committed step when clearing elements that own blocks.
inline constexpr std::uint64_t kDropsPerStep = 32;

template <class Traits> struct VecOps {
    using Stored = typename Traits::Stored;
    using Value = typename Traits::Value;
    static constexpr std::uint64_t kSize = sizeof(Stored);
    static constexpr std::uint64_t npos = ~std::uint64_t { 0 };

    static format::VecBody* body(const ContainerTxn& txn, std::uint64_t bodyAt)
    {
        return txn.at<format::VecBody>(bodyAt);
    }
    // The array as it is now, or nullptr when the body points outside the arena.
    static Stored* items(const ContainerTxn& txn, const format::VecBody& b)
    {
        if (b.capacity == 0)
            return nullptr;
        if (b.length > b.capacity || b.capacity > (~std::uint64_t { 0 }) / kSize)
            return nullptr;
        return static_cast<Stored*>(txn.at(b.data, b.capacity * kSize));
    }
    static std::uint64_t slotAt(const format::VecBody& b, std::uint64_t index) { return b.data + index * kSize; }

    static RegionExpected<std::uint64_t> length(const ContainerTxn& txn, std::uint64_t bodyAt)
    {
        const format::VecBody* b = body(txn, bodyAt);
        if (!b || (b->length > 0 && !items(txn, *b)))
            return unexpected(RegionError::Corrupt);
        return b->length;
    }

    // Moves the elements to a new array of `capacity` slots, leaving a hole at `gapAt` (npos: none)
    // and leaving out element `skip` (npos: none). The caller fixes the length.
    static RegionExpected<void> rebuild(ContainerTxn& txn, std::uint64_t bodyAt, std::uint64_t capacity,
        std::uint64_t gapAt = npos, std::uint64_t skip = npos)
    {
        auto fresh = txn.allocate(capacity * kSize, alignof(Stored) > 16 ? alignof(Stored) : 16);
        if (!fresh)
            return unexpected(fresh.error());
        const format::VecBody old = *body(txn, bodyAt);
        const Stored* from = items(txn, old);
        auto* to = static_cast<unsigned char*>(txn.at(*fresh, capacity * kSize));
        if ((old.length > 0 && !from) || !to)
            return unexpected(RegionError::Corrupt);
        std::uint64_t out = 0;
        for (std::uint64_t i = 0; i < old.length; ++i) {
            if (i == gapAt)
                ++out;
            if (i == skip)
                continue;
            std::memcpy(to + out * kSize, &from[i], kSize); // elements own blocks by offset: a move
            ++out;
        }
        if (auto saved = txn.save(bodyAt, sizeof(format::VecBody)); !saved)
            return saved;
        format::VecBody* b = body(txn, bodyAt);
        b->data = *fresh;
        b->capacity = capacity;
        return old.data ? txn.release(old.data) : RegionExpected<void>();
    }

    static RegionExpected<void> reserveTotal(ContainerTxn& txn, std::uint64_t bodyAt, std::uint64_t wanted)
    {
        const format::VecBody* b = body(txn, bodyAt);
        if (!b)
            return unexpected(RegionError::Corrupt);
        if (b->capacity >= wanted)
            return {};
        return rebuild(txn, bodyAt, wanted);
    }

    static RegionExpected<void> setLength(ContainerTxn& txn, std::uint64_t bodyAt, std::uint64_t length)
    {
        return txn.set(body(txn, bodyAt)->length, length);
    }

    static RegionExpected<void> push(ContainerTxn& txn, std::uint64_t bodyAt, const auto& value)
    {
        auto n = length(txn, bodyAt);
        if (!n)
            return unexpected(n.error());
        if (*n == body(txn, bodyAt)->capacity) {
            if (auto grown = rebuild(txn, bodyAt, grownCapacity(*n, *n + 1)); !grown)
                return grown;
        }
        // The slot past the end is not reachable, so it is written without saving it.
        if (auto stored = Traits::store(txn, slotAt(*body(txn, bodyAt), *n), value); !stored)
            return stored;
        return setLength(txn, bodyAt, *n + 1);
    }

    // Appends [first, last) past the end and then sets the length once. Elements that own blocks
    // are committed in steps (each allocation is journaled), like clear().
    template <class It> static RegionExpected<void> append(ContainerTxn& txn, std::uint64_t bodyAt, It first, It last)
    {
        auto n = length(txn, bodyAt);
        if (!n)
            return unexpected(n.error());
        std::uint64_t count = *n;
        for (It it = first; it != last; ++it) {
            if (count == body(txn, bodyAt)->capacity) {
                if (count != body(txn, bodyAt)->length) {
                    if (auto grown = setLength(txn, bodyAt, count); !grown)
                        return grown;
                }
                if (auto grown = rebuild(txn, bodyAt, grownCapacity(count, count + 1)); !grown)
                    return grown;
            }
            if (auto stored = Traits::store(txn, slotAt(*body(txn, bodyAt), count), *it); !stored)
                return stored;
            ++count;
            if (Traits::kOwnsBlocks && (count - *n) % kDropsPerStep == 0) {
                if (auto step = setLength(txn, bodyAt, count); !step)
                    return step;
                if (auto step = txn.commit(); !step)
                    return step;
            }
        }
        return count == body(txn, bodyAt)->length ? RegionExpected<void>() : setLength(txn, bodyAt, count);
    }

    static RegionExpected<std::optional<Value>> pop(ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto n = length(txn, bodyAt);
        if (!n)
            return unexpected(n.error());
        if (*n == 0)
            return std::optional<Value>();
        const Stored last = items(txn, *body(txn, bodyAt))[*n - 1];
        std::optional<Value> value = Traits::load(txn, last);
        if (auto dropped = Traits::drop(txn, last); !dropped)
            return unexpected(dropped.error());
        if (auto shortened = setLength(txn, bodyAt, *n - 1); !shortened)
            return unexpected(shortened.error());
        return value;
    }

    static RegionExpected<Value> get(const ContainerTxn& txn, std::uint64_t bodyAt, std::uint64_t index)
    {
        auto n = length(txn, bodyAt);
        if (!n)
            return unexpected(n.error());
        if (index >= *n)
            return unexpected(RegionError::OutOfRange);
        return Traits::load(txn, items(txn, *body(txn, bodyAt))[index]);
    }

    static RegionExpected<void> set(ContainerTxn& txn, std::uint64_t bodyAt, std::uint64_t index, const auto& value)
    {
        auto n = length(txn, bodyAt);
        if (!n)
            return unexpected(n.error());
        if (index >= *n)
            return unexpected(RegionError::OutOfRange);
        const std::uint64_t slot = slotAt(*body(txn, bodyAt), index);
        const Stored old = items(txn, *body(txn, bodyAt))[index];
        if (auto saved = txn.save(slot, kSize); !saved)
            return saved;
        if (auto dropped = Traits::drop(txn, old); !dropped)
            return dropped;
        return Traits::store(txn, slot, value);
    }

    static RegionExpected<void> insert(ContainerTxn& txn, std::uint64_t bodyAt, std::uint64_t index, const auto& value)
    {
        auto n = length(txn, bodyAt);
        if (!n)
            return unexpected(n.error());
        if (index > *n)
            return unexpected(RegionError::OutOfRange);
        const std::uint64_t capacity = body(txn, bodyAt)->capacity;
        if (*n == capacity || (*n - index) * kSize > kInPlaceShiftBytes) {
            const std::uint64_t target = *n == capacity ? grownCapacity(*n, *n + 1) : capacity;
            if (auto rebuilt = rebuild(txn, bodyAt, target, index); !rebuilt)
                return rebuilt;
        } else {
            const format::VecBody b = *body(txn, bodyAt);
            if (auto saved = txn.save(slotAt(b, index), (*n - index) * kSize); !saved)
                return saved;
            Stored* array = items(txn, b);
            std::memmove(static_cast<void*>(array + index + 1), array + index, (*n - index) * kSize);
        }
        if (auto stored = Traits::store(txn, slotAt(*body(txn, bodyAt), index), value); !stored)
            return stored;
        return setLength(txn, bodyAt, *n + 1);
    }

    static RegionExpected<Value> remove(ContainerTxn& txn, std::uint64_t bodyAt, std::uint64_t index)
    {
        auto n = length(txn, bodyAt);
        if (!n)
            return unexpected(n.error());
        if (index >= *n)
            return unexpected(RegionError::OutOfRange);
        const Stored old = items(txn, *body(txn, bodyAt))[index];
        Value value = Traits::load(txn, old);
        if (auto dropped = Traits::drop(txn, old); !dropped)
            return unexpected(dropped.error());
        if ((*n - index - 1) * kSize > kInPlaceShiftBytes) {
            if (auto rebuilt = rebuild(txn, bodyAt, body(txn, bodyAt)->capacity, npos, index); !rebuilt)
                return unexpected(rebuilt.error());
        } else {
            const format::VecBody b = *body(txn, bodyAt);
            if (auto saved = txn.save(slotAt(b, index), (*n - index) * kSize); !saved)
                return unexpected(saved.error());
            Stored* array = items(txn, b);
            std::memmove(static_cast<void*>(array + index), array + index + 1, (*n - index - 1) * kSize);
        }
        if (auto shortened = setLength(txn, bodyAt, *n - 1); !shortened)
            return unexpected(shortened.error());
        return value;
    }

    // Drops every element. Elements that own blocks are dropped from the back in committed steps,
    // so the journal stays small; a process killed in between leaves a shorter, consistent array.
    static RegionExpected<void> clear(ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto n = length(txn, bodyAt);
        if (!n)
            return unexpected(n.error());
        if constexpr (Traits::kOwnsBlocks) {
            for (std::uint64_t left = *n; left > 0; --left) {
                if (auto popped = pop(txn, bodyAt); !popped)
                    return unexpected(popped.error());
                if (left % kDropsPerStep == 0) {
                    if (auto step = txn.commit(); !step)
                        return step;
                }
            }
            return {};
        } else {
            return *n == 0 ? RegionExpected<void>() : setLength(txn, bodyAt, 0);
        }
    }

    static RegionExpected<void> shrinkToFit(ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto n = length(txn, bodyAt);
        if (!n)
            return unexpected(n.error());
        const format::VecBody b = *body(txn, bodyAt);
        if (b.capacity == *n)
            return {};
        if (*n > 0)
            return rebuild(txn, bodyAt, *n);
        if (auto saved = txn.save(bodyAt, sizeof(format::VecBody)); !saved)
            return saved;
        *body(txn, bodyAt) = {};
        return txn.release(b.data);
    }

    // Releases the array and everything its elements own, without touching the body.
    static RegionExpected<void> dropAll(ContainerTxn& txn, std::uint64_t bodyAt)
    {
        if (auto cleared = clear(txn, bodyAt); !cleared)
            return cleared;
        const std::uint64_t data = body(txn, bodyAt)->data;
        return data ? txn.release(data) : RegionExpected<void>();
    }

    static RegionExpected<std::vector<Value>> toStd(const ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto n = length(txn, bodyAt);
        if (!n)
            return unexpected(n.error());
        std::vector<Value> result;
        result.reserve(*n);
        const Stored* array = items(txn, *body(txn, bodyAt));
        for (std::uint64_t i = 0; i < *n; ++i)
            result.push_back(Traits::load(txn, array[i]));
        return result;
    }
};

} // namespace commy::shm::detail
