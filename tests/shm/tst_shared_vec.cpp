// SharedVec<T> against std::vector: the same random operations applied to both, contents compared
// after every step, for plain and nested element types; full regions; attach checks; destroy.

#include "container_test_support.h"

#include <commy/shm/shared_string.h>
#include <commy/shm/shared_vec.h>

#include <QtTest>

#include <random>
#include <string>
#include <vector>

using namespace commy::shm;
using namespace commy::shmtest;

class TestSharedVec : public ContainerTest {
    Q_OBJECT

private slots:
    void init()
    {
        openTestRegion(QStringLiteral("v"), 8 << 20);
        if (QTest::currentTestFailed())
            return;
        auto stats = m_region->stats();
        QVERIFY(stats);
        m_freeAtStart = stats->freeBytes;
    }
    void cleanup() { m_region.reset(); }

    void matchesStdVectorForPlainElements() { runModel<std::int64_t>(3000); }
    void matchesStdVectorForStrings() { runModel<SharedString>(2000); }
    void matchesStdVectorForNestedVectors() { runModel<SharedVec<std::int32_t>>(1500); }

    void growthIsOneAndAHalf()
    {
        auto vec = SharedVec<std::int64_t>::create(*m_region, "growth");
        QVERIFY(vec);
        std::vector<std::uint64_t> capacities;
        for (int i = 0; i < 40; ++i) {
            QVERIFY(vec->push(i));
            auto cap = vec->capacity();
            QVERIFY(cap);
            if (capacities.empty() || capacities.back() != *cap)
                capacities.push_back(*cap);
        }
        const std::vector<std::uint64_t> expected { 4, 6, 9, 13, 19, 28, 42 };
        QCOMPARE(capacities, expected);
    }

    void secondHandleSeesTheSameData()
    {
        auto writer = SharedVec<std::int64_t>::create(*m_region, "shared");
        QVERIFY(writer);
        QVERIFY(writer->push(7));
        QVERIFY(writer->push(8));
        auto reader = SharedVec<std::int64_t>::attach(*m_region, "shared");
        QVERIFY(reader);
        auto all = reader->toStd();
        QVERIFY(all);
        QCOMPARE(*all, (std::vector<std::int64_t> { 7, 8 }));
        QCOMPARE(reader->version(), writer->version());
    }

    void attachWithAnotherTypeIsTypeMismatch()
    {
        QVERIFY(SharedVec<std::int64_t>::create(*m_region, "typed"));
        auto wrongElement = SharedVec<std::int32_t>::attach(*m_region, "typed");
        QVERIFY(!wrongElement);
        COMPARE_ERROR(wrongElement.error(), RegionError::TypeMismatch);
        auto nested = SharedVec<SharedString>::attach(*m_region, "typed");
        QVERIFY(!nested);
        COMPARE_ERROR(nested.error(), RegionError::TypeMismatch);
        auto missing = SharedVec<std::int64_t>::attach(*m_region, "nope");
        QVERIFY(!missing);
        COMPARE_ERROR(missing.error(), RegionError::RootNotFound);
        auto root = m_region->findRoot("typed");
        QVERIFY(root);
        QCOMPARE(QByteArray::fromStdString(root->type), QByteArray("vec<i64>"));
    }

    void versionCountsCommittedChangesOnly()
    {
        auto vec = SharedVec<std::int64_t>::create(*m_region, "versions");
        QVERIFY(vec);
        const std::uint64_t start = vec->version();
        QVERIFY(vec->push(1));
        QVERIFY(vec->push(2));
        QCOMPARE(vec->version(), start + 2);
        QVERIFY(vec->get(0));
        QVERIFY(vec->toStd());
        QVERIFY(!vec->get(5));
        QCOMPARE(vec->version(), start + 2);
    }

    void changesAreRecordedInTheChangeJournal()
    {
        auto vec = SharedVec<std::int64_t>::create(*m_region, "journaled");
        QVERIFY(vec);
        const std::uint64_t before = m_region->changeSequence();
        QVERIFY(vec->push(5));
        auto batch = m_region->changesSince(before);
        QVERIFY(batch);
        QCOMPARE(batch->changes.size(), std::size_t(1));
        QCOMPARE(batch->changes[0].rootOffset, vec->ref().offset());
        QCOMPARE(batch->changes[0].version, vec->version());
        QCOMPARE(batch->changes[0].writerSlot, m_region->slot());
        auto root = m_region->findRoot("journaled");
        QVERIFY(root);
        QCOMPARE(root->version, vec->version());
    }

    void fullRegionFailsAndLeavesTheVectorUnchanged()
    {
        auto vec = SharedVec<SharedString>::create(*m_region, "full");
        QVERIFY(vec);
        std::vector<std::string> model;
        const std::string big(64 * 1024, 'x');
        RegionExpected<void> pushed;
        for (int i = 0; i < 1000; ++i) {
            pushed = vec->push(big + std::to_string(i));
            if (!pushed)
                break;
            model.push_back(big + std::to_string(i));
        }
        QVERIFY(!pushed);
        COMPARE_ERROR(pushed.error(), RegionError::OutOfMemory);
        auto all = vec->toStd();
        QVERIFY(all);
        QCOMPARE(*all, model);
        QVERIFY(m_region->checkSanity());
        // Failing again, with a growing insert at the front, changes nothing either.
        auto inserted = vec->insert(0, big);
        QVERIFY(!inserted);
        auto again = vec->toStd();
        QVERIFY(again && *again == model);
    }

    void failedFromIterInLeavesNoRoot()
    {
        auto before = m_region->stats();
        QVERIFY(before);
        std::vector<std::int64_t> tooMany(2'000'000); // 16 MB into an 8 MiB region
        auto vec = SharedVec<std::int64_t>::fromIterIn(*m_region, "toolarge", tooMany.begin(), tooMany.end());
        QVERIFY(!vec);
        COMPARE_ERROR(vec.error(), RegionError::OutOfMemory);
        auto root = m_region->findRoot("toolarge");
        QVERIFY(!root);
        COMPARE_ERROR(root.error(), RegionError::RootNotFound);
        auto after = m_region->stats();
        QVERIFY(after);
        QCOMPARE(after->usedBlocks, before->usedBlocks + 1); // only the root table, made on first use
        const std::vector<std::int64_t> few { 1, 2, 3 };
        auto small = SharedVec<std::int64_t>::fromIterIn(*m_region, "toolarge", few.begin(), few.end());
        QVERIFY(small);
        auto all = small->toStd();
        QVERIFY(all && *all == few);
    }

    void autoGrowRegionMakesRoom()
    {
        const QString path = m_dir.filePath(QStringLiteral("grow.region"));
        auto created = createRegion(path, 1 << 20, true, 64 << 20);
        QVERIFY(created);
        Region& region = **created;
        QVERIFY(region.attach("grower"));
        auto vec = SharedVec<std::int64_t>::create(region, "big");
        QVERIFY(vec);
        std::vector<std::int64_t> values(400000);
        for (std::size_t i = 0; i < values.size(); ++i)
            values[i] = static_cast<std::int64_t>(i * 3);
        QVERIFY(vec->extend(values.begin(), values.end()));
        QVERIFY(region.size() > (1u << 20));
        auto all = vec->toStd();
        QVERIFY(all && *all == values);
    }

    void destroyFreesEverything()
    {
        auto vec = SharedVec<SharedVec<std::int32_t>>::create(*m_region, "doomed");
        QVERIFY(vec);
        std::mt19937_64 rng(7);
        for (int i = 0; i < 300; ++i)
            QVERIFY(vec->push(Sample<SharedVec<std::int32_t>>::value(rng)));
        QVERIFY(SharedVec<SharedVec<std::int32_t>>::destroy(*m_region, "doomed"));
        auto root = m_region->findRoot("doomed");
        QVERIFY(!root);
        auto stats = m_region->stats();
        QVERIFY(stats);
        // Everything but the root table the first root created is free again.
        QCOMPARE(stats->usedBlocks, 1u);
        QVERIFY(m_region->checkSanity());
    }

    void oneOperationLargerThanTheJournalGrowsIt()
    {
        // 2,000 strings in one element: 2,000 allocations journaled by one push, four times what
        // the initial 16 KiB journal holds.
        auto vec = SharedVec<SharedVec<SharedString>>::create(*m_region, "deep");
        QVERIFY(vec);
        std::vector<std::string> element;
        for (int i = 0; i < 2000; ++i)
            element.push_back("item " + std::to_string(i));
        const auto journalBefore = vec->ref().header()->journalCapacity;
        QVERIFY(vec->push(element));
        QVERIFY(vec->ref().header()->journalCapacity > journalBefore);
        auto back = vec->get(0);
        QVERIFY(back);
        QCOMPARE(*back, element);
        QVERIFY(vec->set(0, {}));
        QVERIFY(m_region->checkSanity());
        QVERIFY(SharedVec<SharedVec<SharedString>>::destroy(*m_region, "deep"));
        auto stats = m_region->stats();
        QVERIFY(stats);
        QCOMPARE(stats->usedBlocks, 1u);
    }

    void batchGuardHoldsTheLockAcrossOperations()
    {
        auto vec = SharedVec<std::int64_t>::create(*m_region, "batch");
        QVERIFY(vec);
        {
            auto batch = BatchGuard::lock(*vec);
            QVERIFY(batch);
            for (int i = 0; i < 100; ++i)
                QVERIFY(vec->push(i));
            auto n = vec->size();
            QVERIFY(n && *n == 100);
            // A second guard on the same object is refused instead of deadlocking.
            auto nested = BatchGuard::lock(*vec);
            QVERIFY(!nested);
        }
        auto n = vec->size();
        QVERIFY(n && *n == 100);
    }

private:
    template <class T> void runModel(int steps)
    {
        using Value = typename detail::ElementTraits<T>::Value;
        auto created = SharedVec<T>::create(*m_region, "model");
        QVERIFY(created);
        SharedVec<T>& vec = *created;
        std::vector<Value> model;
        std::mt19937_64 rng(42);
        for (int step = 0; step < steps; ++step) {
            const unsigned op = rng() % 100;
            if (op < 40) {
                Value v = Sample<T>::value(rng);
                QVERIFY(vec.push(v));
                model.push_back(v);
            } else if (op < 50) {
                auto popped = vec.pop();
                QVERIFY(popped);
                QCOMPARE(popped->has_value(), !model.empty());
                if (!model.empty()) {
                    QVERIFY(**popped == model.back());
                    model.pop_back();
                }
            } else if (op < 60) {
                const std::uint64_t at = model.empty() ? 0 : rng() % (model.size() + 1);
                Value v = Sample<T>::value(rng);
                QVERIFY(vec.insert(at, v));
                model.insert(model.begin() + static_cast<std::ptrdiff_t>(at), v);
            } else if (op < 70 && !model.empty()) {
                const std::uint64_t at = rng() % model.size();
                auto removed = vec.remove(at);
                QVERIFY(removed);
                QVERIFY(*removed == model[at]);
                model.erase(model.begin() + static_cast<std::ptrdiff_t>(at));
            } else if (op < 80 && !model.empty()) {
                const std::uint64_t at = rng() % model.size();
                Value v = Sample<T>::value(rng);
                QVERIFY(vec.set(at, v));
                model[at] = v;
            } else if (op < 85) {
                auto past = vec.get(model.size());
                QVERIFY(!past);
                COMPARE_ERROR(past.error(), RegionError::OutOfRange);
            } else if (op < 88) {
                QVERIFY(vec.reserve(rng() % 50));
            } else if (op < 90) {
                QVERIFY(vec.shrinkToFit());
                auto cap = vec.capacity();
                QVERIFY(cap && *cap == model.size());
            } else if (op < 91) {
                QVERIFY(vec.clear());
                model.clear();
            } else {
                if (!model.empty()) {
                    const std::uint64_t at = rng() % model.size();
                    auto got = vec.get(at);
                    QVERIFY(got);
                    QVERIFY(*got == model[at]);
                }
            }
            auto all = vec.toStd();
            QVERIFY(all);
            QVERIFY2(*all == model, qPrintable(QStringLiteral("step %1").arg(step)));
        }
        QVERIFY(m_region->checkSanity());
        QVERIFY(SharedVec<T>::destroy(*m_region, "model"));
        auto stats = m_region->stats();
        QVERIFY(stats);
        QCOMPARE(stats->usedBlocks, 1u); // the root table
    }

    std::uint64_t m_freeAtStart = 0;
};

QTEST_GUILESS_MAIN(TestSharedVec)
#include "tst_shared_vec.moc"
