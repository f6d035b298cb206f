#include "leak_audit.h"

#include <commy/shm/region_format.h>

#include <algorithm>
#include <set>
#include <vector>

namespace shm = commy::shm;
using commy::unexpected;

namespace commy::ctl {

shm::RegionExpected<LeakAudit> auditLeaks(shm::Region& region)
{
    auto processes = region.processes();
    if (!processes)
        return unexpected(processes.error());
    std::set<std::uint32_t> liveSlots;
    for (const shm::ProcessInfo& process : *processes) {
        if (process.liveness != shm::Liveness::Dead)
            liveSlots.insert(process.slot);
    }
    auto roots = region.roots();
    if (!roots)
        return unexpected(roots.error());
    auto stats = region.stats();
    if (!stats)
        return unexpected(stats.error());
    const std::uint64_t tableOffset = stats->rootTableOffset;
    std::vector<std::uint64_t> referenced;
    for (const shm::RootInfo& root : *roots)
        referenced.push_back(root.offset);
    std::sort(referenced.begin(), referenced.end());

    auto blocks = region.blocks();
    if (!blocks)
        return unexpected(blocks.error());
    LeakAudit audit;
    for (const shm::BlockInfo& block : *blocks) {
        if (block.free)
            continue;
        const std::uint64_t payloadBegin = block.offset + shm::format::kBlockHeaderBytes;
        const std::uint64_t payloadEnd = block.offset + block.size;
        if (!block.published) {
            if (liveSlots.count(block.ownerSlot) == 0) {
                audit.unownedBytes += block.size;
                ++audit.unownedBlocks;
            }
            continue;
        }
        if (tableOffset >= payloadBegin && tableOffset < payloadEnd)
            continue;
        const auto it = std::lower_bound(referenced.begin(), referenced.end(), payloadBegin);
        if (it != referenced.end() && *it < payloadEnd) {
            audit.rootBytes += block.size;
            ++audit.rootBlocks;
        } else {
            audit.unreferencedBytes += block.size;
            ++audit.unreferencedBlocks;
        }
    }
    return audit;
}

} // namespace commy::ctl
