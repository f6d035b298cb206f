#include <commy/shm/container_txn.h>

#include "allocator.h"
#include "change_journal.h"
#include "journal.h"
#include "region_access.h"
#include "root_directory.h"

#include <commy/shm/fault_injection.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace commy::shm::detail {

using namespace format;

namespace {

std::atomic<int> g_stepsBeforeKill { 0 };

// A deterministic crash point for tests (see fault_injection.h).
void crashPoint()
{
    if (g_stepsBeforeKill.load(std::memory_order_relaxed) > 0 && g_stepsBeforeKill.fetch_sub(1) == 1)
        platform::killSelf();
}

template <class T> std::atomic_ref<T> atomic(T& word) { return std::atomic_ref<T>(word); }

constexpr std::uint64_t roundUp8(std::uint64_t bytes) { return (bytes + 7) & ~std::uint64_t { 7 }; }

// Keeps the compiler from moving stores across a journal step: the journal must describe a change
// before the change is made, and a killed process loses nothing it stored, only what it reordered.
inline void compilerBarrier() { std::atomic_signal_fence(std::memory_order_seq_cst); }

std::chrono::milliseconds patienceOf(const RegionImpl& impl)
{
    return std::min<std::chrono::milliseconds>(impl.lockTimeout, std::chrono::milliseconds(500));
}

// Frees the block of a journal entry and marks the entry done in one region transaction, so a
// process killed in between leaves neither a double free nor a leak behind.
RegionExpected<void> freeJournaledBlock(RegionImpl& impl, std::uint64_t entryOffset)
{
    LockedRegion locked(impl);
    if (!locked.ok())
        return unexpected(locked.error());
    const RegionView& view = impl.view;
    ContainerJournalEntry* entry = view.at<ContainerJournalEntry>(entryOffset);
    if (!entry)
        return unexpected(RegionError::Corrupt);
    if (entry->done != 0)
        return {};
    Transaction txn(view);
    auto freed = Allocator(view).deallocate(entry->offset, txn);
    if (freed) {
        txn.set(entry->done, 1);
        txn.commit();
        ++view.header().stats.deallocations;
        return freed;
    }
    // A block that no longer validates cannot be freed; its entry is closed anyway so that
    // recovery cannot loop on it.
    if (txn.writes() > 0) {
        rollbackJournal(view);
        (void)Allocator(view).rebuildDerivedState();
    }
    Transaction mark(view);
    mark.set(entry->done, 1);
    mark.commit();
    return freed;
}

// Walks the live journal entries, checking each lies inside the journal.
template <class Visit>
RegionExpected<void> forEachEntry(Region& region, const ContainerHeader& h, std::uint64_t used, Visit&& visit)
{
    if (used > h.journalCapacity)
        return unexpected(RegionError::Corrupt);
    std::uint64_t position = 0;
    while (position < used) {
        const std::uint64_t entryOffset = h.journalOffset + position;
        const auto* entry
            = static_cast<const ContainerJournalEntry*>(region.pointer(entryOffset, sizeof(ContainerJournalEntry)));
        if (!entry || used - position < sizeof(ContainerJournalEntry))
            return unexpected(RegionError::Corrupt);
        const std::uint64_t length = sizeof(ContainerJournalEntry)
            + (entry->kind == static_cast<std::uint64_t>(ContainerJournalKind::Saved) ? roundUp8(entry->bytes) : 0);
        if (entry->bytes > used || length > used - position)
            return unexpected(RegionError::Corrupt);
        visit(entryOffset, *entry);
        position += length;
    }
    return {};
}

} // namespace

// ---- ContainerRef ----

RegionExpected<ContainerRef> ContainerRef::create(Region& region, std::string_view name, RootKind kind,
    std::string_view descriptor, const ElementLayout& layout, std::uint64_t journalBytes, const void* body,
    std::uint64_t bodyBytes)
{
    if (!region.attached())
        return unexpected(RegionError::NotAttached);
    if (auto valid = RootDirectory::validateName(name); !valid)
        return unexpected(valid.error());
    if (descriptor.size() >= kRootTypeBytes || bodyBytes > kContainerBodyBytes || kind == RootKind::Bytes)
        return unexpected(RegionError::InvalidArgument);
    RegionImpl& impl = RegionAccess::impl(region);
    const auto none = [](Transaction&, std::uint64_t) {};
    auto header = impl.allocateLocked(sizeof(ContainerHeader), 64, impl.ownerField(), none);
    if (!header)
        return unexpected(header.error());
    auto journal = impl.allocateLocked(journalBytes, 16, impl.ownerField(), none);
    if (!journal) {
        (void)region.deallocate(*header);
        return unexpected(journal.error());
    }
    auto* h = static_cast<ContainerHeader*>(region.pointer(*header, sizeof(ContainerHeader)));
    std::memset(h, 0, sizeof *h);
    h->magic = kContainerMagic;
    h->kind = static_cast<std::uint32_t>(kind);
    h->keySize = layout.keySize;
    h->keyAlign = layout.keyAlign;
    h->valueSize = layout.valueSize;
    h->valueAlign = layout.valueAlign;
    h->journalOffset = *journal;
    h->journalCapacity = journalBytes;
    if (body)
        std::memcpy(h->body, body, bodyBytes);
    auto created = platform::RegionLock::initialize(h->lock);
    if (created) {
        // The header becomes a root and the journal is published in one transaction: a process
        // killed before it leaves two unpublished blocks that cleanup() reclaims.
        LockedRegion locked(impl);
        if (!locked.ok()) {
            created = unexpected(locked.error());
        } else {
            const RegionView& view = impl.view;
            Allocator allocator(view);
            RootDirectory roots(view, allocator);
            if (roots.find(name)) {
                created = unexpected(RegionError::RootExists);
            } else if (created = roots.reserveOne(impl.ownerField()); created) {
                Transaction txn(view);
                created = allocator.setOwner(*journal, kPublished, txn);
                if (created)
                    created = roots.insert(name, *header, kind, descriptor, txn);
                created = finish(view, txn, std::move(created));
            }
        }
    }
    if (!created) {
        (void)region.deallocate(*journal);
        (void)region.deallocate(*header);
        return unexpected(created.error());
    }
    return ContainerRef(region, *header);
}

RegionExpected<ContainerRef> ContainerRef::attachAny(Region& region, std::string_view name)
{
    auto root = region.findRoot(name);
    if (!root)
        return unexpected(root.error());
    if (root->kind == RootKind::Bytes)
        return unexpected(RegionError::TypeMismatch);
    ContainerRef ref(region, root->offset);
    const ContainerHeader* h = ref.header();
    if (!h || h->magic != kContainerMagic || h->kind != static_cast<std::uint32_t>(root->kind))
        return unexpected(RegionError::Corrupt);
    return ref;
}

RegionExpected<ContainerRef> ContainerRef::attach(
    Region& region, std::string_view name, RootKind kind, std::string_view descriptor)
{
    auto root = region.findRoot(name);
    if (!root)
        return unexpected(root.error());
    if (root->kind != kind || root->type != descriptor)
        return unexpected(RegionError::TypeMismatch);
    return attachAny(region, name);
}

ContainerHeader* ContainerRef::header() const
{
    return static_cast<ContainerHeader*>(m_region->pointer(m_offset, sizeof(ContainerHeader)));
}

std::uint64_t ContainerRef::version() const
{
    ContainerHeader* h = header();
    return h ? atomic(h->version).load(std::memory_order_acquire) : 0;
}

// ---- ContainerTxn ----

RegionExpected<ContainerTxn> ContainerTxn::begin(const ContainerRef& container)
{
    ContainerTxn txn(container);
    if (auto locked = txn.lock(); !locked)
        return unexpected(locked.error());
    return txn;
}

ContainerTxn::ContainerTxn(ContainerTxn&& other) noexcept
    : m_container(other.m_container)
    , m_header(other.m_header)
    , m_locked(std::exchange(other.m_locked, false))
    , m_dirty(std::exchange(other.m_dirty, false))
    , m_writing(std::exchange(other.m_writing, false))
    , m_dropped(std::exchange(other.m_dropped, false))
{
}

ContainerTxn::~ContainerTxn()
{
    if (!m_locked)
        return;
    rollback();
    unlock();
}

std::uint64_t ContainerTxn::offsetOf(const void* address) const
{
    return m_container.offset()
        + static_cast<std::uint64_t>(
            static_cast<const std::byte*>(address) - reinterpret_cast<const std::byte*>(m_header));
}

RegionExpected<void> ContainerTxn::lock()
{
    RegionImpl& impl = RegionAccess::impl(region());
    ContainerHeader* h = m_container.header();
    if (!h || h->magic != kContainerMagic)
        return unexpected(RegionError::Corrupt);
    platform::RegionLock lock(h->lock);
    std::optional<std::chrono::steady_clock::time_point> deadline;
    const auto patience = patienceOf(impl);
    bool ownerDied = false;
    for (;;) {
        auto acquired = lock.lockFor(patience);
        if (!acquired)
            return unexpected(acquired.error());
        if (*acquired != platform::RegionLock::Acquired::TimedOut) {
            ownerDied = *acquired == platform::RegionLock::Acquired::PreviousOwnerDied;
            break;
        }
        if (lock.holderVanished()) {
            // Only a damaged file gets here (the kernel releases the locks of every process that
            // dies). The region lock makes one process renew it; the journal check below repairs.
            LockedRegion locked(impl);
            if (locked.ok() && lock.holderVanished())
                (void)platform::RegionLock::initialize(h->lock);
            continue;
        }
        const auto now = std::chrono::steady_clock::now();
        if (!deadline)
            deadline = now + (impl.lockTimeout - patience);
        if (now >= *deadline)
            return unexpected(RegionError::LockTimeout);
    }
    m_locked = true;
    m_header = h;
    if (ownerDied || atomic(h->journalUsed).load(std::memory_order_acquire) != 0 || (h->sequence & 1) != 0) {
        // The region first: a holder killed inside a region transaction for this container (a
        // journal switch, an allocation and its record) is rolled back before the journal is read.
        if (LockedRegion repaired(impl); !repaired.ok()) {
            if (ownerDied)
                lock.markConsistent();
            unlock();
            return unexpected(repaired.error());
        }
        m_writing = (h->sequence & 1) != 0;
        m_dirty = true;
        rollback();
        if (atomic(h->journalUsed).load(std::memory_order_acquire) != 0) {
            // The journal could not be replayed (it is damaged, or the region lock timed out).
            if (ownerDied)
                lock.markConsistent();
            unlock();
            return unexpected(RegionError::Corrupt);
        }
        ++h->recoveries;
    }
    if (ownerDied)
        lock.markConsistent();
    atomic(h->holderPid).store(platform::currentPid(), std::memory_order_relaxed);
    return {};
}

void ContainerTxn::unlock()
{
    ContainerHeader* h = m_header;
    atomic(h->holderPid).store(0, std::memory_order_relaxed);
    platform::RegionLock(h->lock).unlock();
    m_locked = false;
}

void ContainerTxn::beginWriting()
{
    if (m_writing)
        return;
    ContainerHeader& h = header();
    const std::uint64_t s = atomic(h.sequence).load(std::memory_order_relaxed);
    atomic(h.sequence).store(s + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    m_writing = true;
}

void ContainerTxn::endWriting()
{
    if (!m_writing)
        return;
    ContainerHeader& h = header();
    const std::uint64_t s = atomic(h.sequence).load(std::memory_order_relaxed);
    atomic(h.sequence).store((s | 1) + 1, std::memory_order_release);
    m_writing = false;
}

RegionExpected<void> ContainerTxn::save(std::uint64_t offset, std::uint64_t bytes)
{
    beginWriting();
    ContainerHeader& h = header();
    const std::uint64_t need = sizeof(ContainerJournalEntry) + roundUp8(bytes);
    if (auto room = reserveJournal(need); !room)
        return room;
    const std::uint64_t used = h.journalUsed;
    auto* entry = at<ContainerJournalEntry>(h.journalOffset + used);
    const void* source = at(offset, bytes);
    if (!entry || !source || !at(h.journalOffset + used, need))
        return unexpected(RegionError::Corrupt);
    *entry = { static_cast<std::uint64_t>(ContainerJournalKind::Saved), 0, offset, bytes };
    std::memcpy(entry + 1, source, bytes);
    compilerBarrier();
    atomic(h.journalUsed).store(used + need, std::memory_order_release);
    compilerBarrier();
    m_dirty = true;
    crashPoint();
    return {};
}

RegionExpected<void> ContainerTxn::reserveJournal(std::uint64_t bytes)
{
    const ContainerHeader& h = header();
    const std::uint64_t used = h.journalUsed & ~kJournalCommitted;
    if (used <= h.journalCapacity && bytes <= h.journalCapacity - used)
        return {};
    if (used > h.journalCapacity || bytes > kMaxJournalBytes)
        return unexpected(used > h.journalCapacity ? RegionError::Corrupt : RegionError::JournalFull);
    std::uint64_t capacity = h.journalCapacity * 2;
    while (capacity - used < bytes)
        capacity *= 2;
    if (capacity > kMaxJournalBytes)
        return unexpected(RegionError::JournalFull);
    // The bigger journal is allocated, filled with the live entries and switched to, and the old one
    // freed, in one region transaction: a process killed on the way leaves one journal or the other.
    RegionImpl& impl = RegionAccess::impl(region());
    const std::uint64_t headerOffset = m_container.offset();
    bool switched = false;
    auto fresh = impl.allocateLocked(capacity, 16, kPublished, [&](Transaction& txn, std::uint64_t block) {
        const RegionView& view = impl.view;
        auto* locked = view.at<ContainerHeader>(headerOffset);
        if (!locked || !view.contains(block, capacity) || !view.contains(locked->journalOffset, used))
            return;
        std::memcpy(view.base + block, view.base + locked->journalOffset, used);
        const std::uint64_t old = locked->journalOffset;
        txn.set(locked->journalOffset, block);
        txn.set(locked->journalCapacity, capacity);
        switched = Allocator(view).deallocate(old, txn).hasValue();
    });
    if (!fresh)
        return unexpected(fresh.error());
    return switched ? RegionExpected<void>() : unexpected(RegionError::Corrupt);
}

RegionExpected<void> ContainerTxn::set(std::uint64_t& word, std::uint64_t value)
{
    if (auto saved = save(&word, sizeof word); !saved)
        return saved;
    word = value;
    return {};
}

RegionExpected<std::uint64_t> ContainerTxn::allocate(std::uint64_t bytes, std::uint64_t alignment)
{
    beginWriting();
    m_dirty = true;
    if (auto room = reserveJournal(sizeof(ContainerJournalEntry)); !room)
        return unexpected(room.error());
    RegionImpl& impl = RegionAccess::impl(region());
    const ContainerHeader& h = header();
    const std::uint64_t used = h.journalUsed;
    const std::uint64_t entryOffset = h.journalOffset + used;
    const std::uint64_t usedOffset = m_container.offset() + offsetof(ContainerHeader, journalUsed);
    // The block and the record of it are made in one region transaction.
    auto offset = impl.allocateLocked(bytes, alignment, kPublished, [&](Transaction& txn, std::uint64_t block) {
        const RegionView& view = impl.view;
        auto* entry = view.at<ContainerJournalEntry>(entryOffset);
        auto* usedWord = view.at<std::uint64_t>(usedOffset);
        if (!entry || !usedWord)
            return;
        *entry = { static_cast<std::uint64_t>(ContainerJournalKind::Allocated), 0, block, 0 };
        txn.set(*usedWord, used + sizeof(ContainerJournalEntry));
    });
    if (!offset)
        return offset;
    if (header().journalUsed != used + sizeof(ContainerJournalEntry))
        return unexpected(RegionError::Corrupt);
    void* block = at(*offset, bytes);
    if (!block)
        return unexpected(RegionError::Corrupt);
    std::memset(block, 0, bytes);
    crashPoint();
    return offset;
}

RegionExpected<void> ContainerTxn::release(std::uint64_t offset)
{
    beginWriting();
    if (auto room = reserveJournal(sizeof(ContainerJournalEntry)); !room)
        return room;
    ContainerHeader& h = header();
    const std::uint64_t used = h.journalUsed;
    auto* entry = at<ContainerJournalEntry>(h.journalOffset + used);
    if (!entry)
        return unexpected(RegionError::Corrupt);
    *entry = { static_cast<std::uint64_t>(ContainerJournalKind::Dropped), 0, offset, 0 };
    compilerBarrier();
    atomic(h.journalUsed).store(used + sizeof(ContainerJournalEntry), std::memory_order_release);
    m_dirty = true;
    m_dropped = true;
    crashPoint();
    return {};
}

RegionExpected<void> ContainerTxn::commit()
{
    if (!m_dirty)
        return {};
    ContainerHeader* h = m_header;
    if (auto bumped = set(h->version, h->version + 1); !bumped)
        return bumped;
    const std::uint64_t version = h->version;
    if (m_dropped) {
        // From here on the operation counts as done: recovery finishes its frees.
        compilerBarrier();
        atomic(h->journalUsed).store(h->journalUsed | kJournalCommitted, std::memory_order_release);
        compilerBarrier();
        crashPoint();
        rollback(); // with the committed mark this performs the frees
    } else {
        compilerBarrier();
        atomic(h->journalUsed).store(0, std::memory_order_release);
        endWriting();
        m_dirty = false;
    }
    RegionImpl& impl = RegionAccess::impl(region());
    change_journal::record(impl.view, m_container.offset(), version, region().slot());
    return {};
}

void ContainerTxn::rollback()
{
    if (!m_dirty)
        return;
    RegionImpl& impl = RegionAccess::impl(region());
    ContainerHeader* h = m_header;
    const std::uint64_t word = atomic(h->journalUsed).load(std::memory_order_acquire);
    const bool committed = (word & kJournalCommitted) != 0;
    const std::uint64_t used = word & ~kJournalCommitted;
    std::vector<std::uint64_t> entries;
    if (!forEachEntry(
            region(), *h, used, [&](std::uint64_t offset, const ContainerJournalEntry&) { entries.push_back(offset); }))
        return; // a damaged journal stays for the lock's caller to report
    bool complete = true;
    // Undo restores saved bytes newest first, then frees what the operation allocated; a committed
    // operation only frees what it dropped. Either way each free is marked done as it happens, so
    // a process killed here leaves the rest to the next recovery.
    const auto wanted = committed ? ContainerJournalKind::Dropped : ContainerJournalKind::Allocated;
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
        const auto* entry = at<ContainerJournalEntry>(*it);
        if (!committed && entry->kind == static_cast<std::uint64_t>(ContainerJournalKind::Saved)) {
            void* target = at(entry->offset, entry->bytes);
            if (target)
                std::memcpy(target, entry + 1, entry->bytes);
            else
                complete = false;
        }
    }
    for (const std::uint64_t entryOffset : entries) {
        const auto* entry = at<ContainerJournalEntry>(entryOffset);
        if (entry->kind == static_cast<std::uint64_t>(wanted) && entry->done == 0) {
            auto freed = freeJournaledBlock(impl, entryOffset);
            crashPoint();
            if (!freed && freed.error() != RegionError::NotAllocated)
                complete = false;
        }
    }
    if (!complete)
        return;
    compilerBarrier();
    atomic(h->journalUsed).store(0, std::memory_order_release);
    endWriting();
    m_dirty = false;
    m_dropped = false;
}

RegionExpected<void> ContainerTxn::retireRoot(std::string_view name)
{
    RegionImpl& impl = RegionAccess::impl(region());
    LockedRegion locked(impl);
    if (!locked.ok())
        return unexpected(locked.error());
    const RegionView& view = impl.view;
    Allocator allocator(view);
    RootDirectory roots(view, allocator);
    RootEntry* entry = roots.find(name);
    if (!entry || entry->offset != m_container.offset())
        return unexpected(RegionError::RootNotFound);
    ContainerHeader* h = m_header;
    const std::uint64_t journal = h->journalOffset;
    h->magic = 0; // whoever still holds a reference finds no container here
    Transaction txn(view);
    const std::uint64_t header = roots.erase(*entry, txn);
    auto freed = allocator.deallocate(journal, txn);
    if (freed)
        freed = allocator.deallocate(header, txn);
    if (!freed) {
        h->magic = kContainerMagic;
        return finish(view, txn, std::move(freed));
    }
    txn.commit();
    view.header().stats.deallocations += 2;
    // Unlocked while the region lock is still held: nobody can reuse the freed header before the
    // mutex inside it is released.
    unlock();
    return {};
}

} // namespace commy::shm::detail

namespace commy::shm {

void testing::killSelfAfterContainerSteps(int n) { detail::g_stepsBeforeKill.store(n > 0 ? n : 0); }

BatchGuard::BatchGuard(const detail::ContainerHandle& handle, detail::ContainerTxn&& txn)
    : m_handle(&handle)
    , m_txn(std::make_unique<detail::ContainerTxn>(std::move(txn)))
{
    m_handle->setBatch(m_txn.get());
}

BatchGuard::BatchGuard(BatchGuard&& other) noexcept
    : m_handle(std::exchange(other.m_handle, nullptr))
    , m_txn(std::move(other.m_txn))
{
}

BatchGuard::~BatchGuard()
{
    if (m_handle)
        m_handle->setBatch(nullptr);
}

} // namespace commy::shm
