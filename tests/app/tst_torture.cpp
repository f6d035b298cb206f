// `commyctl region torture` and `region demo`: hundreds of worker processes SIGKILLed at random while
// they allocate, free and publish, and the region must come out consistent with nothing leaked.

#include "commyctl_runner.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>

using commy::testing::CtlResult;
using commy::testing::describe;
using commy::testing::runCommyctl;

namespace {

qint64 number(const QJsonObject& object, const QString& key)
{
    return static_cast<qint64>(object.value(key).toDouble(-1));
}

// Pids of the processes attached to the region that are alive.
QList<qint64> alivePids(const QString& path)
{
    const CtlResult result
        = runCommyctl({ QStringLiteral("region"), QStringLiteral("info"), path, QStringLiteral("--json") });
    QList<qint64> pids;
    for (const QJsonValue& value : result.json().value(QStringLiteral("processes")).toArray()) {
        const QJsonObject process = value.toObject();
        if (process.value(QStringLiteral("liveness")).toString() == QLatin1String("alive"))
            pids << number(process, QStringLiteral("pid"));
    }
    return pids;
}

// Checks what every run must leave behind, whether it ended by time, by signal or by failure.
void verifyRegionAfterRun(const QJsonObject& report, const QString& path)
{
    QVERIFY(report.value(QStringLiteral("checkPassed")).toBool());
    QCOMPARE(report.value(QStringLiteral("checkMessage")).toString(), QStringLiteral("consistent"));
    QVERIFY(report.value(QStringLiteral("leakAuditDone")).toBool());
    QCOMPARE(number(report, QStringLiteral("leakedBytes")), qint64(0));
    const CtlResult check = runCommyctl({ QStringLiteral("region"), QStringLiteral("check"), path });
    QVERIFY2(check.exitedWith(0), describe(check));
    QVERIFY(alivePids(path).isEmpty());
}

} // namespace

class TestTorture : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();

    void hundredsOfKillsLeaveTheRegionConsistent();
    void aWorkerThatDiesByItselfFailsTheRun();
    void sigintStopsTheRunWithAReport();
    void demoCleansUpItsTemporaryRegion();

private:
    QString regionPath() const { return m_dir->filePath(QStringLiteral("torture.region")); }
    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestTorture::initTestCase()
{
    QVERIFY2(QFileInfo(commy::testing::commyctlPath()).isExecutable(), "commyctl not found (COMMY_TEST_BIN_DIR)");
}

void TestTorture::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestTorture::hundredsOfKillsLeaveTheRegionConsistent()
{
    // --kills ends the run as soon as 320 workers were killed (about 6 s here, more under ASan);
    // --seconds only bounds a slow machine.
    QElapsedTimer timer;
    timer.start();
    const CtlResult result = runCommyctl(
        { QStringLiteral("region"), QStringLiteral("torture"), regionPath(), QStringLiteral("--workers"),
            QStringLiteral("4"), QStringLiteral("--seconds"), QStringLiteral("50"),
            QStringLiteral("--kill-interval-ms"), QStringLiteral("10"), QStringLiteral("--kills"),
            QStringLiteral("320"), QStringLiteral("--seed"), QStringLiteral("2024"), QStringLiteral("--json") },
        90'000);
    QVERIFY2(result.exitedWith(0), describe(result));
    const QJsonObject report = result.json();
    qInfo("torture: %.1f s, %lld ops (%.0f ops/s), %lld kills, %lld lock recoveries, %lld bytes reclaimed, %lld leaked "
          "(wall %lld ms)",
        report.value(QStringLiteral("durationSeconds")).toDouble(), number(report, QStringLiteral("operations")),
        report.value(QStringLiteral("opsPerSecond")).toDouble(), number(report, QStringLiteral("kills")),
        number(report, QStringLiteral("lockRecoveries")), number(report, QStringLiteral("reclaimedBytes")),
        number(report, QStringLiteral("leakedBytes")), static_cast<long long>(timer.elapsed()));

    QVERIFY(report.value(QStringLiteral("passed")).toBool());
    QVERIFY(report.value(QStringLiteral("workerFailures")).toArray().isEmpty());
    QVERIFY2(number(report, QStringLiteral("kills")) >= 300, describe(result));
    QVERIFY(number(report, QStringLiteral("spawned")) >= number(report, QStringLiteral("kills")) + 4);
    QVERIFY(number(report, QStringLiteral("operations")) > 0);
    // Kills that landed while the victim held the lock mid-mutation were repaired by the next locker.
    QVERIFY2(number(report, QStringLiteral("lockRecoveries")) > 0, describe(result));
    QVERIFY(number(report, QStringLiteral("reclaimedBytes")) > 0);
    verifyRegionAfterRun(report, regionPath());
}

void TestTorture::aWorkerThatDiesByItselfFailsTheRun()
{
    // No kills by the supervisor in this run: the one death is ours, and not a SIGKILL it sent.
    QProcess torture;
    torture.setProcessChannelMode(QProcess::SeparateChannels);
    torture.start(commy::testing::commyctlPath(),
        { QStringLiteral("region"), QStringLiteral("torture"), regionPath(), QStringLiteral("--workers"),
            QStringLiteral("2"), QStringLiteral("--seconds"), QStringLiteral("60"),
            QStringLiteral("--kill-interval-ms"), QStringLiteral("600000"), QStringLiteral("--json") });
    QVERIFY(torture.waitForStarted(10'000));
    // QTRY evaluates its condition again after success: latch the pids once both workers are seen.
    QList<qint64> pids;
    QTRY_VERIFY_WITH_TIMEOUT(pids.size() == 2 || (pids = alivePids(regionPath())).size() == 2, 20'000);
    QCOMPARE(::kill(static_cast<pid_t>(pids.first()), SIGTERM), 0);

    QVERIFY(torture.waitForFinished(30'000));
    QCOMPARE(torture.exitStatus(), QProcess::NormalExit);
    QCOMPARE(torture.exitCode(), 1);
    const QJsonObject report = QJsonDocument::fromJson(torture.readAllStandardOutput()).object();
    QVERIFY(!report.value(QStringLiteral("passed")).toBool());
    const QJsonArray failures = report.value(QStringLiteral("workerFailures")).toArray();
    QCOMPARE(failures.size(), 1);
    QVERIFY2(
        failures.first().toString().contains(QStringLiteral("worker %1 was killed by signal 15").arg(pids.first())),
        qPrintable(failures.first().toString()));
    QCOMPARE(number(report, QStringLiteral("kills")), qint64(0));
    verifyRegionAfterRun(report, regionPath());
}

void TestTorture::sigintStopsTheRunWithAReport()
{
    QProcess torture;
    torture.start(commy::testing::commyctlPath(),
        { QStringLiteral("region"), QStringLiteral("torture"), regionPath(), QStringLiteral("--workers"),
            QStringLiteral("3"), QStringLiteral("--seconds"), QStringLiteral("0"), QStringLiteral("--kill-interval-ms"),
            QStringLiteral("50"), QStringLiteral("--json") });
    QVERIFY(torture.waitForStarted(10'000));
    // Workers come and go every ~50 ms, so the condition flickers: latch the first time it holds. One live
    // worker is enough to interrupt a running torture; all three at once is rare when start-up (ASan) is
    // slower than the kill interval.
    bool workerRunning = false;
    QTRY_VERIFY_WITH_TIMEOUT(workerRunning || (workerRunning = !alivePids(regionPath()).isEmpty()), 30'000);
    QCOMPARE(::kill(static_cast<pid_t>(torture.processId()), SIGINT), 0);

    QVERIFY(torture.waitForFinished(30'000));
    QCOMPARE(torture.exitStatus(), QProcess::NormalExit);
    const QJsonObject report = QJsonDocument::fromJson(torture.readAllStandardOutput()).object();
    QVERIFY(report.value(QStringLiteral("interrupted")).toBool());
    QVERIFY(report.value(QStringLiteral("workerFailures")).toArray().isEmpty());
    QCOMPARE(torture.exitCode(), 0);
    verifyRegionAfterRun(report, regionPath());
}

void TestTorture::demoCleansUpItsTemporaryRegion()
{
    // TMPDIR points the demo's temporary directory into ours, where we can look for leftovers.
    QProcess demo;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("TMPDIR"), m_dir->path());
    demo.setProcessEnvironment(environment);
    demo.start(commy::testing::commyctlPath(),
        { QStringLiteral("region"), QStringLiteral("demo"), QStringLiteral("--seconds"), QStringLiteral("2"),
            QStringLiteral("--kill-interval-ms"), QStringLiteral("20") });
    QVERIFY(demo.waitForStarted(10'000));
    QVERIFY(demo.waitForFinished(60'000));
    const QString out = QString::fromUtf8(demo.readAllStandardOutput());
    QVERIFY2(demo.exitStatus() == QProcess::NormalExit && demo.exitCode() == 0, qPrintable(out));

    const QRegularExpressionMatch where = QRegularExpression(QStringLiteral("demo: 4 workers on (\\S+)")).match(out);
    QVERIFY2(where.hasMatch(), qPrintable(out));
    QVERIFY(where.captured(1).startsWith(m_dir->path()));
    QVERIFY(!QFileInfo::exists(QFileInfo(where.captured(1)).path()));
    QVERIFY2(out.contains(QStringLiteral("ops/s")), qPrintable(out)); // at least one live line
    QVERIFY2(out.contains(QStringLiteral("leaked bytes      0 ")), qPrintable(out));
    QVERIFY2(out.contains(QStringLiteral("result            PASS")), qPrintable(out));
}

QTEST_GUILESS_MAIN(TestTorture)
#include "tst_torture.moc"
