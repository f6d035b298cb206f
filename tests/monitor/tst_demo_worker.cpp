// runDemoWorker as its own process (monitor_demo_worker) on a region this test creates: it attaches
// and heartbeats, publishes container roots of every kind (shared by the workers of a region), holds
// unpublished blocks, and exits 0 - detached, its blocks freed - at end of stdin or on SIGTERM. A
// SIGKILLed worker leaves a dead slot whose blocks cleanup() reclaims, with the region sane. Bad
// arguments and a missing region are exit codes, not hangs.

#include <monitor/demo/demo_worker.h>

#include "demo_test_support.h"

#include <commy/shm/region.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <map>
#include <memory>

using namespace commy::monitor::test;
using namespace commy::shm;

namespace {

const std::map<std::string, RootKind> kExpectedRoots = {
    { "readings", RootKind::Vec },
    { "cycles", RootKind::Box },
    { "status", RootKind::String },
    { "events", RootKind::VecDeque },
    { "inventory", RootKind::HashMap },
    { "orders", RootKind::BTreeMap },
    { "alarms", RootKind::HashSet },
    { "tickets", RootKind::BTreeSet },
};

} // namespace

class TestDemoWorker : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<Region> m_region;
    std::vector<std::unique_ptr<QProcess>> m_workers;

    QString regionPath() const { return m_dir.filePath(QStringLiteral("demo.region")); }

    QProcess* startWorker(const QString& name, const QStringList& arguments = {})
    {
        auto process = std::make_unique<QProcess>();
        process->setProcessChannelMode(QProcess::ForwardedErrorChannel);
        process->start(workerProgram(),
            arguments.isEmpty() ? QStringList { QStringLiteral("--demo-worker"), regionPath(), name } : arguments);
        m_workers.push_back(std::move(process));
        return m_workers.back().get();
    }

    std::optional<ProcessInfo> processNamed(const std::string& name)
    {
        auto processes = m_region->processes();
        if (!processes)
            return std::nullopt;
        for (const ProcessInfo& process : *processes) {
            if (process.name == name)
                return process;
        }
        return std::nullopt;
    }

    bool allRootsPublished()
    {
        auto roots = m_region->roots();
        if (!roots)
            return false;
        std::size_t found = 0;
        for (const RootInfo& root : *roots) {
            auto expected = kExpectedRoots.find(root.name);
            if (expected != kExpectedRoots.end() && expected->second == root.kind)
                ++found;
        }
        return found == kExpectedRoots.size();
    }

    std::uint64_t blocksOwnedBy(std::uint32_t slot)
    {
        auto blocks = m_region->blocks();
        if (!blocks)
            return 0;
        std::uint64_t owned = 0;
        for (const BlockInfo& block : *blocks)
            owned += !block.free && block.ownerSlot == slot;
        return owned;
    }

    static int finish(QProcess* process)
    {
        if (!process->waitForFinished(kWaitMs))
            return -1000;
        return process->exitStatus() == QProcess::NormalExit ? process->exitCode() : -1;
    }

private slots:
    void initTestCase() { QVERIFY(QFileInfo(workerProgram()).isExecutable()); }

    void init()
    {
        QVERIFY(m_dir.isValid());
        RegionOptions options;
        options.mode = OpenMode::CreateOnly;
        options.size = 4 << 20;
        auto region = Region::open(regionPath().toStdString(), options);
        QVERIFY(region);
        m_region = std::move(*region);
    }

    void cleanup()
    {
        for (const auto& worker : m_workers) {
            if (worker->state() != QProcess::NotRunning) {
                worker->kill();
                worker->waitForFinished(kWaitMs);
            }
        }
        m_workers.clear();
        m_region.reset();
        QFile::remove(regionPath());
    }

    void attachesHeartbeatsAndPublishesEveryKind()
    {
        QProcess* worker = startWorker(QStringLiteral("press-1"));
        QVERIFY(worker->waitForStarted(kWaitMs));
        QVERIFY(waitUntil([&] { return processNamed("press-1").has_value(); }));
        const ProcessInfo process = *processNamed("press-1");
        QCOMPARE(qint64(process.pid), worker->processId());
        QVERIFY(waitUntil([&] { return worker->canReadLine(); }));
        QCOMPARE(worker->readLine().trimmed(), QByteArray("attached ") + QByteArray::number(process.slot));
        QVERIFY(waitUntil([&] { return allRootsPublished(); }));
        QVERIFY(waitUntil([&] { return blocksOwnedBy(process.slot) > 0; }));

        // Heartbeats keep coming: the slot stays alive and its heartbeat moves on.
        const std::uint64_t firstBeat = processNamed("press-1")->lastHeartbeatNs;
        QVERIFY(waitUntil([&] { return processNamed("press-1")->lastHeartbeatNs > firstBeat; }));
        QCOMPARE(processNamed("press-1")->liveness, Liveness::Alive);

        // The containers keep changing.
        auto cycles = m_region->findRoot("cycles");
        QVERIFY(cycles);
        const std::uint64_t version = cycles->version;
        QVERIFY(waitUntil([&] { return m_region->findRoot("cycles")->version > version + 2; }));

        // End of stdin (what a dead parent's pipe gives) ends it cleanly.
        worker->closeWriteChannel();
        QCOMPARE(finish(worker), 0);
        QVERIFY(!processNamed("press-1"));
        QCOMPARE(blocksOwnedBy(process.slot), std::uint64_t(0));
        QVERIFY(m_region->checkSanity());
    }

    void sigtermEndsItCleanly()
    {
        QProcess* worker = startWorker(QStringLiteral("term-1"));
        QVERIFY(waitUntil([&] { return processNamed("term-1").has_value() && allRootsPublished(); }));
        const std::uint32_t slot = processNamed("term-1")->slot;
        worker->terminate();
        QCOMPARE(finish(worker), 0);
        QVERIFY(!processNamed("term-1"));
        QCOMPARE(blocksOwnedBy(slot), std::uint64_t(0));
        QVERIFY(m_region->checkSanity());
    }

    void workersShareTheRoots()
    {
        QProcess* first = startWorker(QStringLiteral("a-1"));
        QProcess* second = startWorker(QStringLiteral("a-2"));
        QVERIFY(waitUntil([&] { return processNamed("a-1") && processNamed("a-2") && allRootsPublished(); }));
        auto roots = m_region->roots();
        QVERIFY(roots);
        QCOMPARE(roots->size(), kExpectedRoots.size());
        first->closeWriteChannel();
        second->terminate();
        QCOMPARE(finish(first), 0);
        QCOMPARE(finish(second), 0);
        QVERIFY(m_region->checkSanity());
    }

    void killedWorkerIsDeadAndCleanupReclaimsItsBlocks()
    {
        QProcess* worker = startWorker(QStringLiteral("victim-1"));
        QVERIFY(waitUntil([&] { return processNamed("victim-1").has_value(); }));
        const std::uint32_t slot = processNamed("victim-1")->slot;
        QVERIFY(waitUntil([&] { return blocksOwnedBy(slot) > 0 && allRootsPublished(); }));
        worker->kill();
        QVERIFY(worker->waitForFinished(kWaitMs));
        QCOMPARE(processNamed("victim-1")->liveness, Liveness::Dead);

        auto report = m_region->cleanup();
        QVERIFY(report);
        QCOMPARE(report->freedSlots.size(), std::size_t(1));
        QCOMPARE(report->freedSlots.front().name, std::string("victim-1"));
        QVERIFY(report->reclaimedBlocks > 0);
        QVERIFY(!processNamed("victim-1"));
        QVERIFY(m_region->checkSanity());

        // A successor picks the containers up where the dead one left them.
        QProcess* successor = startWorker(QStringLiteral("victim-2"));
        QVERIFY(waitUntil([&] { return processNamed("victim-2").has_value(); }));
        const std::uint64_t version = m_region->findRoot("readings")->version;
        QVERIFY(waitUntil([&] { return m_region->findRoot("readings")->version > version + 2; }));
        successor->closeWriteChannel();
        QCOMPARE(finish(successor), 0);
        QVERIFY(m_region->checkSanity());
    }

    void badArgumentsAndAMissingRegionFail()
    {
        QProcess* usage = startWorker({}, { QStringLiteral("--demo-worker"), regionPath() });
        QCOMPARE(finish(usage), 2);
        QProcess* missing = startWorker({},
            { QStringLiteral("--demo-worker"), m_dir.filePath(QStringLiteral("absent.region")), QStringLiteral("x") });
        QCOMPARE(finish(missing), 1);
    }
};

QTEST_GUILESS_MAIN(TestDemoWorker)
#include "tst_demo_worker.moc"
