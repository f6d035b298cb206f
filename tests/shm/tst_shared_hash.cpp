// SharedHashMap / SharedHashSet against std::unordered_map / std::unordered_set: the same random
// operations applied to both, contents compared after every step, for plain and nested key and
// value types; growth; full regions; attach checks; versions; destroy; the type-erased walker;
// lock-free reads racing a writer thread.
//
// The structure checks use the hash walker from engine/shm/src directly (the walker is this
// unit's type-erased reader; tools reach it through walkerFor()).

#include "container_test_support.h"

#include "container_walk_hash.h"

#include <commy/shm/shared_hash_map.h>
#include <commy/shm/shared_hash_set.h>
#include <commy/shm/shared_string.h>
#include <commy/shm/shared_vec.h>

#include <QtTest>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

using namespace commy::shm;
using namespace commy::shmtest;

namespace {

// KeySpace<T>::key(i): the i-th key of a key space (distinct for distinct i). Values come from
// Sample<T>::value(rng).
template <class T> struct KeySpace;
template <> struct KeySpace<std::uint64_t> {
    static std::uint64_t key(std::uint64_t i) { return i * 0x9e3779b97f4a7c15ull; }
};
template <> struct KeySpace<std::int64_t> {
    static std::int64_t key(std::uint64_t i)
    {
        const auto n = static_cast<std::int64_t>(i) * 7919;
        return i % 2 ? -n : n;
    }
};
template <> struct KeySpace<std::int32_t> {
    static std::int32_t key(std::uint64_t i) { return static_cast<std::int32_t>(i) * 31 - 5000; }
};
template <> struct KeySpace<SharedString> {
    // Lengths 0 (the empty key) to 20, so some keys need no block and many share a length.
    static std::string key(std::uint64_t i)
    {
        return i == 0 ? std::string() : std::string(i % 12, 'k') + std::to_string(i);
    }
};

template <class Container> std::optional<std::string> structureProblem(const Container& container)
{
    auto txn = detail::ContainerTxn::begin(container.ref());
    if (!txn)
        return std::string("lock: ") + errorMessage(txn.error());
    return detail::kHashWalker.check(*txn);
}

template <class Container> format::HashBody bodyOf(const Container& container)
{
    auto txn = detail::ContainerTxn::begin(container.ref());
    return txn ? txn->template body<format::HashBody>() : format::HashBody {};
}

// Counts what a model run went through, to show that it exercised growth and tombstones.
struct Coverage {
    std::uint64_t rebuilds = 0; // the table moved to a new block
    std::uint64_t maxTombstones = 0;
    std::uint64_t maxCapacity = 0;
    std::uint64_t lastTable = 0;

    void observe(const format::HashBody& b)
    {
        if (b.table != lastTable && b.table != 0)
            ++rebuilds;
        lastTable = b.table;
        maxTombstones = std::max(maxTombstones, b.tombstones);
        maxCapacity = std::max(maxCapacity, b.capacity);
    }
};

} // namespace

class TestSharedHash : public ContainerTest {
    Q_OBJECT

private slots:
    void init() { openTestRegion(QStringLiteral("h"), 8 << 20); }
    void cleanup() { m_region.reset(); }

    void matchesStdMapU64ToU64() { runMapModel<std::uint64_t, std::uint64_t>(5000, 300); }
    void matchesStdMapI64ToString() { runMapModel<std::int64_t, SharedString>(3000, 250); }
    void matchesStdMapStringToI64() { runMapModel<SharedString, std::int64_t>(3000, 250); }
    void matchesStdMapI32ToVec() { runMapModel<std::int32_t, SharedVec<std::int32_t>>(3000, 250); }
    void matchesStdSetI64() { runSetModel<std::int64_t>(5000, 300); }
    void matchesStdSetString() { runSetModel<SharedString>(3000, 250); }

    void growthIsOneAndAHalf()
    {
        auto map = SharedHashMap<std::uint64_t, std::uint64_t>::create(*m_region, "growth");
        QVERIFY(map);
        auto cap = map->capacity();
        QVERIFY(cap && *cap == 0);
        std::vector<std::uint64_t> capacities;
        for (std::uint64_t i = 0; i < 200; ++i) {
            QVERIFY(map->insert(i, i));
            cap = map->capacity();
            QVERIFY(cap);
            if (capacities.empty() || capacities.back() != *cap) {
                capacities.push_back(*cap);
                // It grew on the insert that would have passed 7/8 full.
                QVERIFY2(i + 1 <= *cap * 7 / 8, qPrintable(QStringLiteral("i=%1 cap=%2").arg(i).arg(*cap)));
                if (capacities.size() > 1)
                    QVERIFY(i > capacities[capacities.size() - 2] * 7 / 8 - 1);
            }
        }
        const std::vector<std::uint64_t> expected { 8, 12, 18, 27, 40, 60, 90, 135, 202, 303 };
        QCOMPARE(capacities, std::vector<std::uint64_t>(expected.begin(), expected.begin() + capacities.size()));
        QVERIFY(capacities.size() >= 9);

        auto set = SharedHashSet<std::int64_t>::create(*m_region, "setGrowth");
        QVERIFY(set);
        std::vector<std::uint64_t> setCapacities;
        for (std::int64_t i = 0; i < 100; ++i) {
            QVERIFY(set->insert(i));
            auto c = set->capacity();
            QVERIFY(c);
            if (setCapacities.empty() || setCapacities.back() != *c)
                setCapacities.push_back(*c);
        }
        QCOMPARE(setCapacities, (std::vector<std::uint64_t> { 8, 12, 18, 27, 40, 60, 90, 135 }));
    }

    void tombstonesAreReusedAndRebuiltAway()
    {
        // Churn through many distinct keys while the live count stays at 40: removals leave
        // tombstones, and once they fill the table it is rebuilt at the same size instead of
        // growing without bound.
        auto map = SharedHashMap<std::uint64_t, std::uint64_t>::create(*m_region, "churn");
        QVERIFY(map);
        Coverage coverage;
        std::uint64_t capacityAt500 = 0;
        for (std::uint64_t i = 0; i < 4000; ++i) {
            QVERIFY(map->insert(KeySpace<std::uint64_t>::key(i), i));
            if (i >= 40) {
                auto removed = map->remove(KeySpace<std::uint64_t>::key(i - 40));
                QVERIFY(removed && *removed == std::optional<std::uint64_t>(i - 40));
            }
            coverage.observe(bodyOf(*map));
            if (i == 500)
                capacityAt500 = coverage.maxCapacity;
        }
        QCOMPARE(*map->size(), 40u);
        // It grows until 41 live entries take at most 7/12 of it (90 slots), then only rebuilds.
        QCOMPARE(coverage.maxCapacity, 90u);
        QCOMPARE(capacityAt500, 90u);
        QCOMPARE(*map->capacity(), 90u);
        QVERIFY(coverage.maxTombstones >= 10);
        QVERIFY(coverage.rebuilds >= 20);
        QCOMPARE(structureProblem(*map), std::optional<std::string>());
        for (std::uint64_t i = 4000 - 40; i < 4000; ++i)
            QCOMPARE(*map->get(KeySpace<std::uint64_t>::key(i)), std::optional<std::uint64_t>(i));
    }

    void secondHandleSeesTheSameData()
    {
        auto writer = SharedHashMap<std::int64_t, SharedString>::create(*m_region, "shared");
        QVERIFY(writer);
        QVERIFY(writer->insert(7, "seven"));
        QVERIFY(writer->insert(-8, "minus eight"));
        auto reader = SharedHashMap<std::int64_t, SharedString>::attach(*m_region, "shared");
        QVERIFY(reader);
        QCOMPARE(*reader->get(7), std::optional<std::string>("seven"));
        QCOMPARE(*reader->get(9), std::optional<std::string>());
        QCOMPARE(reader->version(), writer->version());
        auto plainWriter = SharedHashMap<std::uint64_t, std::uint64_t>::create(*m_region, "plain");
        QVERIFY(plainWriter);
        auto plainReader = SharedHashMap<std::uint64_t, std::uint64_t>::attach(*m_region, "plain");
        QVERIFY(plainReader);
        for (std::uint64_t i = 0; i < 100; ++i) {
            QVERIFY(plainWriter->insert(i, i * 2));
            // The lock-free path of the other handle sees every committed insert at once.
            QCOMPARE(*plainReader->get(i), std::optional<std::uint64_t>(i * 2));
            QCOMPARE(*plainReader->contains(i + 1), false);
        }
    }

    void attachWithAnotherTypeIsTypeMismatch()
    {
        QVERIFY((SharedHashMap<std::int64_t, SharedString>::create(*m_region, "typed")));
        auto wrongValue = SharedHashMap<std::int64_t, std::int64_t>::attach(*m_region, "typed");
        QVERIFY(!wrongValue);
        COMPARE_ERROR(wrongValue.error(), RegionError::TypeMismatch);
        auto wrongKey = SharedHashMap<std::int32_t, SharedString>::attach(*m_region, "typed");
        QVERIFY(!wrongKey);
        COMPARE_ERROR(wrongKey.error(), RegionError::TypeMismatch);
        auto swapped = SharedHashMap<SharedString, std::int64_t>::attach(*m_region, "typed");
        QVERIFY(!swapped);
        COMPARE_ERROR(swapped.error(), RegionError::TypeMismatch);
        auto set = SharedHashSet<std::int64_t>::attach(*m_region, "typed");
        QVERIFY(!set);
        COMPARE_ERROR(set.error(), RegionError::TypeMismatch);
        auto vec = SharedVec<std::int64_t>::attach(*m_region, "typed");
        QVERIFY(!vec);
        COMPARE_ERROR(vec.error(), RegionError::TypeMismatch);
        auto root = m_region->findRoot("typed");
        QVERIFY(root);
        QCOMPARE(QByteArray::fromStdString(root->type), QByteArray("hashmap<i64,string>"));
        QVERIFY(root->kind == RootKind::HashMap);

        QVERIFY(SharedHashSet<SharedString>::create(*m_region, "typedSet"));
        auto wrongElement = SharedHashSet<std::int64_t>::attach(*m_region, "typedSet");
        QVERIFY(!wrongElement);
        COMPARE_ERROR(wrongElement.error(), RegionError::TypeMismatch);
        auto asMap = SharedHashMap<SharedString, std::int64_t>::attach(*m_region, "typedSet");
        QVERIFY(!asMap);
        COMPARE_ERROR(asMap.error(), RegionError::TypeMismatch);
        auto setRoot = m_region->findRoot("typedSet");
        QVERIFY(setRoot);
        QCOMPARE(QByteArray::fromStdString(setRoot->type), QByteArray("hashset<string>"));
        QVERIFY(setRoot->kind == RootKind::HashSet);
        QVERIFY((SharedHashMap<SharedString, SharedVec<std::int32_t>>::create(*m_region, "nested")));
        auto nestedRoot = m_region->findRoot("nested");
        QVERIFY(nestedRoot);
        QCOMPARE(QByteArray::fromStdString(nestedRoot->type), QByteArray("hashmap<string,vec<i32>>"));
    }

    void versionCountsCommittedChangesOnly()
    {
        auto map = SharedHashMap<std::uint64_t, std::uint64_t>::create(*m_region, "versions");
        QVERIFY(map);
        const std::uint64_t start = map->version();
        QVERIFY(map->insert(1, 10));
        QVERIFY(map->insert(2, 20));
        QVERIFY(map->insert(2, 21)); // overwrite
        QCOMPARE(map->version(), start + 3);
        QVERIFY(map->get(1));
        QVERIFY(map->contains(3));
        QVERIFY(map->toStd());
        QVERIFY(map->size());
        QVERIFY(map->keys());
        auto absent = map->remove(99);
        QVERIFY(absent && !absent->has_value());
        auto unmodified = map->modify(99, [](std::uint64_t& v) { v = 0; });
        QVERIFY(unmodified && !*unmodified);
        QVERIFY(map->reserve(1)); // room already
        QCOMPARE(map->version(), start + 3);
        QVERIFY(map->remove(1));
        auto modified = map->modify(2, [](std::uint64_t& v) { v += 1; });
        QVERIFY(modified && *modified);
        QCOMPARE(*map->get(2), std::optional<std::uint64_t>(22));
        QCOMPARE(map->version(), start + 5);
        QVERIFY(map->clear());
        QCOMPARE(map->version(), start + 6);
        QVERIFY(map->clear()); // already empty
        QVERIFY(map->shrinkToFit());
        QCOMPARE(map->version(), start + 6);

        auto set = SharedHashSet<std::int64_t>::create(*m_region, "setVersions");
        QVERIFY(set);
        const std::uint64_t setStart = set->version();
        QCOMPARE(*set->insert(5), true);
        QCOMPARE(*set->insert(5), false); // already there: nothing changes
        QCOMPARE(*set->remove(6), false);
        QCOMPARE(set->version(), setStart + 1);
    }

    void changesAreRecordedInTheChangeJournal()
    {
        auto set = SharedHashSet<SharedString>::create(*m_region, "journaled");
        QVERIFY(set);
        const std::uint64_t before = m_region->changeSequence();
        QVERIFY(set->insert("x"));
        auto batch = m_region->changesSince(before);
        QVERIFY(batch);
        QCOMPARE(batch->changes.size(), std::size_t(1));
        QCOMPARE(batch->changes[0].rootOffset, set->ref().offset());
        QCOMPARE(batch->changes[0].version, set->version());
    }

    void fullRegionFailsAndLeavesTheMapUnchanged()
    {
        const QString path = m_dir.filePath(QStringLiteral("full.region"));
        auto created = createRegion(path, 1 << 20);
        QVERIFY(created);
        Region& region = **created;
        QVERIFY(region.attach("full"));

        // Nested values: the value's block does not fit.
        auto strings = SharedHashMap<std::int64_t, SharedString>::create(region, "strings");
        QVERIFY(strings);
        std::unordered_map<std::int64_t, std::string> model;
        const std::string big(48 * 1024, 'x');
        RegionExpected<std::optional<std::string>> inserted = std::optional<std::string>();
        for (std::int64_t i = 0; i < 100; ++i) {
            inserted = strings->insert(i, big + std::to_string(i));
            if (!inserted)
                break;
            model[i] = big + std::to_string(i);
        }
        QVERIFY(!inserted);
        COMPARE_ERROR(inserted.error(), RegionError::OutOfMemory);
        QCOMPARE(*strings->toStd(), model);
        QCOMPARE(structureProblem(*strings), std::optional<std::string>());
        // Overwriting with a value that does not fit fails too and keeps the old value.
        auto overwrite = strings->insert(0, big + big);
        QVERIFY(!overwrite);
        COMPARE_ERROR(overwrite.error(), RegionError::OutOfMemory);
        QCOMPARE(*strings->toStd(), model);
        QVERIFY(region.checkSanity());
        QVERIFY((SharedHashMap<std::int64_t, SharedString>::destroy(region, "strings")));

        // Plain entries: the failure comes when the table has to grow.
        auto plain = SharedHashMap<std::uint64_t, std::uint64_t>::create(region, "plain");
        QVERIFY(plain);
        std::unordered_map<std::uint64_t, std::uint64_t> plainModel;
        RegionExpected<std::optional<std::uint64_t>> added = std::optional<std::uint64_t>();
        std::uint64_t capacityBefore = 0;
        for (std::uint64_t i = 0; i < 1000000; ++i) {
            capacityBefore = *plain->capacity();
            added = plain->insert(KeySpace<std::uint64_t>::key(i), i);
            if (!added)
                break;
            plainModel[KeySpace<std::uint64_t>::key(i)] = i;
        }
        QVERIFY(!added);
        COMPARE_ERROR(added.error(), RegionError::OutOfMemory);
        QCOMPARE(*plain->capacity(), capacityBefore);
        QCOMPARE(*plain->toStd(), plainModel);
        QCOMPARE(structureProblem(*plain), std::optional<std::string>());
        // What needs no memory still works: overwrite and remove.
        const std::uint64_t first = KeySpace<std::uint64_t>::key(0);
        QCOMPARE(*plain->insert(first, 77), std::optional<std::uint64_t>(0));
        QCOMPARE(*plain->remove(first), std::optional<std::uint64_t>(77));
        plainModel.erase(first);
        QCOMPARE(*plain->toStd(), plainModel);
        QVERIFY(region.checkSanity());
    }

    void autoGrowRegionMakesRoom()
    {
        const QString path = m_dir.filePath(QStringLiteral("grow.region"));
        auto created = createRegion(path, 1 << 20, true, 64 << 20);
        QVERIFY(created);
        Region& region = **created;
        QVERIFY(region.attach("grower"));
        std::vector<std::pair<std::uint64_t, std::uint64_t>> pairs;
        for (std::uint64_t i = 0; i < 100000; ++i)
            pairs.emplace_back(KeySpace<std::uint64_t>::key(i), i);
        auto map = SharedHashMap<std::uint64_t, std::uint64_t>::fromIterIn(region, "big", pairs.begin(), pairs.end());
        QVERIFY(map);
        QVERIFY(region.size() > (1u << 20));
        QCOMPARE(*map->size(), 100000u);
        // extend() reserved the whole range first: no rebuild on the way.
        QCOMPARE(*map->capacity(), detail::hashCapacityFor(100000));
        const std::unordered_map<std::uint64_t, std::uint64_t> expected(pairs.begin(), pairs.end());
        QCOMPARE(*map->toStd(), expected);
    }

    void fromIterInAndStdConversions()
    {
        const std::vector<std::pair<std::string, std::int64_t>> pairs { { "a", 1 }, { "b", 2 }, { "", 3 }, { "a", 4 } };
        auto map
            = SharedHashMap<SharedString, std::int64_t>::fromIterIn(*m_region, "fromIter", pairs.begin(), pairs.end());
        QVERIFY(map);
        const std::unordered_map<std::string, std::int64_t> expected { { "a", 4 }, { "b", 2 }, { "", 3 } };
        QCOMPARE(*map->toStd(), expected);
        auto keys = map->keys();
        auto values = map->values();
        QVERIFY(keys && values);
        QCOMPARE(keys->size(), std::size_t(3));
        std::unordered_map<std::string, std::int64_t> zipped;
        for (std::size_t i = 0; i < keys->size(); ++i)
            zipped[(*keys)[i]] = (*values)[i];
        QCOMPARE(zipped, expected); // keys() and values() walk the same order
        std::unordered_map<std::string, std::int64_t> visited;
        QVERIFY(map->forEach([&](const std::string& k, std::int64_t v) { visited[k] = v; }));
        QCOMPARE(visited, expected);
        QCOMPARE(*map->empty(), false);

        const std::vector<std::string> words { "x", "y", "x", "zz" };
        auto set = SharedHashSet<SharedString>::fromIterIn(*m_region, "words", words.begin(), words.end());
        QVERIFY(set);
        QCOMPARE(*set->toStd(), (std::unordered_set<std::string> { "x", "y", "zz" }));
        std::unordered_set<std::string> seen;
        QVERIFY(set->forEach([&](const std::string& w) { seen.insert(w); }));
        QCOMPARE(seen.size(), std::size_t(3));
        QCOMPARE(*set->contains(std::string_view("zz")), true);
        QCOMPARE(*set->contains(std::string_view("z")), false);
    }

    void destroyFreesEverything()
    {
        auto stats = m_region->stats();
        QVERIFY(stats);
        QVERIFY(SharedVec<std::int64_t>::create(*m_region, "keeper")); // creates the root table
        stats = m_region->stats();
        const std::uint64_t usedBefore = stats->usedBlocks;
        auto map = SharedHashMap<SharedString, SharedVec<std::int32_t>>::create(*m_region, "doomed");
        QVERIFY(map);
        std::mt19937_64 rng(7);
        for (std::uint64_t i = 0; i < 300; ++i)
            QVERIFY(map->insert(KeySpace<SharedString>::key(i), Sample<SharedVec<std::int32_t>>::value(rng)));
        for (std::uint64_t i = 0; i < 300; i += 3)
            QVERIFY(map->remove(KeySpace<SharedString>::key(i)));
        auto set = SharedHashSet<SharedString>::create(*m_region, "doomedSet");
        QVERIFY(set);
        for (std::uint64_t i = 0; i < 300; ++i)
            QVERIFY(set->insert(KeySpace<SharedString>::key(i)));
        QVERIFY((SharedHashMap<SharedString, SharedVec<std::int32_t>>::destroy(*m_region, "doomed")));
        QVERIFY(SharedHashSet<SharedString>::destroy(*m_region, "doomedSet"));
        QVERIFY(!m_region->findRoot("doomed"));
        stats = m_region->stats();
        QVERIFY(stats);
        QCOMPARE(stats->usedBlocks, usedBefore);
        QVERIFY(m_region->checkSanity());
    }

    void clearOfNestedEntriesCommitsInSteps()
    {
        // More entries than one journal could drop at once: clear() commits in steps.
        auto map = SharedHashMap<SharedString, SharedString>::create(*m_region, "wide");
        QVERIFY(map);
        auto stats = m_region->stats();
        const std::uint64_t usedBefore = stats->usedBlocks;
        for (std::uint64_t i = 0; i < 2000; ++i)
            QVERIFY(map->insert(KeySpace<SharedString>::key(i + 1), "value " + std::to_string(i)));
        const std::uint64_t before = map->version();
        QVERIFY(map->clear());
        QVERIFY(map->version() > before + 1);
        QCOMPARE(*map->size(), 0u);
        QCOMPARE(*map->capacity(), 0u);
        QCOMPARE(structureProblem(*map), std::optional<std::string>());
        stats = m_region->stats();
        QCOMPARE(stats->usedBlocks, usedBefore);
    }

    void batchGuardHoldsTheLockAcrossOperations()
    {
        auto map = SharedHashMap<std::uint64_t, std::uint64_t>::create(*m_region, "batch");
        QVERIFY(map);
        {
            auto batch = BatchGuard::lock(*map);
            QVERIFY(batch);
            for (std::uint64_t i = 0; i < 100; ++i)
                QVERIFY(map->insert(i, i + 1));
            for (std::uint64_t i = 0; i < 100; ++i)
                QCOMPARE(*map->get(i), std::optional<std::uint64_t>(i + 1));
            QCOMPARE(*map->contains(100), false);
            QCOMPARE(*map->size(), 100u);
        }
        QCOMPARE(*map->size(), 100u);
    }

    void lookupFallsBackToTheLockWhileAWriterLooksBusy()
    {
        auto map = SharedHashMap<std::uint64_t, std::uint64_t>::create(*m_region, "busy");
        QVERIFY(map);
        QVERIFY(map->insert(5, 50));
        // An odd sequence is what a writer killed inside an operation leaves: the lock-free reads
        // give up, and the locked path repairs the container and answers.
        format::ContainerHeader* h = map->ref().header();
        QVERIFY(h);
        h->sequence |= 1;
        QCOMPARE(*map->get(5), std::optional<std::uint64_t>(50));
        h = map->ref().header();
        QCOMPARE(h->sequence & 1, 0u);
        QCOMPARE(h->recoveries, 1u);
        QCOMPARE(*map->get(5), std::optional<std::uint64_t>(50));
    }

    void lockFreeReadsFollowGrowthAndRefuseDestroyedMaps()
    {
        // The lock-free path keeps the header's and the table's addresses between calls; they must
        // follow the region when it grows (remap) and never be used once the file was cut below them.
        const QString path = m_dir.filePath(QStringLiteral("cached.region"));
        auto created = createRegion(path, 1 << 20, true, 64 << 20);
        QVERIFY(created);
        Region& region = **created;
        QVERIFY(region.attach("cached"));
        QVERIFY(SharedVec<std::int64_t>::create(region, "first")); // the root table, before the map
        auto spacer = region.allocate(16 * 1024); // freed before the shrink: puts pages between
        QVERIFY(spacer);
        auto writer = SharedHashMap<std::uint64_t, std::uint64_t>::create(region, "cached");
        QVERIFY(writer);
        auto reader = SharedHashMap<std::uint64_t, std::uint64_t>::attach(region, "cached");
        QVERIFY(reader);
        QVERIFY(writer->insert(1, 10));
        QCOMPARE(*reader->get(1), std::optional<std::uint64_t>(10)); // addresses cached
        const std::uint64_t sizeBefore = region.size();
        for (std::uint64_t i = 2; i < 60000; ++i)
            QVERIFY(writer->insert(i, i * 10));
        QVERIFY(region.size() > sizeBefore); // grown, remapped
        for (std::uint64_t i = 1; i < 60000; i += 997)
            QCOMPARE(*reader->get(i), std::optional<std::uint64_t>(i * 10));

        QVERIFY((SharedHashMap<std::uint64_t, std::uint64_t>::destroy(region, "cached")));
        auto afterDestroy = reader->get(1);
        QVERIFY(!afterDestroy);
        QVERIFY(region.deallocate(*spacer));
        auto shrunk = region.shrinkToUsage();
        QVERIFY(shrunk);
        QCOMPARE(region.size(), *shrunk);
        QVERIFY2(*shrunk <= reader->ref().offset(),
            qPrintable(QStringLiteral("shrunk to %1, header at %2, min %3")
                           .arg(*shrunk)
                           .arg(reader->ref().offset())
                           .arg(Region::minRegionSize())));
        // The header lies past the end of the file now: an error, not a fault.
        auto afterShrink = reader->get(1);
        QVERIFY(!afterShrink);
        COMPARE_ERROR(afterShrink.error(), RegionError::Corrupt);
        auto contains = reader->contains(2);
        QVERIFY(!contains);
    }

    void walkerVisitsFullSlotsInSlotOrder()
    {
        auto map = SharedHashMap<std::uint64_t, std::uint64_t>::create(*m_region, "walked");
        QVERIFY(map);
        for (std::uint64_t i = 0; i < 50; ++i)
            QVERIFY(map->insert(i, i * 10));
        for (std::uint64_t i = 0; i < 50; i += 5)
            QVERIFY(map->remove(i));
        auto txn = detail::ContainerTxn::begin(map->ref());
        QVERIFY(txn);
        auto length = detail::kHashWalker.length(*txn);
        QVERIFY(length && *length == 40);
        std::vector<std::pair<std::uint64_t, std::uint64_t>> all;
        QVERIFY(detail::kHashWalker.visit(*txn, 0, 1000, [&](std::uint64_t keyAt, std::uint64_t valueAt) {
            all.emplace_back(*txn->at<std::uint64_t>(keyAt), *txn->at<std::uint64_t>(valueAt));
        }));
        QCOMPARE(all.size(), std::size_t(40));
        std::vector<std::uint64_t> keyOffsets;
        QVERIFY(detail::kHashWalker.visit(
            *txn, 0, 1000, [&](std::uint64_t keyAt, std::uint64_t) { keyOffsets.push_back(keyAt); }));
        QVERIFY(std::is_sorted(keyOffsets.begin(), keyOffsets.end()));
        for (const auto& [key, value] : all) {
            QCOMPARE(value, key * 10);
            QVERIFY(key % 5 != 0);
        }
        std::vector<std::pair<std::uint64_t, std::uint64_t>> window;
        QVERIFY(detail::kHashWalker.visit(*txn, 10, 5, [&](std::uint64_t keyAt, std::uint64_t valueAt) {
            window.emplace_back(*txn->at<std::uint64_t>(keyAt), *txn->at<std::uint64_t>(valueAt));
        }));
        const std::vector<std::pair<std::uint64_t, std::uint64_t>> expectedWindow(all.begin() + 10, all.begin() + 15);
        QCOMPARE(window, expectedWindow);
        std::size_t past = 0;
        QVERIFY(detail::kHashWalker.visit(*txn, 38, 10, [&](std::uint64_t, std::uint64_t) { ++past; }));
        QCOMPARE(past, std::size_t(2));
        QCOMPARE(detail::kHashWalker.check(*txn), std::optional<std::string>());

        auto set = SharedHashSet<std::int64_t>::create(*m_region, "walkedSet");
        QVERIFY(set);
        QVERIFY(set->insert(3));
        auto setTxn = detail::ContainerTxn::begin(set->ref());
        QVERIFY(setTxn);
        std::uint64_t valueAtSeen = 1;
        QVERIFY(detail::kHashWalker.visit(*setTxn, 0, 10, [&](std::uint64_t keyAt, std::uint64_t valueAt) {
            QCOMPARE(*setTxn->at<std::int64_t>(keyAt), std::int64_t(3));
            valueAtSeen = valueAt;
        }));
        QCOMPARE(valueAtSeen, 0u);
        QCOMPARE(detail::kHashWalker.check(*setTxn), std::optional<std::string>());
    }

    void damagedTablesAreReportedNotFollowed()
    {
        auto map = SharedHashMap<std::uint64_t, std::uint64_t>::create(*m_region, "damaged");
        QVERIFY(map);
        for (std::uint64_t i = 0; i < 20; ++i)
            QVERIFY(map->insert(i, i));
        const format::HashBody good = bodyOf(*map);
        const auto bodyAt = map->ref().offset() + offsetof(format::ContainerHeader, body);
        const auto damage = [&](auto change) {
            auto* b = static_cast<format::HashBody*>(m_region->pointer(bodyAt, sizeof(format::HashBody)));
            *b = good;
            change(*b);
        };

        // A control byte cleared behind the table's back: counts no longer match.
        auto* control = static_cast<unsigned char*>(m_region->pointer(good.table, good.capacity));
        std::uint64_t fullSlot = 0;
        while (!(control[fullSlot] & 0x80))
            ++fullSlot;
        control[fullSlot] = 0;
        auto problem = structureProblem(*map);
        QVERIFY(problem);
        QVERIFY2(problem->find("full slots") != std::string::npos, problem->c_str());
        control[fullSlot] = 0x42; // neither empty, deleted nor full
        problem = structureProblem(*map);
        QVERIFY(problem && problem->find("control byte") != std::string::npos);
        control = static_cast<unsigned char*>(m_region->pointer(good.table, good.capacity));
        control[fullSlot] = 0x80;

        // The lock-free read uses only the table's offset and capacity (the slot layout comes from
        // the types): damage there makes get() fail; damage elsewhere it reads past, correctly.
        // Every locked operation checks the whole body.
        struct Damage {
            std::function<void(format::HashBody&)> change;
            bool failsLookups;
        };
        const std::vector<Damage> damages {
            { [](format::HashBody& b) { b.capacity = std::uint64_t { 1 } << 50; }, true },
            { [](format::HashBody& b) { b.table = ~std::uint64_t { 0 } - 64; }, true },
            { [](format::HashBody& b) { b.capacity = 3; }, true },
            { [](format::HashBody& b) { b.slotBytes = 8; }, false },
            { [](format::HashBody& b) { b.length = b.capacity; }, false },
            { [](format::HashBody& b) { b.tombstones = b.capacity; }, false },
        };
        for (std::size_t i = 0; i < damages.size(); ++i) {
            damage(damages[i].change);
            QVERIFY(structureProblem(*map));
            // A fresh handle too, which has no table address cached from before the damage.
            auto fresh = SharedHashMap<std::uint64_t, std::uint64_t>::attach(*m_region, "damaged");
            QVERIFY(fresh);
            for (const auto* handle : { &*map, &*fresh }) {
                auto got = handle->get(3);
                if (damages[i].failsLookups) {
                    QVERIFY2(!got, qPrintable(QStringLiteral("damage %1").arg(i)));
                    COMPARE_ERROR(got.error(), RegionError::Corrupt);
                } else {
                    QVERIFY2(
                        got && *got == std::optional<std::uint64_t>(3), qPrintable(QStringLiteral("damage %1").arg(i)));
                }
            }
            auto size = map->size();
            QVERIFY(!size);
            COMPARE_ERROR(size.error(), RegionError::Corrupt);
            auto inserted = map->insert(1000, 1);
            QVERIFY(!inserted);
            COMPARE_ERROR(inserted.error(), RegionError::Corrupt);
        }
        damage([](format::HashBody&) {});
        QCOMPARE(structureProblem(*map), std::optional<std::string>());
    }

    void lockFreeReadsSeeOnlyCommittedStates()
    {
        // A writer thread (with its own Region, as each thread must) keeps inserting, overwriting
        // and removing keys, forcing rebuilds; the reader's lock-free gets must only ever see
        // values some committed state held: stable keys always present with their value, churned
        // keys absent or holding one of the values written for them.
        auto map = SharedHashMap<std::uint64_t, std::uint64_t>::create(*m_region, "race");
        QVERIFY(map);
        constexpr std::uint64_t kStable = 64;
        for (std::uint64_t i = 0; i < kStable; ++i)
            QVERIFY(map->insert(i, i * 3 + 1));
        std::atomic<bool> stop { false };
        std::atomic<int> writerFailures { 0 };
        std::thread writer([&] {
            auto region = openRegion(m_path);
            if (!region || !(*region)->attach("writer")) {
                ++writerFailures;
                return;
            }
            auto other = SharedHashMap<std::uint64_t, std::uint64_t>::attach(**region, "race");
            if (!other) {
                ++writerFailures;
                return;
            }
            for (std::uint64_t round = 0; !stop.load() && round < 200; ++round) {
                for (std::uint64_t k = 1000; k < 1400; ++k)
                    writerFailures += other->insert(k, k * 7 + (round % 2)) ? 0 : 1;
                writerFailures += other->insert(round % kStable, (round % kStable) * 3 + 1) ? 0 : 1;
                for (std::uint64_t k = 1000; k < 1400; ++k)
                    writerFailures += other->remove(k) ? 0 : 1;
                writerFailures += other->shrinkToFit() ? 0 : 1;
            }
        });
        std::uint64_t reads = 0;
        bool consistent = true;
        std::string firstFailure;
        for (int pass = 0; pass < 300 && consistent; ++pass) {
            for (std::uint64_t k = 0; k < kStable && consistent; ++k, ++reads) {
                auto got = map->get(k);
                if (!got || *got != std::optional<std::uint64_t>(k * 3 + 1)) {
                    consistent = false;
                    firstFailure = "stable key " + std::to_string(k);
                }
            }
            for (std::uint64_t k = 1000; k < 1400 && consistent; k += 7, ++reads) {
                auto got = map->get(k);
                if (!got || (got->has_value() && **got != k * 7 && **got != k * 7 + 1)) {
                    consistent = false;
                    firstFailure = "churned key " + std::to_string(k);
                }
            }
        }
        stop.store(true);
        writer.join();
        QCOMPARE(writerFailures.load(), 0);
        QVERIFY2(consistent, firstFailure.c_str());
        QVERIFY(reads > 10000);
        QCOMPARE(structureProblem(*map), std::optional<std::string>());
    }

private:
    template <class K, class V> void runMapModel(int steps, std::uint64_t keySpace)
    {
        using Map = SharedHashMap<K, V>;
        using Key = typename Map::Key;
        using Value = typename Map::Value;
        auto stats = m_region->stats();
        QVERIFY(stats);
        auto created = Map::create(*m_region, "model");
        QVERIFY(created);
        Map& map = *created;
        std::unordered_map<Key, Value> model;
        std::mt19937_64 rng(42);
        Coverage coverage;
        for (int step = 0; step < steps; ++step) {
            // Alternating phases: mostly inserts (growth), then mostly removals (tombstones).
            const bool removing = (step / 500) % 2 == 1;
            const unsigned op = rng() % 100;
            const Key key = KeySpace<K>::key(rng() % keySpace);
            if (op < (removing ? 10u : 60u)) {
                const Value value = Sample<V>::value(rng);
                auto previous = map.insert(key, value);
                QVERIFY(previous);
                auto it = model.find(key);
                QCOMPARE(previous->has_value(), it != model.end());
                if (it != model.end())
                    QVERIFY(**previous == it->second);
                model[key] = value;
            } else if (op < 70) {
                auto removed = map.remove(key);
                QVERIFY(removed);
                auto it = model.find(key);
                QCOMPARE(removed->has_value(), it != model.end());
                if (it != model.end()) {
                    QVERIFY(**removed == it->second);
                    model.erase(it);
                }
            } else if (op < 78) {
                auto got = map.get(key);
                QVERIFY(got);
                auto it = model.find(key);
                QCOMPARE(got->has_value(), it != model.end());
                if (it != model.end())
                    QVERIFY(**got == it->second);
            } else if (op < 83) {
                auto has = map.contains(key);
                QVERIFY(has);
                QCOMPARE(*has, model.count(key) == 1);
            } else if (op < 89) {
                const Value value = Sample<V>::value(rng);
                auto modified = map.modify(key, [&](Value& v) { v = value; });
                QVERIFY(modified);
                QCOMPARE(*modified, model.count(key) == 1);
                if (*modified)
                    model[key] = value;
            } else if (op < 90 && !removing) {
                // Rebuilds (reserve, shrinkToFit, clear) only in insert phases, so that removal
                // phases pile up tombstones.
                const std::uint64_t additional = rng() % 16;
                QVERIFY(map.reserve(additional));
                auto cap = map.capacity();
                QVERIFY(cap && *cap >= detail::hashCapacityFor(model.size() + additional));
            } else if (op < 92 && !removing && rng() % 3 == 0) {
                QVERIFY(map.shrinkToFit());
                auto cap = map.capacity();
                QVERIFY(cap);
                QCOMPARE(*cap, detail::hashCapacityFor(model.size()));
            } else if (op < 93 && !removing && rng() % 6 == 0) {
                QVERIFY(map.clear());
                model.clear();
            } else {
                // A key outside the key space is never there.
                auto got = map.get(KeySpace<K>::key(keySpace + rng() % 1000));
                QVERIFY(got && !got->has_value());
            }
            auto all = map.toStd();
            QVERIFY(all);
            QVERIFY2(*all == model, qPrintable(QStringLiteral("step %1").arg(step)));
            auto n = map.size();
            QVERIFY(n && *n == model.size());
            const auto problem = structureProblem(map);
            QVERIFY2(!problem, problem ? problem->c_str() : "");
            coverage.observe(bodyOf(map));
        }
        qInfo("rebuilds %llu, most tombstones %llu, largest capacity %llu",
            static_cast<unsigned long long>(coverage.rebuilds), static_cast<unsigned long long>(coverage.maxTombstones),
            static_cast<unsigned long long>(coverage.maxCapacity));
        QVERIFY2(coverage.rebuilds >= 8, qPrintable(QString::number(coverage.rebuilds)));
        QVERIFY2(coverage.maxTombstones >= 25, qPrintable(QString::number(coverage.maxTombstones)));
        QVERIFY(m_region->checkSanity());
        QVERIFY(Map::destroy(*m_region, "model"));
        auto after = m_region->stats();
        QVERIFY(after);
        // Everything the map held is free again (the root table, made by the first root, stays).
        QCOMPARE(after->usedBlocks, std::max<std::uint64_t>(stats->usedBlocks, 1));
    }

    template <class T> void runSetModel(int steps, std::uint64_t keySpace)
    {
        using Set = SharedHashSet<T>;
        using Value = typename Set::Value;
        auto stats = m_region->stats();
        QVERIFY(stats);
        auto created = Set::create(*m_region, "setModel");
        QVERIFY(created);
        Set& set = *created;
        std::unordered_set<Value> model;
        std::mt19937_64 rng(43);
        Coverage coverage;
        for (int step = 0; step < steps; ++step) {
            const bool removing = (step / 500) % 2 == 1;
            const unsigned op = rng() % 100;
            const Value value = KeySpace<T>::key(rng() % keySpace);
            if (op < (removing ? 10u : 60u)) {
                auto inserted = set.insert(value);
                QVERIFY(inserted);
                QCOMPARE(*inserted, model.insert(value).second);
            } else if (op < 70) {
                auto removed = set.remove(value);
                QVERIFY(removed);
                QCOMPARE(*removed, model.erase(value) == 1);
            } else if (op < 85) {
                auto has = set.contains(value);
                QVERIFY(has);
                QCOMPARE(*has, model.count(value) == 1);
            } else if (op < 86 && !removing) {
                QVERIFY(set.reserve(rng() % 16));
            } else if (op < 89 && !removing && rng() % 3 == 0) {
                QVERIFY(set.shrinkToFit());
                QCOMPARE(*set.capacity(), detail::hashCapacityFor(model.size()));
            } else if (op < 90 && !removing && rng() % 6 == 0) {
                QVERIFY(set.clear());
                model.clear();
            } else {
                auto has = set.contains(KeySpace<T>::key(keySpace + rng() % 1000));
                QVERIFY(has && !*has);
            }
            auto all = set.toStd();
            QVERIFY(all);
            QVERIFY2(*all == model, qPrintable(QStringLiteral("step %1").arg(step)));
            QCOMPARE(*set.size(), model.size());
            QCOMPARE(*set.empty(), model.empty());
            const auto problem = structureProblem(set);
            QVERIFY2(!problem, problem ? problem->c_str() : "");
            coverage.observe(bodyOf(set));
        }
        qInfo("rebuilds %llu, most tombstones %llu, largest capacity %llu",
            static_cast<unsigned long long>(coverage.rebuilds), static_cast<unsigned long long>(coverage.maxTombstones),
            static_cast<unsigned long long>(coverage.maxCapacity));
        QVERIFY2(coverage.rebuilds >= 8, qPrintable(QString::number(coverage.rebuilds)));
        QVERIFY2(coverage.maxTombstones >= 25, qPrintable(QString::number(coverage.maxTombstones)));
        QVERIFY(m_region->checkSanity());
        QVERIFY(Set::destroy(*m_region, "setModel"));
        auto after = m_region->stats();
        QVERIFY(after);
        QCOMPARE(after->usedBlocks, std::max<std::uint64_t>(stats->usedBlocks, 1));
    }
};

QTEST_GUILESS_MAIN(TestSharedHash)
#include "tst_shared_hash.moc"
