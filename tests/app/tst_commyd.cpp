// commyd as a real process: command line and config file, the ready line, the first admin key (file
// or environment), log lines for the journal or a terminal, SIGTERM/SIGINT closing sessions with
// 1001, state surviving a restart, wss with a certificate made at test time, and hostile input that
// must not take the broker down.

#include "commyd_process.h"

#include "json_ws_client.h"
#include "raw_ws_client.h"
#include "test_certificate.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>

using commy::testing::CommydProcess;
using commy::testing::errorCode;
using commy::testing::FinishedRun;
using commy::testing::JsonWsClient;
using commy::testing::RawWsClient;
using commy::testing::resultData;
using commy::testing::runCommyd;
using commy::testing::waitUntil;

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kWaitMs = 20'000;

QByteArray describe(const FinishedRun& run)
{
    return "finished=" + QByteArray(run.finished ? "yes" : "no") + " exit=" + QByteArray::number(run.exitCode)
        + "\nstdout:\n" + run.out + "\nstderr:\n" + run.err;
}

QByteArray readFile(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

bool writeFile(const QString& path, const QByteArray& content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) && file.write(content) == content.size();
}

QJsonObject apiKey(const QString& key, const QString& tenant = {})
{
    QJsonObject data { { QStringLiteral("method"), QStringLiteral("api_key") }, { QStringLiteral("key"), key } };
    if (!tenant.isEmpty())
        data.insert(QStringLiteral("tenant"), tenant);
    return data;
}

bool isResult(const QJsonObject& reply)
{
    return reply.value(QLatin1String("type")).toString() == QLatin1String("Result");
}

QString base64(const QByteArray& bytes) { return QString::fromLatin1(bytes.toBase64()); }

// The id of a key "<key_id>.<secret>" and its secret.
QString secretOf(const QString& key) { return key.section(u'.', 1); }

} // namespace

class TestCommyd : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanupTestCase();

    void helpAndVersion();
    void usageErrors_data();
    void usageErrors();
    void runtimeErrors_data();
    void runtimeErrors();
    void readyLineAndGeneratedAdminKey();
    void bootstrapKeyFromTheEnvironment();
    void logLinesForTheJournalOrATerminal_data();
    void logLinesForTheJournalOrATerminal();
    void configFileSettings();
    void signalClosesSessionsWith1001_data();
    void signalClosesSessionsWith1001();
    void restartKeepsTenantsServicesVariablesAndKeys();
    void wssWithAGeneratedCertificate();
    void hostileInputKeepsTheBrokerUp_data();
    void hostileInputKeepsTheBrokerUp();

private:
    QString dataDir() const { return m_dir->filePath(QStringLiteral("data")); }
    QStringList serveArgs() const
    {
        return { QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"), QStringLiteral("--data-dir"), dataDir() };
    }
    QString adminKey() const { return QString::fromUtf8(readFile(dataDir() + QStringLiteral("/admin.key"))).trimmed(); }
    // Opens `client` to `url` and authenticates it with the server admin key.
    bool connectAsAdmin(JsonWsClient& client, const QUrl& url, const QString& key);

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<CommydProcess> m_sharedCommyd; // the hostile-input rows' broker
    std::unique_ptr<QTemporaryDir> m_sharedDir;
};

void TestCommyd::initTestCase()
{
    const QFileInfo binary(commy::testing::commydPath());
    QVERIFY2(binary.isExecutable(),
        qPrintable(QStringLiteral("commyd not found at %1 (COMMY_TEST_BIN_DIR)").arg(binary.filePath())));
}

void TestCommyd::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestCommyd::cleanupTestCase()
{
    m_sharedCommyd.reset(); // kills it if a row left it running
    m_sharedDir.reset();
}

bool TestCommyd::connectAsAdmin(JsonWsClient& client, const QUrl& url, const QString& key)
{
    if (!client.open(url))
        return false;
    const QJsonObject reply = client.call(QStringLiteral("Authenticate"), apiKey(key));
    if (resultData(reply).isEmpty()) {
        qWarning("Authenticate failed: %s", QJsonDocument(reply).toJson(QJsonDocument::Compact).constData());
        return false;
    }
    return true;
}

void TestCommyd::helpAndVersion()
{
    FinishedRun run = runCommyd({ QStringLiteral("--help") });
    QVERIFY2(run.finished && run.exitCode == 0, describe(run));
    for (const char* option : { "--listen", "--data-dir", "--config", "--tls-cert", "--tls-key", "--version" })
        QVERIFY2(run.out.contains(option), option);
    QVERIFY(run.out.contains("COMMY_BOOTSTRAP_ADMIN_KEY"));

    run = runCommyd({ QStringLiteral("--version") });
    QVERIFY2(run.finished && run.exitCode == 0, describe(run));
    QVERIFY2(QRegularExpression(QStringLiteral("^commyd \\d+\\.\\d+\\.\\d+\n$"))
                 .match(QString::fromUtf8(run.out))
                 .hasMatch(),
        run.out);
}

void TestCommyd::usageErrors_data()
{
    QTest::addColumn<QStringList>("args"); // @DIR@ is the test's folder
    QTest::addColumn<QByteArray>("config"); // written to @DIR@/commyd.json when not empty
    QTest::addColumn<QString>("message");

    const QString listen = QStringLiteral("--listen");
    const QString dataDir = QStringLiteral("--data-dir");
    const QString dir = QStringLiteral("@DIR@/data");
    const QString config = QStringLiteral("--config");
    const QString configFile = QStringLiteral("@DIR@/commyd.json");

    QTest::newRow("nothing") << QStringList {} << QByteArray() << QStringLiteral("--listen HOST:PORT is required");
    QTest::newRow("no data dir") << QStringList { listen, QStringLiteral("127.0.0.1:0") } << QByteArray()
                                 << QStringLiteral("--data-dir DIR is required");
    QTest::newRow("no port") << QStringList { listen, QStringLiteral("127.0.0.1"), dataDir, dir } << QByteArray()
                             << QStringLiteral("no port");
    QTest::newRow("port too big") << QStringList { listen, QStringLiteral("127.0.0.1:65536"), dataDir, dir }
                                  << QByteArray() << QStringLiteral("not a port number");
    QTest::newRow("negative port") << QStringList { listen, QStringLiteral("127.0.0.1:-1"), dataDir, dir }
                                   << QByteArray() << QStringLiteral("not a port number");
    QTest::newRow("host name") << QStringList { listen, QStringLiteral("example.com:80"), dataDir, dir } << QByteArray()
                               << QStringLiteral("not an IP address");
    QTest::newRow("bare IPv6") << QStringList { listen, QStringLiteral("::1:80"), dataDir, dir } << QByteArray()
                               << QStringLiteral("brackets");
    QTest::newRow("unknown option") << QStringList { QStringLiteral("--frobnicate") } << QByteArray()
                                    << QStringLiteral("Unknown option");
    QTest::newRow("positional argument") << QStringList { listen, QStringLiteral("127.0.0.1:0"), dataDir, dir,
        QStringLiteral("extra") } << QByteArray()
                                         << QStringLiteral("unexpected argument 'extra'");
    QTest::newRow("certificate without key") << QStringList { listen, QStringLiteral("127.0.0.1:0"), dataDir, dir,
        QStringLiteral("--tls-cert"), QStringLiteral("@DIR@/cert.pem") }
                                             << QByteArray() << QStringLiteral("both --tls-cert and --tls-key");
    QTest::newRow("missing config file") << QStringList { config, QStringLiteral("@DIR@/none.json") } << QByteArray()
                                         << QStringLiteral("cannot read config file");
    QTest::newRow("config not JSON") << QStringList { config, configFile } << QByteArray("{ listen: nope")
                                     << QStringLiteral("is not valid JSON");
    QTest::newRow("config not an object")
        << QStringList { config, configFile } << QByteArray("[1, 2]") << QStringLiteral("must hold a JSON object");
    QTest::newRow("config unknown key") << QStringList { config,
        configFile } << QByteArray(R"({"listen":"127.0.0.1:0","data_dir":"d","max_mesage_bytes":10})")
                                        << QStringLiteral("unknown key \"max_mesage_bytes\"");
    QTest::newRow("config wrong type") << QStringList { config, configFile } << QByteArray(R"({"listen":8080})")
                                       << QStringLiteral("\"listen\" must be a non-empty string");
    QTest::newRow("config huge number") << QStringList { config,
        configFile } << QByteArray(R"({"listen":"127.0.0.1:0","data_dir":"d","max_message_bytes":1e300})")
                                        << QStringLiteral("\"max_message_bytes\" must be an integer");
    QTest::newRow("config fraction") << QStringList { config, configFile }
                                     << QByteArray(R"({"listen":"127.0.0.1:0","data_dir":"d","token_ttl_s":1.5})")
                                     << QStringLiteral("\"token_ttl_s\" must be an integer");
    QTest::newRow("config negative idle")
        << QStringList { config, configFile }
        << QByteArray(R"({"listen":"127.0.0.1:0","data_dir":"d","idle_timeout_ms":-1})")
        << QStringLiteral("\"idle_timeout_ms\" must be an integer");
    QTest::newRow("config bad listen") << QStringList { config, configFile }
                                       << QByteArray(R"({"listen":"127.0.0.1:http","data_dir":"d"})")
                                       << QStringLiteral("not a port number");
}

void TestCommyd::usageErrors()
{
    QFETCH(QStringList, args);
    QFETCH(QByteArray, config);
    QFETCH(QString, message);

    if (!config.isEmpty())
        QVERIFY(writeFile(m_dir->filePath(QStringLiteral("commyd.json")), config));
    for (QString& arg : args)
        arg.replace(QLatin1String("@DIR@"), m_dir->path());
    const FinishedRun run = runCommyd(args);
    QVERIFY2(run.finished && run.exitCode == kExitUsage, describe(run));
    QVERIFY2(run.err.contains(message.toUtf8()), describe(run));
    QVERIFY2(run.out.isEmpty(), describe(run));
    QVERIFY(!QFileInfo::exists(dataDir())); // nothing was started
}

void TestCommyd::runtimeErrors_data()
{
    QTest::addColumn<QString>("problem");
    QTest::addColumn<QString>("message");
    QTest::newRow("port in use") << QStringLiteral("port") << QStringLiteral("in use");
    QTest::newRow("data dir under a file") << QStringLiteral("datadir") << QStringLiteral("data directory");
    QTest::newRow("unreadable certificate")
        << QStringLiteral("certificate") << QStringLiteral("cannot read TLS certificate");
}

void TestCommyd::runtimeErrors()
{
    QFETCH(QString, problem);
    QFETCH(QString, message);

    QTcpServer occupant;
    QStringList args = serveArgs();
    if (problem == QLatin1String("port")) {
        QVERIFY(occupant.listen(QHostAddress::LocalHost, 0));
        args[1] = QStringLiteral("127.0.0.1:%1").arg(occupant.serverPort());
    } else if (problem == QLatin1String("datadir")) {
        QVERIFY(writeFile(m_dir->filePath(QStringLiteral("file")), "x"));
        args[3] = m_dir->filePath(QStringLiteral("file/data"));
    } else {
        args << QStringLiteral("--tls-cert") << m_dir->filePath(QStringLiteral("missing.pem"))
             << QStringLiteral("--tls-key") << m_dir->filePath(QStringLiteral("missing.key"));
    }
    const FinishedRun run = runCommyd(args);
    QVERIFY2(run.finished && run.exitCode == kExitFailed, describe(run));
    QVERIFY2(run.err.contains(message.toUtf8()), describe(run));
    QVERIFY2(!run.out.contains("listening"), describe(run));
}

void TestCommyd::readyLineAndGeneratedAdminKey()
{
    CommydProcess commyd(serveArgs());
    QVERIFY2(commyd.waitReady(), commyd.describe());
    QCOMPARE(commyd.url().scheme(), QStringLiteral("ws"));
    QCOMPARE(commyd.url().host(), QStringLiteral("127.0.0.1"));
    QVERIFY(commyd.url().port() > 0);
    QCOMPARE(commyd.out(), QByteArray("commyd listening on ") + commyd.url().toString().toUtf8() + "\n");

    const QString keyPath = dataDir() + QStringLiteral("/admin.key");
    QFileInfo keyFile(keyPath);
    QVERIFY(keyFile.exists());
    struct stat status { };
    QCOMPARE(::stat(QFile::encodeName(keyPath).constData(), &status), 0);
    QCOMPARE(status.st_mode & 0777, mode_t(0600));
    const QString key = adminKey();
    QVERIFY2(key.contains(u'.') && secretOf(key).size() >= 16, qPrintable(key));
    QVERIFY(commyd.err().contains(keyPath.toUtf8())); // says where the key is...
    QVERIFY(!commyd.err().contains(secretOf(key).toUtf8())); // ...never what it is

    JsonWsClient client;
    QVERIFY(client.open(commyd.url()));
    const QJsonObject reply = client.call(QStringLiteral("Authenticate"), apiKey(key));
    QCOMPARE(resultData(reply).value(QLatin1String("scopes")).toArray(), QJsonArray { QStringLiteral("server_admin") });
    QVERIFY(!resultData(client.call(QStringLiteral("ListTenants"))).isEmpty());

    // A second start finds the key and leaves the file alone.
    commyd.signal(SIGTERM);
    QVERIFY2(commyd.waitFinished(), commyd.describe());
    CommydProcess again(serveArgs());
    QVERIFY2(again.waitReady(), again.describe());
    QCOMPARE(adminKey(), key);
    QCOMPARE(again.out().count('\n'), 1);
}

void TestCommyd::logLinesForTheJournalOrATerminal_data()
{
    QTest::addColumn<bool>("journal");
    QTest::newRow("journal") << true;
    QTest::newRow("terminal") << false;
}

// Under systemd (JOURNAL_STREAM set) every stderr line starts with its syslog priority and carries no
// time stamp, since journald adds its own; otherwise each line starts with one. The ready line on
// stdout is the same either way.
void TestCommyd::logLinesForTheJournalOrATerminal()
{
    QFETCH(bool, journal);
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.remove(QStringLiteral("JOURNAL_STREAM"));
    if (journal)
        environment.insert(QStringLiteral("JOURNAL_STREAM"), QStringLiteral("8:123456"));
    // A first start logs the generated admin key (info), the signal logs its receipt.
    CommydProcess commyd(serveArgs(), environment);
    QVERIFY2(commyd.waitReady(), commyd.describe());
    QCOMPARE(commyd.out(), QByteArray("commyd listening on ") + commyd.url().toString().toUtf8() + "\n");
    commyd.signal(SIGTERM);
    QVERIFY2(commyd.waitFinished(), commyd.describe());
    QVERIFY2(commyd.exitedWith(0), commyd.describe());

    static const QRegularExpression journalLine(QStringLiteral("^<[2-7]>commy\\.[a-z.]+: \\S"));
    static const QRegularExpression terminalLine(
        QStringLiteral("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3} (debug|info|warning|critical|fatal) "
                       "commy\\.[a-z.]+: \\S"));
    static const QRegularExpression timeStamp(QStringLiteral("\\d\\d:\\d\\d:\\d\\d"));
    const QList<QByteArray> lines = commyd.err().trimmed().split('\n');
    QVERIFY2(lines.size() >= 2, commyd.describe());
    for (const QByteArray& line : lines) {
        const QString text = QString::fromUtf8(line);
        if (journal) {
            QVERIFY2(journalLine.match(text).hasMatch(), line);
            QVERIFY2(!timeStamp.match(text).hasMatch(), line);
        } else {
            QVERIFY2(terminalLine.match(text).hasMatch(), line);
        }
    }
    const QByteArray signalLine
        = journal ? "<6>commy.commyd: signal 15 received" : " info commy.commyd: signal 15 received";
    QVERIFY2(commyd.err().contains(signalLine), commyd.describe());
}

void TestCommyd::bootstrapKeyFromTheEnvironment()
{
    const QString key = QStringLiteral("bootstrap.0123456789abcdefSECRET");
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("COMMY_BOOTSTRAP_ADMIN_KEY"), key);
    {
        CommydProcess commyd(serveArgs(), environment);
        QVERIFY2(commyd.waitReady(), commyd.describe());
        QVERIFY(!QFileInfo::exists(dataDir() + QStringLiteral("/admin.key")));
        JsonWsClient client;
        QVERIFY(connectAsAdmin(client, commyd.url(), key));
        QVERIFY(!commyd.err().contains(secretOf(key).toUtf8()));
        commyd.signal(SIGTERM);
        QVERIFY2(commyd.waitFinished() && commyd.exitedWith(0), commyd.describe());
        QVERIFY(!commyd.err().contains(secretOf(key).toUtf8()));
    }

    // Only the first start uses it: a different value later changes nothing.
    environment.insert(QStringLiteral("COMMY_BOOTSTRAP_ADMIN_KEY"), QStringLiteral("other.0123456789abcdefOTHER"));
    CommydProcess commyd(serveArgs(), environment);
    QVERIFY2(commyd.waitReady(), commyd.describe());
    JsonWsClient client;
    QVERIFY(connectAsAdmin(client, commyd.url(), key));
    JsonWsClient other;
    QVERIFY(other.open(commyd.url()));
    QCOMPARE(
        errorCode(other.call(QStringLiteral("Authenticate"), apiKey(QStringLiteral("other.0123456789abcdefOTHER")))),
        QStringLiteral("UNAUTHORIZED"));
}

void TestCommyd::configFileSettings()
{
    // Relative paths are taken from the file's folder; the command line's --listen wins over the file's.
    const QString configPath = m_dir->filePath(QStringLiteral("commyd.json"));
    QVERIFY(writeFile(configPath,
        R"({"listen":"127.0.0.2:1","data_dir":"data","max_message_bytes":4096,"idle_timeout_ms":0,"token_ttl_s":120})"));
    CommydProcess commyd(
        { QStringLiteral("--config"), configPath, QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0") });
    QVERIFY2(commyd.waitReady(), commyd.describe());
    QCOMPARE(commyd.url().host(), QStringLiteral("127.0.0.1"));
    QVERIFY(QFileInfo::exists(dataDir() + QStringLiteral("/admin.key")));

    JsonWsClient client;
    QVERIFY(client.open(commyd.url()));
    const QJsonObject reply = client.call(QStringLiteral("Authenticate"), apiKey(adminKey()));
    QCOMPARE(resultData(reply).value(QLatin1String("expires_in")).toInt(), 120); // token_ttl_s

    // max_message_bytes: a message over 4096 bytes closes the connection with 1009.
    QVERIFY(!resultData(client.call(QStringLiteral("Heartbeat"), {})).isEmpty());
    client.socket().sendTextMessage(QStringLiteral(R"({"type":"Heartbeat","id":"big","data":{"pad":"%1"}})")
                                        .arg(QString::fromLatin1(QByteArray(5000, 'x'))));
    QVERIFY(waitUntil([&] { return client.isClosed(); }, kWaitMs));
    QCOMPARE(client.socket().closeCode(), QWebSocketProtocol::CloseCodeTooMuchData);
}

void TestCommyd::signalClosesSessionsWith1001_data()
{
    QTest::addColumn<int>("signalNumber");
    QTest::newRow("SIGTERM") << int(SIGTERM);
    QTest::newRow("SIGINT") << int(SIGINT);
}

void TestCommyd::signalClosesSessionsWith1001()
{
    QFETCH(int, signalNumber);
    CommydProcess commyd(serveArgs());
    QVERIFY2(commyd.waitReady(), commyd.describe());
    JsonWsClient first;
    JsonWsClient second;
    QVERIFY(connectAsAdmin(first, commyd.url(), adminKey()));
    QVERIFY(second.open(commyd.url()));

    commyd.signal(signalNumber);
    QVERIFY(waitUntil([&] { return first.isClosed() && second.isClosed(); }, kWaitMs));
    QCOMPARE(first.socket().closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
    QCOMPARE(second.socket().closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
    QVERIFY2(commyd.waitFinished(), commyd.describe());
    QVERIFY2(commyd.exitedWith(0), commyd.describe());
    QVERIFY(commyd.err().contains("regions flushed"));
}

void TestCommyd::restartKeepsTenantsServicesVariablesAndKeys()
{
    QString tenantKey;
    QString tenantKeyId;
    {
        CommydProcess commyd(serveArgs());
        QVERIFY2(commyd.waitReady(), commyd.describe());
        JsonWsClient admin;
        QVERIFY(connectAsAdmin(admin, commyd.url(), adminKey()));
        const QString acme = QStringLiteral("acme");
        QVERIFY(isResult(admin.call(QStringLiteral("CreateTenant"), { { QStringLiteral("tenant"), acme } })));
        QVERIFY(isResult(
            admin.call(QStringLiteral("CreateTenant"), { { QStringLiteral("tenant"), QStringLiteral("beta") } })));
        const QJsonObject key = resultData(admin.call(QStringLiteral("CreateKey"),
            { { QStringLiteral("tenant"), acme },
                { QStringLiteral("scopes"),
                    QJsonArray { QStringLiteral("read"), QStringLiteral("write"), QStringLiteral("subscribe") } },
                { QStringLiteral("name"), QStringLiteral("plc") } }));
        tenantKey = key.value(QLatin1String("key")).toString();
        tenantKeyId = key.value(QLatin1String("key_id")).toString();
        QVERIFY(!tenantKey.isEmpty());
        QCOMPARE(resultData(admin.call(QStringLiteral("CreateService"),
                                { { QStringLiteral("tenant"), acme },
                                    { QStringLiteral("service"), QStringLiteral("line1") } }))
                     .value(QLatin1String("name"))
                     .toString(),
            QStringLiteral("line1"));

        JsonWsClient plc;
        QVERIFY(plc.open(commyd.url()));
        QVERIFY(!resultData(plc.call(QStringLiteral("Authenticate"), apiKey(tenantKey, acme))).isEmpty());
        const QJsonObject variable { { QStringLiteral("tenant"), acme },
            { QStringLiteral("service"), QStringLiteral("line1") },
            { QStringLiteral("variable"), QStringLiteral("speed") } };
        QJsonObject allocate = variable;
        allocate.insert(QStringLiteral("value"), base64("first"));
        QCOMPARE(
            resultData(plc.call(QStringLiteral("AllocateVariable"), allocate)).value(QLatin1String("version")).toInt(),
            1);
        QJsonObject write = variable;
        write.insert(QStringLiteral("value"), base64("second value"));
        QCOMPARE(
            resultData(plc.call(QStringLiteral("WriteVariable"), write)).value(QLatin1String("version")).toInt(), 2);

        commyd.signal(SIGTERM);
        QVERIFY2(commyd.waitFinished() && commyd.exitedWith(0), commyd.describe());
    }

    CommydProcess commyd(serveArgs());
    QVERIFY2(commyd.waitReady(), commyd.describe());
    JsonWsClient admin;
    QVERIFY(connectAsAdmin(admin, commyd.url(), adminKey()));
    QStringList tenants;
    for (const QJsonValue& tenant :
        resultData(admin.call(QStringLiteral("ListTenants"))).value(QLatin1String("tenants")).toArray())
        tenants << tenant.toObject().value(QLatin1String("name")).toString();
    tenants.sort();
    QCOMPARE(tenants, (QStringList { QStringLiteral("acme"), QStringLiteral("beta") }));
    const QJsonArray services = resultData(
        admin.call(QStringLiteral("ListServices"), { { QStringLiteral("tenant"), QStringLiteral("acme") } }))
                                    .value(QLatin1String("services"))
                                    .toArray();
    QCOMPARE(services.size(), 1);
    QCOMPARE(services[0].toObject().value(QLatin1String("name")).toString(), QStringLiteral("line1"));
    QCOMPARE(services[0].toObject().value(QLatin1String("variables")).toInt(), 1);
    const QJsonArray keys
        = resultData(admin.call(QStringLiteral("ListKeys"), { { QStringLiteral("tenant"), QStringLiteral("acme") } }))
              .value(QLatin1String("keys"))
              .toArray();
    QCOMPARE(keys.size(), 1);
    QCOMPARE(keys[0].toObject().value(QLatin1String("key_id")).toString(), tenantKeyId);

    JsonWsClient plc;
    QVERIFY(plc.open(commyd.url()));
    QVERIFY(!resultData(plc.call(QStringLiteral("Authenticate"), apiKey(tenantKey, QStringLiteral("acme")))).isEmpty());
    const QJsonObject read = resultData(plc.call(QStringLiteral("ReadVariable"),
        { { QStringLiteral("tenant"), QStringLiteral("acme") }, { QStringLiteral("service"), QStringLiteral("line1") },
            { QStringLiteral("variable"), QStringLiteral("speed") } }));
    QCOMPARE(read.value(QLatin1String("value")).toString(), base64("second value"));
    QCOMPARE(read.value(QLatin1String("version")).toInt(), 2);
}

void TestCommyd::wssWithAGeneratedCertificate()
{
    const auto certificate = commy::testing::makeTestCertificate(m_dir->path());
    QVERIFY2(certificate.isValid(), qPrintable(certificate.error));
    CommydProcess commyd(serveArgs() << QStringLiteral("--tls-cert") << certificate.certificateFile
                                     << QStringLiteral("--tls-key") << certificate.keyFile);
    QVERIFY2(commyd.waitReady(), commyd.describe());
    QCOMPARE(commyd.url().scheme(), QStringLiteral("wss"));
    QVERIFY(commyd.out().startsWith("commyd listening on wss://127.0.0.1:"));

    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setCaCertificates({ certificate.certificate() });
    JsonWsClient client;
    QVERIFY(client.open(commyd.url(), &tls));
    QVERIFY(!resultData(client.call(QStringLiteral("Authenticate"), apiKey(adminKey()))).isEmpty());
    QVERIFY(!resultData(client.call(QStringLiteral("Heartbeat"))).isEmpty());

    // A plain client on the TLS port fails alone.
    JsonWsClient plain;
    QUrl plainUrl = commyd.url();
    plainUrl.setScheme(QStringLiteral("ws"));
    QVERIFY(!plain.open(plainUrl, nullptr, 3'000));
    QVERIFY(!resultData(client.call(QStringLiteral("Heartbeat"))).isEmpty());
}

void TestCommyd::hostileInputKeepsTheBrokerUp_data()
{
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<int>("opcode"); // RawWsClient opcode; -1: only a header announcing 2^62 bytes
    QTest::addColumn<QString>("expected"); // an error code (and the connection stays usable) or "close:N"

    const int text = RawWsClient::kText;
    const QString invalid = QStringLiteral("INVALID_REQUEST");
    QTest::newRow("garbage") << QByteArray("}{ not json at all") << text << invalid;
    QTest::newRow("empty") << QByteArray() << text << invalid;
    QTest::newRow("array") << QByteArray("[1,2,3]") << text << invalid;
    QTest::newRow("null") << QByteArray("null") << text << invalid;
    QTest::newRow("unknown type") << QByteArray(R"({"type":"Reboot","id":1,"data":{}})") << text << invalid;
    QTest::newRow("id beyond a double") << QByteArray(R"({"type":"Heartbeat","id":1e400,"data":{}})") << text
                                        << invalid;
    QTest::newRow("id beyond 2^53") << QByteArray(R"({"type":"Heartbeat","id":99999999999999999999,"data":{}})") << text
                                    << invalid;
    QTest::newRow("huge size") << QByteArray(
        R"({"type":"CreateService","id":2,"data":{"tenant":"a","service":"b","size":1e300}})")
                               << text << invalid;
    QTest::newRow("negative size") << QByteArray(
        R"({"type":"CreateService","id":3,"data":{"tenant":"a","service":"b","size":-5}})")
                                   << text << invalid;
    QTest::newRow("deep array nesting") << QByteArray(100'000, '[') << text << invalid;
    QTest::newRow("deep nesting inside data") << (QByteArray(R"({"type":"Heartbeat","id":4,"data":{"x":)")
        + QByteArray(5000, '[') + QByteArray(5000, ']') + "}}")
                                              << text << invalid;
    QTest::newRow("long id") << (QByteArray(R"({"type":"Heartbeat","id":")") + QByteArray(100'000, 'i')
        + R"(","data":{}})") << text
                             << invalid;
    QTest::newRow("path trick tenant") << QByteArray(R"({"type":"CreateTenant","id":5,"data":{"tenant":"../etc"}})")
                                       << text << invalid;
    QTest::newRow("binary frame") << QByteArray("\x00\x01\x02\xff", 4) << int(RawWsClient::kBinary) << invalid;
    QTest::newRow("2 MiB frame") << QByteArray(2 << 20, 'x') << text << QStringLiteral("close:1009");
    QTest::newRow("announced 2^62 bytes") << QByteArray() << -1 << QStringLiteral("close:1009");
    QTest::newRow("invalid UTF-8") << QByteArray("{\"type\":\"\xff\xfe\",\"id\":1,\"data\":{}}") << text
                                   << QStringLiteral("close:1007");
}

void TestCommyd::hostileInputKeepsTheBrokerUp()
{
    QFETCH(QByteArray, payload);
    QFETCH(int, opcode);
    QFETCH(QString, expected);

    // One broker for every row: each row also checks that it survived the rows before.
    std::unique_ptr<CommydProcess>& commyd = m_sharedCommyd;
    if (!commyd || !commyd->isRunning()) {
        m_sharedDir = std::make_unique<QTemporaryDir>();
        commyd
            = std::make_unique<CommydProcess>(QStringList { QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                QStringLiteral("--data-dir"), m_sharedDir->filePath(QStringLiteral("data")) });
        QVERIFY2(commyd->waitReady(), commyd->describe());
    }
    const quint16 port = quint16(commyd->url().port());

    RawWsClient raw;
    raw.open(port);
    QVERIFY(waitUntil([&] { return raw.isUpgraded(); }, kWaitMs));
    if (opcode < 0)
        raw.sendHeaderOnly(RawWsClient::kText, quint64(1) << 62);
    else
        raw.sendFrame(opcode, payload);

    if (expected.startsWith(QLatin1String("close:"))) {
        QVERIFY2(
            waitUntil([&] { return raw.closeFrame().has_value() || !raw.isConnected(); }, kWaitMs), commyd->describe());
        QVERIFY(raw.closeFrame().has_value());
        QCOMPARE(raw.closeFrame()->closeCode(), expected.mid(6).toInt());
    } else {
        QVERIFY(waitUntil([&] { return !raw.texts().empty(); }, kWaitMs));
        const QJsonObject reply = QJsonDocument::fromJson(raw.texts().front()).object();
        QCOMPARE(reply.value(QLatin1String("type")).toString(), QStringLiteral("Error"));
        QCOMPARE(errorCode(reply), expected);
        // The same connection still answers.
        raw.sendText(R"({"type":"Heartbeat","id":"after","data":{}})");
        QVERIFY(waitUntil([&] { return raw.texts().size() == 2; }, kWaitMs));
        QCOMPARE(QJsonDocument::fromJson(raw.texts()[1]).object().value(QLatin1String("id")).toString(),
            QStringLiteral("after"));
    }

    // And so does the broker, to a new connection.
    QVERIFY2(commyd->isRunning(), commyd->describe());
    JsonWsClient client;
    QVERIFY(client.open(commyd->url()));
    QVERIFY2(!resultData(client.call(QStringLiteral("Heartbeat"))).isEmpty(), commyd->describe());

    if (QByteArray(QTest::currentDataTag()) == "invalid UTF-8") { // the last row: stop it cleanly
        commyd->signal(SIGTERM);
        QVERIFY2(commyd->waitFinished() && commyd->exitedWith(0), commyd->describe());
    }
}

QTEST_MAIN(TestCommyd)
#include "tst_commyd.moc"
