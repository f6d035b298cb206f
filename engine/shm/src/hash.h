#pragma once

// Internal: FNV-1a, for checksums and hashing names (fast, no tables, good enough for both uses).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace commy::shm {

inline std::uint64_t fnv1a(const void* data, std::size_t bytes)
{
    std::uint64_t h = 1469598103934665603ull;
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

inline std::uint64_t fnv1a(std::string_view text) { return fnv1a(text.data(), text.size()); }

} // namespace commy::shm
