#pragma once

// Internal: the region's ring of root changes and the cross-process wait on it. Appending takes no
// lock, so container operations (which hold only their own container's lock) can record changes.

#include "region_view.h"

#include <commy/shm/region.h>

#include <chrono>
#include <cstdint>

namespace commy::shm::change_journal {

void record(const RegionView& view, std::uint64_t rootOffset, std::uint64_t version, std::uint32_t writerSlot);
std::uint64_t sequence(const RegionView& view);
std::uint64_t waitForChange(const RegionView& view, std::uint64_t after, std::chrono::milliseconds timeout);
ChangeBatch since(const RegionView& view, std::uint64_t after);

} // namespace commy::shm::change_journal
