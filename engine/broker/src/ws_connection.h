#pragma once

// One upgraded WebSocket connection and its session: text frames go to the handler, replies and
// pushes come back through the outbound queue, and the connection watches its own health (pings,
// idle timeout, send pressure, a peer that never finishes closing).

#include "outbound_queue.h"

#include <commy/broker/session_handler.h>

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <QWebSocketProtocol>

#include <functional>

class QTcpSocket;
class QWebSocket;

namespace commy::broker {

struct ConnectionSettings {
    int idleTimeoutMs = 60'000; // 0: never
    int pingIntervalMs = 20'000; // 0: no pings
    int closeTimeoutMs = 5'000; // 0: wait for the peer forever
    OutboundQueueOptions queue;
};

class WsConnection final : public QObject, public SessionOutput {
public:
    struct Callbacks {
        std::function<void(int closeCode)> closing; // the server began closing the connection
        std::function<void()> finished; // the peer is gone and the session closed; delete later
    };

    // Takes `socket` as a child. `transport` is the TCP (or TLS) socket under it, used to measure
    // unsent bytes; it belongs to whoever accepted it.
    WsConnection(QWebSocket* socket, QTcpSocket* transport, SessionHandler* handler, ConnectionSettings settings,
        QObject* parent = nullptr);
    ~WsConnection() override;

    // Opens the session and starts serving.
    void start(Callbacks callbacks);
    SessionId session() const { return m_session; }
    const PeerInfo& peer() const { return m_peer; }

    // Sends a close frame; the session ends when the peer answers or closeTimeoutMs passes.
    void close(QWebSocketProtocol::CloseCode code, const QString& reason);
    // Drops the socket without a close handshake and closes the session now, without callbacks.
    void abortNow();

    void sendReply(const QByteArray& frame) override;
    void sendPush(const protocol::VariableChanged& push) override;
    qint64 queuedBytes() const override { return unsentBytes() + m_queue.waitingBytes(); }

private:
    void onTextMessage(const QString& message);
    void onBinaryMessage();
    void onClosingStarted();
    void onDisconnected();
    void onIdleCheck();
    void noteActivity() { m_lastActivityMs = m_clock.elapsed(); }
    void drain();
    void checkPressure();
    qint64 unsentBytes() const;
    void endSession();

    QWebSocket* m_socket;
    QPointer<QTcpSocket> m_transport;
    SessionHandler* m_handler;
    ConnectionSettings m_settings;
    OutboundQueue m_queue;
    Callbacks m_callbacks;
    PeerInfo m_peer;
    SessionId m_session = 0;
    bool m_sessionOpen = false;
    bool m_closing = false;
    bool m_pressureSeen = false;
    QElapsedTimer m_clock;
    qint64 m_lastActivityMs = 0;
    QTimer m_pingTimer;
    QTimer m_idleTimer;
    QTimer m_pressureTimer;
    QTimer m_closeTimer;
};

} // namespace commy::broker
