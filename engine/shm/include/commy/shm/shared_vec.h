#pragma once

// SharedVec<T>: a growable array in a region, like std::vector<T>. Elements are trivially copyable
// values or nested shared types (SharedString, SharedVec<U>), which read and write as their std
// counterparts (std::string, std::vector<U>). Every call takes the container's lock (or runs in a
// BatchGuard's) and either happens completely or not at all, even if the process is killed.

#include <commy/shm/detail/typed_container.h>
#include <commy/shm/detail/vec_ops.h>
#include <commy/shm/element_traits.h>

#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>
#include <vector>

namespace commy::shm {

template <class T> class SharedVec : public detail::TypedContainer<SharedVec<T>> {
    using Base = detail::TypedContainer<SharedVec<T>>;
    using Traits = detail::ElementTraits<T>;
    using Ops = detail::VecOps<Traits>;
    friend Base;

public:
    using Value = typename Traits::Value;
    static constexpr RootKind kKind = RootKind::Vec;

    SharedVec() = default;
    static std::string descriptor() { return "vec<" + Traits::descriptor() + ">"; }
    static detail::ElementLayout layout() { return { detail::storedSize<T>(), detail::storedAlign<T>(), 0, 0 }; }

    // Creates `name` holding [first, last); on failure (a full region) no root is left behind.
    template <std::input_iterator It>
    static RegionExpected<SharedVec> fromIterIn(Region& region, std::string_view name, It first, It last)
    {
        return Base::createFilled(region, name, [&](SharedVec& vec) { return vec.extend(first, last); });
    }

    RegionExpected<void> push(const Value& value)
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::push(txn, this->bodyAt(), value); });
    }
    // Appends [first, last). Plain elements are appended in one step; elements that own blocks
    // (strings, vectors) in committed steps of 32, so a killed writer leaves a prefix appended.
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
    RegionExpected<std::optional<Value>> pop()
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::pop(txn, this->bodyAt()); });
    }
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
    RegionExpected<void> insert(std::uint64_t index, const Value& value)
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::insert(txn, this->bodyAt(), index, value); });
    }
    RegionExpected<Value> remove(std::uint64_t index)
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::remove(txn, this->bodyAt(), index); });
    }
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
            return Ops::body(txn, this->bodyAt())->capacity;
        });
    }
    // Room for at least `additional` more elements without another allocation.
    RegionExpected<void> reserve(std::uint64_t additional)
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<void> {
            auto n = Ops::length(txn, this->bodyAt());
            if (!n)
                return unexpected(n.error());
            return Ops::reserveTotal(txn, this->bodyAt(), *n + additional);
        });
    }
    RegionExpected<void> shrinkToFit()
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::shrinkToFit(txn, this->bodyAt()); });
    }
    // Calls `visit(index, const Value&)` for every element, in order, under one lock.
    template <class Visit> RegionExpected<void> forEach(Visit&& visit) const
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<void> {
            auto n = Ops::length(txn, this->bodyAt());
            if (!n)
                return unexpected(n.error());
            const auto* items = Ops::items(txn, *Ops::body(txn, this->bodyAt()));
            for (std::uint64_t i = 0; i < *n; ++i)
                visit(i, Traits::load(txn, items[i]));
            return {};
        });
    }
    RegionExpected<std::vector<Value>> toStd() const
    {
        return this->run([&](detail::ContainerTxn& txn) { return Ops::toStd(txn, this->bodyAt()); });
    }

private:
    explicit SharedVec(const detail::ContainerRef& ref)
        : Base(ref)
    {
    }
    static RegionExpected<void> dropContents(detail::ContainerTxn& txn, std::uint64_t bodyAt)
    {
        return Ops::dropAll(txn, bodyAt);
    }
};

} // namespace commy::shm
