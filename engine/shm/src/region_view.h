#pragma once

// Internal: bounds-checked access to a mapped region. Every offset read from the file is checked
// here before it is dereferenced, because the file may have been written by a buggy or hostile
// process.

#include <commy/shm/region_format.h>

#include <cstddef>
#include <cstdint>

namespace commy::shm {

struct RegionView {
    std::byte* base = nullptr;
    std::uint64_t mappedLength = 0;

    format::RegionHeader& header() const { return *reinterpret_cast<format::RegionHeader*>(base); }

    // Bytes that may be touched: what is mapped and what the file holds.
    std::uint64_t accessibleEnd() const
    {
        const std::uint64_t fileSize = header().geometry.fileSize;
        return fileSize < mappedLength ? fileSize : mappedLength;
    }
    std::uint64_t arenaBegin() const { return format::kArenaOffset; }
    std::uint64_t arenaEnd() const
    {
        const std::uint64_t end = header().geometry.arenaEnd;
        return end <= accessibleEnd() ? end : 0;
    }

    bool contains(std::uint64_t offset, std::uint64_t bytes) const
    {
        const std::uint64_t end = accessibleEnd();
        return offset <= end && bytes <= end - offset;
    }

    template <class T> T* at(std::uint64_t offset) const
    {
        if (offset % alignof(T) != 0 || !contains(offset, sizeof(T)))
            return nullptr;
        return reinterpret_cast<T*>(base + offset);
    }

    std::uint64_t offsetOf(const void* p) const
    {
        return static_cast<std::uint64_t>(static_cast<const std::byte*>(p) - base);
    }
};

} // namespace commy::shm
