#include "journal.h"

#include "platform/platform.h"

#include <commy/shm/fault_injection.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace commy::shm {

namespace {
std::atomic<int> g_killCountdown { 0 };
}

void testing::killSelfAfterJournalWrites(int n) { g_killCountdown.store(n > 0 ? n : 0); }

void Transaction::set(std::uint64_t& word, std::uint64_t value)
{
    format::UndoJournal& journal = m_view.header().journal;
    const std::uint64_t count = m_count;
    if (count >= format::kJournalCapacity) {
        // A single allocator step writes a bounded number of words; overflowing means a bug here,
        // not bad input, and continuing would make the step impossible to undo.
        std::fprintf(stderr, "commy: undo journal overflow\n");
        std::abort();
    }
    journal.entries[count] = { m_view.offsetOf(&word), word };
    // The entry must be in memory before the count that makes it visible, and the count before the
    // store it protects. A killed process's stores all reach the shared mapping; only the compiler
    // could reorder them, which these fences forbid.
    std::atomic_signal_fence(std::memory_order_seq_cst);
    journal.count = m_count = count + 1;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    word = value;
    ++m_writes;

    if (g_killCountdown.load(std::memory_order_relaxed) > 0 && g_killCountdown.fetch_sub(1) == 1)
        platform::killSelf();
}

void Transaction::commit()
{
    std::atomic_signal_fence(std::memory_order_seq_cst);
    m_view.header().journal.count = m_count = 0;
}

std::uint64_t rollbackJournal(const RegionView& view)
{
    format::UndoJournal& journal = view.header().journal;
    std::uint64_t count = journal.count;
    if (count > format::kJournalCapacity)
        count = format::kJournalCapacity; // a damaged count: undo what can be trusted
    std::uint64_t restored = 0;
    for (std::uint64_t i = count; i-- > 0;) {
        const format::JournalEntry entry = journal.entries[i];
        if (auto* word = view.at<std::uint64_t>(entry.offset)) {
            *word = entry.oldValue;
            ++restored;
        }
    }
    std::atomic_signal_fence(std::memory_order_seq_cst);
    journal.count = 0;
    return restored;
}

} // namespace commy::shm
