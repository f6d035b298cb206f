// Crash recovery: a child process SIGKILLs itself right after its n-th journaled write, i.e. in the
// middle of a locked mutation with the region lock held, for every n its workload reaches. The next
// locker must roll the mutation back: checkSanity() passes, the recovery is counted, and after
// cleanup() every byte the child held is free again.

#include "shm_pattern.h"
#include "shm_test_support.h"

#include <commy/shm/region.h>
#include <commy/shm/region_format.h>

#include <QtTest>

#include <algorithm>
#include <csignal>
#include <memory>
#include <set>
#include <vector>

using namespace commy::shm;
using namespace commy::shmtest;

namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
// Every kill point up to 60 (the workload's first round: slot claim, aligned and unaligned
// allocations, frees that coalesce, createRoot, takeRoot, removeRoot), then every 9th up to 800 (the
// later rounds, where root-table rehashes happen). The workload makes about 810 journaled writes.
constexpr int kDenseKillPoints = 60;
constexpr int kLastKillPoint = 800;
constexpr int kSparseStep = 9;

// The used blocks of a region, minus the root table (the one published block no root points to),
// whose place and exact size a rehash may change.
struct Layout {
    std::vector<BlockInfo> used;
    std::uint64_t tableBytes = 0;
    int tables = 0;
};

QByteArray describe(const commy::Expected<void, CorruptionReport>& sane)
{
    return sane
        ? QByteArray()
        : QByteArray::fromStdString(sane.error().description) + " at " + QByteArray::number(sane.error().offset);
}

bool sameUsedBlocks(const std::vector<BlockInfo>& a, const std::vector<BlockInfo>& b)
{
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const BlockInfo& x, const BlockInfo& y) {
        return x.offset == y.offset && x.size == y.size && x.published == y.published && x.ownerSlot == y.ownerSlot;
    });
}

} // namespace

class TestCrashRecovery : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void crashAtJournalWrite_data();
    void crashAtJournalWrite();
    void crashWhileOthersWaitForTheLock_data();
    void crashWhileOthersWaitForTheLock();
    void consecutiveCrashes();

private:
    struct Fixture {
        QString path;
        std::unique_ptr<Region> region;
        std::uint64_t ownBlock = 0;
        std::uint64_t anchor = 0;
    };
    // A region the parent is attached to, holding one unpublished block of its own, one published
    // root ("anchor") and a root table, so that a child's workload never has to create the table.
    void makeFixture(Fixture& fixture, std::uint64_t size);
    void layout(Region& region, Layout& out);
    // Everything a crashed child left: roots it created (its workload names them "<prefix>-...").
    void removeRootsOf(Region& region, const QString& prefix);
    // The parent's own data is untouched.
    void verifyFixtureData(Fixture& fixture);

    RegionTempDir m_dir;
    int m_file = 0;
    QString nextPath() { return m_dir.filePath(QStringLiteral("region-%1").arg(++m_file)); }
};

void TestCrashRecovery::initTestCase() { QVERIFY(m_dir.isValid()); }

void TestCrashRecovery::makeFixture(Fixture& fixture, std::uint64_t size)
{
    fixture.path = nextPath();
    auto region = createRegion(fixture.path, size);
    QVERIFY(region);
    fixture.region = std::move(*region);
    Region& r = *fixture.region;
    QVERIFY(r.attach("parent"));
    auto own = r.allocate(4000);
    QVERIFY(own);
    fixture.ownBlock = *own;
    fillPattern(r.pointer(*own, 4000), 4000, 4000);
    auto anchor = r.allocate(3000, 128);
    QVERIFY(anchor);
    fixture.anchor = *anchor;
    fillPattern(r.pointer(*anchor, 3000), 3000, seedForName("anchor"));
    QVERIFY(r.createRoot("anchor", *anchor));
}

void TestCrashRecovery::verifyFixtureData(Fixture& fixture)
{
    Region& r = *fixture.region;
    QCOMPARE(verifyPattern(r.pointer(fixture.ownBlock, 4000), 4000, 4000), -1);
    auto anchor = r.findRoot("anchor");
    QVERIFY(anchor);
    QCOMPARE(anchor->offset, fixture.anchor);
    QCOMPARE(verifyPattern(r.pointer(fixture.anchor, 3000), 3000, seedForName("anchor")), -1);
}

void TestCrashRecovery::layout(Region& region, Layout& out)
{
    auto blocks = region.blocks();
    QVERIFY(blocks);
    auto roots = region.roots();
    QVERIFY(roots);
    std::set<std::uint64_t> rootBlocks;
    for (const RootInfo& root : *roots)
        rootBlocks.insert(root.offset - format::kBlockHeaderBytes);
    out = {};
    for (const BlockInfo& b : *blocks) {
        if (b.free)
            continue;
        if (b.published && !rootBlocks.count(b.offset)) {
            out.tableBytes += b.size;
            ++out.tables;
            continue;
        }
        out.used.push_back(b);
    }
}

void TestCrashRecovery::removeRootsOf(Region& region, const QString& prefix)
{
    auto roots = region.roots();
    QVERIFY(roots);
    for (const RootInfo& root : *roots) {
        if (QString::fromStdString(root.name).startsWith(prefix + QLatin1Char('-'))) {
            auto removed = region.removeRoot(root.name);
            QVERIFY2(removed, removed ? "" : errorName(removed.error()));
        }
    }
}

void TestCrashRecovery::crashAtJournalWrite_data()
{
    QTest::addColumn<int>("n");
    for (int n = 1; n <= kDenseKillPoints; ++n)
        QTest::addRow("n=%03d", n) << n;
    for (int n = kDenseKillPoints + kSparseStep; n <= kLastKillPoint; n += kSparseStep)
        QTest::addRow("n=%03d", n) << n;
}

void TestCrashRecovery::crashAtJournalWrite()
{
    QFETCH(int, n);
    Fixture fixture;
    makeFixture(fixture, 1 * MiB);
    if (QTest::currentTestFailed())
        return;
    Region& r = *fixture.region;
    auto before = r.stats();
    QVERIFY(before);
    Layout layoutBefore;
    layout(r, layoutBefore);
    QCOMPARE(layoutBefore.tables, 1);

    ChildProcess child;
    QVERIFY(child.start({ "crash-at", fixture.path, QString::number(n), "c" }));
    QVERIFY(child.waitForExit());
    QVERIFY2(!child.exitedNormally(),
        qPrintable(QStringLiteral("the child's workload ended before its %1th journaled write: %2")
                       .arg(n)
                       .arg(child.transcript())));
    QCOMPARE(child.exitCode(), int(SIGKILL));

    // Whichever call comes first repairs the region.
    switch (n % 4) {
    case 0: {
        auto report = r.cleanup();
        QVERIFY(report);
        QVERIFY(report->lockRecovered);
        break;
    }
    case 1:
        QVERIFY(r.stats());
        break;
    case 2: {
        auto offset = r.allocate(100);
        QVERIFY2(offset, offset ? "" : errorName(offset.error()));
        QVERIFY(r.deallocate(*offset));
        break;
    }
    case 3: {
        auto sane = r.checkSanity();
        QVERIFY2(sane, describe(sane).constData());
        break;
    }
    }
    auto recovered = r.stats();
    QVERIFY(recovered);
    QCOMPARE(recovered->lockRecoveries, before->lockRecoveries + 1);
    auto sane = r.checkSanity();
    QVERIFY2(sane, describe(sane).constData());
    verifyFixtureData(fixture);
    if (QTest::currentTestFailed())
        return;

    // The child's slot, if its claim survived, is Dead; cleanup() frees it with its blocks.
    auto processes = r.processes();
    QVERIFY(processes);
    bool childListed = false;
    for (const ProcessInfo& p : *processes) {
        if (p.pid == std::uint64_t(child.pid())) {
            childListed = true;
            COMPARE_LIVENESS(p.liveness, Liveness::Dead);
        }
    }
    auto report = r.cleanup();
    QVERIFY(report);
    QCOMPARE(report->freedSlots.size(), (n % 4 == 0 || !childListed) ? 0u : 1u);
    removeRootsOf(r, QStringLiteral("c"));
    if (QTest::currentTestFailed())
        return;
    auto after = r.stats();
    QVERIFY(after);
    processes = r.processes();
    QVERIFY(processes);
    QCOMPARE(processes->size(), 1u);

    // Nothing leaked: the used blocks are exactly the parent's, and the free bytes are what they were
    // (give or take the root table, which a rehash may have moved into a block one granule larger).
    Layout layoutAfter;
    layout(r, layoutAfter);
    QCOMPARE(layoutAfter.tables, 1);
    QVERIFY(sameUsedBlocks(layoutBefore.used, layoutAfter.used));
    QCOMPARE(after->usedBlocks, before->usedBlocks);
    QCOMPARE(after->freeBytes + layoutAfter.tableBytes, before->freeBytes + layoutBefore.tableBytes);
    if (layoutAfter.tableBytes == layoutBefore.tableBytes) {
        QCOMPARE(after->freeBytes, before->freeBytes);
    }
    sane = r.checkSanity();
    QVERIFY2(sane, describe(sane).constData());

    // And the region is fully usable.
    auto offset = r.allocate(50000);
    QVERIFY(offset);
    QVERIFY(r.createRoot("afterwards", *offset));
    QVERIFY(r.removeRoot("afterwards"));
    QVERIFY(r.checkSanity());
}

void TestCrashRecovery::crashWhileOthersWaitForTheLock_data()
{
    QTest::addColumn<int>("n");
    for (const int n : { 3, 17, 33, 48 })
        QTest::addRow("n=%02d", n) << n;
}

void TestCrashRecovery::crashWhileOthersWaitForTheLock()
{
    // Two processes hammer the lock while a third dies holding it: whoever gets it next repairs,
    // and their own data (which they verify continuously) survives.
    QFETCH(int, n);
    Fixture fixture;
    makeFixture(fixture, 4 * MiB);
    if (QTest::currentTestFailed())
        return;
    Region& r = *fixture.region;
    auto before = r.stats();
    QVERIFY(before);
    Layout layoutBefore;
    layout(r, layoutBefore);

    std::vector<std::unique_ptr<ChildProcess>> workers;
    for (int i = 0; i < 2; ++i) {
        workers.push_back(std::make_unique<ChildProcess>());
        QVERIFY(workers.back()->start({ "allocate-loop", fixture.path, "30000", QString::number(77 + i), "2048" }));
    }
    for (auto& worker : workers)
        QVERIFY2(!worker->waitForLine("running").isNull(), qPrintable(worker->transcript()));

    ChildProcess crasher;
    QVERIFY(crasher.start({ "crash-at", fixture.path, QString::number(n), "w" }));
    QVERIFY(crasher.waitForExit());
    QVERIFY2(!crasher.exitedNormally(), qPrintable(crasher.transcript()));

    // Let the workers run on the repaired region for a while before stopping them.
    const std::uint64_t allocationsAtCrash = r.stats()->allocations;
    QTRY_VERIFY_WITH_TIMEOUT(r.stats()->allocations > allocationsAtCrash + 500, 20000);
    for (auto& worker : workers)
        worker->send("stop");
    for (auto& worker : workers) {
        QVERIFY2(!worker->waitForLine("done").isNull(), qPrintable(worker->transcript()));
        QVERIFY(worker->waitForExit());
        QCOMPARE(worker->exitCode(), 0);
    }

    auto recovered = r.stats();
    QVERIFY(recovered);
    QCOMPARE(recovered->lockRecoveries, before->lockRecoveries + 1);
    auto report = r.cleanup();
    QVERIFY(report);
    removeRootsOf(r, QStringLiteral("w"));
    Layout layoutAfter;
    layout(r, layoutAfter);
    QVERIFY(sameUsedBlocks(layoutBefore.used, layoutAfter.used));
    auto after = r.stats();
    QVERIFY(after);
    QCOMPARE(after->freeBytes + layoutAfter.tableBytes, before->freeBytes + layoutBefore.tableBytes);
    auto sane = r.checkSanity();
    QVERIFY2(sane, describe(sane).constData());
    verifyFixtureData(fixture);
}

void TestCrashRecovery::consecutiveCrashes()
{
    // The second child repairs the first one's crash on its first lock, then crashes itself.
    Fixture fixture;
    makeFixture(fixture, 1 * MiB);
    if (QTest::currentTestFailed())
        return;
    Region& r = *fixture.region;
    auto before = r.stats();
    QVERIFY(before);
    Layout layoutBefore;
    layout(r, layoutBefore);

    const int points[] = { 23, 9, 41, 2 };
    for (const int n : points) {
        ChildProcess child;
        QVERIFY(child.start({ "crash-at", fixture.path, QString::number(n), QStringLiteral("k%1").arg(n) }));
        QVERIFY(child.waitForExit());
        QVERIFY2(!child.exitedNormally(), qPrintable(child.transcript()));
    }
    auto stats = r.stats();
    QVERIFY(stats);
    QCOMPARE(stats->lockRecoveries, before->lockRecoveries + std::size(points));
    auto report = r.cleanup();
    QVERIFY(report);
    QVERIFY(report->freedSlots.size() <= std::size(points));
    for (const int n : points) {
        removeRootsOf(r, QStringLiteral("k%1").arg(n));
    }
    Layout layoutAfter;
    layout(r, layoutAfter);
    QVERIFY(sameUsedBlocks(layoutBefore.used, layoutAfter.used));
    auto after = r.stats();
    QVERIFY(after);
    QCOMPARE(after->freeBytes + layoutAfter.tableBytes, before->freeBytes + layoutBefore.tableBytes);
    auto processes = r.processes();
    QVERIFY(processes);
    QCOMPARE(processes->size(), 1u);
    auto sane = r.checkSanity();
    QVERIFY2(sane, describe(sane).constData());
    verifyFixtureData(fixture);
}

QTEST_GUILESS_MAIN(TestCrashRecovery)
#include "tst_crash_recovery.moc"
