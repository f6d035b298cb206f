#pragma once

// Internal: a process-local stash of small freed blocks, so that a process that frees and allocates
// blocks of the same sizes does so without the region lock. A stashed block stays what it was in
// the region: used and owned by this process's slot, exactly like a block allocated and not yet
// published. So if the process dies, cleanup() reclaims its stash like any other unpublished block,
// and crash safety is unchanged. The stash is bounded in bytes and given back whenever the region's
// view of free space matters (statistics, block walks, shrink, running out of memory, detach).

#include <commy/shm/region_format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace commy::shm {

class LocalCache {
public:
    // Exact-size classes of blocks below kSmallBlockLimit: 32, 48, ... 1008 bytes.
    static constexpr unsigned kClasses = static_cast<unsigned>(format::kSmallBlockLimit / format::kGranule) - 2;
    static constexpr std::size_t kPerClass = 32;

    explicit LocalCache(std::uint64_t capacityBytes = 0) { setCapacity(capacityBytes); }
    void setCapacity(std::uint64_t bytes) { m_capacity = bytes; }
    bool enabled() const { return m_capacity != 0; }

    // The class of a block size, if it is small enough to be stashed.
    static std::optional<unsigned> classOf(std::uint64_t blockSize)
    {
        if (blockSize < format::kMinBlockBytes || blockSize >= format::kSmallBlockLimit
            || blockSize % format::kGranule != 0)
            return std::nullopt;
        return static_cast<unsigned>(blockSize / format::kGranule) - 2;
    }
    static std::uint64_t blockSizeOf(unsigned cls) { return (cls + 2) * format::kGranule; }

    std::optional<std::uint64_t> pop(unsigned cls)
    {
        std::vector<std::uint64_t>& list = m_lists[cls];
        if (list.empty())
            return std::nullopt;
        const std::uint64_t offset = list.back();
        list.pop_back();
        m_bytes -= blockSizeOf(cls);
        return offset;
    }

    enum class Push { Stashed, Full, AlreadyStashed };

    // An already stashed block is a double free: it must not be handed out twice.
    Push push(unsigned cls, std::uint64_t payloadOffset)
    {
        std::vector<std::uint64_t>& list = m_lists[cls];
        if (std::find(list.begin(), list.end(), payloadOffset) != list.end())
            return Push::AlreadyStashed;
        if (list.size() >= kPerClass || m_bytes + blockSizeOf(cls) > m_capacity)
            return Push::Full;
        list.push_back(payloadOffset);
        m_bytes += blockSizeOf(cls);
        return Push::Stashed;
    }

    bool empty() const { return m_bytes == 0; }
    std::uint64_t bytes() const { return m_bytes; }

    // Empties the stash, returning every payload offset it held.
    std::vector<std::uint64_t> takeAll()
    {
        std::vector<std::uint64_t> all;
        for (std::vector<std::uint64_t>& list : m_lists) {
            all.insert(all.end(), list.begin(), list.end());
            list.clear();
        }
        m_bytes = 0;
        return all;
    }

private:
    std::array<std::vector<std::uint64_t>, kClasses> m_lists;
    std::uint64_t m_bytes = 0;
    std::uint64_t m_capacity = 0;
};

} // namespace commy::shm
