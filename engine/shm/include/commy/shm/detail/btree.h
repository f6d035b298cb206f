#pragma once

// A B-tree over a BTreeBody, shared by SharedBTreeMap and SharedBTreeSet (and, type-erased, by the
// tools' walker). Nodes follow format::BTreeNodeHeader; every node but the root holds between
// t - 1 and 2t - 1 elements (t: the minimum degree, from btreeGeometry()), every leaf is at the
// same depth, and each node counts the elements of its subtree.
//
// Insert splits full nodes on the way down and remove fills thin nodes on the way down (borrowing
// from a sibling or merging with one), so each is one pass from the root: O(log n) nodes read and
// changed. Before a reachable node changes, the operation saves it to the undo journal (only its
// 16-byte header when just its subtree count changes, the whole node otherwise), once per
// operation; nodes it allocates need no save. The journal is sized for the worst operation on the
// tallest tree a mapping could hold (btreeJournalBytes()). Everything is addressed by offsets:
// an allocation (a new node, a nested string) may move this process's mapping.

#include <commy/shm/container_format.h>
#include <commy/shm/container_txn.h>
#include <commy/shm/detail/typed_container.h>
#include <commy/shm/element_traits.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace commy::shm::detail {

// No mapping holds more than 2^47 bytes (the user address space of x86-64 and AArch64 with 4-level
// tables), so no tree holds more than 2^47 / slotBytes elements. A tree of height h >= 2 holds at
// least 2 t^(h-1) - 1 of them: this is the tallest a tree of this geometry can get.
constexpr std::uint64_t btreeMaxHeight(const format::BTreeGeometry& g)
{
    const std::uint64_t maxElements = (std::uint64_t { 1 } << 47) / g.slotBytes;
    const std::uint64_t t = g.minDegree() < 2 ? 2 : g.minDegree();
    std::uint64_t height = 1;
    std::uint64_t power = 1; // t^(height - 1)
    for (;;) {
        power *= t;
        if (2 * power - 1 > maxElements)
            return height;
        ++height;
    }
}

// Journal bytes one operation on a tree of `height` needs at most: the body, the subtree counts
// along the path, whole saves of the nodes it changes (a node and a sibling per level on remove,
// plus the root's), the nodes it allocates or frees, and the blocks of one leaf's worth of
// elements (clear drops a leaf at a time). Elements that own more than two blocks each (vectors of
// strings) get what the kDefaultJournalBytes margin leaves; beyond that the journal grows.
constexpr std::uint64_t btreeStepJournalBytes(const format::BTreeGeometry& g, std::uint64_t height, bool ownsBlocks)
{
    constexpr std::uint64_t entry = sizeof(format::ContainerJournalEntry);
    const std::uint64_t body = entry + sizeof(format::BTreeBody) + 2 * (entry + 8); // + version word
    const std::uint64_t counts = (height + 2) * (entry + sizeof(format::BTreeNodeHeader));
    const std::uint64_t nodes = (2 * height + 4) * (entry + g.nodeBytes);
    const std::uint64_t blocks = (height + 4) * entry;
    const std::uint64_t elements = ownsBlocks ? (g.capacity + 2) * 2 * entry : 0;
    return body + counts + nodes + blocks + elements;
}

constexpr std::uint64_t btreeJournalBytes(const format::BTreeGeometry& g, bool ownsBlocks)
{
    const std::uint64_t bytes = btreeStepJournalBytes(g, btreeMaxHeight(g), ownsBlocks) + kDefaultJournalBytes;
    return (bytes + 1023) / 1024 * 1024;
}

// Reads nodes of a tree whose geometry is known, checking each before use. Type-erased: the
// typed operations and the tools' walker share it.
class BTreeNodes {
public:
    BTreeNodes(const ContainerTxn& txn, const format::BTreeGeometry& g)
        : m_txn(txn)
        , m_g(g)
    {
    }
    const format::BTreeGeometry& geometry() const { return m_g; }

    // The header of the node at `offset`, or nullptr unless the whole node lies in the arena,
    // aligned, with a count within capacity and the leaf flag its depth calls for.
    format::BTreeNodeHeader* node(std::uint64_t offset, bool leaf) const
    {
        if (offset == 0 || offset % m_g.alignment != 0)
            return nullptr;
        auto* h = static_cast<format::BTreeNodeHeader*>(m_txn.at(offset, m_g.bytesOf(leaf)));
        if (!h || h->count > m_g.capacity || h->leaf != (leaf ? 1u : 0u))
            return nullptr;
        return h;
    }
    // Only for nodes already checked with node() in this operation.
    format::BTreeNodeHeader* header(std::uint64_t offset) const { return m_txn.at<format::BTreeNodeHeader>(offset); }
    std::uint64_t slot(std::uint64_t node, std::uint64_t i) const { return node + m_g.slotsOffset + i * m_g.slotBytes; }
    std::uint64_t childWord(std::uint64_t node, std::uint64_t i) const { return node + m_g.childrenOffset + 8 * i; }
    std::uint64_t child(std::uint64_t node, std::uint64_t i) const
    {
        const auto* word = m_txn.at<std::uint64_t>(childWord(node, i));
        return word ? *word : 0;
    }
    unsigned char* bytes(std::uint64_t offset, std::uint64_t n) const
    {
        return static_cast<unsigned char*>(m_txn.at(offset, n));
    }

private:
    const ContainerTxn& m_txn;
    format::BTreeGeometry m_g;
};

// What is wrong with the body of a tree of geometry `g`, or nullptr when it is usable.
inline const char* btreeBodyProblem(const format::BTreeBody* body, const format::BTreeGeometry& g)
{
    if (!body)
        return "body outside the region";
    if (body->nodeCapacity != g.capacity || body->nodeBytes != g.nodeBytes || body->slotBytes != g.slotBytes
        || body->valueOffset != g.valueOffset)
        return "node geometry does not match the element layout";
    if (body->height > btreeMaxHeight(g))
        return "height beyond what a region can hold";
    if ((body->root == 0) != (body->height == 0) || (body->root == 0) != (body->length == 0))
        return "root, height and length disagree on emptiness";
    return nullptr;
}

// Visits the slots of elements [first, first + limit) in key order, skipping whole subtrees by
// their counts. `visit(slotOffset)`. False when a node on the way is damaged.
template <class Visit>
bool btreeVisitRange(const ContainerTxn& txn, const format::BTreeBody& body, const format::BTreeGeometry& g,
    std::uint64_t first, std::uint64_t limit, Visit&& visit)
{
    const BTreeNodes nodes(txn, g);
    const std::uint64_t height = body.height;
    // Returns false on damage; `skip` and `left` carry across the recursion.
    auto walk
        = [&](auto& self, std::uint64_t node, std::uint64_t depth, std::uint64_t& skip, std::uint64_t& left) -> bool {
        const bool leaf = depth == height;
        const format::BTreeNodeHeader* h = nodes.node(node, leaf);
        if (!h)
            return false;
        const std::uint64_t count = h->count;
        if (leaf) {
            if (skip >= count) {
                skip -= count;
                return true;
            }
            for (std::uint64_t i = skip; i < count && left > 0; ++i, --left)
                visit(nodes.slot(node, i));
            skip = 0;
            return true;
        }
        for (std::uint64_t i = 0; i <= count && left > 0; ++i) {
            const std::uint64_t child = nodes.child(node, i);
            const format::BTreeNodeHeader* c = nodes.node(child, depth + 1 == height);
            if (!c)
                return false;
            if (skip >= c->total) {
                skip -= c->total;
            } else if (!self(self, child, depth + 1, skip, left)) {
                return false;
            }
            if (i == count || left == 0)
                continue;
            if (skip > 0) {
                --skip;
            } else {
                visit(nodes.slot(node, i));
                --left;
            }
        }
        return true;
    };
    if (body.root == 0 || limit == 0)
        return true;
    std::uint64_t skip = first;
    std::uint64_t left = limit;
    return walk(walk, body.root, 1, skip, left);
}

// Checks the shape of a tree: nodes in bounds and well formed, leaves all at depth `height`, counts
// within [t - 1, 2t - 1] (the root: at least 1), subtree counts adding up, and the root's equal to
// the length. Key order needs the key type: the typed classes check it on top of this.
inline std::optional<std::string> btreeCheckStructure(
    const ContainerTxn& txn, const format::BTreeBody* body, const format::BTreeGeometry& g)
{
    if (const char* problem = btreeBodyProblem(body, g))
        return std::string(problem);
    if (body->root == 0)
        return std::nullopt;
    const BTreeNodes nodes(txn, g);
    const std::uint64_t height = body->height;
    // Shared or cyclic children would make the walk endless: no sound tree has more nodes than fit.
    const std::uint64_t nodeLimit = txn.region().size() / g.leafBytes() + 1;
    std::uint64_t visited = 0;
    std::optional<std::string> problem;
    const auto fail = [&](std::uint64_t node, const std::string& what) {
        problem = "node at " + std::to_string(node) + ": " + what;
        return std::uint64_t { 0 };
    };
    auto walk = [&](auto& self, std::uint64_t node, std::uint64_t depth) -> std::uint64_t {
        const bool leaf = depth == height;
        if (++visited > nodeLimit)
            return fail(node, "more nodes than the region can hold (shared or cyclic children)");
        const format::BTreeNodeHeader* h = nodes.node(node, leaf);
        if (!h) {
            const auto* raw
                = static_cast<const format::BTreeNodeHeader*>(txn.at(node, sizeof(format::BTreeNodeHeader)));
            if (!raw || node % g.alignment != 0)
                return fail(node, "offset outside the region or misaligned");
            if (raw->leaf != (leaf ? 1u : 0u))
                return fail(node, leaf ? "internal node at leaf depth" : "leaf above the bottom level");
            if (raw->count > g.capacity)
                return fail(node, "count " + std::to_string(raw->count) + " beyond the capacity");
            return fail(node, "node extends past the region");
        }
        const std::uint64_t count = h->count;
        const std::uint64_t expected = h->total;
        if (depth == 1 ? count == 0 : count < g.minCount())
            return fail(node, "count " + std::to_string(count) + " below the minimum");
        std::uint64_t total = count;
        if (!leaf) {
            for (std::uint64_t i = 0; i <= count; ++i) {
                total += self(self, nodes.child(node, i), depth + 1);
                if (problem)
                    return 0;
            }
        }
        if (total != expected)
            return fail(node, "subtree count " + std::to_string(expected) + ", holds " + std::to_string(total));
        return total;
    };
    const std::uint64_t total = walk(walk, body->root, 1);
    if (problem)
        return problem;
    if (total != body->length)
        return "length " + std::to_string(body->length) + ", tree holds " + std::to_string(total);
    return std::nullopt;
}

// The typed operations. `Val` is void for sets.
template <class Key, class Val> class BTreeOps {
public:
    static constexpr bool kMap = !std::is_void_v<Val>;
    using KeyTraits = ElementTraits<Key>;
    using ValueTraits = ElementTraits<std::conditional_t<kMap, Val, std::uint8_t>>;
    using KeyStored = typename KeyTraits::Stored;
    using ValueStored = typename ValueTraits::Stored;
    using KeyLookup = typename KeyTraits::Lookup;
    using ValueLookup = typename ValueTraits::Lookup;
    using KeyValue = typename KeyTraits::Value;
    using ValueValue = typename ValueTraits::Value;
    static constexpr bool kOwnsBlocks = KeyTraits::kOwnsBlocks || (kMap && ValueTraits::kOwnsBlocks);

    static constexpr format::BTreeGeometry kGeometry = format::btreeGeometry(
        sizeof(KeyStored), alignof(KeyStored), kMap ? sizeof(ValueStored) : 0, kMap ? alignof(ValueStored) : 0);
    static constexpr std::uint64_t kMaxHeight = btreeMaxHeight(kGeometry);
    static constexpr std::uint64_t kJournalBytes = btreeJournalBytes(kGeometry, kOwnsBlocks);

    static format::BTreeBody initialBody()
    {
        format::BTreeBody body {};
        body.nodeCapacity = kGeometry.capacity;
        body.nodeBytes = kGeometry.nodeBytes;
        body.slotBytes = kGeometry.slotBytes;
        body.valueOffset = kGeometry.valueOffset;
        return body;
    }

    // ---- reading ----

    // The body, checked, or Corrupt.
    static RegionExpected<format::BTreeBody> body(const ContainerTxn& txn, std::uint64_t bodyAt)
    {
        const auto* b = txn.at<format::BTreeBody>(bodyAt);
        if (btreeBodyProblem(b, kGeometry))
            return unexpected(RegionError::Corrupt);
        return *b;
    }

    static RegionExpected<std::uint64_t> length(const ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto b = body(txn, bodyAt);
        return b ? RegionExpected<std::uint64_t>(b->length) : unexpected(b.error());
    }

    static int compareAt(const ContainerTxn& txn, std::uint64_t slot, const KeyLookup& key)
    {
        return KeyTraits::compare(txn, *txn.at<KeyStored>(slot), key);
    }
    static int compareCell(const ContainerTxn& txn, const unsigned char* cell, const KeyLookup& key)
    {
        return KeyTraits::compare(txn, *reinterpret_cast<const KeyStored*>(cell), key);
    }
    // The bytes of the element in `slot` (a slot inside a checked node).
    static const unsigned char* cell(const ContainerTxn& txn, std::uint64_t slot)
    {
        return static_cast<const unsigned char*>(txn.at(slot, kGeometry.slotBytes));
    }
    static KeyValue keyOf(const ContainerTxn& txn, const unsigned char* cell)
    {
        return KeyTraits::load(txn, *reinterpret_cast<const KeyStored*>(cell));
    }
    static ValueValue valueOf(const ContainerTxn& txn, const unsigned char* cell)
    {
        return ValueTraits::load(txn, *reinterpret_cast<const ValueStored*>(cell + kGeometry.valueOffset));
    }
    static KeyValue keyAt(const ContainerTxn& txn, std::uint64_t slot) { return keyOf(txn, cell(txn, slot)); }
    static ValueValue valueAt(const ContainerTxn& txn, std::uint64_t slot) { return valueOf(txn, cell(txn, slot)); }

    // Index of the first element of `node` not below `key`.
    static std::uint64_t lowerBound(
        const ContainerTxn& txn, const BTreeNodes& nodes, std::uint64_t node, std::uint64_t count, const KeyLookup& key)
    {
        // The slots lie in the leaf-sized front of every node.
        const unsigned char* cells = nodes.bytes(nodes.slot(node, 0), count * kGeometry.slotBytes);
        std::uint64_t lo = 0;
        std::uint64_t hi = count;
        while (lo < hi) {
            const std::uint64_t mid = lo + (hi - lo) / 2;
            if (compareCell(txn, cells + mid * kGeometry.slotBytes, key) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }

    // The slot holding `key`, or 0.
    static RegionExpected<std::uint64_t> find(const ContainerTxn& txn, std::uint64_t bodyAt, const KeyLookup& key)
    {
        auto b = body(txn, bodyAt);
        if (!b)
            return unexpected(b.error());
        const BTreeNodes nodes(txn, kGeometry);
        std::uint64_t node = b->root;
        for (std::uint64_t depth = 1; depth <= b->height; ++depth) {
            const bool leaf = depth == b->height;
            const format::BTreeNodeHeader* h = nodes.node(node, leaf);
            if (!h)
                return unexpected(RegionError::Corrupt);
            const std::uint64_t count = h->count;
            const std::uint64_t i = lowerBound(txn, nodes, node, count, key);
            if (i < count && compareAt(txn, nodes.slot(node, i), key) == 0)
                return nodes.slot(node, i);
            if (leaf)
                break;
            node = nodes.child(node, i);
        }
        return std::uint64_t { 0 };
    }

    // The slot of the smallest (`last` false) or largest element, or 0 when empty.
    static RegionExpected<std::uint64_t> edge(const ContainerTxn& txn, std::uint64_t bodyAt, bool last)
    {
        auto b = body(txn, bodyAt);
        if (!b)
            return unexpected(b.error());
        const BTreeNodes nodes(txn, kGeometry);
        std::uint64_t node = b->root;
        for (std::uint64_t depth = 1; depth <= b->height; ++depth) {
            const bool leaf = depth == b->height;
            const format::BTreeNodeHeader* h = nodes.node(node, leaf);
            if (!h || h->count == 0)
                return unexpected(RegionError::Corrupt);
            if (leaf)
                return nodes.slot(node, last ? h->count - 1 : 0);
            node = nodes.child(node, last ? h->count : 0);
        }
        return std::uint64_t { 0 };
    }

    // Calls `visit(cell)` with the bytes of every element from the first not below `*from` (all
    // when `from` is null), in key order, until it returns false. `visit` may not change the tree.
    template <class Visit>
    static RegionExpected<void> forEachFrom(
        const ContainerTxn& txn, std::uint64_t bodyAt, const KeyLookup* from, Visit&& visit)
    {
        auto b = body(txn, bodyAt);
        if (!b)
            return unexpected(b.error());
        const BTreeNodes nodes(txn, kGeometry);
        const std::uint64_t height = b->height;
        bool damaged = false;
        // Returns false to stop (visit said so, or damage).
        auto walk = [&](auto& self, std::uint64_t node, std::uint64_t depth, const KeyLookup* bound) -> bool {
            const bool leaf = depth == height;
            const format::BTreeNodeHeader* h = nodes.node(node, leaf);
            if (!h) {
                damaged = true;
                return false;
            }
            const std::uint64_t count = h->count;
            const std::uint64_t start = bound ? lowerBound(txn, nodes, node, count, *bound) : 0;
            const auto cellsOf = [&] { return nodes.bytes(nodes.slot(node, 0), count * kGeometry.slotBytes); };
            const unsigned char* cells = cellsOf();
            for (std::uint64_t i = start; i <= count; ++i) {
                if (!leaf) {
                    if (!self(self, nodes.child(node, i), depth + 1, i == start ? bound : nullptr))
                        return false;
                    cells = cellsOf(); // the walk below may have remapped
                }
                if (i < count && !visit(cells + i * kGeometry.slotBytes))
                    return false;
            }
            return true;
        };
        if (b->root != 0)
            walk(walk, b->root, 1, from);
        if (damaged)
            return unexpected(RegionError::Corrupt);
        return {};
    }

    // The structure (btreeCheckStructure) and the key order: every key above the one before it.
    static std::optional<std::string> check(const ContainerTxn& txn, std::uint64_t bodyAt)
    {
        const auto* b = txn.at<format::BTreeBody>(bodyAt);
        if (auto problem = btreeCheckStructure(txn, b, kGeometry))
            return problem;
        std::optional<KeyValue> previous;
        std::uint64_t index = 0;
        std::optional<std::string> problem;
        auto walked = forEachFrom(txn, bodyAt, nullptr, [&](const unsigned char* cell) {
            if (previous && compareCell(txn, cell, *previous) <= 0) {
                problem = "element " + std::to_string(index) + " is not above the one before it";
                return false;
            }
            previous = keyOf(txn, cell);
            ++index;
            return true;
        });
        if (!walked)
            return std::string("damaged node during the ordered walk");
        return problem;
    }

    // ---- writing ----

    // One operation's changes: remembers which nodes it saved so that each is journaled once.
    class Edit {
    public:
        Edit(ContainerTxn& txn, std::uint64_t bodyAt)
            : m_txn(txn)
            , m_bodyAt(bodyAt)
            , m_nodes(txn, kGeometry)
        {
        }

        ContainerTxn& txn() const { return m_txn; }
        const BTreeNodes& nodes() const { return m_nodes; }
        format::BTreeBody* body() const { return m_txn.at<format::BTreeBody>(m_bodyAt); }
        format::BTreeNodeHeader* header(std::uint64_t node) const { return m_nodes.header(node); }

        RegionExpected<void> saveBody()
        {
            if (m_bodySaved)
                return {};
            if (auto saved = m_txn.save(m_bodyAt, sizeof(format::BTreeBody)); !saved)
                return saved;
            m_bodySaved = true;
            return {};
        }
        // Before only the node's subtree count changes.
        RegionExpected<void> saveHeader(std::uint64_t node)
        {
            for (const auto& [offset, whole] : m_touched) {
                if (offset == node)
                    return {};
            }
            if (auto saved = m_txn.save(node, sizeof(format::BTreeNodeHeader)); !saved)
                return saved;
            m_touched.emplace_back(node, false);
            return {};
        }
        // Before anything else in the node changes. A node whose header alone was saved is saved
        // again whole: undo restores the newest save first, so the header ends up as it was.
        RegionExpected<void> saveNode(std::uint64_t node)
        {
            std::pair<std::uint64_t, bool>* entry = nullptr;
            for (auto& touched : m_touched) {
                if (touched.first == node)
                    entry = &touched;
            }
            if (entry && entry->second)
                return {};
            const bool leaf = header(node)->leaf != 0;
            if (auto saved = m_txn.save(node, kGeometry.bytesOf(leaf)); !saved)
                return saved;
            if (entry)
                entry->second = true;
            else
                m_touched.emplace_back(node, true);
            return {};
        }
        RegionExpected<std::uint64_t> newNode(bool leaf)
        {
            auto node = m_txn.allocate(kGeometry.bytesOf(leaf), kGeometry.alignment);
            if (!node)
                return node;
            header(*node)->leaf = leaf ? 1 : 0;
            m_touched.emplace_back(*node, true);
            return node;
        }
        // After a commit in the middle of an operation, every node must be saved afresh.
        void committed()
        {
            m_touched.clear();
            m_bodySaved = false;
        }

    private:
        ContainerTxn& m_txn;
        std::uint64_t m_bodyAt;
        BTreeNodes m_nodes;
        std::vector<std::pair<std::uint64_t, bool>> m_touched; // node, saved whole (or fresh)
        bool m_bodySaved = false;
    };

    // Stores an element into a slot that is fresh or saved.
    static RegionExpected<void> storeElement(
        ContainerTxn& txn, std::uint64_t slot, const KeyLookup& key, const ValueLookup* value)
    {
        if (auto stored = KeyTraits::store(txn, slot, key); !stored)
            return stored;
        if constexpr (kMap)
            return ValueTraits::store(txn, slot + kGeometry.valueOffset, *value);
        return {};
    }
    // Releases what an element owns (at commit).
    static RegionExpected<void> dropElement(ContainerTxn& txn, std::uint64_t slot)
    {
        if constexpr (KeyTraits::kOwnsBlocks) {
            const KeyStored key = *txn.at<KeyStored>(slot);
            if (auto dropped = KeyTraits::drop(txn, key); !dropped)
                return dropped;
        }
        if constexpr (kMap && ValueTraits::kOwnsBlocks) {
            const ValueStored value = *txn.at<ValueStored>(slot + kGeometry.valueOffset);
            if (auto dropped = ValueTraits::drop(txn, value); !dropped)
                return dropped;
        }
        return {};
    }

    // Replaces the value in `slot` (maps), dropping the old one.
    static RegionExpected<void> replaceValue(ContainerTxn& txn, std::uint64_t slot, const ValueLookup& value)
    {
        const std::uint64_t at = slot + kGeometry.valueOffset;
        const ValueStored old = *txn.at<ValueStored>(at);
        if (auto saved = txn.save(at, sizeof(ValueStored)); !saved)
            return saved;
        if (auto dropped = ValueTraits::drop(txn, old); !dropped)
            return dropped;
        return ValueTraits::store(txn, at, value);
    }

    // Inserts `key` (with `*value` for maps), which must not be in the tree yet.
    static RegionExpected<void> insertNew(
        ContainerTxn& txn, std::uint64_t bodyAt, const KeyLookup& key, const ValueLookup* value)
    {
        auto b = body(txn, bodyAt);
        if (!b)
            return unexpected(b.error());
        Edit edit(txn, bodyAt);
        const BTreeNodes& nodes = edit.nodes();
        if (auto saved = edit.saveBody(); !saved)
            return saved;
        if (b->root == 0) {
            auto leaf = edit.newNode(true);
            if (!leaf)
                return unexpected(leaf.error());
            *edit.header(*leaf) = { 1, 1, 1 };
            *edit.body() = initialBody();
            edit.body()->root = *leaf;
            edit.body()->height = 1;
            edit.body()->length = 1;
            return storeElement(txn, nodes.slot(*leaf, 0), key, value);
        }
        edit.body()->length = b->length + 1;
        std::uint64_t node = b->root;
        const format::BTreeNodeHeader* root = nodes.node(node, b->height == 1);
        if (!root)
            return unexpected(RegionError::Corrupt);
        if (root->count == kGeometry.capacity) {
            if (b->height >= kMaxHeight)
                return unexpected(RegionError::Corrupt); // only a damaged tree gets this tall
            const std::uint64_t total = root->total;
            auto fresh = edit.newNode(false);
            if (!fresh)
                return unexpected(fresh.error());
            edit.header(*fresh)->total = total;
            *txn.at<std::uint64_t>(nodes.childWord(*fresh, 0)) = node;
            edit.body()->root = *fresh;
            edit.body()->height = b->height + 1;
            if (auto split = splitChild(edit, *fresh, 0, 1, b->height + 1); !split)
                return split;
            node = *fresh;
        }
        const std::uint64_t height = edit.body()->height;
        for (std::uint64_t depth = 1;; ++depth) {
            const bool leaf = depth == height;
            if (!nodes.node(node, leaf))
                return unexpected(RegionError::Corrupt);
            if (auto saved = edit.saveHeader(node); !saved)
                return saved;
            edit.header(node)->total += 1;
            const std::uint64_t count = edit.header(node)->count;
            std::uint64_t i = lowerBound(txn, nodes, node, count, key);
            if (leaf) {
                if (auto saved = edit.saveNode(node); !saved)
                    return saved;
                unsigned char* cells = nodes.bytes(nodes.slot(node, 0), (count + 1) * kGeometry.slotBytes);
                std::memmove(cells + (i + 1) * kGeometry.slotBytes, cells + i * kGeometry.slotBytes,
                    (count - i) * kGeometry.slotBytes);
                edit.header(node)->count = static_cast<std::uint32_t>(count + 1);
                return storeElement(txn, nodes.slot(node, i), key, value);
            }
            const std::uint64_t child = nodes.child(node, i);
            const format::BTreeNodeHeader* c = nodes.node(child, depth + 1 == height);
            if (!c)
                return unexpected(RegionError::Corrupt);
            if (c->count == kGeometry.capacity) {
                if (auto split = splitChild(edit, node, i, depth, height); !split)
                    return split;
                if (compareAt(txn, nodes.slot(node, i), key) < 0)
                    ++i;
            }
            node = nodes.child(node, i);
        }
    }

    // Splits the full child `i` of `node` (at `depth`) around its middle element, which moves up
    // into `node`; the upper half goes to a new right sibling.
    static RegionExpected<void> splitChild(
        Edit& edit, std::uint64_t node, std::uint64_t i, std::uint64_t depth, std::uint64_t height)
    {
        const BTreeNodes& nodes = edit.nodes();
        const std::uint64_t t = kGeometry.minDegree();
        const std::uint64_t slotBytes = kGeometry.slotBytes;
        const bool childLeaf = depth + 1 == height;
        const std::uint64_t left = nodes.child(node, i);
        auto fresh = edit.newNode(childLeaf);
        if (!fresh)
            return unexpected(fresh.error());
        const std::uint64_t right = *fresh;
        if (auto saved = edit.saveNode(node); !saved)
            return saved;
        if (auto saved = edit.saveNode(left); !saved)
            return saved;
        std::memcpy(nodes.bytes(nodes.slot(right, 0), (t - 1) * slotBytes),
            nodes.bytes(nodes.slot(left, t), (t - 1) * slotBytes), (t - 1) * slotBytes);
        std::uint64_t moved = t - 1;
        if (!childLeaf) {
            std::memcpy(
                nodes.bytes(nodes.childWord(right, 0), t * 8), nodes.bytes(nodes.childWord(left, t), t * 8), t * 8);
            for (std::uint64_t j = 0; j < t; ++j) {
                const format::BTreeNodeHeader* g = nodes.node(nodes.child(right, j), depth + 2 == height);
                if (!g)
                    return unexpected(RegionError::Corrupt);
                moved += g->total;
            }
        }
        format::BTreeNodeHeader* r = edit.header(right);
        r->count = static_cast<std::uint32_t>(t - 1);
        r->total = moved;
        format::BTreeNodeHeader* l = edit.header(left);
        l->count = static_cast<std::uint32_t>(t - 1);
        l->total -= moved + 1;
        // Room in `node` for the middle element at i and the new child at i + 1.
        const std::uint64_t count = edit.header(node)->count;
        unsigned char* cells = nodes.bytes(nodes.slot(node, 0), (count + 1) * slotBytes);
        std::memmove(cells + (i + 1) * slotBytes, cells + i * slotBytes, (count - i) * slotBytes);
        std::memcpy(cells + i * slotBytes, nodes.bytes(nodes.slot(left, t - 1), slotBytes), slotBytes);
        unsigned char* children = nodes.bytes(nodes.childWord(node, 0), (count + 2) * 8);
        std::memmove(children + (i + 2) * 8, children + (i + 1) * 8, (count - i) * 8);
        std::memcpy(children + (i + 1) * 8, &right, 8);
        edit.header(node)->count = static_cast<std::uint32_t>(count + 1);
        return {};
    }

    // Merges child i + 1 of `node` and the element between them into child i.
    static RegionExpected<void> mergeChildren(Edit& edit, std::uint64_t node, std::uint64_t i, bool childLeaf)
    {
        const BTreeNodes& nodes = edit.nodes();
        const std::uint64_t slotBytes = kGeometry.slotBytes;
        const std::uint64_t left = nodes.child(node, i);
        const std::uint64_t right = nodes.child(node, i + 1);
        const format::BTreeNodeHeader* l = nodes.node(left, childLeaf);
        const format::BTreeNodeHeader* r = nodes.node(right, childLeaf);
        if (!l || !r || l->count + r->count + 1 > kGeometry.capacity)
            return unexpected(RegionError::Corrupt);
        const std::uint64_t lc = l->count;
        const std::uint64_t rc = r->count;
        const std::uint64_t rightTotal = r->total;
        if (auto saved = edit.saveNode(node); !saved)
            return saved;
        if (auto saved = edit.saveNode(left); !saved)
            return saved;
        std::memcpy(
            nodes.bytes(nodes.slot(left, lc), slotBytes), nodes.bytes(nodes.slot(node, i), slotBytes), slotBytes);
        std::memcpy(nodes.bytes(nodes.slot(left, lc + 1), rc * slotBytes),
            nodes.bytes(nodes.slot(right, 0), rc * slotBytes), rc * slotBytes);
        if (!childLeaf)
            std::memcpy(nodes.bytes(nodes.childWord(left, lc + 1), (rc + 1) * 8),
                nodes.bytes(nodes.childWord(right, 0), (rc + 1) * 8), (rc + 1) * 8);
        format::BTreeNodeHeader* lh = edit.header(left);
        lh->count = static_cast<std::uint32_t>(lc + 1 + rc);
        lh->total += 1 + rightTotal;
        const std::uint64_t count = edit.header(node)->count;
        unsigned char* cells = nodes.bytes(nodes.slot(node, 0), count * slotBytes);
        std::memmove(cells + i * slotBytes, cells + (i + 1) * slotBytes, (count - i - 1) * slotBytes);
        unsigned char* children = nodes.bytes(nodes.childWord(node, 0), (count + 1) * 8);
        std::memmove(children + (i + 1) * 8, children + (i + 2) * 8, (count - i - 1) * 8);
        edit.header(node)->count = static_cast<std::uint32_t>(count - 1);
        return edit.txn().release(right);
    }

    // Moves the last element of child j into `node` at j, and the element there to the front of
    // child j + 1 (with the last child of child j, for internal children).
    static RegionExpected<void> rotateRight(
        Edit& edit, std::uint64_t node, std::uint64_t j, std::uint64_t depth, std::uint64_t height)
    {
        const BTreeNodes& nodes = edit.nodes();
        const std::uint64_t slotBytes = kGeometry.slotBytes;
        const bool childLeaf = depth + 1 == height;
        const std::uint64_t left = nodes.child(node, j);
        const std::uint64_t right = nodes.child(node, j + 1);
        const format::BTreeNodeHeader* l = nodes.node(left, childLeaf);
        const format::BTreeNodeHeader* r = nodes.node(right, childLeaf);
        if (!l || !r || l->count == 0 || r->count == kGeometry.capacity)
            return unexpected(RegionError::Corrupt);
        const std::uint64_t lc = l->count;
        const std::uint64_t rc = r->count;
        std::uint64_t moved = 1;
        std::uint64_t movedChild = 0;
        if (!childLeaf) {
            movedChild = nodes.child(left, lc);
            const format::BTreeNodeHeader* g = nodes.node(movedChild, depth + 2 == height);
            if (!g)
                return unexpected(RegionError::Corrupt);
            moved += g->total;
        }
        for (const std::uint64_t n : { node, left, right }) {
            if (auto saved = edit.saveNode(n); !saved)
                return saved;
        }
        unsigned char* rs = nodes.bytes(nodes.slot(right, 0), (rc + 1) * slotBytes);
        std::memmove(rs + slotBytes, rs, rc * slotBytes);
        std::memcpy(rs, nodes.bytes(nodes.slot(node, j), slotBytes), slotBytes);
        std::memcpy(
            nodes.bytes(nodes.slot(node, j), slotBytes), nodes.bytes(nodes.slot(left, lc - 1), slotBytes), slotBytes);
        if (!childLeaf) {
            unsigned char* rch = nodes.bytes(nodes.childWord(right, 0), (rc + 2) * 8);
            std::memmove(rch + 8, rch, (rc + 1) * 8);
            std::memcpy(rch, &movedChild, 8);
        }
        format::BTreeNodeHeader* lh = edit.header(left);
        lh->count = static_cast<std::uint32_t>(lc - 1);
        lh->total -= moved;
        format::BTreeNodeHeader* rh = edit.header(right);
        rh->count = static_cast<std::uint32_t>(rc + 1);
        rh->total += moved;
        return {};
    }

    // Mirror of rotateRight: the first element of child j + 1 moves up, the one at j moves down to
    // the end of child j.
    static RegionExpected<void> rotateLeft(
        Edit& edit, std::uint64_t node, std::uint64_t j, std::uint64_t depth, std::uint64_t height)
    {
        const BTreeNodes& nodes = edit.nodes();
        const std::uint64_t slotBytes = kGeometry.slotBytes;
        const bool childLeaf = depth + 1 == height;
        const std::uint64_t left = nodes.child(node, j);
        const std::uint64_t right = nodes.child(node, j + 1);
        const format::BTreeNodeHeader* l = nodes.node(left, childLeaf);
        const format::BTreeNodeHeader* r = nodes.node(right, childLeaf);
        if (!l || !r || r->count == 0 || l->count == kGeometry.capacity)
            return unexpected(RegionError::Corrupt);
        const std::uint64_t lc = l->count;
        const std::uint64_t rc = r->count;
        std::uint64_t moved = 1;
        std::uint64_t movedChild = 0;
        if (!childLeaf) {
            movedChild = nodes.child(right, 0);
            const format::BTreeNodeHeader* g = nodes.node(movedChild, depth + 2 == height);
            if (!g)
                return unexpected(RegionError::Corrupt);
            moved += g->total;
        }
        for (const std::uint64_t n : { node, left, right }) {
            if (auto saved = edit.saveNode(n); !saved)
                return saved;
        }
        std::memcpy(
            nodes.bytes(nodes.slot(left, lc), slotBytes), nodes.bytes(nodes.slot(node, j), slotBytes), slotBytes);
        std::memcpy(
            nodes.bytes(nodes.slot(node, j), slotBytes), nodes.bytes(nodes.slot(right, 0), slotBytes), slotBytes);
        unsigned char* rs = nodes.bytes(nodes.slot(right, 0), rc * slotBytes);
        std::memmove(rs, rs + slotBytes, (rc - 1) * slotBytes);
        if (!childLeaf) {
            std::memcpy(nodes.bytes(nodes.childWord(left, lc + 1), 8), &movedChild, 8);
            unsigned char* rch = nodes.bytes(nodes.childWord(right, 0), (rc + 1) * 8);
            std::memmove(rch, rch + 8, rc * 8);
        }
        format::BTreeNodeHeader* lh = edit.header(left);
        lh->count = static_cast<std::uint32_t>(lc + 1);
        lh->total += moved;
        format::BTreeNodeHeader* rh = edit.header(right);
        rh->count = static_cast<std::uint32_t>(rc - 1);
        rh->total -= moved;
        return {};
    }

    // Makes child i of `node` (at `depth`) hold at least t elements before the descent enters it,
    // by borrowing from a sibling or merging with one. Returns the child to descend into.
    static RegionExpected<std::uint64_t> fillChild(
        Edit& edit, std::uint64_t node, std::uint64_t i, std::uint64_t depth, std::uint64_t height)
    {
        const BTreeNodes& nodes = edit.nodes();
        const std::uint64_t t = kGeometry.minDegree();
        const bool childLeaf = depth + 1 == height;
        const std::uint64_t count = edit.header(node)->count;
        const auto countOf = [&](std::uint64_t j) -> std::optional<std::uint64_t> {
            const format::BTreeNodeHeader* h = nodes.node(nodes.child(node, j), childLeaf);
            return h ? std::optional<std::uint64_t>(h->count) : std::nullopt;
        };
        const auto mine = countOf(i);
        if (!mine)
            return unexpected(RegionError::Corrupt);
        if (*mine >= t)
            return nodes.child(node, i);
        if (i > 0) {
            const auto left = countOf(i - 1);
            if (!left)
                return unexpected(RegionError::Corrupt);
            if (*left >= t) {
                if (auto rotated = rotateRight(edit, node, i - 1, depth, height); !rotated)
                    return unexpected(rotated.error());
                return nodes.child(node, i);
            }
        }
        if (i < count) {
            const auto right = countOf(i + 1);
            if (!right)
                return unexpected(RegionError::Corrupt);
            if (*right >= t) {
                if (auto rotated = rotateLeft(edit, node, i, depth, height); !rotated)
                    return unexpected(rotated.error());
                return nodes.child(node, i);
            }
            if (auto merged = mergeChildren(edit, node, i, childLeaf); !merged)
                return unexpected(merged.error());
            return nodes.child(node, i);
        }
        if (i == 0)
            return unexpected(RegionError::Corrupt); // an internal node without elements
        if (auto merged = mergeChildren(edit, node, i - 1, childLeaf); !merged)
            return unexpected(merged.error());
        return nodes.child(node, i - 1);
    }

    // After a remove: a root left without elements gives way to its only child, or the tree is empty.
    static RegionExpected<void> collapseRoot(Edit& edit)
    {
        format::BTreeBody* b = edit.body();
        const std::uint64_t root = b->root;
        if (edit.header(root)->count > 0)
            return {};
        if (b->height == 1) {
            b->root = 0;
            b->height = 0;
        } else {
            b->root = edit.nodes().child(root, 0);
            b->height -= 1;
        }
        return edit.txn().release(root);
    }

    // Removes `key`, which must be in the tree, and drops what it owns (at commit).
    static RegionExpected<void> removeExisting(ContainerTxn& txn, std::uint64_t bodyAt, const KeyLookup& key)
    {
        auto b = body(txn, bodyAt);
        if (!b)
            return unexpected(b.error());
        if (b->root == 0)
            return unexpected(RegionError::Corrupt);
        Edit edit(txn, bodyAt);
        const BTreeNodes& nodes = edit.nodes();
        if (auto saved = edit.saveBody(); !saved)
            return saved;
        edit.body()->length = b->length - 1;
        const std::uint64_t height = b->height;
        const std::uint64_t t = kGeometry.minDegree();
        enum class Target { Match, Smallest, Largest };
        Target target = Target::Match;
        // Where the element that replaces `key` in an internal node goes, once found in a leaf.
        std::uint64_t destination = 0;
        std::uint64_t node = b->root;
        for (std::uint64_t depth = 1;; ++depth) {
            const bool leaf = depth == height;
            if (depth > height || !nodes.node(node, leaf))
                return unexpected(RegionError::Corrupt);
            if (auto saved = edit.saveHeader(node); !saved)
                return saved;
            format::BTreeNodeHeader* h = edit.header(node);
            if (h->total == 0)
                return unexpected(RegionError::Corrupt);
            h->total -= 1;
            const std::uint64_t count = h->count;
            std::uint64_t i = 0;
            bool found = false;
            if (target == Target::Match) {
                i = lowerBound(txn, nodes, node, count, key);
                found = i < count && compareAt(txn, nodes.slot(node, i), key) == 0;
            } else {
                i = target == Target::Smallest ? 0 : (leaf ? count - 1 : count);
                found = leaf;
            }
            if (leaf) {
                if (!found || count == 0)
                    return unexpected(RegionError::Corrupt);
                if (auto saved = edit.saveNode(node); !saved)
                    return saved;
                const std::uint64_t slot = nodes.slot(node, i);
                if (destination != 0) {
                    std::memcpy(nodes.bytes(destination, kGeometry.slotBytes), nodes.bytes(slot, kGeometry.slotBytes),
                        kGeometry.slotBytes);
                } else if (auto dropped = dropElement(txn, slot); !dropped) {
                    return dropped;
                }
                unsigned char* cells = nodes.bytes(nodes.slot(node, 0), count * kGeometry.slotBytes);
                std::memmove(cells + i * kGeometry.slotBytes, cells + (i + 1) * kGeometry.slotBytes,
                    (count - i - 1) * kGeometry.slotBytes);
                edit.header(node)->count = static_cast<std::uint32_t>(count - 1);
                break;
            }
            if (found) {
                // The key sits in this internal node: replace it by its predecessor or successor
                // (taken from a child that can spare one), or merge the two children around it.
                const bool childLeaf = depth + 1 == height;
                const format::BTreeNodeHeader* l = nodes.node(nodes.child(node, i), childLeaf);
                const format::BTreeNodeHeader* r = nodes.node(nodes.child(node, i + 1), childLeaf);
                if (!l || !r)
                    return unexpected(RegionError::Corrupt);
                if (l->count >= t || r->count >= t) {
                    const bool fromLeft = l->count >= t;
                    if (auto saved = edit.saveNode(node); !saved)
                        return saved;
                    if (auto dropped = dropElement(txn, nodes.slot(node, i)); !dropped)
                        return dropped;
                    destination = nodes.slot(node, i);
                    target = fromLeft ? Target::Largest : Target::Smallest;
                    node = nodes.child(node, fromLeft ? i : i + 1);
                    continue;
                }
                if (auto merged = mergeChildren(edit, node, i, childLeaf); !merged)
                    return merged;
                node = nodes.child(node, i);
                continue;
            }
            auto next = fillChild(edit, node, i, depth, height);
            if (!next)
                return unexpected(next.error());
            node = *next;
        }
        return collapseRoot(edit);
    }

    // Removes the rightmost leaf and the element before it in its parent, dropping what they own:
    // one step of clear() that leaves a smaller sound tree. Returns the elements removed.
    static RegionExpected<std::uint64_t> removeLastLeaf(Edit& edit)
    {
        ContainerTxn& txn = edit.txn();
        const BTreeNodes& nodes = edit.nodes();
        if (auto saved = edit.saveBody(); !saved)
            return unexpected(saved.error());
        const format::BTreeBody b = *edit.body();
        if (b.root == 0)
            return std::uint64_t { 0 };
        std::vector<std::uint64_t> path;
        std::uint64_t node = b.root;
        std::uint64_t depth = 1;
        const std::uint64_t height = b.height;
        if (!nodes.node(node, height == 1))
            return unexpected(RegionError::Corrupt);
        while (depth + 1 < height) {
            path.push_back(node);
            auto next = fillChild(edit, node, edit.header(node)->count, depth, height);
            if (!next)
                return unexpected(next.error());
            node = *next;
            ++depth;
            if (!nodes.node(node, false))
                return unexpected(RegionError::Corrupt);
        }
        std::uint64_t removed = 0;
        if (height == 1) {
            const std::uint64_t count = edit.header(node)->count;
            for (std::uint64_t i = 0; i < count; ++i) {
                if (auto dropped = dropElement(txn, nodes.slot(node, i)); !dropped)
                    return unexpected(dropped.error());
            }
            removed = count;
            if (auto saved = edit.saveHeader(node); !saved)
                return unexpected(saved.error());
            edit.header(node)->count = 0;
            edit.header(node)->total = 0;
        } else {
            // `node` is the parent of the leaves: it keeps all but its last element and child.
            path.push_back(node);
            const std::uint64_t count = edit.header(node)->count;
            const std::uint64_t leaf = nodes.child(node, count);
            const format::BTreeNodeHeader* l = nodes.node(leaf, true);
            if (!l || count == 0)
                return unexpected(RegionError::Corrupt);
            const std::uint64_t leafCount = l->count;
            for (std::uint64_t i = 0; i < leafCount; ++i) {
                if (auto dropped = dropElement(txn, nodes.slot(leaf, i)); !dropped)
                    return unexpected(dropped.error());
            }
            if (auto dropped = dropElement(txn, nodes.slot(node, count - 1)); !dropped)
                return unexpected(dropped.error());
            removed = leafCount + 1;
            if (auto saved = edit.saveHeader(node); !saved)
                return unexpected(saved.error());
            edit.header(node)->count = static_cast<std::uint32_t>(count - 1);
            if (auto released = txn.release(leaf); !released)
                return unexpected(released.error());
            for (const std::uint64_t p : path) {
                if (auto saved = edit.saveHeader(p); !saved)
                    return unexpected(saved.error());
                if (edit.header(p)->total < removed)
                    return unexpected(RegionError::Corrupt);
                edit.header(p)->total -= removed;
            }
        }
        if (b.length < removed)
            return unexpected(RegionError::Corrupt);
        edit.body()->length = b.length - removed;
        if (auto collapsed = collapseRoot(edit); !collapsed)
            return unexpected(collapsed.error());
        return removed;
    }

    // Journal bytes left in the current operation.
    static std::uint64_t journalRoom(const ContainerTxn& txn)
    {
        const format::ContainerHeader& h = txn.header();
        return h.journalCapacity - (h.journalUsed & ~format::kJournalCommitted);
    }

    // Empties the tree a leaf at a time, committing whenever the journal might not hold the next
    // step: a process killed in between leaves a smaller, sound tree.
    static RegionExpected<void> clear(ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto b = body(txn, bodyAt);
        if (!b)
            return unexpected(b.error());
        Edit edit(txn, bodyAt);
        while (edit.body()->root != 0) {
            if (journalRoom(txn) < btreeStepJournalBytes(kGeometry, edit.body()->height, kOwnsBlocks)) {
                if (auto step = txn.commit(); !step)
                    return step;
                edit.committed();
            }
            auto removed = removeLastLeaf(edit);
            if (!removed)
                return unexpected(removed.error());
        }
        return {};
    }

    // Inserts or replaces; returns whether the key was new. `previous` (maps) receives the old value.
    static RegionExpected<bool> put(ContainerTxn& txn, std::uint64_t bodyAt, const KeyLookup& key,
        const ValueLookup* value, std::optional<ValueValue>* previous = nullptr)
    {
        auto slot = find(txn, bodyAt, key);
        if (!slot)
            return unexpected(slot.error());
        if (*slot == 0) {
            if (auto inserted = insertNew(txn, bodyAt, key, value); !inserted)
                return unexpected(inserted.error());
            return true;
        }
        if constexpr (kMap) {
            if (previous)
                *previous = valueAt(txn, *slot);
            if (auto replaced = replaceValue(txn, *slot, *value); !replaced)
                return unexpected(replaced.error());
        }
        return false;
    }

    // Inserts [first, last) (maps: pairs of key and value; later ones replace earlier ones),
    // committing whenever the journal might not hold the next insert.
    template <class It>
    static RegionExpected<void> insertAll(ContainerTxn& txn, std::uint64_t bodyAt, It first, It last)
    {
        for (It it = first; it != last; ++it) {
            auto b = body(txn, bodyAt);
            if (!b)
                return unexpected(b.error());
            if (journalRoom(txn) < btreeStepJournalBytes(kGeometry, b->height + 1, kOwnsBlocks)) {
                if (auto step = txn.commit(); !step)
                    return step;
            }
            RegionExpected<bool> put1 = [&] {
                if constexpr (kMap) {
                    const auto& [key, value] = *it;
                    const ValueLookup v = value;
                    return put(txn, bodyAt, key, &v);
                } else {
                    return put(txn, bodyAt, *it, nullptr);
                }
            }();
            if (!put1)
                return unexpected(put1.error());
        }
        return {};
    }
};

} // namespace commy::shm::detail
