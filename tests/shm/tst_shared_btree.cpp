// SharedBTreeMap / SharedBTreeSet against std::map / std::set: the same random operations applied
// to both, contents compared after every step and the tree checked every 4 steps, through a growth
// to height >= 3 and a shrink that merges most nodes away again; full regions; a full undo
// journal; attach checks; destroy; the type-erased walker the tools read trees through.

#include "container_test_support.h"

// The walker is internal to engine_shm; its header is reached by path.
#include "container_walk_btree.h"

#include <commy/shm/shared_btree_map.h>
#include <commy/shm/shared_btree_set.h>
#include <commy/shm/shared_string.h>
#include <commy/shm/shared_vec.h>

#include <QtTest>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace commy::shm;
using namespace commy::shmtest;

namespace {

// KeySpace<T>::key(rng, space): a key drawn from a space of `space` distinct values, so inserts
// overwrite and removes hit. Values come from Sample<T>::value(rng).
template <class T> struct KeySpace;
template <> struct KeySpace<std::int64_t> {
    static std::int64_t key(std::mt19937_64& rng, std::uint64_t space)
    {
        return static_cast<std::int64_t>(rng() % space) - static_cast<std::int64_t>(space / 2);
    }
};
template <> struct KeySpace<std::int32_t> {
    static std::int32_t key(std::mt19937_64& rng, std::uint64_t space)
    {
        return static_cast<std::int32_t>(rng() % space) - static_cast<std::int32_t>(space / 2);
    }
};
template <> struct KeySpace<SharedString> {
    // Byte order differs from numeric order, and lengths vary (including the empty string).
    static std::string key(std::mt19937_64& rng, std::uint64_t space)
    {
        const std::uint64_t n = rng() % space;
        return n == 0 ? std::string() : std::string(n % 5, 'z') + std::to_string(n * 7919 % space);
    }
};

// The tallest a B-tree of minimum degree t holding n elements may be: 2 t^(h-1) - 1 <= n.
std::uint64_t heightBound(std::uint64_t n, std::uint64_t t)
{
    if (n == 0)
        return 0;
    std::uint64_t h = 1;
    std::uint64_t power = t; // t^h
    while (2 * power - 1 <= n) {
        ++h;
        power *= t;
    }
    return h;
}

struct WalkedElement {
    std::uint64_t keyAt;
    std::uint64_t valueAt;
};

} // namespace

class TestSharedBTree : public ContainerTest {
    Q_OBJECT

private slots:
    void init() { openTestRegion(QStringLiteral("b"), 16 << 20); }
    void cleanup() { m_region.reset(); }

    void geometryFitsNodesOfAFewHundredBytes()
    {
        const auto check = [](const format::BTreeGeometry& g) {
            QVERIFY(g.capacity >= 5);
            QCOMPARE(g.capacity % 2, 1u);
            QVERIFY(g.nodeBytes <= format::kBTreeTargetNodeBytes);
            QVERIFY(g.nodeBytes >= format::kBTreeTargetNodeBytes * 3 / 4);
            QVERIFY(g.leafBytes() >= g.slotsOffset + g.capacity * g.slotBytes);
            QCOMPARE(g.nodeBytes, g.leafBytes() + 8 * (g.capacity + 1));
        };
        check(SharedBTreeMap<std::int64_t, std::int64_t>::geometry());
        check(SharedBTreeMap<SharedString, std::int64_t>::geometry());
        check(SharedBTreeMap<std::int32_t, SharedString>::geometry());
        check(SharedBTreeSet<std::int64_t>::geometry());
        check(SharedBTreeSet<SharedString>::geometry());
        const auto g = SharedBTreeMap<std::int32_t, SharedString>::geometry();
        QCOMPARE(g.valueOffset, 8u); // the VecBody is 8-aligned
        QCOMPARE(g.slotBytes, 32u);
        // Large elements still get a proper B-tree.
        struct Big {
            char bytes[600];
        };
        QCOMPARE(SharedBTreeSet<Big>::geometry().capacity, 5u);
    }

    void mapOfIntegersMatchesStdMap() { runMapModel<std::int64_t, std::int64_t>(7200, 1800); }
    void mapOfStringKeysMatchesStdMap() { runMapModel<SharedString, std::int64_t>(3200, 800); }
    void mapOfStringValuesMatchesStdMap() { runMapModel<std::int32_t, SharedString>(3200, 800); }
    void setOfIntegersMatchesStdSet() { runSetModel<std::int64_t>(14400, 3600); }
    void setOfStringsMatchesStdSet() { runSetModel<SharedString>(4400, 1100); }

    void firstLastAndRangesOnAFixedMap()
    {
        auto map = SharedBTreeMap<std::int64_t, std::int64_t>::create(*m_region, "fixed");
        QVERIFY(map);
        auto none = map->first();
        QVERIFY(none && !none->has_value());
        for (std::int64_t i = 0; i < 1000; i += 2)
            QVERIFY(map->insert(i, i * 10));
        auto first = map->first();
        QVERIFY(first && first->has_value());
        QCOMPARE((*first)->first, std::int64_t(0));
        auto last = map->last();
        QVERIFY(last && last->has_value());
        QCOMPARE((*last)->first, std::int64_t(998));
        QCOMPARE((*last)->second, std::int64_t(9980));
        auto r = map->range(11, 17);
        QVERIFY(r);
        const std::vector<std::pair<std::int64_t, std::int64_t>> expected { { 12, 120 }, { 14, 140 }, { 16, 160 } };
        QCOMPARE(*r, expected);
        auto empty = map->range(17, 11);
        QVERIFY(empty && empty->empty());
        auto all = map->range(-5, 5000);
        QVERIFY(all && all->size() == 500);
        auto keys = map->keys();
        QVERIFY(keys && keys->size() == 500 && keys->front() == 0 && keys->back() == 998);
        auto values = map->values();
        QVERIFY(values && values->size() == 500 && values->at(3) == 60);
        auto modified = map->modify(4, [](std::int64_t& v) { v += 1; });
        QVERIFY(modified && *modified);
        auto missing = map->modify(5, [](std::int64_t&) { QFAIL("called for a missing key"); });
        QVERIFY(missing && !*missing);
        auto got = map->get(4);
        QVERIFY(got && got->value() == 41);
    }

    void fromIterInBuildsMapsAndSets()
    {
        const std::vector<std::pair<std::string, std::int64_t>> pairs { { "b", 2 }, { "a", 1 }, { "c", 3 },
            { "a", 9 } };
        auto map = SharedBTreeMap<SharedString, std::int64_t>::fromIterIn(*m_region, "m", pairs.begin(), pairs.end());
        QVERIFY(map);
        auto contents = map->toStd();
        QVERIFY(contents);
        const std::map<std::string, std::int64_t> expected { { "a", 9 }, { "b", 2 }, { "c", 3 } };
        QCOMPARE(*contents, expected);

        std::vector<std::int64_t> many(20000);
        for (std::size_t i = 0; i < many.size(); ++i)
            many[i] = static_cast<std::int64_t>((i * 7919) % many.size());
        auto set = SharedBTreeSet<std::int64_t>::fromIterIn(*m_region, "s", many.begin(), many.end());
        QVERIFY(set);
        auto n = set->size();
        QVERIFY(n && *n == many.size());
        auto sane = set->checkSanity();
        QVERIFY(sane);
        QVERIFY2(!sane->has_value(), sane->value_or("").c_str());
        auto range = set->range(100, 105);
        QVERIFY(range);
        QCOMPARE(*range, (std::vector<std::int64_t> { 100, 101, 102, 103, 104 }));
    }

    void fullRegionFailsAndLeavesTheTreeUnchanged()
    {
        const QString path = m_dir.filePath(QStringLiteral("small.region"));
        auto created = createRegion(path, 1 << 20);
        QVERIFY(created);
        Region& region = **created;
        QVERIFY(region.attach("small"));

        // Plain elements: the region runs out on a node split.
        auto ints = SharedBTreeMap<std::int64_t, std::int64_t>::create(region, "ints");
        QVERIFY(ints);
        std::map<std::int64_t, std::int64_t> model;
        std::mt19937_64 rng(3);
        RegionExpected<std::optional<std::int64_t>> put = std::optional<std::int64_t>();
        int failures = 0;
        for (int i = 0; i < 200000 && failures < 20; ++i) {
            const auto key = static_cast<std::int64_t>(rng() >> 1);
            const std::uint64_t versionBefore = ints->version();
            put = ints->insert(key, -key);
            if (!put) {
                COMPARE_ERROR(put.error(), RegionError::OutOfMemory);
                QCOMPARE(ints->version(), versionBefore);
                ++failures; // a later insert may still fit in a leaf with room
                continue;
            }
            model[key] = -key;
        }
        QVERIFY(failures > 0);
        auto contents = ints->toStd();
        QVERIFY(contents);
        QVERIFY(*contents == model);
        auto sane = ints->checkSanity();
        QVERIFY(sane && !sane->has_value());
        QVERIFY(region.checkSanity());
        auto height = ints->height();
        QVERIFY(height && *height >= 3);
        // Removing makes room again.
        for (int i = 0; i < 500 && !model.empty(); ++i) {
            const auto key = model.begin()->first;
            auto removed = ints->remove(key);
            QVERIFY(removed && removed->has_value());
            model.erase(model.begin());
        }
        QVERIFY(ints->insert(-1, 1));
        model[-1] = 1;
        contents = ints->toStd();
        QVERIFY(contents && *contents == model);
        QVERIFY((SharedBTreeMap<std::int64_t, std::int64_t>::destroy(region, "ints")));

        // Values that own blocks: the region runs out on a value or on a split, after other
        // allocations of the same operation.
        auto strings = SharedBTreeMap<std::int32_t, SharedString>::create(region, "strings");
        QVERIFY(strings);
        std::map<std::int32_t, std::string> smodel;
        failures = 0;
        for (int i = 0; i < 100000 && failures < 20; ++i) {
            const auto key = static_cast<std::int32_t>(rng() % 1000000);
            const std::string value(rng() % 3000, static_cast<char>('a' + i % 26));
            auto done = strings->insert(key, value);
            if (!done) {
                COMPARE_ERROR(done.error(), RegionError::OutOfMemory);
                ++failures;
                continue;
            }
            smodel[key] = value;
        }
        QVERIFY(failures > 0);
        auto scontents = strings->toStd();
        QVERIFY(scontents && *scontents == smodel);
        sane = strings->checkSanity();
        QVERIFY(sane && !sane->has_value());
        QVERIFY(region.checkSanity());
        QVERIFY((SharedBTreeMap<std::int32_t, SharedString>::destroy(region, "strings")));
        auto stats = region.stats();
        QVERIFY(stats);
        QCOMPARE(stats->usedBlocks, 1u); // the root table
    }

    void autoGrowingRegionKeepsTheTreeIntact()
    {
        // Inserts that grow the region remap it in the middle of operations.
        const QString path = m_dir.filePath(QStringLiteral("grow.region"));
        auto created = createRegion(path, 1 << 20, true, 64 << 20);
        QVERIFY(created);
        Region& region = **created;
        QVERIFY(region.attach("grower"));
        auto map = SharedBTreeMap<SharedString, SharedString>::create(region, "big");
        QVERIFY(map);
        std::map<std::string, std::string> model;
        for (int i = 0; i < 20000; ++i) {
            const std::string key = "key" + std::to_string(i * 31 % 20000);
            const std::string value(100 + i % 200, 'v');
            QVERIFY(map->insert(key, value));
            model[key] = value;
        }
        QVERIFY(region.size() > (1u << 20));
        auto contents = map->toStd();
        QVERIFY(contents && *contents == model);
        auto sane = map->checkSanity();
        QVERIFY(sane && !sane->has_value());
    }

    void elementOwningManyBlocksGrowsTheJournal()
    {
        // Storing a value allocates every block it owns in one operation; past what the undo
        // journal was sized for, the journal grows and the operation still happens whole.
        using Map = SharedBTreeMap<std::int64_t, SharedVec<SharedString>>;
        auto map = Map::create(*m_region, "nested");
        QVERIFY(map);
        const std::vector<std::string> small { "a", "bb", "ccc" };
        std::vector<std::string> huge(4000);
        for (std::size_t i = 0; i < huge.size(); ++i)
            huge[i] = "s" + std::to_string(i);
        QVERIFY(map->insert(1, small));
        const std::uint64_t journalBefore = map->ref().header()->journalCapacity;
        QVERIFY(map->insert(2, huge));
        QVERIFY(map->ref().header()->journalCapacity > journalBefore);
        auto contents = map->toStd();
        QVERIFY(contents);
        QCOMPARE(contents->size(), std::size_t(2));
        QVERIFY(contents->at(1) == small);
        QVERIFY(contents->at(2) == huge);
        auto removed = map->remove(1);
        QVERIFY(removed && removed->has_value() && **removed == small);
        QVERIFY(Map::destroy(*m_region, "nested"));
        auto stats = m_region->stats();
        QVERIFY(stats);
        QCOMPARE(stats->usedBlocks, 1u);
    }

    void attachWithAnotherTypeIsTypeMismatch()
    {
        QVERIFY((SharedBTreeMap<std::int64_t, SharedString>::create(*m_region, "typed")));
        auto root = m_region->findRoot("typed");
        QVERIFY(root);
        QCOMPARE(QByteArray::fromStdString(root->type), QByteArray("btreemap<i64,string>"));
        QVERIFY(root->kind == RootKind::BTreeMap);
        auto same = SharedBTreeMap<std::int64_t, SharedString>::attach(*m_region, "typed");
        QVERIFY(same);
        auto wrongKey = SharedBTreeMap<std::int32_t, SharedString>::attach(*m_region, "typed");
        QVERIFY(!wrongKey);
        COMPARE_ERROR(wrongKey.error(), RegionError::TypeMismatch);
        auto wrongValue = SharedBTreeMap<std::int64_t, std::int64_t>::attach(*m_region, "typed");
        QVERIFY(!wrongValue);
        COMPARE_ERROR(wrongValue.error(), RegionError::TypeMismatch);
        auto set = SharedBTreeSet<std::int64_t>::attach(*m_region, "typed");
        QVERIFY(!set);
        COMPARE_ERROR(set.error(), RegionError::TypeMismatch);
        auto vec = SharedVec<std::int64_t>::attach(*m_region, "typed");
        QVERIFY(!vec);
        COMPARE_ERROR(vec.error(), RegionError::TypeMismatch);

        QVERIFY(SharedBTreeSet<SharedString>::create(*m_region, "words"));
        root = m_region->findRoot("words");
        QVERIFY(root);
        QCOMPARE(QByteArray::fromStdString(root->type), QByteArray("btreeset<string>"));
        auto wrongSet = SharedBTreeSet<std::int64_t>::attach(*m_region, "words");
        QVERIFY(!wrongSet);
        COMPARE_ERROR(wrongSet.error(), RegionError::TypeMismatch);
        auto asMap = SharedBTreeMap<SharedString, std::int64_t>::attach(*m_region, "words");
        QVERIFY(!asMap);
        COMPARE_ERROR(asMap.error(), RegionError::TypeMismatch);
    }

    void secondHandleSeesTheSameTree()
    {
        auto writer = SharedBTreeSet<SharedString>::create(*m_region, "shared");
        QVERIFY(writer);
        QVERIFY(writer->insert("pear"));
        QVERIFY(writer->insert("apple"));
        auto reader = SharedBTreeSet<SharedString>::attach(*m_region, "shared");
        QVERIFY(reader);
        auto all = reader->toStd();
        QVERIFY(all);
        QCOMPARE(*all, (std::set<std::string> { "apple", "pear" }));
        QCOMPARE(reader->version(), writer->version());
        const std::uint64_t before = writer->version();
        auto again = writer->insert("pear");
        QVERIFY(again && !*again);
        auto absent = writer->remove("plum");
        QVERIFY(absent && !*absent);
        QCOMPARE(writer->version(), before); // no change, no version bump
    }

    void destroyFreesEveryBlock()
    {
        auto before = m_region->stats();
        QVERIFY(before);
        // The root table appears with the first root and stays.
        const std::uint64_t start = before->usedBlocks == 0 ? 1 : before->usedBlocks;
        auto map = SharedBTreeMap<SharedString, SharedString>::create(*m_region, "doomed");
        QVERIFY(map);
        std::mt19937_64 rng(11);
        for (int i = 0; i < 3000; ++i)
            QVERIFY(map->insert(KeySpace<SharedString>::key(rng, 100000), Sample<SharedString>::value(rng)));
        auto height = map->height();
        QVERIFY(height && *height >= 3);
        QVERIFY((SharedBTreeMap<SharedString, SharedString>::destroy(*m_region, "doomed")));
        QVERIFY(!m_region->findRoot("doomed"));
        auto stats = m_region->stats();
        QVERIFY(stats);
        QCOMPARE(stats->usedBlocks, start);
        QVERIFY(m_region->checkSanity());

        auto set = SharedBTreeSet<std::int64_t>::create(*m_region, "doomedSet");
        QVERIFY(set);
        for (std::int64_t i = 0; i < 30000; ++i)
            QVERIFY(set->insert(i * 3));
        QVERIFY(SharedBTreeSet<std::int64_t>::destroy(*m_region, "doomedSet"));
        stats = m_region->stats();
        QVERIFY(stats);
        QCOMPARE(stats->usedBlocks, start);
    }

    void clearOfALargeTreeCommitsInSteps()
    {
        auto map = SharedBTreeMap<std::int64_t, SharedString>::create(*m_region, "big");
        QVERIFY(map);
        for (std::int64_t i = 0; i < 20000; ++i)
            QVERIFY(map->insert(i, "value " + std::to_string(i)));
        const std::uint64_t before = map->version();
        auto usedBefore = m_region->stats();
        QVERIFY(usedBefore);
        QVERIFY(map->clear());
        // Each step is a committed change: more than one, far fewer than one per element.
        const std::uint64_t steps = map->version() - before;
        QVERIFY2(steps > 1 && steps < 2000, qPrintable(QString::number(steps)));
        auto n = map->size();
        QVERIFY(n && *n == 0);
        auto height = map->height();
        QVERIFY(height && *height == 0);
        auto stats = m_region->stats();
        QVERIFY(stats);
        QCOMPARE(stats->usedBlocks, 3u); // the root table, the map's header and its journal
        QVERIFY(map->insert(5, "again"));
        auto got = map->get(5);
        QVERIFY(got && got->value() == "again");
    }

    void walkerVisitsPagesInKeyOrderAndChecksTheShape()
    {
        auto map = SharedBTreeMap<std::int64_t, std::int64_t>::create(*m_region, "walked");
        QVERIFY(map);
        std::map<std::int64_t, std::int64_t> model;
        std::mt19937_64 rng(5);
        for (int i = 0; i < 5000; ++i) {
            const auto key = KeySpace<std::int64_t>::key(rng, 1 << 20);
            QVERIFY(map->insert(key, key * 2));
            model[key] = key * 2;
        }
        const std::vector<std::pair<std::int64_t, std::int64_t>> ordered(model.begin(), model.end());
        auto txn = detail::ContainerTxn::begin(map->ref());
        QVERIFY(txn);
        const detail::KindWalker& walker = detail::kBTreeWalker;
        auto length = walker.length(*txn);
        QVERIFY(length && *length == model.size());
        QVERIFY(!walker.check(*txn).has_value());
        for (int page = 0; page < 200; ++page) {
            const std::uint64_t first = rng() % (model.size() + 10);
            const std::uint64_t limit = rng() % 300;
            std::vector<WalkedElement> seen;
            auto visited = walker.visit(*txn, first, limit, [&](std::uint64_t keyAt, std::uint64_t valueAt) {
                seen.push_back({ keyAt, valueAt });
            });
            QVERIFY(visited);
            const std::uint64_t expected
                = first >= model.size() ? 0 : std::min<std::uint64_t>(limit, model.size() - first);
            QCOMPARE(seen.size(), expected);
            for (std::size_t i = 0; i < seen.size(); ++i) {
                QCOMPARE(*static_cast<std::int64_t*>(m_region->pointer(seen[i].keyAt, 8)), ordered[first + i].first);
                QCOMPARE(*static_cast<std::int64_t*>(m_region->pointer(seen[i].valueAt, 8)), ordered[first + i].second);
            }
        }

        // A damaged node count is found by both checks.
        const auto& body = txn->body<format::BTreeBody>();
        auto* root = static_cast<format::BTreeNodeHeader*>(m_region->pointer(body.root, 16));
        QVERIFY(root);
        root->total += 1;
        auto problem = walker.check(*txn);
        QVERIFY(problem.has_value());
        QVERIFY2(problem->find("subtree count") != std::string::npos, problem->c_str());
        root->total -= 1;
        const std::uint64_t child
            = *static_cast<std::uint64_t*>(m_region->pointer(body.root + map->geometry().childrenOffset, 8));
        auto* node = static_cast<format::BTreeNodeHeader*>(m_region->pointer(child, 16));
        node->leaf = 1 - node->leaf;
        problem = walker.check(*txn);
        QVERIFY(problem.has_value());
        node->leaf = 1 - node->leaf;
        QVERIFY(!walker.check(*txn).has_value());

        // A set has no values: the walker says so with 0.
        auto set = SharedBTreeSet<SharedString>::create(*m_region, "walkedSet");
        QVERIFY(set);
        QVERIFY(set->insert("x"));
        QVERIFY(set->insert("y"));
        auto setTxn = detail::ContainerTxn::begin(set->ref());
        QVERIFY(setTxn);
        std::vector<WalkedElement> seen;
        QVERIFY(walker.visit(*setTxn, 0, 10, [&](std::uint64_t k, std::uint64_t v) { seen.push_back({ k, v }); }));
        QCOMPARE(seen.size(), std::size_t(2));
        QCOMPARE(seen[1].valueAt, 0u);
        const auto* stored = static_cast<format::VecBody*>(m_region->pointer(seen[1].keyAt, sizeof(format::VecBody)));
        QVERIFY(stored && stored->length == 1);
        QCOMPARE(*static_cast<char*>(m_region->pointer(stored->data, 1)), 'y');
    }

    // Undo is what a killed writer's successor runs: an operation rolled back at its end must leave
    // the tree exactly as it was. A node changed without being saved first would show up here as
    // wrong contents or a broken shape; a block allocated without a record, as a leak.
    void rolledBackOperationsLeaveTheTreeAsItWas()
    {
        using Map = SharedBTreeMap<std::int64_t, SharedString>;
        using Ops = detail::BTreeOps<std::int64_t, SharedString>;
        auto map = Map::create(*m_region, "undo");
        QVERIFY(map);
        std::mt19937_64 rng(9);
        std::map<std::int64_t, std::string> model;
        std::uint64_t maxHeight = 0;
        for (int i = 0; i < 1200; ++i) {
            auto before = m_region->stats();
            QVERIFY(before);
            const std::uint64_t version = map->version();
            for (int kind = 0; kind < 4; ++kind) {
                auto txn = detail::ContainerTxn::begin(map->ref());
                QVERIFY(txn);
                const std::uint64_t bodyAt = txn->bodyOffset();
                RegionExpected<void> done;
                if (kind == 0) {
                    std::int64_t key = static_cast<std::int64_t>(rng() % 100000);
                    while (model.count(key))
                        ++key;
                    const std::string_view value = "fresh value that owns a block";
                    done = Ops::insertNew(*txn, bodyAt, key, &value);
                } else if (kind == 1 && !model.empty()) {
                    auto it = model.lower_bound(static_cast<std::int64_t>(rng() % 100000));
                    done = Ops::removeExisting(*txn, bodyAt, it == model.end() ? model.begin()->first : it->first);
                } else if (kind == 2 && !model.empty()) {
                    const std::string_view value = "replacement";
                    std::optional<std::string> previous;
                    auto put = Ops::put(*txn, bodyAt, model.rbegin()->first, &value, &previous);
                    QVERIFY(put && !*put && previous == model.rbegin()->second);
                } else if (kind == 3) {
                    Ops::Edit edit(*txn, bodyAt);
                    auto removed = Ops::removeLastLeaf(edit);
                    QVERIFY(removed);
                }
                QVERIFY(done);
                txn->rollback();
            }
            QCOMPARE(map->version(), version);
            auto contents = map->toStd();
            QVERIFY(contents);
            QVERIFY2(*contents == model, qPrintable(QStringLiteral("after %1 inserts").arg(i)));
            expectSane(*map, i);
            if (QTest::currentTestFailed())
                return;
            auto after = m_region->stats();
            QVERIFY(after);
            QCOMPARE(after->usedBlocks, before->usedBlocks);
            // Then one real insert, so that every size and shape along the way is tried.
            const auto key = static_cast<std::int64_t>(rng() % 100000);
            const std::string value(rng() % 20, 'v');
            QVERIFY(map->insert(key, value));
            model[key] = value;
            auto height = map->height();
            QVERIFY(height);
            maxHeight = std::max(maxHeight, *height);
        }
        QVERIFY(maxHeight >= 3);
    }

    void checkSanityFindsKeysOutOfOrder()
    {
        auto set = SharedBTreeSet<std::int64_t>::create(*m_region, "order");
        QVERIFY(set);
        for (std::int64_t i = 0; i < 10; ++i)
            QVERIFY(set->insert(i));
        auto sane = set->checkSanity();
        QVERIFY(sane && !sane->has_value());
        {
            auto txn = detail::ContainerTxn::begin(set->ref());
            QVERIFY(txn);
            const auto& body = txn->body<format::BTreeBody>();
            auto* slot = static_cast<std::int64_t*>(
                m_region->pointer(body.root + SharedBTreeSet<std::int64_t>::geometry().slotsOffset + 8, 8));
            QVERIFY(slot && *slot == 1);
            *slot = 7;
        }
        sane = set->checkSanity();
        QVERIFY(sane && sane->has_value());
        QVERIFY2(sane->value().find("not above") != std::string::npos, sane->value().c_str());
    }

private:
    template <class Tree> void expectSane(const Tree& tree, int step)
    {
        auto sane = tree.checkSanity();
        QVERIFY(sane);
        QVERIFY2(!sane->has_value(),
            qPrintable(QStringLiteral("step %1: %2").arg(step).arg(QString::fromStdString(sane->value_or("")))));
    }

    // Height within the B-tree bound for the current size.
    template <class Tree> void expectLogHeight(const Tree& tree, std::uint64_t n, std::uint64_t& maxHeight)
    {
        auto height = tree.height();
        QVERIFY(height);
        QVERIFY2(*height <= heightBound(n, Tree::geometry().minDegree()),
            qPrintable(QStringLiteral("height %1 for %2 elements").arg(*height).arg(n)));
        maxHeight = std::max(maxHeight, *height);
    }

    // Grows to about `peak` entries, mixes, then removes almost everything, comparing with std::map.
    template <class K, class V> void runMapModel(std::uint64_t space, std::uint64_t peak)
    {
        using Map = SharedBTreeMap<K, V>;
        using Key = typename Map::Key;
        using Value = typename Map::Value;
        auto created = Map::create(*m_region, "model");
        QVERIFY(created);
        Map& map = *created;
        std::map<Key, Value> model;
        std::mt19937_64 rng(42);
        std::uint64_t maxHeight = 0;
        enum class Phase { Grow, Mix, Shrink } phase = Phase::Grow;
        int mixSteps = 0;
        bool cleared = false; // once, a quarter of the way up, then the tree grows again
        for (int step = 0;; ++step) {
            if (phase == Phase::Grow && model.size() >= peak)
                phase = Phase::Mix;
            if (phase == Phase::Mix && ++mixSteps > 600)
                phase = Phase::Shrink;
            if (phase == Phase::Shrink && model.size() <= 10)
                break;
            const unsigned op = rng() % 100;
            const unsigned inserts = phase == Phase::Grow ? 70 : (phase == Phase::Mix ? 35 : 5);
            const unsigned removes = inserts + (phase == Phase::Grow ? 5 : (phase == Phase::Mix ? 35 : 70));
            if (!cleared && model.size() >= peak / 4) {
                cleared = true;
                QVERIFY(map.clear());
                model.clear();
            } else if (op < inserts) {
                const Key key = KeySpace<K>::key(rng, space);
                const Value value = Sample<V>::value(rng);
                auto previous = map.insert(key, value);
                QVERIFY(previous);
                const auto it = model.find(key);
                QCOMPARE(previous->has_value(), it != model.end());
                if (it != model.end())
                    QVERIFY(**previous == it->second);
                model[key] = value;
            } else if (op < removes) {
                // Mostly keys that are there (so the tree shrinks), sometimes ones that are not.
                Key key = KeySpace<K>::key(rng, space);
                if (!model.empty() && rng() % 4 != 0) {
                    auto it = model.lower_bound(key);
                    key = it == model.end() ? model.begin()->first : it->first;
                }
                auto removed = map.remove(key);
                QVERIFY(removed);
                const auto it = model.find(key);
                QCOMPARE(removed->has_value(), it != model.end());
                if (it != model.end()) {
                    QVERIFY(**removed == it->second);
                    model.erase(it);
                }
            } else if (op < removes + 10) {
                const Key key = KeySpace<K>::key(rng, space);
                auto got = map.get(key);
                QVERIFY(got);
                const auto it = model.find(key);
                QCOMPARE(got->has_value(), it != model.end());
                if (it != model.end())
                    QVERIFY(**got == it->second);
                auto has = map.contains(key);
                QVERIFY(has && *has == (it != model.end()));
            } else if (op < removes + 15) {
                const Key key = KeySpace<K>::key(rng, space);
                const Value value = Sample<V>::value(rng);
                auto changed = map.modify(key, [&](Value& v) { v = value; });
                QVERIFY(changed);
                const auto it = model.find(key);
                QCOMPARE(*changed, it != model.end());
                if (it != model.end())
                    it->second = value;
            } else if (op < removes + 20) {
                auto first = map.first();
                auto last = map.last();
                QVERIFY(first && last);
                QCOMPARE(first->has_value(), !model.empty());
                QCOMPARE(last->has_value(), !model.empty());
                if (!model.empty()) {
                    QVERIFY((*first)->first == model.begin()->first && (*first)->second == model.begin()->second);
                    QVERIFY((*last)->first == model.rbegin()->first && (*last)->second == model.rbegin()->second);
                }
            } else if (op < removes + 28) {
                const Key lo = KeySpace<K>::key(rng, space);
                const Key hi = KeySpace<K>::key(rng, space);
                auto got = map.range(lo, hi);
                QVERIFY(got);
                std::vector<std::pair<Key, Value>> expected;
                if (lo < hi)
                    expected.assign(model.lower_bound(lo), model.lower_bound(hi));
                QVERIFY2(*got == expected, qPrintable(QStringLiteral("step %1: range").arg(step)));
            }
            // Compare everything, in order.
            auto n = map.size();
            QVERIFY(n && *n == model.size());
            auto it = model.begin();
            bool same = true;
            QVERIFY(map.forEach([&](const Key& k, const Value& v) {
                if (it == model.end() || !(it->first == k) || !(it->second == v))
                    same = false;
                else
                    ++it;
            }));
            QVERIFY2(same && it == model.end(), qPrintable(QStringLiteral("step %1").arg(step)));
            if (step % 4 == 0 || model.size() < 64)
                expectSane(map, step);
            expectLogHeight(map, model.size(), maxHeight);
            if (QTest::currentTestFailed())
                return;
        }
        QVERIFY2(maxHeight >= 3, qPrintable(QStringLiteral("max height %1").arg(maxHeight)));
        expectSane(map, -1);
        if (QTest::currentTestFailed())
            return;
        auto height = map.height();
        QVERIFY(height && *height <= 2); // merged back down
        QVERIFY(map.clear());
        auto n = map.size();
        QVERIFY(n && *n == 0);
        QVERIFY(m_region->checkSanity());
        QVERIFY(Map::destroy(*m_region, "model"));
        auto stats = m_region->stats();
        QVERIFY(stats);
        QCOMPARE(stats->usedBlocks, 1u); // the root table
    }

    template <class T> void runSetModel(std::uint64_t space, std::uint64_t peak)
    {
        using Set = SharedBTreeSet<T>;
        using Value = typename Set::Value;
        auto created = Set::create(*m_region, "model");
        QVERIFY(created);
        Set& set = *created;
        std::set<Value> model;
        std::mt19937_64 rng(7);
        std::uint64_t maxHeight = 0;
        enum class Phase { Grow, Mix, Shrink } phase = Phase::Grow;
        int mixSteps = 0;
        bool cleared = false; // once, a quarter of the way up, then the tree grows again
        for (int step = 0;; ++step) {
            if (phase == Phase::Grow && model.size() >= peak)
                phase = Phase::Mix;
            if (phase == Phase::Mix && ++mixSteps > 600)
                phase = Phase::Shrink;
            if (phase == Phase::Shrink && model.empty())
                break;
            const unsigned op = rng() % 100;
            const unsigned inserts = phase == Phase::Grow ? 70 : (phase == Phase::Mix ? 35 : 5);
            const unsigned removes = inserts + (phase == Phase::Grow ? 5 : (phase == Phase::Mix ? 35 : 70));
            if (!cleared && model.size() >= peak / 4) {
                cleared = true;
                QVERIFY(set.clear());
                model.clear();
            } else if (op < inserts) {
                const Value v = KeySpace<T>::key(rng, space);
                auto inserted = set.insert(v);
                QVERIFY(inserted);
                QCOMPARE(*inserted, model.insert(v).second);
            } else if (op < removes) {
                Value v = KeySpace<T>::key(rng, space);
                if (!model.empty() && rng() % 4 != 0) {
                    auto it = model.lower_bound(v);
                    v = it == model.end() ? *model.rbegin() : *it;
                }
                auto removed = set.remove(v);
                QVERIFY(removed);
                QCOMPARE(*removed, model.erase(v) == 1);
            } else if (op < removes + 12) {
                const Value v = KeySpace<T>::key(rng, space);
                auto has = set.contains(v);
                QVERIFY(has);
                QCOMPARE(*has, model.count(v) == 1);
            } else if (op < removes + 17) {
                auto first = set.first();
                auto last = set.last();
                QVERIFY(first && last);
                QCOMPARE(first->has_value(), !model.empty());
                if (!model.empty()) {
                    QVERIFY(**first == *model.begin());
                    QVERIFY(**last == *model.rbegin());
                }
            } else if (op < removes + 25) {
                const Value lo = KeySpace<T>::key(rng, space);
                const Value hi = KeySpace<T>::key(rng, space);
                auto got = set.range(lo, hi);
                QVERIFY(got);
                std::vector<Value> expected;
                if (lo < hi)
                    expected.assign(model.lower_bound(lo), model.lower_bound(hi));
                QVERIFY2(*got == expected, qPrintable(QStringLiteral("step %1: range").arg(step)));
            }
            auto n = set.size();
            QVERIFY(n && *n == model.size());
            auto empty = set.empty();
            QVERIFY(empty && *empty == model.empty());
            auto it = model.begin();
            bool same = true;
            QVERIFY(set.forEach([&](const Value& v) {
                if (it == model.end() || !(*it == v))
                    same = false;
                else
                    ++it;
            }));
            QVERIFY2(same && it == model.end(), qPrintable(QStringLiteral("step %1").arg(step)));
            if (step % 4 == 0 || model.size() < 64)
                expectSane(set, step);
            expectLogHeight(set, model.size(), maxHeight);
            if (QTest::currentTestFailed())
                return;
        }
        QVERIFY2(maxHeight >= 3, qPrintable(QStringLiteral("max height %1").arg(maxHeight)));
        auto height = set.height();
        QVERIFY(height && *height == 0);
        auto all = set.toStd();
        QVERIFY(all && all->empty());
        QVERIFY(m_region->checkSanity());
        QVERIFY(Set::destroy(*m_region, "model"));
        auto stats = m_region->stats();
        QVERIFY(stats);
        QCOMPARE(stats->usedBlocks, 1u);
    }
};

QTEST_GUILESS_MAIN(TestSharedBTree)
#include "tst_shared_btree.moc"
