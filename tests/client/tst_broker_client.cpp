// BrokerClient against a scripted fake broker on 127.0.0.1: replies matched by id (also out of
// order), errors, timeouts, requests caught by a disconnect, reconnect with backoff that restores the
// session (token first, then the original credential) and its subscriptions, seq gaps and coalesced
// pushes resynced by reads, and wss with a certificate made at test time (trusted, and not).

#include <commy/client/broker_client.h>

#include "fake_broker.h"

#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QSignalSpy>
#include <QSslKey>
#include <QTemporaryDir>
#include <QtTest>

using namespace commy::protocol;
using commy::client::BrokerClient;

Q_DECLARE_METATYPE(commy::protocol::ErrorCode)

namespace {

using Outcome = std::optional<BrokerClient::Reply>;

BrokerClient::Callback into(Outcome& outcome)
{
    return [&outcome](const BrokerClient::Reply& reply) { outcome = reply; };
}

BrokerClient::Options fastOptions()
{
    BrokerClient::Options options;
    options.initialBackoff = std::chrono::milliseconds(50);
    options.maxBackoff = std::chrono::milliseconds(400);
    options.requestTimeout = std::chrono::milliseconds(5000);
    return options;
}

const QString acme = QStringLiteral("acme");
const QString s1 = QStringLiteral("s1");

Authenticate apiKey(const QString& key)
{
    return Authenticate { acme, ApiKeyCredential { key }, QStringLiteral("tst") };
}

QString describe(const Outcome& outcome)
{
    if (!outcome)
        return QStringLiteral("no reply");
    if (outcome->hasValue())
        return QStringLiteral("a result");
    return errorCodeName(outcome->error().code) + QLatin1String(": ") + outcome->error().message;
}

} // namespace

class TestBrokerClient : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();

    void repliesMatchedById();
    void outOfOrderReplies();
    void errorReplies_data();
    void errorReplies();
    void malformedReplyFailsTheRequest();
    void requestTimeout();
    void pendingRequestFailsOnDisconnect();
    void sendWhileDisconnected();
    void requestsWaitForTheConnection();
    void closeFailsPendingAndStaysClosed();
    void invalidUrl();
    void deletedFromItsOwnSignals();

    void reconnectRestoresSessionWithToken();
    void reconnectFallsBackToCredential();
    void reconnectWithExpiredTokenUsesCredential();
    void failedReauthenticationDropsTenant();
    void unsubscribeAndLogoutAreNotReplayed();
    void backoffGrowsUntilBrokerReturns();
    void noReconnectWhenDisabled();

    void seqGapResyncsWholeService();
    void coalescedPushResyncsListedVariables();
    void reconnectResyncsMissedUpdates();
    void monitoringPushesBecomeSignals();

    void wssWithTrustedCertificate();
    void wssWithUntrustedCertificateFails();

private:
    void connectTo(BrokerClient& client, FakeBroker& broker);
    void authenticate(BrokerClient& client);
    void subscribe(BrokerClient& client, std::optional<std::vector<QString>> variables = std::nullopt);
    std::optional<QSslConfiguration> serverTls() const;

    QTemporaryDir m_certDir;
    QSslCertificate m_certificate;
    QSslKey m_key;
};

// A self-signed certificate for 127.0.0.1, made with the openssl command (never committed).
void TestBrokerClient::initTestCase()
{
    QVERIFY(m_certDir.isValid());
    QProcess openssl;
    openssl.setWorkingDirectory(m_certDir.path());
    openssl.start(QStringLiteral("openssl"),
        { QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("ec"),
            QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes"),
            QStringLiteral("-keyout"), QStringLiteral("key.pem"), QStringLiteral("-out"), QStringLiteral("cert.pem"),
            QStringLiteral("-days"), QStringLiteral("1"), QStringLiteral("-subj"), QStringLiteral("/CN=127.0.0.1"),
            QStringLiteral("-addext"), QStringLiteral("subjectAltName=IP:127.0.0.1") });
    QVERIFY(openssl.waitForFinished(30000));
    QCOMPARE(openssl.exitCode(), 0);
    QFile certFile(m_certDir.filePath(QStringLiteral("cert.pem")));
    QFile keyFile(m_certDir.filePath(QStringLiteral("key.pem")));
    QVERIFY(certFile.open(QIODevice::ReadOnly));
    QVERIFY(keyFile.open(QIODevice::ReadOnly));
    m_certificate = QSslCertificate(certFile.readAll(), QSsl::Pem);
    m_key = QSslKey(keyFile.readAll(), QSsl::Ec, QSsl::Pem);
    QVERIFY(!m_certificate.isNull());
    QVERIFY(!m_key.isNull());
}

std::optional<QSslConfiguration> TestBrokerClient::serverTls() const
{
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setLocalCertificate(m_certificate);
    tls.setPrivateKey(m_key);
    tls.setPeerVerifyMode(QSslSocket::VerifyNone);
    return tls;
}

void TestBrokerClient::connectTo(BrokerClient& client, FakeBroker& broker)
{
    QVERIFY(broker.listen());
    client.open(broker.url());
    QTRY_COMPARE(client.state(), BrokerClient::State::Connected);
}

void TestBrokerClient::authenticate(BrokerClient& client)
{
    Outcome outcome;
    client.send(apiKey(QStringLiteral("key-1")), into(outcome));
    QTRY_VERIFY(outcome);
    QVERIFY2(outcome->hasValue(), qPrintable(describe(outcome)));
}

void TestBrokerClient::subscribe(BrokerClient& client, std::optional<std::vector<QString>> variables)
{
    Outcome outcome;
    client.send(Subscribe { acme, s1, std::move(variables) }, into(outcome));
    QTRY_VERIFY(outcome);
    QVERIFY2(outcome->hasValue(), qPrintable(describe(outcome)));
}

// --- Requests ----------------------------------------------------------------------------------

void TestBrokerClient::repliesMatchedById()
{
    FakeBroker broker;
    BrokerClient client(fastOptions());
    QSignalSpy connectedSpy(&client, &BrokerClient::connected);
    connectTo(client, broker);
    QCOMPARE(connectedSpy.count(), 1);
    broker.store(acme, s1, QStringLiteral("v"), QByteArray("hello"));

    std::optional<commy::Expected<ReadResult, Error>> read;
    const quint64 readId = client.request(ReadVariable { acme, s1, QStringLiteral("v") },
        [&read](const commy::Expected<ReadResult, Error>& reply) { read = reply; });
    std::optional<commy::Expected<HeartbeatResult, Error>> beat;
    const quint64 beatId
        = client.request(Heartbeat {}, [&beat](const commy::Expected<HeartbeatResult, Error>& reply) { beat = reply; });
    QVERIFY(readId != beatId);
    QTRY_VERIFY(read && beat);
    QVERIFY(read->hasValue());
    QCOMPARE((*read)->value, QByteArray("hello"));
    QCOMPARE((*read)->version, qint64(1));
    QVERIFY(beat->hasValue());
    QVERIFY((*beat)->serverTime > 0);

    // The ids on the wire are the ones send() returned.
    QCOMPARE(broker.received.size(), 2);
    QCOMPARE(broker.received[0].id, RequestId(qint64(readId)));
    QCOMPARE(broker.received[1].id, RequestId(qint64(beatId)));
}

void TestBrokerClient::outOfOrderReplies()
{
    FakeBroker broker;
    QList<std::pair<QWebSocket*, RequestFrame>> held;
    broker.intercept = [&held](QWebSocket* socket, const RequestFrame& frame) {
        held.append({ socket, frame });
        return true;
    };
    BrokerClient client(fastOptions());
    connectTo(client, broker);

    const QStringList names { QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c"), QStringLiteral("d") };
    std::map<QString, Outcome> outcomes;
    for (const QString& name : names)
        client.send(ReadVariable { acme, s1, name }, into(outcomes[name]));
    QTRY_COMPARE(held.size(), names.size());
    // Answered last first, each with its own variable's name as the value.
    for (auto it = held.crbegin(); it != held.crend(); ++it) {
        const auto& read = std::get<ReadVariable>(it->second.request);
        broker.reply(it->first, it->second.id, ReadResult { read.variable.toUtf8(), 7 });
    }
    for (const QString& name : names) {
        QTRY_VERIFY(outcomes[name]);
        QVERIFY(outcomes[name]->hasValue());
        QCOMPARE(std::get<ReadResult>(**outcomes[name]).value, name.toUtf8());
    }
}

void TestBrokerClient::errorReplies_data()
{
    QTest::addColumn<ErrorCode>("code");
    QTest::addColumn<qint64>("retryAfter");
    QTest::newRow("UNAUTHORIZED") << ErrorCode::Unauthorized << qint64(-1);
    QTest::newRow("PERMISSION_DENIED") << ErrorCode::PermissionDenied << qint64(-1);
    QTest::newRow("NOT_FOUND") << ErrorCode::NotFound << qint64(-1);
    QTest::newRow("ALREADY_EXISTS") << ErrorCode::AlreadyExists << qint64(-1);
    QTest::newRow("INVALID_REQUEST") << ErrorCode::InvalidRequest << qint64(-1);
    QTest::newRow("RESOURCE_EXHAUSTED") << ErrorCode::ResourceExhausted << qint64(-1);
    QTest::newRow("RATE_LIMITED") << ErrorCode::RateLimited << qint64(240);
    QTest::newRow("TIMEOUT") << ErrorCode::Timeout << qint64(-1);
    QTest::newRow("INTERNAL_ERROR") << ErrorCode::InternalError << qint64(-1);
}

void TestBrokerClient::errorReplies()
{
    QFETCH(ErrorCode, code);
    QFETCH(qint64, retryAfter);
    const std::optional<qint64> retry = retryAfter < 0 ? std::nullopt : std::optional<qint64>(retryAfter);
    FakeBroker broker;
    broker.intercept = [&](QWebSocket* socket, const RequestFrame& frame) {
        broker.replyError(socket, frame.id, code, QStringLiteral("scripted"), retry);
        return true;
    };
    BrokerClient client(fastOptions());
    connectTo(client, broker);
    Outcome outcome;
    client.send(apiKey(QStringLiteral("k")), into(outcome));
    QTRY_VERIFY(outcome);
    QVERIFY(!outcome->hasValue());
    QCOMPARE(outcome->error(), (Error { code, QStringLiteral("scripted"), retry }));
    QCOMPARE(client.state(), BrokerClient::State::Connected);
}

void TestBrokerClient::malformedReplyFailsTheRequest()
{
    FakeBroker broker;
    broker.intercept = [&](QWebSocket* socket, const RequestFrame& frame) {
        // A WriteResult where a ReadResult belongs.
        broker.reply(socket, frame.id, WriteResult { 3 });
        return true;
    };
    BrokerClient client(fastOptions());
    connectTo(client, broker);
    Outcome outcome;
    client.send(ReadVariable { acme, s1, QStringLiteral("v") }, into(outcome));
    QTRY_VERIFY(outcome);
    QVERIFY(!outcome->hasValue());
    QCOMPARE(outcome->error().code, ErrorCode::InternalError);
    QVERIFY2(outcome->error().message.contains(QLatin1String("'value'")), qPrintable(outcome->error().message));

    // A frame that is not even a server message is reported, and the connection stays up.
    QSignalSpy errors(&client, &BrokerClient::errorOccurred);
    broker.sendRaw(broker.sockets().first(), "not json");
    QTRY_COMPARE(errors.count(), 1);
    QVERIFY(client.errorString().contains(QLatin1String("malformed")));
    QCOMPARE(client.state(), BrokerClient::State::Connected);
}

void TestBrokerClient::requestTimeout()
{
    FakeBroker broker;
    QList<std::pair<QWebSocket*, RequestId>> swallowed;
    broker.intercept = [&swallowed](QWebSocket* socket, const RequestFrame& frame) {
        swallowed.append({ socket, frame.id });
        return true;
    };
    BrokerClient::Options options = fastOptions();
    options.requestTimeout = std::chrono::milliseconds(200);
    BrokerClient client(options);
    connectTo(client, broker);

    int calls = 0;
    Outcome outcome;
    QElapsedTimer elapsed;
    elapsed.start();
    client.send(Heartbeat {}, [&](const BrokerClient::Reply& reply) {
        ++calls;
        outcome = reply;
    });
    QTRY_VERIFY(outcome);
    QVERIFY(elapsed.elapsed() >= 190);
    QVERIFY(!outcome->hasValue());
    QCOMPARE(outcome->error().code, ErrorCode::Timeout);

    // A reply that comes after the timeout is dropped: the callback ran once.
    QCOMPARE(swallowed.size(), 1);
    broker.reply(swallowed[0].first, swallowed[0].second, HeartbeatResult { 1 });
    Outcome next;
    broker.intercept = {};
    client.send(Heartbeat {}, into(next));
    QTRY_VERIFY(next);
    QVERIFY(next->hasValue());
    QCOMPARE(calls, 1);
}

void TestBrokerClient::pendingRequestFailsOnDisconnect()
{
    FakeBroker broker;
    broker.intercept
        = [](QWebSocket*, const RequestFrame& frame) { return std::holds_alternative<ReadVariable>(frame.request); };
    BrokerClient client(fastOptions());
    QSignalSpy disconnectedSpy(&client, &BrokerClient::disconnected);
    connectTo(client, broker);
    Outcome outcome;
    client.send(ReadVariable { acme, s1, QStringLiteral("v") }, into(outcome));
    QTRY_COMPARE(broker.countOf(QStringLiteral("ReadVariable")), 1);
    broker.dropAll();
    QTRY_VERIFY(outcome);
    QVERIFY(!outcome->hasValue());
    QCOMPARE(outcome->error().code, ErrorCode::InternalError);
    QVERIFY2(outcome->error().message.contains(QLatin1String("connection")), qPrintable(outcome->error().message));
    QCOMPARE(disconnectedSpy.count(), 1);
    // And the client comes back by itself.
    QTRY_COMPARE(client.state(), BrokerClient::State::Connected);
}

void TestBrokerClient::sendWhileDisconnected()
{
    BrokerClient client(fastOptions());
    Outcome outcome;
    client.send(Heartbeat {}, into(outcome));
    QVERIFY(!outcome); // never from inside send()
    QTRY_VERIFY(outcome);
    QVERIFY(!outcome->hasValue());
    QCOMPARE(outcome->error().code, ErrorCode::InternalError);
}

void TestBrokerClient::requestsWaitForTheConnection()
{
    FakeBroker broker;
    QVERIFY(broker.listen());
    BrokerClient client(fastOptions());
    QSignalSpy states(&client, &BrokerClient::stateChanged);
    client.open(broker.url());
    QCOMPARE(client.state(), BrokerClient::State::Connecting);
    Outcome first;
    Outcome second;
    client.send(Heartbeat {}, into(first));
    client.send(ReadVariable { acme, s1, QStringLiteral("none") }, into(second));
    QTRY_VERIFY(first && second);
    QVERIFY(first->hasValue());
    QCOMPARE(second->error().code, ErrorCode::NotFound);
    // Sent in the order they were made.
    QCOMPARE(requestTypeName(broker.received[0].request), QStringLiteral("Heartbeat"));
    QCOMPARE(requestTypeName(broker.received[1].request), QStringLiteral("ReadVariable"));
    QCOMPARE(states.count(), 2);
    QCOMPARE(states[0][0].value<BrokerClient::State>(), BrokerClient::State::Connecting);
    QCOMPARE(states[1][0].value<BrokerClient::State>(), BrokerClient::State::Connected);
}

void TestBrokerClient::closeFailsPendingAndStaysClosed()
{
    FakeBroker broker;
    broker.intercept = [](QWebSocket*, const RequestFrame&) { return true; };
    BrokerClient client(fastOptions());
    QSignalSpy disconnectedSpy(&client, &BrokerClient::disconnected);
    connectTo(client, broker);
    Outcome outcome;
    client.send(Heartbeat {}, into(outcome));
    QTRY_COMPARE(broker.received.size(), 1);
    client.close();
    QCOMPARE(client.state(), BrokerClient::State::Disconnected);
    QCOMPARE(disconnectedSpy.count(), 1);
    QTRY_VERIFY(outcome);
    QCOMPARE(outcome->error().code, ErrorCode::InternalError);
    QTest::qWait(200); // longer than the first backoff: no reconnect follows a close()
    QCOMPARE(broker.accepted, 1);
    QCOMPARE(client.state(), BrokerClient::State::Disconnected);
}

void TestBrokerClient::invalidUrl()
{
    BrokerClient client(fastOptions());
    QSignalSpy errors(&client, &BrokerClient::errorOccurred);
    client.open(QUrl(QStringLiteral("http://127.0.0.1:1")));
    QCOMPARE(errors.count(), 1);
    QVERIFY(client.errorString().contains(QLatin1String("ws://")));
    QCOMPARE(client.state(), BrokerClient::State::Disconnected);
}

// A user may delete the client from a callback or a slot, in the middle of the socket's handlers.
void TestBrokerClient::deletedFromItsOwnSignals()
{
    FakeBroker broker;
    QVERIFY(broker.listen());
    auto* client = new BrokerClient(fastOptions());
    client->open(broker.url());
    QTRY_COMPARE(client->state(), BrokerClient::State::Connected);
    bool called = false;
    client->send(Heartbeat {}, [&](const BrokerClient::Reply&) {
        called = true;
        delete client;
    });
    QTRY_VERIFY(called);

    auto* subscriber = new BrokerClient(fastOptions());
    QPointer<BrokerClient> watch(subscriber);
    subscriber->open(broker.url());
    QTRY_COMPARE(subscriber->state(), BrokerClient::State::Connected);
    authenticate(*subscriber);
    subscribe(*subscriber);
    connect(subscriber, &BrokerClient::variableChanged, this, [subscriber] { delete subscriber; });
    broker.publish(acme, s1, QStringLiteral("v"), QByteArray("x"));
    QTRY_VERIFY(watch.isNull());

    auto* dropped = new BrokerClient(fastOptions());
    watch = dropped;
    dropped->open(broker.url());
    QTRY_COMPARE(dropped->state(), BrokerClient::State::Connected);
    connect(dropped, &BrokerClient::disconnected, this, [dropped] { delete dropped; });
    broker.dropAll();
    QTRY_VERIFY(watch.isNull());
}

// --- Reconnect ---------------------------------------------------------------------------------

void TestBrokerClient::reconnectRestoresSessionWithToken()
{
    FakeBroker broker;
    BrokerClient client(fastOptions());
    QSignalSpy connectedSpy(&client, &BrokerClient::connected);
    QSignalSpy resubscribedSpy(&client, &BrokerClient::resubscribed);
    QSignalSpy states(&client, &BrokerClient::stateChanged);
    connectTo(client, broker);
    authenticate(client);
    const QString issued = broker.lastToken;
    subscribe(client, std::vector<QString> { QStringLiteral("a"), QStringLiteral("b") });
    broker.received.clear();
    states.clear();

    QElapsedTimer away;
    away.start();
    broker.dropAll();
    QTRY_COMPARE(connectedSpy.count(), 2);
    QVERIFY2(away.elapsed() >= 25, "the first retry waits at least half the initial backoff");
    QCOMPARE(resubscribedSpy.count(), 1);
    QCOMPARE(broker.accepted, 2);
    QCOMPARE(states.count(), 2);
    QCOMPARE(states[0][0].value<BrokerClient::State>(), BrokerClient::State::Reconnecting);
    QCOMPARE(states[1][0].value<BrokerClient::State>(), BrokerClient::State::Connected);

    // Re-authenticated with the token it was issued (same tenant and client name), then re-subscribed.
    QVERIFY(broker.received.size() >= 2);
    const auto& reauth = std::get<Authenticate>(broker.received[0].request);
    QCOMPARE(reauth.tenant, std::optional<QString>(acme));
    QCOMPARE(reauth.clientName, std::optional<QString>(QStringLiteral("tst")));
    QCOMPARE(reauth.credential, Credential(TokenCredential { issued }));
    const auto& resubscribe = std::get<Subscribe>(broker.received[1].request);
    QCOMPARE(resubscribe, (Subscribe { acme, s1, std::vector<QString> { QStringLiteral("a"), QStringLiteral("b") } }));
    // Pushes flow again on the new connection.
    QSignalSpy changes(&client, &BrokerClient::variableChanged);
    broker.publish(acme, s1, QStringLiteral("a"), QByteArray("after"));
    QTRY_VERIFY(changes.count() >= 1);
}

void TestBrokerClient::reconnectFallsBackToCredential()
{
    FakeBroker broker;
    BrokerClient client(fastOptions());
    QSignalSpy connectedSpy(&client, &BrokerClient::connected);
    connectTo(client, broker);
    authenticate(client);
    subscribe(client);
    broker.received.clear();
    // The broker forgot its tokens (say, it restarted): the token is refused, the key is not.
    broker.validTokens.clear();
    broker.dropAll(true);
    QTRY_COMPARE(connectedSpy.count(), 2);
    QVERIFY(broker.received.size() >= 3); // then the resync's reads
    QVERIFY(std::holds_alternative<TokenCredential>(std::get<Authenticate>(broker.received[0].request).credential));
    QCOMPARE(std::get<Authenticate>(broker.received[1].request), apiKey(QStringLiteral("key-1")));
    QCOMPARE(std::get<Subscribe>(broker.received[2].request), (Subscribe { acme, s1, std::nullopt }));
}

void TestBrokerClient::reconnectWithExpiredTokenUsesCredential()
{
    FakeBroker broker;
    broker.tokenLifetime = 0; // expired as soon as it is issued
    BrokerClient client(fastOptions());
    QSignalSpy connectedSpy(&client, &BrokerClient::connected);
    connectTo(client, broker);
    Outcome outcome;
    client.send(Authenticate { acme, PasswordCredential { QStringLiteral("ann"), QStringLiteral("secret-pw") }, {} },
        into(outcome));
    QTRY_VERIFY(outcome);
    QVERIFY(outcome->hasValue());
    broker.received.clear();
    broker.dropAll();
    QTRY_COMPARE(connectedSpy.count(), 2);
    QCOMPARE(broker.countOf(QStringLiteral("Authenticate")), 1);
    QVERIFY(std::holds_alternative<PasswordCredential>(std::get<Authenticate>(broker.received[0].request).credential));
}

void TestBrokerClient::failedReauthenticationDropsTenant()
{
    FakeBroker broker;
    BrokerClient client(fastOptions());
    QSignalSpy connectedSpy(&client, &BrokerClient::connected);
    QSignalSpy errors(&client, &BrokerClient::errorOccurred);
    connectTo(client, broker);
    authenticate(client);
    subscribe(client);
    broker.validTokens.clear();
    broker.validKey = QStringLiteral("rotated");
    broker.received.clear();
    broker.dropAll();
    QTRY_COMPARE(connectedSpy.count(), 2);
    QCOMPARE(broker.countOf(QStringLiteral("Authenticate")), 2); // token, then key
    QCOMPARE(broker.countOf(QStringLiteral("Subscribe")), 0);
    QVERIFY(client.errorString().contains(QLatin1String("re-authentication to tenant 'acme' failed")));

    // Nothing left to restore next time.
    broker.received.clear();
    broker.dropAll();
    QTRY_COMPARE(connectedSpy.count(), 3);
    QCOMPARE(broker.received.size(), 0);
}

void TestBrokerClient::unsubscribeAndLogoutAreNotReplayed()
{
    FakeBroker broker;
    BrokerClient client(fastOptions());
    QSignalSpy connectedSpy(&client, &BrokerClient::connected);
    connectTo(client, broker);
    authenticate(client);
    Outcome a;
    Outcome b;
    Outcome c;
    Outcome d;
    Outcome serverAuth;
    client.send(Subscribe { acme, QStringLiteral("s1"), std::nullopt }, into(a));
    client.send(Subscribe { acme, QStringLiteral("s2"), std::vector<QString> { QStringLiteral("x") } }, into(b));
    client.send(Unsubscribe { acme, QStringLiteral("s2"), std::nullopt }, into(c));
    client.send(Unsubscribe { acme, QStringLiteral("s1"), std::vector<QString> { QStringLiteral("y") } }, into(d));
    client.send(Authenticate { std::nullopt, ApiKeyCredential { QStringLiteral("key-1") }, {} }, into(serverAuth));
    QTRY_VERIFY(a && b && c && d && serverAuth);
    broker.received.clear();
    broker.dropAll();
    QTRY_COMPARE(connectedSpy.count(), 2);
    // Both authentications; s1 whole minus y; nothing of s2.
    QCOMPARE(broker.countOf(QStringLiteral("Authenticate")), 2);
    QCOMPARE(broker.ofType(QStringLiteral("Subscribe")).size(), 1);
    QCOMPARE(std::get<Subscribe>(broker.ofType(QStringLiteral("Subscribe"))[0].request),
        (Subscribe { acme, QStringLiteral("s1"), std::nullopt }));
    QCOMPARE(std::get<Unsubscribe>(broker.ofType(QStringLiteral("Unsubscribe"))[0].request),
        (Unsubscribe { acme, QStringLiteral("s1"), std::vector<QString> { QStringLiteral("y") } }));

    // After Logout, neither the tenant nor its subscriptions come back; the server-level one does.
    Outcome logout;
    client.send(Logout { acme }, into(logout));
    QTRY_VERIFY(logout);
    broker.received.clear();
    broker.dropAll();
    QTRY_COMPARE(connectedSpy.count(), 3);
    QCOMPARE(broker.received.size(), 1);
    QCOMPARE(std::get<Authenticate>(broker.received[0].request).tenant, std::nullopt);
}

void TestBrokerClient::backoffGrowsUntilBrokerReturns()
{
    FakeBroker broker;
    BrokerClient client(fastOptions()); // 50 ms doubling to 400 ms, minus up to half
    QSignalSpy connectedSpy(&client, &BrokerClient::connected);
    connectTo(client, broker);
    const quint16 port = broker.port();
    broker.stopListening();

    QList<qint64> attempts; // each refused attempt reports an error
    QElapsedTimer clock;
    clock.start();
    connect(&client, &BrokerClient::errorOccurred, this, [&](const QString&) { attempts.append(clock.elapsed()); });
    broker.dropAll(true);
    QTRY_VERIFY_WITH_TIMEOUT(attempts.size() >= 6, 10000);
    QCOMPARE(client.state(), BrokerClient::State::Reconnecting);
    // attempts[0] is the lost connection; then waits of 25-50, 50-100, 100-200, 200-400, 200-400 ms.
    const qint64 firstWait = attempts[2] - attempts[1];
    const qint64 laterWait = attempts[5] - attempts[4];
    qInfo("waits between refused attempts (ms): %lld %lld %lld %lld", attempts[2] - attempts[1],
        attempts[3] - attempts[2], attempts[4] - attempts[3], attempts[5] - attempts[4]);
    QVERIFY2(laterWait > firstWait, qPrintable(QStringLiteral("%1 vs %2").arg(firstWait).arg(laterWait)));
    QVERIFY2(laterWait >= 200 - 5, qPrintable(QString::number(laterWait)));
    QVERIFY2(laterWait <= 400 + 300, qPrintable(QString::number(laterWait)));

    // The broker is back on the same port: the next attempt gets through.
    QVERIFY(broker.listen(port));
    QTRY_COMPARE_WITH_TIMEOUT(connectedSpy.count(), 2, 5000);
}

void TestBrokerClient::noReconnectWhenDisabled()
{
    FakeBroker broker;
    BrokerClient::Options options = fastOptions();
    options.autoReconnect = false;
    BrokerClient client(options);
    QSignalSpy disconnectedSpy(&client, &BrokerClient::disconnected);
    connectTo(client, broker);
    broker.dropAll();
    QTRY_COMPARE(disconnectedSpy.count(), 1);
    QCOMPARE(client.state(), BrokerClient::State::Disconnected);
    QTest::qWait(200);
    QCOMPARE(broker.accepted, 1);
}

// --- Seq gaps and resync -----------------------------------------------------------------------

void TestBrokerClient::seqGapResyncsWholeService()
{
    FakeBroker broker;
    BrokerClient client(fastOptions());
    connectTo(client, broker);
    authenticate(client);
    subscribe(client);
    QSignalSpy changes(&client, &BrokerClient::variableChanged);
    QSignalSpy gaps(&client, &BrokerClient::gapDetected);

    broker.publish(acme, s1, QStringLiteral("a"), QByteArray("a1")); // seq 1
    broker.publish(acme, s1, QStringLiteral("a"), QByteArray("a2")); // seq 2
    QTRY_COMPARE(changes.count(), 2);
    QCOMPARE(gaps.count(), 0);

    // Updates of b are lost (never pushed), and the next push skips a seq.
    broker.store(acme, s1, QStringLiteral("b"), QByteArray("b1"));
    broker.store(acme, s1, QStringLiteral("b"), QByteArray("b2"));
    const qint64 version = broker.store(acme, s1, QStringLiteral("a"), QByteArray("a3"));
    broker.received.clear();
    broker.push(broker.sockets().first(), VariableChanged { acme, s1, QStringLiteral("a"), "a3", version, 4, false });
    QTRY_COMPARE(gaps.count(), 1);
    QCOMPARE(gaps[0][0].toString(), acme);
    QCOMPARE(gaps[0][1].toString(), s1);
    QTRY_COMPARE(changes.count(), 4);
    const auto third = changes[2][0].value<VariableChanged>();
    QCOMPARE(third.value, QByteArray("a3"));
    QCOMPARE(third.seq, qint64(4));
    // The resync listed the service and read only what was newer than delivered: b, not a.
    const auto fourth = changes[3][0].value<VariableChanged>();
    QCOMPARE(fourth.variable, QStringLiteral("b"));
    QCOMPARE(fourth.value, QByteArray("b2"));
    QCOMPARE(fourth.version, qint64(2));
    QCOMPARE(fourth.seq, BrokerClient::kResyncSeq);
    QCOMPARE(broker.countOf(QStringLiteral("ListVariables")), 1);
    QCOMPARE(broker.countOf(QStringLiteral("ReadVariable")), 1);
    QCOMPARE(
        std::get<ReadVariable>(broker.ofType(QStringLiteral("ReadVariable"))[0].request).variable, QStringLiteral("b"));

    // seq continues from the gap: no new gap.
    broker.push(
        broker.sockets().first(), VariableChanged { acme, s1, QStringLiteral("a"), "a4", version + 1, 5, false });
    QTRY_COMPARE(changes.count(), 5);
    QCOMPARE(gaps.count(), 1);
}

void TestBrokerClient::coalescedPushResyncsListedVariables()
{
    FakeBroker broker;
    BrokerClient client(fastOptions());
    connectTo(client, broker);
    authenticate(client);
    subscribe(client, std::vector<QString> { QStringLiteral("a"), QStringLiteral("b") });
    QSignalSpy changes(&client, &BrokerClient::variableChanged);
    QSignalSpy gaps(&client, &BrokerClient::gapDetected);
    QWebSocket* socket = broker.sockets().first();

    broker.store(acme, s1, QStringLiteral("b"), QByteArray("b1"));
    broker.store(acme, s1, QStringLiteral("a"), QByteArray("a1"));
    const qint64 version = broker.store(acme, s1, QStringLiteral("a"), QByteArray("a2"));
    broker.push(socket, VariableChanged { acme, s1, QStringLiteral("a"), "a2", version, 1, false });
    QTRY_COMPARE(changes.count(), 1);
    broker.received.clear();
    // Contiguous seq, but the broker says it merged updates.
    broker.push(socket, VariableChanged { acme, s1, QStringLiteral("a"), "a2", version, 2, true });
    QTRY_COMPARE(gaps.count(), 1);
    // The listed variables are read (no listing): b is new; a (version 2) was delivered, also by the
    // coalesced push that repeated it, which is not delivered twice.
    QTRY_COMPARE(broker.countOf(QStringLiteral("ReadVariable")), 2);
    QTRY_COMPARE(changes.count(), 2);
    QCOMPARE(broker.countOf(QStringLiteral("ListVariables")), 0);
    const auto resynced = changes[1][0].value<VariableChanged>();
    QCOMPARE(resynced.variable, QStringLiteral("b"));
    QCOMPARE(resynced.value, QByteArray("b1"));
    QTest::qWait(50);
    QCOMPARE(changes.count(), 2);
}

void TestBrokerClient::reconnectResyncsMissedUpdates()
{
    FakeBroker broker;
    BrokerClient client(fastOptions());
    QSignalSpy connectedSpy(&client, &BrokerClient::connected);
    connectTo(client, broker);
    authenticate(client);
    subscribe(client);
    QSignalSpy changes(&client, &BrokerClient::variableChanged);
    broker.publish(acme, s1, QStringLiteral("a"), QByteArray("a1"));
    QTRY_COMPARE(changes.count(), 1);

    // While away: a changes twice, c appears. Nobody is told.
    broker.stopListening();
    broker.dropAll(true);
    QTRY_COMPARE(client.state(), BrokerClient::State::Reconnecting);
    broker.store(acme, s1, QStringLiteral("a"), QByteArray("a2"));
    broker.store(acme, s1, QStringLiteral("a"), QByteArray("a3"));
    broker.store(acme, s1, QStringLiteral("c"), QByteArray("c1"));
    QVERIFY(broker.listen(broker.port()));
    QTRY_COMPARE(connectedSpy.count(), 2);
    QTRY_COMPARE(changes.count(), 3);
    QMap<QString, QByteArray> latest;
    for (int i = 1; i < changes.count(); ++i) {
        const auto change = changes[i][0].value<VariableChanged>();
        latest.insert(change.variable, change.value);
        QCOMPARE(change.seq, BrokerClient::kResyncSeq);
    }
    QCOMPARE(latest.value(QStringLiteral("a")), QByteArray("a3"));
    QCOMPARE(latest.value(QStringLiteral("c")), QByteArray("c1"));
}

// --- TLS ---------------------------------------------------------------------------------------

// StatsUpdate, ProcessEvent and TreeChanged come out as their own signals, in order, untouched by
// the subscription bookkeeping (no variableChanged, no gap).
void TestBrokerClient::monitoringPushesBecomeSignals()
{
    FakeBroker broker;
    BrokerClient client(fastOptions());
    connectTo(client, broker);
    QSignalSpy stats(&client, &BrokerClient::statsUpdated);
    QSignalSpy processes(&client, &BrokerClient::processEvent);
    QSignalSpy trees(&client, &BrokerClient::treeChanged);
    QSignalSpy changes(&client, &BrokerClient::variableChanged);
    QSignalSpy gaps(&client, &BrokerClient::gapDetected);
    QSignalSpy errors(&client, &BrokerClient::errorOccurred);

    const StatsUpdate update { acme, s1, { 4096, 8192, 1024, 3072, 2048, 0.25, 4, 2, 1, 1, 0, 0, 3 } };
    const ProcessEvent died { acme, s1, 2, 5120, QStringLiteral("worker"), Liveness::Dead };
    const ProcessEvent left { acme, s1, 2, 5120, QStringLiteral("worker"), Liveness::Gone };
    QWebSocket* socket = broker.sockets().first();
    broker.sendRaw(socket, encodePush(update));
    broker.sendRaw(socket, encodePush(died));
    broker.sendRaw(socket, encodePush(TreeChanged { acme, s1 }));
    broker.sendRaw(socket, encodePush(left));

    QTRY_COMPARE(processes.count(), 2);
    QCOMPARE(stats.count(), 1);
    QCOMPARE(stats[0][0].value<StatsUpdate>(), update);
    QCOMPARE(processes[0][0].value<ProcessEvent>(), died);
    QCOMPARE(processes[1][0].value<ProcessEvent>(), left);
    QCOMPARE(trees.count(), 1);
    QCOMPARE(trees[0][0].value<TreeChanged>(), (TreeChanged { acme, s1 }));
    QCOMPARE(changes.count(), 0);
    QCOMPARE(gaps.count(), 0);
    QCOMPARE(errors.count(), 0);
}

void TestBrokerClient::wssWithTrustedCertificate()
{
    FakeBroker broker(serverTls());
    BrokerClient::Options options = fastOptions();
    options.caCertificates = { m_certificate };
    BrokerClient client(options);
    QSignalSpy errors(&client, &BrokerClient::errorOccurred);
    QVERIFY(broker.listen());
    QVERIFY(broker.url().scheme() == u"wss");
    client.open(broker.url());
    QTRY_COMPARE(client.state(), BrokerClient::State::Connected);
    Outcome outcome;
    client.send(Heartbeat {}, into(outcome));
    QTRY_VERIFY(outcome);
    QVERIFY(outcome->hasValue());
    QCOMPARE(errors.count(), 0);
}

void TestBrokerClient::wssWithUntrustedCertificateFails()
{
    FakeBroker broker(serverTls());
    BrokerClient::Options options = fastOptions();
    options.autoReconnect = false;
    BrokerClient client(options);
    QSignalSpy errors(&client, &BrokerClient::errorOccurred);
    QVERIFY(broker.listen());
    client.open(broker.url());
    QTRY_VERIFY(errors.count() >= 1);
    QVERIFY2(errors[0][0].toString().startsWith(QLatin1String("TLS error")), qPrintable(errors[0][0].toString()));
    QTRY_COMPARE(client.state(), BrokerClient::State::Disconnected);

    // The same broker, with the check turned off (tests only).
    options.ignoreSslErrors = true;
    client.setOptions(options);
    client.open(broker.url());
    QTRY_COMPARE(client.state(), BrokerClient::State::Connected);
}

QTEST_GUILESS_MAIN(TestBrokerClient)
#include "tst_broker_client.moc"
