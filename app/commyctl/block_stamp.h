#pragma once

#include <QString>

#include <cstdint>
#include <optional>

namespace commy::ctl {

// Self-verifying block contents for the torture workers. A block starts with a 16-byte stamp
// {magic, length, key, check}; the rest is a pattern derived from the key. A worker that finds its
// stamp or pattern changed knows some other process (or a botched recovery) wrote into its block.
struct BlockStamp {
    std::uint32_t magic;
    std::uint32_t length; // bytes written, stamp included
    std::uint32_t key; // from the worker's seeded generator; the pattern follows from it
    std::uint32_t check; // ties the three fields together, so a torn or stale stamp is noticed
};
static_assert(sizeof(BlockStamp) == 16);

inline constexpr std::uint32_t kMinStampedLength = sizeof(BlockStamp);

// Writes stamp and pattern into [payload, payload + length); length >= kMinStampedLength.
void writeStampedBlock(void* payload, std::uint32_t length, std::uint32_t key);

// The stamp at payload if its magic and check are right.
std::optional<BlockStamp> readStamp(const void* payload);

// Checks stamp and pattern of a block of `length` bytes; returns what is wrong, or an empty string.
QString verifyStampedBlock(const void* payload, std::uint32_t length, std::uint32_t key);

} // namespace commy::ctl
