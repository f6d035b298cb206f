#pragma once

// Content patterns shared by the shm tests and their child process (Qt-free). Every block a test
// allocates is filled with words derived from a seed, so a block that another block, another process
// or a broken allocator overwrote is caught when the pattern is verified.

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace commy::shmtest {

inline std::uint64_t mix64(std::uint64_t x)
{
    // SplitMix64 finaliser: cheap and every input bit affects every output bit.
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// Word i of a block's pattern. Blocks get seeds through mix64(), so two blocks' patterns differ in
// every word; the per-word step is one multiply and one xor because tests fill gigabytes of it.
inline std::uint64_t patternWord(std::uint64_t mixedSeed, std::uint64_t index)
{
    return mixedSeed ^ (index * 0x9E3779B97F4A7C15ull);
}

inline void fillPattern(void* where, std::uint64_t bytes, std::uint64_t seed)
{
    const std::uint64_t mixed = mix64(seed);
    auto* out = static_cast<unsigned char*>(where);
    const std::uint64_t words = bytes / 8;
    if (reinterpret_cast<std::uintptr_t>(out) % alignof(std::uint64_t) == 0) {
        auto* w = reinterpret_cast<std::uint64_t*>(out);
        for (std::uint64_t i = 0; i < words; ++i)
            w[i] = patternWord(mixed, i);
    } else {
        for (std::uint64_t i = 0; i < words; ++i) {
            const std::uint64_t word = patternWord(mixed, i);
            std::memcpy(out + 8 * i, &word, 8);
        }
    }
    if (bytes % 8 != 0) {
        const std::uint64_t word = patternWord(mixed, words);
        std::memcpy(out + 8 * words, &word, static_cast<std::size_t>(bytes % 8));
    }
}

// Returns the index of the first byte that differs from the pattern, or -1 when all match.
inline std::int64_t verifyPattern(const void* where, std::uint64_t bytes, std::uint64_t seed)
{
    const std::uint64_t mixed = mix64(seed);
    const auto* in = static_cast<const unsigned char*>(where);
    const std::uint64_t words = bytes / 8;
    const bool aligned = reinterpret_cast<std::uintptr_t>(in) % alignof(std::uint64_t) == 0;
    for (std::uint64_t i = 0; i < words; ++i) {
        std::uint64_t word;
        if (aligned)
            word = reinterpret_cast<const std::uint64_t*>(in)[i];
        else
            std::memcpy(&word, in + 8 * i, 8);
        if (word != patternWord(mixed, i)) {
            for (std::uint64_t b = 0; b < 8; ++b) {
                if (in[8 * i + b] != static_cast<unsigned char>(patternWord(mixed, i) >> (8 * b)))
                    return static_cast<std::int64_t>(8 * i + b);
            }
        }
    }
    if (bytes % 8 != 0) {
        const std::uint64_t expected = patternWord(mixed, words);
        for (std::uint64_t b = 0; b < bytes % 8; ++b) {
            if (in[8 * words + b] != static_cast<unsigned char>(expected >> (8 * b)))
                return static_cast<std::int64_t>(8 * words + b);
        }
    }
    return -1;
}

// A seed for a named root's content, so a reader in another process can verify it by name alone.
inline std::uint64_t seedForName(const char* name)
{
    std::uint64_t h = 1469598103934665603ull;
    for (const char* p = name; *p; ++p) {
        h ^= static_cast<unsigned char>(*p);
        h *= 1099511628211ull;
    }
    return h;
}

} // namespace commy::shmtest
