// BrokerClient against the real Broker served by the real WebSocketServer, both in this process on
// 127.0.0.1: key authentication, administration, data with compare-and-set, subscriptions between two
// clients, a local process writing through its own mapping of the region, typed permission errors, a
// server that goes away and comes back on the same port (reconnect with backoff, re-authentication
// with the token, re-subscription, resync), a slow subscriber whose pushes the server merges, and wss
// with a certificate made at test time.

#include <commy/broker/broker.h>
#include <commy/broker/websocket_server.h>
#include <commy/client/broker_client.h>

#include "broker_test_support.h"
#include "test_certificate.h"

#include <QEventLoop>
#include <QFileInfo>
#include <QJsonArray>
#include <QPointer>
#include <QProcess>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

#include <map>
#include <memory>

using namespace commy::protocol;
using commy::broker::Broker;
using commy::broker::PeerInfo;
using commy::broker::SessionHandler;
using commy::broker::SessionId;
using commy::broker::SessionOutput;
using commy::broker::WebSocketServer;
using commy::broker::WebSocketServerOptions;
using commy::broker::testing::TestSession;
using commy::client::BrokerClient;

Q_DECLARE_METATYPE(commy::protocol::Request)

namespace {

constexpr int kWaitMs = 20'000;

const QString acme = QStringLiteral("acme");
const QString line1 = QStringLiteral("line1");

BrokerClient::Options fastOptions()
{
    BrokerClient::Options options;
    options.initialBackoff = std::chrono::milliseconds(50);
    options.maxBackoff = std::chrono::milliseconds(400);
    options.connectTimeout = std::chrono::milliseconds(kWaitMs);
    options.requestTimeout = std::chrono::milliseconds(kWaitMs);
    return options;
}

QString describe(const Error& error) { return errorCodeName(error.code) + QLatin1String(": ") + error.message; }

template <class T> QString describe(const commy::Expected<T, Error>& outcome)
{
    return outcome ? QStringLiteral("a result") : describe(outcome.error());
}

// The error code of an outcome, or "OK".
template <class T> QString codeOf(const commy::Expected<T, Error>& outcome)
{
    return outcome ? QStringLiteral("OK") : errorCodeName(outcome.error().code);
}

// Sends `message` and runs the event loop until its reply comes; the client's own request timeout
// bounds the wait.
template <class R> commy::Expected<ResultOfT<R>, Error> call(BrokerClient& client, R message)
{
    using Outcome = commy::Expected<ResultOfT<R>, Error>;
    std::optional<Outcome> outcome;
    QEventLoop loop;
    client.request(std::move(message), [&](const Outcome& reply) {
        outcome.emplace(reply);
        loop.quit();
    });
    if (!outcome)
        loop.exec();
    return *outcome;
}

// Opens `client` on `url` and waits until requests flow.
bool connectTo(BrokerClient& client, const QUrl& url)
{
    QSignalSpy connected(&client, &BrokerClient::connected);
    client.open(url);
    return connected.wait(kWaitMs) || client.state() == BrokerClient::State::Connected;
}

Authenticate apiKey(const QString& key, std::optional<QString> tenant = acme)
{
    return Authenticate { std::move(tenant), ApiKeyCredential { key }, QStringLiteral("tst_client_end_to_end") };
}

std::vector<VariableChanged> changesOf(const QSignalSpy& spy)
{
    std::vector<VariableChanged> changes;
    for (const QList<QVariant>& arguments : spy)
        changes.push_back(arguments.at(0).value<VariableChanged>());
    return changes;
}

// The value each variable was last delivered with.
std::map<QString, QByteArray> latestValues(const QSignalSpy& spy)
{
    std::map<QString, QByteArray> latest;
    for (const VariableChanged& change : changesOf(spy))
        latest[change.variable] = change.value;
    return latest;
}

// Forwards to the broker and records each frame's type (with an Authenticate's method, as
// "Authenticate:token") and session, to show what a client sent when it restored its session.
class RecordingHandler final : public SessionHandler {
public:
    explicit RecordingHandler(SessionHandler& target)
        : m_target(target)
    {
    }
    SessionId openSession(const PeerInfo& peer, SessionOutput* output) override
    {
        return m_target.openSession(peer, output);
    }
    void closeSession(SessionId session) override { m_target.closeSession(session); }
    void handleFrame(SessionId session, QByteArrayView frame) override
    {
        const QJsonObject object = QJsonDocument::fromJson(frame.toByteArray()).object();
        QString label = object.value(QLatin1String("type")).toString();
        const QString method = object.value(QLatin1String("data")).toObject().value(QLatin1String("method")).toString();
        if (!method.isEmpty())
            label += QLatin1Char(':') + method;
        frames.push_back({ session, label });
        m_target.handleFrame(session, frame);
    }

    struct Frame {
        SessionId session;
        QString label;
    };
    std::vector<Frame> frames;

private:
    SessionHandler& m_target;
};

// A TCP relay between a client and the server. Paused, it stops taking what the server sends from
// the kernel, so the server's socket backs up exactly as for a client that stopped reading.
class Relay : public QObject {
public:
    bool listen(quint16 target)
    {
        m_target = target;
        connect(&m_server, &QTcpServer::newConnection, this, &Relay::accept);
        return m_server.listen(QHostAddress::LocalHost, 0);
    }
    quint16 port() const { return m_server.serverPort(); }
    void pause() { m_paused = true; }
    void resume()
    {
        m_paused = false;
        for (const Link& link : m_links)
            if (link.client && link.upstream)
                link.client->write(link.upstream->readAll());
    }

private:
    struct Link {
        QPointer<QTcpSocket> client;
        QPointer<QTcpSocket> upstream;
    };

    void accept()
    {
        while (QTcpSocket* client = m_server.nextPendingConnection()) {
            auto* upstream = new QTcpSocket(client);
            // Bounded, so that a paused relay soon stops reading from the kernel.
            upstream->setReadBufferSize(64 * 1024);
            const auto toServer = [client, upstream] {
                if (upstream->state() == QAbstractSocket::ConnectedState)
                    upstream->write(client->readAll());
            };
            connect(upstream, &QTcpSocket::connected, client, toServer);
            connect(client, &QTcpSocket::readyRead, upstream, toServer);
            connect(upstream, &QTcpSocket::readyRead, client, [this, client, upstream] {
                if (!m_paused)
                    client->write(upstream->readAll());
            });
            connect(client, &QTcpSocket::disconnected, upstream, &QTcpSocket::disconnectFromHost);
            connect(upstream, &QTcpSocket::disconnected, client, &QTcpSocket::disconnectFromHost);
            m_links.push_back({ client, upstream });
            upstream->connectToHost(QHostAddress::LocalHost, m_target);
        }
    }

    QTcpServer m_server;
    quint16 m_target = 0;
    bool m_paused = false;
    std::vector<Link> m_links;
};

} // namespace

class TestClientEndToEnd : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();
    void cleanupTestCase();

    void authenticateWithKey();
    void adminCreatesTenantServiceAndKey();
    void writeReadAndCompareAndSet();
    void subscriberSeesAnotherClientsWrites();
    void localMappingWriteReachesRemoteSubscriber();
    void permissionErrorsAreTyped_data();
    void permissionErrorsAreTyped();
    void serverGoesAwayAndComesBack();
    void slowSubscriberIsMergedAndResyncs();
    void wssWithTrustedCertificate();

private:
    static bool sharesTheBroker();
    void tearDown();
    bool startServer(WebSocketServerOptions options = {});
    // Through an in-process admin session: tenant acme, service line1 (4 MiB), and a key of acme with
    // `scopes`, which it returns.
    QString provision(const QStringList& scopes, const QString& tenant = acme);
    QString createKey(const QString& tenant, const QStringList& scopes);
    // Requests an in-process admin session makes; "OK" or the error code.
    QString adminCall(const QString& type, const QJsonObject& data);
    // The frames of `session` recorded from index `from` on.
    QStringList framesOf(SessionId session, std::size_t from = 0) const;

    QTemporaryDir m_certDir;
    commy::testing::TestCertificate m_certificate;
    std::unique_ptr<QTemporaryDir> m_dataDir;
    std::unique_ptr<Broker> m_broker;
    std::unique_ptr<RecordingHandler> m_recorder;
    std::unique_ptr<WebSocketServer> m_server;
    std::unique_ptr<TestSession> m_admin;
    QString m_adminKey;
    QHash<QString, QString> m_matrixKeys; // the permission matrix's keys, by their scopes
};

void TestClientEndToEnd::initTestCase()
{
    QVERIFY(m_certDir.isValid());
    m_certificate = commy::testing::makeTestCertificate(m_certDir.path());
    QVERIFY2(m_certificate.isValid(), qPrintable(m_certificate.error));
    QVERIFY(!m_certificate.certificate().isNull());
}

// The permission matrix only reads: its rows share one broker, which saves most of the slow key
// derivations (PBKDF2) a fresh broker per row would cost.
bool TestClientEndToEnd::sharesTheBroker()
{
    return qstrcmp(QTest::currentTestFunction(), "permissionErrorsAreTyped") == 0;
}

void TestClientEndToEnd::init()
{
    if (m_broker && sharesTheBroker())
        return;
    tearDown();
    m_dataDir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dataDir->isValid());
    m_broker = commy::broker::testing::openBroker(m_dataDir->path());
    QVERIFY(m_broker);
    auto key = m_broker->bootstrapAdminKey();
    QVERIFY2(key, key ? "" : qPrintable(key.error()));
    QVERIFY(key->has_value());
    m_adminKey = **key;
    m_recorder = std::make_unique<RecordingHandler>(*m_broker);
    m_admin = std::make_unique<TestSession>(*m_broker);
    QCOMPARE(m_admin->authenticateKey(m_adminKey), QStringLiteral("OK"));
}

void TestClientEndToEnd::cleanup()
{
    if (!sharesTheBroker())
        tearDown();
}

void TestClientEndToEnd::cleanupTestCase() { tearDown(); }

void TestClientEndToEnd::tearDown()
{
    // The server before the handler it serves, the handler before the broker.
    m_matrixKeys.clear();
    m_server.reset();
    m_admin.reset();
    m_recorder.reset();
    m_broker.reset();
    m_dataDir.reset();
}

bool TestClientEndToEnd::startServer(WebSocketServerOptions options)
{
    m_server = std::make_unique<WebSocketServer>(m_recorder.get(), options);
    const auto listening = m_server->listen();
    if (!listening)
        qWarning("%s", qPrintable(listening.error()));
    return bool(listening);
}

QString TestClientEndToEnd::adminCall(const QString& type, const QJsonObject& data)
{
    return m_admin->call(type, data);
}

QString TestClientEndToEnd::createKey(const QString& tenant, const QStringList& scopes)
{
    const QJsonObject reply = m_admin->request(QStringLiteral("CreateKey"),
        QJsonObject {
            { QStringLiteral("tenant"), tenant }, { QStringLiteral("scopes"), QJsonArray::fromStringList(scopes) } });
    return reply.value(QLatin1String("data")).toObject().value(QLatin1String("key")).toString();
}

QString TestClientEndToEnd::provision(const QStringList& scopes, const QString& tenant)
{
    const QJsonObject tenantData { { QStringLiteral("tenant"), tenant } };
    if (adminCall(QStringLiteral("CreateTenant"), tenantData) != u"OK")
        return {};
    if (adminCall(QStringLiteral("CreateService"),
            QJsonObject { { QStringLiteral("tenant"), tenant }, { QStringLiteral("service"), line1 },
                { QStringLiteral("size"), 4 << 20 } })
        != u"OK")
        return {};
    return createKey(tenant, scopes);
}

QStringList TestClientEndToEnd::framesOf(SessionId session, std::size_t from) const
{
    QStringList labels;
    for (std::size_t i = from; i < m_recorder->frames.size(); ++i)
        if (m_recorder->frames[i].session == session)
            labels.append(m_recorder->frames[i].label);
    return labels;
}

// --- Session and administration ----------------------------------------------------------------

void TestClientEndToEnd::authenticateWithKey()
{
    QVERIFY(startServer());
    BrokerClient client(fastOptions());
    QVERIFY(connectTo(client, m_server->url()));

    // A wrong key is a typed error and the connection stays usable.
    const auto wrong = call(client, apiKey(m_adminKey + QStringLiteral("x"), std::nullopt));
    QVERIFY(!wrong);
    QCOMPARE(wrong.error().code, ErrorCode::Unauthorized);
    QCOMPARE(client.state(), BrokerClient::State::Connected);

    const auto server = call(client, apiKey(m_adminKey, std::nullopt));
    QVERIFY2(server, qPrintable(describe(server)));
    QVERIFY(!server->token.isEmpty());
    QVERIFY(server->expiresIn > 3500 && server->expiresIn <= 3600);
    QCOMPARE(server->scopes, std::vector<Scope> { Scope::ServerAdmin });

    const auto beat = call(client, Heartbeat {});
    QVERIFY2(beat, qPrintable(describe(beat)));
    QVERIFY(qAbs(beat->serverTime - QDateTime::currentMSecsSinceEpoch()) < 60'000);

    // A tenant key authenticates to its tenant only.
    const QString key = provision({ QStringLiteral("read") });
    QVERIFY(!key.isEmpty());
    const auto tenant = call(client, apiKey(key));
    QVERIFY2(tenant, qPrintable(describe(tenant)));
    QCOMPARE(tenant->scopes, std::vector<Scope> { Scope::Read });
    const auto elsewhere = call(client, apiKey(key, QStringLiteral("other")));
    QVERIFY(!elsewhere);
    QCOMPARE(elsewhere.error().code, ErrorCode::Unauthorized);
}

void TestClientEndToEnd::adminCreatesTenantServiceAndKey()
{
    QVERIFY(startServer());
    BrokerClient admin(fastOptions());
    QVERIFY(connectTo(admin, m_server->url()));
    const auto login = call(admin, apiKey(m_adminKey, std::nullopt));
    QVERIFY2(login, qPrintable(describe(login)));

    const auto tenant = call(admin, CreateTenant { acme });
    QVERIFY2(tenant, qPrintable(describe(tenant)));
    const auto again = call(admin, CreateTenant { acme });
    QCOMPARE(codeOf(again), QStringLiteral("ALREADY_EXISTS"));

    const auto service = call(admin, CreateService { acme, line1, qint64(256) << 10, qint64(4) << 20 });
    QVERIFY2(service, qPrintable(describe(service)));
    QCOMPARE(service->name, line1);
    QCOMPARE(service->size, qint64(256) << 10);
    QCOMPARE(service->limit, qint64(4) << 20);
    QCOMPARE(service->variables, qint64(0));

    const auto key = call(admin, CreateKey { acme, { Scope::Read, Scope::Write }, QStringLiteral("plc") });
    QVERIFY2(key, qPrintable(describe(key)));
    QVERIFY(!key->keyId.isEmpty());
    QVERIFY(!key->key.isEmpty());

    const auto tenants = call(admin, ListTenants {});
    QVERIFY2(tenants, qPrintable(describe(tenants)));
    QCOMPARE(tenants->tenants.size(), std::size_t(1));
    QCOMPARE(tenants->tenants[0].name, acme);
    QCOMPARE(tenants->tenants[0].services, qint64(1));
    const auto services = call(admin, ListServices { acme });
    QVERIFY2(services, qPrintable(describe(services)));
    QCOMPARE(services->services.size(), std::size_t(1));
    QCOMPARE(services->services[0], *service);
    const auto keys = call(admin, ListKeys { acme });
    QVERIFY2(keys, qPrintable(describe(keys)));
    QCOMPARE(keys->keys.size(), std::size_t(1));
    QCOMPARE(keys->keys[0].keyId, key->keyId);
    QCOMPARE(keys->keys[0].name, std::optional<QString>(QStringLiteral("plc")));
    QCOMPARE(keys->keys[0].scopes, (std::vector<Scope> { Scope::Read, Scope::Write }));

    // The new key works on another connection, with exactly its scopes.
    BrokerClient user(fastOptions());
    QVERIFY(connectTo(user, m_server->url()));
    const auto userLogin = call(user, apiKey(key->key));
    QVERIFY2(userLogin, qPrintable(describe(userLogin)));
    QCOMPARE(userLogin->scopes, (std::vector<Scope> { Scope::Read, Scope::Write }));
    const auto written = call(user, AllocateVariable { acme, line1, QStringLiteral("speed"), "12" });
    QVERIFY2(written, qPrintable(describe(written)));
    QCOMPARE(codeOf(call(user, CreateService { acme, QStringLiteral("line2"), {}, {} })),
        QStringLiteral("PERMISSION_DENIED"));

    // Revoked, it no longer authenticates, and the session that used it loses its grant.
    QVERIFY2(call(admin, RevokeKey { acme, key->keyId }), "RevokeKey");
    QCOMPARE(codeOf(call(user, ReadVariable { acme, line1, QStringLiteral("speed") })), QStringLiteral("UNAUTHORIZED"));
    QCOMPARE(codeOf(call(user, apiKey(key->key))), QStringLiteral("UNAUTHORIZED"));

    QVERIFY2(call(admin, DeleteService { acme, line1 }), "DeleteService");
    QCOMPARE(codeOf(call(admin, GetService { acme, line1 })), QStringLiteral("NOT_FOUND"));
    QVERIFY2(call(admin, DeleteTenant { acme }), "DeleteTenant");
    const auto none = call(admin, ListTenants {});
    QVERIFY2(none, qPrintable(describe(none)));
    QVERIFY(none->tenants.empty());
}

// --- Data --------------------------------------------------------------------------------------

void TestClientEndToEnd::writeReadAndCompareAndSet()
{
    QVERIFY(startServer());
    const QString key = provision({ QStringLiteral("read"), QStringLiteral("write") });
    QVERIFY(!key.isEmpty());
    BrokerClient client(fastOptions());
    QVERIFY(connectTo(client, m_server->url()));
    QVERIFY(call(client, apiKey(key)));
    const QString speed = QStringLiteral("speed");

    const auto allocated = call(client, AllocateVariable { acme, line1, speed, QByteArray("\0\1\2", 3) });
    QVERIFY2(allocated, qPrintable(describe(allocated)));
    QCOMPARE(allocated->version, qint64(1));
    QCOMPARE(codeOf(call(client, AllocateVariable { acme, line1, speed, "x" })), QStringLiteral("ALREADY_EXISTS"));

    auto read = call(client, ReadVariable { acme, line1, speed });
    QVERIFY2(read, qPrintable(describe(read)));
    QCOMPARE(read->value, QByteArray("\0\1\2", 3)); // bytes, not text: base64 on the wire
    QCOMPARE(read->version, qint64(1));

    const auto written = call(client, WriteVariable { acme, line1, speed, "fast", std::nullopt });
    QVERIFY2(written, qPrintable(describe(written)));
    QCOMPARE(written->version, qint64(2));

    // Compare-and-set: succeeds on the current version, refused on a stale one.
    const auto swapped = call(client, WriteVariable { acme, line1, speed, "faster", qint64(2) });
    QVERIFY2(swapped, qPrintable(describe(swapped)));
    QCOMPARE(swapped->version, qint64(3));
    const auto stale = call(client, WriteVariable { acme, line1, speed, "lost", qint64(2) });
    QVERIFY(!stale);
    QCOMPARE(stale.error().code, ErrorCode::InvalidRequest);
    QVERIFY2(stale.error().message.contains(QLatin1String("3")), qPrintable(stale.error().message));
    read = call(client, ReadVariable { acme, line1, speed });
    QVERIFY2(read, qPrintable(describe(read)));
    QCOMPARE(read->value, QByteArray("faster"));
    QCOMPARE(read->version, qint64(3));

    // The empty value and a large one.
    const QByteArray large(200 * 1024, 'L');
    QVERIFY(call(client, AllocateVariable { acme, line1, QStringLiteral("empty"), QByteArray() }));
    QVERIFY(call(client, AllocateVariable { acme, line1, QStringLiteral("large"), large }));
    read = call(client, ReadVariable { acme, line1, QStringLiteral("large") });
    QVERIFY2(read, qPrintable(describe(read)));
    QCOMPARE(read->value, large);
    read = call(client, ReadVariable { acme, line1, QStringLiteral("empty") });
    QVERIFY2(read, qPrintable(describe(read)));
    QVERIFY(read->value.isEmpty());

    const auto listed = call(client, ListVariables { acme, line1 });
    QVERIFY2(listed, qPrintable(describe(listed)));
    std::map<QString, VariableInfo> byName;
    for (const VariableInfo& info : listed->variables)
        byName[info.name] = info;
    QCOMPARE(byName.size(), std::size_t(3));
    QCOMPARE(byName[speed].size, qint64(6));
    QCOMPARE(byName[speed].version, qint64(3));
    QCOMPARE(byName[QStringLiteral("large")].size, qint64(large.size()));

    QVERIFY(call(client, DeallocateVariable { acme, line1, speed }));
    QCOMPARE(codeOf(call(client, ReadVariable { acme, line1, speed })), QStringLiteral("NOT_FOUND"));
}

void TestClientEndToEnd::subscriberSeesAnotherClientsWrites()
{
    QVERIFY(startServer());
    const QString key = provision({ QStringLiteral("read"), QStringLiteral("write"), QStringLiteral("subscribe") });
    QVERIFY(!key.isEmpty());
    BrokerClient subscriber(fastOptions());
    BrokerClient writer(fastOptions());
    QVERIFY(connectTo(subscriber, m_server->url()));
    QVERIFY(connectTo(writer, m_server->url()));
    QVERIFY(call(subscriber, apiKey(key)));
    QVERIFY(call(writer, apiKey(key)));
    QVERIFY(call(writer, AllocateVariable { acme, line1, QStringLiteral("a"), "a0" }));
    QVERIFY(call(writer, AllocateVariable { acme, line1, QStringLiteral("b"), "b0" }));

    QSignalSpy changes(&subscriber, &BrokerClient::variableChanged);
    QSignalSpy gaps(&subscriber, &BrokerClient::gapDetected);
    const auto subscribed = call(subscriber, Subscribe { acme, line1, std::vector<QString> { QStringLiteral("a") } });
    QVERIFY2(subscribed, qPrintable(describe(subscribed)));

    // Writes to b are not pushed to a subscription of a; each write of a is.
    constexpr int kWrites = 20;
    for (int i = 1; i <= kWrites; ++i) {
        QVERIFY(call(writer, WriteVariable { acme, line1, QStringLiteral("b"), "b" + QByteArray::number(i), {} }));
        const auto written
            = call(writer, WriteVariable { acme, line1, QStringLiteral("a"), "a" + QByteArray::number(i), {} });
        QVERIFY2(written, qPrintable(describe(written)));
        QCOMPARE(written->version, qint64(i + 1));
    }
    QTRY_VERIFY_WITH_TIMEOUT(
        !changes.isEmpty() && changes.last().at(0).value<VariableChanged>().value == "a" + QByteArray::number(kWrites),
        kWaitMs);
    // seq is contiguous from 1; versions only grow (the broker may skip intermediate versions when
    // writes outpace its reading of the change journal, never a seq).
    qint64 lastVersion = 0;
    const std::vector<VariableChanged> seen = changesOf(changes);
    for (std::size_t i = 0; i < seen.size(); ++i) {
        QCOMPARE(seen[i].tenant, acme);
        QCOMPARE(seen[i].service, line1);
        QCOMPARE(seen[i].variable, QStringLiteral("a"));
        QCOMPARE(seen[i].seq, qint64(i + 1));
        QVERIFY(!seen[i].coalesced);
        QVERIFY(seen[i].version > lastVersion);
        QCOMPARE(seen[i].value, "a" + QByteArray::number(seen[i].version - 1));
        lastVersion = seen[i].version;
    }
    QCOMPARE(lastVersion, qint64(kWrites + 1));
    QCOMPARE(gaps.count(), 0);
    qInfo("%d writes, %zu pushes", kWrites, seen.size());

    // After unsubscribing nothing more arrives; a Heartbeat round trip orders the check after any push.
    QVERIFY(call(subscriber, Unsubscribe { acme, line1, std::nullopt }));
    QVERIFY(call(writer, WriteVariable { acme, line1, QStringLiteral("a"), "after", {} }));
    QVERIFY(call(writer, Heartbeat {}));
    QVERIFY(call(subscriber, Heartbeat {}));
    QCOMPARE(changes.count(), int(seen.size()));
}

// One client asks for the service's file over 127.0.0.1 and hands the path to a separate process,
// which maps the region and writes a variable; another client, subscribed over its own socket, gets
// every value as a VariableChanged push (the broker learns of the write from the change journal).
void TestClientEndToEnd::localMappingWriteReachesRemoteSubscriber()
{
    QVERIFY(startServer());
    const QString key = provision(
        { QStringLiteral("read"), QStringLiteral("write"), QStringLiteral("subscribe"), QStringLiteral("map") });
    QVERIFY(!key.isEmpty());
    BrokerClient local(fastOptions());
    BrokerClient subscriber(fastOptions());
    QVERIFY(connectTo(local, m_server->url()));
    QVERIFY(connectTo(subscriber, m_server->url()));
    QVERIFY(call(local, apiKey(key)));
    QVERIFY(call(subscriber, apiKey(key)));
    QVERIFY(call(local, AllocateVariable { acme, line1, QStringLiteral("mapped"), "start" }));
    const auto file = call(local, GetServiceFilePath { acme, line1 });
    QVERIFY2(file, qPrintable(describe(file)));
    QCOMPARE(file->size, QFileInfo(file->path).size());

    QSignalSpy changes(&subscriber, &BrokerClient::variableChanged);
    QVERIFY(call(subscriber, Subscribe { acme, line1, std::vector<QString> { QStringLiteral("mapped") } }));

    QProcess writer;
    writer.start(qEnvironmentVariable("COMMY_TEST_BIN_DIR") + QStringLiteral("/broker_test_child"),
        { QStringLiteral("map-writer"), file->path, QStringLiteral("mapped") });
    QVERIFY(writer.waitForStarted(kWaitMs));
    auto stop = qScopeGuard([&] {
        writer.kill();
        writer.waitForFinished(kWaitMs);
    });
    QTRY_VERIFY_WITH_TIMEOUT(writer.canReadLine(), kWaitMs);
    QCOMPARE(writer.readLine().trimmed(), QByteArray("ready"));

    constexpr int kWrites = 10;
    for (int i = 1; i <= kWrites; ++i) {
        const QByteArray value = "local-" + QByteArray::number(i);
        writer.write(value + '\n');
        QTRY_VERIFY_WITH_TIMEOUT(
            !changes.isEmpty() && changes.last().at(0).value<VariableChanged>().value == value, kWaitMs);
    }
    const std::vector<VariableChanged> seen = changesOf(changes);
    QCOMPARE(int(seen.size()), kWrites);
    for (std::size_t i = 0; i < seen.size(); ++i) {
        QCOMPARE(seen[i].variable, QStringLiteral("mapped"));
        QCOMPARE(seen[i].seq, qint64(i + 1));
        QCOMPARE(seen[i].version, qint64(i + 2));
    }
    // The broker's own read sees the mapped process's last write.
    const auto read = call(subscriber, ReadVariable { acme, line1, QStringLiteral("mapped") });
    QVERIFY2(read, qPrintable(describe(read)));
    QCOMPARE(read->value, "local-" + QByteArray::number(kWrites));
}

// --- Permissions -------------------------------------------------------------------------------

void TestClientEndToEnd::permissionErrorsAreTyped_data()
{
    QTest::addColumn<QStringList>("scopes"); // of the acme key the client authenticates with; empty: none
    QTest::addColumn<Request>("request");
    QTest::addColumn<QString>("expected");

    const QString speed = QStringLiteral("speed");
    const QStringList read { QStringLiteral("read") };
    const QStringList write { QStringLiteral("write") };
    QTest::newRow("not authenticated") << QStringList() << Request(ReadVariable { acme, line1, speed })
                                       << QStringLiteral("UNAUTHORIZED");
    QTest::newRow("read key writes") << read << Request(WriteVariable { acme, line1, speed, "x", {} })
                                     << QStringLiteral("PERMISSION_DENIED");
    QTest::newRow("write key reads") << write << Request(ReadVariable { acme, line1, speed })
                                     << QStringLiteral("PERMISSION_DENIED");
    QTest::newRow("read key subscribes") << read << Request(Subscribe { acme, line1, std::nullopt })
                                         << QStringLiteral("PERMISSION_DENIED");
    QTest::newRow("read key maps") << read << Request(GetServiceFilePath { acme, line1 })
                                   << QStringLiteral("PERMISSION_DENIED");
    QTest::newRow("write key creates a service")
        << write << Request(CreateService { acme, QStringLiteral("line2"), {}, {} })
        << QStringLiteral("PERMISSION_DENIED");
    QTest::newRow("admin key lists tenants")
        << QStringList { QStringLiteral("admin") } << Request(ListTenants {}) << QStringLiteral("PERMISSION_DENIED");
    QTest::newRow("other tenant") << read << Request(ReadVariable { QStringLiteral("other"), line1, speed })
                                  << QStringLiteral("UNAUTHORIZED");
    QTest::newRow("unknown tenant") << read << Request(ReadVariable { QStringLiteral("nosuch"), line1, speed })
                                    << QStringLiteral("UNAUTHORIZED");
    QTest::newRow("unknown service") << read << Request(ReadVariable { acme, QStringLiteral("nosuch"), speed })
                                     << QStringLiteral("NOT_FOUND");
    QTest::newRow("unknown variable") << read << Request(ReadVariable { acme, line1, QStringLiteral("nosuch") })
                                      << QStringLiteral("NOT_FOUND");
    QTest::newRow("existing variable") << write << Request(AllocateVariable { acme, line1, speed, "x" })
                                       << QStringLiteral("ALREADY_EXISTS");
    QTest::newRow("map key maps from loopback")
        << QStringList { QStringLiteral("map") } << Request(GetServiceFilePath { acme, line1 }) << QStringLiteral("OK");
    QTest::newRow("read key reads") << read << Request(ReadVariable { acme, line1, speed }) << QStringLiteral("OK");
}

void TestClientEndToEnd::permissionErrorsAreTyped()
{
    QFETCH(QStringList, scopes);
    QFETCH(Request, request);
    QFETCH(QString, expected);

    if (!m_server) {
        QVERIFY(startServer());
        for (const QString& tenant : { acme, QStringLiteral("other") }) {
            QCOMPARE(adminCall(QStringLiteral("CreateTenant"), QJsonObject { { QStringLiteral("tenant"), tenant } }),
                QStringLiteral("OK"));
            QCOMPARE(adminCall(QStringLiteral("CreateService"),
                         QJsonObject { { QStringLiteral("tenant"), tenant }, { QStringLiteral("service"), line1 } }),
                QStringLiteral("OK"));
        }
        QCOMPARE(
            adminCall(QStringLiteral("AllocateVariable"),
                QJsonObject { { QStringLiteral("tenant"), acme }, { QStringLiteral("service"), line1 },
                    { QStringLiteral("variable"), QStringLiteral("speed") }, { QStringLiteral("value"), QString() } }),
            QStringLiteral("OK"));
    }

    BrokerClient client(fastOptions());
    QVERIFY(connectTo(client, m_server->url()));
    if (!scopes.isEmpty()) {
        const QString label = scopes.join(u',');
        if (!m_matrixKeys.contains(label))
            m_matrixKeys.insert(label, createKey(acme, scopes));
        const QString key = m_matrixKeys.value(label);
        QVERIFY(!key.isEmpty());
        const auto login = call(client, apiKey(key));
        QVERIFY2(login, qPrintable(describe(login)));
    }
    std::optional<BrokerClient::Reply> reply;
    QEventLoop loop;
    client.send(request, [&](const BrokerClient::Reply& outcome) {
        reply = outcome;
        loop.quit();
    });
    loop.exec();
    QVERIFY(reply);
    const QString code = reply->hasValue() ? QStringLiteral("OK") : errorCodeName(reply->error().code);
    QCOMPARE(code, expected);
    if (!reply->hasValue())
        QVERIFY(!reply->error().message.isEmpty());
    // A refusal is an answer, not a failure of the connection.
    QVERIFY(call(client, Heartbeat {}));
    QCOMPARE(client.state(), BrokerClient::State::Connected);
}

// --- Reconnect ---------------------------------------------------------------------------------

void TestClientEndToEnd::serverGoesAwayAndComesBack()
{
    QVERIFY(startServer());
    const QString key = provision({ QStringLiteral("read"), QStringLiteral("subscribe") });
    QVERIFY(!key.isEmpty());
    const QString speed = QStringLiteral("speed");
    const auto write = [&](const QByteArray& value, bool allocate = false) {
        return adminCall(allocate ? QStringLiteral("AllocateVariable") : QStringLiteral("WriteVariable"),
            QJsonObject { { QStringLiteral("tenant"), acme }, { QStringLiteral("service"), line1 },
                { QStringLiteral("variable"), speed },
                { QStringLiteral("value"), commy::broker::testing::base64(value) } });
    };
    QCOMPARE(write("1", true), QStringLiteral("OK"));

    BrokerClient client(fastOptions());
    QSignalSpy connected(&client, &BrokerClient::connected);
    QSignalSpy disconnected(&client, &BrokerClient::disconnected);
    QSignalSpy resubscribed(&client, &BrokerClient::resubscribed);
    QSignalSpy errors(&client, &BrokerClient::errorOccurred);
    QSignalSpy changes(&client, &BrokerClient::variableChanged);
    QSignalSpy gaps(&client, &BrokerClient::gapDetected);
    QVERIFY(connectTo(client, m_server->url()));
    const auto login = call(client, apiKey(key));
    QVERIFY2(login, qPrintable(describe(login)));
    QVERIFY(call(client, Subscribe { acme, line1, std::nullopt }));
    QCOMPARE(write("2"), QStringLiteral("OK"));
    QTRY_COMPARE_WITH_TIMEOUT(changes.count(), 1, kWaitMs);
    QCOMPARE(changes[0][0].value<VariableChanged>().seq, qint64(1));

    // The server goes away: the client keeps trying, each attempt refused, with growing delays.
    const quint16 port = m_server->port();
    const QUrl url = m_server->url();
    m_server.reset();
    QTRY_COMPARE_WITH_TIMEOUT(disconnected.count(), 1, kWaitMs);
    QCOMPARE(client.state(), BrokerClient::State::Reconnecting);
    const int errorsBefore = errors.count();
    QTRY_VERIFY_WITH_TIMEOUT(errors.count() >= errorsBefore + 3, kWaitMs);
    QCOMPARE(client.state(), BrokerClient::State::Reconnecting);
    QCOMPARE(connected.count(), 1);

    // Written while the client is away: nobody is told.
    QCOMPARE(write("3"), QStringLiteral("OK"));
    const std::size_t framesBefore = m_recorder->frames.size();
    SessionId reopened = 0;
    WebSocketServerOptions options;
    options.port = port;
    QVERIFY(startServer(options));
    QCOMPARE(m_server->url(), url);
    connect(m_server.get(), &WebSocketServer::sessionOpened, this, [&](SessionId session) { reopened = session; });

    QTRY_COMPARE_WITH_TIMEOUT(resubscribed.count(), 1, kWaitMs);
    QCOMPARE(connected.count(), 2);
    QCOMPARE(client.state(), BrokerClient::State::Connected);
    // The missed value arrives through the resync read.
    QTRY_COMPARE_WITH_TIMEOUT(changes.count(), 2, kWaitMs);
    const auto resynced = changes[1][0].value<VariableChanged>();
    QCOMPARE(resynced.value, QByteArray("3"));
    QCOMPARE(resynced.version, qint64(3));
    QCOMPARE(resynced.seq, BrokerClient::kResyncSeq);
    // The session was restored with the token, not the key, then the subscription, then the resync.
    QVERIFY(reopened != 0);
    const QStringList restored = framesOf(reopened, framesBefore);
    QVERIFY2(restored.size() >= 3, qPrintable(restored.join(u',')));
    QCOMPARE(restored[0], QStringLiteral("Authenticate:token"));
    QCOMPARE(restored[1], QStringLiteral("Subscribe"));
    QCOMPARE(restored[2], QStringLiteral("ListVariables"));

    // Live pushes flow again, numbered by the new subscription.
    QCOMPARE(write("4"), QStringLiteral("OK"));
    QTRY_COMPARE_WITH_TIMEOUT(changes.count(), 3, kWaitMs);
    const auto live = changes[2][0].value<VariableChanged>();
    QCOMPARE(live.value, QByteArray("4"));
    QCOMPARE(live.seq, qint64(1));
    QCOMPARE(gaps.count(), 0);
}

// --- Slow subscriber ---------------------------------------------------------------------------

void TestClientEndToEnd::slowSubscriberIsMergedAndResyncs()
{
    WebSocketServerOptions options;
    options.sendBufferBytes = 4 * 1024;
    options.sendGraceMs = 60'000; // merged, never dropped, in this test
    options.pingIntervalMs = 0;
    options.idleTimeoutMs = 0;
    QVERIFY(startServer(options));
    const QString key = provision({ QStringLiteral("read"), QStringLiteral("subscribe") });
    QVERIFY(!key.isEmpty());
    const QStringList names { QStringLiteral("v0"), QStringLiteral("v1"), QStringLiteral("v2"), QStringLiteral("v3") };
    constexpr int kValueBytes = 32 * 1024;
    const auto valueOf = [](int round) { return QByteArray::number(round).leftJustified(kValueBytes, '.'); };
    const auto write = [&](const QString& variable, const QByteArray& value, bool allocate = false) {
        return adminCall(allocate ? QStringLiteral("AllocateVariable") : QStringLiteral("WriteVariable"),
            QJsonObject { { QStringLiteral("tenant"), acme }, { QStringLiteral("service"), line1 },
                { QStringLiteral("variable"), variable },
                { QStringLiteral("value"), commy::broker::testing::base64(value) } });
    };
    for (const QString& name : names)
        QCOMPARE(write(name, valueOf(0), true), QStringLiteral("OK"));

    Relay relay;
    QVERIFY(relay.listen(m_server->port()));
    BrokerClient client(fastOptions());
    QSignalSpy sessions(m_server.get(), &WebSocketServer::sessionOpened);
    QVERIFY(connectTo(client, QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(relay.port()))));
    QVERIFY(call(client, apiKey(key)));
    QVERIFY(call(client, Subscribe { acme, line1, std::nullopt }));
    QCOMPARE(sessions.count(), 1);
    const SessionId session = sessions[0][0].value<SessionId>();
    QSignalSpy changes(&client, &BrokerClient::variableChanged);
    QSignalSpy gaps(&client, &BrokerClient::gapDetected);
    QSignalSpy closing(m_server.get(), &WebSocketServer::sessionClosing);

    // An in-process subscriber shows when the broker has pushed a round (it is told synchronously).
    TestSession observer(*m_broker);
    QCOMPARE(observer.authenticateKey(m_adminKey), QStringLiteral("OK"));
    QCOMPARE(observer.call(QStringLiteral("Subscribe"),
                 QJsonObject { { QStringLiteral("tenant"), acme }, { QStringLiteral("service"), line1 } }),
        QStringLiteral("OK"));

    // The client stops reading; each round changes every variable and is pushed before the next.
    // Once the kernel's buffers are full the server's socket backs up and its pushes merge.
    relay.pause();
    constexpr int kRounds = 150;
    for (int round = 1; round <= kRounds; ++round) {
        for (const QString& name : names)
            QCOMPARE(write(name, valueOf(round)), QStringLiteral("OK"));
        const QByteArray last = valueOf(round);
        QVERIFY(observer.waitForPush(
            [&](const VariableChanged& push) { return push.variable == names.last() && push.value == last; }, kWaitMs));
        observer.pushes.clear();
    }
    const std::size_t framesBefore = m_recorder->frames.size();
    relay.resume();

    // The newest value of every variable arrives; the gap is seen and a resync reads the service.
    QTRY_VERIFY_WITH_TIMEOUT(!gaps.isEmpty(), kWaitMs);
    QCOMPARE(gaps[0][0].toString(), acme);
    QCOMPARE(gaps[0][1].toString(), line1);
    const std::map<QString, QByteArray> newest {
        { names[0], valueOf(kRounds) },
        { names[1], valueOf(kRounds) },
        { names[2], valueOf(kRounds) },
        { names[3], valueOf(kRounds) },
    };
    QTRY_VERIFY_WITH_TIMEOUT(latestValues(changes) == newest, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(framesOf(session, framesBefore).contains(QStringLiteral("ListVariables")), kWaitMs);

    // Pushes keep seq increasing; every gap is flagged coalesced; a resync delivers only what is
    // newer than what was delivered.
    qint64 lastSeq = 0;
    int pushes = 0;
    int flagged = 0;
    std::map<QString, qint64> delivered;
    for (const VariableChanged& change : changesOf(changes)) {
        if (change.seq == BrokerClient::kResyncSeq) {
            QVERIFY(change.version > delivered[change.variable]);
        } else {
            QVERIFY2(change.seq > lastSeq, qPrintable(QStringLiteral("seq %1 after %2").arg(change.seq).arg(lastSeq)));
            QCOMPARE(change.coalesced, change.seq != lastSeq + 1);
            flagged += change.coalesced ? 1 : 0;
            lastSeq = change.seq;
            ++pushes;
        }
        delivered[change.variable] = change.version;
    }
    QVERIFY(flagged >= 1);
    QVERIFY2(pushes < kRounds * int(names.size()), qPrintable(QString::number(pushes)));
    QCOMPARE(lastSeq, qint64(kRounds * names.size()));
    qInfo("%d rounds of %lld pushes, %d delivered, %d flagged coalesced, %lld gaps", kRounds, qlonglong(names.size()),
        pushes, flagged, qlonglong(gaps.count()));

    // Live pushes follow without a gap, and the server never gave up on the client.
    const int gapsBefore = gaps.count();
    QCOMPARE(write(names[0], "live"), QStringLiteral("OK"));
    QTRY_VERIFY_WITH_TIMEOUT(changes.last().at(0).value<VariableChanged>().value == "live", kWaitMs);
    const auto live = changes.last().at(0).value<VariableChanged>();
    QCOMPARE(live.seq, lastSeq + 1);
    QVERIFY(!live.coalesced);
    QCOMPARE(gaps.count(), gapsBefore);
    QCOMPARE(closing.count(), 0);
    QCOMPARE(client.state(), BrokerClient::State::Connected);
}

// --- TLS ---------------------------------------------------------------------------------------

void TestClientEndToEnd::wssWithTrustedCertificate()
{
    WebSocketServerOptions options;
    options.tlsCertificateFile = m_certificate.certificateFile;
    options.tlsKeyFile = m_certificate.keyFile;
    QVERIFY(startServer(options));
    QVERIFY(m_server->isSecure());
    QCOMPARE(m_server->url().scheme(), QStringLiteral("wss"));
    const QString key = provision({ QStringLiteral("read"), QStringLiteral("write"), QStringLiteral("subscribe") });
    QVERIFY(!key.isEmpty());

    BrokerClient::Options trusting = fastOptions();
    trusting.caCertificates = { m_certificate.certificate() };
    BrokerClient subscriber(trusting);
    BrokerClient writer(trusting);
    QSignalSpy errors(&subscriber, &BrokerClient::errorOccurred);
    QVERIFY(connectTo(subscriber, m_server->url()));
    QVERIFY(connectTo(writer, m_server->url()));
    QVERIFY(call(subscriber, apiKey(key)));
    QVERIFY(call(writer, apiKey(key)));
    QVERIFY(call(writer, AllocateVariable { acme, line1, QStringLiteral("speed"), "1" }));
    QVERIFY(call(subscriber, Subscribe { acme, line1, std::nullopt }));
    QSignalSpy changes(&subscriber, &BrokerClient::variableChanged);
    QVERIFY(call(writer, WriteVariable { acme, line1, QStringLiteral("speed"), "2", {} }));
    QTRY_COMPARE_WITH_TIMEOUT(changes.count(), 1, kWaitMs);
    const auto change = changes[0][0].value<VariableChanged>();
    QCOMPARE(change.value, QByteArray("2"));
    QCOMPARE(change.seq, qint64(1));
    const auto read = call(subscriber, ReadVariable { acme, line1, QStringLiteral("speed") });
    QVERIFY2(read, qPrintable(describe(read)));
    QCOMPARE(read->value, QByteArray("2"));
    QCOMPARE(errors.count(), 0);

    // Without the certificate among its CAs a client refuses the server.
    BrokerClient::Options plain = fastOptions();
    plain.autoReconnect = false;
    BrokerClient stranger(plain);
    QSignalSpy strangerErrors(&stranger, &BrokerClient::errorOccurred);
    stranger.open(m_server->url());
    QTRY_VERIFY_WITH_TIMEOUT(!strangerErrors.isEmpty(), kWaitMs);
    QVERIFY2(strangerErrors[0][0].toString().startsWith(QLatin1String("TLS error")),
        qPrintable(strangerErrors[0][0].toString()));
    QTRY_COMPARE_WITH_TIMEOUT(stranger.state(), BrokerClient::State::Disconnected, kWaitMs);
}

QTEST_GUILESS_MAIN(TestClientEndToEnd)
#include "tst_client_end_to_end.moc"
