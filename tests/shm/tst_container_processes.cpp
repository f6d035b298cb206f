// Containers shared between processes: a reader process sees the committed states of a writer
// process (and only those), a waiter process wakes on a container change made by another one, and
// a writer SIGKILLed inside operations on containers of every kind, at crash points (every one of
// its first ~100 operations, a sample after) and at random moments, leaves every container
// consistent, holding a state the writer committed, usable, and owning exactly the blocks the
// region has in use once cleanup() has reclaimed the dead process's.

#include "container_workload.h"
#include "shm_test_support.h"

#include <commy/shm/container_reader.h>
#include <commy/shm/region_format.h>
#include <commy/shm/shared_box.h>
#include <commy/shm/shared_btree_map.h>
#include <commy/shm/shared_btree_set.h>
#include <commy/shm/shared_hash_map.h>
#include <commy/shm/shared_hash_set.h>
#include <commy/shm/shared_string.h>
#include <commy/shm/shared_vec.h>
#include <commy/shm/shared_vec_deque.h>

#include <QElapsedTimer>
#include <QtTest>

#include <chrono>
#include <csignal>
#include <random>
#include <set>
#include <thread>

using namespace commy::shm;
using namespace commy::shmtest;

namespace {

constexpr std::uint64_t kRegionBytes = 4 << 20;

// The child's next line starting with `prefix`, or a null QString after printing what the child
// wrote (only then: reading the transcript consumes the child's output).
QString expectLine(ChildProcess& child, const char* prefix, int timeoutMs = 10000)
{
    const QString line = child.waitForLine(QString::fromLatin1(prefix), timeoutMs);
    if (line.isNull())
        qWarning("no '%s' line from the child: %s", prefix, qPrintable(child.transcript()));
    return line;
}

// One container of every kind, named as in WorkloadState.
struct Containers {
    SharedVec<std::int64_t> numbers;
    SharedVec<SharedString> words;
    SharedString text;
    SharedHashMap<std::int64_t, SharedString> labels;
    SharedHashSet<std::int64_t> tags;
    SharedBTreeMap<std::int64_t, std::int64_t> index;
    SharedBTreeSet<SharedString> names;
    SharedVecDeque<std::int64_t> queue;
    SharedBox<WorkloadBox> box;

    std::vector<const detail::ContainerRef*> refs() const
    {
        return { &numbers.ref(), &words.ref(), &text.ref(), &labels.ref(), &tags.ref(), &index.ref(), &names.ref(),
            &queue.ref(), &box.ref() };
    }
};

constexpr const char* kContainerNames[]
    = { "numbers", "words", "text", "labels", "tags", "index", "names", "queue", "box" };

// The container an operation changes (an index into kContainerNames).
int containerOf(WorkloadOpKind kind)
{
    switch (kind) {
    case WorkloadOpKind::PushNumber:
    case WorkloadOpKind::PopNumber:
    case WorkloadOpKind::InsertNumber:
    case WorkloadOpKind::RemoveNumber:
    case WorkloadOpKind::SetNumber:
    case WorkloadOpKind::ExtendNumbers:
    case WorkloadOpKind::ClearNumbers:
    case WorkloadOpKind::ShrinkNumbers:
        return 0;
    case WorkloadOpKind::PushWord:
    case WorkloadOpKind::PopWord:
    case WorkloadOpKind::InsertWord:
    case WorkloadOpKind::RemoveWord:
    case WorkloadOpKind::SetWord:
    case WorkloadOpKind::ClearWords:
    case WorkloadOpKind::ShrinkWords:
        return 1;
    case WorkloadOpKind::AppendText:
    case WorkloadOpKind::AssignText:
    case WorkloadOpKind::PopText:
        return 2;
    case WorkloadOpKind::PutLabel:
    case WorkloadOpKind::RemoveLabel:
    case WorkloadOpKind::ClearLabels:
    case WorkloadOpKind::ShrinkLabels:
        return 3;
    case WorkloadOpKind::InsertTag:
    case WorkloadOpKind::RemoveTag:
    case WorkloadOpKind::ClearTags:
    case WorkloadOpKind::ShrinkTags:
        return 4;
    case WorkloadOpKind::PutIndex:
    case WorkloadOpKind::RemoveIndex:
        return 5;
    case WorkloadOpKind::InsertName:
    case WorkloadOpKind::RemoveName:
        return 6;
    case WorkloadOpKind::PushQueueBack:
    case WorkloadOpKind::PushQueueFront:
    case WorkloadOpKind::PopQueueBack:
    case WorkloadOpKind::PopQueueFront:
    case WorkloadOpKind::SetQueue:
    case WorkloadOpKind::ExtendQueue:
    case WorkloadOpKind::ClearQueue:
    case WorkloadOpKind::ShrinkQueue:
        return 7;
    case WorkloadOpKind::SetBox:
    case WorkloadOpKind::ModifyBox:
        return 8;
    }
    return -1;
}

} // namespace

class TestContainerProcesses : public QObject {
    Q_OBJECT

private slots:
    void init()
    {
        QVERIFY(m_dir.isValid());
        m_recoveries = 0;
    }
    void cleanup() { m_region.reset(); }

    void readerSeesOnlyCommittedStates();
    void waiterWakesOnAnotherProcesssChange();
    void killedAtEveryCrashPoint();
    void killedAtRandomMoments();

private:
    // A fresh region with the empty containers of WorkloadState, this process attached.
    bool makeRegion(Containers& containers);
    WorkloadState readState(Containers& containers);
    // Every container passes checkContainer() (whose lock recovers what the killed writer left).
    void checkContainers();
    // The next operation on each container works, and after cleanup() the region is sane and
    // every block in use belongs to a root.
    void checkAfterKill(Containers& containers);
    void auditBlocks();
    // checkContainer() and containerBlocks() need the walkers of vectors and strings; without them
    // (before their family is merged) the tests run the rest and then skip, saying so.
    void skipIfChecksDidNotRun();

    RegionTempDir m_dir;
    QString m_path;
    int m_counter = 0;
    std::unique_ptr<Region> m_region;
    std::uint64_t m_recoveries = 0;
    bool m_haveWalkers = false;
};

bool TestContainerProcesses::makeRegion(Containers& containers)
{
    m_region.reset();
    if (!m_path.isEmpty())
        QFile::remove(m_path);
    m_path = m_dir.filePath(QStringLiteral("p%1.region").arg(++m_counter));
    auto created = createRegion(m_path, kRegionBytes);
    if (!created || !(*created)->attach("tst_container_processes"))
        return false;
    m_region = std::move(*created);
    auto numbers = SharedVec<std::int64_t>::create(*m_region, "numbers");
    auto words = SharedVec<SharedString>::create(*m_region, "words");
    auto text = SharedString::create(*m_region, "text");
    auto labels = SharedHashMap<std::int64_t, SharedString>::create(*m_region, "labels");
    auto tags = SharedHashSet<std::int64_t>::create(*m_region, "tags");
    auto index = SharedBTreeMap<std::int64_t, std::int64_t>::create(*m_region, "index");
    auto names = SharedBTreeSet<SharedString>::create(*m_region, "names");
    auto queue = SharedVecDeque<std::int64_t>::create(*m_region, "queue");
    auto box = SharedBox<WorkloadBox>::create(*m_region, "box");
    if (!numbers || !words || !text || !labels || !tags || !index || !names || !queue || !box)
        return false;
    containers = { *numbers, *words, *text, *labels, *tags, *index, *names, *queue, *box };
    auto numbersReader = ContainerReader::open(*m_region, "numbers");
    auto textReader = ContainerReader::open(*m_region, "text");
    m_haveWalkers = numbersReader && textReader;
    return true;
}

void TestContainerProcesses::skipIfChecksDidNotRun()
{
    if (!m_haveWalkers)
        QSKIP("everything but checkContainer() and the block audit passed: this build has no walker for vectors "
              "and strings yet (it comes with container_walk_linear)");
}

WorkloadState TestContainerProcesses::readState(Containers& containers)
{
    WorkloadState state;
    auto numbers = containers.numbers.toStd();
    auto words = containers.words.toStd();
    auto text = containers.text.toStd();
    auto labels = containers.labels.toStd();
    auto tags = containers.tags.toStd();
    auto index = containers.index.toStd();
    auto names = containers.names.toStd();
    auto queue = containers.queue.toStd();
    auto box = containers.box.get();
    if (numbers && words && text && labels && tags && index && names && queue && box) {
        state.numbers = std::move(*numbers);
        state.words = std::move(*words);
        state.text = std::move(*text);
        state.labels.insert(labels->begin(), labels->end());
        state.tags.insert(tags->begin(), tags->end());
        state.index = std::move(*index);
        state.names = std::move(*names);
        state.queue = std::move(*queue);
        state.box = *box;
    } else {
        state.text = "<unreadable>";
    }
    return state;
}

void TestContainerProcesses::auditBlocks()
{
    auto stats = m_region->stats();
    QVERIFY(stats);
    std::set<std::uint64_t> owned { stats->rootTableOffset };
    std::size_t claimed = 1;
    auto roots = m_region->roots();
    QVERIFY(roots);
    for (const RootInfo& root : *roots) {
        if (root.kind == RootKind::Bytes) {
            owned.insert(root.offset);
            ++claimed;
            continue;
        }
        auto blocks = containerBlocks(*m_region, root.name);
        QVERIFY2(blocks, blocks ? "" : errorName(blocks.error()));
        owned.insert(blocks->begin(), blocks->end());
        claimed += blocks->size();
    }
    QCOMPARE(owned.size(), claimed); // no block belongs to two roots
    auto blocks = m_region->blocks();
    QVERIFY(blocks);
    std::set<std::uint64_t> used;
    for (const BlockInfo& block : *blocks) {
        if (!block.free)
            used.insert(block.offset + format::kBlockHeaderBytes);
    }
    QString leaked, missing;
    for (const std::uint64_t offset : used) {
        if (!owned.count(offset))
            leaked += QStringLiteral(" %1").arg(offset);
    }
    for (const std::uint64_t offset : owned) {
        if (!used.count(offset))
            missing += QStringLiteral(" %1").arg(offset);
    }
    QVERIFY2(leaked.isEmpty() && missing.isEmpty(),
        qPrintable(
            QStringLiteral("blocks in use that no root owns:%1; owned blocks not in use:%2").arg(leaked, missing)));
}

void TestContainerProcesses::checkContainers()
{
    if (!m_haveWalkers)
        return;
    for (const char* name : kContainerNames) {
        auto checked = checkContainer(*m_region, name);
        QVERIFY2(checked, checked ? "" : checked.error().description.c_str());
    }
}

void TestContainerProcesses::checkAfterKill(Containers& containers)
{
    for (const detail::ContainerRef* ref : containers.refs())
        m_recoveries += ref->header()->recoveries;
    // One change to every container, with keys and values no workload operation uses.
    const WorkloadState before = readState(containers);
    WorkloadState expected = before;
    QVERIFY(containers.numbers.push(424242));
    expected.numbers.push_back(424242);
    QVERIFY(containers.words.push("after the crash"));
    expected.words.push_back("after the crash");
    QVERIFY(containers.text.append("!"));
    expected.text += "!";
    QVERIFY(containers.labels.insert(-1, "after the crash"));
    expected.labels[-1] = "after the crash";
    QVERIFY(containers.tags.insert(-1));
    expected.tags.insert(-1);
    QVERIFY(containers.index.insert(-1, 424242));
    expected.index[-1] = 424242;
    QVERIFY(containers.names.insert("after the crash"));
    expected.names.insert("after the crash");
    QVERIFY(containers.queue.pushFront(424242));
    expected.queue.push_front(424242);
    const WorkloadBox box { { 1, 2, 3, 4, 5, 6, 7, 8 } };
    QVERIFY(containers.box.set(box));
    expected.box = box;
    QVERIFY(readState(containers) == expected);

    auto cleaned = m_region->cleanup();
    QVERIFY(cleaned);
    auto sane = m_region->checkSanity();
    QVERIFY2(sane, sane ? "" : sane.error().description.c_str());
    if (m_haveWalkers) {
        checkContainers();
        auditBlocks();
    }
}

void TestContainerProcesses::readerSeesOnlyCommittedStates()
{
    Containers containers;
    QVERIFY(makeRegion(containers));
    constexpr int kPushes = 3000;
    ChildProcess reader;
    QVERIFY2(
        reader.start({ QStringLiteral("container-reader"), m_path, QString::number(kPushes), QStringLiteral("60000") }),
        qPrintable(reader.errorString()));
    QVERIFY(!expectLine(reader, "ready", 10000).isNull());
    ChildProcess writer;
    QVERIFY2(writer.start({ QStringLiteral("container-writer"), m_path, QString::number(kPushes) }),
        qPrintable(writer.errorString()));
    QVERIFY(!expectLine(writer, "done", 60000).isNull());
    const QString observed = expectLine(reader, "observed", 60000);
    QVERIFY(!observed.isNull());
    QVERIFY(reader.waitForExit());
    QCOMPARE(reader.exitCode(), 0);
    const int states = observed.section(QLatin1Char(' '), 1, 1).toInt();
    QVERIFY2(states >= 2, qPrintable(observed)); // the empty state and the final one at least
    qInfo("reader observed %d distinct committed states of %d pushes x 3 containers", states, kPushes);

    WorkloadState expected;
    for (int i = 1; i <= kPushes; ++i) {
        expected.numbers.push_back(i);
        expected.words.push_back("w" + std::to_string(i));
        expected.text += std::to_string(i) + ",";
    }
    QVERIFY(readState(containers) == expected);
    checkContainers();
    skipIfChecksDidNotRun();
}

void TestContainerProcesses::waiterWakesOnAnotherProcesssChange()
{
    Containers containers;
    QVERIFY(makeRegion(containers));
    const std::uint64_t before = m_region->changeSequence();
    ChildProcess waiter;
    QVERIFY2(
        waiter.start({ QStringLiteral("container-waiter"), m_path, QString::number(before), QStringLiteral("30000") }),
        qPrintable(waiter.errorString()));
    QVERIFY(!expectLine(waiter, "waiting", 10000).isNull());

    ChildProcess pusher;
    QVERIFY2(
        pusher.start({ QStringLiteral("container-push"), m_path, QStringLiteral("numbers"), QStringLiteral("42") }),
        qPrintable(pusher.errorString()));
    const QString pushed = expectLine(pusher, "pushed", 10000);
    QVERIFY(!pushed.isNull());
    const QStringList pushedWords = pushed.split(QLatin1Char(' '));
    const std::uint64_t slot = pushedWords.value(1).toULongLong();
    const std::uint64_t version = pushedWords.value(2).toULongLong();

    const QString woke = expectLine(waiter, "woke", 10000);

    QVERIFY(!woke.isNull());
    QVERIFY(woke.section(QLatin1Char(' '), 1, 1).toULongLong() > before);
    QStringList changes;
    for (QString line = waiter.readLine(); !line.isNull() && line != QLatin1String("end"); line = waiter.readLine())
        changes << line;
    QCOMPARE(changes.size(), 1);
    QCOMPARE(
        changes[0], QStringLiteral("change %1 %2 %3").arg(containers.numbers.ref().offset()).arg(version).arg(slot));
    QCOMPARE(containers.numbers.version(), version);
    auto all = containers.numbers.toStd();
    QVERIFY(all && *all == std::vector<std::int64_t> { 42 });
    QVERIFY(waiter.waitForExit());
    QVERIFY(pusher.waitForExit());
}

void TestContainerProcesses::killedAtEveryCrashPoint()
{
    constexpr std::uint64_t kSeed = 11;
    // The first cycle of the B-trees (see treesGrow()), which is checked below on the model.
    constexpr std::uint64_t kOps = kFirstTreeCycle;
    // The run has over 5000 crash points and each costs a process that replays the run up to it:
    // every point up to kEveryPointUpTo (the first ~100 operations), then one in kSampleGap on
    // average, at seeded random gaps so that no step of an operation is skipped systematically.
    constexpr int kEveryPointUpTo = 400;
    constexpr int kSampleGap = 10;
    const std::vector<WorkloadState> states = workloadStates(kSeed, kOps);
    std::size_t peakIndex = 0, peakNames = 0, lowIndexAfterPeak = 0, lowNamesAfterPeak = 0;
    for (const WorkloadState& state : states) {
        if (state.index.size() > peakIndex)
            lowIndexAfterPeak = peakIndex = state.index.size();
        lowIndexAfterPeak = std::min(lowIndexAfterPeak, state.index.size());
        if (state.names.size() > peakNames)
            lowNamesAfterPeak = peakNames = state.names.size();
        lowNamesAfterPeak = std::min(lowNamesAfterPeak, state.names.size());
    }
    // A tree of nodes of c elements is one leaf up to c elements and a root over leaves from
    // c + 1 on; past 2c + 1 it has three leaves or more. So the run splits the root leaf and then
    // other leaves, and later, below c, has merged its leaves back into one root leaf.
    constexpr std::uint64_t indexNode = SharedBTreeMap<std::int64_t, std::int64_t>::geometry().capacity;
    constexpr std::uint64_t namesNode = SharedBTreeSet<SharedString>::geometry().capacity;
    QVERIFY2(peakIndex > 2 * indexNode + 1 && lowIndexAfterPeak < indexNode,
        qPrintable(QStringLiteral("index: peak %1, then down to %2").arg(peakIndex).arg(lowIndexAfterPeak)));
    QVERIFY2(peakNames > 2 * namesNode + 1 && lowNamesAfterPeak < namesNode,
        qPrintable(QStringLiteral("names: peak %1, then down to %2").arg(peakNames).arg(lowNamesAfterPeak)));

    std::mt19937_64 gaps(kSeed);
    QElapsedTimer timer;
    timer.start();
    int points = 0;
    int lastPoint = 0;
    int endPoint = 0;
    std::uint64_t tallest = 0;
    int perContainer[std::size(kContainerNames)] = {};
    for (int n = 1;; n += n < kEveryPointUpTo ? 1 : 1 + static_cast<int>(gaps() % (2 * kSampleGap - 1))) {
        QVERIFY2(n < 100000, "the workload never ends without being killed");
        Containers containers;
        QVERIFY(makeRegion(containers));
        ChildProcess writer;
        QVERIFY2(writer.start({ QStringLiteral("container-crash"), m_path, QString::number(kSeed),
                     QString::number(kOps), QString::number(n) }),
            qPrintable(writer.errorString()));
        QVERIFY(writer.waitForExit(30000));
        // Every operation that printed its line had committed; the one in progress may have too.
        std::uint64_t done = 0;
        const QString output = QString::fromUtf8(writer.process().readAllStandardOutput());
        for (const QString& line : output.split(QLatin1Char('\n'))) {
            if (line.startsWith(QLatin1String("op ")))
                done = line.mid(3).toULongLong() + 1;
        }
        if (writer.exitedNormally()) {
            if (writer.exitCode() != 3)
                QFAIL(qPrintable(QStringLiteral("exit code %1: %2").arg(writer.exitCode()).arg(output.right(2000))));
            QCOMPARE(done, kOps);
            QVERIFY(readState(containers) == states[kOps]);
            endPoint = n;
            break;
        }
        QCOMPARE(writer.exitCode(), int(SIGKILL)); // killed at its crash point, not crashed
        QVERIFY(done < kOps);
        ++points;
        lastPoint = n;
        ++perContainer[containerOf(workloadOp(kSeed, done, states[done]).kind)];
        checkContainers();
        const WorkloadState seen = readState(containers);
        const bool committed = seen == states[done] || seen == states[done + 1];
        QVERIFY2(committed,
            qPrintable(QStringLiteral("crash point %1: the containers hold no state the writer committed after %2 "
                                      "operations:\n%3")
                           .arg(n)
                           .arg(done)
                           .arg(output.right(2000))));
        auto height = containers.index.height();
        QVERIFY(height);
        tallest = std::max(tallest, *height);
        checkAfterKill(containers);
        if (QTest::currentTestFailed())
            QFAIL(qPrintable(QStringLiteral("at crash point %1").arg(n)));
    }
    QString spread;
    for (std::size_t c = 0; c < std::size(kContainerNames); ++c)
        spread += QStringLiteral(" %1 %2").arg(QLatin1String(kContainerNames[c])).arg(perContainer[c]);
    qInfo("killed at %d of the %d to %d crash points of %llu operations (index peaks at %zu entries, names at %zu), "
          "%llu operations recovered, %lld ms; killed inside operations on:%s",
        points, lastPoint, endPoint - 1, static_cast<unsigned long long>(kOps), peakIndex, peakNames,
        static_cast<unsigned long long>(m_recoveries), static_cast<long long>(timer.elapsed()), qPrintable(spread));
    QVERIFY(lastPoint > 3 * static_cast<int>(kOps)); // several steps per operation
    QVERIFY(m_recoveries > 0);
    QCOMPARE(tallest, std::uint64_t(2)); // the killed writers left trees of two levels too
    for (std::size_t c = 0; c < std::size(kContainerNames); ++c)
        QVERIFY2(perContainer[c] > 0, kContainerNames[c]);
    skipIfChecksDidNotRun();
}

void TestContainerProcesses::killedAtRandomMoments()
{
    constexpr std::uint64_t kOps = 200000;
    std::mt19937_64 rng(2024);
    int midway = 0;
    std::uint64_t longest = 0;
    std::size_t largestIndex = 0, largestNames = 0;
    for (int round = 0; round < 12; ++round) {
        const std::uint64_t seed = 100 + static_cast<std::uint64_t>(round);
        Containers containers;
        QVERIFY(makeRegion(containers));
        ChildProcess writer;
        QVERIFY2(
            writer.start({ QStringLiteral("container-churn"), m_path, QString::number(seed), QString::number(kOps) }),
            qPrintable(writer.errorString()));
        QVERIFY(!expectLine(writer, "ready", 10000).isNull());
        // The kill lands at a random moment of the run, which the "ready" line started: up to a few
        // thousand operations in, where the B-trees hold a few hundred entries (see treesGrow()).
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 120000));
        writer.killAndReap();
        QCOMPARE(writer.exitCode(), writer.exitedNormally() ? 0 : int(SIGKILL));

        // The containers hold the state after some number k of the writer's operations.
        checkContainers();
        const WorkloadState seen = readState(containers);
        WorkloadState model;
        std::uint64_t k = 0;
        bool found = model == seen;
        for (; !found && k < kOps; ++k) {
            applyWorkloadOp(workloadOp(seed, k, model), model);
            found = sameSizes(model, seen) && model == seen;
        }
        QVERIFY2(found, qPrintable(QStringLiteral("round %1: no committed state matches").arg(round)));
        if (k > 0 && k < kOps)
            ++midway;
        longest = std::max(longest, k);
        largestIndex = std::max(largestIndex, seen.index.size());
        largestNames = std::max(largestNames, seen.names.size());
        checkAfterKill(containers);
        if (QTest::currentTestFailed())
            QFAIL(qPrintable(QStringLiteral("in round %1 after %2 operations").arg(round).arg(k)));
    }
    qInfo("%d of 12 writers were killed midway (after up to %llu operations, with up to %zu entries in index and "
          "%zu in names), %llu operations recovered",
        midway, static_cast<unsigned long long>(longest), largestIndex, largestNames,
        static_cast<unsigned long long>(m_recoveries));
    QVERIFY(midway > 0);
    skipIfChecksDidNotRun();
}

QTEST_GUILESS_MAIN(TestContainerProcesses)
#include "tst_container_processes.moc"
