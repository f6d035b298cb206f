#pragma once

// What every typed container shares: create / attach by name with its descriptor, its handle (lock
// and batch), its version, and destroy. `Derived` provides:
//   static constexpr RootKind kKind;
//   static std::string descriptor();
//   static ElementLayout layout();
//   static std::uint64_t undoJournalBytes();        (optional; kDefaultJournalBytes otherwise)
//   static RegionExpected<void> dropContents(ContainerTxn&, std::uint64_t bodyAt);

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
