// Containers shared between processes: a reader process sees the committed states of a writer
// process (and only those), a waiter process wakes on a container change made by another one, and
// a writer SIGKILLed inside container operations, at every crash point and at random moments,
// leaves every container consistent, holding a state the writer committed, usable, and owning
// exactly the blocks the region has in use once cleanup() has reclaimed the dead process's.

#include "container_workload.h"
#include "shm_test_support.h"

#include <commy/shm/container_reader.h>
#include <commy/shm/region_format.h>
#include <commy/shm/shared_string.h>
#include <commy/shm/shared_vec.h>

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

struct Containers {
    SharedVec<std::int64_t> numbers;
    SharedVec<SharedString> words;
    SharedString text;
};

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
    // A fresh region with empty "numbers", "words" and "text", this process attached.
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
    if (!numbers || !words || !text)
        return false;
    containers = { *numbers, *words, *text };
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
    if (numbers && words && text) {
        state.numbers = std::move(*numbers);
        state.words = std::move(*words);
        state.text = std::move(*text);
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
    for (const char* name : { "numbers", "words", "text" }) {
        auto checked = checkContainer(*m_region, name);
        QVERIFY2(checked, checked ? "" : checked.error().description.c_str());
    }
}

void TestContainerProcesses::checkAfterKill(Containers& containers)
{
    for (const detail::ContainerRef* ref :
        { &containers.numbers.ref(), &containers.words.ref(), &containers.text.ref() })
        m_recoveries += ref->header()->recoveries;
    const WorkloadState before = readState(containers);
    QVERIFY(containers.numbers.push(424242));
    QVERIFY(containers.words.push("after the crash"));
    QVERIFY(containers.text.append("!"));
    WorkloadState after = readState(containers);
    QCOMPARE(after.numbers.back(), std::int64_t(424242));
    QCOMPARE(after.words.back(), std::string("after the crash"));
    QCOMPARE(after.text, before.text + "!");
    after.numbers.pop_back();
    after.words.pop_back();
    after.text.pop_back();
    QVERIFY(after == before);

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
    constexpr std::uint64_t kOps = 60;
    const std::vector<WorkloadState> states = workloadStates(kSeed, kOps);
    QElapsedTimer timer;
    timer.start();
    int points = 0;
    for (int n = 1;; ++n) {
        QVERIFY2(n < 5000, "the workload never ends without being killed");
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
                QFAIL(qPrintable(QStringLiteral("exit code %1: %2").arg(writer.exitCode()).arg(output)));
            QCOMPARE(done, kOps);
            QVERIFY(readState(containers) == states[kOps]);
            break;
        }
        QCOMPARE(writer.exitCode(), int(SIGKILL)); // killed at its crash point, not crashed
        ++points;
        checkContainers();
        const WorkloadState seen = readState(containers);
        const bool committed = seen == states[done] || (done < kOps && seen == states[done + 1]);
        QVERIFY2(committed,
            qPrintable(QStringLiteral("crash point %1: the containers hold no state the writer committed after %2 "
                                      "operations:\n%3")
                           .arg(n)
                           .arg(done)
                           .arg(output)));
        checkAfterKill(containers);
        if (QTest::currentTestFailed())
            QFAIL(qPrintable(QStringLiteral("at crash point %1").arg(n)));
    }
    qInfo("%d crash points over %llu operations, %llu operations recovered, %lld ms", points,
        static_cast<unsigned long long>(kOps), static_cast<unsigned long long>(m_recoveries),
        static_cast<long long>(timer.elapsed()));
    QVERIFY(points > static_cast<int>(kOps)); // several steps per operation
    QVERIFY(m_recoveries > 0);
    skipIfChecksDidNotRun();
}

void TestContainerProcesses::killedAtRandomMoments()
{
    constexpr std::uint64_t kOps = 200000;
    std::mt19937_64 rng(2024);
    int midway = 0;
    for (int round = 0; round < 12; ++round) {
        const std::uint64_t seed = 100 + static_cast<std::uint64_t>(round);
        Containers containers;
        QVERIFY(makeRegion(containers));
        ChildProcess writer;
        QVERIFY2(
            writer.start({ QStringLiteral("container-churn"), m_path, QString::number(seed), QString::number(kOps) }),
            qPrintable(writer.errorString()));
        QVERIFY(!expectLine(writer, "ready", 10000).isNull());
        // The kill lands at a random moment of the run, which the "ready" line started.
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 30000));
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
            found = model.numbers.size() == seen.numbers.size() && model.words.size() == seen.words.size()
                && model == seen;
        }
        QVERIFY2(found, qPrintable(QStringLiteral("round %1: no committed state matches").arg(round)));
        if (k > 0 && k < kOps)
            ++midway;
        checkAfterKill(containers);
        if (QTest::currentTestFailed())
            QFAIL(qPrintable(QStringLiteral("in round %1 after %2 operations").arg(round).arg(k)));
    }
    qInfo("%d of 12 writers were killed midway, %llu operations recovered", midway,
        static_cast<unsigned long long>(m_recoveries));
    QVERIFY(midway > 0);
    skipIfChecksDidNotRun();
}

QTEST_GUILESS_MAIN(TestContainerProcesses)
#include "tst_container_processes.moc"
