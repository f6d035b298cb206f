#include "allocator.h"

#include <bit>
#include <string>

namespace commy::shm {

using namespace format;

namespace {

std::uint64_t roundUp(std::uint64_t value, std::uint64_t multiple)
{
    return (value + multiple - 1) / multiple * multiple;
}

CorruptionReport report(std::uint64_t offset, std::string what) { return { offset, std::move(what) }; }

} // namespace

unsigned block::binIndex(std::uint64_t size)
{
    if (size < kSmallBlockLimit)
        return static_cast<unsigned>(size / kGranule) - 2;
    // Above 1 KiB: the power of two, split into 2^kSubBinsLog2 sub-bins by the next bits, so a bin's
    // blocks differ by at most 1/8 of their size and the best fit is found in a short list.
    const unsigned log2 = 63u - static_cast<unsigned>(std::countl_zero(size));
    const unsigned sub = static_cast<unsigned>(size >> (log2 - kSubBinsLog2)) & ((1u << kSubBinsLog2) - 1);
    const unsigned index = 62u + ((log2 - 10u) << kSubBinsLog2) + sub;
    return index < kBinCount ? index : kBinCount - 1;
}

BlockHeader* Allocator::header(std::uint64_t offset) const
{
    const std::uint64_t end = m_view.arenaEnd();
    if (offset < m_view.arenaBegin() || offset % kGranule != 0 || end < kBlockHeaderBytes
        || offset > end - kBlockHeaderBytes)
        return nullptr;
    return reinterpret_cast<BlockHeader*>(m_view.base + offset);
}

FreeLinks* Allocator::links(std::uint64_t offset) const
{
    // A free block is never the sentinel and always has room for its links before the sentinel.
    const std::uint64_t end = m_view.arenaEnd();
    if (offset < m_view.arenaBegin() || offset % kGranule != 0 || end < kMinBlockBytes + kBlockHeaderBytes
        || offset > end - kMinBlockBytes - kBlockHeaderBytes)
        return nullptr;
    return reinterpret_cast<FreeLinks*>(m_view.base + offset + kBlockHeaderBytes);
}

void Allocator::format(const RegionView& view, std::uint64_t arenaEnd)
{
    RegionHeader& h = view.header();
    h.geometry.arenaEnd = arenaEnd;
    h.allocator = {};
    const std::uint64_t first = kArenaOffset;
    const std::uint64_t size = arenaEnd - kBlockHeaderBytes - first;
    auto* firstBlock = reinterpret_cast<BlockHeader*>(view.base + first);
    *firstBlock = { 0, block::bits(size, false, 0) };
    auto* sentinel = reinterpret_cast<BlockHeader*>(view.base + arenaEnd - kBlockHeaderBytes);
    *sentinel = { size, block::bits(0, true, kPublished) };
    Allocator allocator(view);
    Transaction txn(view);
    allocator.insert(first, size, txn);
    txn.commit();
}

bool Allocator::unlink(std::uint64_t offset, std::uint64_t size, Transaction& txn)
{
    // No free block is smaller than kMinBlockBytes; a smaller size comes from a damaged header, and
    // binIndex() of it would index far outside the bin arrays.
    FreeLinks* l = size >= kMinBlockBytes ? links(offset) : nullptr;
    if (!l)
        return false;
    AllocatorState& state = m_view.header().allocator;
    const std::uint64_t next = l->next;
    const std::uint64_t prev = l->prev;
    const unsigned bin = block::binIndex(size);
    if (prev != 0) {
        FreeLinks* p = links(prev);
        if (!p || p->next != offset)
            return false;
        txn.set(p->next, next);
    } else {
        if (state.binHeads[bin] != offset)
            return false;
        txn.set(state.binHeads[bin], next);
        if (next == 0)
            state.binBitmap[bin / 64] &= ~(std::uint64_t { 1 } << (bin % 64));
    }
    if (next != 0) {
        FreeLinks* n = links(next);
        if (!n || n->prev != offset)
            return false;
        txn.set(n->prev, prev);
    }
    state.freeBytes -= size;
    state.freeBlocks -= 1;
    return true;
}

bool Allocator::insert(std::uint64_t offset, std::uint64_t size, Transaction& txn, bool fresh)
{
    FreeLinks* l = links(offset);
    if (!l)
        return false;
    AllocatorState& state = m_view.header().allocator;
    const unsigned bin = block::binIndex(size);
    const std::uint64_t head = state.binHeads[bin];
    if (head != 0) {
        FreeLinks* h = links(head);
        if (!h)
            return false;
        txn.set(h->prev, offset);
    }
    if (fresh) {
        Transaction::setFresh(l->next, head);
        Transaction::setFresh(l->prev, 0);
    } else {
        txn.set(l->next, head);
        txn.set(l->prev, 0);
    }
    txn.set(state.binHeads[bin], offset);
    state.binBitmap[bin / 64] |= std::uint64_t { 1 } << (bin % 64);
    state.freeBytes += size;
    state.freeBlocks += 1;
    return true;
}

bool Allocator::setPrevSizeOfNext(std::uint64_t offset, std::uint64_t size, Transaction& txn)
{
    BlockHeader* next = header(offset + size);
    if (!next)
        return false;
    txn.set(next->prevSize, size);
    return true;
}

std::uint64_t Allocator::listBound() const
{
    // A walk along a free list takes at most one step per free block. The header's counter may be
    // damaged as well as the list (a cycle and a huge count hung stats() and allocate() with the
    // lock held), so the arena's room for blocks caps it.
    const std::uint64_t roomForBlocks = m_view.arenaEnd() / kMinBlockBytes;
    return std::min(m_view.header().allocator.freeBlocks, roomForBlocks) + 1;
}

std::uint64_t Allocator::findFit(std::uint64_t need) const
{
    const AllocatorState& state = m_view.header().allocator;
    const unsigned first = block::binIndex(need);
    const std::uint64_t bound = listBound(); // protects against cycles in a damaged list

    // Best fit among a bin's blocks. A bin spans 1/8 of a power of two, so after a few candidates
    // any improvement is marginal: the scan stops there to keep allocation time bounded.
    constexpr std::uint64_t kCandidates = 32;
    auto bestIn = [&](unsigned bin, std::uint64_t atLeast) -> std::uint64_t {
        std::uint64_t best = 0;
        std::uint64_t bestSize = ~std::uint64_t { 0 };
        std::uint64_t steps = 0;
        std::uint64_t candidates = 0;
        for (std::uint64_t off = state.binHeads[bin]; off != 0 && steps < bound && candidates < kCandidates; ++steps) {
            const BlockHeader* h = header(off);
            const FreeLinks* l = links(off);
            if (!h || !l)
                return best;
            const std::uint64_t size = block::size(*h);
            if (size >= atLeast) {
                ++candidates;
                if (size < bestSize) {
                    best = off;
                    bestSize = size;
                    if (size == atLeast)
                        break;
                }
            }
            off = l->next;
        }
        return best;
    };

    if (need < kSmallBlockLimit) {
        if (state.binHeads[first] != 0)
            return state.binHeads[first];
    } else if (const std::uint64_t fit = bestIn(first, need); fit != 0) {
        return fit;
    }
    for (unsigned bin = first + 1; bin < kBinCount;) {
        const std::uint64_t word = state.binBitmap[bin / 64] >> (bin % 64);
        if (word == 0) {
            bin = (bin / 64 + 1) * 64;
            continue;
        }
        bin += static_cast<unsigned>(std::countr_zero(word));
        if (state.binHeads[bin] != 0) {
            // Small requests take the first block of the next bin (O(1)); large ones the best fit.
            if (need < kSmallBlockLimit || bin < block::binIndex(kSmallBlockLimit))
                return state.binHeads[bin];
            if (const std::uint64_t fit = bestIn(bin, need); fit != 0)
                return fit;
        }
        ++bin;
    }
    return 0;
}

RegionExpected<std::uint64_t> Allocator::allocate(
    std::uint64_t bytes, std::uint64_t alignment, std::uint64_t owner, Transaction& txn)
{
    if (bytes == 0 || bytes > (kSizeMask >> 1) || (alignment & (alignment - 1)) != 0 || alignment == 0
        || alignment > kMaxAlignment)
        return unexpected(RegionError::InvalidArgument);
    if (alignment < kGranule)
        alignment = kGranule;
    std::uint64_t need = roundUp(bytes + kBlockHeaderBytes, kGranule);
    if (need < kMinBlockBytes)
        need = kMinBlockBytes;
    const std::uint64_t search = alignment > kGranule ? need + alignment + kMinBlockBytes : need;

    std::uint64_t offset = findFit(search);
    if (offset == 0)
        return unexpected(RegionError::OutOfMemory);
    BlockHeader* h = header(offset);
    if (!h)
        return unexpected(RegionError::Corrupt);
    std::uint64_t size = block::size(*h);
    if (block::used(*h) || size < search || !unlink(offset, size, txn))
        return unexpected(RegionError::Corrupt);

    if (alignment > kGranule) {
        std::uint64_t payload = roundUp(offset + kBlockHeaderBytes, alignment);
        std::uint64_t gap = payload - kBlockHeaderBytes - offset;
        if (gap > 0 && gap < kMinBlockBytes) {
            payload += alignment;
            gap += alignment;
        }
        if (gap > 0) {
            // The bytes in front of the aligned payload stay free as a block of their own.
            BlockHeader* aligned = header(offset + gap);
            if (!aligned)
                return unexpected(RegionError::Corrupt);
            txn.set(h->bits, block::bits(gap, false, 0));
            txn.set(aligned->prevSize, gap);
            txn.set(aligned->bits, block::bits(size - gap, false, 0));
            if (!insert(offset, gap, txn) || !setPrevSizeOfNext(offset + gap, size - gap, txn))
                return unexpected(RegionError::Corrupt);
            offset += gap;
            size -= gap;
            h = aligned;
        }
    }

    if (size - need >= kMinBlockBytes) {
        const std::uint64_t rest = offset + need;
        BlockHeader* r = header(rest);
        if (!r)
            return unexpected(RegionError::Corrupt);
        // The remainder lies inside the block just taken, past its links: nothing refers to it yet.
        Transaction::setFresh(r->prevSize, need);
        Transaction::setFresh(r->bits, block::bits(size - need, false, 0));
        if (!setPrevSizeOfNext(rest, size - need, txn) || !insert(rest, size - need, txn, true))
            return unexpected(RegionError::Corrupt);
        size = need;
    }
    txn.set(h->bits, block::bits(size, true, owner));
    AllocatorState& state = m_view.header().allocator;
    state.usedBytes += size;
    state.usedBlocks += 1;
    return offset + kBlockHeaderBytes;
}

RegionExpected<std::uint64_t> Allocator::usedBlockSize(std::uint64_t payloadOffset) const
{
    if (payloadOffset < kBlockHeaderBytes)
        return unexpected(RegionError::NotAllocated);
    const std::uint64_t offset = payloadOffset - kBlockHeaderBytes;
    const BlockHeader* h = header(offset);
    if (!h || !block::used(*h))
        return unexpected(RegionError::NotAllocated);
    const std::uint64_t size = block::size(*h);
    const BlockHeader* next = size >= kMinBlockBytes ? header(offset + size) : nullptr;
    if (!next || next->prevSize != size)
        return unexpected(RegionError::NotAllocated);
    // The boundary tag on the other side must agree too. A block freed next to a free neighbour is
    // absorbed without its header being rewritten; if the block after it was free as well, that stale
    // header still looks used and the next header still carries its size, so only the previous
    // block's size tells a double free from a live block.
    const std::uint64_t prevSize = h->prevSize;
    if (offset == m_view.arenaBegin() ? prevSize != 0
                                      : prevSize < kMinBlockBytes || prevSize > offset - m_view.arenaBegin()) {
        return unexpected(RegionError::NotAllocated);
    }
    const BlockHeader* prev = prevSize != 0 ? header(offset - prevSize) : nullptr;
    if (prevSize != 0 && (!prev || block::size(*prev) != prevSize))
        return unexpected(RegionError::NotAllocated);
    return size;
}

std::optional<std::uint64_t> Allocator::ownedBlockSize(
    std::uint64_t payloadOffset, std::uint64_t owner, std::uint64_t below) const
{
    // The block's own header first: most blocks that are not candidates fail here, before the
    // neighbours' boundary tags are read.
    const BlockHeader* h = payloadOffset >= kBlockHeaderBytes ? header(payloadOffset - kBlockHeaderBytes) : nullptr;
    if (!h || !block::used(*h) || block::owner(*h) != owner || block::size(*h) >= below)
        return std::nullopt;
    auto size = usedBlockSize(payloadOffset);
    if (!size)
        return std::nullopt;
    return *size;
}

RegionExpected<void> Allocator::deallocate(std::uint64_t payloadOffset, Transaction& txn)
{
    if (auto size = usedBlockSize(payloadOffset); !size)
        return unexpected(size.error());
    if (auto freed = freeBlock(payloadOffset - kBlockHeaderBytes, txn); !freed)
        return unexpected(freed.error());
    return {};
}

RegionExpected<std::uint64_t> Allocator::freeBlock(std::uint64_t offset, Transaction& txn)
{
    BlockHeader* h = header(offset);
    if (!h)
        return unexpected(RegionError::Corrupt);
    const std::uint64_t size = block::size(*h);
    std::uint64_t start = offset;
    std::uint64_t total = size;
    if (offset > m_view.arenaBegin()) {
        const std::uint64_t prevSize = h->prevSize;
        BlockHeader* p = prevSize <= offset ? header(offset - prevSize) : nullptr;
        if (!p || block::size(*p) != prevSize)
            return unexpected(RegionError::Corrupt);
        if (!block::used(*p)) {
            if (!unlink(offset - prevSize, prevSize, txn))
                return unexpected(RegionError::Corrupt);
            start = offset - prevSize;
            total += prevSize;
        }
    }
    BlockHeader* n = header(offset + size);
    if (!n)
        return unexpected(RegionError::Corrupt);
    if (!block::used(*n)) {
        const std::uint64_t nextSize = block::size(*n);
        if (!unlink(offset + size, nextSize, txn))
            return unexpected(RegionError::Corrupt);
        total += nextSize;
    }
    BlockHeader* merged = start == offset ? h : header(start);
    if (!merged)
        return unexpected(RegionError::Corrupt);
    txn.set(merged->bits, block::bits(total, false, 0));
    if (!setPrevSizeOfNext(start, total, txn) || !insert(start, total, txn))
        return unexpected(RegionError::Corrupt);
    AllocatorState& state = m_view.header().allocator;
    state.usedBytes -= size;
    state.usedBlocks -= 1;
    return size;
}

RegionExpected<void> Allocator::setOwner(std::uint64_t payloadOffset, std::uint64_t owner, Transaction& txn)
{
    auto size = usedBlockSize(payloadOffset);
    if (!size)
        return unexpected(size.error());
    txn.set(header(payloadOffset - kBlockHeaderBytes)->bits, block::bits(*size, true, owner));
    return {};
}

RegionExpected<void> Allocator::extend(std::uint64_t newEnd, Transaction& txn)
{
    RegionHeader& rh = m_view.header();
    const std::uint64_t oldEnd = m_view.arenaEnd();
    if (oldEnd == 0 || newEnd % kGranule != 0 || newEnd < oldEnd + kMinBlockBytes || newEnd > m_view.accessibleEnd())
        return unexpected(RegionError::InvalidArgument);
    const std::uint64_t oldSentinel = oldEnd - kBlockHeaderBytes;
    if (!header(oldSentinel))
        return unexpected(RegionError::Corrupt);
    const std::uint64_t lastSize = header(oldSentinel)->prevSize;

    txn.set(rh.geometry.arenaEnd, newEnd);
    BlockHeader* sentinel = header(newEnd - kBlockHeaderBytes);
    std::uint64_t start = oldSentinel;
    std::uint64_t total = newEnd - oldEnd;
    if (lastSize != 0) {
        BlockHeader* last = lastSize <= oldSentinel ? header(oldSentinel - lastSize) : nullptr;
        if (!last || block::size(*last) != lastSize)
            return unexpected(RegionError::Corrupt);
        if (!block::used(*last)) {
            if (!unlink(oldSentinel - lastSize, lastSize, txn))
                return unexpected(RegionError::Corrupt);
            start = oldSentinel - lastSize;
            total += lastSize;
        }
    }
    txn.set(header(start)->bits, block::bits(total, false, 0));
    txn.set(sentinel->prevSize, total);
    txn.set(sentinel->bits, block::bits(0, true, kPublished));
    if (!insert(start, total, txn))
        return unexpected(RegionError::Corrupt);
    return {};
}

RegionExpected<std::uint64_t> Allocator::trimTail(Transaction& txn)
{
    RegionHeader& rh = m_view.header();
    const std::uint64_t end = m_view.arenaEnd();
    if (end == 0)
        return unexpected(RegionError::Corrupt);
    const std::uint64_t sentinelOffset = end - kBlockHeaderBytes;
    if (!header(sentinelOffset))
        return unexpected(RegionError::Corrupt);
    const std::uint64_t lastSize = header(sentinelOffset)->prevSize;
    if (lastSize == 0 || lastSize > sentinelOffset)
        return end;
    const std::uint64_t last = sentinelOffset - lastSize;
    BlockHeader* lh = header(last);
    if (!lh || block::size(*lh) != lastSize)
        return unexpected(RegionError::Corrupt);
    if (block::used(*lh))
        return end;

    // The new end is page aligned; what remains of the last block must be empty or a valid block.
    std::uint64_t newEnd = roundUp(last + kBlockHeaderBytes, kPageSize);
    std::uint64_t newSentinel = newEnd - kBlockHeaderBytes;
    if (newSentinel > last && newSentinel - last < kMinBlockBytes) {
        newEnd += kPageSize;
        newSentinel += kPageSize;
    }
    if (newEnd >= end)
        return end;

    if (!unlink(last, lastSize, txn))
        return unexpected(RegionError::Corrupt);
    BlockHeader* s = header(newSentinel);
    if (newSentinel > last) {
        const std::uint64_t remaining = newSentinel - last;
        txn.set(lh->bits, block::bits(remaining, false, 0));
        txn.set(s->prevSize, remaining);
        txn.set(s->bits, block::bits(0, true, kPublished));
        if (!insert(last, remaining, txn))
            return unexpected(RegionError::Corrupt);
    } else {
        txn.set(s->bits, block::bits(0, true, kPublished)); // the old last block's header becomes the sentinel
    }
    txn.set(rh.geometry.arenaEnd, newEnd);
    return newEnd;
}

RegionExpected<void> Allocator::rebuildDerivedState()
{
    AllocatorState& state = m_view.header().allocator;
    std::uint64_t usedBytes = 0, usedBlocks = 0, freeBytes = 0, freeBlocks = 0;
    auto walked = walk([&](const BlockInfo& b) {
        if (b.free) {
            freeBytes += b.size;
            ++freeBlocks;
        } else {
            usedBytes += b.size;
            ++usedBlocks;
        }
    });
    if (!walked)
        return unexpected(RegionError::Corrupt);
    state.usedBytes = usedBytes;
    state.usedBlocks = usedBlocks;
    state.freeBytes = freeBytes;
    state.freeBlocks = freeBlocks;
    for (unsigned bin = 0; bin < kBinCount; ++bin) {
        const std::uint64_t bit = std::uint64_t { 1 } << (bin % 64);
        if (state.binHeads[bin] != 0)
            state.binBitmap[bin / 64] |= bit;
        else
            state.binBitmap[bin / 64] &= ~bit;
    }
    return {};
}

Expected<void, CorruptionReport> Allocator::walk(const std::function<void(const BlockInfo&)>& visit) const
{
    const std::uint64_t end = m_view.arenaEnd();
    if (end < m_view.arenaBegin() + kMinBlockBytes + kBlockHeaderBytes)
        return unexpected(report(end, "arena end is outside the file"));
    std::uint64_t offset = m_view.arenaBegin();
    std::uint64_t prevSize = 0;
    for (;;) {
        const BlockHeader* h = header(offset);
        if (!h)
            return unexpected(report(offset, "block header outside the arena"));
        if (h->prevSize != prevSize)
            return unexpected(report(offset, "boundary tag does not match the previous block's size"));
        const std::uint64_t size = block::size(*h);
        if (size == 0) {
            if (offset != end - kBlockHeaderBytes || !block::used(*h))
                return unexpected(report(offset, "zero-sized block before the end of the arena"));
            return {};
        }
        if (size < kMinBlockBytes || size > end - kBlockHeaderBytes - offset)
            return unexpected(report(offset, "block size runs past the arena"));
        const std::uint64_t owner = block::owner(*h);
        if (block::used(*h) && owner > kMaxProcesses)
            return unexpected(report(offset, "block owner is not a process slot"));
        BlockInfo info;
        info.offset = offset;
        info.size = size;
        info.free = !block::used(*h);
        info.published = block::used(*h) && owner == kPublished;
        info.ownerSlot = block::used(*h) && owner != kPublished ? static_cast<std::uint32_t>(owner - 1) : kNoOwner;
        visit(info);
        prevSize = size;
        offset += size;
    }
}

Expected<void, CorruptionReport> Allocator::checkSanity() const
{
    const RegionHeader& rh = m_view.header();
    if (rh.journal.count != 0)
        return unexpected(report(m_view.offsetOf(&rh.journal), "an interrupted mutation has not been rolled back"));

    std::uint64_t usedBytes = 0, usedBlocks = 0, freeBytes = 0, freeBlocks = 0;
    bool previousFree = false;
    std::uint64_t adjacentFree = 0;
    auto walked = walk([&](const BlockInfo& b) {
        if (b.free) {
            freeBytes += b.size;
            ++freeBlocks;
            if (previousFree && adjacentFree == 0)
                adjacentFree = b.offset;
        } else {
            usedBytes += b.size;
            ++usedBlocks;
        }
        previousFree = b.free;
    });
    if (!walked)
        return walked;
    if (adjacentFree != 0)
        return unexpected(report(adjacentFree, "two adjacent free blocks were not coalesced"));

    const AllocatorState& state = rh.allocator;
    std::uint64_t listed = 0;
    for (unsigned bin = 0; bin < kBinCount; ++bin) {
        const bool bit = (state.binBitmap[bin / 64] >> (bin % 64)) & 1;
        if (bit != (state.binHeads[bin] != 0))
            return unexpected(report(0, "free-list bitmap disagrees with bin " + std::to_string(bin)));
        std::uint64_t prev = 0;
        for (std::uint64_t off = state.binHeads[bin]; off != 0;) {
            if (++listed > freeBlocks)
                return unexpected(report(off, "free lists hold more blocks than the arena (a cycle?)"));
            const BlockHeader* h = header(off);
            const FreeLinks* l = links(off);
            if (!h || !l)
                return unexpected(report(off, "free-list link outside the arena"));
            if (block::used(*h))
                return unexpected(report(off, "used block on a free list"));
            if (block::binIndex(block::size(*h)) != bin)
                return unexpected(report(off, "free block in the wrong bin"));
            if (l->prev != prev)
                return unexpected(report(off, "free-list back link is wrong"));
            prev = off;
            off = l->next;
        }
    }
    if (listed != freeBlocks)
        return unexpected(report(0, "a free block is missing from the free lists"));
    if (state.usedBytes != usedBytes || state.usedBlocks != usedBlocks || state.freeBytes != freeBytes
        || state.freeBlocks != freeBlocks)
        return unexpected(report(0, "allocator counters disagree with the blocks"));
    if (usedBytes + freeBytes + kBlockHeaderBytes != m_view.arenaEnd() - m_view.arenaBegin())
        return unexpected(report(0, "blocks do not cover the arena"));
    return {};
}

std::uint64_t Allocator::largestFreeBlock() const
{
    const AllocatorState& state = m_view.header().allocator;
    for (unsigned bin = kBinCount; bin-- > 0;) {
        if (state.binHeads[bin] == 0)
            continue;
        std::uint64_t largest = 0;
        std::uint64_t steps = 0;
        for (std::uint64_t off = state.binHeads[bin], bound = listBound(); off != 0 && steps < bound; ++steps) {
            const BlockHeader* h = header(off);
            const FreeLinks* l = links(off);
            if (!h || !l)
                break;
            largest = std::max(largest, block::size(*h));
            off = l->next;
        }
        // A damaged size must not make the statistics absurd: no free block exceeds all free bytes.
        return std::min(largest, state.freeBytes);
    }
    return 0;
}

} // namespace commy::shm
