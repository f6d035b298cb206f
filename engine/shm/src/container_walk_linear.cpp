#include "container_walk_linear.h"

#include <commy/shm/container_format.h>

#include <string>

namespace commy::shm::detail {

using namespace format;

namespace {

std::string number(std::uint64_t value) { return std::to_string(value); }

// The first problem with an element array of `capacity` slots of `elementBytes` at `data`, or
// nullopt. An empty array (capacity 0) has no block.
std::optional<std::string> arrayProblem(const ContainerTxn& txn, std::uint64_t data, std::uint64_t length,
    std::uint64_t capacity, std::uint64_t elementBytes)
{
    if (elementBytes == 0)
        return "element size 0";
    if (length > capacity)
        return "length " + number(length) + " exceeds capacity " + number(capacity);
    if (capacity == 0)
        return data == 0 ? std::nullopt : std::optional<std::string>("array at " + number(data) + " of capacity 0");
    if (capacity > ~std::uint64_t { 0 } / elementBytes || !txn.at(data, capacity * elementBytes))
        return "array of " + number(capacity) + " elements at " + number(data) + " outside the arena";
    const std::uint64_t align = txn.header().keyAlign;
    if (align != 0 && (align & (align - 1)) == 0 && data % align != 0)
        return "array at " + number(data) + " not aligned to " + number(align);
    return std::nullopt;
}

// [first, first + limit) clamped to [0, length), without overflowing.
std::uint64_t pageEnd(std::uint64_t length, std::uint64_t first, std::uint64_t limit)
{
    if (first >= length)
        return first;
    return limit < length - first ? first + limit : length;
}

// ---- vectors and strings: one contiguous array ----

std::optional<std::string> vecCheck(const ContainerTxn& txn)
{
    const VecBody& b = txn.body<VecBody>();
    return arrayProblem(txn, b.data, b.length, b.capacity, txn.header().keySize);
}

RegionExpected<std::uint64_t> vecLength(const ContainerTxn& txn)
{
    if (vecCheck(txn))
        return unexpected(RegionError::Corrupt);
    return txn.body<VecBody>().length;
}

RegionExpected<void> vecVisit(
    const ContainerTxn& txn, std::uint64_t first, std::uint64_t limit, const ElementVisitor& visitor)
{
    if (vecCheck(txn))
        return unexpected(RegionError::Corrupt);
    const VecBody b = txn.body<VecBody>();
    const std::uint64_t size = txn.header().keySize;
    for (std::uint64_t i = first, end = pageEnd(b.length, first, limit); i < end; ++i)
        visitor(b.data + i * size, 0);
    return {};
}

std::optional<std::string> stringCheck(const ContainerTxn& txn)
{
    if (txn.header().keySize != 1)
        return "string of " + number(txn.header().keySize) + "-byte characters";
    return vecCheck(txn);
}

RegionExpected<std::uint64_t> stringLength(const ContainerTxn& txn)
{
    if (stringCheck(txn))
        return unexpected(RegionError::Corrupt);
    return vecLength(txn);
}

RegionExpected<void> stringVisit(
    const ContainerTxn& txn, std::uint64_t first, std::uint64_t limit, const ElementVisitor& visitor)
{
    if (stringCheck(txn))
        return unexpected(RegionError::Corrupt);
    return vecVisit(txn, first, limit, visitor);
}

// ---- deques: a ring ----

std::optional<std::string> dequeCheck(const ContainerTxn& txn)
{
    const DequeBody& b = txn.body<DequeBody>();
    if (b.capacity == 0 ? b.head != 0 : b.head >= b.capacity)
        return "head " + number(b.head) + " outside capacity " + number(b.capacity);
    return arrayProblem(txn, b.data, b.length, b.capacity, txn.header().keySize);
}

RegionExpected<std::uint64_t> dequeLength(const ContainerTxn& txn)
{
    if (dequeCheck(txn))
        return unexpected(RegionError::Corrupt);
    return txn.body<DequeBody>().length;
}

RegionExpected<void> dequeVisit(
    const ContainerTxn& txn, std::uint64_t first, std::uint64_t limit, const ElementVisitor& visitor)
{
    if (dequeCheck(txn))
        return unexpected(RegionError::Corrupt);
    const DequeBody b = txn.body<DequeBody>();
    const std::uint64_t size = txn.header().keySize;
    for (std::uint64_t i = first, end = pageEnd(b.length, first, limit); i < end; ++i) {
        // head < capacity and i < length <= capacity: one subtraction wraps.
        std::uint64_t ring = b.head + i;
        if (ring >= b.capacity)
            ring -= b.capacity;
        visitor(b.data + ring * size, 0);
    }
    return {};
}

// ---- boxes: one value in its own block ----

std::optional<std::string> boxCheck(const ContainerTxn& txn)
{
    const BoxBody& b = txn.body<BoxBody>();
    if (b.data == 0)
        return b.bytes == 0 ? std::nullopt
                            : std::optional<std::string>("no value block but " + number(b.bytes) + " bytes");
    if (b.bytes != txn.header().keySize)
        return "value of " + number(b.bytes) + " bytes, type says " + number(txn.header().keySize);
    return arrayProblem(txn, b.data, 1, 1, b.bytes);
}

RegionExpected<std::uint64_t> boxLength(const ContainerTxn& txn)
{
    if (boxCheck(txn))
        return unexpected(RegionError::Corrupt);
    return txn.body<BoxBody>().data != 0 ? 1 : 0;
}

RegionExpected<void> boxVisit(
    const ContainerTxn& txn, std::uint64_t first, std::uint64_t limit, const ElementVisitor& visitor)
{
    if (boxCheck(txn))
        return unexpected(RegionError::Corrupt);
    const std::uint64_t data = txn.body<BoxBody>().data;
    if (data != 0 && first == 0 && limit > 0)
        visitor(data, 0);
    return {};
}

} // namespace

const KindWalker kVecWalker { vecLength, vecVisit, vecCheck };
const KindWalker kStringWalker { stringLength, stringVisit, stringCheck };
const KindWalker kDequeWalker { dequeLength, dequeVisit, dequeCheck };
const KindWalker kBoxWalker { boxLength, boxVisit, boxCheck };

} // namespace commy::shm::detail
