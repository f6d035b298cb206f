#pragma once

// SharedBTreeSet<T>: an ordered set in a region, like std::set<T>, stored as a B-tree
// (detail/btree.h): insert, lookup and remove in O(log n), iteration in order, range queries.
// Elements are trivially copyable values or nested shared types (SharedString, SharedVec<U>),
// which read and write as their std counterparts. Every call takes the container's lock (or runs
// in a BatchGuard's) and happens completely or not at all.

#include <commy/shm/detail/btree.h>
#include <commy/shm/detail/typed_container.h>
#include <commy/shm/element_traits.h>

#include <cstdint>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace commy::shm {

template <class T> class SharedBTreeSet : public detail::TypedContainer<SharedBTreeSet<T>> {
    using Base = detail::TypedContainer<SharedBTreeSet<T>>;
    using Ops = detail::BTreeOps<T, void>;
    using Traits = typename Ops::KeyTraits;
    friend Base;

public:
    using Value = typename Ops::KeyValue; // std::string for SharedString, std::vector<U> for SharedVec<U>
    using Lookup = typename Ops::KeyLookup; // std::string_view for SharedString
    static constexpr RootKind kKind = RootKind::BTreeSet;

    SharedBTreeSet() = default;
    static std::string descriptor() { return "btreeset<" + Traits::descriptor() + ">"; }
    static detail::ElementLayout layout() { return { detail::storedSize<T>(), detail::storedAlign<T>(), 0, 0 }; }
    static std::uint64_t undoJournalBytes() { return Ops::kJournalBytes; }
    // Where elements lie in a node (capacity, minimum degree, sizes): fixed by T.
    static constexpr format::BTreeGeometry geometry() { return Ops::kGeometry; }

    // Creates `name`, empty.
    static RegionExpected<SharedBTreeSet> create(Region& region, std::string_view name)
    {
        const format::BTreeBody body = Ops::initialBody();
        auto ref = detail::ContainerRef::create(
            region, name, kKind, descriptor(), layout(), undoJournalBytes(), &body, sizeof body);
        if (!ref)
            return unexpected(ref.error());
        return SharedBTreeSet(*ref);
    }
    // Creates `name` holding the elements of [first, last) (duplicates once). Filled in committed
    // steps; if filling fails, the set is destroyed again and the error returned.
    template <std::input_iterator It>
    static RegionExpected<SharedBTreeSet> fromIterIn(Region& region, std::string_view name, It first, It last)
    {
        return Base::createFilled(region, name, [&](SharedBTreeSet& set) {
            return set.run([&](detail::ContainerTxn& txn) { return Ops::insertAll(txn, set.bodyAt(), first, last); });
        });
    }

    // True when `value` was not in the set yet.
    RegionExpected<bool> insert(const Lookup& value)
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::put(txn, this->bodyAt(), value, nullptr); });
    }
    RegionExpected<bool> contains(const Lookup& value) const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<bool> {
            auto slot = Ops::find(txn, this->bodyAt(), value);
            return slot ? RegionExpected<bool>(*slot != 0) : unexpected(slot.error());
        });
    }
    // True when `value` was in the set.
    RegionExpected<bool> remove(const Lookup& value)
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<bool> {
            auto slot = Ops::find(txn, this->bodyAt(), value);
            if (!slot)
                return unexpected(slot.error());
            if (*slot == 0)
                return false;
            if (auto removed = Ops::removeExisting(txn, this->bodyAt(), value); !removed)
                return unexpected(removed.error());
            return true;
        });
    }
    // Removes every element, a leaf at a time in committed steps (see SharedBTreeMap::clear).
    RegionExpected<void> clear()
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::clear(txn, this->bodyAt()); });
    }
    RegionExpected<std::uint64_t> size() const
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::length(txn, this->bodyAt()); });
    }
    // Levels of the tree: 0 when empty, 1 when the root is a leaf.
    RegionExpected<std::uint64_t> height() const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::uint64_t> {
            auto b = Ops::body(txn, this->bodyAt());
            return b ? RegionExpected<std::uint64_t>(b->height) : unexpected(b.error());
        });
    }

    // The smallest / largest element, or nullopt when empty.
    RegionExpected<std::optional<Value>> first() const { return edge(false); }
    RegionExpected<std::optional<Value>> last() const { return edge(true); }

    // Calls `visit(const Value&)` for every element in order, under one lock.
    template <class Visit> RegionExpected<void> forEach(Visit&& visit) const
    {
        return this->run([&](detail::ContainerTxn& txn) {
            return Ops::forEachFrom(txn, this->bodyAt(), nullptr, [&](const unsigned char* cell) {
                visit(Ops::keyOf(txn, cell));
                return true;
            });
        });
    }
    // Calls `visit(const Value&)` for the elements with lo <= element < hi, in order.
    template <class Visit> RegionExpected<void> forEachInRange(const Lookup& lo, const Lookup& hi, Visit&& visit) const
    {
        return this->run([&](detail::ContainerTxn& txn) {
            return Ops::forEachFrom(txn, this->bodyAt(), &lo, [&](const unsigned char* cell) {
                if (Ops::compareCell(txn, cell, hi) >= 0)
                    return false;
                visit(Ops::keyOf(txn, cell));
                return true;
            });
        });
    }
    // The elements with lo <= element < hi, in order.
    RegionExpected<std::vector<Value>> range(const Lookup& lo, const Lookup& hi) const
    {
        std::vector<Value> result;
        auto walked = forEachInRange(lo, hi, [&](const Value& v) { result.push_back(v); });
        if (!walked)
            return unexpected(walked.error());
        return result;
    }
    RegionExpected<std::set<Value>> toStd() const
    {
        std::set<Value> result;
        auto walked = forEach([&](const Value& v) { result.emplace_hint(result.end(), v); });
        if (!walked)
            return unexpected(walked.error());
        return result;
    }

    // Checks the tree under the lock (see SharedBTreeMap::checkSanity): nullopt when sound, else
    // the first problem found; an error only when the set cannot be locked.
    RegionExpected<std::optional<std::string>> checkSanity() const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::optional<std::string>> {
            return Ops::check(txn, this->bodyAt());
        });
    }

private:
    explicit SharedBTreeSet(const detail::ContainerRef& ref)
        : Base(ref)
    {
    }
    static RegionExpected<void> dropContents(detail::ContainerTxn& txn, std::uint64_t bodyAt)
    {
        return Ops::clear(txn, bodyAt);
    }
    RegionExpected<std::optional<Value>> edge(bool last) const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::optional<Value>> {
            auto slot = Ops::edge(txn, this->bodyAt(), last);
            if (!slot)
                return unexpected(slot.error());
            if (*slot == 0)
                return std::optional<Value>();
            return std::optional<Value>(Ops::keyAt(txn, *slot));
        });
    }
};

} // namespace commy::shm
