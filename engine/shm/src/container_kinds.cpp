#include "container_kinds.h"

// Each kind's walker lives in the file of its container family. A switch that names every walker
// (instead of walkers registering themselves from static initialisers) keeps them linked: the
// linker drops an object file of a static library that nothing refers to.
#if __has_include("container_walk_linear.h")
#include "container_walk_linear.h"
#define COMMY_SHM_HAVE_LINEAR_WALKERS 1
#endif
#if __has_include("container_walk_hash.h")
#include "container_walk_hash.h"
#define COMMY_SHM_HAVE_HASH_WALKER 1
#endif
#if __has_include("container_walk_btree.h")
#include "container_walk_btree.h"
#define COMMY_SHM_HAVE_BTREE_WALKER 1
#endif

namespace commy::shm::detail {

const KindWalker* walkerFor(RootKind kind)
{
    switch (kind) {
    case RootKind::Bytes:
        return nullptr;
#ifdef COMMY_SHM_HAVE_LINEAR_WALKERS
    case RootKind::Vec:
        return &kVecWalker;
    case RootKind::String:
        return &kStringWalker;
    case RootKind::VecDeque:
        return &kDequeWalker;
    case RootKind::Box:
        return &kBoxWalker;
#endif
#ifdef COMMY_SHM_HAVE_HASH_WALKER
    case RootKind::HashMap:
    case RootKind::HashSet:
        return &kHashWalker;
#endif
#ifdef COMMY_SHM_HAVE_BTREE_WALKER
    case RootKind::BTreeMap:
    case RootKind::BTreeSet:
        return &kBTreeWalker;
#endif
    default:
        return nullptr;
    }
}

} // namespace commy::shm::detail
