#pragma once

// What every typed container shares: create / attach by name with its descriptor, its handle (lock
// and batch), its version, destroy, and empty() for a container with a size(). `Derived` provides:
//   static constexpr RootKind kKind;
//   static std::string descriptor();
//   static ElementLayout layout();
//   static std::uint64_t undoJournalBytes();        (optional; kDefaultJournalBytes otherwise)
//   static RegionExpected<void> dropContents(ContainerTxn&, std::uint64_t bodyAt);
//   RegionExpected<std::uint64_t> size() const;     (optional; gives empty())

#include <commy/shm/container_txn.h>

#include <cstdint>
#include <string_view>

namespace commy::shm::detail {

inline constexpr std::uint64_t kDefaultJournalBytes = 16 * 1024;

template <class Derived> class TypedContainer {
public:
    static RegionExpected<Derived> create(Region& region, std::string_view name)
    {
        auto ref = ContainerRef::create(
            region, name, Derived::kKind, Derived::descriptor(), Derived::layout(), journalBytes(), nullptr, 0);
        if (!ref)
            return unexpected(ref.error());
        return Derived(*ref);
    }

    static RegionExpected<Derived> attach(Region& region, std::string_view name)
    {
        auto ref = ContainerRef::attach(region, name, Derived::kKind, Derived::descriptor());
        if (!ref)
            return unexpected(ref.error());
        return Derived(*ref);
    }

    // Frees the container and everything it owns, and removes its root.
    static RegionExpected<void> destroy(Region& region, std::string_view name)
    {
        auto container = attach(region, name);
        if (!container)
            return unexpected(container.error());
        return ContainerRef::destroy(container->ref(), name,
            [](ContainerTxn& txn, std::uint64_t bodyAt) { return Derived::dropContents(txn, bodyAt); });
    }

    // size() == 0, for the containers that have a size() (a SharedBox has none). A template so the
    // constraint is checked where empty() is called, with Derived complete (Clang checks a plain
    // member's constraint earlier, while Derived is still being defined).
    template <class D = Derived> RegionExpected<bool> empty() const requires requires(const D& container)
    {
        container.size();
    }
    {
        auto n = static_cast<const D&>(*this).size();
        return n ? RegionExpected<bool>(*n == 0) : unexpected(n.error());
    }

    const ContainerHandle& handle() const { return m_handle; }
    const ContainerRef& ref() const { return m_handle.ref(); }
    // Bumped by every committed change, by any process.
    std::uint64_t version() const { return m_handle.version(); }

protected:
    TypedContainer() = default;
    explicit TypedContainer(const ContainerRef& ref)
        : m_handle(ref)
    {
    }
    // Creates `name` with Derived::create() and lets `fill(Derived&)` put the contents in. All or
    // nothing: when fill fails, the container is destroyed again (no half-filled root stays behind)
    // and fill's error is returned.
    template <class Fill>
    static RegionExpected<Derived> createFilled(Region& region, std::string_view name, Fill&& fill)
    {
        auto container = Derived::create(region, name);
        if (!container)
            return container;
        if (auto filled = fill(*container); !filled) {
            (void)destroy(region, name);
            return unexpected(filled.error());
        }
        return container;
    }
    std::uint64_t bodyAt() const { return ref().offset() + offsetof(format::ContainerHeader, body); }
    template <class Operation> auto run(Operation&& operation) const { return m_handle.run(operation); }

private:
    static std::uint64_t journalBytes()
    {
        if constexpr (requires { Derived::undoJournalBytes(); })
            return Derived::undoJournalBytes();
        else
            return kDefaultJournalBytes;
    }

    ContainerHandle m_handle;
};

} // namespace commy::shm::detail
