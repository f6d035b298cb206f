#include "change_journal.h"
#include "region_impl.h"

#include "journal.h"
#include "platform/platform.h"
#include "process_table.h"
#include "root_directory.h"

#include <commy/shm/region_format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>

namespace commy::shm {

using namespace format;

Region::Region(std::unique_ptr<RegionImpl> impl)
    : m_impl(std::move(impl))
{
}

Region::~Region()
{
    if (m_impl && m_impl->slot)
        (void)detach();
    stopHeartbeatThread();
}

const std::string& Region::path() const { return m_impl->path; }
std::uint64_t Region::size() const { return relaxedLoad(m_impl->view.header().geometry.fileSize); }
std::uint64_t Region::limit() const { return relaxedLoad(m_impl->view.header().geometry.limit); }
std::uint64_t Region::generation() const { return relaxedLoad(m_impl->view.header().geometry.generation); }
RegionExpected<void> Region::flush() { return m_impl->file.sync(); }

namespace {

// The block size an allocation of `bytes` with default alignment gets (before any split leftover).
std::uint64_t blockSizeFor(std::uint64_t bytes)
{
    const std::uint64_t need = (bytes + kBlockHeaderBytes + kGranule - 1) / kGranule * kGranule;
    return need < kMinBlockBytes ? kMinBlockBytes : need;
}

// A container's header block is only the start of what it owns (its class's destroy() frees all
// of it), so removeRoot() and takeRoot() refuse it. A root of another kind whose block holds no
// container header is plain bytes.
bool holdsContainer(const RegionView& view, const RootEntry& entry)
{
    if (entry.kind == static_cast<std::uint32_t>(RootKind::Bytes))
        return false;
    const auto* h = view.at<ContainerHeader>(entry.offset);
    return h && h->magic == kContainerMagic;
}

} // namespace

RegionExpected<std::uint64_t> Region::allocate(std::uint64_t bytes, std::uint64_t alignment)
{
    RegionImpl& impl = *m_impl;
    if (!impl.slot)
        return unexpected(RegionError::NotAttached);
    std::optional<unsigned> cacheClass;
    if (impl.cache.enabled() && alignment <= kGranule && alignment != 0 && (alignment & (alignment - 1)) == 0
        && bytes != 0 && bytes < kSmallBlockLimit) {
        cacheClass = LocalCache::classOf(blockSizeFor(bytes));
        if (cacheClass) {
            if (auto offset = impl.cache.pop(*cacheClass)) {
                ++impl.unreportedAllocations;
                return *offset;
            }
        }
    }
    return impl.allocateLocked(bytes, alignment, impl.ownerField(), [](Transaction&, std::uint64_t) {});
}

RegionExpected<void> Region::deallocate(std::uint64_t offset)
{
    RegionImpl& impl = *m_impl;
    if (impl.cache.enabled() && impl.slot) {
        // No other process writes the header or boundary tags of a block this process owns, so
        // they can be checked without the lock; anything doubtful takes the locked path, which
        // validates under the lock and reports errors.
        const auto size = Allocator(impl.view).ownedBlockSize(offset, impl.ownerField(), kSmallBlockLimit);
        if (const auto cls = size ? LocalCache::classOf(*size) : std::nullopt) {
            switch (impl.cache.push(*cls, offset)) {
            case LocalCache::Push::Stashed:
                ++impl.unreportedDeallocations;
                return {};
            case LocalCache::Push::AlreadyStashed:
                return unexpected(RegionError::NotAllocated); // freed twice
            case LocalCache::Push::Full:
                break;
            }
        }
    }
    LockedRegion locked(impl);
    if (!locked.ok())
        return unexpected(locked.error());
    const RegionView& view = impl.view;
    Transaction txn(view);
    auto result = finish(view, txn, Allocator(view).deallocate(offset, txn));
    if (result)
        ++view.header().stats.deallocations;
    return result;
}

RegionExpected<void> Region::publish(std::uint64_t offset)
{
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    const RegionView& view = m_impl->view;
    Transaction txn(view);
    return finish(view, txn, Allocator(view).setOwner(offset, kPublished, txn));
}

RegionExpected<AllocatorStats> Region::stats()
{
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    m_impl->flushCacheLocked(); // report the region as this process has given it back
    const RegionView& view = m_impl->view;
    const RegionHeader& h = view.header();
    AllocatorStats s;
    s.size = h.geometry.fileSize;
    s.limit = h.geometry.limit;
    s.autoGrow = (h.geometry.flags & kFlagAutoGrow) != 0;
    s.growStep = h.geometry.growStep;
    s.rootTableOffset = h.roots.tableOffset;
    s.arenaBytes = h.geometry.arenaEnd - kArenaOffset;
    s.usedBytes = h.allocator.usedBytes;
    s.freeBytes = h.allocator.freeBytes;
    s.usedBlocks = h.allocator.usedBlocks;
    s.freeBlocks = h.allocator.freeBlocks;
    s.largestFreeBlock = Allocator(view).largestFreeBlock();
    s.fragmentation = s.freeBytes == 0 ? 0.0 : 1.0 - double(s.largestFreeBlock) / double(s.freeBytes);
    s.generation = h.geometry.generation;
    s.allocations = h.stats.allocations;
    s.deallocations = h.stats.deallocations;
    s.failedAllocations = h.stats.failedAllocations;
    s.lockRecoveries = h.stats.lockRecoveries;
    s.cleanups = h.stats.cleanups;
    s.reclaimedBlocks = h.stats.reclaimedBlocks;
    s.reclaimedBytes = h.stats.reclaimedBytes;
    s.grows = h.stats.grows;
    s.shrinks = h.stats.shrinks;
    return s;
}

RegionExpected<std::vector<BlockInfo>> Region::blocks()
{
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    m_impl->flushCacheLocked(); // report the region as this process has given it back
    std::vector<BlockInfo> result;
    auto walked = Allocator(m_impl->view).walk([&](const BlockInfo& b) { result.push_back(b); });
    if (!walked)
        return unexpected(RegionError::Corrupt);
    return result;
}

Expected<void, CorruptionReport> Region::checkSanity()
{
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(CorruptionReport { 0, errorMessage(locked.error()), locked.error() });
    m_impl->flushCacheLocked(); // report the region as this process has given it back
    const RegionView& view = m_impl->view;
    Allocator allocator(view);
    if (auto ok = allocator.checkSanity(); !ok)
        return ok;
    if (auto ok = RootDirectory(view, allocator).checkSanity(); !ok)
        return ok;
    const RegionHeader& h = view.header();
    for (std::uint32_t i = 0; i < kMaxProcesses; ++i) {
        if (h.processes[i].state > static_cast<std::uint64_t>(SlotState::Attached))
            return unexpected(CorruptionReport { view.offsetOf(&h.processes[i]), "process slot has an unknown state" });
    }
    std::string orphan;
    std::uint64_t orphanAt = 0;
    (void)allocator.walk([&](const BlockInfo& b) {
        if (!b.free && !b.published && orphan.empty() && !process_table::isAttached(view, b.ownerSlot)) {
            orphan = "block owned by process slot " + std::to_string(b.ownerSlot) + ", which is not attached";
            orphanAt = b.offset;
        }
    });
    if (!orphan.empty())
        return unexpected(CorruptionReport { orphanAt, orphan });
    return {};
}

void* Region::pointer(std::uint64_t offset, std::uint64_t bytes)
{
    RegionImpl& impl = *m_impl;
    const auto inArena = [&] {
        const RegionView& v = impl.view;
        const std::uint64_t end = std::min(relaxedLoad(v.header().geometry.arenaEnd), v.mappedLength);
        return offset >= kArenaOffset && offset <= end && bytes <= end - offset;
    };
    if (!inArena()) {
        const std::uint64_t fileSize = relaxedLoad(impl.view.header().geometry.fileSize);
        if (fileSize <= impl.mapping.length() || !impl.remap(fileSize) || !inArena())
            return nullptr;
    }
    return impl.view.base + offset;
}

RegionExpected<std::uint32_t> Region::attach(std::string_view name)
{
    if (m_impl->slot)
        return unexpected(RegionError::AlreadyAttached);
    if (name.size() >= kProcessNameBytes)
        return unexpected(RegionError::NameTooLong);
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    const RegionView& view = m_impl->view;
    for (int attempt = 0; attempt < 2; ++attempt) {
        Transaction txn(view);
        if (auto slot = process_table::claim(view, name, txn)) {
            txn.commit();
            m_impl->slot = *slot;
            return *slot;
        }
        // The table is full: reclaim the slots of dead processes (and what they left behind).
        for (std::uint32_t i = 0; i < kMaxProcesses; ++i) {
            if (process_table::isDead(view, i))
                (void)m_impl->retireSlot(i);
        }
    }
    return unexpected(RegionError::ProcessTableFull);
}

RegionExpected<void> Region::detach()
{
    if (!m_impl->slot)
        return unexpected(RegionError::NotAttached);
    stopHeartbeatThread();
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    // Blocks this process never published (its local cache included) would be nobody's once the
    // slot is reused: free them.
    (void)m_impl->cache.takeAll();
    auto reclaimed = m_impl->retireSlot(*m_impl->slot);
    if (!reclaimed) {
        // This process is leaving either way; a damaged region must not keep its slot forever.
        Transaction txn(m_impl->view);
        process_table::release(m_impl->view, *m_impl->slot, txn);
        txn.commit();
    }
    m_impl->slot.reset();
    if (!reclaimed)
        return unexpected(reclaimed.error());
    return {};
}

bool Region::attached() const { return m_impl->slot.has_value(); }
std::uint32_t Region::slot() const { return m_impl->slot.value_or(kNoOwner); }

void Region::heartbeat()
{
    if (m_impl->slot)
        process_table::heartbeat(m_impl->view, *m_impl->slot);
}

void Region::startHeartbeatThread(std::chrono::milliseconds interval)
{
    RegionImpl& impl = *m_impl;
    if (!impl.slot || impl.heartbeatThread.joinable())
        return;
    impl.heartbeatStop = false;
    const std::uint32_t slot = *impl.slot;
    impl.heartbeatThread = std::thread([&impl, slot, interval] {
        std::unique_lock wait(impl.heartbeatMutex);
        while (!impl.heartbeatStop) {
            {
                std::lock_guard mapped(impl.mappingMutex);
                process_table::heartbeat(impl.view, slot);
            }
            impl.heartbeatWake.wait_for(wait, interval, [&] { return impl.heartbeatStop; });
        }
    });
}

void Region::stopHeartbeatThread()
{
    RegionImpl& impl = *m_impl;
    if (!impl.heartbeatThread.joinable())
        return;
    {
        std::lock_guard guard(impl.heartbeatMutex);
        impl.heartbeatStop = true;
    }
    impl.heartbeatWake.notify_all();
    impl.heartbeatThread.join();
}

RegionExpected<std::vector<ProcessInfo>> Region::processes(std::chrono::milliseconds staleAfter)
{
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    return process_table::list(m_impl->view, staleAfter);
}

RegionExpected<void> Region::createRoot(
    std::string_view name, std::uint64_t offset, RootKind kind, std::string_view type)
{
    if (auto valid = RootDirectory::validateName(name); !valid)
        return valid;
    if (type.size() >= kRootTypeBytes || type.find('\0') != std::string_view::npos)
        return unexpected(RegionError::NameTooLong);
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    const RegionView& view = m_impl->view;
    Allocator allocator(view);
    RootDirectory roots(view, allocator);
    if (roots.find(name))
        return unexpected(RegionError::RootExists);
    if (auto block = allocator.usedBlockSize(offset); !block)
        return unexpected(block.error());
    if (auto room = roots.reserveOne(m_impl->ownerField()); !room)
        return room;
    Transaction txn(view);
    return finish(view, txn, roots.insert(name, offset, kind, type, txn));
}

RegionExpected<RootInfo> Region::findRoot(std::string_view name)
{
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    Allocator allocator(m_impl->view);
    const RootEntry* entry = RootDirectory(m_impl->view, allocator).find(name);
    if (!entry)
        return unexpected(RegionError::RootNotFound);
    return RootDirectory(m_impl->view, allocator).describe(*entry);
}

RegionExpected<void> Region::removeRoot(std::string_view name)
{
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    const RegionView& view = m_impl->view;
    Allocator allocator(view);
    RootDirectory roots(view, allocator);
    RootEntry* entry = roots.find(name);
    if (!entry)
        return unexpected(RegionError::RootNotFound);
    if (holdsContainer(view, *entry))
        return unexpected(RegionError::TypeMismatch);
    Transaction txn(view);
    const std::uint64_t offset = roots.erase(*entry, txn);
    return finish(view, txn, allocator.deallocate(offset, txn));
}

RegionExpected<std::uint64_t> Region::takeRoot(std::string_view name)
{
    if (!m_impl->slot)
        return unexpected(RegionError::NotAttached);
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    const RegionView& view = m_impl->view;
    Allocator allocator(view);
    RootDirectory roots(view, allocator);
    RootEntry* entry = roots.find(name);
    if (!entry)
        return unexpected(RegionError::RootNotFound);
    if (holdsContainer(view, *entry))
        return unexpected(RegionError::TypeMismatch);
    Transaction txn(view);
    const std::uint64_t offset = roots.erase(*entry, txn);
    if (auto owned = finish(view, txn, allocator.setOwner(offset, m_impl->ownerField(), txn)); !owned)
        return unexpected(owned.error());
    return offset;
}

RegionExpected<std::uint64_t> Region::bumpRootVersion(std::string_view name)
{
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    Allocator allocator(m_impl->view);
    RootEntry* entry = RootDirectory(m_impl->view, allocator).find(name);
    if (!entry)
        return unexpected(RegionError::RootNotFound);
    Transaction txn(m_impl->view);
    txn.set(entry->version, entry->version + 1);
    txn.commit();
    change_journal::record(m_impl->view, entry->offset, entry->version, m_impl->slot.value_or(kNoOwner));
    return entry->version;
}

std::uint64_t Region::changeSequence() const { return change_journal::sequence(m_impl->view); }

std::uint64_t Region::waitForChange(
    std::uint64_t after, std::chrono::milliseconds timeout, std::optional<std::uint32_t> ignoredWriter)
{
    return change_journal::waitForChange(m_impl->view, after, timeout, ignoredWriter);
}

RegionExpected<ChangeBatch> Region::changesSince(std::uint64_t after)
{
    // Records are written without the lock; taking it here still repairs a region whose lock
    // holder died and remaps a grown file before the ring is read.
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    return change_journal::since(m_impl->view, after);
}

RegionExpected<std::vector<RootInfo>> Region::roots()
{
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    Allocator allocator(m_impl->view);
    return RootDirectory(m_impl->view, allocator).list();
}

} // namespace commy::shm
