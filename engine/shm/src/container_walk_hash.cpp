// Reads hash maps and hash sets without their element types: the slot geometry follows from the
// key / value layout in the header, the entries are the full slots in slot order. The check can
// count and bound-check only: whether a slot's tag matches its key's hash would need the key type.

#include "container_walk_hash.h"

#include <commy/shm/detail/hash_table.h>

#include <string>

namespace commy::shm::detail {

namespace {

struct Opened {
    format::HashBody body;
    const unsigned char* control = nullptr; // nullptr when the capacity is 0
};

RegionExpected<Opened> openTable(const ContainerTxn& txn, std::string* problem = nullptr)
{
    Opened opened;
    opened.body = txn.body<format::HashBody>();
    unsigned char* control = nullptr;
    if (const char* wrong = hashBodyProblem(txn, opened.body, HashGeometry::of(txn.header()), &control)) {
        if (problem)
            *problem = wrong;
        return unexpected(RegionError::Corrupt);
    }
    opened.control = control;
    return opened;
}

RegionExpected<std::uint64_t> hashLength(const ContainerTxn& txn)
{
    auto opened = openTable(txn);
    if (!opened)
        return unexpected(opened.error());
    return opened->body.length;
}

RegionExpected<void> hashVisit(
    const ContainerTxn& txn, std::uint64_t first, std::uint64_t limit, const ElementVisitor& visitor)
{
    auto opened = openTable(txn);
    if (!opened)
        return unexpected(opened.error());
    const format::HashBody& b = opened->body;
    const bool map = txn.header().valueSize != 0;
    std::uint64_t index = 0;
    for (std::uint64_t slot = 0; slot < b.capacity && limit > 0; ++slot) {
        if (!hashFull(opened->control[slot]))
            continue;
        if (index++ < first)
            continue;
        const std::uint64_t keyAt = b.table + b.slotsOffset + slot * b.slotBytes;
        visitor(keyAt, map ? keyAt + b.valueOffset : 0);
        --limit;
    }
    return {};
}

std::optional<std::string> hashCheck(const ContainerTxn& txn)
{
    const format::ContainerHeader& h = txn.header();
    const bool map = h.kind == static_cast<std::uint32_t>(RootKind::HashMap);
    if (h.keySize == 0 || (map ? h.valueSize == 0 : h.valueSize != 0))
        return std::string("hash table: element layout does not fit the kind");
    std::string problem;
    auto opened = openTable(txn, &problem);
    if (!opened)
        return "hash table: " + problem;
    const format::HashBody& b = opened->body;
    std::uint64_t full = 0;
    std::uint64_t deleted = 0;
    for (std::uint64_t slot = 0; slot < b.capacity; ++slot) {
        const unsigned char c = opened->control[slot];
        if (hashFull(c))
            ++full;
        else if (c == kHashDeleted)
            ++deleted;
        else if (c != kHashEmpty)
            return "hash table: invalid control byte " + std::to_string(c) + " at slot " + std::to_string(slot);
    }
    if (full != b.length)
        return "hash table: length " + std::to_string(b.length) + " but " + std::to_string(full) + " full slots";
    if (deleted != b.tombstones)
        return "hash table: " + std::to_string(b.tombstones) + " tombstones recorded but " + std::to_string(deleted)
            + " deleted slots";
    return std::nullopt;
}

} // namespace

const KindWalker kHashWalker { &hashLength, &hashVisit, &hashCheck };

} // namespace commy::shm::detail
