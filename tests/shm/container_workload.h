#pragma once

// A deterministic sequence of container operations shared by shm_test_child (which runs it on one
// container of every kind, named in WorkloadState) and by the tests (which run it on std
// containers to know every state the writer commits). Qt-free.
//
// Operation i depends only on the seed, i and the state before it, so the model and the real
// containers stay in step. Every operation changes one container and commits once, so a writer
// killed inside operation i leaves the state before or after it. Bulk operations that commit in
// steps are left out or kept below their step size: no clear of 32 or more strings (vector, hash
// map), no string extend, no B-tree clear and no extend of a container of strings.

#include <cstdint>
#include <deque>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace commy::shmtest {

// The SharedBox value: 64 bytes whose words differ, so a torn write would show.
struct WorkloadBox {
    std::int64_t words[8];

    bool operator==(const WorkloadBox&) const = default;
};
static_assert(sizeof(WorkloadBox) == 64 && std::is_trivially_copyable_v<WorkloadBox>);

struct WorkloadState {
    std::vector<std::int64_t> numbers; // SharedVec<int64_t> "numbers"
    std::vector<std::string> words; // SharedVec<SharedString> "words"
    std::string text; // SharedString "text"
    std::map<std::int64_t, std::string> labels; // SharedHashMap<int64_t, SharedString> "labels"
    std::set<std::int64_t> tags; // SharedHashSet<int64_t> "tags"
    std::map<std::int64_t, std::int64_t> index; // SharedBTreeMap<int64_t, int64_t> "index"
    std::set<std::string> names; // SharedBTreeSet<SharedString> "names"
    std::deque<std::int64_t> queue; // SharedVecDeque<int64_t> "queue"
    WorkloadBox box {}; // SharedBox<WorkloadBox> "box"

    bool operator==(const WorkloadState&) const = default;
};

// Cheap first test before a full comparison.
inline bool sameSizes(const WorkloadState& a, const WorkloadState& b)
{
    return a.numbers.size() == b.numbers.size() && a.words.size() == b.words.size() && a.text.size() == b.text.size()
        && a.labels.size() == b.labels.size() && a.tags.size() == b.tags.size() && a.index.size() == b.index.size()
        && a.names.size() == b.names.size() && a.queue.size() == b.queue.size();
}

enum class WorkloadOpKind {
    PushNumber,
    PopNumber,
    InsertNumber, // beyond 256 numbers an insert at the front rebuilds the array
    RemoveNumber,
    SetNumber,
    ExtendNumbers,
    ClearNumbers,
    ShrinkNumbers,
    PushWord,
    PopWord,
    InsertWord,
    RemoveWord,
    SetWord,
    ClearWords,
    ShrinkWords,
    AppendText,
    AssignText,
    PopText,
    PutLabel, // insert or replace (the old string is dropped)
    RemoveLabel,
    ClearLabels, // below 32 entries: one step
    ShrinkLabels,
    InsertTag, // sometimes one already there
    RemoveTag,
    ClearTags,
    ShrinkTags,
    PutIndex, // insert (splits full nodes) or replace
    RemoveIndex, // borrows from or merges thin nodes
    InsertName,
    RemoveName,
    PushQueueBack,
    PushQueueFront, // wraps the head below 0
    PopQueueBack,
    PopQueueFront,
    SetQueue,
    ExtendQueue,
    ClearQueue,
    ShrinkQueue,
    SetBox,
    ModifyBox, // read, change and write back under one lock
};

struct WorkloadOp {
    WorkloadOpKind kind = WorkloadOpKind::PushNumber;
    std::uint64_t index = 0;
    std::int64_t number = 0; // also the key of labels, tags and index
    std::int64_t value = 0; // PutIndex
    std::uint64_t count = 0; // ExtendNumbers, ExtendQueue
    std::string word;
};

// The B-trees grow while treesGrow(i) and shrink otherwise: "index" (nodes of 41 entries) and
// "names" (nodes of 31 strings) grow to about 100 entries by operation kFirstTreeCycle / 2 (a few
// leaves: leaf splits and the root leaf's split) and shrink back to one leaf by kFirstTreeCycle
// (borrows, merges and the root's collapse). Later cycles are three times as long and take them
// to a few hundred entries. The crash-point test runs the first cycle, the random-moment runs
// reach into the second.
inline constexpr std::uint64_t kFirstTreeCycle = 1200;
// Beyond this size a tree only shrinks.
inline constexpr std::size_t kTreeMaxSize = 400;

inline bool treesGrow(std::uint64_t i)
{
    if (i < kFirstTreeCycle)
        return i < kFirstTreeCycle / 2;
    return ((i - kFirstTreeCycle) / (3 * kFirstTreeCycle / 2)) % 2 == 0;
}

// SplitMix64. Each operation seeds its own generator, and seeding a std::mt19937_64 (312 words)
// cost more than most operations in a debug build.
class WorkloadRng {
public:
    explicit WorkloadRng(std::uint64_t seed)
        : m_state(seed)
    {
    }
    std::uint64_t operator()()
    {
        std::uint64_t z = (m_state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }

private:
    std::uint64_t m_state;
};

inline std::string workloadWord(WorkloadRng& rng)
{
    // Mostly short words, sometimes one big enough for a block of its own size class.
    const std::size_t length = rng() % 10 == 0 ? 200 + rng() % 300 : rng() % 24;
    std::string word(length, 'a');
    for (char& c : word)
        c = static_cast<char>('a' + rng() % 26);
    return word;
}

// The n-th element of an ordered container (its key, for a map).
template <class Ordered> auto workloadNth(const Ordered& ordered, std::uint64_t n)
{
    auto it = std::next(ordered.begin(), static_cast<std::ptrdiff_t>(n));
    if constexpr (requires { it->first; })
        return it->first;
    else
        return *it;
}

inline void pickNumbersOp(WorkloadOp& op, WorkloadRng& rng, const WorkloadState& state)
{
    // kept below ~400
    const std::size_t n = state.numbers.size();
    const unsigned what = static_cast<unsigned>(rng() % 100);
    if (n == 0 || (what < 30 && n < 400)) {
        op.kind = WorkloadOpKind::PushNumber;
    } else if (what < 40) {
        op.kind = WorkloadOpKind::PopNumber;
    } else if (what < 55 && n < 400) {
        op.kind = WorkloadOpKind::InsertNumber;
        op.index = rng() % 3 == 0 ? 0 : rng() % (n + 1);
    } else if (what < 75) {
        op.kind = WorkloadOpKind::RemoveNumber;
        op.index = rng() % 3 == 0 ? 0 : rng() % n;
    } else if (what < 90) {
        op.kind = WorkloadOpKind::SetNumber;
        op.index = rng() % n;
    } else if (what < 94 && n < 300) {
        op.kind = WorkloadOpKind::ExtendNumbers;
        op.count = 1 + rng() % 100;
    } else if (what < 97) {
        op.kind = WorkloadOpKind::ShrinkNumbers;
    } else {
        op.kind = WorkloadOpKind::ClearNumbers;
    }
}

inline void pickWordsOp(WorkloadOp& op, WorkloadRng& rng, const WorkloadState& state)
{
    // kept below 31 so a clear commits once
    const std::size_t w = state.words.size();
    op.word = workloadWord(rng);
    const unsigned what = static_cast<unsigned>(rng() % 100);
    if (w == 0 || (what < 30 && w < 30)) {
        op.kind = WorkloadOpKind::PushWord;
    } else if (what < 40) {
        op.kind = WorkloadOpKind::PopWord;
    } else if (what < 55 && w < 30) {
        op.kind = WorkloadOpKind::InsertWord;
        op.index = rng() % (w + 1);
    } else if (what < 75) {
        op.kind = WorkloadOpKind::RemoveWord;
        op.index = rng() % w;
    } else if (what < 92) {
        op.kind = WorkloadOpKind::SetWord;
        op.index = rng() % w;
    } else if (what < 96) {
        op.kind = WorkloadOpKind::ShrinkWords;
    } else {
        op.kind = WorkloadOpKind::ClearWords;
    }
}

inline void pickTextOp(WorkloadOp& op, WorkloadRng& rng, const WorkloadState& state)
{
    op.word = workloadWord(rng);
    const unsigned what = static_cast<unsigned>(rng() % 100);
    if (state.text.size() > 600 || what < 15)
        op.kind = WorkloadOpKind::AssignText;
    else if (what < 30 && !state.text.empty())
        op.kind = WorkloadOpKind::PopText;
    else
        op.kind = WorkloadOpKind::AppendText;
}

inline void pickLabelsOp(WorkloadOp& op, WorkloadRng& rng, const WorkloadState& state)
{
    // 64 keys, so puts often replace; the table grows 8 -> 12 -> ... -> 60 slots and rebuilds
    // in place when removes have left tombstones.
    const std::size_t n = state.labels.size();
    op.word = workloadWord(rng);
    op.number = static_cast<std::int64_t>(rng() % 64);
    const unsigned what = static_cast<unsigned>(rng() % 100);
    if (n == 0 || what < 70) {
        op.kind = WorkloadOpKind::PutLabel;
    } else if (what < 92) {
        op.kind = WorkloadOpKind::RemoveLabel;
        op.number = workloadNth(state.labels, rng() % n);
    } else if (what < 99 || n >= 32) {
        op.kind = WorkloadOpKind::ShrinkLabels;
    } else {
        op.kind = WorkloadOpKind::ClearLabels;
    }
}

inline void pickTagsOp(WorkloadOp& op, WorkloadRng& rng, const WorkloadState& state)
{
    const std::size_t n = state.tags.size();
    const unsigned what = static_cast<unsigned>(rng() % 100);
    if (n == 0 || (what < 70 && n < 300)) {
        op.kind = WorkloadOpKind::InsertTag;
        op.number = static_cast<std::int64_t>(rng() % 1000);
    } else if (what < 97) {
        op.kind = WorkloadOpKind::RemoveTag;
        op.number = workloadNth(state.tags, rng() % n);
    } else if (what < 99) {
        op.kind = WorkloadOpKind::ShrinkTags;
    } else {
        op.kind = WorkloadOpKind::ClearTags;
    }
}

inline void pickIndexOp(WorkloadOp& op, WorkloadRng& rng, std::uint64_t i, const WorkloadState& state)
{
    const std::size_t n = state.index.size();
    const bool growing = treesGrow(i) && n < kTreeMaxSize;
    const unsigned what = static_cast<unsigned>(rng() % 100);
    op.value = static_cast<std::int64_t>(rng() % 1000000);
    if (n == 0 || what < (growing ? 85u : 5u)) {
        op.kind = WorkloadOpKind::PutIndex;
        op.number = static_cast<std::int64_t>(rng() % 100000);
    } else if (what < (growing ? 92u : 95u)) {
        op.kind = WorkloadOpKind::RemoveIndex;
        op.number = workloadNth(state.index, rng() % n);
    } else {
        op.kind = WorkloadOpKind::PutIndex; // replaces a value
        op.number = workloadNth(state.index, rng() % n);
    }
}

inline void pickNamesOp(WorkloadOp& op, WorkloadRng& rng, std::uint64_t i, const WorkloadState& state)
{
    const std::size_t n = state.names.size();
    const bool growing = treesGrow(i) && n < kTreeMaxSize;
    const unsigned what = static_cast<unsigned>(rng() % 100);
    if (n == 0 || what < (growing ? 92u : 8u)) {
        op.kind = WorkloadOpKind::InsertName; // sometimes one already there
        op.word = workloadWord(rng);
    } else {
        op.kind = WorkloadOpKind::RemoveName;
        op.word = workloadNth(state.names, rng() % n);
    }
}

inline void pickQueueOp(WorkloadOp& op, WorkloadRng& rng, const WorkloadState& state)
{
    // kept below ~200; pushes and pops at both ends move the head around the ring.
    const std::size_t n = state.queue.size();
    const unsigned what = static_cast<unsigned>(rng() % 100);
    if (n == 0 || (what < 25 && n < 200)) {
        op.kind = WorkloadOpKind::PushQueueBack;
    } else if (what < 50 && n < 200) {
        op.kind = WorkloadOpKind::PushQueueFront;
    } else if (what < 67) {
        op.kind = WorkloadOpKind::PopQueueFront;
    } else if (what < 84) {
        op.kind = WorkloadOpKind::PopQueueBack;
    } else if (what < 92) {
        op.kind = WorkloadOpKind::SetQueue;
        op.index = rng() % n;
    } else if (what < 96 && n < 150) {
        op.kind = WorkloadOpKind::ExtendQueue;
        op.count = 1 + rng() % 40;
    } else if (what < 99) {
        op.kind = WorkloadOpKind::ShrinkQueue;
    } else {
        op.kind = WorkloadOpKind::ClearQueue;
    }
}

inline WorkloadOp workloadOp(std::uint64_t seed, std::uint64_t i, const WorkloadState& state)
{
    WorkloadRng rng(seed * 0x9e3779b97f4a7c15ull + i);
    WorkloadOp op;
    op.number = static_cast<std::int64_t>(rng() % 1000000) - 500000;
    if (i == 0) {
        op.kind = WorkloadOpKind::ExtendNumbers;
        op.count = 280;
        return op;
    }
    // The B-trees take the largest share: they need the most operations to grow past a node.
    const unsigned pick = static_cast<unsigned>(rng() % 100);
    if (pick < 12)
        pickNumbersOp(op, rng, state);
    else if (pick < 23)
        pickWordsOp(op, rng, state);
    else if (pick < 27)
        pickTextOp(op, rng, state);
    else if (pick < 36)
        pickLabelsOp(op, rng, state);
    else if (pick < 44)
        pickTagsOp(op, rng, state);
    else if (pick < 66)
        pickIndexOp(op, rng, i, state);
    else if (pick < 84)
        pickNamesOp(op, rng, i, state);
    else if (pick < 96)
        pickQueueOp(op, rng, state);
    else
        op.kind = rng() % 2 == 0 ? WorkloadOpKind::SetBox : WorkloadOpKind::ModifyBox;
    return op;
}

// The value ExtendNumbers and ExtendQueue append at position j of their run.
inline std::int64_t workloadExtendValue(const WorkloadOp& op, std::uint64_t j)
{
    return op.number + static_cast<std::int64_t>(j) * 7;
}

// The value SetBox stores.
inline WorkloadBox workloadBoxValue(const WorkloadOp& op)
{
    WorkloadBox box;
    for (std::int64_t j = 0; j < 8; ++j)
        box.words[j] = op.number + j * 1000003;
    return box;
}

// What ModifyBox does to the value it read.
inline void workloadModifyBox(const WorkloadOp& op, WorkloadBox& box)
{
    for (std::int64_t j = 0; j < 8; ++j)
        box.words[j] = box.words[j] / 2 + op.number - j;
}

inline void applyWorkloadOp(const WorkloadOp& op, WorkloadState& state)
{
    auto at = [](auto& v, std::uint64_t index) { return v.begin() + static_cast<std::ptrdiff_t>(index); };
    switch (op.kind) {
    case WorkloadOpKind::PushNumber:
        state.numbers.push_back(op.number);
        break;
    case WorkloadOpKind::PopNumber:
        state.numbers.pop_back();
        break;
    case WorkloadOpKind::InsertNumber:
        state.numbers.insert(at(state.numbers, op.index), op.number);
        break;
    case WorkloadOpKind::RemoveNumber:
        state.numbers.erase(at(state.numbers, op.index));
        break;
    case WorkloadOpKind::SetNumber:
        state.numbers[op.index] = op.number;
        break;
    case WorkloadOpKind::ExtendNumbers:
        for (std::uint64_t j = 0; j < op.count; ++j)
            state.numbers.push_back(workloadExtendValue(op, j));
        break;
    case WorkloadOpKind::ClearNumbers:
        state.numbers.clear();
        break;
    case WorkloadOpKind::ShrinkNumbers:
    case WorkloadOpKind::ShrinkWords:
    case WorkloadOpKind::ShrinkLabels:
    case WorkloadOpKind::ShrinkTags:
    case WorkloadOpKind::ShrinkQueue:
        break;
    case WorkloadOpKind::PushWord:
        state.words.push_back(op.word);
        break;
    case WorkloadOpKind::PopWord:
        state.words.pop_back();
        break;
    case WorkloadOpKind::InsertWord:
        state.words.insert(at(state.words, op.index), op.word);
        break;
    case WorkloadOpKind::RemoveWord:
        state.words.erase(at(state.words, op.index));
        break;
    case WorkloadOpKind::SetWord:
        state.words[op.index] = op.word;
        break;
    case WorkloadOpKind::ClearWords:
        state.words.clear();
        break;
    case WorkloadOpKind::AppendText:
        state.text += op.word;
        break;
    case WorkloadOpKind::AssignText:
        state.text = op.word;
        break;
    case WorkloadOpKind::PopText:
        state.text.pop_back();
        break;
    case WorkloadOpKind::PutLabel:
        state.labels[op.number] = op.word;
        break;
    case WorkloadOpKind::RemoveLabel:
        state.labels.erase(op.number);
        break;
    case WorkloadOpKind::ClearLabels:
        state.labels.clear();
        break;
    case WorkloadOpKind::InsertTag:
        state.tags.insert(op.number);
        break;
    case WorkloadOpKind::RemoveTag:
        state.tags.erase(op.number);
        break;
    case WorkloadOpKind::ClearTags:
        state.tags.clear();
        break;
    case WorkloadOpKind::PutIndex:
        state.index[op.number] = op.value;
        break;
    case WorkloadOpKind::RemoveIndex:
        state.index.erase(op.number);
        break;
    case WorkloadOpKind::InsertName:
        state.names.insert(op.word);
        break;
    case WorkloadOpKind::RemoveName:
        state.names.erase(op.word);
        break;
    case WorkloadOpKind::PushQueueBack:
        state.queue.push_back(op.number);
        break;
    case WorkloadOpKind::PushQueueFront:
        state.queue.push_front(op.number);
        break;
    case WorkloadOpKind::PopQueueBack:
        state.queue.pop_back();
        break;
    case WorkloadOpKind::PopQueueFront:
        state.queue.pop_front();
        break;
    case WorkloadOpKind::SetQueue:
        state.queue[op.index] = op.number;
        break;
    case WorkloadOpKind::ExtendQueue:
        for (std::uint64_t j = 0; j < op.count; ++j)
            state.queue.push_back(workloadExtendValue(op, j));
        break;
    case WorkloadOpKind::ClearQueue:
        state.queue.clear();
        break;
    case WorkloadOpKind::SetBox:
        state.box = workloadBoxValue(op);
        break;
    case WorkloadOpKind::ModifyBox:
        workloadModifyBox(op, state.box);
        break;
    }
}

// The states after 0, 1, ..., count operations.
inline std::vector<WorkloadState> workloadStates(std::uint64_t seed, std::uint64_t count)
{
    std::vector<WorkloadState> states(1);
    for (std::uint64_t i = 0; i < count; ++i) {
        WorkloadState next = states.back();
        applyWorkloadOp(workloadOp(seed, i, next), next);
        states.push_back(std::move(next));
    }
    return states;
}

} // namespace commy::shmtest
