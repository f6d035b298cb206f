#pragma once

// Internal: the KindWalker of hash maps and hash sets (RootKind::HashMap, RootKind::HashSet).

#include "container_kinds.h"

namespace commy::shm::detail {

extern const KindWalker kHashWalker;

} // namespace commy::shm::detail
