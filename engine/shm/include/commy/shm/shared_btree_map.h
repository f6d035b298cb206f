#pragma once

// SharedBTreeMap<K, V>: an ordered map in a region, like std::map<K, V>, stored as a B-tree
// (detail/btree.h): insert, lookup and remove in O(log n), iteration in key order, range queries.
// Keys and values are trivially copyable values or nested shared types (SharedString,
// SharedVec<U>), which read and write as their std counterparts; keys compare with the element
// traits (strings bytewise, numbers numerically, other plain structs by their bytes). Every call
// takes the container's lock (or runs in a BatchGuard's) and happens completely or not at all.

#include <commy/shm/detail/btree.h>
#include <commy/shm/detail/typed_container.h>
#include <commy/shm/element_traits.h>

#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace commy::shm {

template <class K, class V> class SharedBTreeMap : public detail::TypedContainer<SharedBTreeMap<K, V>> {
    using Base = detail::TypedContainer<SharedBTreeMap<K, V>>;
    using Ops = detail::BTreeOps<K, V>;
    using KeyTraits = typename Ops::KeyTraits;
    using ValueTraits = typename Ops::ValueTraits;
    friend Base;

public:
    using Key = typename Ops::KeyValue; // std::string for SharedString, std::vector<U> for SharedVec<U>
    using Value = typename Ops::ValueValue;
    using KeyLookup = typename Ops::KeyLookup; // std::string_view for SharedString
    using ValueArg = typename Ops::ValueLookup;
    static constexpr RootKind kKind = RootKind::BTreeMap;

    SharedBTreeMap() = default;
    static std::string descriptor()
    {
        return "btreemap<" + KeyTraits::descriptor() + "," + ValueTraits::descriptor() + ">";
    }
    static detail::ElementLayout layout()
    {
        return { detail::storedSize<K>(), detail::storedAlign<K>(), detail::storedSize<V>(), detail::storedAlign<V>() };
    }
    static std::uint64_t undoJournalBytes() { return Ops::kJournalBytes; }
    // Where elements lie in a node (capacity, minimum degree, sizes): fixed by K and V.
    static constexpr format::BTreeGeometry geometry() { return Ops::kGeometry; }

    // Creates `name`, empty.
    static RegionExpected<SharedBTreeMap> create(Region& region, std::string_view name)
    {
        const format::BTreeBody body = Ops::initialBody();
        auto ref = detail::ContainerRef::create(
            region, name, kKind, descriptor(), layout(), undoJournalBytes(), &body, sizeof body);
        if (!ref)
            return unexpected(ref.error());
        return SharedBTreeMap(*ref);
    }
    // Creates `name` holding the (key, value) pairs of [first, last); a later pair replaces an
    // earlier one with the same key. Filled in committed steps; if filling fails, the map is
    // destroyed again and the error returned.
    template <std::input_iterator It>
    static RegionExpected<SharedBTreeMap> fromIterIn(Region& region, std::string_view name, It first, It last)
    {
        return Base::createFilled(region, name, [&](SharedBTreeMap& map) {
            return map.run([&](detail::ContainerTxn& txn) { return Ops::insertAll(txn, map.bodyAt(), first, last); });
        });
    }

    // Inserts or replaces; returns the value `key` had before, if any.
    RegionExpected<std::optional<Value>> insert(const KeyLookup& key, const ValueArg& value)
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::optional<Value>> {
            std::optional<Value> previous;
            auto put = Ops::put(txn, this->bodyAt(), key, &value, &previous);
            if (!put)
                return unexpected(put.error());
            return previous;
        });
    }
    RegionExpected<std::optional<Value>> get(const KeyLookup& key) const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::optional<Value>> {
            auto slot = Ops::find(txn, this->bodyAt(), key);
            if (!slot)
                return unexpected(slot.error());
            return *slot ? std::optional<Value>(Ops::valueAt(txn, *slot)) : std::nullopt;
        });
    }
    RegionExpected<bool> contains(const KeyLookup& key) const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<bool> {
            auto slot = Ops::find(txn, this->bodyAt(), key);
            return slot ? RegionExpected<bool>(*slot != 0) : unexpected(slot.error());
        });
    }
    // Removes `key`; returns its value, or nullopt when it was not there.
    RegionExpected<std::optional<Value>> remove(const KeyLookup& key)
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::optional<Value>> {
            auto slot = Ops::find(txn, this->bodyAt(), key);
            if (!slot)
                return unexpected(slot.error());
            if (*slot == 0)
                return std::optional<Value>();
            std::optional<Value> value = Ops::valueAt(txn, *slot);
            if (auto removed = Ops::removeExisting(txn, this->bodyAt(), key); !removed)
                return unexpected(removed.error());
            return value;
        });
    }
    // Reads the value of `key`, lets `change(Value&)` edit the copy and stores it back, under one
    // lock. False (and `change` is not called) when `key` is not there.
    template <class Change> RegionExpected<bool> modify(const KeyLookup& key, Change&& change)
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<bool> {
            auto slot = Ops::find(txn, this->bodyAt(), key);
            if (!slot)
                return unexpected(slot.error());
            if (*slot == 0)
                return false;
            Value value = Ops::valueAt(txn, *slot);
            change(value);
            const ValueArg stored = value;
            if (auto replaced = Ops::replaceValue(txn, *slot, stored); !replaced)
                return unexpected(replaced.error());
            return true;
        });
    }
    // Removes every entry, a leaf at a time, committing whenever the undo journal might not hold
    // the next leaf (a large map frees many nodes and strings): a process killed in between leaves
    // a smaller, sound map. Each committed step bumps the version.
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

    // The entry with the smallest / largest key, or nullopt when empty.
    RegionExpected<std::optional<std::pair<Key, Value>>> first() const { return edge(false); }
    RegionExpected<std::optional<std::pair<Key, Value>>> last() const { return edge(true); }

    // Calls `visit(const Key&, const Value&)` for every entry in key order, under one lock.
    template <class Visit> RegionExpected<void> forEach(Visit&& visit) const
    {
        return this->run([&](detail::ContainerTxn& txn) {
            return Ops::forEachFrom(txn, this->bodyAt(), nullptr, [&](const unsigned char* cell) {
                visit(Ops::keyOf(txn, cell), Ops::valueOf(txn, cell));
                return true;
            });
        });
    }
    // Calls `visit(const Key&, const Value&)` for the entries with lo <= key < hi, in key order.
    template <class Visit>
    RegionExpected<void> forEachInRange(const KeyLookup& lo, const KeyLookup& hi, Visit&& visit) const
    {
        return this->run([&](detail::ContainerTxn& txn) {
            return Ops::forEachFrom(txn, this->bodyAt(), &lo, [&](const unsigned char* cell) {
                if (Ops::compareCell(txn, cell, hi) >= 0)
                    return false;
                visit(Ops::keyOf(txn, cell), Ops::valueOf(txn, cell));
                return true;
            });
        });
    }
    // The entries with lo <= key < hi, in key order.
    RegionExpected<std::vector<std::pair<Key, Value>>> range(const KeyLookup& lo, const KeyLookup& hi) const
    {
        std::vector<std::pair<Key, Value>> result;
        auto walked = forEachInRange(lo, hi, [&](const Key& k, const Value& v) { result.emplace_back(k, v); });
        if (!walked)
            return unexpected(walked.error());
        return result;
    }
    RegionExpected<std::vector<Key>> keys() const
    {
        std::vector<Key> result;
        auto walked = this->run([&](detail::ContainerTxn& txn) {
            return Ops::forEachFrom(txn, this->bodyAt(), nullptr, [&](const unsigned char* cell) {
                result.push_back(Ops::keyOf(txn, cell));
                return true;
            });
        });
        if (!walked)
            return unexpected(walked.error());
        return result;
    }
    RegionExpected<std::vector<Value>> values() const
    {
        std::vector<Value> result;
        auto walked = this->run([&](detail::ContainerTxn& txn) {
            return Ops::forEachFrom(txn, this->bodyAt(), nullptr, [&](const unsigned char* cell) {
                result.push_back(Ops::valueOf(txn, cell));
                return true;
            });
        });
        if (!walked)
            return unexpected(walked.error());
        return result;
    }
    RegionExpected<std::map<Key, Value>> toStd() const
    {
        std::map<Key, Value> result;
        auto walked = forEach([&](const Key& k, const Value& v) { result.emplace_hint(result.end(), k, v); });
        if (!walked)
            return unexpected(walked.error());
        return result;
    }

    // Checks the tree under the lock: the shape (node bounds, counts, every leaf at the same depth,
    // subtree counts, length) and that the keys ascend. nullopt when sound, else the first problem
    // found; an error only when the map cannot be locked.
    RegionExpected<std::optional<std::string>> checkSanity() const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::optional<std::string>> {
            return Ops::check(txn, this->bodyAt());
        });
    }

private:
    explicit SharedBTreeMap(const detail::ContainerRef& ref)
        : Base(ref)
    {
    }
    static RegionExpected<void> dropContents(detail::ContainerTxn& txn, std::uint64_t bodyAt)
    {
        return Ops::clear(txn, bodyAt);
    }
    RegionExpected<std::optional<std::pair<Key, Value>>> edge(bool last) const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::optional<std::pair<Key, Value>>> {
            auto slot = Ops::edge(txn, this->bodyAt(), last);
            if (!slot)
                return unexpected(slot.error());
            if (*slot == 0)
                return std::optional<std::pair<Key, Value>>();
            const unsigned char* cell = Ops::cell(txn, *slot);
            return std::optional<std::pair<Key, Value>>(std::in_place, Ops::keyOf(txn, cell), Ops::valueOf(txn, cell));
        });
    }
};

} // namespace commy::shm
