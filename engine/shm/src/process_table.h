#pragma once

// Internal: the process table in the region header. Slots are claimed and released under the
// region lock; heartbeats are single-word atomic stores by the owner, read by anyone.

#include "journal.h"
#include "region_view.h"

#include <commy/shm/region.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace commy::shm::process_table {

// Claims a free slot for the calling process; nullopt when every slot is taken.
std::optional<std::uint32_t> claim(const RegionView& view, std::string_view name, Transaction& txn);
void release(const RegionView& view, std::uint32_t slot, Transaction& txn);
void heartbeat(const RegionView& view, std::uint32_t slot);

bool isAttached(const RegionView& view, std::uint32_t slot);
// An attached slot whose process the OS says is gone (exited, killed, or its pid reused).
bool isDead(const RegionView& view, std::uint32_t slot);
ProcessInfo describe(const RegionView& view, std::uint32_t slot, std::chrono::milliseconds staleAfter);
std::vector<ProcessInfo> list(const RegionView& view, std::chrono::milliseconds staleAfter);

} // namespace commy::shm::process_table
