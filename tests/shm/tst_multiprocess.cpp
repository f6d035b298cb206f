// Several real processes on one region: publishing and reading each other's data, allocating at the
// same time, growing the file online while others allocate, auto-grow up to a limit, and shrinking.

#include "shm_pattern.h"
#include "shm_test_support.h"

#include <commy/shm/region.h>
#include <commy/shm/region_format.h>

#include <QDeadlineTimer>
#include <QFileInfo>
#include <QMap>
#include <QtTest>

#include <map>
#include <memory>
#include <random>
#include <vector>

using namespace commy::shm;
using namespace commy::shmtest;

namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;

// "done ops=1 allocations=2 ..." -> { ops: 1, allocations: 2, ... }
QMap<QString, quint64> fields(const QString& line)
{
    QMap<QString, quint64> result;
    for (const QString& part : line.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
        const int eq = part.indexOf(QLatin1Char('='));
        if (eq > 0)
            result.insert(part.left(eq), part.mid(eq + 1).toULongLong());
    }
    return result;
}

using Children = std::vector<std::unique_ptr<ChildProcess>>;

} // namespace

class TestMultiprocess : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void publishAndReadAcrossProcesses();
    void concurrentAllocators();
    void growWhileOthersAllocate();
    void growPastTheMappingRemaps();
    void autoGrowWithLimit();
    void shrinkToUsageTrimsOnlyTheFreeTail();

private:
    // Starts `count` allocate-loop children and waits until each has allocated something.
    void startAllocators(Children& children, const QString& path, int count, std::uint64_t maxBytes);
    // Tells allocate-loop children to stop and collects their "done" lines.
    void stopAllocators(Children& children, QList<QMap<QString, quint64>>& results);
    // Waits until the region has counted `count` more allocations than `since` (others are working).
    void waitForAllocations(Region& region, std::uint64_t since, std::uint64_t count);

    RegionTempDir m_dir;
    int m_file = 0;
    QString nextPath() { return m_dir.filePath(QStringLiteral("region-%1").arg(++m_file)); }
};

void TestMultiprocess::initTestCase() { QVERIFY(m_dir.isValid()); }

void TestMultiprocess::startAllocators(Children& children, const QString& path, int count, std::uint64_t maxBytes)
{
    for (int i = 0; i < count; ++i) {
        children.push_back(std::make_unique<ChildProcess>());
        QVERIFY2(children.back()->start(
                     { "allocate-loop", path, "30000", QString::number(1000 + i), QString::number(maxBytes) }),
            qPrintable(children.back()->errorString()));
    }
    for (auto& child : children)
        QVERIFY2(!child->waitForLine("running").isNull(), qPrintable(child->transcript()));
}

void TestMultiprocess::stopAllocators(Children& children, QList<QMap<QString, quint64>>& results)
{
    for (auto& child : children)
        child->send("stop");
    for (auto& child : children) {
        const QString done = child->waitForLine("done");
        QVERIFY2(!done.isNull(), qPrintable(child->transcript()));
        QVERIFY(child->waitForExit());
        QVERIFY(child->exitedNormally());
        QCOMPARE(child->exitCode(), 0);
        results << fields(done);
    }
}

void TestMultiprocess::waitForAllocations(Region& region, std::uint64_t since, std::uint64_t count)
{
    QDeadlineTimer deadline(20000);
    for (;;) {
        auto stats = region.stats();
        QVERIFY(stats);
        if (stats->allocations >= since + count)
            return;
        QVERIFY2(!deadline.hasExpired(), "the other processes stopped allocating");
        QTest::qWait(2);
    }
}

void TestMultiprocess::publishAndReadAcrossProcesses()
{
    const QString path = nextPath();
    auto region = createRegion(path, 1 * MiB);
    QVERIFY(region);
    Region& r = **region;
    QVERIFY(r.attach("parent"));

    // A child allocates and publishes; the parent reads it.
    ChildProcess writer;
    QVERIFY(writer.start({ "alloc-publish", path, "fromChild", "5000" }));
    const QString offsetLine = writer.waitForLine("offset");
    QVERIFY2(!offsetLine.isNull(), qPrintable(writer.transcript()));
    QVERIFY(writer.waitForExit());
    QCOMPARE(writer.exitCode(), 0);
    auto fromChild = r.findRoot("fromChild");
    QVERIFY(fromChild);
    QCOMPARE(QString::number(fromChild->offset), offsetLine.section(QLatin1Char(' '), 1));
    QCOMPARE(verifyPattern(r.pointer(fromChild->offset, 5000), 5000, seedForName("fromChild")), -1);

    // The parent publishes; other children read both.
    auto offset = r.allocate(3000, 256);
    QVERIFY(offset);
    fillPattern(r.pointer(*offset, 3000), 3000, seedForName("fromParent"));
    QVERIFY(r.createRoot("fromParent", *offset));
    for (const auto& [root, bytes] : { std::pair { "fromParent", "3000" }, std::pair { "fromChild", "5000" } }) {
        ChildProcess reader;
        QVERIFY(reader.start({ "read-root", path, root, bytes }));
        QVERIFY2(!reader.waitForLine("match").isNull(), qPrintable(reader.transcript()));
        QVERIFY(reader.waitForExit());
        QCOMPARE(reader.exitCode(), 0);
    }

    // The reader really compares: one changed byte is reported, a missing root is an error.
    auto* bytes = static_cast<unsigned char*>(r.pointer(*offset, 3000));
    bytes[2999] ^= 0x40;
    {
        ChildProcess reader;
        QVERIFY(reader.start({ "read-root", path, "fromParent", "3000" }));
        QCOMPARE(reader.waitForLine("mismatch"), QStringLiteral("mismatch at 2999"));
        QVERIFY(reader.waitForExit());
        QCOMPARE(reader.exitCode(), 1);
    }
    bytes[2999] ^= 0x40;
    {
        ChildProcess reader;
        QVERIFY(reader.start({ "read-root", path, "noSuchRoot", "1" }));
        QVERIFY(reader.waitForLine("error").contains(QLatin1String(errorMessage(RegionError::RootNotFound))));
        QVERIFY(reader.waitForExit());
        QCOMPARE(reader.exitCode(), 2);
    }

    // Everyone else detached; the published blocks stay.
    auto processes = r.processes();
    QVERIFY(processes);
    QCOMPARE(processes->size(), 1u);
    QCOMPARE(processes->front().name, std::string("parent"));
    auto roots = r.roots();
    QVERIFY(roots);
    QCOMPARE(roots->size(), 2u);
    auto blocks = r.blocks();
    QVERIFY(blocks);
    int published = 0;
    for (const BlockInfo& b : *blocks)
        published += !b.free && b.published;
    QCOMPARE(published, 3); // two roots and the root table
    auto sane = r.checkSanity();
    QVERIFY2(sane, sane ? "" : sane.error().description.c_str());
}

void TestMultiprocess::concurrentAllocators()
{
    const QString path = nextPath();
    auto region = createRegion(path, 4 * MiB);
    QVERIFY(region);
    Region& r = **region;
    auto slot = r.attach("parent");
    QVERIFY(slot);
    auto start = r.stats();
    QVERIFY(start);

    Children children;
    startAllocators(children, path, 3, 4 * KiB);
    if (QTest::currentTestFailed())
        return;

    // The parent allocates alongside them until the others have done a good share of the work.
    std::mt19937_64 rng(7);
    std::map<std::uint64_t, std::uint64_t> mine; // offset -> bytes
    std::uint64_t myAllocations = 0;
    QDeadlineTimer deadline(20000);
    for (;;) {
        if (mine.size() < 200 && rng() % 2 == 0) {
            const std::uint64_t bytes = 1 + rng() % (8 * KiB);
            auto offset = r.allocate(bytes, 64);
            if (offset) {
                fillPattern(r.pointer(*offset, bytes), bytes, *offset);
                mine.emplace(*offset, bytes);
                ++myAllocations;
            } else {
                COMPARE_ERROR(offset.error(), RegionError::OutOfMemory);
            }
        } else if (!mine.empty()) {
            auto it = std::next(mine.begin(), static_cast<long>(rng() % mine.size()));
            QCOMPARE(verifyPattern(r.pointer(it->first, it->second), it->second, it->first), -1);
            QVERIFY(r.deallocate(it->first));
            mine.erase(it);
        }
        auto stats = r.stats();
        QVERIFY(stats);
        if (stats->allocations - start->allocations >= myAllocations + 3000 && myAllocations >= 500)
            break;
        QVERIFY2(!deadline.hasExpired(), "the children stopped allocating");
    }

    QList<QMap<QString, quint64>> results;
    stopAllocators(children, results);
    if (QTest::currentTestFailed())
        return;
    for (const auto& result : results)
        QVERIFY(result.value("allocations") > 0);

    for (const auto& [offset, bytes] : mine) {
        QCOMPARE(verifyPattern(r.pointer(offset, bytes), bytes, offset), -1);
        QVERIFY(r.deallocate(offset));
    }
    auto sane = r.checkSanity();
    QVERIFY2(sane, sane ? "" : sane.error().description.c_str());
    auto end = r.stats();
    QVERIFY(end);
    QCOMPARE(end->usedBlocks, 0u);
    QCOMPARE(end->freeBlocks, 1u);
    QCOMPARE(end->freeBytes, start->freeBytes);
}

void TestMultiprocess::growWhileOthersAllocate()
{
    const QString path = nextPath();
    const std::uint64_t initial = 256 * KiB;
    auto region = createRegion(path, initial);
    QVERIFY(region);
    Region& r = **region;
    QVERIFY(r.attach("grower"));
    // Data published before the grows must survive them.
    auto kept = r.allocate(10000);
    QVERIFY(kept);
    fillPattern(r.pointer(*kept, 10000), 10000, seedForName("kept"));
    QVERIFY(r.createRoot("kept", *kept));
    const std::uint64_t generation = r.generation();

    Children children;
    startAllocators(children, path, 3, 16 * KiB);
    if (QTest::currentTestFailed())
        return;

    const std::uint64_t sizes[] = { 512 * KiB, 1 * MiB, 2 * MiB, 4 * MiB };
    for (const std::uint64_t size : sizes) {
        auto before = r.stats();
        QVERIFY(before);
        // The others keep allocating between two grows.
        waitForAllocations(r, before->allocations, 300);
        if (QTest::currentTestFailed())
            return;
        auto resized = r.resizeFile(size);
        QVERIFY2(resized, resized ? "" : errorName(resized.error()));
        QCOMPARE(r.size(), size);
    }
    auto last = r.stats();
    QVERIFY(last);
    waitForAllocations(r, last->allocations, 300);
    if (QTest::currentTestFailed())
        return;

    QList<QMap<QString, quint64>> results;
    stopAllocators(children, results);
    if (QTest::currentTestFailed())
        return;
    quint64 maxEnd = 0;
    for (const auto& result : results) {
        // Each process saw the final size and generation (it remapped on its own).
        QCOMPARE(result.value("size"), 4 * MiB);
        QCOMPARE(result.value("generation"), generation + 4);
        maxEnd = std::max(maxEnd, result.value("maxend"));
    }
    // And used the space that appeared while it was running.
    QVERIFY2(maxEnd > initial, qPrintable(QStringLiteral("highest block end %1").arg(maxEnd)));

    auto stats = r.stats();
    QVERIFY(stats);
    QCOMPARE(stats->size, 4 * MiB);
    QCOMPARE(stats->generation, generation + 4);
    QCOMPARE(stats->grows, 4u);
    QCOMPARE(stats->arenaBytes, 4 * MiB - format::kArenaOffset);
    QCOMPARE(QFileInfo(path).size(), qint64(4 * MiB));
    auto sane = r.checkSanity();
    QVERIFY2(sane, sane ? "" : sane.error().description.c_str());
    // Every child detached after freeing: what is used is the kept root and the root table.
    QCOMPARE(stats->usedBlocks, 2u);
    auto resizeAgain = r.checkOperationTimeout(std::chrono::milliseconds(0));
    QVERIFY(resizeAgain);
    QVERIFY(!*resizeAgain); // no resize left in progress

    // A fresh process sees the grown region and the old data.
    ChildProcess reader;
    QVERIFY(reader.start({ "read-root", path, "kept", "10000" }));
    QVERIFY2(!reader.waitForLine("match").isNull(), qPrintable(reader.transcript()));
    QVERIFY(reader.waitForExit());
    QCOMPARE(reader.exitCode(), 0);

    // Resizes the API refuses.
    auto smaller = r.resizeFile(2 * MiB);
    QVERIFY(!smaller);
    COMPARE_ERROR(smaller.error(), RegionError::InvalidArgument);
    auto same = r.resizeFile(4 * MiB);
    QVERIFY(same);
    QCOMPARE(r.generation(), generation + 4);
}

void TestMultiprocess::growPastTheMappingRemaps()
{
    // Without a limit a process maps max(2 x size, 1 GiB). Another process grows the file past that
    // and publishes a block beyond it: this process's next calls must remap, pointer() included,
    // while its heartbeat thread keeps writing through the mapping.
    const std::uint64_t GiB = 1024 * MiB;
    const QString path = nextPath();
    auto region = createRegion(path, 1 * MiB);
    QVERIFY(region);
    Region& r = **region;
    QVERIFY(r.attach("watcher"));
    r.startHeartbeatThread(std::chrono::milliseconds(1));
    auto before = r.stats();
    QVERIFY(before);

    ChildProcess grower;
    QVERIFY(
        grower.start({ "grow-publish", path, QString::number(GiB + 64 * MiB), QString::number(GiB), "far", "4096" }));
    const QString line = grower.waitForLine("offset");
    QVERIFY2(!line.isNull(), qPrintable(grower.transcript()));
    QVERIFY(grower.waitForExit());
    QCOMPARE(grower.exitCode(), 0);
    const std::uint64_t far = line.section(QLatin1Char(' '), 1).toULongLong();
    QVERIFY(far > GiB);

    // The first call after the grow is pointer() itself.
    const void* p = r.pointer(far, 4096);
    QVERIFY2(p, "pointer() did not remap to reach the grown part of the file");
    QCOMPARE(verifyPattern(p, 4096, seedForName("far")), -1);
    QCOMPARE(r.size(), GiB + 64 * MiB);
    auto stats = r.stats();
    QVERIFY(stats);
    QCOMPARE(stats->size, GiB + 64 * MiB);
    QCOMPARE(stats->arenaBytes, GiB + 64 * MiB - format::kArenaOffset);
    QCOMPARE(stats->generation, before->generation + 1);
    auto root = r.findRoot("far");
    QVERIFY(root);
    QCOMPARE(root->offset, far);
    // The walk reaches the sentinel at the new end of the arena.
    auto sane = r.checkSanity();
    QVERIFY2(sane, sane ? "" : sane.error().description.c_str());
    // This process allocates up there too.
    auto mine = r.allocate(8192);
    QVERIFY(mine);
    QVERIFY(*mine > GiB);
    fillPattern(r.pointer(*mine, 8192), 8192, 5);
    QCOMPARE(verifyPattern(r.pointer(*mine, 8192), 8192, 5), -1);
    r.stopHeartbeatThread();
    auto me = r.processes(std::chrono::milliseconds(1000));
    QVERIFY(me);
    QCOMPARE(me->size(), 1u);
    COMPARE_LIVENESS(me->front().liveness, Liveness::Alive);
}

void TestMultiprocess::autoGrowWithLimit()
{
    const QString path = nextPath();
    const std::uint64_t initial = 128 * KiB;
    const std::uint64_t limit = 2 * MiB;
    auto region = createRegion(path, initial, true, limit);
    QVERIFY(region);
    Region& r = **region;

    // Two processes fill the region at the same time; it grows for both, up to the limit.
    Children children;
    for (int i = 0; i < 2; ++i) {
        children.push_back(std::make_unique<ChildProcess>());
        QVERIFY(children.back()->start({ "fill", path, "8192" }));
    }
    std::uint64_t filled = 0;
    for (auto& child : children) {
        const QString line = child->waitForLine("filled");
        QVERIFY2(!line.isNull(), qPrintable(child->transcript()));
        QVERIFY2(line.contains(QLatin1String(errorMessage(RegionError::OutOfMemory))), qPrintable(line));
        QCOMPARE(fields(line).value("size"), limit);
        filled += line.section(QLatin1Char(' '), 1, 1).toULongLong();
    }
    const std::uint64_t perBlock = 8192 + format::kBlockHeaderBytes;
    const std::uint64_t arena = limit - format::kArenaOffset;
    // All but the last partial block's worth of the arena went to the two processes.
    QVERIFY2(filled * perBlock <= arena && filled * perBlock + 2 * perBlock > arena,
        qPrintable(QStringLiteral("%1 blocks").arg(filled)));

    auto stats = r.stats();
    QVERIFY(stats);
    QCOMPARE(stats->size, limit);
    QCOMPARE(QFileInfo(path).size(), qint64(limit));
    QVERIFY(stats->grows > 0);
    QCOMPARE(stats->generation, 1 + stats->grows);
    QCOMPARE(stats->usedBlocks, filled);
    QVERIFY(stats->largestFreeBlock < perBlock);
    QVERIFY(stats->failedAllocations >= 2);
    auto sane = r.checkSanity();
    QVERIFY2(sane, sane ? "" : sane.error().description.c_str());

    // The parent cannot grow past the limit either.
    QVERIFY(r.attach("parent"));
    auto more = r.allocate(8192);
    QVERIFY(!more);
    COMPARE_ERROR(more.error(), RegionError::OutOfMemory);
    auto beyond = r.resizeFile(limit + 4096);
    QVERIFY(!beyond);
    COMPARE_ERROR(beyond.error(), RegionError::LimitExceeded);
    QCOMPARE(r.size(), limit);

    // When the others detach, everything comes back.
    for (auto& child : children) {
        child->send("exit");
        QVERIFY(child->waitForExit());
        QCOMPARE(child->exitCode(), 0);
    }
    auto end = r.stats();
    QVERIFY(end);
    QCOMPARE(end->usedBlocks, 0u);
    QCOMPARE(end->freeBlocks, 1u);
    QCOMPARE(end->freeBytes, arena - format::kBlockHeaderBytes);
    QVERIFY(r.checkSanity());
}

void TestMultiprocess::shrinkToUsageTrimsOnlyTheFreeTail()
{
    const QString path = nextPath();
    auto region = createRegion(path, 4 * MiB);
    QVERIFY(region);
    Region& r = **region;
    QVERIFY(r.attach("shrinker"));

    // Another process owns the first block; the parent publishes a large one after it.
    ChildProcess writer;
    QVERIFY(writer.start({ "alloc-publish", path, "head", "100000" }));
    QVERIFY(!writer.waitForLine("offset").isNull());
    QVERIFY(writer.waitForExit());
    auto x = r.allocate(1 * MiB);
    QVERIFY(x);
    fillPattern(r.pointer(*x, 1 * MiB), 1 * MiB, seedForName("x"));
    QVERIFY(r.createRoot("x", *x));
    // A third process stays attached across the shrink.
    ChildProcess watcher;
    QVERIFY(watcher.start({ "attach-and-wait", path, "watcher" }));
    QVERIFY(!watcher.waitForLine("attached").isNull());

    const std::uint64_t generation = r.generation();
    auto blocks = r.blocks();
    QVERIFY(blocks);
    std::uint64_t lastUsedEnd = 0;
    for (const BlockInfo& b : *blocks) {
        if (!b.free)
            lastUsedEnd = b.offset + b.size;
    }
    auto shrunk = r.shrinkToUsage();
    QVERIFY2(shrunk, shrunk ? "" : errorName(shrunk.error()));
    QVERIFY(*shrunk < 4 * MiB);
    QVERIFY(*shrunk >= lastUsedEnd + format::kBlockHeaderBytes);
    QVERIFY(*shrunk < lastUsedEnd + format::kBlockHeaderBytes + format::kMinBlockBytes + 2 * format::kPageSize);
    QCOMPARE(*shrunk % format::kPageSize, 0u);
    QCOMPARE(r.size(), *shrunk);
    QCOMPARE(std::uint64_t(QFileInfo(path).size()), *shrunk);
    QCOMPARE(r.generation(), generation + 1);
    auto stats = r.stats();
    QVERIFY(stats);
    QCOMPARE(stats->shrinks, 1u);
    QVERIFY(r.checkSanity());
    QCOMPARE(verifyPattern(r.pointer(*x, 1 * MiB), 1 * MiB, seedForName("x")), -1);

    // Nothing more to trim: a second shrink changes nothing.
    auto again = r.shrinkToUsage();
    QVERIFY(again);
    QCOMPARE(*again, *shrunk);
    QCOMPARE(r.generation(), generation + 1);

    // The other processes see the smaller file and intact data.
    for (const auto& [root, bytes] : { std::pair { "head", "100000" }, std::pair { "x", "1048576" } }) {
        ChildProcess reader;
        QVERIFY(reader.start({ "read-root", path, root, bytes }));
        QVERIFY2(!reader.waitForLine("match").isNull(), qPrintable(reader.transcript()));
        QVERIFY(reader.waitForExit());
        QCOMPARE(reader.exitCode(), 0);
    }
    watcher.send("detach");
    QVERIFY2(!watcher.waitForLine("detached").isNull(), qPrintable(watcher.transcript()));
    QVERIFY(watcher.waitForExit());
    QCOMPARE(watcher.exitCode(), 0);

    // Fill the tail completely: a used last block is never trimmed.
    auto rest = r.stats();
    QVERIFY(rest);
    if (rest->largestFreeBlock >= format::kMinBlockBytes) {
        QVERIFY(r.allocate(rest->largestFreeBlock - format::kBlockHeaderBytes));
    }
    const std::uint64_t full = r.size();
    auto noTail = r.shrinkToUsage();
    QVERIFY(noTail);
    QCOMPARE(*noTail, full);
    QCOMPARE(r.size(), full);

    // Freeing the last blocks makes a free tail again, which the next shrink takes.
    QVERIFY(r.detach()); // frees the filler; x and head are published and stay
    QVERIFY(r.removeRoot("x"));
    auto smaller = r.shrinkToUsage();
    QVERIFY(smaller);
    QVERIFY(*smaller < full);
    QVERIFY(r.checkSanity());
    auto roots = r.roots();
    QVERIFY(roots);
    QCOMPARE(roots->size(), 1u);

    // And the region can grow again afterwards.
    QVERIFY(r.resizeFile(2 * MiB));
    QVERIFY(r.attach("again"));
    auto big = r.allocate(1 * MiB);
    QVERIFY2(big, big ? "" : errorName(big.error()));
    QVERIFY(r.checkSanity());
}

QTEST_GUILESS_MAIN(TestMultiprocess)
#include "tst_multiprocess.moc"
