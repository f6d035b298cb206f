#pragma once

// Internal: the free-list allocator over a region's arena. Exact-size bins for blocks below 1 KiB
// (O(1) pop, a bitmap finds the next non-empty bin), power-of-two bins searched best-fit for larger
// blocks, boundary tags (every header knows the previous block's size) for O(1) coalescing.
// Callers hold the region lock and pass the Transaction that journals every structural write.

#include "journal.h"
#include "region_view.h"

#include <commy/shm/region.h>

#include <cstdint>
#include <functional>
#include <optional>

namespace commy::shm {

class Allocator {
public:
    explicit Allocator(const RegionView& view)
        : m_view(view)
    {
    }

    // Lays out an empty arena over [kArenaOffset, arenaEnd): one free block and the end sentinel.
    static void format(const RegionView& view, std::uint64_t arenaEnd);

    // `owner` is the BlockHeader owner field: kPublished or slot + 1.
    RegionExpected<std::uint64_t> allocate(
        std::uint64_t bytes, std::uint64_t alignment, std::uint64_t owner, Transaction& txn);
    RegionExpected<void> deallocate(std::uint64_t payloadOffset, Transaction& txn);
    RegionExpected<void> setOwner(std::uint64_t payloadOffset, std::uint64_t owner, Transaction& txn);
    // Size of the used block holding `payloadOffset`, or an error if it is not a live block.
    RegionExpected<std::uint64_t> usedBlockSize(std::uint64_t payloadOffset) const;
    // The size of a live block whose owner field is `owner` and whose size is below `below`, or nullopt.
    std::optional<std::uint64_t> ownedBlockSize(
        std::uint64_t payloadOffset, std::uint64_t owner, std::uint64_t below) const;

    // Makes [arenaEnd, newEnd) part of the arena (after the file grew).
    RegionExpected<void> extend(std::uint64_t newEnd, Transaction& txn);
    // Gives back a free block at the end of the arena; returns the new arena end.
    RegionExpected<std::uint64_t> trimTail(Transaction& txn);

    // Rebuilds the counters and bin bitmap from the blocks and free lists (after a rollback).
    RegionExpected<void> rebuildDerivedState();

    // Visits every block in address order; stops with an error at the first inconsistent header.
    Expected<void, CorruptionReport> walk(const std::function<void(const BlockInfo&)>& visit) const;
    Expected<void, CorruptionReport> checkSanity() const;
    std::uint64_t largestFreeBlock() const;

private:
    format::BlockHeader* header(std::uint64_t offset) const;
    format::FreeLinks* links(std::uint64_t offset) const;
    bool unlink(std::uint64_t offset, std::uint64_t size, Transaction& txn);
    // `fresh`: the block was carved out of the inside of another block in this transaction, so its
    // own links need no undo entries.
    bool insert(std::uint64_t offset, std::uint64_t size, Transaction& txn, bool fresh = false);
    bool setPrevSizeOfNext(std::uint64_t offset, std::uint64_t size, Transaction& txn);
    std::uint64_t findFit(std::uint64_t need) const;
    // Most steps a walk along one free list may take.
    std::uint64_t listBound() const;
    RegionExpected<std::uint64_t> freeBlock(std::uint64_t offset, Transaction& txn);

    const RegionView& m_view;
};

namespace block {
inline std::uint64_t size(const format::BlockHeader& h) { return h.bits & format::kSizeMask; }
inline bool used(const format::BlockHeader& h) { return (h.bits & format::kUsedBit) != 0; }
inline std::uint64_t owner(const format::BlockHeader& h) { return h.bits >> format::kOwnerShift; }
inline std::uint64_t bits(std::uint64_t size, bool used, std::uint64_t owner)
{
    return size | (used ? format::kUsedBit : 0) | (owner << format::kOwnerShift);
}
unsigned binIndex(std::uint64_t size);
} // namespace block

} // namespace commy::shm
