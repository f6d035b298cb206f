#pragma once

// A WebSocket client written by hand over a QTcpSocket, for what QWebSocket will not do: stop reading
// (a slow subscriber), never answer pings, send frames with any header. Event driven: wait on its
// state with QTRY_*, never with blocking socket calls (the server runs on the same thread).

#include <QByteArray>
#include <QHostAddress>
#include <QSslSocket>
#include <QTcpSocket>
#include <QtEndian>

#include <memory>
#include <optional>
#include <vector>

namespace commy::testing {

struct RawFrame {
    int opcode = 0; // 0x1 text, 0x2 binary, 0x8 close, 0x9 ping, 0xA pong
    bool fin = true;
    QByteArray payload;

    int closeCode() const { return payload.size() >= 2 ? qFromBigEndian<quint16>(payload.constData()) : -1; }
    QByteArray closeReason() const { return payload.mid(2); }
};

class RawWsClient {
public:
    static constexpr int kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9, kPong = 0xA;

    // `tls`: over TLS without verifying the server (wss).
    explicit RawWsClient(bool tls = false)
        : m_socket(tls ? std::make_unique<QSslSocket>() : std::make_unique<QTcpSocket>())
    {
        QObject::connect(m_socket.get(), &QTcpSocket::readyRead, m_socket.get(), [this] { readAvailable(); });
    }

    QTcpSocket& socket() { return *m_socket; }

    // Connects and sends the upgrade request; wait for isUpgraded().
    void open(quint16 port, const QByteArray& path = "/")
    {
        auto upgrade = [this, port, path] {
            m_socket->write("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port)
                + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        };
        if (auto* tls = qobject_cast<QSslSocket*>(m_socket.get())) {
            tls->setPeerVerifyMode(QSslSocket::VerifyNone);
            QObject::connect(tls, &QSslSocket::encrypted, tls, upgrade);
            tls->connectToHostEncrypted(QStringLiteral("127.0.0.1"), port);
        } else {
            QObject::connect(m_socket.get(), &QTcpSocket::connected, m_socket.get(), upgrade);
            m_socket->connectToHost(QHostAddress::LocalHost, port);
        }
    }

    bool isUpgraded() const { return m_upgraded; }
    bool isConnected() const { return m_socket->state() == QAbstractSocket::ConnectedState; }
    const QByteArray& handshakeResponse() const { return m_response; }

    // Stops taking bytes from the kernel: the server's send buffer fills up.
    void pauseReading()
    {
        m_paused = true;
        m_socket->setReadBufferSize(1024);
    }
    void resumeReading()
    {
        m_paused = false;
        m_socket->setReadBufferSize(0);
        readAvailable();
    }

    // A client frame: masked (with a zero key, so the payload bytes stay as they are).
    void sendFrame(int opcode, const QByteArray& payload, bool fin = true)
    {
        m_socket->write(header(opcode, quint64(payload.size()), fin) + payload);
    }
    // Only a header announcing `length` bytes (to test length limits without sending them).
    void sendHeaderOnly(int opcode, quint64 length) { m_socket->write(header(opcode, length, true)); }
    void sendText(const QByteArray& text) { sendFrame(kText, text); }

    const std::vector<RawFrame>& frames() const { return m_frames; }
    std::vector<QByteArray> texts() const
    {
        std::vector<QByteArray> result;
        for (const RawFrame& frame : m_frames)
            if (frame.opcode == kText)
                result.push_back(frame.payload);
        return result;
    }
    std::optional<RawFrame> closeFrame() const
    {
        for (const RawFrame& frame : m_frames)
            if (frame.opcode == kClose)
                return frame;
        return std::nullopt;
    }
    int count(int opcode) const
    {
        int n = 0;
        for (const RawFrame& frame : m_frames)
            n += frame.opcode == opcode ? 1 : 0;
        return n;
    }

private:
    static QByteArray header(int opcode, quint64 length, bool fin)
    {
        QByteArray bytes;
        bytes.append(char((fin ? 0x80 : 0x00) | (opcode & 0x0f)));
        if (length < 126) {
            bytes.append(char(0x80 | length));
        } else if (length <= 0xffff) {
            bytes.append(char(0x80 | 126));
            bytes.append(char(length >> 8));
            bytes.append(char(length & 0xff));
        } else {
            bytes.append(char(0x80 | 127));
            for (int shift = 56; shift >= 0; shift -= 8)
                bytes.append(char((length >> shift) & 0xff));
        }
        bytes.append(4, '\0'); // masking key
        return bytes;
    }

    void readAvailable()
    {
        if (m_paused)
            return;
        m_buffer += m_socket->readAll();
        if (!m_upgraded) {
            const qsizetype end = m_buffer.indexOf("\r\n\r\n");
            if (end < 0)
                return;
            m_response = m_buffer.left(end + 4);
            m_buffer.remove(0, end + 4);
            m_upgraded = m_response.startsWith("HTTP/1.1 101");
        }
        while (parseFrame()) { }
    }

    // Server frames are not masked.
    bool parseFrame()
    {
        if (m_buffer.size() < 2)
            return false;
        const auto* bytes = reinterpret_cast<const uchar*>(m_buffer.constData());
        quint64 length = bytes[1] & 0x7f;
        qsizetype offset = 2;
        if (length == 126) {
            if (m_buffer.size() < 4)
                return false;
            length = qFromBigEndian<quint16>(bytes + 2);
            offset = 4;
        } else if (length == 127) {
            if (m_buffer.size() < 10)
                return false;
            length = qFromBigEndian<quint64>(bytes + 2);
            offset = 10;
        }
        if (quint64(m_buffer.size() - offset) < length)
            return false;
        RawFrame frame;
        frame.fin = (bytes[0] & 0x80) != 0;
        frame.opcode = bytes[0] & 0x0f;
        frame.payload = m_buffer.mid(offset, qsizetype(length));
        m_buffer.remove(0, offset + qsizetype(length));
        // A continuation joins the message it continues, so texts() holds whole messages.
        if (frame.opcode == 0 && !m_frames.empty() && !m_frames.back().fin) {
            m_frames.back().payload += frame.payload;
            m_frames.back().fin = frame.fin;
        } else {
            m_frames.push_back(std::move(frame));
        }
        return true;
    }

    std::unique_ptr<QTcpSocket> m_socket;
    QByteArray m_buffer;
    QByteArray m_response;
    bool m_upgraded = false;
    bool m_paused = false;
    std::vector<RawFrame> m_frames;
};

} // namespace commy::testing
