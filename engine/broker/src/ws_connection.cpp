#include "ws_connection.h"

#include "ws_handshake.h"
#include "ws_logging.h"
#include "ws_send_batch.h"

#include <commy/protocol/codec.h>

#include <QSslSocket>
#include <QTcpSocket>

namespace commy::broker {

namespace {

// An IPv4 peer reached through a dual-stack socket shows as ::ffff:a.b.c.d; the broker compares
// addresses (rate limits, loopback checks), so it gets the plain IPv4 form.
PeerInfo peerOf(const QTcpSocket& socket)
{
    PeerInfo peer { socket.peerAddress(), socket.peerPort() };
    bool isV4 = false;
    const quint32 v4 = peer.address.toIPv4Address(&isV4);
    if (isV4 && peer.address.protocol() == QAbstractSocket::IPv6Protocol)
        peer.address = QHostAddress(v4);
    return peer;
}

QString describe(const PeerInfo& peer)
{
    return peer.address.protocol() == QAbstractSocket::IPv6Protocol
        ? QStringLiteral("[%1]:%2").arg(peer.address.toString()).arg(peer.port)
        : QStringLiteral("%1:%2").arg(peer.address.toString()).arg(peer.port);
}

} // namespace

WsConnection::WsConnection(
    QTcpSocket* socket, SessionHandler* handler, ConnectionSettings settings, WsSendBatch* batch, QObject* parent)
    : QObject(parent)
    , m_socket(socket)
    , m_tls(qobject_cast<QSslSocket*>(socket))
    , m_handler(handler)
    , m_settings(settings)
    , m_batch(batch)
    , m_reader(settings.maxMessageBytes)
    , m_queue(settings.queue)
    , m_peer(peerOf(*socket))
{
    m_socket->setParent(this);
    m_handshakeTimer.setSingleShot(true);
    m_pingTimer.setInterval(m_settings.pingIntervalMs);
    m_idleTimer.setSingleShot(true);
    m_pressureTimer.setSingleShot(true);
    m_closeTimer.setSingleShot(true);
    connect(&m_handshakeTimer, &QTimer::timeout, this, [this] {
        qCInfo(lcWebSocket, "%s: no WebSocket handshake within %d ms; dropping the connection",
            qPrintable(describe(m_peer)), m_settings.handshakeTimeoutMs);
        m_socket->abort();
    });
    connect(&m_pingTimer, &QTimer::timeout, this, [this] { writeFrame(WsOpcode::Ping, {}); });
    connect(&m_idleTimer, &QTimer::timeout, this, &WsConnection::onIdleCheck);
    connect(&m_pressureTimer, &QTimer::timeout, this, &WsConnection::drain);
    connect(&m_closeTimer, &QTimer::timeout, this, [this] {
        qCInfo(lcWebSocket, "session %llu: %s did not finish closing within %d ms; dropping it", m_session,
            qPrintable(describe(m_peer)), m_settings.closeTimeoutMs);
        m_socket->abort();
    });
}

WsConnection::~WsConnection() { abortNow(); }

void WsConnection::start(Callbacks callbacks)
{
    m_callbacks = std::move(callbacks);
    m_clock.start();
    noteActivity();
    connect(m_socket, &QTcpSocket::readyRead, this, &WsConnection::onReadyRead);
    connect(m_socket, &QTcpSocket::bytesWritten, this, [this] { drain(); });
    if (m_tls)
        connect(m_tls, &QSslSocket::encryptedBytesWritten, this, [this] { drain(); });
    // Queued: a disconnect can happen inside a write the handler made, and closing the session from
    // there would re-enter the handler.
    connect(m_socket, &QTcpSocket::disconnected, this, &WsConnection::onDisconnected, Qt::QueuedConnection);
    if (m_socket->state() != QAbstractSocket::ConnectedState) {
        QMetaObject::invokeMethod(this, &WsConnection::onDisconnected, Qt::QueuedConnection);
        return;
    }
    m_handshakeTimer.start(m_settings.handshakeTimeoutMs);
    if (m_socket->bytesAvailable() > 0)
        QMetaObject::invokeMethod(this, &WsConnection::onReadyRead, Qt::QueuedConnection);
}

void WsConnection::close(quint16 code, const QString& reason)
{
    if (m_state == State::Handshaking) {
        m_state = State::Closed;
        m_socket->abort();
        return;
    }
    if (m_state != State::Open)
        return;
    m_state = State::Closing;
    m_closeCode = code;
    m_closeReason = reason;
    qCInfo(lcWebSocket, "session %llu: closing %s with %d (%s)", m_session, qPrintable(describe(m_peer)), int(code),
        qPrintable(reason));
    if (m_callbacks.closing)
        m_callbacks.closing(int(code));
    stopTimers();
    m_outgoing.append(encodeWsClose(code, reason));
    m_batch->wrote(this);
    if (m_settings.closeTimeoutMs > 0)
        m_closeTimer.start(m_settings.closeTimeoutMs);
}

void WsConnection::abortNow()
{
    m_batch->forget(this);
    m_socket->disconnect(this);
    stopTimers();
    m_closeTimer.stop();
    m_state = State::Closed;
    m_socket->abort();
    endSession();
}

void WsConnection::sendReply(const QByteArray& frame)
{
    if (m_state != State::Open)
        return;
    if (m_queue.passesThrough(unsentBytes())) {
        writeFrame(WsOpcode::Text, frame);
        if (unsentBytes() > m_queue.options().boundBytes || m_queue.overBoundSince())
            checkPressure();
        return;
    }
    m_queue.enqueueReply(frame);
    drain();
}

void WsConnection::sendPush(const protocol::VariableChanged& push, const protocol::PushEncoding& encoding)
{
    if (m_state != State::Open)
        return;
    // The common case, a reader that keeps up: written into the outgoing frames without queueing,
    // completing the shared encoding with this subscription's seq.
    if (m_queue.passesThrough(unsentBytes())) {
        char header[10];
        const qsizetype size = encoding.sizeFor(push.seq, push.coalesced);
        m_outgoing.append(header, wsFrameHeader(WsOpcode::Text, quint64(size), header));
        encoding.appendTo(m_outgoing, push.seq, push.coalesced);
        m_batch->wrote(this);
        if (unsentBytes() > m_queue.options().boundBytes || m_queue.overBoundSince())
            checkPressure(); // starts the grace period this frame may have opened
        return;
    }
    m_queue.enqueuePush(push);
    drain();
}

void WsConnection::handOverOutgoing()
{
    if (m_outgoing.isEmpty())
        return;
    // The peer may be gone already (the disconnect is handled a turn later): drop what was meant for it.
    if (!m_socket->isOpen()) {
        m_outgoing.clear();
        return;
    }
    m_socket->write(m_outgoing);
    m_outgoing.clear();
}

void WsConnection::flushSocket()
{
    handOverOutgoing();
    if (m_socket->state() == QAbstractSocket::ConnectedState || m_socket->state() == QAbstractSocket::ClosingState)
        m_socket->flush();
}

void WsConnection::onReadyRead()
{
    const QByteArray bytes = m_socket->readAll();
    if (bytes.isEmpty() || m_state == State::Closed)
        return;
    noteActivity(); // any bytes, a pong or a part of a long frame, show the peer is alive
    m_batch->open();
    if (m_state == State::Handshaking)
        readHandshake(bytes);
    else
        m_reader.append(bytes);
    readMessages();
    m_batch->close();
}

void WsConnection::readHandshake(const QByteArray& bytes)
{
    m_handshakeBytes.append(bytes);
    const WsHandshake handshake = readUpgradeRequest(m_handshakeBytes);
    switch (handshake.status) {
    case WsHandshake::Status::NeedMore:
        return;
    case WsHandshake::Status::Refused:
        qCInfo(lcWebSocket, "%s: WebSocket handshake refused: %s", qPrintable(describe(m_peer)),
            qPrintable(handshake.refusal));
        m_state = State::Closed;
        m_handshakeTimer.stop();
        m_socket->write(handshake.response);
        m_socket->disconnectFromHost(); // after the answer is sent
        m_handshakeBytes.clear();
        return;
    case WsHandshake::Status::Accepted:
        break;
    }
    m_handshakeTimer.stop();
    m_outgoing.append(handshake.response);
    m_batch->wrote(this);
    m_reader.append(QByteArrayView(m_handshakeBytes).sliced(handshake.requestBytes));
    m_handshakeBytes = QByteArray();
    m_state = State::Open;
    m_session = m_handler->openSession(m_peer, this);
    m_sessionOpen = true;
    qCInfo(lcWebSocket, "session %llu: opened for %s", m_session, qPrintable(describe(m_peer)));
    if (m_settings.pingIntervalMs > 0)
        m_pingTimer.start();
    if (m_settings.idleTimeoutMs > 0)
        m_idleTimer.start(m_settings.idleTimeoutMs);
    if (m_callbacks.opened)
        m_callbacks.opened();
}

void WsConnection::readMessages()
{
    WsMessage message;
    while (m_state == State::Open || m_state == State::Closing) {
        switch (m_reader.next(message)) {
        case WsFrameReader::Status::NeedMore:
            return;
        case WsFrameReader::Status::Failed:
            // Failing the connection (RFC 6455 section 7.1.7): the close frame, then the TCP side at once,
            // without waiting for an answer from a peer that broke the protocol.
            if (m_state == State::Open)
                close(m_reader.failure().closeCode, m_reader.failure().reason);
            m_state = State::Closed;
            m_closeTimer.stop();
            handOverOutgoing();
            m_socket->disconnectFromHost(); // after the close frame is sent
            return;
        case WsFrameReader::Status::Message:
            onMessage(message);
            break;
        }
    }
}

void WsConnection::onMessage(WsMessage& message)
{
    if (message.opcode == WsOpcode::Close) {
        onPeerClose(message.payload);
        return;
    }
    // After this side sent its close frame only the peer's close matters (RFC 6455 section 5.5.1).
    if (m_state != State::Open)
        return;
    switch (message.opcode) {
    case WsOpcode::Text:
        m_handler->handleFrame(m_session, message.payload);
        break;
    case WsOpcode::Binary: {
        protocol::Error error;
        error.code = protocol::ErrorCode::InvalidRequest;
        error.message = QStringLiteral("binary frames are not accepted: send JSON in text frames");
        sendReply(protocol::encodeError(std::nullopt, error));
        break;
    }
    case WsOpcode::Ping:
        writeFrame(WsOpcode::Pong, message.payload);
        break;
    case WsOpcode::Pong:
    case WsOpcode::Close:
    case WsOpcode::Continuation:
        break;
    }
}

void WsConnection::onPeerClose(const QByteArray& payload)
{
    if (m_state == State::Open) {
        // The peer began: answer with its code, as RFC 6455 section 5.5.1 asks, then end the TCP side.
        m_closeCode = wsCloseCode(payload);
        m_closeReason = wsCloseReason(payload);
        stopTimers();
        m_state = State::Closing;
        const quint16 echoed = m_closeCode == ws_close::kNoStatus ? ws_close::kNormal : m_closeCode;
        m_outgoing.append(encodeWsClose(echoed, {}));
    }
    m_state = State::Closed;
    m_closeTimer.stop();
    handOverOutgoing();
    m_socket->disconnectFromHost(); // sends what is buffered first
}

void WsConnection::onDisconnected()
{
    stopTimers();
    m_handshakeTimer.stop();
    m_closeTimer.stop();
    m_batch->forget(this);
    const bool wasOpen = m_sessionOpen;
    if (wasOpen) {
        if (m_closeCode != ws_close::kNoStatus)
            qCInfo(lcWebSocket, "session %llu: %s disconnected (close code %d%s%s)", m_session,
                qPrintable(describe(m_peer)), int(m_closeCode), m_closeReason.isEmpty() ? "" : ": ",
                qPrintable(m_closeReason));
        else
            qCInfo(lcWebSocket, "session %llu: %s went away without a close frame", m_session,
                qPrintable(describe(m_peer)));
    }
    m_state = State::Closed;
    endSession();
    if (m_callbacks.finished)
        m_callbacks.finished();
}

void WsConnection::onIdleCheck()
{
    const qint64 idleMs = m_clock.elapsed() - m_lastActivityMs;
    if (idleMs >= m_settings.idleTimeoutMs) {
        close(ws_close::kGoingAway, QStringLiteral("idle"));
        return;
    }
    m_idleTimer.start(int(m_settings.idleTimeoutMs - idleMs));
}

void WsConnection::writeFrame(WsOpcode opcode, QByteArrayView payload)
{
    // Frames collect in m_outgoing until the flush: one socket write per turn, not two per frame.
    char header[10];
    m_outgoing.append(header, wsFrameHeader(opcode, quint64(payload.size()), header));
    m_outgoing.append(payload);
    m_batch->wrote(this);
}

void WsConnection::drain()
{
    if (m_state != State::Open)
        return;
    if (!m_queue.isEmpty()) {
        for (const QByteArray& frame : m_queue.takeSendable(unsentBytes()))
            writeFrame(WsOpcode::Text, frame);
    }
    checkPressure();
}

void WsConnection::checkPressure()
{
    const bool wasOver = m_queue.overBoundSince().has_value();
    const qint64 nowMs = m_clock.elapsed();
    if (m_queue.overBoundTooLong(unsentBytes(), nowMs)) {
        qCWarning(lcWebSocket, "session %llu: %s stayed over its send bound for %lld ms (%lld pushes merged)",
            m_session, qPrintable(describe(m_peer)), nowMs - *m_queue.overBoundSince(), m_queue.coalescedTotal());
        close(ws_close::kPolicyViolated, QStringLiteral("too slow: send buffer over its bound"));
        return;
    }
    const std::optional<qint64> since = m_queue.overBoundSince();
    if (!since) {
        m_pressureTimer.stop();
        return;
    }
    if (!wasOver && !m_pressureSeen) {
        m_pressureSeen = true; // said once: a slow link crosses the bound back and forth
        qCInfo(lcWebSocket, "session %llu: %s is over its send bound; merging pushes", m_session,
            qPrintable(describe(m_peer)));
    }
    // Re-check when the grace runs out even if the socket stays silent.
    if (!m_pressureTimer.isActive())
        m_pressureTimer.start(int(*since + m_queue.options().graceMs - nowMs + 1));
}

void WsConnection::stopTimers()
{
    m_pingTimer.stop();
    m_idleTimer.stop();
    m_pressureTimer.stop();
}

qint64 WsConnection::unsentBytes() const
{
    qint64 bytes = m_outgoing.size() + m_socket->bytesToWrite();
    // TLS encrypts eagerly: what waits for the network sits in the encrypted buffer.
    if (m_tls)
        bytes += m_tls->encryptedBytesToWrite();
    return bytes;
}

void WsConnection::endSession()
{
    if (!m_sessionOpen)
        return;
    m_sessionOpen = false;
    m_handler->closeSession(m_session);
}

} // namespace commy::broker
