#pragma once

// RFC 6455 framing for the server side of a connection, without a socket: a reader that turns the
// bytes a client sent into whole messages (unmasked, fragments joined, control frames checked), and
// the encoders for what the server sends (unmasked, never fragmented). A protocol violation is a
// failure carrying the close code the connection must close with; the reader is unusable after it.

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <cstdint>

namespace commy::broker {

enum class WsOpcode : std::uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

namespace ws_close {
inline constexpr quint16 kNormal = 1000;
inline constexpr quint16 kGoingAway = 1001;
inline constexpr quint16 kProtocolError = 1002;
inline constexpr quint16 kNoStatus = 1005; // never sent: a close frame without a code
inline constexpr quint16 kInvalidPayload = 1007;
inline constexpr quint16 kPolicyViolated = 1008;
inline constexpr quint16 kTooBig = 1009;
} // namespace ws_close

struct WsMessage {
    WsOpcode opcode = WsOpcode::Text; // Text, Binary, Close, Ping or Pong
    QByteArray payload; // for Close: the payload as sent (code and reason)
};

struct WsReadFailure {
    quint16 closeCode = ws_close::kProtocolError;
    QString reason;
};

class WsFrameReader {
public:
    // Messages (and single frames) longer than `maxMessageBytes` fail with 1009 as soon as their
    // header announces it, before any of the payload is buffered.
    explicit WsFrameReader(qint64 maxMessageBytes);

    void append(QByteArrayView bytes);

    enum class Status { NeedMore, Message, Failed };
    // The next complete message from what was appended. Text is checked to be UTF-8 (1007).
    Status next(WsMessage& message);
    const WsReadFailure& failure() const { return m_failure; }

    // Bytes held: received but not yet returned as a message (partial frames and fragments).
    qint64 bufferedBytes() const { return qint64(m_buffer.size() - m_offset) + m_fragments.size(); }

private:
    Status fail(quint16 code, QString reason);

    qint64 m_maxMessageBytes;
    QByteArray m_buffer; // received bytes; [m_offset, end) not consumed yet
    qsizetype m_offset = 0;
    QByteArray m_fragments; // the payload of a fragmented message so far
    WsOpcode m_fragmentedOpcode = WsOpcode::Continuation; // Continuation: no message in progress
    bool m_failed = false;
    WsReadFailure m_failure;
};

// The header of an unmasked frame with FIN set (what a server sends) into `out`; returns its length.
int wsFrameHeader(WsOpcode opcode, quint64 payloadBytes, char (&out)[10]);
// One such frame, header and payload.
QByteArray encodeWsFrame(WsOpcode opcode, QByteArrayView payload);
// A close frame with `code` and as much of `reason` as fits a control frame (123 bytes, whole characters).
QByteArray encodeWsClose(quint16 code, const QString& reason);
// The code and reason in a close frame's payload; kNoStatus for an empty payload.
quint16 wsCloseCode(QByteArrayView closePayload);
QString wsCloseReason(QByteArrayView closePayload);

bool isValidUtf8(QByteArrayView bytes);

} // namespace commy::broker
