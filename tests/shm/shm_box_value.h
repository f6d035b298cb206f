#pragma once

// The value the SharedBox tests, their child process and the benchmarks exchange: eight words that
// a writer always sets all equal, so a reader can tell a whole value from a torn one. 64 bytes:
// the size the seqlock read's goal is stated for.

#include <cstdint>

namespace commy::shmtest {

struct BoxWords {
    std::uint64_t words[8];
};
static_assert(sizeof(BoxWords) == 64);

inline BoxWords boxWords(std::uint64_t value)
{
    BoxWords b;
    for (std::uint64_t& word : b.words)
        word = value;
    return b;
}

// True when all eight words are equal.
inline bool isWhole(const BoxWords& b)
{
    for (const std::uint64_t word : b.words) {
        if (word != b.words[0])
            return false;
    }
    return true;
}

} // namespace commy::shmtest
