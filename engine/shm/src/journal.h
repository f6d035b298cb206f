#pragma once

// Internal: the undo journal that makes locked mutations survive the death of the lock holder.
// Before a structural word of the region changes, its offset and old value are appended to the
// journal in the header; commit() empties the journal. A process that finds the lock abandoned
// calls rollbackJournal(), which restores the saved words in reverse order, so the interrupted
// mutation never happened. Derived state (counters, bitmaps) is not journaled; recovery rebuilds it.

#include "region_view.h"

#include <cstdint>

namespace commy::shm {

class Transaction {
public:
    explicit Transaction(const RegionView& view)
        : m_view(view)
        , m_count(view.header().journal.count)
    {
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    // Saves the old value of `word` (which must lie inside the mapping), then stores `value`.
    void set(std::uint64_t& word, std::uint64_t value);
    // Stores into memory that nothing reachable refers to before this transaction (e.g. a block
    // carved out of the inside of a free block): undoing the transaction makes it unreachable again,
    // so its old value need not be saved.
    static void setFresh(std::uint64_t& word, std::uint64_t value) { word = value; }
    void commit();
    std::uint64_t writes() const { return m_writes; }

private:
    const RegionView& m_view;
    std::uint64_t m_count; // entries in the journal, kept here so each write need not reload it
    std::uint64_t m_writes = 0;
};

// Restores what an interrupted transaction changed. Returns how many words were restored.
std::uint64_t rollbackJournal(const RegionView& view);

} // namespace commy::shm
