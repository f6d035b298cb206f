#pragma once

// Serves a SessionHandler (the Broker) over WebSocket, plain (ws) or TLS (wss). One session per
// connection; text frames go to the handler, its replies and pushes go back through a bounded send
// buffer (a slow subscriber gets merged pushes and is closed with 1008 if it stays over the bound).
// Binary frames are answered with INVALID_REQUEST; a message over the size limit closes with 1009;
// a peer silent for the idle timeout (no frame, no pong to the server's pings) is closed with 1001.
//
// The handler must outlive the server. Everything runs on the thread that created the server.

#include <commy/broker/session_handler.h>
#include <commy/shm/expected.h>

#include <QHostAddress>
#include <QObject>
#include <QString>
#include <QUrl>

#include <memory>

namespace commy::broker {

struct WebSocketServerOptions {
    QHostAddress host = QHostAddress(QHostAddress::LocalHost);
    quint16 port = 0; // 0: any free port
    // Both set: wss with this PEM certificate (chain) and unencrypted PEM private key (RSA or EC).
    QString tlsCertificateFile;
    QString tlsKeyFile;
    qint64 maxMessageBytes = 1 << 20; // a larger incoming message or frame closes with 1009
    int handshakeTimeoutMs = 10'000;
    int idleTimeoutMs = 60'000; // 0: never
    int pingIntervalMs = 20'000; // 0: no pings
    qint64 sendBufferBytes = 1 << 20; // unsent bytes per connection before pushes are merged
    int sendGraceMs = 5'000; // how long a connection may stay over that bound before 1008
    int closeTimeoutMs = 5'000; // how long a closing peer has before the connection is dropped
};

class WebSocketServer : public QObject {
    Q_OBJECT
public:
    explicit WebSocketServer(SessionHandler* handler, WebSocketServerOptions options = {}, QObject* parent = nullptr);
    ~WebSocketServer() override; // drops every connection and closes its session

    // Loads the TLS files (if any) and starts listening.
    Expected<void, QString> listen();
    bool isListening() const;
    bool isSecure() const;
    quint16 port() const; // the port listened on (the chosen one when the options said 0)
    QUrl url() const; // ws://HOST:PORT or wss://HOST:PORT; empty when not listening

    // Stops listening and closes every connection with close code `code` (1001: going away); sessions
    // end as the peers go.
    void close(quint16 code = 1001, const QString& reason = {});
    int sessionCount() const;

Q_SIGNALS:
    void sessionOpened(commy::broker::SessionId session);
    // The server started closing a connection (the peer has closeTimeoutMs to answer).
    void sessionClosing(commy::broker::SessionId session, int closeCode);
    void sessionClosed(commy::broker::SessionId session);

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace commy::broker
