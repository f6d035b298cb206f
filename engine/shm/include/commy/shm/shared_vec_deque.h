#pragma once

// SharedVecDeque<T>: a double-ended queue in a region, like std::deque<T>, stored as a ring buffer
// (element i at data[(head + i) % capacity], growing 1.5x). Pushing or popping at either end moves
// no element. Elements are trivially copyable values or nested shared types (SharedString,
// SharedVec<U>), read and written as their std counterparts. Every call takes the container's lock
// (or runs in a BatchGuard's) and either happens completely or not at all, even if the process is
// killed.

#include <commy/shm/detail/deque_ops.h>
#include <commy/shm/detail/typed_container.h>
#include <commy/shm/element_traits.h>

#include <cstdint>
#include <deque>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

namespace commy::shm {

template <class T> class SharedVecDeque : public detail::TypedContainer<SharedVecDeque<T>> {
    using Base = detail::TypedContainer<SharedVecDeque<T>>;
    using Traits = detail::ElementTraits<T>;
    using Ops = detail::DequeOps<Traits>;
    friend Base;

public:
    using Value = typename Traits::Value;
    static constexpr RootKind kKind = RootKind::VecDeque;

    SharedVecDeque() = default;
    static std::string descriptor() { return "deque<" + Traits::descriptor() + ">"; }
    static detail::ElementLayout layout() { return { detail::storedSize<T>(), detail::storedAlign<T>(), 0, 0 }; }

    // Creates `name` holding [first, last) front to back. On failure nothing named `name` is left.
    template <std::input_iterator It>
    static RegionExpected<SharedVecDeque> fromIterIn(Region& region, std::string_view name, It first, It last)
    {
        return Base::createFilled(region, name, [&](SharedVecDeque& deque) { return deque.extend(first, last); });
    }

    RegionExpected<void> pushBack(const Value& value)
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::pushBack(txn, this->bodyAt(), value); });
    }
    RegionExpected<void> pushFront(const Value& value)
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::pushFront(txn, this->bodyAt(), value); });
    }
    // Appends [first, last) at the back. Plain elements are appended in one step; elements that own
    // blocks in committed steps of 32, so a killed writer leaves a prefix appended.
    template <std::input_iterator It> RegionExpected<void> extend(It first, It last)
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<void> {
            if constexpr (std::forward_iterator<It>) {
                auto n = Ops::length(txn, this->bodyAt());
                if (!n)
                    return unexpected(n.error());
                const auto wanted = *n + static_cast<std::uint64_t>(std::distance(first, last));
                if (auto reserved = Ops::reserveTotal(txn, this->bodyAt(), wanted); !reserved)
                    return reserved;
            }
            return Ops::append(txn, this->bodyAt(), first, last);
        });
    }
    // The removed element, or nullopt when the deque is empty.
    RegionExpected<std::optional<Value>> popBack()
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::popBack(txn, this->bodyAt()); });
    }
    RegionExpected<std::optional<Value>> popFront()
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::popFront(txn, this->bodyAt()); });
    }
    // The first / last element, or nullopt when the deque is empty.
    RegionExpected<std::optional<Value>> front() const { return end(true); }
    RegionExpected<std::optional<Value>> back() const { return end(false); }
    // OutOfRange past the end.
    RegionExpected<Value> get(std::uint64_t index) const
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::get(txn, this->bodyAt(), index); });
    }
    RegionExpected<void> set(std::uint64_t index, const Value& value)
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::set(txn, this->bodyAt(), index, value); });
    }
    // Reads element `index`, lets `change(Value&)` edit the copy and stores it back, under one lock.
    template <class Change> RegionExpected<void> modify(std::uint64_t index, Change&& change)
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<void> {
            auto value = Ops::get(txn, this->bodyAt(), index);
            if (!value)
                return unexpected(value.error());
            change(*value);
            return Ops::set(txn, this->bodyAt(), index, *value);
        });
    }
    // Elements that own blocks (strings, vectors) are dropped in committed steps of 32 from the back.
    RegionExpected<void> clear()
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::clear(txn, this->bodyAt()); });
    }
    RegionExpected<std::uint64_t> size() const
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::length(txn, this->bodyAt()); });
    }
    RegionExpected<std::uint64_t> capacity() const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::uint64_t> {
            auto s = Ops::state(txn, this->bodyAt());
            if (!s)
                return unexpected(s.error());
            return s->capacity;
        });
    }
    // Room for at least `additional` more elements without another allocation.
    RegionExpected<void> reserve(std::uint64_t additional)
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<void> {
            auto n = Ops::length(txn, this->bodyAt());
            if (!n)
                return unexpected(n.error());
            if (additional > Ops::kMaxCapacity)
                return unexpected(RegionError::OutOfMemory);
            return Ops::reserveTotal(txn, this->bodyAt(), *n + additional);
        });
    }
    // Capacity down to the length (the elements then start at the front of their array).
    RegionExpected<void> shrinkToFit()
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::shrinkToFit(txn, this->bodyAt()); });
    }
    // Calls `visit(index, const Value&)` for every element, front to back, under one lock.
    template <class Visit> RegionExpected<void> forEach(Visit&& visit) const
    {
        return this->run([&](detail::ContainerTxn& txn) {
            return Ops::forEach(txn, this->bodyAt(), [&](std::uint64_t i, const Value& value) { visit(i, value); });
        });
    }
    RegionExpected<std::deque<Value>> toStd() const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::deque<Value>> {
            std::deque<Value> result;
            auto visited = Ops::forEach(
                txn, this->bodyAt(), [&](std::uint64_t, Value value) { result.push_back(std::move(value)); });
            if (!visited)
                return unexpected(visited.error());
            return result;
        });
    }

private:
    explicit SharedVecDeque(const detail::ContainerRef& ref)
        : Base(ref)
    {
    }
    static RegionExpected<void> dropContents(detail::ContainerTxn& txn, std::uint64_t bodyAt)
    {
        return Ops::dropAll(txn, bodyAt);
    }
    RegionExpected<std::optional<Value>> end(bool front) const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<std::optional<Value>> {
            auto n = Ops::length(txn, this->bodyAt());
            if (!n)
                return unexpected(n.error());
            if (*n == 0)
                return std::optional<Value>();
            auto value = Ops::get(txn, this->bodyAt(), front ? 0 : *n - 1);
            if (!value)
                return unexpected(value.error());
            return std::optional<Value>(std::move(*value));
        });
    }
};

} // namespace commy::shm
