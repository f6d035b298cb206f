// Creating and opening region files: the header is validated from a private copy before anything
// is mapped, and a new file only gets its final name once it is complete.

#include "hash.h"
#include "journal.h"
#include "region_impl.h"

#include <commy/shm/region_format.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>

namespace commy::shm {

using namespace format;

namespace {

// Covers every identity field before the checksum itself.
std::uint64_t identityChecksum(const Identity& id) { return fnv1a(&id, offsetof(Identity, checksum)); }

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

// Reads the header and checks it against the file's size. Other processes may be growing or
// shrinking the file meanwhile: the header is read before the size (a grow extends the file before
// its header says so), and a check that fails is repeated, because fields read a moment apart can
// disagree while a resize is under way. Damage fails every time.
RegionExpected<void> readValidHeader(const platform::File& file, RegionHeader& header)
{
    RegionExpected<void> result;
    for (int attempt = 0; attempt < 3; ++attempt) {
        auto bytes = file.size();
        if (!bytes)
            return unexpected(bytes.error());
        if (*bytes < sizeof(RegionHeader))
            return unexpected(*bytes >= sizeof(Identity) ? RegionError::Truncated : RegionError::BadMagic);
        if (auto read = file.readAt(&header, sizeof(RegionHeader), 0); !read)
            return unexpected(read.error());
        if (auto valid = validateIdentity(header.identity); !valid)
            return unexpected(valid.error());
        bytes = file.size();
        if (!bytes)
            return unexpected(bytes.error());
        result = validateMutableHeader(header, *bytes);
        if (result)
            return result;
    }
    return result;
}

RegionExpected<RegionImpl*> openFile(RegionImpl& impl)
{
    auto file = platform::File::openExisting(impl.path);
    if (!file)
        return unexpected(file.error());
    // Validate a private copy of the header before mapping anything.
    auto header = std::make_unique<RegionHeader>();
    if (auto valid = readValidHeader(*file, *header); !valid)
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

    // Another process may have changed the header since openFile() read it: read it again for the
    // mapping's length.
    auto probe = std::make_unique<RegionHeader>();
    if (auto valid = readValidHeader(impl->file, *probe); !valid)
        return unexpected(valid.error());
    auto mapping = platform::Mapping::map(impl->file, mappingLength(probe->geometry.fileSize, probe->geometry.limit));
    if (!mapping)
        return unexpected(mapping.error());
    impl->mapping = std::move(*mapping);
    impl->view = { impl->mapping.base(), impl->mapping.length() };
    impl->lock.rebind(impl->view.header().lock.mutexStorage);
    if (auto fresh = renewLockAfterReboot(*impl); !fresh)
        return unexpected(fresh.error());
    impl->lockTimeout = options.lockTimeout;
    impl->cache.setCapacity(options.localCacheBytes);
    impl->autoGrow = options.autoGrow || (impl->view.header().geometry.flags & kFlagAutoGrow) != 0;
    return std::unique_ptr<Region>(new Region(std::move(impl)));
}

} // namespace commy::shm
