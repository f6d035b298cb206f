// commyctl's broker commands, run as real processes against a Broker and WebSocketServer that this
// test serves from its own event loop on 127.0.0.1 (ws, and wss with a certificate made at test
// time): every command, text and --json output, exit codes (0 done, 1 refused by the broker, 2 could
// not connect or authenticate, 64 bad usage) and their messages.

#include "commyctl_runner.h"

#include "broker_test_support.h"
#include "test_certificate.h"

#include <commy/broker/broker.h>
#include <commy/broker/websocket_server.h>

#include <QFile>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <csignal>

using commy::broker::Broker;
using commy::broker::PeerInfo;
using commy::broker::SessionHandler;
using commy::broker::SessionId;
using commy::broker::SessionOutput;
using commy::broker::WebSocketServer;
using commy::broker::WebSocketServerOptions;
using commy::broker::testing::TestSession;
using commy::testing::CommyctlProcess;
using commy::testing::CtlResult;
using commy::testing::describe;
using commy::testing::runCommyctlServed;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitCannotOpen = 2;
constexpr int kExitUsage = 64;
constexpr int kWaitMs = 30'000;

const QString acme = QStringLiteral("acme");
const QString line1 = QStringLiteral("line1");

QStringList lines(const QByteArray& text)
{
    return QString::fromUtf8(text).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
}

// Forwards to the broker; after it answers a Subscribe, adds one push of its own to the same
// session, so that the reply and a push reach the client in one read.
class PushAfterSubscribe final : public SessionHandler {
public:
    explicit PushAfterSubscribe(SessionHandler& target)
        : m_target(target)
    {
    }
    SessionId openSession(const PeerInfo& peer, SessionOutput* output) override
    {
        const SessionId session = m_target.openSession(peer, output);
        m_outputs[session] = output;
        return session;
    }
    void closeSession(SessionId session) override
    {
        m_outputs.erase(session);
        m_target.closeSession(session);
    }
    void handleFrame(SessionId session, QByteArrayView frame) override
    {
        m_target.handleFrame(session, frame);
        if (enabled && frame.toByteArray().contains(R"("type":"Subscribe")"))
            m_outputs.at(session)->sendPush({ acme, line1, QStringLiteral("speed"), QByteArray("early"), 2, 1, false });
    }
    bool enabled = false;

private:
    SessionHandler& m_target;
    std::map<SessionId, SessionOutput*> m_outputs;
};

} // namespace

class TestCommyctlRemote : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();
    void cleanupTestCase();

    void helpListsEveryBrokerCommand();
    void usageErrors_data();
    void usageErrors();
    void tenantCommands();
    void keyCommands();
    void serviceCommands();
    void varCommands();
    void varBase64Values();
    void compareAndSetMismatch();
    void watchPrintsWrites();
    void watchJson();
    void watchCountReachedWithTheSubscribeReply();
    void watchStopsOnSignal_data();
    void watchStopsOnSignal();
    void watchEndsWhenTheBrokerGoes();
    void keyTenant();
    void wrongKeyCannotAuthenticate();
    void missingScopeIsPermissionDenied();
    void unreachableBroker();
    void wssWithCaCert();

private:
    static bool sharesTheBroker();
    void tearDown();
    bool startServer(WebSocketServerOptions options = {});
    // commyctl --url <server> --key KEY [--key-tenant T] args..., run to its end.
    CtlResult ctl(const QStringList& args, const QString& key = {}, const QString& keyTenant = {});
    QStringList connection(const QString& key = {}, const QString& keyTenant = {}) const;
    // Tenant acme, service line1; returns a key of acme with `scopes`.
    QString provision(const QStringList& scopes);
    // In-process, as the admin: "OK" or the error code.
    QString write(const QString& variable, const QByteArray& value, bool allocate = false);

    QTemporaryDir m_certDir;
    commy::testing::TestCertificate m_certificate;
    std::unique_ptr<QTemporaryDir> m_dataDir;
    std::unique_ptr<Broker> m_broker;
    std::unique_ptr<PushAfterSubscribe> m_handler;
    std::unique_ptr<WebSocketServer> m_server;
    std::unique_ptr<TestSession> m_admin;
    QString m_adminKey;
};

void TestCommyctlRemote::initTestCase()
{
    QVERIFY2(QFile::exists(commy::testing::commyctlPath()), qPrintable(commy::testing::commyctlPath()));
    QVERIFY(m_certDir.isValid());
    m_certificate = commy::testing::makeTestCertificate(m_certDir.path());
    QVERIFY2(m_certificate.isValid(), qPrintable(m_certificate.error));
}

// The usage rows never reach the broker: they share one, which saves a key derivation (PBKDF2)
// per row.
bool TestCommyctlRemote::sharesTheBroker() { return qstrcmp(QTest::currentTestFunction(), "usageErrors") == 0; }

void TestCommyctlRemote::init()
{
    if (m_broker && sharesTheBroker())
        return;
    tearDown();
    m_dataDir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dataDir->isValid());
    m_broker = commy::broker::testing::openBroker(m_dataDir->path());
    QVERIFY(m_broker);
    auto key = m_broker->bootstrapAdminKey();
    QVERIFY(key && key->has_value());
    m_adminKey = **key;
    m_handler = std::make_unique<PushAfterSubscribe>(*m_broker);
    m_admin = std::make_unique<TestSession>(*m_broker);
    QCOMPARE(m_admin->authenticateKey(m_adminKey), QStringLiteral("OK"));
}

void TestCommyctlRemote::cleanup()
{
    if (!sharesTheBroker())
        tearDown();
}

void TestCommyctlRemote::cleanupTestCase() { tearDown(); }

void TestCommyctlRemote::tearDown()
{
    m_server.reset();
    m_admin.reset();
    m_handler.reset();
    m_broker.reset();
    m_dataDir.reset();
}

bool TestCommyctlRemote::startServer(WebSocketServerOptions options)
{
    m_server = std::make_unique<WebSocketServer>(m_handler.get(), options);
    const auto listening = m_server->listen();
    if (!listening)
        qWarning("%s", qPrintable(listening.error()));
    return bool(listening);
}

QStringList TestCommyctlRemote::connection(const QString& key, const QString& keyTenant) const
{
    QStringList args { QStringLiteral("--url"), m_server->url().toString(), QStringLiteral("--key"),
        key.isEmpty() ? m_adminKey : key };
    if (!keyTenant.isEmpty())
        args << QStringLiteral("--key-tenant") << keyTenant;
    return args;
}

CtlResult TestCommyctlRemote::ctl(const QStringList& args, const QString& key, const QString& keyTenant)
{
    return runCommyctlServed(connection(key, keyTenant) + args, kWaitMs);
}

QString TestCommyctlRemote::provision(const QStringList& scopes)
{
    if (m_admin->call(QStringLiteral("CreateTenant"), QJsonObject { { QStringLiteral("tenant"), acme } }) != u"OK")
        return {};
    if (m_admin->call(QStringLiteral("CreateService"),
            QJsonObject { { QStringLiteral("tenant"), acme }, { QStringLiteral("service"), line1 } })
        != u"OK")
        return {};
    const QJsonObject reply = m_admin->request(QStringLiteral("CreateKey"),
        QJsonObject {
            { QStringLiteral("tenant"), acme }, { QStringLiteral("scopes"), QJsonArray::fromStringList(scopes) } });
    return reply.value(QLatin1String("data")).toObject().value(QLatin1String("key")).toString();
}

QString TestCommyctlRemote::write(const QString& variable, const QByteArray& value, bool allocate)
{
    return m_admin->call(allocate ? QStringLiteral("AllocateVariable") : QStringLiteral("WriteVariable"),
        QJsonObject { { QStringLiteral("tenant"), acme }, { QStringLiteral("service"), line1 },
            { QStringLiteral("variable"), variable },
            { QStringLiteral("value"), commy::broker::testing::base64(value) } });
}

// --- Usage -------------------------------------------------------------------------------------

void TestCommyctlRemote::helpListsEveryBrokerCommand()
{
    const CtlResult result = runCommyctlServed({ QStringLiteral("--help") });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    const QString text = QString::fromUtf8(result.out);
    for (const char* command :
        { "tenant create", "tenant delete", "tenant list", "key create", "key revoke", "key list", "service create",
            "service delete", "service list", "service info", "var alloc", "var set", "var get", "var rm", "var list",
            "var watch", "--url", "--key", "--key-tenant", "--ca-cert", "--insecure" })
        QVERIFY2(text.contains(QLatin1String(command)), command);

    const CtlResult one = runCommyctlServed({ QStringLiteral("var"), QStringLiteral("set"), QStringLiteral("--help") });
    QVERIFY2(one.exitedWith(kExitOk), describe(one).constData());
    QVERIFY(one.out.contains("--expected-version"));
}

void TestCommyctlRemote::usageErrors_data()
{
    QTest::addColumn<QStringList>("args"); // after "--url ws://127.0.0.1:<port> --key <admin key>"
    QTest::addColumn<bool>("withConnection");
    QTest::addColumn<QString>("message"); // a part of stderr

    const auto row = [](const char* name, QStringList args, const char* message, bool withConnection = true) {
        QTest::newRow(name) << args << withConnection << QString::fromLatin1(message);
    };
    row("nothing", {}, "missing command", false);
    row("no command after the options", {}, "missing command");
    row("unknown option", { "--bogus", "tenant", "list" }, "unknown or incomplete option '--bogus'");
    row("connection option after the group", { "tenant", "list", "--url" }, "Unknown option 'url'");
    row("url without value", { "--url" }, "unknown or incomplete option '--url'", false);
    row("no url or key", { "tenant", "list" }, "--url and --key are required", false);
    row("unknown command", { "tenant", "frob" }, "unknown command 'frob'");
    row("missing command", { "key" }, "missing command");
    row("missing argument", { "tenant", "create" }, "missing NAME");
    row("extra argument", { "tenant", "create", "a", "b" }, "unexpected argument 'b'");
    row("unknown scope", { "key", "create", "acme", "--scopes", "read,fly" }, "unknown scope 'fly'");
    row("no scopes", { "key", "create", "acme" }, "--scopes is required");
    row("bad size", { "service", "create", "acme", "s", "--size", "lots" }, "--size: 'lots' is not a size");
    row("bad limit", { "service", "create", "acme", "s", "--limit", "-1" }, "--limit");
    row("bad expected version", { "var", "set", "acme", "s", "v", "x", "--expected-version", "one" },
        "--expected-version");
    row("bad base64", { "var", "set", "acme", "s", "v", "!!!", "--base64" }, "VALUE is not base64");
    row("bad count", { "var", "watch", "acme", "s", "--count", "0" }, "--count");
    row("connection options with region", { "region", "info", "x" },
        "connection options apply to broker commands only");
}

void TestCommyctlRemote::usageErrors()
{
    QFETCH(QStringList, args);
    QFETCH(bool, withConnection);
    QFETCH(QString, message);
    if (!m_server)
        QVERIFY(startServer());
    const QStringList all = withConnection ? connection() + args : args;
    const CtlResult result = runCommyctlServed(all, kWaitMs);
    QVERIFY2(result.exitedWith(kExitUsage), describe(result).constData());
    QVERIFY2(result.err.contains(message.toUtf8()), describe(result).constData());
    QVERIFY(result.out.isEmpty());
    // Refused before connecting: the broker saw no session.
    QCOMPARE(m_broker->counters().sessions, qint64(1)); // the test's own admin session
}

// --- Commands ----------------------------------------------------------------------------------

void TestCommyctlRemote::tenantCommands()
{
    QVERIFY(startServer());
    CtlResult result = ctl({ "tenant", "create", "acme" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QVERIFY(result.out.isEmpty());
    QVERIFY2(ctl({ "tenant", "create", "beta" }).exitedWith(kExitOk), "create beta");

    result = ctl({ "tenant", "list" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(lines(result.out), (QStringList { "acme\tservices 0", "beta\tservices 0" }));

    result = ctl({ "tenant", "list", "--json" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(result.out, &error);
    QVERIFY2(error.error == QJsonParseError::NoError, result.out.constData());
    const QJsonArray tenants = document.object().value(QLatin1String("tenants")).toArray();
    QCOMPARE(tenants.size(), 2);
    QCOMPARE(tenants[0].toObject().value(QLatin1String("name")).toString(), acme);
    QCOMPARE(tenants[0].toObject().value(QLatin1String("services")).toInt(-1), 0);

    result = ctl({ "tenant", "create", "acme" });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    QVERIFY2(result.err.contains("ALREADY_EXISTS"), describe(result).constData());
    result = ctl({ "tenant", "create", "../etc" });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    QVERIFY2(result.err.contains("INVALID_REQUEST"), describe(result).constData());

    result = ctl({ "tenant", "delete", "beta" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    result = ctl({ "tenant", "list", "--json" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(result.json().value(QLatin1String("tenants")).toArray().size(), 1);
    result = ctl({ "tenant", "delete", "beta" });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    QVERIFY2(result.err.contains("NOT_FOUND"), describe(result).constData());
    result = ctl({ "tenant", "delete", "beta", "--json" });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    QVERIFY(result.out.isEmpty());
}

void TestCommyctlRemote::keyCommands()
{
    QVERIFY(startServer());
    QVERIFY2(ctl({ "tenant", "create", "acme" }).exitedWith(kExitOk), "tenant create");
    QVERIFY2(ctl({ "service", "create", "acme", "line1" }).exitedWith(kExitOk), "service create");

    CtlResult result = ctl({ "key", "create", "acme", "--scopes", "read,write", "--name", "plc" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    const QStringList created = lines(result.out);
    QCOMPARE(created.size(), 2);
    QVERIFY(created[0].startsWith(QLatin1String("key_id ")));
    QVERIFY(created[1].startsWith(QLatin1String("key ")));
    const QString keyId = created[0].mid(7);
    const QString key = created[1].mid(4);
    QVERIFY(!keyId.isEmpty());
    QVERIFY(!key.isEmpty());
    QVERIFY2(result.err.contains("shown only now"), describe(result).constData());

    result = ctl({ "key", "create", "acme", "--scopes", "read", "--json" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    const QString readerId = result.json().value(QLatin1String("key_id")).toString();
    QVERIFY(!readerId.isEmpty());
    QVERIFY(!result.json().value(QLatin1String("key")).toString().isEmpty());

    result = ctl({ "key", "list", "acme" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QStringList listed = lines(result.out);
    listed.sort();
    QStringList expected { keyId + QStringLiteral("\tplc\tread,write"), readerId + QStringLiteral("\t-\tread") };
    expected.sort();
    QCOMPARE(listed, expected);
    QVERIFY(!result.out.contains(key.toUtf8())); // never the key itself

    result = ctl({ "key", "list", "acme", "--json" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    const QJsonArray keys = result.json().value(QLatin1String("keys")).toArray();
    QCOMPARE(keys.size(), 2);
    for (const QJsonValue& entry : keys) {
        const QJsonObject object = entry.toObject();
        QVERIFY(object.contains(QLatin1String("key_id")));
        QVERIFY(object.value(QLatin1String("scopes")).isArray());
        if (object.value(QLatin1String("key_id")).toString() == keyId) {
            QCOMPARE(object.value(QLatin1String("name")).toString(), QStringLiteral("plc"));
            QCOMPARE(object.value(QLatin1String("scopes")).toArray(), (QJsonArray { "read", "write" }));
        }
    }

    // The created key works, for its tenant.
    result = ctl({ "var", "alloc", "acme", "line1", "speed", "1" }, key, acme);
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(lines(result.out), QStringList { QStringLiteral("version 1") });

    // Revoked, it fails to authenticate: exit 2 and a clear message.
    result = ctl({ "key", "revoke", "acme", keyId });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    result = ctl({ "var", "get", "acme", "line1", "speed" }, key, acme);
    QVERIFY2(result.exitedWith(kExitCannotOpen), describe(result).constData());
    QVERIFY2(result.err.contains("authentication failed: UNAUTHORIZED"), describe(result).constData());
    QVERIFY(result.out.isEmpty());

    result = ctl({ "key", "list", "acme", "--json" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(result.json().value(QLatin1String("keys")).toArray().size(), 1);
    // A tenant key cannot carry server_admin; the broker says so.
    result = ctl({ "key", "create", "acme", "--scopes", "read,server_admin" });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    QVERIFY2(result.err.contains("INVALID_REQUEST"), describe(result).constData());
    result = ctl({ "key", "revoke", "acme", "nosuchkey" });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    QVERIFY2(result.err.contains("NOT_FOUND"), describe(result).constData());
}

void TestCommyctlRemote::serviceCommands()
{
    QVERIFY(startServer());
    QVERIFY2(ctl({ "tenant", "create", "acme" }).exitedWith(kExitOk), "tenant create");

    CtlResult result = ctl({ "service", "create", "acme", "line1", "--size", "64K", "--limit", "1M" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(lines(result.out), QStringList { QStringLiteral("line1\tsize 64.0 KiB\tlimit 1.0 MiB\tvariables 0") });

    result = ctl({ "service", "create", "acme", "line2", "--json" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QJsonObject info = result.json();
    QCOMPARE(info.value(QLatin1String("name")).toString(), QStringLiteral("line2"));
    QCOMPARE(info.value(QLatin1String("size")).toInteger(), qint64(1) << 20); // the broker's default
    QVERIFY(info.contains(QLatin1String("limit")));
    QCOMPARE(info.value(QLatin1String("variables")).toInteger(-1), qint64(0));

    QCOMPARE(write(QStringLiteral("speed"), "1", true), QStringLiteral("OK"));
    result = ctl({ "service", "info", "acme", "line1" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(lines(result.out), QStringList { QStringLiteral("line1\tsize 64.0 KiB\tlimit 1.0 MiB\tvariables 1") });
    result = ctl({ "service", "info", "acme", "line1", "--json" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    info = result.json();
    QCOMPARE(info.value(QLatin1String("size")).toInteger(), qint64(64) << 10);
    QCOMPARE(info.value(QLatin1String("limit")).toInteger(), qint64(1) << 20);
    QCOMPARE(info.value(QLatin1String("variables")).toInteger(), qint64(1));

    result = ctl({ "service", "list", "acme" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    const QStringList listed = lines(result.out);
    QCOMPARE(listed.size(), 2);
    QVERIFY(listed[0].startsWith(QLatin1String("line1\t")));
    QVERIFY(listed[1].startsWith(QLatin1String("line2\t")));
    result = ctl({ "service", "list", "acme", "--json" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    const QJsonArray services = result.json().value(QLatin1String("services")).toArray();
    QCOMPARE(services.size(), 2);
    for (const char* field : { "name", "size", "limit", "variables" })
        QVERIFY2(services[0].toObject().contains(QLatin1String(field)), field);

    result = ctl({ "service", "create", "acme", "line1" });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    QVERIFY2(result.err.contains("ALREADY_EXISTS"), describe(result).constData());
    result = ctl({ "service", "create", "acme", "huge", "--size", "64G" });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());

    result = ctl({ "service", "delete", "acme", "line2" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    result = ctl({ "service", "info", "acme", "line2" });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    QVERIFY2(result.err.contains("NOT_FOUND"), describe(result).constData());
    result = ctl({ "service", "list", "acme", "--json" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(result.json().value(QLatin1String("services")).toArray().size(), 1);
}

void TestCommyctlRemote::varCommands()
{
    QVERIFY(startServer());
    QVERIFY(!provision({ QStringLiteral("read") }).isEmpty());

    CtlResult result = ctl({ "var", "alloc", "acme", "line1", "speed", "slow" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(lines(result.out), QStringList { QStringLiteral("version 1") });
    result = ctl({ "var", "set", "acme", "line1", "speed", "fast lane" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(lines(result.out), QStringList { QStringLiteral("version 2") });

    result = ctl({ "var", "get", "acme", "line1", "speed" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(result.out, QByteArray("fast lane\n"));
    QVERIFY2(result.err.contains("version 2"), describe(result).constData());
    result = ctl({ "var", "get", "acme", "line1", "speed", "--json" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(result.json().value(QLatin1String("value")).toString(), QStringLiteral("ZmFzdCBsYW5l"));
    QCOMPARE(result.json().value(QLatin1String("version")).toInteger(), qint64(2));

    result = ctl({ "var", "set", "acme", "line1", "speed", "faster", "--expected-version", "2", "--json" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(result.json().value(QLatin1String("version")).toInteger(), qint64(3));
    QVERIFY2(ctl({ "var", "alloc", "acme", "line1", "mode", "auto" }).exitedWith(kExitOk), "alloc mode");

    result = ctl({ "var", "list", "acme", "line1" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QStringList listed = lines(result.out);
    listed.sort();
    QCOMPARE(listed, (QStringList { "mode\tsize 4\tversion 1", "speed\tsize 6\tversion 3" }));
    result = ctl({ "var", "list", "acme", "line1", "--json" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    const QJsonArray variables = result.json().value(QLatin1String("variables")).toArray();
    QCOMPARE(variables.size(), 2);
    for (const QJsonValue& entry : variables)
        for (const char* field : { "name", "size", "version" })
            QVERIFY2(entry.toObject().contains(QLatin1String(field)), field);

    // A value that looks like an option follows "--".
    result = ctl({ "var", "set", "acme", "line1", "mode", "--", "-5" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    result = ctl({ "var", "get", "acme", "line1", "mode" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(result.out, QByteArray("-5\n"));

    result = ctl({ "var", "alloc", "acme", "line1", "mode", "again" });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    QVERIFY2(result.err.contains("ALREADY_EXISTS"), describe(result).constData());

    result = ctl({ "var", "rm", "acme", "line1", "mode" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QVERIFY(result.out.isEmpty());
    result = ctl({ "var", "get", "acme", "line1", "mode" });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    QVERIFY2(result.err.contains("NOT_FOUND"), describe(result).constData());
    result = ctl({ "var", "rm", "acme", "line1", "mode" });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    result = ctl({ "var", "get", "acme", "nosuch", "speed" });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    QVERIFY2(result.err.contains("NOT_FOUND"), describe(result).constData());
}

void TestCommyctlRemote::varBase64Values()
{
    QVERIFY(startServer());
    QVERIFY(!provision({ QStringLiteral("read") }).isEmpty());
    const QByteArray bytes("\x00\xff\x10\n binary", 12);
    const QString encoded = QString::fromLatin1(bytes.toBase64());

    CtlResult result = ctl({ "var", "alloc", "acme", "line1", "blob", encoded, "--base64" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    const QJsonObject read = m_admin->request(QStringLiteral("ReadVariable"),
        QJsonObject { { QStringLiteral("tenant"), acme }, { QStringLiteral("service"), line1 },
            { QStringLiteral("variable"), QStringLiteral("blob") } });
    QCOMPARE(QByteArray::fromBase64(
                 read.value(QLatin1String("data")).toObject().value(QLatin1String("value")).toString().toLatin1()),
        bytes);

    result = ctl({ "var", "get", "acme", "line1", "blob", "--base64" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(result.out, encoded.toLatin1() + '\n');

    // Text written, read back as base64; base64 written, read back as text.
    QCOMPARE(write(QStringLiteral("text"), "héllo", true), QStringLiteral("OK"));
    result = ctl({ "var", "get", "acme", "line1", "text", "--base64" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(result.out, QByteArray("héllo").toBase64() + '\n');
    result = ctl(
        { "var", "set", "acme", "line1", "text", QString::fromLatin1(QByteArray("plain").toBase64()), "--base64" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    result = ctl({ "var", "get", "acme", "line1", "text" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(result.out, QByteArray("plain\n"));

    // A large binary value (an argument stays under the kernel's 128 KiB per argument).
    QByteArray large(90 * 1024, '\0');
    for (int i = 0; i < large.size(); ++i)
        large[i] = char(i * 131 % 256);
    result = ctl({ "var", "alloc", "acme", "line1", "large", QString::fromLatin1(large.toBase64()), "--base64" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).left(500).constData());
    result = ctl({ "var", "get", "acme", "line1", "large", "--base64" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).left(500).constData());
    QCOMPARE(QByteArray::fromBase64(result.out.trimmed()), large);

    // The empty value.
    result = ctl({ "var", "set", "acme", "line1", "text", "" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    result = ctl({ "var", "get", "acme", "line1", "text", "--json" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(result.json().value(QLatin1String("value")).toString(QStringLiteral("absent")), QString());
}

void TestCommyctlRemote::compareAndSetMismatch()
{
    QVERIFY(startServer());
    QVERIFY(!provision({ QStringLiteral("read") }).isEmpty());
    QCOMPARE(write(QStringLiteral("speed"), "1", true), QStringLiteral("OK"));
    QCOMPARE(write(QStringLiteral("speed"), "2"), QStringLiteral("OK"));

    const CtlResult result = ctl({ "var", "set", "acme", "line1", "speed", "lost", "--expected-version", "1" });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    QVERIFY2(result.err.contains("INVALID_REQUEST"), describe(result).constData());
    QVERIFY(result.out.isEmpty());
    const CtlResult read = ctl({ "var", "get", "acme", "line1", "speed" });
    QVERIFY2(read.exitedWith(kExitOk), describe(read).constData());
    QCOMPARE(read.out, QByteArray("2\n"));
    QVERIFY(read.err.contains("version 2"));
}

// --- Watch -------------------------------------------------------------------------------------

void TestCommyctlRemote::watchPrintsWrites()
{
    QVERIFY(startServer());
    QVERIFY(!provision({ QStringLiteral("read") }).isEmpty());
    QCOMPARE(write(QStringLiteral("speed"), "0", true), QStringLiteral("OK"));
    QCOMPARE(write(QStringLiteral("other"), "0", true), QStringLiteral("OK"));

    CommyctlProcess watch(
        connection() + QStringList { "var", "watch", "acme", "line1", "--variables", "speed", "--count", "2" });
    QTRY_VERIFY_WITH_TIMEOUT(watch.err().contains("watching acme/line1"), kWaitMs);
    // One write at a time: two quick writes may reach a subscriber as one push of the newer value.
    QCOMPARE(write(QStringLiteral("other"), "not watched"), QStringLiteral("OK"));
    QCOMPARE(write(QStringLiteral("speed"), "fast"), QStringLiteral("OK"));
    QTRY_VERIFY_WITH_TIMEOUT(watch.out().contains("fast"), kWaitMs);
    QCOMPARE(write(QStringLiteral("speed"), "faster"), QStringLiteral("OK"));
    const CtlResult result = watch.finish(kWaitMs);
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(
        lines(result.out), (QStringList { "line1/speed version 2 seq 1 fast", "line1/speed version 3 seq 2 faster" }));
}

void TestCommyctlRemote::watchJson()
{
    QVERIFY(startServer());
    QVERIFY(!provision({ QStringLiteral("read") }).isEmpty());
    QCOMPARE(write(QStringLiteral("speed"), "0", true), QStringLiteral("OK"));

    CommyctlProcess watch(connection() + QStringList { "var", "watch", "acme", "line1", "--count", "1", "--json" });
    QTRY_VERIFY_WITH_TIMEOUT(watch.err().contains("watching"), kWaitMs);
    QCOMPARE(write(QStringLiteral("speed"), QByteArray("\x01\x02", 2)), QStringLiteral("OK"));
    const CtlResult result = watch.finish(kWaitMs);
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    const QStringList printed = lines(result.out);
    QCOMPARE(printed.size(), 1);
    QJsonParseError error;
    const QJsonObject push = QJsonDocument::fromJson(printed[0].toUtf8(), &error).object();
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(printed[0]));
    QCOMPARE(push.value(QLatin1String("type")).toString(), QStringLiteral("VariableChanged"));
    const QJsonObject data = push.value(QLatin1String("data")).toObject();
    QCOMPARE(data.value(QLatin1String("tenant")).toString(), acme);
    QCOMPARE(data.value(QLatin1String("service")).toString(), line1);
    QCOMPARE(data.value(QLatin1String("variable")).toString(), QStringLiteral("speed"));
    QCOMPARE(data.value(QLatin1String("value")).toString(), QStringLiteral("AQI="));
    QCOMPARE(data.value(QLatin1String("version")).toInteger(), qint64(2));
    QCOMPARE(data.value(QLatin1String("seq")).toInteger(), qint64(1));
}

// A push that arrives together with the Subscribe reply already reaches --count: the watch ends
// instead of waiting for changes it was not asked for.
void TestCommyctlRemote::watchCountReachedWithTheSubscribeReply()
{
    QVERIFY(startServer());
    QVERIFY(!provision({ QStringLiteral("read") }).isEmpty());
    QCOMPARE(write(QStringLiteral("speed"), "0", true), QStringLiteral("OK"));
    m_handler->enabled = true;

    CommyctlProcess watch(connection() + QStringList { "var", "watch", "acme", "line1", "--count", "1" });
    const CtlResult result = watch.finish(10'000);
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(lines(result.out), QStringList { QStringLiteral("line1/speed version 2 seq 1 early") });
}

void TestCommyctlRemote::watchStopsOnSignal_data()
{
    QTest::addColumn<int>("signal");
    QTest::newRow("SIGINT") << int(SIGINT);
    QTest::newRow("SIGTERM") << int(SIGTERM);
}

// Ctrl-C (or SIGTERM) ends a watch normally, also in the middle of a stream of pushes.
void TestCommyctlRemote::watchStopsOnSignal()
{
    QFETCH(int, signal);
    QVERIFY(startServer());
    QVERIFY(!provision({ QStringLiteral("read") }).isEmpty());
    QCOMPARE(write(QStringLiteral("speed"), "0", true), QStringLiteral("OK"));

    CommyctlProcess watch(connection() + QStringList { "var", "watch", "acme", "line1" });
    QTRY_VERIFY_WITH_TIMEOUT(watch.err().contains("watching"), kWaitMs);
    int written = 0;
    QTimer writer;
    connect(&writer, &QTimer::timeout, this, [&] { write(QStringLiteral("speed"), QByteArray::number(++written)); });
    writer.start(2);
    QTRY_VERIFY_WITH_TIMEOUT(lines(watch.out()).size() >= 20, kWaitMs);
    QCOMPARE(::kill(watch.process().processId(), signal), 0);
    const CtlResult result = watch.finish(kWaitMs);
    writer.stop();
    QVERIFY2(result.exitedWith(kExitOk), describe(result).left(600).constData());
}

void TestCommyctlRemote::watchEndsWhenTheBrokerGoes()
{
    QVERIFY(startServer());
    QVERIFY(!provision({ QStringLiteral("read") }).isEmpty());
    QCOMPARE(write(QStringLiteral("speed"), "0", true), QStringLiteral("OK"));

    CommyctlProcess watch(connection() + QStringList { "var", "watch", "acme", "line1" });
    QTRY_VERIFY_WITH_TIMEOUT(watch.err().contains("watching"), kWaitMs);
    m_server.reset();
    const CtlResult result = watch.finish(kWaitMs);
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    QVERIFY2(result.err.contains("the broker closed the connection"), describe(result).constData());
}

// --- Credentials -------------------------------------------------------------------------------

void TestCommyctlRemote::keyTenant()
{
    QVERIFY(startServer());
    const QString key = provision({ QStringLiteral("read"), QStringLiteral("write") });
    QVERIFY(!key.isEmpty());

    CtlResult result = ctl({ "var", "alloc", "acme", "line1", "speed", "7" }, key, acme);
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    result = ctl({ "var", "get", "acme", "line1", "speed" }, key, acme);
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(result.out, QByteArray("7\n"));
    result = ctl({ "service", "info", "acme", "line1", "--json" }, key, acme);
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(result.json().value(QLatin1String("variables")).toInteger(), qint64(1));

    // Without --key-tenant the key is taken for a server key, and refused.
    result = ctl({ "var", "get", "acme", "line1", "speed" }, key);
    QVERIFY2(result.exitedWith(kExitCannotOpen), describe(result).constData());
    QVERIFY2(result.err.contains("UNAUTHORIZED"), describe(result).constData());
    // A tenant key does not reach another tenant.
    result = ctl({ "var", "get", "beta", "line1", "speed" }, key, acme);
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    QVERIFY2(result.err.contains("UNAUTHORIZED"), describe(result).constData());
}

void TestCommyctlRemote::wrongKeyCannotAuthenticate()
{
    QVERIFY(startServer());
    CtlResult result = ctl({ "tenant", "list" }, m_adminKey + QStringLiteral("x"));
    QVERIFY2(result.exitedWith(kExitCannotOpen), describe(result).constData());
    QVERIFY2(result.err.contains("authentication failed: UNAUTHORIZED"), describe(result).constData());
    QVERIFY(result.out.isEmpty());
    result = ctl({ "tenant", "list" }, QStringLiteral("nonsense"), acme);
    QVERIFY2(result.exitedWith(kExitCannotOpen), describe(result).constData());
    QVERIFY2(result.err.contains("UNAUTHORIZED"), describe(result).constData());
}

void TestCommyctlRemote::missingScopeIsPermissionDenied()
{
    QVERIFY(startServer());
    const QString key = provision({ QStringLiteral("read") });
    QVERIFY(!key.isEmpty());
    QCOMPARE(write(QStringLiteral("speed"), "1", true), QStringLiteral("OK"));

    for (const QStringList& args : { QStringList { "var", "set", "acme", "line1", "speed", "2" },
             QStringList { "service", "create", "acme", "line2" }, QStringList { "key", "list", "acme" },
             QStringList { "var", "watch", "acme", "line1", "--count", "1" } }) {
        const CtlResult result = ctl(args, key, acme);
        QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
        QVERIFY2(result.err.contains("PERMISSION_DENIED"), describe(result).constData());
        QVERIFY(result.out.isEmpty());
    }
    const CtlResult result = ctl({ "tenant", "list" }, key, acme);
    QVERIFY2(result.exitedWith(kExitFailed), describe(result).constData());
    QVERIFY2(result.err.contains("PERMISSION_DENIED"), describe(result).constData());
}

void TestCommyctlRemote::unreachableBroker()
{
    QVERIFY(startServer());
    const QUrl url = m_server->url();
    m_server.reset(); // nobody listens there now
    const CtlResult result
        = runCommyctlServed({ "--url", url.toString(), "--key", m_adminKey, "tenant", "list" }, kWaitMs);
    QVERIFY2(result.exitedWith(kExitCannotOpen), describe(result).constData());
    QVERIFY2(result.err.contains("cannot connect to " + url.toString().toUtf8()), describe(result).constData());

    const CtlResult scheme
        = runCommyctlServed({ "--url", "http://127.0.0.1:1", "--key", m_adminKey, "tenant", "list" }, kWaitMs);
    QVERIFY2(scheme.exitedWith(kExitCannotOpen), describe(scheme).constData());
    QVERIFY2(scheme.err.contains("ws://HOST:PORT"), describe(scheme).constData());
}

void TestCommyctlRemote::wssWithCaCert()
{
    WebSocketServerOptions options;
    options.tlsCertificateFile = m_certificate.certificateFile;
    options.tlsKeyFile = m_certificate.keyFile;
    QVERIFY(startServer(options));
    QCOMPARE(m_server->url().scheme(), QStringLiteral("wss"));

    CtlResult result = ctl({ "--ca-cert", m_certificate.certificateFile, "tenant", "create", "acme" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    result = ctl({ "--ca-cert", m_certificate.certificateFile, "tenant", "list" });
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    QCOMPARE(lines(result.out), QStringList { QStringLiteral("acme\tservices 0") });

    // Not trusted: exit 2 naming the TLS problem; --insecure accepts it.
    result = ctl({ "tenant", "list" });
    QVERIFY2(result.exitedWith(kExitCannotOpen), describe(result).constData());
    QVERIFY2(result.err.contains("TLS error"), describe(result).constData());
    result = runCommyctlServed(QStringList { "--insecure" } + connection() + QStringList { "tenant", "list" }, kWaitMs);
    QVERIFY2(result.exitedWith(kExitOk), describe(result).constData());
    // Connection options go before the group.
    result = ctl({ "tenant", "list", "--ca-cert", m_certificate.certificateFile });
    QVERIFY2(result.exitedWith(kExitUsage), describe(result).constData());
    // A certificate file that is not one.
    result = runCommyctlServed(
        QStringList { "--ca-cert", m_certificate.keyFile } + connection() + QStringList { "tenant", "list" }, kWaitMs);
    QVERIFY2(result.exitedWith(kExitCannotOpen), describe(result).constData());
    QVERIFY2(result.err.contains("no PEM certificate"), describe(result).constData());
}

QTEST_GUILESS_MAIN(TestCommyctlRemote)
#include "tst_commyctl_remote.moc"
