#pragma once

#include <commy/shm/region.h>

#include <cstdint>

namespace commy::ctl {

// What a torture run left behind that nobody can ever free. Exact for regions where only root blocks
// are published (the torture workers' case): any other published block would count as leaked.
struct LeakAudit {
    std::uint64_t unownedBytes = 0; // used, unpublished blocks whose owner slot is no live process
    std::uint64_t unownedBlocks = 0;
    std::uint64_t unreferencedBytes = 0; // published blocks that no root and not the root table point into
    std::uint64_t unreferencedBlocks = 0;
    std::uint64_t rootBlocks = 0; // published blocks a root points into
    std::uint64_t rootBytes = 0;

    std::uint64_t leakedBytes() const { return unownedBytes + unreferencedBytes; }
    std::uint64_t leakedBlocks() const { return unownedBlocks + unreferencedBlocks; }
};

shm::RegionExpected<LeakAudit> auditLeaks(shm::Region& region);

} // namespace commy::ctl
