#include "ws_frames.h"

#include <QtEndian>

#include <cstring>

namespace commy::broker {

namespace {

constexpr int kMaxControlPayload = 125;

bool isContinuationByte(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// RFC 6455 section 7.4: the codes a peer may send. 1004-1006 and 1015 are reserved for reporting,
// 1016-2999 for future protocol use; 3000-4999 belong to libraries and applications.
bool isSendableCloseCode(quint16 code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

// XORs `bytes` with the 4-byte masking key, eight bytes at a time where it can.
void unmask(char* bytes, qsizetype size, const unsigned char key[4])
{
    std::uint64_t wide = 0;
    for (int i = 0; i < 8; ++i)
        wide |= std::uint64_t(key[i % 4]) << (8 * i);
    qsizetype i = 0;
    for (; i + 8 <= size; i += 8) {
        std::uint64_t chunk;
        std::memcpy(&chunk, bytes + i, 8);
        chunk ^= wide; // little-endian loads keep key byte k on payload byte i + k
        std::memcpy(bytes + i, &chunk, 8);
    }
    for (; i < size; ++i)
        bytes[i] = char(bytes[i] ^ key[i % 4]);
}

bool isKnownOpcode(int opcode)
{
    switch (WsOpcode(opcode)) {
    case WsOpcode::Continuation:
    case WsOpcode::Text:
    case WsOpcode::Binary:
    case WsOpcode::Close:
    case WsOpcode::Ping:
    case WsOpcode::Pong:
        return true;
    }
    return false;
}

} // namespace

bool isValidUtf8(QByteArrayView bytes)
{
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto* end = p + bytes.size();
    while (p < end) {
        // ASCII runs, the common case for JSON, eight bytes per step.
        while (end - p >= 8) {
            std::uint64_t chunk;
            std::memcpy(&chunk, p, 8);
            if (chunk & 0x8080808080808080ULL)
                break;
            p += 8;
        }
        if (p == end)
            break;
        const unsigned char lead = *p;
        if (lead < 0x80) {
            ++p;
            continue;
        }
        // The second byte's range excludes overlong forms, surrogates and code points past U+10FFFF.
        int continuations = 0;
        unsigned char low = 0x80, high = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) {
            continuations = 1;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            continuations = 2;
            if (lead == 0xE0)
                low = 0xA0;
            else if (lead == 0xED)
                high = 0x9F;
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            continuations = 3;
            if (lead == 0xF0)
                low = 0x90;
            else if (lead == 0xF4)
                high = 0x8F;
        } else {
            return false;
        }
        if (end - p <= continuations || p[1] < low || p[1] > high)
            return false;
        for (int i = 2; i <= continuations; ++i) {
            if (!isContinuationByte(p[i]))
                return false;
        }
        p += continuations + 1;
    }
    return true;
}

WsFrameReader::WsFrameReader(qint64 maxMessageBytes)
    : m_maxMessageBytes(maxMessageBytes)
{
}

void WsFrameReader::append(QByteArrayView bytes)
{
    if (m_failed)
        return;
    if (m_offset > 0) {
        m_buffer.remove(0, m_offset);
        m_offset = 0;
    }
    m_buffer.append(bytes);
}

WsFrameReader::Status WsFrameReader::fail(quint16 code, QString reason)
{
    m_failed = true;
    m_failure = { code, std::move(reason) };
    m_buffer.clear();
    m_fragments.clear();
    m_offset = 0;
    return Status::Failed;
}

WsFrameReader::Status WsFrameReader::next(WsMessage& message)
{
    if (m_failed)
        return Status::Failed;
    for (;;) {
        const auto* head = reinterpret_cast<const unsigned char*>(m_buffer.constData()) + m_offset;
        const qsizetype available = m_buffer.size() - m_offset;
        if (available < 2)
            return Status::NeedMore;

        const bool fin = head[0] & 0x80;
        const int opcode = head[0] & 0x0F;
        const bool masked = head[1] & 0x80;
        const int shortLength = head[1] & 0x7F;
        if (head[0] & 0x70)
            return fail(ws_close::kProtocolError, QStringLiteral("reserved frame bits set (no extension was agreed)"));
        if (!isKnownOpcode(opcode))
            return fail(ws_close::kProtocolError, QStringLiteral("unknown opcode %1").arg(opcode));
        const bool control = opcode & 0x8;
        if (control && !fin)
            return fail(ws_close::kProtocolError, QStringLiteral("a control frame cannot be fragmented"));
        if (control && shortLength > kMaxControlPayload)
            return fail(ws_close::kProtocolError, QStringLiteral("a control frame is limited to 125 bytes"));
        if (!masked)
            return fail(ws_close::kProtocolError, QStringLiteral("frames from a client must be masked"));

        qsizetype headerBytes = 2;
        quint64 length = quint64(shortLength);
        if (shortLength == 126) {
            if (available < 4)
                return Status::NeedMore;
            length = qFromBigEndian<quint16>(head + 2);
            headerBytes = 4;
        } else if (shortLength == 127) {
            if (available < 10)
                return Status::NeedMore;
            length = qFromBigEndian<quint64>(head + 2);
            headerBytes = 10;
            if (length >> 63)
                return fail(ws_close::kProtocolError, QStringLiteral("a frame length's top bit must be zero"));
        }
        // Refused from the header alone: a peer cannot make the server buffer what it will not accept.
        const quint64 soFar = opcode == int(WsOpcode::Continuation) ? quint64(m_fragments.size()) : 0;
        if (!control && (length > quint64(m_maxMessageBytes) || soFar + length > quint64(m_maxMessageBytes)))
            return fail(ws_close::kTooBig, QStringLiteral("message over %1 bytes").arg(m_maxMessageBytes));

        const qsizetype frameBytes = headerBytes + 4 + qsizetype(length);
        if (available < frameBytes)
            return Status::NeedMore;
        unsigned char key[4];
        std::memcpy(key, head + headerBytes, 4);
        QByteArray payload(reinterpret_cast<const char*>(head) + headerBytes + 4, qsizetype(length));
        m_offset += frameBytes;
        unmask(payload.data(), payload.size(), key);

        switch (WsOpcode(opcode)) {
        case WsOpcode::Close:
            if (payload.size() == 1)
                return fail(ws_close::kProtocolError, QStringLiteral("a close frame's code needs two bytes"));
            if (payload.size() >= 2 && !isSendableCloseCode(wsCloseCode(payload)))
                return fail(
                    ws_close::kProtocolError, QStringLiteral("close code %1 cannot be sent").arg(wsCloseCode(payload)));
            if (!isValidUtf8(QByteArrayView(payload).sliced(qMin<qsizetype>(2, payload.size()))))
                return fail(ws_close::kInvalidPayload, QStringLiteral("a close reason must be UTF-8"));
            [[fallthrough]];
        case WsOpcode::Ping:
        case WsOpcode::Pong:
            message = { WsOpcode(opcode), std::move(payload) };
            return Status::Message;
        case WsOpcode::Text:
        case WsOpcode::Binary:
            if (m_fragmentedOpcode != WsOpcode::Continuation)
                return fail(ws_close::kProtocolError, QStringLiteral("a new message began inside a fragmented one"));
            if (!fin) {
                m_fragmentedOpcode = WsOpcode(opcode);
                m_fragments = std::move(payload);
                continue;
            }
            message = { WsOpcode(opcode), std::move(payload) };
            break;
        case WsOpcode::Continuation:
            if (m_fragmentedOpcode == WsOpcode::Continuation)
                return fail(ws_close::kProtocolError, QStringLiteral("a continuation frame without a message"));
            m_fragments.append(payload);
            if (!fin)
                continue;
            message = { m_fragmentedOpcode, std::move(m_fragments) };
            m_fragments = QByteArray();
            m_fragmentedOpcode = WsOpcode::Continuation;
            break;
        }
        if (message.opcode == WsOpcode::Text && !isValidUtf8(message.payload))
            return fail(ws_close::kInvalidPayload, QStringLiteral("a text message must be UTF-8"));
        return Status::Message;
    }
}

int wsFrameHeader(WsOpcode opcode, quint64 payloadBytes, char (&out)[10])
{
    auto* header = reinterpret_cast<unsigned char*>(out);
    header[0] = 0x80 | std::uint8_t(opcode);
    if (payloadBytes < 126) {
        header[1] = std::uint8_t(payloadBytes);
        return 2;
    }
    if (payloadBytes <= 0xFFFF) {
        header[1] = 126;
        qToBigEndian<quint16>(quint16(payloadBytes), header + 2);
        return 4;
    }
    header[1] = 127;
    qToBigEndian<quint64>(payloadBytes, header + 2);
    return 10;
}

QByteArray encodeWsFrame(WsOpcode opcode, QByteArrayView payload)
{
    char header[10];
    const int headerBytes = wsFrameHeader(opcode, quint64(payload.size()), header);
    QByteArray frame;
    frame.reserve(headerBytes + payload.size());
    frame.append(header, headerBytes);
    frame.append(payload);
    return frame;
}

QByteArray encodeWsClose(quint16 code, const QString& reason)
{
    QByteArray text = reason.toUtf8();
    qsizetype cut = qMin<qsizetype>(text.size(), kMaxControlPayload - 2);
    while (cut > 0 && cut < text.size() && isContinuationByte(static_cast<unsigned char>(text[cut])))
        --cut; // never split a character
    QByteArray payload(2, Qt::Uninitialized);
    qToBigEndian<quint16>(code, payload.data());
    payload.append(text.left(cut));
    return encodeWsFrame(WsOpcode::Close, payload);
}

quint16 wsCloseCode(QByteArrayView closePayload)
{
    return closePayload.size() >= 2 ? qFromBigEndian<quint16>(closePayload.data()) : ws_close::kNoStatus;
}

QString wsCloseReason(QByteArrayView closePayload)
{
    return closePayload.size() > 2 ? QString::fromUtf8(closePayload.sliced(2)) : QString();
}

} // namespace commy::broker
