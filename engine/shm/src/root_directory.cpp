#include "root_directory.h"

#include "hash.h"

#include <atomic>
#include <cstring>
#include <string>

namespace commy::shm {

using namespace format;

namespace {

constexpr std::uint64_t kInitialCapacity = 16;
constexpr std::uint64_t kMaxCapacity = std::uint64_t { 1 } << 24;

std::string_view nameOf(const RootEntry& entry) { return { entry.name, strnlen(entry.name, sizeof entry.name) }; }

constexpr std::uint64_t stateWord(RootState state) { return static_cast<std::uint64_t>(state); }

} // namespace

RegionExpected<void> RootDirectory::validateName(std::string_view name)
{
    if (name.empty() || name.find('\0') != std::string_view::npos)
        return unexpected(RegionError::InvalidArgument);
    if (name.size() >= kRootNameBytes)
        return unexpected(RegionError::NameTooLong);
    return {};
}

RootEntry* RootDirectory::table() const
{
    const RootTableRef& ref = m_view.header().roots;
    if (ref.tableOffset == 0 || ref.capacity == 0 || ref.capacity > kMaxCapacity
        || (ref.capacity & (ref.capacity - 1)) != 0)
        return nullptr;
    if (!m_view.contains(ref.tableOffset, ref.capacity * sizeof(RootEntry)) || ref.tableOffset % 8 != 0)
        return nullptr;
    return reinterpret_cast<RootEntry*>(m_view.base + ref.tableOffset);
}

RootEntry* RootDirectory::find(std::string_view name) const
{
    RootEntry* entries = table();
    if (!entries)
        return nullptr;
    const std::uint64_t mask = m_view.header().roots.capacity - 1;
    for (std::uint64_t i = 0, pos = fnv1a(name) & mask; i <= mask; ++i, pos = (pos + 1) & mask) {
        RootEntry& e = entries[pos];
        if (e.state == stateWord(RootState::Empty))
            return nullptr;
        if (e.state == stateWord(RootState::Used) && nameOf(e) == name)
            return &e;
    }
    return nullptr;
}

RegionExpected<void> RootDirectory::reserveOne(std::uint64_t owner)
{
    const RootTableRef& ref = m_view.header().roots;
    if (!table())
        return rehash(kInitialCapacity, owner);
    // Keep the load (live entries and tombstones) under 3/4 so probes stay short and always end.
    if ((ref.used + ref.tombstones + 1) * 4 <= ref.capacity * 3)
        return {};
    std::uint64_t capacity = kInitialCapacity;
    while ((ref.used + 1) * 2 > capacity)
        capacity *= 2;
    if (capacity > kMaxCapacity)
        return unexpected(RegionError::OutOfMemory);
    return rehash(capacity, owner);
}

RegionExpected<void> RootDirectory::rehash(std::uint64_t newCapacity, std::uint64_t owner)
{
    // The new table is sized from the header's count; a damaged table holding more live entries than
    // that would have its copy below probe for a free slot forever.
    if (const RootEntry* old = table()) {
        std::uint64_t live = 0;
        for (std::uint64_t i = 0; i < m_view.header().roots.capacity; ++i)
            live += old[i].state == stateWord(RootState::Used) ? 1 : 0;
        if (live >= newCapacity)
            return unexpected(RegionError::Corrupt);
    }

    // 1. Allocate the new table as a block of this process (cleanup reclaims it if we die).
    Transaction allocTxn(m_view);
    auto allocated = m_allocator.allocate(newCapacity * sizeof(RootEntry), 16, owner, allocTxn);
    allocTxn.commit();
    if (!allocated)
        return unexpected(allocated.error());
    const std::uint64_t newOffset = *allocated;

    // 2. Fill it while nothing refers to it.
    auto* fresh = reinterpret_cast<RootEntry*>(m_view.base + newOffset);
    std::memset(fresh, 0, newCapacity * sizeof(RootEntry));
    std::uint64_t used = 0;
    if (RootEntry* old = table()) {
        const std::uint64_t oldCapacity = m_view.header().roots.capacity;
        for (std::uint64_t i = 0; i < oldCapacity; ++i) {
            if (old[i].state != stateWord(RootState::Used))
                continue;
            std::uint64_t pos = fnv1a(nameOf(old[i])) & (newCapacity - 1);
            while (fresh[pos].state != stateWord(RootState::Empty))
                pos = (pos + 1) & (newCapacity - 1);
            fresh[pos] = old[i];
            ++used;
        }
    }

    // 3. Switch over, publish the new table and free the old one in one transaction.
    RootTableRef& ref = m_view.header().roots;
    const std::uint64_t oldOffset = ref.tableOffset;
    Transaction txn(m_view);
    txn.set(ref.tableOffset, newOffset);
    txn.set(ref.capacity, newCapacity);
    txn.set(ref.used, used);
    txn.set(ref.tombstones, 0);
    auto published = m_allocator.setOwner(newOffset, kPublished, txn);
    auto freed = oldOffset != 0 ? m_allocator.deallocate(oldOffset, txn) : RegionExpected<void> {};
    if (!published || !freed) {
        rollbackJournal(m_view);
        (void)m_allocator.rebuildDerivedState();
        return unexpected(RegionError::Corrupt);
    }
    txn.commit();
    return {};
}

RegionExpected<void> RootDirectory::insert(
    std::string_view name, std::uint64_t offset, RootKind kind, std::string_view type, Transaction& txn)
{
    RootEntry* entries = table();
    if (!entries)
        return unexpected(RegionError::Corrupt);
    RootTableRef& ref = m_view.header().roots;
    const std::uint64_t mask = ref.capacity - 1;
    RootEntry* target = nullptr;
    for (std::uint64_t i = 0, pos = fnv1a(name) & mask; i <= mask; ++i, pos = (pos + 1) & mask) {
        RootEntry& e = entries[pos];
        if (e.state == stateWord(RootState::Used)) {
            if (nameOf(e) == name)
                return unexpected(RegionError::RootExists);
            continue;
        }
        if (!target)
            target = &e;
        if (e.state == stateWord(RootState::Empty))
            break;
    }
    if (!target)
        return unexpected(RegionError::OutOfMemory);
    if (auto published = m_allocator.setOwner(offset, kPublished, txn); !published)
        return published;

    // The text fields are written before the entry turns Used; if we die first, it never does.
    std::memset(target->name, 0, sizeof target->name);
    std::memcpy(target->name, name.data(), name.size());
    std::memset(target->type, 0, sizeof target->type);
    std::memcpy(target->type, type.data(), std::min<std::size_t>(type.size(), sizeof target->type - 1));
    const bool reusesTombstone = target->state == stateWord(RootState::Tombstone);
    txn.set(target->offset, offset);
    txn.set(target->version, 1);
    target->kind = static_cast<std::uint32_t>(kind);
    txn.set(target->state, stateWord(RootState::Used));
    txn.set(ref.used, ref.used + 1);
    if (reusesTombstone)
        txn.set(ref.tombstones, ref.tombstones - 1);
    return {};
}

std::uint64_t RootDirectory::erase(RootEntry& entry, Transaction& txn)
{
    RootTableRef& ref = m_view.header().roots;
    txn.set(entry.state, stateWord(RootState::Tombstone));
    txn.set(ref.used, ref.used - 1);
    txn.set(ref.tombstones, ref.tombstones + 1);
    return entry.offset;
}

RootInfo RootDirectory::describe(const RootEntry& entry) const
{
    RootInfo info;
    info.name = std::string(nameOf(entry));
    info.type.assign(entry.type, strnlen(entry.type, sizeof entry.type));
    info.kind = static_cast<RootKind>(entry.kind);
    info.offset = entry.offset;
    info.version = entry.version;
    // A container keeps its version in its own header, where its operations bump it without the
    // region lock.
    if (entry.kind != static_cast<std::uint32_t>(RootKind::Bytes)) {
        if (const auto* h = m_view.at<ContainerHeader>(entry.offset); h && h->magic == kContainerMagic)
            info.version = std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(h->version)).load();
    }
    return info;
}

std::vector<RootInfo> RootDirectory::list() const
{
    std::vector<RootInfo> result;
    RootEntry* entries = table();
    if (!entries)
        return result;
    for (std::uint64_t i = 0; i < m_view.header().roots.capacity; ++i) {
        if (entries[i].state == stateWord(RootState::Used))
            result.push_back(describe(entries[i]));
    }
    return result;
}

Expected<void, CorruptionReport> RootDirectory::checkSanity() const
{
    const RootTableRef& ref = m_view.header().roots;
    if (ref.tableOffset == 0)
        return ref.used == 0 ? Expected<void, CorruptionReport> {}
                             : unexpected(CorruptionReport { 0, "roots counted but no root table" });
    RootEntry* entries = table();
    if (!entries)
        return unexpected(CorruptionReport { ref.tableOffset, "root table outside the region" });
    auto tableBlock = m_allocator.usedBlockSize(ref.tableOffset);
    if (!tableBlock || *tableBlock < ref.capacity * sizeof(RootEntry))
        return unexpected(CorruptionReport { ref.tableOffset, "root table is not a live block of its size" });
    std::uint64_t used = 0, tombstones = 0;
    for (std::uint64_t i = 0; i < ref.capacity; ++i) {
        const RootEntry& e = entries[i];
        const std::uint64_t at = m_view.offsetOf(&e);
        if (e.state == stateWord(RootState::Tombstone)) {
            ++tombstones;
            continue;
        }
        if (e.state == stateWord(RootState::Empty))
            continue;
        if (e.state != stateWord(RootState::Used))
            return unexpected(CorruptionReport { at, "root entry has an unknown state" });
        ++used;
        if (strnlen(e.name, sizeof e.name) == sizeof e.name || e.name[0] == '\0')
            return unexpected(CorruptionReport { at, "root name is not terminated" });
        if (find(nameOf(e)) != &e)
            return unexpected(CorruptionReport { at, "root entry is unreachable by its name" });
        if (!m_allocator.usedBlockSize(e.offset))
            return unexpected(CorruptionReport { at, "root '" + std::string(nameOf(e)) + "' points to no live block" });
    }
    if (used != ref.used || tombstones != ref.tombstones)
        return unexpected(CorruptionReport { m_view.offsetOf(&ref), "root counts disagree with the table" });
    return {};
}

} // namespace commy::shm
