#pragma once

// The machinery every shared container shares: finding or creating its root, its process-shared
// robust lock, and the transaction one operation runs in.
//
// An operation records in the container's undo journal the old bytes of everything reachable it is
// about to overwrite (save()), every block it allocates (allocate(): the block and its record are
// made in one region transaction) and every block it drops (release()). commit() marks the journal
// committed, frees the dropped blocks, empties the journal, bumps the version and records the change
// in the region's change journal. If the process dies before the mark, the next process to lock the
// container undoes the operation: restores the saved bytes and frees the allocated blocks. If it
// dies after, the next one finishes the frees. An operation that fails (a full region) is undone the
// same way, so the container is unchanged.

#include <commy/shm/container_format.h>
#include <commy/shm/region.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace commy::shm::detail {

struct ElementLayout {
    std::uint32_t keySize = 0;
    std::uint32_t keyAlign = 0;
    std::uint32_t valueSize = 0;
    std::uint32_t valueAlign = 0;
};

// A container's identity in this process: the region and the payload offset of its header block.
class ContainerRef {
public:
    ContainerRef() = default;
    ContainerRef(Region& region, std::uint64_t headerOffset)
        : m_region(&region)
        , m_offset(headerOffset)
    {
    }

    // Creates the root `name` with an initialised header, its journal and a zeroed body, then lets
    // `initBody` fill in the body (it may not allocate). Requires an attached region.
    static RegionExpected<ContainerRef> create(Region& region, std::string_view name, RootKind kind,
        std::string_view descriptor, const ElementLayout& layout, std::uint64_t journalBytes,
        const void* body = nullptr, std::uint64_t bodyBytes = 0);
    // Finds the root `name` and checks that it is a container of `kind` with `descriptor`.
    static RegionExpected<ContainerRef> attach(
        Region& region, std::string_view name, RootKind kind, std::string_view descriptor);
    // Opens any container root, whatever its kind (for tools that read from the descriptor).
    static RegionExpected<ContainerRef> attachAny(Region& region, std::string_view name);

    // Drops everything the container owns (`dropContents(txn, bodyAt)`), then removes its root and
    // frees its header and journal. Processes still using the container get errors from then on;
    // one already waiting for the container's lock at that moment may touch the freed header, so
    // destroy a container only once its users have stopped.
    template <class DropContents>
    static RegionExpected<void> destroy(const ContainerRef& ref, std::string_view name, DropContents&& dropContents);

    Region& region() const { return *m_region; }
    std::uint64_t offset() const { return m_offset; }
    bool valid() const { return m_region != nullptr; }
    // The header in this process's mapping, valid until the next call on the region.
    format::ContainerHeader* header() const;
    std::uint64_t version() const;

private:
    Region* m_region = nullptr;
    std::uint64_t m_offset = 0;
};

// One locked stretch of work on a container. Holds the container lock from begin() until it is
// destroyed; commit() ends one operation (several may run under one lock, see BatchGuard).
class ContainerTxn {
public:
    static RegionExpected<ContainerTxn> begin(const ContainerRef& container);
    ContainerTxn(ContainerTxn&& other) noexcept;
    ContainerTxn& operator=(ContainerTxn&&) = delete;
    ContainerTxn(const ContainerTxn&) = delete;
    ~ContainerTxn(); // rolls back an uncommitted operation, then unlocks

    Region& region() const { return m_container.region(); }
    const ContainerRef& container() const { return m_container; }
    // The header stays at this address while the lock is held: a remap keeps earlier mappings.
    format::ContainerHeader& header() const { return *m_header; }
    template <class Body> Body& body() const
    {
        static_assert(sizeof(Body) <= format::kContainerBodyBytes);
        return *reinterpret_cast<Body*>(header().body);
    }
    std::uint64_t bodyOffset() const { return m_container.offset() + offsetof(format::ContainerHeader, body); }

    // Address of [offset, offset + bytes) or nullptr when it is not inside the arena; valid until the
    // next allocate().
    void* at(std::uint64_t offset, std::uint64_t bytes) const
    {
        // The header (and the body in it) is the most used range: no bounds check beyond its own.
        const std::uint64_t inHeader = offset - m_container.offset();
        if (offset >= m_container.offset() && inHeader <= sizeof(format::ContainerHeader)
            && bytes <= sizeof(format::ContainerHeader) - inHeader)
            return reinterpret_cast<std::byte*>(m_header) + inHeader;
        return region().pointer(offset, bytes);
    }
    template <class T> T* at(std::uint64_t offset) const { return static_cast<T*>(at(offset, sizeof(T))); }
    std::uint64_t offsetOf(const void* address) const;

    // Saves [offset, offset + bytes) before it is overwritten. Memory allocated by this operation
    // need not be saved: rolling back makes it unreachable again.
    RegionExpected<void> save(std::uint64_t offset, std::uint64_t bytes);
    RegionExpected<void> save(const void* address, std::uint64_t bytes) { return save(offsetOf(address), bytes); }
    // Saves one 8-byte word, then stores `value` into it.
    RegionExpected<void> set(std::uint64_t& word, std::uint64_t value);

    // A zero-filled block for this operation, freed again if the operation is undone.
    RegionExpected<std::uint64_t> allocate(std::uint64_t bytes, std::uint64_t alignment = 16);
    // Frees a block once the operation has committed.
    RegionExpected<void> release(std::uint64_t offset);
    // Marks the operation as a change even if it saved nothing (forces a version bump).
    void touch() { m_dirty = true; }

    // Ends the operation: frees the dropped blocks, bumps the version and records the change. A
    // read-only operation commits without touching anything shared.
    RegionExpected<void> commit();
    void rollback();
    bool dirty() const { return m_dirty; }
    // Removes the root `name` (which must be this container) and frees the header and journal,
    // then unlocks. The container must hold nothing else by now.
    RegionExpected<void> retireRoot(std::string_view name);

private:
    explicit ContainerTxn(const ContainerRef& container)
        : m_container(container)
    {
    }
    RegionExpected<void> lock();
    void unlock();
    // Makes room for `bytes` more journal bytes, doubling the journal block when it is full.
    RegionExpected<void> reserveJournal(std::uint64_t bytes);
    void beginWriting();
    void endWriting();

    ContainerRef m_container;
    format::ContainerHeader* m_header = nullptr; // set by lock()
    bool m_locked = false;
    bool m_dirty = false; // something changed since the last commit
    bool m_writing = false; // the seqlock word is odd
    bool m_dropped = false; // the journal lists blocks to free at commit
};

// Runs `operation(txn)` as one operation: commits on success, rolls back on failure.
template <class Operation> auto runOperation(ContainerTxn& txn, Operation&& operation) -> decltype(operation(txn))
{
    auto result = operation(txn);
    if (!result) {
        txn.rollback();
        return result;
    }
    if (auto committed = txn.commit(); !committed) {
        txn.rollback();
        return unexpected(committed.error());
    }
    return result;
}

template <class DropContents>
RegionExpected<void> ContainerRef::destroy(const ContainerRef& ref, std::string_view name, DropContents&& dropContents)
{
    auto txn = ContainerTxn::begin(ref);
    if (!txn)
        return unexpected(txn.error());
    const std::uint64_t bodyAt = ref.offset() + offsetof(format::ContainerHeader, body);
    auto dropped = runOperation(*txn, [&](ContainerTxn& t) { return dropContents(t, bodyAt); });
    if (!dropped)
        return dropped;
    return txn->retireRoot(name);
}

// Everything a typed container object holds: where it is, and the batch it runs in, if any.
class ContainerHandle {
public:
    ContainerHandle() = default;
    explicit ContainerHandle(const ContainerRef& ref)
        : m_ref(ref)
    {
    }
    // A copy is a separate handle: it does not run in the original's batch.
    ContainerHandle(const ContainerHandle& other)
        : m_ref(other.m_ref)
    {
    }
    ContainerHandle& operator=(const ContainerHandle& other)
    {
        m_ref = other.m_ref;
        m_batch = nullptr;
        return *this;
    }
    const ContainerRef& ref() const { return m_ref; }
    std::uint64_t version() const { return m_ref.version(); }

    // Runs one operation, in the current batch when there is one, otherwise under the lock for
    // just this call.
    template <class Operation>
    auto run(Operation&& operation) const -> decltype(operation(std::declval<ContainerTxn&>()))
    {
        if (m_batch)
            return runOperation(*m_batch, operation);
        auto txn = ContainerTxn::begin(m_ref);
        if (!txn)
            return unexpected(txn.error());
        return runOperation(*txn, operation);
    }

    ContainerTxn* batch() const { return m_batch; }
    void setBatch(ContainerTxn* txn) const { m_batch = txn; }

private:
    ContainerRef m_ref;
    mutable ContainerTxn* m_batch = nullptr;
};

} // namespace commy::shm::detail

namespace commy::shm {

// Keeps a container locked across several operations, so no other process sees or changes it in
// between: `{ auto batch = BatchGuard::lock(vec); vec.push(1); vec.push(2); }`. Each operation still
// commits on its own (a crash loses at most the one in progress).
class BatchGuard {
public:
    template <class Container> static RegionExpected<BatchGuard> lock(const Container& container)
    {
        const detail::ContainerHandle& handle = container.handle();
        if (handle.batch())
            return unexpected(RegionError::InvalidArgument); // already in a batch
        auto txn = detail::ContainerTxn::begin(handle.ref());
        if (!txn)
            return unexpected(txn.error());
        return BatchGuard(handle, std::move(*txn));
    }
    BatchGuard(BatchGuard&& other) noexcept;
    BatchGuard(const BatchGuard&) = delete;
    BatchGuard& operator=(const BatchGuard&) = delete;
    BatchGuard& operator=(BatchGuard&&) = delete;
    ~BatchGuard();

private:
    BatchGuard(const detail::ContainerHandle& handle, detail::ContainerTxn&& txn);
    const detail::ContainerHandle* m_handle;
    std::unique_ptr<detail::ContainerTxn> m_txn;
};

} // namespace commy::shm
