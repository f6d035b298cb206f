// The monitor's controllers against a real Broker and WebSocketServer in this process on 127.0.0.1,
// through ClientBrokerSource: the tree appears, a variable written by another client shows up, a worker
// process (broker_test_child) SIGKILLed turns dead in the process table, resize / shrink / cleanup
// round-trip with their reports, a key without admin cannot run them, a refused key and a refused
// certificate are their own statuses, and a reconnect resumes the Watch.

#include "broker_test_support.h"
#include "fake_broker_source.h"
#include "test_certificate.h"

#include <commy/broker/broker.h>
#include <commy/broker/websocket_server.h>

#include <monitor/block_map.h>
#include <monitor/controllers/broker_connection.h>
#include <monitor/controllers/client_broker_source.h>
#include <monitor/controllers/connection_model.h>
#include <monitor/controllers/monitor_controller.h>
#include <monitor/controllers/operations_controller.h>
#include <monitor/controllers/region_controller.h>
#include <monitor/models/event_model.h>
#include <monitor/models/hierarchy_model.h>
#include <monitor/models/process_model.h>
#include <monitor/models/roles.h>

#include <QAbstractItemModelTester>
#include <QJsonArray>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace commy;
using namespace commy::monitor;
using commy::broker::Broker;
using commy::broker::WebSocketServer;
using commy::broker::WebSocketServerOptions;
using commy::broker::testing::TestSession;

namespace {

constexpr int kWaitMs = 20'000;

QJsonObject svc() { return { { "tenant", "acme" }, { "service", "line1" } }; }

QJsonObject variable(const QString& name, const QByteArray& value)
{
    QJsonObject data = svc();
    data.insert("variable", name);
    data.insert("value", commy::broker::testing::base64(value));
    return data;
}

QJsonObject dataOf(const QJsonObject& reply) { return reply.value(QStringLiteral("data")).toObject(); }

bool hasEvent(const EventModel& events, EventKind kind, const QString& needle)
{
    for (int row = 0; row < events.rowCount(); ++row) {
        const QModelIndex index = events.index(row, 0);
        if (index.data(EventKindRole).toInt() == int(kind) && index.data(TextRole).toString().contains(needle))
            return true;
    }
    return false;
}

int processRow(const ProcessModel& processes, const QString& name)
{
    for (int row = 0; row < processes.rowCount(); ++row)
        if (processes.index(row, 0).data(NameRole).toString() == name)
            return row;
    return -1;
}

} // namespace

class TestMonitorEndToEnd : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void treeAppears();
    void variableChangeShowsUp();
    void killedWorkerTurnsDeadAndOperationsRoundTrip();
    void keyWithoutAdminCannotOperate();
    void refusedKeyIsAuthenticationFailed();
    void refusedCertificateIsTlsError();
    void reconnectResumesTheWatch();

private:
    bool startServer(WebSocketServerOptions options = {});
    std::unique_ptr<MonitorController> makeMonitor();
    QString connectionStatusOf(MonitorController& monitor, const QString& name) const;
    void waitConnected(MonitorController& monitor, const QString& name);

    QTemporaryDir m_settingsDir;
    QTemporaryDir m_certDir;
    commy::testing::TestCertificate m_certificate;
    std::unique_ptr<QTemporaryDir> m_dataDir;
    std::unique_ptr<Broker> m_broker;
    std::unique_ptr<WebSocketServer> m_server;
    std::unique_ptr<TestSession> m_admin;
    QString m_adminKey;
    std::unique_ptr<QProcess> m_worker;
};

void TestMonitorEndToEnd::initTestCase()
{
    QCoreApplication::setOrganizationName(QStringLiteral("commy-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_monitor_end_to_end"));
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QVERIFY(m_settingsDir.isValid());
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settingsDir.path());
    QVERIFY(m_certDir.isValid());
    m_certificate = commy::testing::makeTestCertificate(m_certDir.path());
    QVERIFY2(m_certificate.isValid(), qPrintable(m_certificate.error));
}

void TestMonitorEndToEnd::init()
{
    m_dataDir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dataDir->isValid());
    m_broker = commy::broker::testing::openBroker(m_dataDir->path());
    QVERIFY(m_broker);
    auto key = m_broker->bootstrapAdminKey();
    QVERIFY(key && key->has_value());
    m_adminKey = **key;
    m_admin = std::make_unique<TestSession>(*m_broker);
    QCOMPARE(m_admin->authenticateKey(m_adminKey), QStringLiteral("OK"));
    QCOMPARE(m_admin->call("CreateTenant", { { "tenant", "acme" } }), QStringLiteral("OK"));
    QJsonObject service = svc();
    service.insert("size", 1 << 20);
    service.insert("limit", 8 << 20);
    QCOMPARE(m_admin->call("CreateService", service), QStringLiteral("OK"));
    QCOMPARE(m_admin->call("AllocateVariable", variable("speed", "1")), QStringLiteral("OK"));
}

void TestMonitorEndToEnd::cleanup()
{
    // Children first (never left behind), then the server before the broker it serves.
    if (m_worker && m_worker->state() != QProcess::NotRunning) {
        m_worker->kill();
        m_worker->waitForFinished(5000);
    }
    m_worker.reset();
    m_server.reset();
    m_admin.reset();
    m_broker.reset();
    m_dataDir.reset();
}

bool TestMonitorEndToEnd::startServer(WebSocketServerOptions options)
{
    m_server = std::make_unique<WebSocketServer>(m_broker.get(), options);
    const auto listening = m_server->listen();
    if (!listening)
        qWarning("%s", qPrintable(listening.error()));
    return bool(listening);
}

std::unique_ptr<MonitorController> TestMonitorEndToEnd::makeMonitor()
{
    auto factory = [] {
        client::BrokerClient::Options options;
        options.initialBackoff = std::chrono::milliseconds(50);
        options.maxBackoff = std::chrono::milliseconds(400);
        options.connectTimeout = std::chrono::milliseconds(kWaitMs);
        options.requestTimeout = std::chrono::milliseconds(kWaitMs);
        return std::make_unique<ClientBrokerSource>(options);
    };
    return std::make_unique<MonitorController>(factory, std::make_unique<test::FakeKeyStore>());
}

QString TestMonitorEndToEnd::connectionStatusOf(MonitorController& monitor, const QString& name) const
{
    const ConnectionInfo* info = monitor.connections()->find(name);
    return info ? info->statusText : QStringLiteral("(none)");
}

void TestMonitorEndToEnd::waitConnected(MonitorController& monitor, const QString& name)
{
    QTRY_VERIFY2_WITH_TIMEOUT(
        monitor.connections()->find(name) && monitor.connections()->find(name)->status == ConnectionStatus::Connected,
        qPrintable(connectionStatusOf(monitor, name)), kWaitMs);
}

void TestMonitorEndToEnd::treeAppears()
{
    QVERIFY(startServer());
    auto monitor = makeMonitor();
    QAbstractItemModelTester tester(monitor->connections(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    monitor->addSessionConnection("local", m_server->url().toString(), m_adminKey);
    waitConnected(*monitor, "local");
    QTRY_VERIFY_WITH_TIMEOUT(monitor->isLoaded(), kWaitMs);
    const HierarchyModel& tree = *monitor->hierarchy();
    const QModelIndex speed = tree.indexOf({ "local", "acme", "line1", "speed" });
    QVERIFY(speed.isValid());
    QCOMPARE(speed.data(KindRole).toString(), QStringLiteral("string"));
    QCOMPARE(tree.indexOf({ "local" }).data(BrokerVersionRole).toString().isEmpty(), false);
    QCOMPARE(monitor->connections()->find("local")->scopes, QStringList { "server_admin" });
    // The Watch's first look brings the full statistics.
    QTRY_VERIFY_WITH_TIMEOUT(tree.indexOf({ "local", "acme", "line1" }).data(FreeRole).toULongLong() > 0, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(monitor->connections()->find("local")->rttMs >= 0, kWaitMs);
}

void TestMonitorEndToEnd::variableChangeShowsUp()
{
    QVERIFY(startServer());
    auto monitor = makeMonitor();
    monitor->addSessionConnection("local", m_server->url().toString(), m_adminKey);
    waitConnected(*monitor, "local");
    QTRY_VERIFY_WITH_TIMEOUT(monitor->isLoaded(), kWaitMs);
    BrokerConnection* connection = monitor->connection("local");
    // Subscribed to the service: wait for it, then write from another client.
    QTRY_VERIFY_WITH_TIMEOUT(dataOf(m_admin->request("GetBrokerInfo")).value("subscriptions").toInt() >= 1, kWaitMs);
    const QJsonObject written = m_admin->request("WriteVariable", variable("speed", "4242"));
    QCOMPARE(TestSession::outcome(written), QStringLiteral("OK"));
    const qint64 version = dataOf(written).value("version").toInteger();
    QTRY_VERIFY_WITH_TIMEOUT(hasEvent(*monitor->events(), EventKind::Variable, "\"4242\""), kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(
        monitor->hierarchy()->indexOf({ "local", "acme", "line1", "speed" }).data(VersionRole).toLongLong(), version,
        kWaitMs);
    QCOMPARE(connection->root("acme", "line1", "speed")->length, 4u);

    // A new variable is a new root: TreeChanged, then the tenant read again.
    QCOMPARE(m_admin->call("AllocateVariable", variable("fresh", "x")), QStringLiteral("OK"));
    QTRY_VERIFY_WITH_TIMEOUT(monitor->hierarchy()->indexOf({ "local", "acme", "line1", "fresh" }).isValid(), kWaitMs);
}

void TestMonitorEndToEnd::killedWorkerTurnsDeadAndOperationsRoundTrip()
{
    QVERIFY(startServer());
    const QString path = dataOf(m_admin->request("GetServiceFilePath", svc())).value("path").toString();
    QVERIFY(!path.isEmpty());
    m_worker = std::make_unique<QProcess>();
    m_worker->start(
        qEnvironmentVariable("COMMY_TEST_BIN_DIR") + "/broker_test_child", { "hold", path, "worker-1", "4096" });
    QVERIFY(m_worker->waitForStarted(5000));
    QTRY_VERIFY_WITH_TIMEOUT(m_worker->canReadLine(), kWaitMs);
    QVERIFY(m_worker->readLine().startsWith("ready"));

    auto monitor = makeMonitor();
    monitor->addSessionConnection("local", m_server->url().toString(), m_adminKey);
    waitConnected(*monitor, "local");
    QTRY_VERIFY_WITH_TIMEOUT(monitor->hierarchy()->indexOf({ "local", "acme", "line1" }).isValid(), kWaitMs);
    monitor->select({ "local", "acme", "line1" });
    RegionController* region = monitor->region();
    ProcessModel* processes = region->processes();
    QAbstractItemModelTester tester(processes, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QTRY_VERIFY_WITH_TIMEOUT(processRow(*processes, "worker-1") >= 0, kWaitMs);
    QCOMPARE(processes->index(processRow(*processes, "worker-1"), 0).data(LivenessRole).toInt(), int(Liveness::Alive));
    QTRY_VERIFY_WITH_TIMEOUT(region->blockMap()->blockCount() > 0, kWaitMs);

    m_worker->kill(); // SIGKILL: its slot and its unpublished block stay behind
    QVERIFY(m_worker->waitForFinished(5000));
    QTRY_COMPARE_WITH_TIMEOUT(processes->index(processRow(*processes, "worker-1"), 0).data(LivenessRole).toInt(),
        int(Liveness::Dead), kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(hasEvent(*monitor->events(), EventKind::Process, "worker-1"), kWaitMs);

    OperationsController* operations = monitor->operations();
    QVERIFY2(operations->canOperate(), qPrintable(operations->disabledReason()));
    QVERIFY(operations->describe("cleanup").contains("1 dead process"));
    QSignalSpy finished(operations, &OperationsController::finished);

    operations->cleanup();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWaitMs);
    QVERIFY2(finished.at(0).at(0).toBool(), qPrintable(operations->lastError()));
    QVERIFY2(operations->lastReport().contains("worker-1") && operations->lastReport().contains("reclaimed 1 block"),
        qPrintable(operations->lastReport()));
    QTRY_VERIFY_WITH_TIMEOUT(processRow(*processes, "worker-1") < 0, kWaitMs);

    operations->resize("2M");
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kWaitMs);
    QVERIFY2(finished.at(1).at(0).toBool(), qPrintable(operations->lastError()));
    QVERIFY2(operations->lastReport().contains("to 2.0 MiB"), qPrintable(operations->lastReport()));
    QTRY_COMPARE_WITH_TIMEOUT(region->size(), quint64(2 << 20), kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(monitor->hierarchy()->indexOf({ "local", "acme", "line1" }).data(SizeRole).toULongLong(),
        quint64(2 << 20), kWaitMs);

    operations->shrink();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 3, kWaitMs);
    QVERIFY2(finished.at(2).at(0).toBool(), qPrintable(operations->lastError()));
    QVERIFY2(operations->lastReport().startsWith("Shrank acme/line1"), qPrintable(operations->lastReport()));
    QTRY_VERIFY_WITH_TIMEOUT(region->size() < quint64(2 << 20), kWaitMs);

    // Beyond the limit: the controller refuses before the broker would.
    operations->resize("64M");
    QCOMPARE(finished.count(), 4);
    QVERIFY(operations->lastError().contains("limit"));
    QVERIFY(hasEvent(*monitor->events(), EventKind::Operation, "Cleaned up acme/line1"));
}

void TestMonitorEndToEnd::keyWithoutAdminCannotOperate()
{
    QVERIFY(startServer());
    const QJsonObject created
        = m_admin->request("CreateKey", { { "tenant", "acme" }, { "scopes", QJsonArray { "read", "subscribe" } } });
    const QString key = dataOf(created).value("key").toString();
    QVERIFY(!key.isEmpty());
    QCOMPARE(m_admin->call("CreateTenant", { { "tenant", "other" } }), QStringLiteral("OK"));

    auto monitor = makeMonitor();
    monitor->addSessionConnection("reader", m_server->url().toString(), "acme:" + key);
    waitConnected(*monitor, "reader");
    QTRY_VERIFY_WITH_TIMEOUT(monitor->hierarchy()->indexOf({ "reader", "acme", "line1", "speed" }).isValid(), kWaitMs);
    QVERIFY(!monitor->hierarchy()->indexOf({ "reader", "other" }).isValid()); // its own tenant only
    QCOMPARE(monitor->connections()->find("reader")->scopes, (QStringList { "read", "subscribe" }));

    monitor->select({ "reader", "acme", "line1" });
    OperationsController* operations = monitor->operations();
    QCOMPARE(operations->canOperate(), false);
    QVERIFY2(operations->disabledReason().contains("admin"), qPrintable(operations->disabledReason()));
    QSignalSpy finished(operations, &OperationsController::finished);
    QTRY_VERIFY_WITH_TIMEOUT(monitor->region()->size() > 0, kWaitMs);
    operations->resize("2M");
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWaitMs);
    QCOMPARE(finished.at(0).at(0).toBool(), false);
    QVERIFY2(operations->lastError().contains("PERMISSION_DENIED"), qPrintable(operations->lastError()));
    operations->cleanup();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kWaitMs);
    QVERIFY2(operations->lastError().contains("PERMISSION_DENIED"), qPrintable(operations->lastError()));
    // Still the reader's processes and statistics: read is enough for those.
    QTRY_VERIFY_WITH_TIMEOUT(monitor->region()->processes()->count() > 0, kWaitMs);
}

void TestMonitorEndToEnd::refusedKeyIsAuthenticationFailed()
{
    QVERIFY(startServer());
    auto monitor = makeMonitor();
    monitor->addSessionConnection("local", m_server->url().toString(), m_adminKey + "x");
    QTRY_VERIFY2_WITH_TIMEOUT(monitor->connections()->find("local")->status == ConnectionStatus::AuthenticationFailed,
        qPrintable(connectionStatusOf(*monitor, "local")), kWaitMs);
    QVERIFY(connectionStatusOf(*monitor, "local").contains("UNAUTHORIZED"));
    QTRY_VERIFY_WITH_TIMEOUT(monitor->isLoaded(), kWaitMs);
    // Not retried: the broker's session count drops back to the admin's own.
    QTRY_COMPARE_WITH_TIMEOUT(m_server->sessionCount(), 0, kWaitMs);
    QCOMPARE(monitor->connections()->find("local")->status, ConnectionStatus::AuthenticationFailed);
}

void TestMonitorEndToEnd::refusedCertificateIsTlsError()
{
    WebSocketServerOptions options;
    options.tlsCertificateFile = m_certificate.certificateFile;
    options.tlsKeyFile = m_certificate.keyFile;
    QVERIFY(startServer(options));
    QCOMPARE(m_server->url().scheme(), QStringLiteral("wss"));
    auto monitor = makeMonitor();
    monitor->addSessionConnection("secure", m_server->url().toString(), m_adminKey);
    QTRY_VERIFY2_WITH_TIMEOUT(monitor->connections()->find("secure")->status == ConnectionStatus::TlsError,
        qPrintable(connectionStatusOf(*monitor, "secure")), kWaitMs);
    QVERIFY2(connectionStatusOf(*monitor, "secure").contains("certificate", Qt::CaseInsensitive),
        qPrintable(connectionStatusOf(*monitor, "secure")));
    QTRY_VERIFY_WITH_TIMEOUT(monitor->isLoaded(), kWaitMs);
}

void TestMonitorEndToEnd::reconnectResumesTheWatch()
{
    QVERIFY(startServer());
    auto monitor = makeMonitor();
    monitor->addSessionConnection("local", m_server->url().toString(), m_adminKey);
    waitConnected(*monitor, "local");
    const HierarchyModel& tree = *monitor->hierarchy();
    QTRY_VERIFY_WITH_TIMEOUT(tree.indexOf({ "local", "acme", "line1" }).data(FreeRole).toULongLong() > 0, kWaitMs);

    const quint16 port = m_server->port();
    m_server.reset();
    QTRY_VERIFY2_WITH_TIMEOUT(monitor->connections()->find("local")->status == ConnectionStatus::Reconnecting,
        qPrintable(connectionStatusOf(*monitor, "local")), kWaitMs);
    QCOMPARE(monitor->connections()->find("local")->rttMs, -1);
    WebSocketServerOptions options;
    options.port = port;
    QVERIFY(startServer(options));
    waitConnected(*monitor, "local");

    // Free bytes come only with StatsUpdate pushes (the tree carries size, limit and used): after the
    // reconnect they still follow the region, so the Watch was sent again.
    QCOMPARE(m_admin->call("AllocateVariable", variable("big", QByteArray(20'000, 'x'))), QStringLiteral("OK"));
    const qint64 free = dataOf(m_admin->request("GetRegionStats", svc())).value("free").toInteger();
    QTRY_COMPARE_WITH_TIMEOUT(tree.indexOf({ "local", "acme", "line1" }).data(FreeRole).toLongLong(), free, kWaitMs);
}

QTEST_MAIN(TestMonitorEndToEnd)
#include "tst_monitor_end_to_end.moc"
