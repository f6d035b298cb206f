// Reading B-tree maps and sets without their element types: the node geometry follows from the
// stored key and value sizes in the container header, and the body must agree with it. Elements
// are visited in key order, skipping whole subtrees by their counts, so a page deep into a large
// tree costs O(log n + limit). Key order itself needs the key type and is left to the typed
// checkSanity().

#include "container_walk_btree.h"

#include <commy/shm/detail/btree.h>

namespace commy::shm::detail {

namespace {

struct Shape {
    format::BTreeGeometry geometry;
    const format::BTreeBody* body = nullptr;
    bool hasValues = false;
};

Shape shapeOf(const ContainerTxn& txn)
{
    const format::ContainerHeader& h = txn.header();
    Shape shape;
    shape.geometry = format::btreeGeometry(h.keySize, h.keyAlign, h.valueSize, h.valueAlign);
    shape.body = txn.at<format::BTreeBody>(txn.bodyOffset());
    shape.hasValues = h.valueSize != 0;
    return shape;
}

RegionExpected<std::uint64_t> length(const ContainerTxn& txn)
{
    const Shape shape = shapeOf(txn);
    if (btreeBodyProblem(shape.body, shape.geometry))
        return unexpected(RegionError::Corrupt);
    return shape.body->length;
}

RegionExpected<void> visit(
    const ContainerTxn& txn, std::uint64_t first, std::uint64_t limit, const ElementVisitor& visitor)
{
    const Shape shape = shapeOf(txn);
    if (btreeBodyProblem(shape.body, shape.geometry))
        return unexpected(RegionError::Corrupt);
    const format::BTreeBody body = *shape.body;
    const std::uint64_t valueOffset = shape.geometry.valueOffset;
    const bool values = shape.hasValues;
    const bool walked = btreeVisitRange(txn, body, shape.geometry, first, limit,
        [&](std::uint64_t slot) { visitor(slot, values ? slot + valueOffset : 0); });
    if (!walked)
        return unexpected(RegionError::Corrupt);
    return {};
}

std::optional<std::string> check(const ContainerTxn& txn)
{
    const Shape shape = shapeOf(txn);
    return btreeCheckStructure(txn, shape.body, shape.geometry);
}

} // namespace

const KindWalker kBTreeWalker { &length, &visit, &check };

} // namespace commy::shm::detail
