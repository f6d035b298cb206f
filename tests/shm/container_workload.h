#pragma once

// A deterministic sequence of container operations shared by shm_test_child (which runs it on a
// SharedVec<int64_t> "numbers", a SharedVec<SharedString> "words" and a SharedString "text") and
// by the tests (which run it on std containers to know every state the writer commits). Qt-free.
//
// Operation i depends only on the seed, i and the sizes of the state before it, so the model and
// the real containers stay in step. Every operation commits once: no clear of 32 or more strings
// and no string extend, whose committed steps would leave states in between.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace commy::shmtest {

struct WorkloadState {
    std::vector<std::int64_t> numbers;
    std::vector<std::string> words;
    std::string text;

    bool operator==(const WorkloadState&) const = default;
};

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
};

struct WorkloadOp {
    WorkloadOpKind kind = WorkloadOpKind::PushNumber;
    std::uint64_t index = 0;
    std::int64_t number = 0;
    std::uint64_t count = 0; // ExtendNumbers
    std::string word;
};

inline std::string workloadWord(std::mt19937_64& rng)
{
    // Mostly short words, sometimes one big enough for a block of its own size class.
    const std::size_t length = rng() % 10 == 0 ? 200 + rng() % 300 : rng() % 24;
    std::string word(length, 'a');
    for (char& c : word)
        c = static_cast<char>('a' + rng() % 26);
    return word;
}

inline WorkloadOp workloadOp(std::uint64_t seed, std::uint64_t i, const WorkloadState& state)
{
    std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ull + i);
    WorkloadOp op;
    op.number = static_cast<std::int64_t>(rng() % 1000000) - 500000;
    const std::size_t n = state.numbers.size();
    const std::size_t w = state.words.size();
    if (i == 0) {
        op.kind = WorkloadOpKind::ExtendNumbers;
        op.count = 280;
        return op;
    }
    const unsigned pick = static_cast<unsigned>(rng() % 100);
    if (pick < 40) {
        // numbers, kept below ~400
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
    } else if (pick < 85) {
        // words, kept below 31 so a clear commits once
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
    } else {
        op.word = workloadWord(rng);
        const unsigned what = static_cast<unsigned>(rng() % 100);
        if (state.text.size() > 600 || what < 15)
            op.kind = WorkloadOpKind::AssignText;
        else if (what < 30 && !state.text.empty())
            op.kind = WorkloadOpKind::PopText;
        else
            op.kind = WorkloadOpKind::AppendText;
    }
    return op;
}

// The value ExtendNumbers appends at position j of its run.
inline std::int64_t workloadExtendValue(const WorkloadOp& op, std::uint64_t j)
{
    return op.number + static_cast<std::int64_t>(j) * 7;
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
