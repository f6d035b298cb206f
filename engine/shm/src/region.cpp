#include "region_impl.h"

#include "journal.h"
#include "process_table.h"
#include "root_directory.h"

#include <commy/shm/region_format.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace commy::shm {

using namespace format;

namespace {

constexpr std::uint64_t kDefaultReserve = std::uint64_t { 1 } << 30;

std::uint64_t roundUpToPage(std::uint64_t bytes) { return (bytes + kPageSize - 1) / kPageSize * kPageSize; }

std::uint64_t identityChecksum(const Identity& id)
{
    Identity copy = id;
    copy.checksum = 0;
    std::uint64_t h = 1469598103934665603ull;
    const auto* bytes = reinterpret_cast<const unsigned char*>(&copy);
    for (std::size_t i = 0; i < offsetof(Identity, checksum); ++i) {
        h ^= bytes[i];
        h *= 1099511628211ull;
    }
    return h;
}

std::uint64_t relaxedLoad(std::uint64_t& word)
{
    return std::atomic_ref<std::uint64_t>(word).load(std::memory_order_relaxed);
}

// Undo a failed mutation that may have written some words, so an error never leaves a half-done step.
template <class T> T finish(const RegionView& view, Transaction& txn, T result)
{
    if (!result && txn.writes() > 0) {
        rollbackJournal(view);
        (void)Allocator(view).rebuildDerivedState();
    } else {
        txn.commit();
    }
    return result;
}

RegionExpected<void> validateIdentity(const Identity& id)
{
    if (std::memcmp(id.magic, kMagic, sizeof kMagic) != 0)
        return unexpected(RegionError::BadMagic);
    if (id.formatVersion != kFormatVersion)
        return unexpected(RegionError::UnsupportedVersion);
    if (id.abiFingerprint != abiFingerprint())
        return unexpected(RegionError::AbiMismatch);
    if (id.checksum != identityChecksum(id))
        return unexpected(RegionError::ChecksumMismatch);
    if (id.headerBytes != sizeof(RegionHeader) || id.arenaOffset != kArenaOffset || id.maxProcesses != kMaxProcesses)
        return unexpected(RegionError::Corrupt);
    return {};
}

RegionExpected<void> validateMutableHeader(const RegionHeader& h, std::uint64_t fileBytes)
{
    const Geometry& g = h.geometry;
    if (g.fileSize > fileBytes)
        return unexpected(RegionError::Truncated);
    if (g.fileSize < kMinRegionBytes || (g.limit != 0 && g.limit < g.fileSize))
        return unexpected(RegionError::Corrupt);
    if (g.arenaEnd > g.fileSize || g.arenaEnd < kMinRegionBytes || g.arenaEnd % kGranule != 0)
        return unexpected(RegionError::Corrupt);
    if (h.journal.count > kJournalCapacity)
        return unexpected(RegionError::Corrupt);
    const RootTableRef& roots = h.roots;
    if (roots.tableOffset != 0
        && (roots.tableOffset >= g.arenaEnd || roots.capacity == 0 || (roots.capacity & (roots.capacity - 1)) != 0
            || roots.capacity * sizeof(RootEntry) > g.arenaEnd - roots.tableOffset || roots.used > roots.capacity))
        return unexpected(RegionError::Corrupt);
    return {};
}

RegionExpected<RegionImpl*> createFile(RegionImpl& impl, const RegionOptions& options)
{
    auto file = platform::File::createTemporary(impl.path, options.fileMode);
    if (!file)
        return unexpected(file.error());
    const std::uint64_t size = roundUpToPage(options.size);
    if (auto sized = file->resize(size); !sized)
        return unexpected(sized.error());
    auto mapping = platform::Mapping::map(*file, options.limit ? std::max(options.limit, size) : size);
    if (!mapping)
        return unexpected(mapping.error());

    RegionView view { mapping->base(), mapping->length() };
    RegionHeader& h = view.header();
    std::memset(static_cast<void*>(&h), 0, sizeof h);
    std::memcpy(h.identity.magic, kMagic, sizeof kMagic);
    h.identity.formatVersion = kFormatVersion;
    h.identity.headerBytes = sizeof(RegionHeader);
    h.identity.abiFingerprint = abiFingerprint();
    h.identity.arenaOffset = kArenaOffset;
    h.identity.maxProcesses = kMaxProcesses;
    h.identity.createdAtNs = platform::wallClockNs();
    h.identity.checksum = identityChecksum(h.identity);
    h.geometry.fileSize = size;
    h.geometry.limit = options.limit;
    h.geometry.generation = 1;
    h.geometry.flags = options.autoGrow ? kFlagAutoGrow : 0;
    h.geometry.growStep = std::max<std::uint64_t>(size / 2, 1 << 20);
    if (auto locked = platform::RegionLock::initialize(h.lock.mutexStorage); !locked)
        return unexpected(locked.error());
    h.lock.bootId = platform::bootId();
    Allocator::format(view, size);

    if (auto published = file->publishAs(impl.path); !published)
        return unexpected(published.error());
    impl.file = std::move(*file);
    return &impl;
}

RegionExpected<RegionImpl*> openFile(RegionImpl& impl)
{
    auto file = platform::File::openExisting(impl.path);
    if (!file)
        return unexpected(file.error());
    auto bytes = file->size();
    if (!bytes)
        return unexpected(bytes.error());
    if (*bytes < sizeof(RegionHeader))
        return unexpected(*bytes >= sizeof(Identity) ? RegionError::Truncated : RegionError::BadMagic);

    // Validate a private copy of the header before mapping anything.
    auto header = std::make_unique<RegionHeader>();
    if (auto read = file->readAt(header.get(), sizeof(RegionHeader), 0); !read)
        return unexpected(read.error());
    if (auto valid = validateIdentity(header->identity); !valid)
        return unexpected(valid.error());
    if (auto valid = validateMutableHeader(*header, *bytes); !valid)
        return unexpected(valid.error());
    impl.file = std::move(*file);
    return &impl;
}

// A region file can outlive the boot it was used in (it need not live in /dev/shm). Every process of
// an earlier boot is gone, so the lock is re-initialised and an interrupted mutation rolled back. The
// file lock makes exactly one opener do it.
RegionExpected<void> renewLockAfterReboot(RegionImpl& impl)
{
    RegionHeader& h = impl.view.header();
    const std::uint64_t boot = platform::bootId();
    if (std::atomic_ref<std::uint64_t>(h.lock.bootId).load() == boot)
        return {};
    impl.file.lockExclusive();
    RegionExpected<void> result;
    if (h.lock.bootId != boot) {
        result = platform::RegionLock::initialize(h.lock.mutexStorage);
        if (result) {
            rollbackJournal(impl.view);
            (void)Allocator(impl.view).rebuildDerivedState();
            h.lock.holderPid = 0;
            std::atomic_ref<std::uint64_t>(h.lock.bootId).store(boot);
        }
    }
    impl.file.unlockExclusive();
    return result;
}

} // namespace

const char* errorMessage(RegionError error)
{
    switch (error) {
    case RegionError::NotFound:
        return "region file not found";
    case RegionError::AlreadyExists:
        return "region file already exists";
    case RegionError::PermissionDenied:
        return "permission denied";
    case RegionError::IoError:
        return "I/O error";
    case RegionError::InvalidArgument:
        return "invalid argument";
    case RegionError::Truncated:
        return "region file is truncated";
    case RegionError::BadMagic:
        return "not a Commy region file (bad magic)";
    case RegionError::UnsupportedVersion:
        return "unsupported region format version";
    case RegionError::AbiMismatch:
        return "region was written by a build with another in-file layout (ABI mismatch)";
    case RegionError::ChecksumMismatch:
        return "region header checksum mismatch";
    case RegionError::Corrupt:
        return "region is corrupt";
    case RegionError::OutOfMemory:
        return "region is full";
    case RegionError::LimitExceeded:
        return "region limit exceeded";
    case RegionError::ProcessTableFull:
        return "process table is full";
    case RegionError::NotAttached:
        return "process is not attached to the region";
    case RegionError::AlreadyAttached:
        return "process is already attached to the region";
    case RegionError::RootExists:
        return "a root with that name exists";
    case RegionError::RootNotFound:
        return "no root with that name";
    case RegionError::NameTooLong:
        return "name too long";
    case RegionError::NotAllocated:
        return "offset is not an allocated block";
    case RegionError::ResizeInProgress:
        return "another resize is in progress";
    case RegionError::LockTimeout:
        return "timed out waiting for the region lock";
    }
    return "unknown region error";
}

const char* livenessName(Liveness liveness)
{
    switch (liveness) {
    case Liveness::Alive:
        return "alive";
    case Liveness::Stale:
        return "stale";
    case Liveness::Dead:
        return "dead";
    }
    return "unknown";
}

// ---- RegionImpl: lock / remap protocol ----

std::uint64_t RegionImpl::reserveFor(std::uint64_t fileSize) const
{
    // Map the whole limit up front (or generous room when there is none), so that growing the file
    // makes new pages usable in every process without a remap.
    const std::uint64_t limit = view.base ? view.header().geometry.limit : 0;
    if (limit != 0)
        return std::max(limit, fileSize);
    return std::max(fileSize * 2, std::max(fileSize, kDefaultReserve));
}

RegionExpected<void> RegionImpl::remap(std::uint64_t fileSize)
{
    // Read the limit from the old mapping before it goes away.
    const std::uint64_t length = reserveFor(fileSize);
    std::lock_guard guard(mappingMutex);
    auto fresh = platform::Mapping::map(file, length);
    if (!fresh)
        return unexpected(fresh.error());
    mapping = std::move(*fresh);
    view = { mapping.base(), mapping.length() };
    lock.rebind(view.header().lock.mutexStorage);
    return {};
}

RegionExpected<bool> RegionImpl::acquire()
{
    const auto deadline = std::chrono::steady_clock::now() + lockTimeout;
    for (;;) {
        auto acquired = lock.lockFor(std::min<std::chrono::milliseconds>(lockTimeout, std::chrono::milliseconds(500)));
        if (!acquired)
            return unexpected(acquired.error());
        if (*acquired == platform::RegionLock::Acquired::TimedOut) {
            renewVanishedLock();
            if (std::chrono::steady_clock::now() >= deadline)
                return unexpected(RegionError::LockTimeout);
            continue;
        }
        RegionHeader& h = view.header();
        // A holder that died mid-mutation left its journal behind; so did one whose lock had to be
        // renewed. Either way the journal is rolled back before anyone reads the structures.
        const bool ownerDied = *acquired == platform::RegionLock::Acquired::PreviousOwnerDied;
        const bool recovered = ownerDied || h.journal.count != 0;
        if (recovered) {
            rollbackJournal(view);
            (void)Allocator(view).rebuildDerivedState();
            ++h.stats.lockRecoveries;
        }
        if (ownerDied)
            lock.markConsistent();
        h.lock.holderPid = platform::currentPid();

        const std::uint64_t fileSize = h.geometry.fileSize;
        if (fileSize > mapping.length()) {
            // Another process grew the file past our mapping: remap outside the lock, since a
            // robust mutex must not move while it is held.
            release();
            if (auto remapped = remap(fileSize); !remapped)
                return unexpected(remapped.error());
            continue;
        }
        if (h.geometry.arenaEnd > fileSize || h.geometry.arenaEnd < kMinRegionBytes) {
            release();
            return unexpected(RegionError::Corrupt);
        }
        const std::uint64_t usable = fileSize / kGranule * kGranule;
        if (usable >= h.geometry.arenaEnd + kMinBlockBytes) {
            // The file grew (by us or someone who has not finished): give the new space to the arena.
            Transaction txn(view);
            if (!finish(view, txn, Allocator(view).extend(usable, txn))) {
                release();
                return unexpected(RegionError::Corrupt);
            }
        }
        return recovered;
    }
}

void RegionImpl::renewVanishedLock()
{
    // Only a damaged file gets here: the kernel releases the lock of every holder that dies. The
    // file lock makes one process renew it; the others see a live holder (the renewer) and wait.
    if (!lock.holderVanished())
        return;
    file.lockExclusive();
    if (lock.holderVanished())
        (void)platform::RegionLock::initialize(view.header().lock.mutexStorage);
    file.unlockExclusive();
}

void RegionImpl::release()
{
    view.header().lock.holderPid = 0;
    lock.unlock();
}

RegionExpected<void> RegionImpl::growLocked(std::uint64_t atLeast)
{
    RegionHeader& h = view.header();
    const std::uint64_t current = h.geometry.fileSize;
    const std::uint64_t limit = h.geometry.limit;
    std::uint64_t target = roundUpToPage(current + std::max(atLeast, h.geometry.growStep));
    if (limit != 0)
        target = std::min(target, limit);
    if (target < current + atLeast || target <= current)
        return unexpected(RegionError::LimitExceeded);
    if (auto resized = file.resize(target); !resized)
        return unexpected(resized.error());
    Transaction txn(view);
    txn.set(h.geometry.fileSize, target);
    txn.set(h.geometry.generation, h.geometry.generation + 1);
    txn.commit();
    ++h.stats.grows;
    return {};
}

RegionExpected<std::uint64_t> RegionImpl::reclaimBlocksOf(std::uint32_t deadSlot)
{
    Allocator allocator(view);
    std::vector<BlockInfo> owned;
    auto walked = allocator.walk([&](const BlockInfo& b) {
        if (!b.free && b.ownerSlot == deadSlot)
            owned.push_back(b);
    });
    if (!walked)
        return unexpected(RegionError::Corrupt);
    std::uint64_t bytes = 0;
    for (const BlockInfo& b : owned) {
        Transaction txn(view);
        if (!finish(view, txn, allocator.deallocate(b.offset + kBlockHeaderBytes, txn)))
            return unexpected(RegionError::Corrupt);
        bytes += b.size;
        ++view.header().stats.reclaimedBlocks;
        view.header().stats.reclaimedBytes += b.size;
    }
    return bytes;
}

bool RegionImpl::finishAbandonedResize(std::chrono::milliseconds timeout)
{
    RegionHeader& h = view.header();
    ResizeRecord& r = h.resize;
    if (r.inProgress == 0)
        return false;
    const bool ownerGone = platform::processGone(r.ownerPid, r.ownerStartTime);
    const std::uint64_t now = platform::wallClockNs();
    const bool timedOut = now > r.startedAtNs
        && now - r.startedAtNs > static_cast<std::uint64_t>(std::chrono::nanoseconds(timeout).count());
    if (!ownerGone && !timedOut)
        return false;
    // The header's fileSize is only changed after the file has its new size, so the header is the
    // truth: cut back a file that was extended but never recorded, keep one that was.
    if (auto actual = file.size(); actual && *actual > h.geometry.fileSize)
        (void)file.resize(h.geometry.fileSize);
    Transaction txn(view);
    txn.set(r.inProgress, 0);
    txn.commit();
    return true;
}

// ---- Region ----

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

std::uint64_t Region::minRegionSize() { return roundUpToPage(kMinRegionBytes); }

RegionExpected<std::unique_ptr<Region>> Region::open(const std::string& path, const RegionOptions& options)
{
    const bool mayCreate = options.mode != OpenMode::OpenExisting;
    if (mayCreate
        && (options.size < minRegionSize() || (options.limit != 0 && options.limit < options.size)
            || options.size > kSizeMask / 2 || options.limit > kSizeMask / 2))
        return unexpected(RegionError::InvalidArgument);

    auto impl = std::make_unique<RegionImpl>();
    impl->path = path;
    RegionExpected<RegionImpl*> opened = unexpected(RegionError::NotFound);
    switch (options.mode) {
    case OpenMode::CreateOnly:
        opened = createFile(*impl, options);
        break;
    case OpenMode::OpenExisting:
        opened = openFile(*impl);
        break;
    case OpenMode::OpenOrCreate:
        opened = openFile(*impl);
        if (!opened && opened.error() == RegionError::NotFound) {
            opened = createFile(*impl, options);
            if (!opened && opened.error() == RegionError::AlreadyExists)
                opened = openFile(*impl); // lost a creation race: the winner's file is complete
        }
        break;
    }
    if (!opened)
        return unexpected(opened.error());

    // Map, then re-check the header in place: another process may have changed it since we read it.
    auto size = impl->file.size();
    if (!size)
        return unexpected(size.error());
    RegionHeader probe {};
    if (auto read = impl->file.readAt(&probe, sizeof probe, 0); !read)
        return unexpected(read.error());
    const std::uint64_t limit = probe.geometry.limit;
    const std::uint64_t length
        = limit ? std::max(limit, probe.geometry.fileSize) : std::max(probe.geometry.fileSize * 2, kDefaultReserve);
    auto mapping = platform::Mapping::map(impl->file, length);
    if (!mapping)
        return unexpected(mapping.error());
    impl->mapping = std::move(*mapping);
    impl->view = { impl->mapping.base(), impl->mapping.length() };
    if (auto valid = validateMutableHeader(impl->view.header(), *size); !valid)
        return unexpected(valid.error());
    impl->lock.rebind(impl->view.header().lock.mutexStorage);
    if (auto fresh = renewLockAfterReboot(*impl); !fresh)
        return unexpected(fresh.error());
    impl->lockTimeout = options.lockTimeout;
    impl->autoGrow = options.autoGrow || (impl->view.header().geometry.flags & kFlagAutoGrow) != 0;
    return std::unique_ptr<Region>(new Region(std::move(impl)));
}

const std::string& Region::path() const { return m_impl->path; }
std::uint64_t Region::size() const { return relaxedLoad(m_impl->view.header().geometry.fileSize); }
std::uint64_t Region::limit() const { return relaxedLoad(m_impl->view.header().geometry.limit); }
std::uint64_t Region::generation() const { return relaxedLoad(m_impl->view.header().geometry.generation); }

RegionExpected<std::uint64_t> Region::allocate(std::uint64_t bytes, std::uint64_t alignment)
{
    if (!m_impl->slot)
        return unexpected(RegionError::NotAttached);
    for (;;) {
        LockedRegion locked(*m_impl);
        if (!locked.ok())
            return unexpected(locked.error());
        const RegionView& view = m_impl->view;
        Transaction txn(view);
        auto result = finish(view, txn, Allocator(view).allocate(bytes, alignment, m_impl->ownerField(), txn));
        Stats& stats = view.header().stats;
        if (result) {
            ++stats.allocations;
            return result;
        }
        if (result.error() == RegionError::OutOfMemory && m_impl->autoGrow) {
            // Grow by at least what the request needs with alignment slack, then retry: the next
            // acquire() remaps if needed and hands the new space to the arena.
            if (m_impl->growLocked(bytes + alignment + 2 * kMinBlockBytes))
                continue;
        }
        ++stats.failedAllocations;
        return result;
    }
}

RegionExpected<void> Region::deallocate(std::uint64_t offset)
{
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    const RegionView& view = m_impl->view;
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
        return unexpected(CorruptionReport { 0, errorMessage(locked.error()) });
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
            if (process_table::isDead(view, i) && m_impl->reclaimBlocksOf(i)) {
                Transaction releaseTxn(view);
                process_table::release(view, i, releaseTxn);
                releaseTxn.commit();
            }
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
    // Blocks this process never published would be nobody's once the slot is reused: free them.
    auto reclaimed = m_impl->reclaimBlocksOf(*m_impl->slot);
    Transaction txn(m_impl->view);
    process_table::release(m_impl->view, *m_impl->slot, txn);
    txn.commit();
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
    return RootDirectory::describe(*entry);
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
    return entry->version;
}

RegionExpected<std::vector<RootInfo>> Region::roots()
{
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    Allocator allocator(m_impl->view);
    return RootDirectory(m_impl->view, allocator).list();
}

RegionExpected<void> Region::resizeFile(std::uint64_t requested)
{
    const std::uint64_t newSize = roundUpToPage(requested);
    if (newSize > kSizeMask / 2)
        return unexpected(RegionError::InvalidArgument);
    RegionImpl& impl = *m_impl;
    {
        LockedRegion locked(impl);
        if (!locked.ok())
            return unexpected(locked.error());
        RegionHeader& h = impl.view.header();
        if (h.resize.inProgress != 0 && !impl.finishAbandonedResize(std::chrono::milliseconds(5000)))
            return unexpected(RegionError::ResizeInProgress);
        if (h.geometry.limit != 0 && newSize > h.geometry.limit)
            return unexpected(RegionError::LimitExceeded);
        if (newSize < h.geometry.fileSize)
            return unexpected(RegionError::InvalidArgument); // shrinking is shrinkToUsage(): it never cuts live data
        if (newSize == h.geometry.fileSize)
            return {};

        const std::uint64_t pid = platform::currentPid();
        Transaction record(impl.view);
        record.set(h.resize.ownerPid, pid);
        record.set(h.resize.ownerStartTime, platform::processStartTime(pid));
        record.set(h.resize.startedAtNs, platform::wallClockNs());
        record.set(h.resize.oldSize, h.geometry.fileSize);
        record.set(h.resize.targetSize, newSize);
        record.set(h.resize.inProgress, 1);
        record.commit();

        if (auto resized = impl.file.resize(newSize); !resized) {
            Transaction abort(impl.view);
            abort.set(h.resize.inProgress, 0);
            abort.commit();
            return unexpected(resized.error());
        }
        Transaction txn(impl.view);
        txn.set(h.geometry.fileSize, newSize);
        txn.set(h.geometry.generation, h.geometry.generation + 1);
        txn.commit();
        ++h.stats.grows;
    }
    // The next acquire() remaps if our mapping is too short and adopts the new space into the arena.
    LockedRegion locked(impl);
    if (!locked.ok())
        return unexpected(locked.error());
    Transaction done(impl.view);
    done.set(impl.view.header().resize.inProgress, 0);
    done.commit();
    return {};
}

RegionExpected<std::uint64_t> Region::shrinkToUsage()
{
    RegionImpl& impl = *m_impl;
    LockedRegion locked(impl);
    if (!locked.ok())
        return unexpected(locked.error());
    const RegionView& view = impl.view;
    RegionHeader& h = view.header();
    if (h.resize.inProgress != 0 && !impl.finishAbandonedResize(std::chrono::milliseconds(5000)))
        return unexpected(RegionError::ResizeInProgress);
    Transaction txn(view);
    auto newEnd = Allocator(view).trimTail(txn);
    if (!newEnd) {
        (void)finish(view, txn, newEnd);
        return newEnd;
    }
    if (*newEnd >= h.geometry.fileSize) {
        txn.commit();
        return h.geometry.fileSize;
    }
    txn.set(h.geometry.fileSize, *newEnd);
    txn.set(h.geometry.generation, h.geometry.generation + 1);
    txn.commit();
    // Cutting the file after the header says so: a crash in between leaves a file longer than its
    // header, which is harmless.
    (void)impl.file.resize(*newEnd);
    ++h.stats.shrinks;
    return *newEnd;
}

RegionExpected<bool> Region::checkOperationTimeout(std::chrono::milliseconds timeout)
{
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    const ResizeRecord& r = m_impl->view.header().resize;
    if (r.inProgress == 0)
        return false;
    const std::uint64_t now = platform::wallClockNs();
    const bool timedOut = now > r.startedAtNs
        && now - r.startedAtNs > static_cast<std::uint64_t>(std::chrono::nanoseconds(timeout).count());
    return timedOut || platform::processGone(r.ownerPid, r.ownerStartTime);
}

RegionExpected<bool> Region::cleanupFailedResize(std::chrono::milliseconds timeout)
{
    LockedRegion locked(*m_impl);
    if (!locked.ok())
        return unexpected(locked.error());
    return m_impl->finishAbandonedResize(timeout);
}

RegionExpected<CleanupReport> Region::cleanup()
{
    RegionImpl& impl = *m_impl;
    LockedRegion locked(impl);
    if (!locked.ok())
        return unexpected(locked.error());
    const RegionView& view = impl.view;
    CleanupReport report;
    report.lockRecovered = locked.recovered();
    report.resizeAborted = impl.finishAbandonedResize(std::chrono::milliseconds(5000));
    for (std::uint32_t i = 0; i < kMaxProcesses; ++i) {
        if (!process_table::isDead(view, i))
            continue;
        const ProcessInfo info = process_table::describe(view, i, std::chrono::milliseconds(0));
        const std::uint64_t blocksBefore = view.header().stats.reclaimedBlocks;
        auto bytes = impl.reclaimBlocksOf(i);
        if (!bytes)
            return unexpected(bytes.error());
        report.reclaimedBytes += *bytes;
        report.reclaimedBlocks += view.header().stats.reclaimedBlocks - blocksBefore;
        Transaction txn(view);
        process_table::release(view, i, txn);
        txn.commit();
        report.freedSlots.push_back({ i, info.pid, info.name });
    }
    ++view.header().stats.cleanups;
    return report;
}

} // namespace commy::shm
