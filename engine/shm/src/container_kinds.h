#pragma once

// Internal: what a tool needs to know about each container kind to read it without its element
// types: how many elements it has, where each element's stored key and value are, in the
// container's order, and whether its structure is intact. The element bytes at those offsets are
// decoded from the root's descriptor by the container reader. One KindWalker per kind, each in
// its own file (container_walk_<kind>.cpp), listed by walkerFor().

#include <commy/shm/container_txn.h>
#include <commy/shm/region.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace commy::shm::detail {

// Called with the payload offsets of an element's stored key (or the element itself, for
// vectors, deques, sets and strings) and of its stored value (0 when the kind has no values).
using ElementVisitor = std::function<void(std::uint64_t keyAt, std::uint64_t valueAt)>;

struct KindWalker {
    // Elements in the container. Corrupt when the body is out of bounds.
    RegionExpected<std::uint64_t> (*length)(const ContainerTxn& txn);
    // Visits elements [first, first + limit) in the container's order (insertion order for
    // vectors and deques, key order for B-trees, slot order for hash tables).
    RegionExpected<void> (*visit)(
        const ContainerTxn& txn, std::uint64_t first, std::uint64_t limit, const ElementVisitor& visitor);
    // The first structural inconsistency found (counts, bounds, ordering, balance), or nullopt.
    std::optional<std::string> (*check)(const ContainerTxn& txn);
};

// nullptr for RootKind::Bytes or an unknown kind.
const KindWalker* walkerFor(RootKind kind);

} // namespace commy::shm::detail
