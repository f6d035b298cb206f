#include "leak_audit.h"

#include <commy/shm/region_format.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>
#include <vector>

namespace {

using namespace commy::ctl;
namespace shm = commy::shm;
using commy::unexpected;

// The public API does not say where the root table lives, so it is read from the file's header. The
// file is shared with every mapping (MAP_SHARED), so this sees what the last locker wrote; the caller
// makes sure nobody mutates the region meanwhile.
shm::RegionExpected<std::uint64_t> rootTableOffset(const std::string& path)
{
    auto header = std::make_unique<shm::format::RegionHeader>();
    std::ifstream file(path, std::ios::binary);
    if (!file.read(reinterpret_cast<char*>(header.get()), sizeof *header))
        return unexpected(shm::RegionError::IoError);
    return header->roots.tableOffset;
}

} // namespace

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
    auto tableOffset = rootTableOffset(region.path());
    if (!tableOffset)
        return unexpected(tableOffset.error());
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
        if (*tableOffset >= payloadBegin && *tableOffset < payloadEnd)
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
