// The container-level check and the list of blocks a container owns (see container_reader.h).

#include <commy/shm/container_reader.h>

#include "container_kinds.h"
#include "descriptor.h"

#include <commy/shm/container_format.h>
#include <commy/shm/container_txn.h>
#include <commy/shm/region_format.h>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace commy::shm {

namespace {

using detail::ContainerTxn;
using detail::ElementType;
using detail::knownKind;
using detail::load;
using detail::ownsBlocks;
using detail::TypeNode;
using format::ContainerHeader;
using format::VecBody;

enum class Role : std::uint8_t { Header, Journal, Structure, Nested };

bool multiplyAdd(std::uint64_t count, std::uint64_t bytes, std::uint64_t extra, std::uint64_t& result)
{
    std::uint64_t product = 0;
    return !__builtin_mul_overflow(count, bytes, &product) && !__builtin_add_overflow(product, extra, &result);
}

// Claims every block the container refers to, checking each reference: it must name a live,
// published block (the start of its payload, for a block of its own), large enough, and no block
// may be owned twice, except that many elements share the block of their array, table or node.
class BlockAudit {
public:
    BlockAudit(const ContainerTxn& txn, std::vector<BlockInfo> blocks)
        : m_txn(txn)
        , m_blocks(std::move(blocks))
    {
    }

    bool failed() const { return m_failure.has_value(); }
    const CorruptionReport& failure() const { return *m_failure; }
    const std::map<std::uint64_t, Role>& owned() const { return m_owned; }

    bool fail(std::uint64_t offset, std::string description)
    {
        if (!m_failure)
            m_failure = CorruptionReport { offset, std::move(description), RegionError::Corrupt };
        return false;
    }

    // A block of its own, referred to (from the word at `from`) by its payload offset, holding at
    // least `bytes`. A failure is reported where the reference is.
    bool claim(std::uint64_t payload, std::uint64_t bytes, Role role, const std::string& what, std::uint64_t from)
    {
        const std::string named = what + " at " + std::to_string(payload);
        const BlockInfo* block = containing(payload);
        if (!block || block->offset + format::kBlockHeaderBytes != payload)
            return fail(from, named + " does not start a block");
        if (!usable(*block, from, named))
            return false;
        if (block->size - format::kBlockHeaderBytes < bytes)
            return fail(from,
                named + " needs " + std::to_string(bytes) + " bytes, its block holds "
                    + std::to_string(block->size - format::kBlockHeaderBytes));
        const auto [it, inserted] = m_owned.emplace(payload, role);
        if (!inserted && !(role == Role::Structure && it->second == Role::Structure))
            return fail(from, named + " is a block the container already owns");
        return true;
    }

    // An element or value stored inside a block (an array, table or node; or the header).
    bool claimSlot(std::uint64_t offset, std::uint64_t bytes, const std::string& what)
    {
        const BlockInfo* block = containing(offset);
        if (!block)
            return fail(offset, what + " is outside every block");
        if (!usable(*block, offset, what))
            return false;
        if (bytes > block->offset + block->size - offset)
            return fail(offset, what + " crosses the end of its block");
        const std::uint64_t payload = block->offset + format::kBlockHeaderBytes;
        const auto [it, inserted] = m_owned.emplace(payload, Role::Structure);
        if (!inserted && it->second != Role::Structure && it->second != Role::Header)
            return fail(offset, what + " lies in a block that holds something else");
        return true;
    }

    // The blocks a stored element owns: a nested string's bytes, a nested vector's array and,
    // recursively, what its items own.
    bool nested(const std::vector<TypeNode>& chain, std::size_t level, std::uint64_t slot)
    {
        const TypeNode& node = chain[level];
        if (!ownsBlocks(node.type))
            return true;
        const void* p = m_txn.at(slot, sizeof(VecBody));
        if (!p)
            return fail(slot, "a nested array's body is outside the arena");
        const auto body = load<VecBody>(p);
        if (body.length > body.capacity)
            return fail(slot, "a nested array is longer than its capacity");
        if (body.capacity == 0) {
            if (body.data != 0)
                return fail(slot, "a nested array without capacity points at a block");
            return true;
        }
        const std::uint64_t itemBytes = node.type == ElementType::String ? 1 : chain[level + 1].bytes;
        std::uint64_t bytes = 0;
        if (!multiplyAdd(body.capacity, itemBytes, 0, bytes))
            return fail(slot, "a nested array's capacity overflows");
        if (!claim(body.data, bytes, Role::Nested, "a nested array", slot))
            return false;
        if (node.type == ElementType::Vec && ownsBlocks(chain[level + 1].type)) {
            for (std::uint64_t i = 0; i < body.length; ++i) {
                if (!nested(chain, level + 1, body.data + i * itemBytes))
                    return false;
            }
        }
        return true;
    }

private:
    const BlockInfo* containing(std::uint64_t offset) const
    {
        auto it = std::upper_bound(m_blocks.begin(), m_blocks.end(), offset,
            [](std::uint64_t value, const BlockInfo& block) { return value < block.offset; });
        if (it == m_blocks.begin())
            return nullptr;
        --it;
        if (offset < it->offset + format::kBlockHeaderBytes || offset - it->offset >= it->size)
            return nullptr;
        return &*it;
    }

    bool usable(const BlockInfo& block, std::uint64_t offset, const std::string& what)
    {
        if (block.free)
            return fail(offset, what + " is in a free block");
        if (!block.published)
            return fail(offset,
                what + " is in a block still owned by process slot " + std::to_string(block.ownerSlot)
                    + " (never published)");
        return true;
    }

    const ContainerTxn& m_txn;
    std::vector<BlockInfo> m_blocks; // in address order, as the walk lists them
    std::map<std::uint64_t, Role> m_owned;
    std::optional<CorruptionReport> m_failure;
};

// The blocks the kind's body names directly (see container_format.h).
bool claimBodyBlocks(BlockAudit& audit, RootKind kind, const ContainerHeader& h, std::uint64_t bodyAt)
{
    std::uint64_t bytes = 0;
    switch (kind) {
    case RootKind::Vec:
    case RootKind::String: {
        const auto body = load<VecBody>(h.body);
        if (body.length > body.capacity)
            return audit.fail(bodyAt, "the vector is longer than its capacity");
        if (body.capacity == 0)
            return true;
        if (!multiplyAdd(body.capacity, h.keySize, 0, bytes))
            return audit.fail(bodyAt, "the vector's capacity overflows");
        return audit.claim(body.data, bytes, Role::Structure, "the element array", bodyAt);
    }
    case RootKind::VecDeque: {
        const auto body = load<format::DequeBody>(h.body);
        if (body.capacity == 0)
            return true;
        if (!multiplyAdd(body.capacity, h.keySize, 0, bytes))
            return audit.fail(bodyAt, "the deque's capacity overflows");
        return audit.claim(body.data, bytes, Role::Structure, "the ring buffer", bodyAt);
    }
    case RootKind::Box: {
        const auto body = load<format::BoxBody>(h.body);
        return body.data == 0 || audit.claim(body.data, body.bytes, Role::Structure, "the boxed value", bodyAt);
    }
    case RootKind::HashMap:
    case RootKind::HashSet: {
        const auto body = load<format::HashBody>(h.body);
        if (body.capacity == 0)
            return true;
        if (!multiplyAdd(body.capacity, body.slotBytes, body.slotsOffset, bytes))
            return audit.fail(bodyAt, "the hash table's size overflows");
        return audit.claim(body.table, bytes, Role::Structure, "the hash table", bodyAt);
    }
    case RootKind::BTreeMap:
    case RootKind::BTreeSet: {
        // The root may be a leaf, which has no child array: a leaf's bytes at least.
        const auto body = load<format::BTreeBody>(h.body);
        if (body.root == 0)
            return true;
        std::uint64_t children = 0;
        if (!multiplyAdd(body.nodeCapacity, 8, 8, children) || children > body.nodeBytes)
            return audit.fail(bodyAt, "the B-tree's node size is smaller than its child array");
        return audit.claim(body.root, body.nodeBytes - children, Role::Structure, "the root node", bodyAt);
    }
    case RootKind::Bytes:
        break;
    }
    return true;
}

Unexpected<CorruptionReport> report(
    std::uint64_t offset, std::string description, RegionError error = RegionError::Corrupt)
{
    return unexpected(CorruptionReport { offset, std::move(description), error });
}

Expected<std::vector<std::uint64_t>, CorruptionReport> auditContainer(Region& region, std::string_view name)
{
    auto root = region.findRoot(name);
    if (!root)
        return report(0, "no root named \"" + std::string(name) + "\"", root.error());
    const std::uint64_t at = root->offset;
    if (root->kind == RootKind::Bytes)
        return report(at, "the root holds bytes, not a container", RegionError::TypeMismatch);
    if (!knownKind(root->kind))
        return report(at, "unknown container kind " + std::to_string(static_cast<std::uint32_t>(root->kind)));

    const auto* h = static_cast<const ContainerHeader*>(region.pointer(at, sizeof(ContainerHeader)));
    if (!h)
        return report(at, "the container header is outside the arena");
    if (h->magic != format::kContainerMagic)
        return report(at, "the container header has a wrong magic number");
    if (h->kind != static_cast<std::uint32_t>(root->kind))
        return report(at + offsetof(ContainerHeader, kind),
            "the header's kind " + std::to_string(h->kind) + " is not the root's "
                + std::to_string(static_cast<std::uint32_t>(root->kind)));
    auto parsed = detail::parseRootDescriptor(root->type);
    if (!parsed)
        return report(at,
            "type \"" + root->type + "\": " + detail::descriptorErrorMessage(parsed.error().error) + " at byte "
                + std::to_string(parsed.error().position));
    auto types = detail::containerTypes(root->kind, *parsed, h->keySize, h->valueSize);
    if (!types)
        return report(at, "type \"" + root->type + "\": " + types.error());
    if (h->journalCapacity < sizeof(format::ContainerJournalEntry)
        || !region.pointer(h->journalOffset, h->journalCapacity))
        return report(at + offsetof(ContainerHeader, journalOffset), "the undo journal is outside the arena");
    if ((h->journalUsed & ~format::kJournalCommitted) > h->journalCapacity)
        return report(at + offsetof(ContainerHeader, journalUsed), "the undo journal is fuller than its capacity");
    const detail::KindWalker* walker = detail::walkerFor(root->kind);
    if (!walker)
        return report(
            at, std::string("this build cannot read a ") + rootKindName(root->kind), RegionError::TypeMismatch);

    // Taking the lock undoes (or finishes) an operation a killed process left behind.
    auto txn = ContainerTxn::begin(detail::ContainerRef(region, at));
    if (!txn) {
        if (txn.error() == RegionError::Corrupt)
            return report(at + offsetof(ContainerHeader, journalUsed),
                "the undo journal of an interrupted operation cannot be replayed");
        return report(at, std::string("cannot lock the container: ") + errorMessage(txn.error()), txn.error());
    }
    auto blocks = region.blocks();
    if (!blocks)
        return report(
            0, std::string("cannot walk the region's blocks: ") + errorMessage(blocks.error()), blocks.error());

    // The blocks the header names first: the kind's own check may then rely on them.
    BlockAudit audit(*txn, std::move(*blocks));
    const ContainerHeader& header = txn->header(); // fetched again: the walk may have remapped
    const std::uint64_t keySize = header.keySize;
    const std::uint64_t valueSize = header.valueSize;
    if (!audit.claim(at, sizeof(ContainerHeader), Role::Header, "the container header", at)
        || !audit.claim(header.journalOffset, header.journalCapacity, Role::Journal, "the undo journal",
            at + offsetof(ContainerHeader, journalOffset))
        || !claimBodyBlocks(audit, root->kind, header, txn->bodyOffset()))
        return unexpected(audit.failure());
    if (auto problem = walker->check(*txn))
        return report(at, *problem);
    auto length = walker->length(*txn);
    if (!length)
        return report(at, std::string("cannot count the elements: ") + errorMessage(length.error()));

    std::uint64_t visited = 0;
    auto walked = walker->visit(*txn, 0, *length, [&](std::uint64_t keyAt, std::uint64_t valueAt) {
        if (audit.failed())
            return;
        ++visited;
        if (!audit.claimSlot(keyAt, keySize, "an element") || !audit.nested(types->key.chain, 0, keyAt))
            return;
        if (types->hasValue && audit.claimSlot(valueAt, valueSize, "a value"))
            (void)audit.nested(types->value.chain, 0, valueAt);
    });
    if (audit.failed())
        return unexpected(audit.failure());
    if (!walked)
        return report(at, std::string("cannot walk the elements: ") + errorMessage(walked.error()));
    if (visited != *length)
        return report(at, "the walk visited " + std::to_string(visited) + " elements of " + std::to_string(*length));
    std::vector<std::uint64_t> owned;
    owned.reserve(audit.owned().size());
    for (const auto& [offset, role] : audit.owned())
        owned.push_back(offset);
    return owned;
}

} // namespace

Expected<void, CorruptionReport> checkContainer(Region& region, std::string_view name)
{
    auto audited = auditContainer(region, name);
    if (!audited)
        return unexpected(audited.error());
    return {};
}

RegionExpected<std::vector<std::uint64_t>> containerBlocks(Region& region, std::string_view name)
{
    auto audited = auditContainer(region, name);
    if (!audited)
        return unexpected(audited.error().error);
    return std::move(*audited);
}

} // namespace commy::shm
