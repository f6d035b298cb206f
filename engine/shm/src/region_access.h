#pragma once

// Internal: lets the container machinery reach the region's lock and allocator directly, so that a
// container's journal records and the region changes they describe happen in one transaction.

#include "region_impl.h"

#include <commy/shm/region.h>

namespace commy::shm::detail {

struct RegionAccess {
    static RegionImpl& impl(Region& region) { return *region.m_impl; }
};

} // namespace commy::shm::detail
