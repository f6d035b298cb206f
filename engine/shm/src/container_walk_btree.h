#pragma once

// Internal: the KindWalker of B-tree maps and sets (RootKind::BTreeMap, RootKind::BTreeSet).

#include "container_kinds.h"

namespace commy::shm::detail {

extern const KindWalker kBTreeWalker;

} // namespace commy::shm::detail
