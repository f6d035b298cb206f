#pragma once

// Internal: the named-root directory, an open-addressing hash table (linear probing, tombstones)
// allocated in the arena and referenced from the header. All calls run under the region lock.

#include "allocator.h"
#include "journal.h"
#include "region_view.h"

#include <commy/shm/container_format.h>
#include <commy/shm/region.h>

#include <cstdint>
#include <string_view>
#include <vector>

namespace commy::shm {

class RootDirectory {
public:
    RootDirectory(const RegionView& view, Allocator& allocator)
        : m_view(view)
        , m_allocator(allocator)
    {
    }

    static RegionExpected<void> validateName(std::string_view name);

    // Makes room for one more entry, growing the table if needed. Runs its own transactions: a
    // process killed in the middle leaves either the old table or the new one, never a mix.
    RegionExpected<void> reserveOne(std::uint64_t owner);
    // Adds name -> offset and publishes the block, inside the caller's transaction.
    RegionExpected<void> insert(
        std::string_view name, std::uint64_t offset, RootKind kind, std::string_view type, Transaction& txn);
    format::RootEntry* find(std::string_view name) const;
    // Marks the entry removed (inside the caller's transaction) and returns its block's offset.
    std::uint64_t erase(format::RootEntry& entry, Transaction& txn);
    std::vector<RootInfo> list() const;
    RootInfo describe(const format::RootEntry& entry) const;
    Expected<void, CorruptionReport> checkSanity() const;

private:
    format::RootEntry* table() const;
    RegionExpected<void> rehash(std::uint64_t newCapacity, std::uint64_t owner);

    const RegionView& m_view;
    Allocator& m_allocator;
};

} // namespace commy::shm
