// The WebSocket transport on real sockets (127.0.0.1, port 0) with a scripted session handler:
// replies in order, binary frames and oversized messages, handshake and idle timeouts, pings, a
// client that stops reading (merged pushes, then 1008), wss with a certificate made at test time,
// shutdown with 1001, and the peer information a session gets.

#include "scripted_handler.h"

#include "raw_ws_client.h"
#include "test_certificate.h"

#include <commy/broker/websocket_server.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QSslConfiguration>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTimer>
#include <QWebSocket>
#include <QtTest>

using commy::broker::SessionId;
using commy::broker::WebSocketServer;
using commy::broker::WebSocketServerOptions;
using commy::testing::RawFrame;
using commy::testing::RawWsClient;
using commy::testing::ScriptedHandler;

namespace {

constexpr int kWaitMs = 10'000;

QJsonObject parse(const QByteArray& text) { return QJsonDocument::fromJson(text).object(); }
QJsonObject parse(const QString& text) { return parse(text.toUtf8()); }

QByteArray request(int id, const QByteArray& padding = {})
{
    return QByteArray(R"({"type":"Heartbeat","id":)") + QByteArray::number(id) + R"(,"data":{"pad":")" + padding
        + R"("}})";
}

// A QWebSocket client that records what it receives.
struct Client {
    QWebSocket socket;
    QStringList texts;
    bool closed = false;

    Client()
    {
        QObject::connect(&socket, &QWebSocket::textMessageReceived, &socket, [this](const QString& t) { texts << t; });
        QObject::connect(&socket, &QWebSocket::disconnected, &socket, [this] { closed = true; });
    }
};

} // namespace

class TestWebSocketServer : public QObject {
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void listensOnLoopbackWithAPickedPort();
    void repliesArriveInOrder();
    void pushesArriveInOrderForAReadingClient();
    void binaryFrameGetsInvalidRequestAndTheConnectionStaysUsable();
    void messageSizeLimit_data();
    void messageSizeLimit();
    void announcedHugeFrameClosesWith1009();
    void handshakeTimeoutDropsASocketThatNeverUpgrades_data();
    void handshakeTimeoutDropsASocketThatNeverUpgrades();
    void idlePeerGetsPingsThenClose1001();
    void pongsKeepAnAnsweringPeerOpen();
    void trafficKeepsAPeerOpenWithoutPings();
    void burstIsMergedPerVariable_data() { transportMatrix_data(); }
    void burstIsMergedPerVariable();
    void stoppedReaderIsClosedWith1008_data() { transportMatrix_data(); }
    void stoppedReaderIsClosedWith1008();
    void queuedBytesShowABacklog();
    void wssServesWithAGeneratedCertificate();
    void wssSurvivesAFailedTlsHandshake();
    void listenErrors_data();
    void listenErrors();
    void listenReportsABusyPort();
    void closeReachesClientsAs1001();
    void sessionsFollowConnections();
    void peerInfoHasTheLoopbackAddress();

private:
    void transportMatrix_data();
    // With the "tls" column set, puts a generated certificate into `options`; returns the column.
    bool useTls(WebSocketServerOptions& options);
    // Starts a server with `options` (host 127.0.0.1, port 0 unless set).
    WebSocketServer& startServer(WebSocketServerOptions options = {});
    // A connected client, or nullptr (the test has failed then).
    std::unique_ptr<Client> connectClient(const QUrl& url, const QSslConfiguration* tls = nullptr);

    std::unique_ptr<ScriptedHandler> m_handler;
    std::unique_ptr<WebSocketServer> m_server;
    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestWebSocketServer::init()
{
    m_handler = std::make_unique<ScriptedHandler>();
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestWebSocketServer::cleanup()
{
    m_server.reset();
    m_handler.reset();
    m_dir.reset();
}

WebSocketServer& TestWebSocketServer::startServer(WebSocketServerOptions options)
{
    options.host = QHostAddress(QHostAddress::LocalHost);
    m_server = std::make_unique<WebSocketServer>(m_handler.get(), options);
    const auto listening = m_server->listen();
    if (!listening)
        qWarning("listen failed: %s", qPrintable(listening.error()));
    return *m_server;
}

std::unique_ptr<Client> TestWebSocketServer::connectClient(const QUrl& url, const QSslConfiguration* tls)
{
    auto client = std::make_unique<Client>();
    if (tls)
        client->socket.setSslConfiguration(*tls);
    QSignalSpy connected(&client->socket, &QWebSocket::connected);
    client->socket.open(url);
    if (!connected.wait(kWaitMs) && connected.isEmpty())
        return nullptr;
    return client;
}

void TestWebSocketServer::listensOnLoopbackWithAPickedPort()
{
    WebSocketServer& server = startServer();
    QVERIFY(server.isListening());
    QVERIFY(!server.isSecure());
    QVERIFY(server.port() != 0);
    QCOMPARE(server.url().toString(), QStringLiteral("ws://127.0.0.1:%1").arg(server.port()));
    QCOMPARE(server.sessionCount(), 0);
}

void TestWebSocketServer::repliesArriveInOrder()
{
    WebSocketServer& server = startServer();
    auto client = connectClient(server.url());
    QVERIFY(client);
    constexpr int kRequests = 500;
    for (int id = 0; id < kRequests; ++id)
        client->socket.sendTextMessage(QString::fromUtf8(request(id)));
    QTRY_COMPARE_WITH_TIMEOUT(client->texts.size(), kRequests, kWaitMs);
    for (int id = 0; id < kRequests; ++id) {
        const QJsonObject reply = parse(client->texts[id]);
        QCOMPARE(reply.value(QLatin1String("type")).toString(), QStringLiteral("Result"));
        QCOMPARE(reply.value(QLatin1String("id")).toInt(), id);
        QCOMPARE(reply.value(QLatin1String("data")).toObject().value(QLatin1String("n")).toInt(), id + 1);
    }
}

void TestWebSocketServer::pushesArriveInOrderForAReadingClient()
{
    WebSocketServer& server = startServer();
    auto client = connectClient(server.url());
    QVERIFY(client);
    QTRY_COMPARE(server.sessionCount(), 1);
    const SessionId session = m_handler->lastSession();
    constexpr int kPushes = 300;
    for (int i = 0; i < kPushes; ++i)
        m_handler->push(session, QStringLiteral("v%1").arg(i % 3), QByteArray(100, char('a' + i % 26)));
    QTRY_COMPARE_WITH_TIMEOUT(client->texts.size(), kPushes, kWaitMs);
    for (int i = 0; i < kPushes; ++i) {
        const QJsonObject push = parse(client->texts[i]);
        QCOMPARE(push.value(QLatin1String("type")).toString(), QStringLiteral("VariableChanged"));
        QVERIFY(!push.contains(QLatin1String("id")));
        const QJsonObject data = push.value(QLatin1String("data")).toObject();
        QCOMPARE(data.value(QLatin1String("seq")).toInteger(), i + 1);
        QVERIFY(!data.contains(QLatin1String("coalesced")));
    }
}

void TestWebSocketServer::binaryFrameGetsInvalidRequestAndTheConnectionStaysUsable()
{
    WebSocketServer& server = startServer();
    auto client = connectClient(server.url());
    QVERIFY(client);
    client->socket.sendBinaryMessage(QByteArray::fromHex("00ff10"));
    QTRY_COMPARE(client->texts.size(), 1);
    const QJsonObject error = parse(client->texts[0]);
    QCOMPARE(error.value(QLatin1String("type")).toString(), QStringLiteral("Error"));
    QVERIFY(error.contains(QLatin1String("id")));
    QVERIFY(error.value(QLatin1String("id")).isNull());
    QCOMPARE(error.value(QLatin1String("data")).toObject().value(QLatin1String("code")).toString(),
        QStringLiteral("INVALID_REQUEST"));

    client->socket.sendTextMessage(QString::fromUtf8(request(7)));
    QTRY_COMPARE(client->texts.size(), 2);
    QCOMPARE(parse(client->texts[1]).value(QLatin1String("id")).toInt(), 7);
    QVERIFY(!client->closed);
    QCOMPARE(m_handler->opened().size(), 1); // the binary frame never reached the handler
}

void TestWebSocketServer::messageSizeLimit_data()
{
    QTest::addColumn<qint64>("limit");
    QTest::addColumn<qint64>("messageBytes");
    QTest::addColumn<bool>("accepted");

    QTest::newRow("64 KiB limit, just under") << qint64(64 * 1024) << qint64(64 * 1024 - 1) << true;
    QTest::newRow("64 KiB limit, exactly") << qint64(64 * 1024) << qint64(64 * 1024) << true;
    QTest::newRow("64 KiB limit, one over") << qint64(64 * 1024) << qint64(64 * 1024 + 1) << false;
    QTest::newRow("default 1 MiB, exactly") << qint64(1 << 20) << qint64(1 << 20) << true;
    QTest::newRow("default 1 MiB, one over") << qint64(1 << 20) << qint64((1 << 20) + 1) << false;
    QTest::newRow("default 1 MiB, 2 MiB") << qint64(1 << 20) << qint64(2 << 20) << false;
}

void TestWebSocketServer::messageSizeLimit()
{
    QFETCH(qint64, limit);
    QFETCH(qint64, messageBytes);
    QFETCH(bool, accepted);

    WebSocketServerOptions options;
    options.maxMessageBytes = limit;
    WebSocketServer& server = startServer(options);
    auto client = connectClient(server.url());
    QVERIFY(client);

    const QByteArray empty = request(1);
    const QByteArray message = request(1, QByteArray(messageBytes - empty.size(), 'x'));
    QCOMPARE(qint64(message.size()), messageBytes);
    client->socket.sendTextMessage(QString::fromUtf8(message));
    if (accepted) {
        QTRY_COMPARE_WITH_TIMEOUT(client->texts.size(), 1, kWaitMs);
        QCOMPARE(
            parse(client->texts[0]).value(QLatin1String("data")).toObject().value(QLatin1String("bytes")).toInteger(),
            messageBytes);
        QVERIFY(!client->closed);
    } else {
        QTRY_VERIFY_WITH_TIMEOUT(client->closed, kWaitMs);
        QCOMPARE(client->socket.closeCode(), QWebSocketProtocol::CloseCodeTooMuchData);
        QVERIFY(client->texts.isEmpty());
        QTRY_COMPARE(server.sessionCount(), 0);
    }
}

void TestWebSocketServer::announcedHugeFrameClosesWith1009()
{
    WebSocketServer& server = startServer();
    RawWsClient raw;
    raw.open(server.port());
    QTRY_VERIFY(raw.isUpgraded());
    raw.sendHeaderOnly(RawWsClient::kText, quint64(1) << 40); // a terabyte: never buffered, refused at once
    QTRY_VERIFY_WITH_TIMEOUT(raw.closeFrame().has_value(), kWaitMs);
    QCOMPARE(raw.closeFrame()->closeCode(), 1009);
    QTRY_COMPARE(server.sessionCount(), 0);
}

void TestWebSocketServer::handshakeTimeoutDropsASocketThatNeverUpgrades_data()
{
    QTest::addColumn<QByteArray>("sent");
    QTest::newRow("silent") << QByteArray();
    QTest::newRow("half a request") << QByteArray("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
}

void TestWebSocketServer::handshakeTimeoutDropsASocketThatNeverUpgrades()
{
    QFETCH(QByteArray, sent);
    WebSocketServerOptions options;
    options.handshakeTimeoutMs = 200;
    WebSocketServer& server = startServer(options);

    QTcpSocket socket;
    QSignalSpy disconnected(&socket, &QTcpSocket::disconnected);
    socket.connectToHost(QHostAddress::LocalHost, server.port());
    QTRY_COMPARE(socket.state(), QAbstractSocket::ConnectedState);
    if (!sent.isEmpty())
        socket.write(sent);
    QElapsedTimer elapsed;
    elapsed.start();
    QTRY_COMPARE_WITH_TIMEOUT(disconnected.size(), 1, kWaitMs);
    QVERIFY2(elapsed.elapsed() >= 150, qPrintable(QString::number(elapsed.elapsed())));
    QCOMPARE(m_handler->opened().size(), 0);

    // The server still serves.
    auto client = connectClient(server.url());
    QVERIFY(client);
}

void TestWebSocketServer::idlePeerGetsPingsThenClose1001()
{
    WebSocketServerOptions options;
    options.idleTimeoutMs = 400;
    options.pingIntervalMs = 100;
    WebSocketServer& server = startServer(options);
    RawWsClient raw; // never answers pings
    raw.open(server.port());
    QTRY_VERIFY(raw.isUpgraded());
    QTRY_VERIFY_WITH_TIMEOUT(raw.closeFrame().has_value(), kWaitMs);
    QCOMPARE(raw.closeFrame()->closeCode(), 1001);
    QCOMPARE(raw.closeFrame()->closeReason(), QByteArray("idle"));
    QVERIFY2(raw.count(RawWsClient::kPing) >= 2, qPrintable(QString::number(raw.count(RawWsClient::kPing))));
    raw.sendFrame(RawWsClient::kClose, raw.closeFrame()->payload.left(2));
    QTRY_COMPARE_WITH_TIMEOUT(server.sessionCount(), 0, kWaitMs);
    QCOMPARE(m_handler->closed().size(), 1);
}

void TestWebSocketServer::pongsKeepAnAnsweringPeerOpen()
{
    WebSocketServerOptions options;
    options.idleTimeoutMs = 300;
    options.pingIntervalMs = 50;
    WebSocketServer& server = startServer(options);
    auto client = connectClient(server.url()); // QWebSocket answers pings by itself
    QVERIFY(client);
    QTest::qWait(1200); // four idle timeouts without a data frame
    QVERIFY(!client->closed);
    QCOMPARE(server.sessionCount(), 1);
    client->socket.sendTextMessage(QString::fromUtf8(request(1)));
    QTRY_COMPARE(client->texts.size(), 1);
}

void TestWebSocketServer::trafficKeepsAPeerOpenWithoutPings()
{
    WebSocketServerOptions options;
    options.idleTimeoutMs = 300;
    options.pingIntervalMs = 0;
    WebSocketServer& server = startServer(options);
    auto client = connectClient(server.url());
    QVERIFY(client);
    QTimer chatter;
    int sent = 0;
    connect(
        &chatter, &QTimer::timeout, this, [&] { client->socket.sendTextMessage(QString::fromUtf8(request(sent++))); });
    chatter.start(50);
    QTRY_VERIFY_WITH_TIMEOUT(sent >= 24, kWaitMs); // well past the idle timeout
    QVERIFY(!client->closed);
    chatter.stop();

    // Silence now: the idle timeout applies.
    QTRY_VERIFY_WITH_TIMEOUT(client->closed, kWaitMs);
    QCOMPARE(client->socket.closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
    QCOMPARE(client->socket.closeReason(), QStringLiteral("idle"));
    QCOMPARE(server.sessionCount(), 0);
}

void TestWebSocketServer::transportMatrix_data()
{
    QTest::addColumn<bool>("tls");
    QTest::newRow("ws") << false;
    // TLS encrypts eagerly, so the bytes waiting for the network sit in the encrypted buffer.
    QTest::newRow("wss") << true;
}

bool TestWebSocketServer::useTls(WebSocketServerOptions& options)
{
    QFETCH(bool, tls);
    if (!tls)
        return false;
    const auto certificate = commy::testing::makeTestCertificate(m_dir->path());
    if (!certificate.isValid())
        qWarning("%s", qPrintable(certificate.error));
    options.tlsCertificateFile = certificate.certificateFile;
    options.tlsKeyFile = certificate.keyFile;
    return true;
}

void TestWebSocketServer::burstIsMergedPerVariable()
{
    WebSocketServerOptions options;
    options.sendBufferBytes = 256 * 1024;
    options.sendGraceMs = 5'000;
    const bool tls = useTls(options);
    WebSocketServer& server = startServer(options);
    QVERIFY(server.isListening());
    RawWsClient raw(tls);
    raw.open(server.port());
    QTRY_VERIFY_WITH_TIMEOUT(raw.isUpgraded(), kWaitMs);
    QTRY_COMPARE(server.sessionCount(), 1);
    const SessionId session = m_handler->lastSession();

    // One burst without returning to the event loop: nothing reaches the network meanwhile, so the
    // first 256 KiB fill the socket and the rest wait and merge, one push per variable.
    constexpr int kPushes = 200;
    constexpr int kValueBytes = 16 * 1024;
    for (int i = 0; i < kPushes; ++i) {
        m_handler->push(session, QStringLiteral("v%1").arg(i % 4), QByteArray(kValueBytes, char('a' + i % 26)));
        if (i % 10 == 9)
            m_handler->reply(session, QByteArray(R"({"type":"Result","id":)") + QByteArray::number(i / 10) + "}");
    }
    raw.sendText(request(1000)); // answered after everything queued before it
    QTRY_VERIFY_WITH_TIMEOUT(
        !raw.texts().empty() && parse(raw.texts().back()).value(QLatin1String("id")).toInt() == 1000, kWaitMs);

    qint64 lastSeq = 0;
    int nextReply = 0;
    int delivered = 0;
    int flagged = 0;
    QHash<QString, QByteArray> latest;
    for (const QByteArray& text : raw.texts()) {
        const QJsonObject message = parse(text);
        if (message.value(QLatin1String("type")).toString() == QLatin1String("Result")) {
            if (message.value(QLatin1String("id")).toInt() != 1000)
                QCOMPARE(message.value(QLatin1String("id")).toInt(), nextReply++); // never dropped, in order
            continue;
        }
        const QJsonObject data = message.value(QLatin1String("data")).toObject();
        const qint64 seq = data.value(QLatin1String("seq")).toInteger();
        const bool coalesced = data.value(QLatin1String("coalesced")).toBool();
        QVERIFY2(seq > lastSeq, qPrintable(QStringLiteral("seq %1 after %2").arg(seq).arg(lastSeq)));
        QCOMPARE(coalesced, seq != lastSeq + 1); // every gap is flagged, and only gaps
        flagged += coalesced ? 1 : 0;
        lastSeq = seq;
        ++delivered;
        latest.insert(data.value(QLatin1String("variable")).toString(),
            QByteArray::fromBase64(data.value(QLatin1String("value")).toString().toLatin1()));
    }
    QCOMPARE(nextReply, kPushes / 10);
    QCOMPARE(lastSeq, kPushes); // the newest push always arrives
    QVERIFY2(delivered < kPushes / 2, qPrintable(QString::number(delivered)));
    QVERIFY(flagged >= 1);
    for (int i = kPushes - 4; i < kPushes; ++i) // every variable ends at its newest value
        QCOMPARE(latest.value(QStringLiteral("v%1").arg(i % 4)), QByteArray(kValueBytes, char('a' + i % 26)));
    qInfo("%d pushes in one burst, %d delivered, %d flagged coalesced", kPushes, delivered, flagged);

    QVERIFY(raw.isConnected()); // drained within the grace: no 1008
    QVERIFY(!raw.closeFrame());
    QCOMPARE(server.sessionCount(), 1);
}

void TestWebSocketServer::stoppedReaderIsClosedWith1008()
{
    WebSocketServerOptions options;
    options.sendBufferBytes = 256 * 1024;
    options.sendGraceMs = 500;
    options.pingIntervalMs = 0;
    options.idleTimeoutMs = 0;
    const bool tls = useTls(options);
    WebSocketServer& server = startServer(options);
    QVERIFY(server.isListening());
    QSignalSpy closing(&server, &WebSocketServer::sessionClosing);

    RawWsClient raw(tls);
    raw.open(server.port());
    QTRY_VERIFY_WITH_TIMEOUT(raw.isUpgraded(), kWaitMs);
    QTRY_COMPARE(server.sessionCount(), 1);
    const SessionId session = m_handler->lastSession();
    raw.pauseReading();

    // Pushes for four variables, and now and then a reply, until the server gives up on the client.
    const QByteArray value(16 * 1024, 'v');
    int pushes = 0;
    int replies = 0;
    QTimer producer;
    connect(&producer, &QTimer::timeout, this, [&] {
        for (int i = 0; i < 8; ++i, ++pushes)
            m_handler->push(session, QStringLiteral("v%1").arg(pushes % 4), value);
        m_handler->reply(session, QByteArray(R"({"type":"Result","id":)") + QByteArray::number(replies++) + "}");
    });
    producer.start(1);
    QTRY_VERIFY_WITH_TIMEOUT(!closing.isEmpty(), 30'000);
    producer.stop();
    QCOMPARE(closing[0][0].value<SessionId>(), session);
    QCOMPARE(closing[0][1].toInt(), 1008);

    // What was in the socket still arrives, in order, then the close frame.
    raw.resumeReading();
    QTRY_VERIFY_WITH_TIMEOUT(raw.closeFrame().has_value(), kWaitMs);
    QCOMPARE(raw.closeFrame()->closeCode(), 1008);
    qint64 lastSeq = 0;
    int nextReply = 0;
    for (const QByteArray& text : raw.texts()) {
        const QJsonObject message = parse(text);
        if (message.value(QLatin1String("type")).toString() == QLatin1String("Result")) {
            QCOMPARE(message.value(QLatin1String("id")).toInt(), nextReply++);
            continue;
        }
        const QJsonObject data = message.value(QLatin1String("data")).toObject();
        const qint64 seq = data.value(QLatin1String("seq")).toInteger();
        QVERIFY(seq > lastSeq);
        QCOMPARE(data.value(QLatin1String("coalesced")).toBool(), seq != lastSeq + 1);
        lastSeq = seq;
    }
    QVERIFY(lastSeq < pushes);

    raw.socket().disconnectFromHost();
    QTRY_COMPARE_WITH_TIMEOUT(server.sessionCount(), 0, kWaitMs);
    QVERIFY(!m_handler->isOpen(session));
}

// What GetSessions reports: bytes handed to the connection that are not on the network yet. A client
// that stops reading builds a backlog; once it reads again the backlog drains to zero.
void TestWebSocketServer::queuedBytesShowABacklog()
{
    WebSocketServerOptions options;
    options.sendGraceMs = 60'000;
    options.pingIntervalMs = 0;
    options.idleTimeoutMs = 0;
    WebSocketServer& server = startServer(options);
    QVERIFY(server.isListening());
    RawWsClient raw(false);
    raw.open(server.port());
    QTRY_VERIFY_WITH_TIMEOUT(raw.isUpgraded(), kWaitMs);
    QTRY_COMPARE(server.sessionCount(), 1);
    const SessionId session = m_handler->lastSession();
    QCOMPARE(m_handler->output(session)->queuedBytes(), 0);
    raw.pauseReading();

    // More than the socket buffers on both sides hold: some of it must wait.
    const QByteArray padding(64 * 1024, 'p');
    constexpr int kReplies = 256;
    for (int i = 0; i < kReplies; ++i)
        m_handler->reply(session,
            QByteArray(R"({"type":"Result","id":)") + QByteArray::number(i) + R"(,"data":{"pad":")" + padding
                + R"("}})");
    QTest::qWait(100); // let the socket hand what it can to the kernel
    const qint64 backlog = m_handler->output(session)->queuedBytes();
    QVERIFY2(backlog > 1024 * 1024 && backlog <= qint64(kReplies) * (padding.size() + 64),
        qPrintable(QString::number(backlog)));

    raw.resumeReading();
    QTRY_COMPARE_WITH_TIMEOUT(raw.texts().size(), std::size_t(kReplies), kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(m_handler->output(session)->queuedBytes(), 0, kWaitMs);
}

void TestWebSocketServer::wssServesWithAGeneratedCertificate()
{
    const auto certificate = commy::testing::makeTestCertificate(m_dir->path());
    QVERIFY2(certificate.isValid(), qPrintable(certificate.error));
    WebSocketServerOptions options;
    options.tlsCertificateFile = certificate.certificateFile;
    options.tlsKeyFile = certificate.keyFile;
    WebSocketServer& server = startServer(options);
    QVERIFY(server.isListening());
    QVERIFY(server.isSecure());
    QCOMPARE(server.url().toString(), QStringLiteral("wss://127.0.0.1:%1").arg(server.port()));

    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setCaCertificates({ certificate.certificate() }); // verified for real, not ignored
    auto client = connectClient(server.url(), &tls);
    QVERIFY(client);
    for (int id = 0; id < 20; ++id)
        client->socket.sendTextMessage(QString::fromUtf8(request(id)));
    QTRY_COMPARE(client->texts.size(), 20);
    QCOMPARE(parse(client->texts[19]).value(QLatin1String("id")).toInt(), 19);
    QCOMPARE(m_handler->opened().last().peer.address, QHostAddress(QHostAddress::LocalHost));
}

void TestWebSocketServer::wssSurvivesAFailedTlsHandshake()
{
    const auto certificate = commy::testing::makeTestCertificate(m_dir->path());
    QVERIFY2(certificate.isValid(), qPrintable(certificate.error));
    WebSocketServerOptions options;
    options.tlsCertificateFile = certificate.certificateFile;
    options.tlsKeyFile = certificate.keyFile;
    WebSocketServer& server = startServer(options);

    // Plain WebSocket to the TLS port: the handshake fails for that connection only.
    RawWsClient plain;
    plain.open(server.port());
    QTRY_VERIFY_WITH_TIMEOUT(!plain.isConnected(), kWaitMs);
    QVERIFY(!plain.isUpgraded());

    // A client that does not trust the certificate gives up; the server carries on.
    QWebSocket untrusting;
    QSignalSpy failed(&untrusting, &QWebSocket::sslErrors);
    untrusting.open(server.url());
    QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), kWaitMs);

    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setCaCertificates({ certificate.certificate() });
    auto client = connectClient(server.url(), &tls);
    QVERIFY(client);
    client->socket.sendTextMessage(QString::fromUtf8(request(1)));
    QTRY_COMPARE(client->texts.size(), 1);
    QCOMPARE(m_handler->opened().size(), 1);
}

void TestWebSocketServer::listenErrors_data()
{
    QTest::addColumn<QString>("certificate"); // "@CERT@" / "@KEY@" are replaced by generated files
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("message");

    QTest::newRow("certificate without key") << QStringLiteral("@CERT@") << QString() << QStringLiteral("both");
    QTest::newRow("key without certificate") << QString() << QStringLiteral("@KEY@") << QStringLiteral("both");
    QTest::newRow("missing certificate") << QStringLiteral("@DIR@/nope.pem") << QStringLiteral("@KEY@")
                                         << QStringLiteral("cannot read TLS certificate @DIR@/nope.pem");
    QTest::newRow("missing key") << QStringLiteral("@CERT@") << QStringLiteral("@DIR@/nope.pem")
                                 << QStringLiteral("cannot read TLS key @DIR@/nope.pem");
    QTest::newRow("certificate is not PEM")
        << QStringLiteral("@DIR@/garbage") << QStringLiteral("@KEY@") << QStringLiteral("holds no PEM certificate");
    QTest::newRow("key is a certificate") << QStringLiteral("@CERT@") << QStringLiteral("@CERT@")
                                          << QStringLiteral("holds no unencrypted PEM private key");
}

void TestWebSocketServer::listenErrors()
{
    QFETCH(QString, certificate);
    QFETCH(QString, key);
    QFETCH(QString, message);

    const auto generated = commy::testing::makeTestCertificate(m_dir->path());
    QVERIFY2(generated.isValid(), qPrintable(generated.error));
    QFile garbage(m_dir->filePath(QStringLiteral("garbage")));
    QVERIFY(garbage.open(QIODevice::WriteOnly));
    garbage.write("not a certificate\n");
    garbage.close();
    auto expand = [&](QString text) {
        return text.replace(QLatin1String("@CERT@"), generated.certificateFile)
            .replace(QLatin1String("@KEY@"), generated.keyFile)
            .replace(QLatin1String("@DIR@"), m_dir->path());
    };

    WebSocketServerOptions options;
    options.host = QHostAddress(QHostAddress::LocalHost);
    options.tlsCertificateFile = expand(certificate);
    options.tlsKeyFile = expand(key);
    WebSocketServer server(m_handler.get(), options);
    const auto listening = server.listen();
    QVERIFY(!listening);
    QVERIFY2(listening.error().contains(expand(message)), qPrintable(listening.error()));
    QVERIFY(!server.isListening());
    QVERIFY(server.url().isEmpty());
}

void TestWebSocketServer::listenReportsABusyPort()
{
    QTcpServer occupant;
    QVERIFY(occupant.listen(QHostAddress::LocalHost, 0));
    WebSocketServerOptions options;
    options.host = QHostAddress(QHostAddress::LocalHost);
    options.port = occupant.serverPort();
    WebSocketServer server(m_handler.get(), options);
    const auto listening = server.listen();
    QVERIFY(!listening);
    QVERIFY2(listening.error().contains(QStringLiteral("127.0.0.1:%1").arg(occupant.serverPort())),
        qPrintable(listening.error()));
    QVERIFY2(listening.error().contains(QLatin1String("in use")), qPrintable(listening.error()));
}

void TestWebSocketServer::closeReachesClientsAs1001()
{
    WebSocketServer& server = startServer();
    auto first = connectClient(server.url());
    auto second = connectClient(server.url());
    QVERIFY(first && second);
    QTRY_COMPARE(server.sessionCount(), 2);
    QSignalSpy closed(&server, &WebSocketServer::sessionClosed);
    const quint16 port = server.port();

    server.close();
    QVERIFY(!server.isListening());
    QTRY_VERIFY_WITH_TIMEOUT(first->closed && second->closed, kWaitMs);
    QCOMPARE(first->socket.closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
    QCOMPARE(second->socket.closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
    QTRY_COMPARE(server.sessionCount(), 0);
    QCOMPARE(closed.size(), 2);
    QCOMPARE(m_handler->closed().size(), 2);

    // Nobody new gets in.
    QWebSocket late;
    QSignalSpy lateError(&late, QOverload<QAbstractSocket::SocketError>::of(&QWebSocket::error));
    late.open(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(port)));
    QTRY_VERIFY_WITH_TIMEOUT(!lateError.isEmpty(), kWaitMs);
}

void TestWebSocketServer::sessionsFollowConnections()
{
    WebSocketServer& server = startServer();
    QSignalSpy opened(&server, &WebSocketServer::sessionOpened);
    QSignalSpy closed(&server, &WebSocketServer::sessionClosed);
    auto client = connectClient(server.url());
    QVERIFY(client);
    QTRY_COMPARE(opened.size(), 1);
    QCOMPARE(server.sessionCount(), 1);
    const SessionId session = opened[0][0].value<SessionId>();
    QVERIFY(m_handler->isOpen(session));

    client->socket.close();
    QTRY_COMPARE(closed.size(), 1);
    QCOMPARE(closed[0][0].value<SessionId>(), session);
    QCOMPARE(server.sessionCount(), 0);
    QCOMPARE(m_handler->closed(), QList<SessionId> { session });

    // A peer that vanishes without a close frame ends its session too.
    RawWsClient raw;
    raw.open(server.port());
    QTRY_VERIFY(raw.isUpgraded());
    QTRY_COMPARE(server.sessionCount(), 1);
    raw.socket().abort();
    QTRY_COMPARE_WITH_TIMEOUT(server.sessionCount(), 0, kWaitMs);
    QCOMPARE(m_handler->closed().size(), 2);
}

void TestWebSocketServer::peerInfoHasTheLoopbackAddress()
{
    WebSocketServer& server = startServer();
    auto client = connectClient(server.url());
    QVERIFY(client);
    QTRY_COMPARE(m_handler->opened().size(), 1);
    const auto& peer = m_handler->opened()[0].peer;
    QCOMPARE(peer.address, QHostAddress(QHostAddress::LocalHost));
    QVERIFY(peer.address.isLoopback());
    QCOMPARE(peer.port, client->socket.localPort());
}

QTEST_MAIN(TestWebSocketServer)
#include "tst_websocket_server.moc"
