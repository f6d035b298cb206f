#pragma once

// SharedHashMap<K, V>: a hash map in a region, like std::unordered_map<K, V>. Keys and values are
// trivially copyable values or nested shared types (SharedString, SharedVec<U>), which read and
// write as their std counterparts. Every call takes the container's lock (or runs in a
// BatchGuard's) and either happens completely or not at all, even if the process is killed.
// get() and contains() of plain keys and values do not take the lock: they read optimistically
// and fall back to the lock only while writers keep changing the map (see detail/hash_table.h).

#include <commy/shm/detail/hash_table.h>
#include <commy/shm/detail/typed_container.h>
#include <commy/shm/element_traits.h>

#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace commy::shm {

template <class K, class V> class SharedHashMap : public detail::TypedContainer<SharedHashMap<K, V>> {
    using Base = detail::TypedContainer<SharedHashMap<K, V>>;
    using KeyTraits = detail::ElementTraits<K>;
    using ValueTraits = detail::ElementTraits<V>;
    using Ops = detail::HashOps<KeyTraits, ValueTraits>;
    using ValueStored = typename ValueTraits::Stored;
    friend Base;
    // Where the lock-free reads found the table last (see detail/hash_table.h).
    mutable detail::HashTableCache m_readCache;
    static constexpr bool kOptimisticReads = detail::PlainElement<K> && detail::PlainElement<V>;

public:
    using Key = typename KeyTraits::Value; // std::string for SharedString, std::vector<U> for SharedVec<U>
    using Value = typename ValueTraits::Value;
    using KeyLookup = typename KeyTraits::Lookup; // std::string_view for SharedString keys
    static constexpr RootKind kKind = RootKind::HashMap;

    SharedHashMap() = default;
    static std::string descriptor()
    {
        return "hashmap<" + KeyTraits::descriptor() + "," + ValueTraits::descriptor() + ">";
    }
    static detail::ElementLayout layout() { return Ops::layout(); }

    // Creates `name` holding the pairs of [first, last) (a later duplicate key overwrites); on
    // failure (a full region) no root is left behind.
    template <std::input_iterator It>
    static RegionExpected<SharedHashMap> fromIterIn(Region& region, std::string_view name, It first, It last)
    {
        return Base::createFilled(region, name, [&](SharedHashMap& map) { return map.extend(first, last); });
    }

    // Sets `key` to `value`; returns the value it replaced, if any.
    RegionExpected<std::optional<Value>> insert(const Key& key, const Value& value)
    {
        return this->run([&](detail::ContainerTxn& txn) { return insertIn(txn, key, value); });
    }
    // Inserts the pairs of [first, last). Committed in steps of 32, so a killed writer (or a full
    // region) leaves a prefix of them inserted.
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
                const auto& [key, value] = *it;
                if (auto inserted = insertIn(txn, key, value); !inserted)
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
    RegionExpected<std::optional<Value>> get(const KeyLookup& key) const
    {
        // Lock-free first, also inside a batch (where the lock held keeps writers out).
        if constexpr (kOptimisticReads) {
            Value value;
            const auto found = Ops::optimisticFind(this->ref(), m_readCache, key, &value);
            if (found != Ops::Optimistic::Busy)
                return found == Ops::Optimistic::Found ? std::optional<Value>(value) : std::optional<Value>();
        }
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::optional<Value>> {
            auto t = Ops::open(txn, this->bodyAt());
            if (!t)
                return unexpected(t.error());
            auto p = Ops::probe(txn, *t, key, KeyTraits::hashLookup(key));
            if (!p)
                return unexpected(p.error());
            if (p->found == Ops::npos)
                return std::optional<Value>();
            return std::optional<Value>(ValueTraits::load(txn, t->value(p->found)));
        });
    }
    RegionExpected<bool> contains(const KeyLookup& key) const
    {
        if constexpr (kOptimisticReads) {
            const auto found = Ops::optimisticFind(this->ref(), m_readCache, key, static_cast<void*>(nullptr));
            if (found != Ops::Optimistic::Busy)
                return found == Ops::Optimistic::Found;
        }
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<bool> {
            auto index = Ops::find(txn, this->bodyAt(), key);
            if (!index)
                return unexpected(index.error());
            return *index != Ops::npos;
        });
    }
    // Removes `key`; returns its value, or nullopt when it was not there.
    RegionExpected<std::optional<Value>> remove(const KeyLookup& key)
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::optional<Value>> {
            auto t = Ops::open(txn, this->bodyAt());
            if (!t)
                return unexpected(t.error());
            auto p = Ops::probe(txn, *t, key, KeyTraits::hashLookup(key));
            if (!p)
                return unexpected(p.error());
            if (p->found == Ops::npos)
                return std::optional<Value>();
            std::optional<Value> value = ValueTraits::load(txn, t->value(p->found));
            if (auto erased = Ops::eraseAt(txn, this->bodyAt(), *t, p->found); !erased)
                return unexpected(erased.error());
            return value;
        });
    }
    // Lets `change(Value&)` edit a copy of `key`'s value and stores it back, under one lock (the
    // counterpart of a mutable reference). False, and nothing called, when `key` is absent.
    template <class Change> RegionExpected<bool> modify(const KeyLookup& key, Change&& change)
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<bool> {
            auto t = Ops::open(txn, this->bodyAt());
            if (!t)
                return unexpected(t.error());
            auto p = Ops::probe(txn, *t, key, KeyTraits::hashLookup(key));
            if (!p)
                return unexpected(p.error());
            if (p->found == Ops::npos)
                return false;
            Value value = ValueTraits::load(txn, t->value(p->found));
            change(value);
            if (auto stored = storeValue(txn, t->slotAt(p->found), value); !stored)
                return unexpected(stored.error());
            return true;
        });
    }
    // Removes every entry and frees the table (reserve() before refilling a large map).
    RegionExpected<void> clear()
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::clear(txn, this->bodyAt()); });
    }
    RegionExpected<std::uint64_t> size() const
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::length(txn, this->bodyAt()); });
    }
    // Slots in the table; at most 7/8 of them hold entries before it grows by 1.5x.
    RegionExpected<std::uint64_t> capacity() const
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::capacity(txn, this->bodyAt()); });
    }
    // Room for at least `additional` more entries without another rebuild of the table.
    RegionExpected<void> reserve(std::uint64_t additional)
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::reserve(txn, this->bodyAt(), additional); });
    }
    // Rebuilds the table at the smallest capacity that holds the entries (frees it when empty).
    RegionExpected<void> shrinkToFit()
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::shrinkToFit(txn, this->bodyAt()); });
    }
    // Calls `visit(const Key&, const Value&)` for every entry, in slot order, under one lock.
    template <class Visit> RegionExpected<void> forEach(Visit&& visit) const
    {
        return this->run([&](detail::ContainerTxn& txn) {
            return Ops::forEachSlot(txn, this->bodyAt(), [&](const typename Ops::Table& t, std::uint64_t i) {
                visit(KeyTraits::load(txn, t.key(i)), ValueTraits::load(txn, t.value(i)));
            });
        });
    }
    RegionExpected<std::vector<Key>> keys() const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::vector<Key>> {
            std::vector<Key> result;
            auto visited = Ops::forEachSlot(txn, this->bodyAt(), [&](const typename Ops::Table& t, std::uint64_t i) {
                result.push_back(KeyTraits::load(txn, t.key(i)));
            });
            if (!visited)
                return unexpected(visited.error());
            return result;
        });
    }
    RegionExpected<std::vector<Value>> values() const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::vector<Value>> {
            std::vector<Value> result;
            auto visited = Ops::forEachSlot(txn, this->bodyAt(), [&](const typename Ops::Table& t, std::uint64_t i) {
                result.push_back(ValueTraits::load(txn, t.value(i)));
            });
            if (!visited)
                return unexpected(visited.error());
            return result;
        });
    }
    // Needs std::hash<Key> (so not for SharedVec keys; use forEach() there).
    RegionExpected<std::unordered_map<Key, Value>> toStd() const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::unordered_map<Key, Value>> {
            std::unordered_map<Key, Value> result;
            auto visited = Ops::forEachSlot(txn, this->bodyAt(), [&](const typename Ops::Table& t, std::uint64_t i) {
                result.emplace(KeyTraits::load(txn, t.key(i)), ValueTraits::load(txn, t.value(i)));
            });
            if (!visited)
                return unexpected(visited.error());
            return result;
        });
    }

private:
    explicit SharedHashMap(const detail::ContainerRef& ref)
        : Base(ref)
    {
    }
    static RegionExpected<void> dropContents(detail::ContainerTxn& txn, std::uint64_t bodyAt)
    {
        return Ops::clear(txn, bodyAt);
    }

    // Overwrites the value of the full slot at `slot` (journaled: it is reachable).
    static RegionExpected<void> storeValue(detail::ContainerTxn& txn, std::uint64_t slot, const Value& value)
    {
        const std::uint64_t at = slot + Ops::kGeometry.valueOffset;
        const auto* old = txn.at<ValueStored>(at);
        if (!old)
            return unexpected(RegionError::Corrupt);
        const ValueStored previous = *old;
        if (auto saved = txn.save(at, sizeof(ValueStored)); !saved)
            return saved;
        if (auto dropped = ValueTraits::drop(txn, previous); !dropped)
            return dropped;
        return ValueTraits::store(txn, at, value);
    }

    RegionExpected<std::optional<Value>> insertIn(detail::ContainerTxn& txn, const Key& key, const Value& value) const
    {
        auto slot = Ops::insertKey(txn, this->bodyAt(), key);
        if (!slot)
            return unexpected(slot.error());
        std::optional<Value> previous;
        if (slot->second) {
            const auto* old = txn.at<ValueStored>(slot->first + Ops::kGeometry.valueOffset);
            if (!old)
                return unexpected(RegionError::Corrupt);
            previous = ValueTraits::load(txn, *old);
            if (auto stored = storeValue(txn, slot->first, value); !stored)
                return unexpected(stored.error());
        } else if (auto stored = ValueTraits::store(txn, slot->first + Ops::kGeometry.valueOffset, value); !stored) {
            // A fresh slot: its value bytes are not reachable until this operation commits.
            return unexpected(stored.error());
        }
        return previous;
    }
};

} // namespace commy::shm
