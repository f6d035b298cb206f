#pragma once

// One accepted TCP (or TLS) connection speaking WebSocket, and its session: it answers the opening
// handshake, hands text messages to the handler, sends replies and pushes through the outbound
// queue, and watches its own health (handshake time, pings, idle timeout, send pressure, a peer that
// never finishes closing). The framing is ws_frames.h; nothing here waits for a frame to complete on
// a timer of its own: a peer that stops mid-frame is idle, and the idle timeout decides.

#include "outbound_queue.h"
#include "ws_frames.h"

#include <commy/broker/session_handler.h>

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <functional>

class QSslSocket;
class QTcpSocket;

namespace commy::broker {

class WsSendBatch;

struct ConnectionSettings {
    qint64 maxMessageBytes = 1 << 20; // a longer message or frame closes with 1009
    int handshakeTimeoutMs = 10'000;
    int idleTimeoutMs = 60'000; // 0: never
    int pingIntervalMs = 20'000; // 0: no pings
    int closeTimeoutMs = 5'000; // 0: wait for the peer forever
    OutboundQueueOptions queue;
};

class WsConnection final : public QObject, public SessionOutput {
public:
    struct Callbacks {
        std::function<void()> opened; // the handshake is done and the session open
        std::function<void(int closeCode)> closing; // the server began closing the connection
        std::function<void()> finished; // the peer is gone (and the session closed); delete later
    };

    // Takes `socket` as a child; `batch` must outlive the connection.
    WsConnection(QTcpSocket* socket, SessionHandler* handler, ConnectionSettings settings, WsSendBatch* batch,
        QObject* parent = nullptr);
    ~WsConnection() override;

    // Starts reading the opening handshake.
    void start(Callbacks callbacks);
    bool isOpen() const { return m_sessionOpen; }
    SessionId session() const { return m_session; }
    const PeerInfo& peer() const { return m_peer; }

    // Sends a close frame; the connection ends when the peer answers or closeTimeoutMs passes. A
    // connection still in its handshake is dropped.
    void close(quint16 code, const QString& reason);
    // Drops the socket without a close handshake and closes the session now, without callbacks.
    void abortNow();

    void sendReply(const QByteArray& frame) override;
    using SessionOutput::sendPush;
    void sendPush(const protocol::VariableChanged& push, const protocol::PushEncoding& encoding) override;
    qint64 queuedBytes() const override { return unsentBytes() + m_queue.waitingBytes(); }

    // For WsSendBatch: hands what the socket buffered to the network.
    void flushSocket();
    bool flushPending() const { return m_flushPending; }
    void setFlushPending(bool pending) { m_flushPending = pending; }

private:
    enum class State { Handshaking, Open, Closing, Closed };

    void onReadyRead();
    void readHandshake(const QByteArray& bytes);
    void readMessages();
    void onMessage(WsMessage& message);
    void onPeerClose(const QByteArray& payload);
    void onDisconnected();
    void onIdleCheck();
    void noteActivity() { m_lastActivityMs = m_clock.elapsed(); }
    void writeFrame(WsOpcode opcode, QByteArrayView payload);
    void drain();
    void checkPressure();
    void stopTimers();
    qint64 unsentBytes() const;
    void endSession();

    void handOverOutgoing();

    QTcpSocket* m_socket;
    QSslSocket* m_tls; // m_socket when it is a TLS socket, else null
    QByteArray m_outgoing; // frames written since the last flush, handed to the socket in one write
    SessionHandler* m_handler;
    ConnectionSettings m_settings;
    WsSendBatch* m_batch;
    WsFrameReader m_reader;
    OutboundQueue m_queue;
    Callbacks m_callbacks;
    PeerInfo m_peer;
    State m_state = State::Handshaking;
    QByteArray m_handshakeBytes;
    SessionId m_session = 0;
    bool m_sessionOpen = false;
    bool m_pressureSeen = false;
    bool m_flushPending = false;
    quint16 m_closeCode = ws_close::kNoStatus; // the peer's, or else the one this side sent
    QString m_closeReason;
    QElapsedTimer m_clock;
    qint64 m_lastActivityMs = 0;
    QTimer m_handshakeTimer;
    QTimer m_pingTimer;
    QTimer m_idleTimer;
    QTimer m_pressureTimer;
    QTimer m_closeTimer;
};

} // namespace commy::broker
