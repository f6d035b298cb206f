#pragma once

// Internal: the region's ring of root changes and the cross-process wait on it. Appending takes no
// lock, so container operations (which hold only their own container's lock) can record changes.

#include "region_view.h"

#include <commy/shm/region.h>

#include <chrono>
#include <cstdint>
#include <optional>

namespace commy::shm::change_journal {

void record(const RegionView& view, std::uint64_t rootOffset, std::uint64_t version, std::uint32_t writerSlot);
std::uint64_t sequence(const RegionView& view);
// `ignoredWriter`: changes recorded from that process slot do not end the wait early (the returned
// sequence still counts them); see Region::waitForChange.
std::uint64_t waitForChange(const RegionView& view, std::uint64_t after, std::chrono::milliseconds timeout,
    std::optional<std::uint32_t> ignoredWriter = std::nullopt);
ChangeBatch since(const RegionView& view, std::uint64_t after);

} // namespace commy::shm::change_journal
