#pragma once

// SharedString: a growable byte string in a region, like std::string. As an element of another
// container it reads and writes as std::string.

#include <commy/shm/detail/typed_container.h>
#include <commy/shm/detail/vec_ops.h>
#include <commy/shm/element_traits.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace commy::shm {

class SharedString : public detail::TypedContainer<SharedString> {
    using Base = detail::TypedContainer<SharedString>;
    using Ops = detail::VecOps<detail::ElementTraits<char>>;
    friend Base;

public:
    static constexpr RootKind kKind = RootKind::String;

    SharedString() = default;
    static std::string descriptor() { return "string"; }
    static detail::ElementLayout layout() { return { 1, 1, 0, 0 }; }

    static RegionExpected<SharedString> fromStrIn(Region& region, std::string_view name, std::string_view text)
    {
        return createFilled(region, name, [&](SharedString& string) { return string.assign(text); });
    }

    RegionExpected<void> append(std::string_view text)
    {
        return run([&](detail::ContainerTxn& txn) { return appendIn(txn, text); });
    }
    RegionExpected<void> assign(std::string_view text)
    {
        return run([&](detail::ContainerTxn& txn) -> RegionExpected<void> {
            auto n = Ops::length(txn, bodyAt());
            if (!n)
                return unexpected(n.error());
            const std::uint64_t capacity = Ops::body(txn, bodyAt())->capacity;
            if (auto cleared = Ops::clear(txn, bodyAt()); !cleared)
                return cleared;
            // A new text that fits is written over the old bytes, which stay reachable until this
            // operation commits: an undo must find them again. A short overlap is journaled; a long
            // one goes to a fresh array instead, so that the journal stays small.
            const std::uint64_t overwritten = std::min<std::uint64_t>(*n, text.size());
            if (overwritten > 0 && text.size() <= capacity) {
                if (overwritten <= detail::kInPlaceShiftBytes) {
                    if (auto saved = txn.save(Ops::body(txn, bodyAt())->data, overwritten); !saved)
                        return saved;
                } else if (auto fresh = Ops::rebuild(txn, bodyAt(), capacity); !fresh) {
                    return fresh;
                }
            }
            return appendIn(txn, text);
        });
    }
    RegionExpected<void> push(char c) { return append(std::string_view(&c, 1)); }
    RegionExpected<std::optional<char>> pop()
    {
        return run([&](detail::ContainerTxn& txn) { return Ops::pop(txn, bodyAt()); });
    }
    RegionExpected<char> get(std::uint64_t index) const
    {
        return run([&](detail::ContainerTxn& txn) { return Ops::get(txn, bodyAt(), index); });
    }
    RegionExpected<void> set(std::uint64_t index, char c)
    {
        return run([&](detail::ContainerTxn& txn) { return Ops::set(txn, bodyAt(), index, c); });
    }
    RegionExpected<void> insert(std::uint64_t index, char c)
    {
        return run([&](detail::ContainerTxn& txn) { return Ops::insert(txn, bodyAt(), index, c); });
    }
    RegionExpected<char> remove(std::uint64_t index)
    {
        return run([&](detail::ContainerTxn& txn) { return Ops::remove(txn, bodyAt(), index); });
    }
    RegionExpected<void> clear()
    {
        return run([&](detail::ContainerTxn& txn) { return Ops::clear(txn, bodyAt()); });
    }
    RegionExpected<std::uint64_t> size() const
    {
        return run([&](detail::ContainerTxn& txn) { return Ops::length(txn, bodyAt()); });
    }
    RegionExpected<void> reserve(std::uint64_t additional)
    {
        return run([&](detail::ContainerTxn& txn) -> RegionExpected<void> {
            auto n = Ops::length(txn, bodyAt());
            if (!n)
                return unexpected(n.error());
            return Ops::reserveTotal(txn, bodyAt(), *n + additional);
        });
    }
    RegionExpected<void> shrinkToFit()
    {
        return run([&](detail::ContainerTxn& txn) { return Ops::shrinkToFit(txn, bodyAt()); });
    }
    RegionExpected<std::string> toStd() const
    {
        return run([&](detail::ContainerTxn& txn) -> RegionExpected<std::string> {
            auto n = Ops::length(txn, bodyAt());
            if (!n)
                return unexpected(n.error());
            return std::string(detail::viewOf<char>(txn, *Ops::body(txn, bodyAt())));
        });
    }

private:
    explicit SharedString(const detail::ContainerRef& ref)
        : Base(ref)
    {
    }
    static RegionExpected<void> dropContents(detail::ContainerTxn& txn, std::uint64_t bodyAt)
    {
        return Ops::dropAll(txn, bodyAt);
    }
    RegionExpected<void> appendIn(detail::ContainerTxn& txn, std::string_view text) const
    {
        auto n = Ops::length(txn, bodyAt());
        if (!n)
            return unexpected(n.error());
        if (text.empty())
            return {};
        const std::uint64_t capacity = Ops::body(txn, bodyAt())->capacity;
        if (*n + text.size() > capacity) {
            const std::uint64_t wanted = detail::grownCapacity(capacity, *n + text.size());
            if (auto grown = Ops::rebuild(txn, bodyAt(), wanted); !grown)
                return grown;
        }
        // Past the end: not reachable until the length says so, so not saved.
        const format::VecBody b = *Ops::body(txn, bodyAt());
        void* tail = txn.at(b.data + *n, text.size());
        if (!tail)
            return unexpected(RegionError::Corrupt);
        std::memcpy(tail, text.data(), text.size());
        return Ops::setLength(txn, bodyAt(), *n + text.size());
    }
};

} // namespace commy::shm
