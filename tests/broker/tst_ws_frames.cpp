// The broker's WebSocket framing and opening handshake on raw bytes: frames of every length class
// and masking key come out as sent, fragments join, control frames interleave, and every protocol
// violation fails with the close code RFC 6455 names for it; the handshake answers a valid upgrade
// with the RFC's accept key and refuses everything else with an HTTP error.

#include "ws_frames.h"
#include "ws_handshake.h"

#include <QtEndian>
#include <QtTest>

using namespace commy::broker;

namespace {

// A client frame: masked with `key`, FIN and opcode as given, the length in its shortest form
// unless `longForm` forces the 64-bit one.
QByteArray clientFrame(int opcode, const QByteArray& payload, bool fin = true, quint32 key = 0x37fa213d,
    bool masked = true, bool longForm = false)
{
    QByteArray frame;
    frame.append(char((fin ? 0x80 : 0) | opcode));
    const char mask = masked ? char(0x80) : char(0);
    const qsizetype size = payload.size();
    if (size < 126 && !longForm) {
        frame.append(char(mask | size));
    } else if (size <= 0xFFFF && !longForm) {
        frame.append(char(mask | 126));
        frame.append(char(size >> 8)).append(char(size & 0xFF));
    } else {
        frame.append(char(mask | 127));
        for (int shift = 56; shift >= 0; shift -= 8)
            frame.append(char((quint64(size) >> shift) & 0xFF));
    }
    if (!masked)
        return frame + payload;
    char keyBytes[4];
    qToBigEndian(key, keyBytes);
    frame.append(keyBytes, 4);
    for (qsizetype i = 0; i < size; ++i)
        frame.append(char(payload[i] ^ keyBytes[i % 4]));
    return frame;
}

QByteArray closePayload(quint16 code, const QByteArray& reason = {})
{
    QByteArray payload(2, Qt::Uninitialized);
    qToBigEndian(code, payload.data());
    return payload + reason;
}

// Feeds `bytes` in pieces of `chunk` bytes and collects every message until a failure.
struct ReadOutcome {
    QList<WsMessage> messages;
    bool failed = false;
    quint16 closeCode = 0;
};

ReadOutcome readAll(const QByteArray& bytes, qint64 limit = 1 << 20, qsizetype chunk = 0)
{
    WsFrameReader reader(limit);
    ReadOutcome outcome;
    if (chunk <= 0)
        chunk = qMax<qsizetype>(1, bytes.size());
    for (qsizetype at = 0; at < bytes.size() && !outcome.failed; at += chunk) {
        reader.append(QByteArrayView(bytes).sliced(at, qMin(chunk, bytes.size() - at)));
        WsMessage message;
        for (;;) {
            const auto status = reader.next(message);
            if (status == WsFrameReader::Status::NeedMore)
                break;
            if (status == WsFrameReader::Status::Failed) {
                outcome.failed = true;
                outcome.closeCode = reader.failure().closeCode;
                break;
            }
            outcome.messages.append(message);
        }
    }
    return outcome;
}

QByteArray upgradeRequest(const QByteArray& extraOrReplacedLines = {})
{
    return "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:7700\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + extraOrReplacedLines + "\r\n";
}

} // namespace

class TestWsFrames : public QObject {
    Q_OBJECT

private slots:
    void framesOfEveryLengthComeOutAsSent_data()
    {
        QTest::addColumn<int>("size");
        QTest::addColumn<quint32>("key");
        QTest::addColumn<bool>("longForm");
        QTest::addColumn<int>("chunk");
        for (const int size : { 0, 1, 7, 8, 9, 125, 126, 127, 65535, 65536, 200000 }) {
            QTest::addRow("%d bytes, whole", size) << size << quint32(0x37fa213d) << false << 0;
            QTest::addRow("%d bytes, byte by byte", size) << size << quint32(0x01020304) << false << 1;
            QTest::addRow("%d bytes, zero key, 1000-byte reads", size) << size << quint32(0) << false << 1000;
        }
        QTest::addRow("5 bytes in the 64-bit length form") << 5 << quint32(0xdeadbeef) << true << 3;
    }

    void framesOfEveryLengthComeOutAsSent()
    {
        QFETCH(int, size);
        QFETCH(quint32, key);
        QFETCH(bool, longForm);
        QFETCH(int, chunk);
        QByteArray payload(size, Qt::Uninitialized);
        for (int i = 0; i < size; ++i)
            payload[i] = char('a' + (i * 7) % 26);
        const ReadOutcome outcome = readAll(
            clientFrame(0x1, payload, true, key, true, longForm) + clientFrame(0x2, "\x01\x02"), 1 << 20, chunk);
        QVERIFY(!outcome.failed);
        QCOMPARE(outcome.messages.size(), 2);
        QCOMPARE(outcome.messages[0].opcode, WsOpcode::Text);
        QCOMPARE(outcome.messages[0].payload, payload);
        QCOMPARE(outcome.messages[1].opcode, WsOpcode::Binary);
        QCOMPARE(outcome.messages[1].payload, QByteArray("\x01\x02"));
    }

    void fragmentsJoinAndControlFramesInterleave()
    {
        const QByteArray bytes = clientFrame(0x1, "{\"type\":", false) + clientFrame(0x9, "ping?")
            + clientFrame(0x0, "\"Heartbeat\",", false, 0x11111111) + clientFrame(0xA, "")
            + clientFrame(0x0, "\"id\":1}", true, 0x22222222);
        for (const qsizetype chunk : { qsizetype(0), qsizetype(1), qsizetype(5) }) {
            const ReadOutcome outcome = readAll(bytes, 1 << 20, chunk);
            QVERIFY(!outcome.failed);
            QCOMPARE(outcome.messages.size(), 3);
            QCOMPARE(outcome.messages[0].opcode, WsOpcode::Ping);
            QCOMPARE(outcome.messages[0].payload, QByteArray("ping?"));
            QCOMPARE(outcome.messages[1].opcode, WsOpcode::Pong);
            QCOMPARE(outcome.messages[2].opcode, WsOpcode::Text);
            QCOMPARE(outcome.messages[2].payload, QByteArray("{\"type\":\"Heartbeat\",\"id\":1}"));
        }
    }

    void aCharacterSplitAcrossFragmentsIsValid()
    {
        const QByteArray euro = "\xe2\x82\xac"; // U+20AC in three bytes, cut after the first
        const ReadOutcome outcome = readAll(clientFrame(0x1, euro.left(1), false) + clientFrame(0x0, euro.mid(1)));
        QVERIFY(!outcome.failed);
        QCOMPARE(outcome.messages.size(), 1);
        QCOMPARE(outcome.messages[0].payload, euro);
    }

    void closeFramesCarryTheirCodeAndReason()
    {
        const ReadOutcome outcome = readAll(clientFrame(0x8, closePayload(4001, "bye")) + clientFrame(0x8, {}));
        QVERIFY(!outcome.failed);
        QCOMPARE(outcome.messages.size(), 2);
        QCOMPARE(wsCloseCode(outcome.messages[0].payload), quint16(4001));
        QCOMPARE(wsCloseReason(outcome.messages[0].payload), QStringLiteral("bye"));
        QCOMPARE(wsCloseCode(outcome.messages[1].payload), ws_close::kNoStatus);
    }

    void violationsFailWithTheirCloseCode_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<qint64>("limit");
        QTest::addColumn<int>("closeCode");
        const qint64 mib = 1 << 20;

        QTest::newRow("unmasked frame") << clientFrame(0x1, "hi", true, 0, false) << mib << 1002;
        QByteArray rsv = clientFrame(0x1, "hi");
        rsv[0] = char(rsv[0] | 0x40);
        QTest::newRow("reserved bit (no extension agreed)") << rsv << mib << 1002;
        QTest::newRow("opcode 3") << clientFrame(0x3, "x") << mib << 1002;
        QTest::newRow("opcode 11") << clientFrame(0xB, "x") << mib << 1002;
        QTest::newRow("fragmented ping") << clientFrame(0x9, "x", false) << mib << 1002;
        QTest::newRow("ping over 125 bytes") << clientFrame(0x9, QByteArray(126, 'p')) << mib << 1002;
        QTest::newRow("continuation without a message") << clientFrame(0x0, "x") << mib << 1002;
        QTest::newRow("text inside a fragmented text")
            << clientFrame(0x1, "a", false) + clientFrame(0x1, "b") << mib << 1002;
        QByteArray topBit = clientFrame(0x1, "hi", true, 0, true, true);
        topBit[2] = char(0x80);
        QTest::newRow("64-bit length with its top bit set") << topBit << mib << 1002;
        QTest::newRow("one over the limit") << clientFrame(0x1, QByteArray(1025, 'x')) << qint64(1024) << 1009;
        QTest::newRow("fragments over the limit together")
            << clientFrame(0x1, QByteArray(600, 'x'), false) + clientFrame(0x0, QByteArray(600, 'y')) << qint64(1024)
            << 1009;
        QTest::newRow("invalid UTF-8 text") << clientFrame(0x1, "{\"a\":\"\xff\"}") << mib << 1007;
        QTest::newRow("text ending inside a character") << clientFrame(0x1, "\xe2\x82") << mib << 1007;
        QTest::newRow("close with one byte") << clientFrame(0x8, "\x03") << mib << 1002;
        QTest::newRow("close code 1005 (reserved)") << clientFrame(0x8, closePayload(1005)) << mib << 1002;
        QTest::newRow("close code 999") << clientFrame(0x8, closePayload(999)) << mib << 1002;
        QTest::newRow("close code 5000") << clientFrame(0x8, closePayload(5000)) << mib << 1002;
        QTest::newRow("close reason not UTF-8") << clientFrame(0x8, closePayload(1000, "\xc0\xaf")) << mib << 1007;
    }

    void violationsFailWithTheirCloseCode()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(qint64, limit);
        QFETCH(int, closeCode);
        const ReadOutcome outcome = readAll(bytes, limit);
        QVERIFY(outcome.failed);
        QCOMPARE(int(outcome.closeCode), closeCode);
    }

    void aHugeAnnouncedFrameFailsBeforeItsPayloadArrives()
    {
        // Only a header announcing 2^40 bytes: refused at once, nothing of it buffered.
        QByteArray header("\x81\xff", 2);
        for (int shift = 56; shift >= 0; shift -= 8)
            header.append(char((quint64(1) << 40 >> shift) & 0xFF));
        WsFrameReader reader(1 << 20);
        reader.append(header);
        WsMessage message;
        QCOMPARE(reader.next(message), WsFrameReader::Status::Failed);
        QCOMPARE(reader.failure().closeCode, ws_close::kTooBig);
        QCOMPARE(reader.bufferedBytes(), 0);
        reader.append("more"); // ignored after a failure
        QCOMPARE(reader.next(message), WsFrameReader::Status::Failed);
    }

    void utf8Validation_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<bool>("valid");
        QTest::newRow("empty") << QByteArray() << true;
        QTest::newRow("ASCII, long") << QByteArray(1000, 'a') << true;
        QTest::newRow("two bytes") << QByteArray("\xc3\xa9") << true;
        QTest::newRow("three bytes") << QByteArray("\xe2\x82\xac") << true;
        QTest::newRow("four bytes, U+10FFFF") << QByteArray("\xf4\x8f\xbf\xbf") << true;
        QTest::newRow("mixed after 8 ASCII") << QByteArray("abcdefgh\xc3\xa9xyz") << true;
        QTest::newRow("lone continuation") << QByteArray("\x80") << false;
        QTest::newRow("overlong two bytes") << QByteArray("\xc0\xaf") << false;
        QTest::newRow("overlong three bytes") << QByteArray("\xe0\x80\xaf") << false;
        QTest::newRow("overlong four bytes") << QByteArray("\xf0\x80\x80\xaf") << false;
        QTest::newRow("surrogate") << QByteArray("\xed\xa0\x80") << false;
        QTest::newRow("past U+10FFFF") << QByteArray("\xf4\x90\x80\x80") << false;
        QTest::newRow("F5 lead") << QByteArray("\xf5\x80\x80\x80") << false;
        QTest::newRow("truncated at the end") << QByteArray("abc\xe2\x82") << false;
        QTest::newRow("ASCII where a continuation belongs") << QByteArray("\xe2\x41\x82") << false;
    }

    void utf8Validation()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(bool, valid);
        QCOMPARE(isValidUtf8(bytes), valid);
    }

    void serverFramesUseTheShortestLength_data()
    {
        QTest::addColumn<int>("size");
        QTest::addColumn<int>("headerBytes");
        QTest::newRow("0") << 0 << 2;
        QTest::newRow("125") << 125 << 2;
        QTest::newRow("126") << 126 << 4;
        QTest::newRow("65535") << 65535 << 4;
        QTest::newRow("65536") << 65536 << 10;
    }

    void serverFramesUseTheShortestLength()
    {
        QFETCH(int, size);
        QFETCH(int, headerBytes);
        const QByteArray payload(size, 'z');
        const QByteArray frame = encodeWsFrame(WsOpcode::Text, payload);
        QCOMPARE(frame.size(), headerBytes + size);
        QCOMPARE(quint8(frame[0]), quint8(0x81)); // FIN, text
        QCOMPARE(quint8(frame[1]) & 0x80, 0); // servers do not mask
        QCOMPARE(frame.mid(headerBytes), payload);
    }

    void aLongCloseReasonIsCutAtACharacter()
    {
        // 62 two-byte characters are 124 bytes: one more than a close reason may hold.
        const QString reason = QString(62, QChar(0xe9));
        const QByteArray frame = encodeWsClose(1001, reason);
        QVERIFY(frame.size() <= 2 + 125);
        const QByteArray payload = frame.mid(2);
        QCOMPARE(wsCloseCode(payload), quint16(1001));
        QVERIFY(isValidUtf8(payload.mid(2)));
        QCOMPARE(wsCloseReason(payload), QString(61, QChar(0xe9)));
    }

    void handshakeAcceptsAnUpgrade()
    {
        // RFC 6455 section 1.3's example key and its accept value.
        QCOMPARE(wsAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), QByteArray("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        const QByteArray request = upgradeRequest();
        const QByteArray frameAfter = clientFrame(0x1, "{}");
        const WsHandshake handshake = readUpgradeRequest(request + frameAfter);
        QCOMPARE(handshake.status, WsHandshake::Status::Accepted);
        QCOMPARE(handshake.requestBytes, request.size());
        QVERIFY(handshake.response.startsWith("HTTP/1.1 101 Switching Protocols\r\n"));
        QVERIFY(handshake.response.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        QVERIFY(handshake.response.endsWith("\r\n\r\n"));
    }

    void handshakeWaitsForTheWholeHeader()
    {
        const QByteArray request = upgradeRequest();
        for (qsizetype cut = 0; cut < request.size(); ++cut)
            QCOMPARE(readUpgradeRequest(request.left(cut)).status, WsHandshake::Status::NeedMore);
    }

    void handshakeReadsHeadersAsHttpDoes()
    {
        const QByteArray request
            = "GET / HTTP/1.1\r\nhost: x\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, Upgrade\r\n"
              "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version:13\r\n"
              "User-Agent: test\r\n\r\n";
        QCOMPARE(readUpgradeRequest(request).status, WsHandshake::Status::Accepted);
    }

    void handshakeRefusals_data()
    {
        QTest::addColumn<QByteArray>("request");
        QTest::addColumn<int>("status");
        const QByteArray good = upgradeRequest();
        QTest::newRow("POST") << QByteArray(good).replace("GET", "POST") << 405;
        QTest::newRow("HTTP/1.0") << QByteArray(good).replace("HTTP/1.1", "HTTP/1.0") << 400;
        QTest::newRow("no Host") << QByteArray(good).replace("Host: 127.0.0.1:7700\r\n", "") << 400;
        QTest::newRow("no Upgrade") << QByteArray(good).replace("Upgrade: websocket\r\n", "") << 426;
        QTest::newRow("Connection without upgrade")
            << QByteArray(good).replace("Connection: Upgrade", "Connection: keep-alive") << 426;
        QTest::newRow("version 8") << QByteArray(good).replace("Version: 13", "Version: 8") << 426;
        QTest::newRow("key of 15 bytes") << QByteArray(good).replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25j")
                                         << 400;
        QTest::newRow("key not base64") << QByteArray(good).replace("dGhlIHNhbXBsZSBub25jZQ==", "!!!!") << 400;
        QTest::newRow("not HTTP") << QByteArray("\x16\x03\x01 hello\r\n\r\n") << 400;
        QTest::newRow("header line without a colon") << upgradeRequest("Garbage\r\n") << 400;
        QTest::newRow("a header over 16 KiB") << upgradeRequest("X-Pad: " + QByteArray(17 * 1024, 'p') + "\r\n") << 431;
        QTest::newRow("16 KiB and no end") << QByteArray(17 * 1024, 'G') << 431;
    }

    void handshakeRefusals()
    {
        QFETCH(QByteArray, request);
        QFETCH(int, status);
        const WsHandshake handshake = readUpgradeRequest(request);
        QCOMPARE(handshake.status, WsHandshake::Status::Refused);
        QVERIFY2(handshake.response.startsWith("HTTP/1.1 " + QByteArray::number(status) + ' '),
            handshake.response.constData());
        QVERIFY(handshake.response.contains("\r\nConnection: close\r\n"));
        QVERIFY(!handshake.refusal.isEmpty());
        if (status == 426 && request.contains("Version: 8"))
            QVERIFY(handshake.response.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    }
};

QTEST_GUILESS_MAIN(TestWsFrames)
#include "tst_ws_frames.moc"
