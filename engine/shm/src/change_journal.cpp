#include "change_journal.h"

#include "platform/platform.h"

#include <atomic>

namespace commy::shm::change_journal {

using namespace format;

namespace {

template <class T> std::atomic_ref<T> atomic(T& word) { return std::atomic_ref<T>(word); }

// A writer between claiming a record and finishing it is a few instructions away from done; a
// reader waits this long for it before reporting the record as missed.
constexpr auto kUnfinishedRecordPatience = std::chrono::microseconds(200);

// Wake filtering: slots 0-30 each own one bit of the futex bitset, every other writer (and a writer
// with no slot) uses bit 31. A sleeper listens on every bit except its ignored writer's own, so that
// writer alone cannot wake it; writers on bit 31 wake every sleeper, ignored or not (never a missed wake).
constexpr std::uint32_t kSharedWakeBit = 31;

std::uint32_t wakeBitsOf(std::uint32_t writerSlot)
{
    return std::uint32_t(1) << (writerSlot < kSharedWakeBit ? writerSlot : kSharedWakeBit);
}

std::uint32_t listenBitsIgnoring(std::optional<std::uint32_t> writer)
{
    if (!writer || *writer >= kSharedWakeBit)
        return platform::kAllWakeBits;
    return ~wakeBitsOf(*writer);
}

} // namespace

void record(const RegionView& view, std::uint64_t rootOffset, std::uint64_t version, std::uint32_t writerSlot)
{
    ChangeJournal& changes = view.header().changes;
    const std::uint64_t claimed = atomic(changes.claimed).fetch_add(1, std::memory_order_acq_rel) + 1;
    ChangeRecord& r = changes.records[claimed % kChangeRecords];
    atomic(r.sequence).store(0, std::memory_order_relaxed); // invalid while it is rewritten
    atomic(r.rootOffset).store(rootOffset, std::memory_order_relaxed);
    atomic(r.version).store(version, std::memory_order_relaxed);
    atomic(r.writerSlot).store(writerSlot, std::memory_order_relaxed);
    atomic(r.sequence).store(claimed, std::memory_order_release);
    // Writers that claimed later may finish first: `sequence` only moves forward.
    std::uint64_t current = atomic(changes.sequence).load(std::memory_order_relaxed);
    while (current < claimed
        && !atomic(changes.sequence).compare_exchange_weak(current, claimed, std::memory_order_acq_rel)) { }
    // Store the wake word, then look for sleepers; a sleeper counts itself, then re-reads the wake
    // word. Sequentially consistent on both sides, one of the two always sees the other.
    atomic(changes.wakeWord).store(static_cast<std::uint32_t>(claimed), std::memory_order_seq_cst);
    if (atomic(changes.waiters).load(std::memory_order_seq_cst) != 0)
        platform::wakeAllOnWord(&changes.wakeWord, wakeBitsOf(writerSlot));
}

std::uint64_t sequence(const RegionView& view)
{
    return atomic(view.header().changes.sequence).load(std::memory_order_acquire);
}

std::uint64_t waitForChange(const RegionView& view, std::uint64_t after, std::chrono::milliseconds timeout,
    std::optional<std::uint32_t> ignoredWriter)
{
    ChangeJournal& changes = view.header().changes;
    const std::uint32_t listenBits = listenBitsIgnoring(ignoredWriter);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        atomic(changes.waiters).fetch_add(1, std::memory_order_seq_cst);
        // The wake word is read before the sequence: a change between the two makes the wait
        // below return at once instead of sleeping through it.
        const std::uint32_t word = atomic(changes.wakeWord).load(std::memory_order_seq_cst);
        const std::uint64_t current = sequence(view);
        const auto left = deadline - std::chrono::steady_clock::now();
        if (current <= after && left > left.zero())
            platform::waitOnWord(&changes.wakeWord, word, left, listenBits);
        atomic(changes.waiters).fetch_sub(1, std::memory_order_seq_cst);
        if (current > after || left <= left.zero())
            return current;
    }
}

ChangeBatch since(const RegionView& view, std::uint64_t after)
{
    const ChangeJournal& changes = view.header().changes;
    ChangeBatch batch;
    batch.sequence = sequence(view);
    std::uint64_t first = after + 1;
    if (batch.sequence >= kChangeRecords && first <= batch.sequence - kChangeRecords) {
        batch.missed = true;
        first = batch.sequence - kChangeRecords + 1;
    }
    for (std::uint64_t s = first; s <= batch.sequence; ++s) {
        ChangeRecord& r = const_cast<ChangeRecord&>(changes.records[s % kChangeRecords]);
        std::uint64_t found = atomic(r.sequence).load(std::memory_order_acquire);
        const auto giveUp = std::chrono::steady_clock::now() + kUnfinishedRecordPatience;
        while (found < s && std::chrono::steady_clock::now() < giveUp)
            found = atomic(r.sequence).load(std::memory_order_acquire);
        const RootChange change { s, atomic(r.rootOffset).load(std::memory_order_relaxed),
            atomic(r.version).load(std::memory_order_relaxed),
            static_cast<std::uint32_t>(atomic(r.writerSlot).load(std::memory_order_relaxed)) };
        // A record that is not s now was never finished (its writer died) or was already reused.
        if (found != s || atomic(r.sequence).load(std::memory_order_acquire) != s) {
            batch.missed = true;
            continue;
        }
        batch.changes.push_back(change);
    }
    return batch;
}

} // namespace commy::shm::change_journal
