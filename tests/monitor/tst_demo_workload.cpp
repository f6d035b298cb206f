// DemoWorkload against an EmbeddedBroker, with real worker processes (monitor_demo_worker): the
// tenants and services of its plan appear in GetTree with their variables and container roots of
// every kind, the variables keep changing, the workers are alive in GetProcesses with fresh
// heartbeats, a worker it kills turns dead and gets a replacement, its own cleanup frees the dead
// slot, rapid kills leave every root readable, destroying it leaves no worker process behind (and
// the broker's directory goes too), and a SIGKILLed parent's workers exit on their own (its
// abandoned directory is removed by the next demo broker).

#include <monitor/demo/demo_workload.h>
#include <monitor/demo/embedded_broker.h>

#include "demo_test_support.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QProcess>
#include <QScopeGuard>
#include <QSet>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <memory>

#include <csignal>

using namespace commy::monitor;
using namespace commy::monitor::test;
using commy::client::BrokerClient;
namespace protocol = commy::protocol;

namespace {

// No kills unless a test asks for them; quick writes.
DemoWorkload::Options quietOptions()
{
    DemoWorkload::Options options;
    options.writeInterval = std::chrono::milliseconds(100);
    options.killIntervalMin = std::chrono::milliseconds(0);
    options.killIntervalMax = std::chrono::milliseconds(0);
    options.cleanupDelay = std::chrono::milliseconds(0);
    return options;
}

const QSet<protocol::RootKind> kContainerKinds = { protocol::RootKind::Vec, protocol::RootKind::String,
    protocol::RootKind::Box, protocol::RootKind::HashMap, protocol::RootKind::HashSet, protocol::RootKind::BTreeMap,
    protocol::RootKind::BTreeSet, protocol::RootKind::Deque };

std::vector<protocol::ProcessEntry> workersOf(const protocol::ProcessesResult& result)
{
    std::vector<protocol::ProcessEntry> workers;
    for (const protocol::ProcessEntry& entry : result.processes) {
        if (entry.name != QLatin1String("commyd"))
            workers.push_back(entry);
    }
    return workers;
}

} // namespace

class TestDemoWorkload : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<EmbeddedBroker> m_broker;
    std::unique_ptr<DemoWorkload> m_workload;
    std::unique_ptr<BrokerClient> m_client;
    QList<qint64> m_seenPids;

    // Starts the broker and a workload with `options`, and connects m_client as admin.
    bool startDemo(const DemoWorkload::Options& options)
    {
        m_broker = std::make_unique<EmbeddedBroker>();
        if (!m_broker->start()) {
            qWarning() << m_broker->errorString();
            return false;
        }
        m_workload = std::make_unique<DemoWorkload>(options);
        connect(m_workload.get(), &DemoWorkload::workerStarted, this,
            [this](const QString&, const QString&, const QString&, qint64 pid) { m_seenPids.append(pid); });
        QSignalSpy started(m_workload.get(), &DemoWorkload::started);
        QSignalSpy failed(m_workload.get(), &DemoWorkload::errorOccurred);
        m_workload->start(m_broker->url(), m_broker->adminKey(), workerProgram());
        if (!started.wait(kWaitMs) || !failed.isEmpty()) {
            qWarning() << "workload did not start:" << m_workload->errorString();
            return false;
        }
        m_client = std::make_unique<BrokerClient>(clientOptions());
        const QString error = connectAsAdmin(*m_client, m_broker->url(), m_broker->adminKey());
        if (!error.isEmpty())
            qWarning() << error;
        return error.isEmpty();
    }

    std::vector<protocol::ProcessEntry> workersIn(const QString& tenant, const QString& service)
    {
        auto processes = call(*m_client, protocol::GetProcesses { tenant, service });
        return processes ? workersOf(*processes) : std::vector<protocol::ProcessEntry> {};
    }

    int expectedWorkers() const
    {
        int total = 0;
        for (const auto& service : DemoWorkload::plan())
            total += service.workers;
        return total;
    }

private slots:
    void initTestCase() { QVERIFY(QFileInfo(workerProgram()).isExecutable()); }

    void cleanup()
    {
        m_client.reset();
        m_workload.reset();
        for (qint64 pid : std::as_const(m_seenPids))
            QVERIFY2(!pidExists(pid), qPrintable(QStringLiteral("worker %1 outlived the workload").arg(pid)));
        m_seenPids.clear();
        const QString dataDir = m_broker ? m_broker->dataDir() : QString();
        m_broker.reset();
        QVERIFY(dataDir.isEmpty() || !QFileInfo::exists(dataDir));
    }

    void planHasTenantsWithSeveralServices()
    {
        QMap<QString, int> services;
        for (const auto& service : DemoWorkload::plan()) {
            ++services[service.tenant];
            QVERIFY(!service.variables.isEmpty());
            QVERIFY(service.workers >= 1);
        }
        QVERIFY(services.size() >= 3);
        for (int count : std::as_const(services))
            QVERIFY(count >= 2);
    }

    void provisionsTheTreeWithEveryRootKind()
    {
        QVERIFY(startDemo(quietOptions()));
        QVERIFY(m_workload->isRunning());
        QVERIFY(m_workload->errorString().isEmpty());

        // Once the workers have published their containers, every service shows them all.
        std::optional<protocol::TreeResult> tree;
        QString missing;
        const bool complete = waitUntil([&] {
            auto reply = call(*m_client, protocol::GetTree {});
            if (!reply)
                return false;
            tree = *reply;
            for (const auto& planned : DemoWorkload::plan()) {
                missing = planned.tenant + QLatin1Char('/') + planned.service;
                const protocol::ServiceTree* found = nullptr;
                for (const auto& tenant : tree->tenants) {
                    for (const auto& service : tenant.services) {
                        if (tenant.name == planned.tenant && service.name == planned.service)
                            found = &service;
                    }
                }
                if (!found)
                    return false;
                QSet<protocol::RootKind> kinds;
                QSet<QString> names;
                for (const auto& root : found->roots) {
                    kinds.insert(root.kind);
                    names.insert(root.name);
                }
                if (!kinds.contains(kContainerKinds))
                    return false;
                for (const QString& variable : planned.variables) {
                    if (!names.contains(variable))
                        return false;
                }
            }
            return true;
        });
        QVERIFY2(complete, qPrintable(QStringLiteral("incomplete: %1").arg(missing)));
        QVERIFY(tree->tenants.size() >= 3);
        // Regions of a few MiB, well below full.
        for (const auto& tenant : tree->tenants) {
            for (const auto& service : tenant.services) {
                QVERIFY(service.size <= 16 << 20);
                QVERIFY(service.used < service.size / 2);
            }
        }
    }

    void variablesKeepChanging()
    {
        QVERIFY(startDemo(quietOptions()));
        for (const auto& planned : DemoWorkload::plan()) {
            const QString variable = planned.variables.front();
            auto first = call(*m_client, protocol::ReadVariable { planned.tenant, planned.service, variable });
            QVERIFY2(first, qPrintable(failureOf(first)));
            QVERIFY(!first->value.isEmpty());
            QVERIFY(waitUntil([&] {
                auto now = call(*m_client, protocol::ReadVariable { planned.tenant, planned.service, variable });
                return now && now->version > first->version;
            }));
        }
    }

    void workersAreAliveWithHeartbeats()
    {
        QVERIFY(startDemo(quietOptions()));
        QVERIFY(waitUntil([&] { return m_workload->workerPids().size() == expectedWorkers(); }));
        const QList<qint64> pids = m_workload->workerPids();
        for (const auto& planned : DemoWorkload::plan()) {
            std::vector<protocol::ProcessEntry> workers;
            QVERIFY(waitUntil([&] {
                workers = workersIn(planned.tenant, planned.service);
                return int(workers.size()) == planned.workers;
            }));
            for (const auto& worker : workers) {
                QVERIFY2(pids.contains(worker.pid), qPrintable(worker.name));
                QVERIFY(worker.name.startsWith(planned.service + QLatin1Char('-')));
                QCOMPARE(worker.liveness, protocol::Liveness::Alive);
                QVERIFY(worker.heartbeatAgeMs < 1000);
            }
        }
    }

    void killedWorkerTurnsDeadAndIsReplaced()
    {
        DemoWorkload::Options options = quietOptions();
        options.killIntervalMin = std::chrono::milliseconds(500);
        options.killIntervalMax = std::chrono::milliseconds(800);
        options.replaceDelay = std::chrono::milliseconds(1000);
        QVERIFY(startDemo(options));
        QSignalSpy killed(m_workload.get(), &DemoWorkload::workerKilled);
        QSignalSpy started(m_workload.get(), &DemoWorkload::workerStarted);
        QVERIFY(killed.wait(kWaitMs));
        const QString tenant = killed.at(0).at(0).toString();
        const QString service = killed.at(0).at(1).toString();
        const QString name = killed.at(0).at(2).toString();
        const qint64 pid = killed.at(0).at(3).toLongLong();

        QVERIFY(waitUntil([&] {
            for (const auto& worker : workersIn(tenant, service)) {
                if (worker.pid == pid)
                    return worker.liveness == protocol::Liveness::Dead && worker.name == name;
            }
            return false;
        }));
        QVERIFY(!m_workload->workerPids().contains(pid));

        // A replacement with a new name starts for the same service.
        QVERIFY(waitUntil([&] {
            for (const auto& arguments : std::as_const(started)) {
                if (arguments.at(1).toString() == service && arguments.at(2).toString() != name)
                    return true;
            }
            return false;
        }));

        // The monitor's cleanup frees the dead slot (the workload's own is off here).
        auto cleaned = call(*m_client, protocol::CleanupRegion { tenant, service });
        QVERIFY2(cleaned, qPrintable(failureOf(cleaned)));
        bool freed = false;
        for (const auto& slot : cleaned->freedSlots)
            freed = freed || slot.pid == pid;
        // Another kill may have hit this service meanwhile; the pid is among those freed either way.
        QVERIFY(freed);
    }

    void workloadCleansUpDeadWorkersItself()
    {
        DemoWorkload::Options options = quietOptions();
        options.killIntervalMin = std::chrono::milliseconds(300);
        options.killIntervalMax = std::chrono::milliseconds(300);
        options.cleanupDelay = std::chrono::milliseconds(500);
        QVERIFY(startDemo(options));
        QSignalSpy killed(m_workload.get(), &DemoWorkload::workerKilled);
        QVERIFY(killed.wait(kWaitMs));
        const QString tenant = killed.at(0).at(0).toString();
        const QString service = killed.at(0).at(1).toString();
        const qint64 pid = killed.at(0).at(3).toLongLong();
        QVERIFY(waitUntil([&] {
            for (const auto& worker : workersIn(tenant, service)) {
                if (worker.pid == pid)
                    return false;
            }
            return true;
        }));
    }

    // Workers killed every few hundred milliseconds, some in the middle of a container operation or
    // holding the region lock: afterwards every region is still far from full and every root reads.
    void rapidKillsLeaveEveryRootReadable()
    {
        DemoWorkload::Options options = quietOptions();
        options.killIntervalMin = std::chrono::milliseconds(100);
        options.killIntervalMax = std::chrono::milliseconds(250);
        options.replaceDelay = std::chrono::milliseconds(200);
        options.cleanupDelay = std::chrono::milliseconds(400);
        QVERIFY(startDemo(options));
        QSignalSpy killed(m_workload.get(), &DemoWorkload::workerKilled);
        QVERIFY(waitUntil([&] { return killed.count() >= 20; }, 60000));
        m_workload->stop();
        QVERIFY(m_workload->workerPids().isEmpty());

        auto tree = call(*m_client, protocol::GetTree {});
        QVERIFY2(tree, qPrintable(failureOf(tree)));
        int roots = 0;
        for (const auto& tenant : tree->tenants) {
            for (const auto& service : tenant.services) {
                auto cleaned = call(*m_client, protocol::CleanupRegion { tenant.name, service.name });
                QVERIFY2(cleaned, qPrintable(failureOf(cleaned)));
                QVERIFY(workersIn(tenant.name, service.name).empty());
                auto stats = call(*m_client, protocol::GetRegionStats { tenant.name, service.name });
                QVERIFY2(stats, qPrintable(failureOf(stats)));
                QVERIFY(stats->used < stats->size / 2);
                for (const auto& root : service.roots) {
                    auto browsed = call(*m_client,
                        protocol::BrowseRoot { tenant.name, service.name, root.name, std::nullopt, qint64(10) });
                    QVERIFY2(browsed,
                        qPrintable(QStringLiteral("%1/%2/%3: %4")
                                       .arg(tenant.name, service.name, root.name, failureOf(browsed))));
                    ++roots;
                }
            }
        }
        QVERIFY(roots > 0);
        qInfo("%lld kills, %d roots read back", qint64(killed.count()), roots);
    }

    void destroyingTheWorkloadReapsEveryWorker()
    {
        DemoWorkload::Options options = quietOptions();
        QVERIFY(startDemo(options));
        QVERIFY(waitUntil([&] { return m_workload->workerPids().size() == expectedWorkers(); }));
        const QList<qint64> pids = m_workload->workerPids();
        for (qint64 pid : pids)
            QVERIFY(pidExists(pid));

        QElapsedTimer timer;
        timer.start();
        m_workload.reset();
        const qint64 stopMs = timer.elapsed();
        qInfo("stopping %lld workers took %lld ms", qint64(pids.size()), stopMs);
        QVERIFY(stopMs < options.stopTimeout.count() + 5000);
        for (qint64 pid : pids)
            QVERIFY2(!pidExists(pid), qPrintable(QString::number(pid)));

        // They exited cleanly: detached, so no slot is left behind in any region.
        for (const auto& planned : DemoWorkload::plan())
            QVERIFY(workersIn(planned.tenant, planned.service).empty());
    }

    // The parent holds its workers' stdin pipes: however it dies, they see end of file and exit.
    void killedParentTakesItsWorkersWithIt()
    {
        // Its broker's directory goes where this test can look for it afterwards.
        QTemporaryDir parentTemp;
        QVERIFY(parentTemp.isValid());
        QProcess parent;
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.insert(QStringLiteral("TMPDIR"), parentTemp.path());
        parent.setProcessEnvironment(environment);
        parent.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        QList<qint64> pids;
        QString brokerDir;
        auto cleanUp = qScopeGuard([&] {
            parent.kill();
            parent.waitForFinished(kWaitMs);
            for (qint64 pid : std::as_const(pids))
                ::kill(pid_t(pid), SIGKILL);
        });
        parent.start(workerProgram(), { QStringLiteral("--demo-parent") });
        QVERIFY(parent.waitForStarted(kWaitMs));
        bool ready = false;
        QVERIFY(waitUntil([&] {
            while (parent.canReadLine()) {
                const QString line = QString::fromUtf8(parent.readLine()).trimmed();
                if (line.startsWith(QLatin1String("dir ")))
                    brokerDir = line.mid(4);
                else if (line.startsWith(QLatin1String("worker ")))
                    pids.append(line.mid(7).toLongLong());
                else if (line == QLatin1String("ready"))
                    ready = true;
            }
            return ready || parent.state() == QProcess::NotRunning;
        }));
        QVERIFY(ready);
        QCOMPARE(pids.size(), expectedWorkers());
        QVERIFY(brokerDir.startsWith(parentTemp.path() + QStringLiteral("/commy-monitor-demo-")));
        for (qint64 pid : std::as_const(pids))
            QVERIFY(processRunning(pid));

        parent.kill();
        QVERIFY(parent.waitForFinished(kWaitMs));
        QElapsedTimer timer;
        timer.start();
        QVERIFY(waitUntil(
            [&] { return std::none_of(pids.begin(), pids.end(), [](qint64 pid) { return processRunning(pid); }); }));
        qInfo("%lld workers ended %lld ms after their parent was killed", qint64(pids.size()), timer.elapsed());

        // The killed broker could not remove its directory; the next demo broker there does.
        const QString abandoned = QFileInfo(brokerDir).absolutePath();
        QVERIFY(QFileInfo(abandoned).isDir());
        EmbeddedBroker live;
        live.setParentDirectory(parentTemp.path());
        QVERIFY2(live.start(), qPrintable(live.errorString()));
        QVERIFY(!QFileInfo::exists(abandoned));
        // A live broker's directory is kept.
        EmbeddedBroker next;
        next.setParentDirectory(parentTemp.path());
        QVERIFY2(next.start(), qPrintable(next.errorString()));
        QVERIFY(QFileInfo(live.dataDir()).isDir());
        QCOMPARE(QDir(parentTemp.path()).entryList(QDir::Dirs | QDir::NoDotAndDotDot).size(), 2);
    }

    void startFailsWithAWrongKey()
    {
        m_broker = std::make_unique<EmbeddedBroker>();
        QVERIFY(m_broker->start());
        m_workload = std::make_unique<DemoWorkload>(quietOptions());
        QSignalSpy failed(m_workload.get(), &DemoWorkload::errorOccurred);
        m_workload->start(m_broker->url(), QStringLiteral("nokey.nosecret0123456789abcdef"), workerProgram());
        QVERIFY(failed.wait(kWaitMs));
        QVERIFY(!m_workload->isRunning());
        QVERIFY(m_workload->errorString().contains(QStringLiteral("UNAUTHORIZED")));
        QVERIFY(m_workload->workerPids().isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestDemoWorkload)
#include "tst_demo_workload.moc"
