#pragma once

// SharedHashSet<T>: a hash set in a region, like std::unordered_set<T>. Elements are trivially
// copyable values or nested shared types (SharedString, SharedVec<U>), which read and write as
// their std counterparts. Every call takes the container's lock (or runs in a BatchGuard's) and
// either happens completely or not at all, even if the process is killed. contains() of plain
// elements does not take the lock (see detail/hash_table.h).

#include <commy/shm/detail/hash_table.h>
#include <commy/shm/detail/typed_container.h>
#include <commy/shm/element_traits.h>

#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace commy::shm {

template <class T> class SharedHashSet : public detail::TypedContainer<SharedHashSet<T>> {
    using Base = detail::TypedContainer<SharedHashSet<T>>;
    using Traits = detail::ElementTraits<T>;
    using Ops = detail::HashOps<Traits>;
    friend Base;
    // Where the lock-free reads found the table last (see detail/hash_table.h).
    mutable detail::HashTableCache m_readCache;
    static constexpr bool kOptimisticReads = detail::PlainElement<T>;

public:
    using Value = typename Traits::Value; // std::string for SharedString, std::vector<U> for SharedVec<U>
    using Lookup = typename Traits::Lookup; // std::string_view for SharedString
    static constexpr RootKind kKind = RootKind::HashSet;

    SharedHashSet() = default;
    static std::string descriptor() { return "hashset<" + Traits::descriptor() + ">"; }
    static detail::ElementLayout layout() { return Ops::layout(); }

    // Creates `name` holding the elements of [first, last); on failure no root is left behind.
    template <std::input_iterator It>
    static RegionExpected<SharedHashSet> fromIterIn(Region& region, std::string_view name, It first, It last)
    {
        return Base::createFilled(region, name, [&](SharedHashSet& set) { return set.extend(first, last); });
    }

    // True when `value` was not there before.
    RegionExpected<bool> insert(const Value& value)
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<bool> {
            auto slot = Ops::insertKey(txn, this->bodyAt(), value);
            if (!slot)
                return unexpected(slot.error());
            return !slot->second;
        });
    }
    // Inserts the elements of [first, last). Committed in steps of 32, so a killed writer (or a
    // full region) leaves a prefix of them inserted.
    template <std::input_iterator It> RegionExpected<void> extend(It first, It last)
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<void> {
            if constexpr (std::forward_iterator<It>) {
                if (auto reserved
                    = Ops::reserve(txn, this->bodyAt(), static_cast<std::uint64_t>(std::distance(first, last)));
                    !reserved)
                    return reserved;
            }
            std::uint64_t inStep = 0;
            for (It it = first; it != last; ++it) {
                if (auto inserted = Ops::insertKey(txn, this->bodyAt(), *it); !inserted)
                    return unexpected(inserted.error());
                if (++inStep == detail::kHashEntriesPerStep) {
                    inStep = 0;
                    if (auto step = txn.commit(); !step)
                        return step;
                }
            }
            return {};
        });
    }
    RegionExpected<bool> contains(const Lookup& value) const
    {
        if constexpr (kOptimisticReads) {
            const auto found = Ops::optimisticFind(this->ref(), m_readCache, value, static_cast<void*>(nullptr));
            if (found != Ops::Optimistic::Busy)
                return found == Ops::Optimistic::Found;
        }
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<bool> {
            auto index = Ops::find(txn, this->bodyAt(), value);
            if (!index)
                return unexpected(index.error());
            return *index != Ops::npos;
        });
    }
    // True when `value` was there.
    RegionExpected<bool> remove(const Lookup& value)
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<bool> {
            auto t = Ops::open(txn, this->bodyAt());
            if (!t)
                return unexpected(t.error());
            auto p = Ops::probe(txn, *t, value, Traits::hashLookup(value));
            if (!p)
                return unexpected(p.error());
            if (p->found == Ops::npos)
                return false;
            if (auto erased = Ops::eraseAt(txn, this->bodyAt(), *t, p->found); !erased)
                return unexpected(erased.error());
            return true;
        });
    }
    // Removes every element and frees the table.
    RegionExpected<void> clear()
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::clear(txn, this->bodyAt()); });
    }
    RegionExpected<std::uint64_t> size() const
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::length(txn, this->bodyAt()); });
    }
    // Slots in the table; at most 7/8 of them hold elements before it grows by 1.5x.
    RegionExpected<std::uint64_t> capacity() const
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::capacity(txn, this->bodyAt()); });
    }
    RegionExpected<void> reserve(std::uint64_t additional)
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::reserve(txn, this->bodyAt(), additional); });
    }
    RegionExpected<void> shrinkToFit()
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::shrinkToFit(txn, this->bodyAt()); });
    }
    // Calls `visit(const Value&)` for every element, in slot order, under one lock.
    template <class Visit> RegionExpected<void> forEach(Visit&& visit) const
    {
        return this->run([&](detail::ContainerTxn& txn) {
            return Ops::forEachSlot(txn, this->bodyAt(),
                [&](const typename Ops::Table& t, std::uint64_t i) { visit(Traits::load(txn, t.key(i))); });
        });
    }
    // Needs std::hash<Value> (so not for SharedVec elements; use forEach() there).
    RegionExpected<std::unordered_set<Value>> toStd() const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::unordered_set<Value>> {
            std::unordered_set<Value> result;
            auto visited = Ops::forEachSlot(txn, this->bodyAt(),
                [&](const typename Ops::Table& t, std::uint64_t i) { result.insert(Traits::load(txn, t.key(i))); });
            if (!visited)
                return unexpected(visited.error());
            return result;
        });
    }

private:
    explicit SharedHashSet(const detail::ContainerRef& ref)
        : Base(ref)
    {
    }
    static RegionExpected<void> dropContents(detail::ContainerTxn& txn, std::uint64_t bodyAt)
    {
        return Ops::clear(txn, bodyAt);
    }
};

} // namespace commy::shm
