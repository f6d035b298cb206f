#pragma once

// BrokerClient: one WebSocket connection to a broker (ws:// or wss://), typed requests matched to
// their replies by id, pushes as signals, and a session that survives reconnects: successful
// authentications and subscriptions are replayed on a new connection, and updates missed while away
// or dropped by the broker (a seq gap) are recovered by reading the subscribed variables.

#include <commy/protocol/messages.h>
#include <commy/shm/expected.h>

#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QSet>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QString>
#include <QUrl>

#include <chrono>
#include <functional>
#include <memory>
#include <utility>

QT_BEGIN_NAMESPACE
class QTimer;
class QWebSocket;
QT_END_NAMESPACE

namespace commy::client {

namespace detail {
class Backoff;
class PendingRequests;
class SeqTracker;
class SessionMemory;
} // namespace detail

class BrokerClient : public QObject {
    Q_OBJECT

public:
    enum class State {
        Disconnected, // not opened, closed, or gave up (autoReconnect off)
        Connecting, // the first connection of open()
        Connected, // requests flow; after a reconnect, only once the session is restored
        Reconnecting, // waiting for the next attempt, or restoring the session on a new connection
    };
    Q_ENUM(State)

    struct Options {
        // Base TLS settings for wss://; caCertificates are trusted in addition to its CAs.
        QSslConfiguration sslConfiguration = QSslConfiguration::defaultConfiguration();
        QList<QSslCertificate> caCertificates;
        bool ignoreSslErrors = false; // tests only: accepts any certificate
        bool autoReconnect = true;
        // Delay before reconnect attempt n: initialBackoff * 2^n, at most maxBackoff, then a random
        // part of it removed (up to half) so that many clients do not come back in lockstep.
        std::chrono::milliseconds initialBackoff { 200 };
        std::chrono::milliseconds maxBackoff { 10000 };
        std::chrono::milliseconds connectTimeout { 10000 }; // TCP + TLS + WebSocket handshake
        std::chrono::milliseconds requestTimeout { 30000 };
        qint64 maxIncomingMessageSize = qint64(64) << 20;
    };

    // A request's outcome: its result payload (the ResultData alternative the request type
    // produces, see protocol::ResultOfT) or the broker's error. Failures of the connection itself
    // are errors too: TIMEOUT when no reply came in time, INTERNAL_ERROR when the connection closed
    // first or the reply was malformed.
    using Reply = Expected<protocol::ResultData, protocol::Error>;
    using Callback = std::function<void(const Reply&)>;

    // The seq of a variableChanged() that comes from a resync read rather than from a push.
    static constexpr qint64 kResyncSeq = -1;

    explicit BrokerClient(QObject* parent = nullptr);
    explicit BrokerClient(Options options, QObject* parent = nullptr);
    // Pending callbacks are dropped without being called: they may refer to objects already gone.
    ~BrokerClient() override;

    const Options& options() const;
    void setOptions(Options options); // applies from the next connection attempt

    // Connects to `url` (ws:// or wss://). Another scheme: errorOccurred, and the state stays
    // Disconnected. Opening again while open starts over with the new URL and a fresh session.
    void open(const QUrl& url);
    // Closes the connection and forgets the session; pending requests complete with an error.
    void close();

    State state() const;
    QUrl url() const;
    QString errorString() const;

    // Sends `request` and calls `callback` once with its reply, never from inside send(). While a
    // connection is being (re)established the request waits and goes out once the session is
    // restored; its timeout runs from now. Returns the request's id. Successful Authenticate,
    // RefreshToken, Logout, Subscribe and Unsubscribe requests are remembered for reconnects.
    quint64 send(protocol::Request request, Callback callback = {});

    // send() with the payload already unpacked: the callback gets Expected<ResultOfT<R>, Error>.
    template <class R, class F> quint64 request(R message, F&& callback);

signals:
    void stateChanged(commy::client::BrokerClient::State state);
    // The state became Connected: requests flow (after a reconnect, the session is restored).
    void connected();
    // A Connected connection is gone, closed by either side or lost.
    void disconnected();
    // After a reconnect, once the remembered authentications and subscriptions are restored
    // (emitted just before connected()). What could not be restored was reported by errorOccurred.
    void resubscribed();
    void errorOccurred(const QString& message);
    // A push, or a newer value found by a resync.
    void variableChanged(const commy::protocol::VariableChanged& change);
    // Updates of a subscription were missed (a seq gap or a coalesced push): a resync follows.
    void gapDetected(const QString& tenant, const QString& service);
    // Monitoring pushes of a Watch (sent with send()/request()); a reconnect does not restore a
    // Watch: send it again on connected().
    void statsUpdated(const commy::protocol::StatsUpdate& update);
    void processEvent(const commy::protocol::ProcessEvent& event);
    void treeChanged(const commy::protocol::TreeChanged& change);

private:
    class HandlerScope;

    // Both emit a signal; false when a slot deleted the client, so the caller must return at once.
    bool setState(State state);
    bool fail(const QString& message);

    // The connection (broker_client.cpp).
    void startAttempt();
    void dropSocket();
    void onSocketConnected();
    void onSocketDisconnected();
    void connectionLost();
    void becomeConnected(bool restored);

    // Requests and replies (broker_client.cpp).
    quint64 sendInternal(protocol::Request request, Callback callback);
    void transmit(quint64 id, const protocol::Request& request);
    quint64 enqueue(protocol::Request request, Callback callback, bool fromUser);
    void armTimeout(std::chrono::steady_clock::time_point deadline);
    void expireRequests();
    void completeAll(const QString& message, bool sentOnly);
    void onTextMessage(const QString& message);
    void dispatchResult(quint64 id, const QJsonObject& data);
    void remember(const protocol::Request& request, const protocol::ResultData& result);
    void onPush(const protocol::VariableChanged& push);
    void deliver(const protocol::VariableChanged& change);

    // Restoring the session on a new connection, and resyncs (recovery.cpp).
    void restoreSession();
    void reauthenticate(const protocol::Authenticate& attempt, bool withToken, const std::shared_ptr<int>& remaining);
    void resubscribe();
    void resync(const QString& tenant, const QString& service);
    void readForResync(
        const QString& tenant, const QString& service, const QString& variable, const std::shared_ptr<int>& remaining);
    void finishResyncStep(const QString& tenant, const QString& service, const std::shared_ptr<int>& remaining);

    Options m_options;
    QUrl m_url;
    State m_state = State::Disconnected;
    QString m_errorString;
    bool m_errorReported = false; // for the current connection attempt
    quint64 m_nextId = 1;
    // Bumped whenever a connection ends: internal replies from an older one are ignored.
    quint64 m_generation = 0;
    bool m_restoring = false;
    int m_handlerDepth = 0;
    QWebSocket* m_socket = nullptr;
    std::unique_ptr<detail::Backoff> m_backoff;
    std::unique_ptr<detail::PendingRequests> m_pending;
    std::unique_ptr<detail::SessionMemory> m_memory;
    std::unique_ptr<detail::SeqTracker> m_seq;
    QTimer* m_reconnectTimer;
    QTimer* m_connectTimer;
    QTimer* m_timeoutTimer;
    std::chrono::steady_clock::time_point m_armedDeadline;
    QSet<QString> m_resyncing; // "tenant/service" with a resync under way
    QSet<QString> m_resyncAgain; // ... and another gap seen meanwhile
};

template <class R, class F> quint64 BrokerClient::request(R message, F&& callback)
{
    using Payload = protocol::ResultOfT<R>;
    return send(protocol::Request(std::move(message)), [callback = std::forward<F>(callback)](const Reply& reply) {
        if (!reply)
            callback(Expected<Payload, protocol::Error>(unexpected(reply.error())));
        else
            callback(Expected<Payload, protocol::Error>(std::get<Payload>(*reply)));
    });
}

} // namespace commy::client

// The push signals carry these: QSignalSpy, queued connections and QVariant need the metatypes.
Q_DECLARE_METATYPE(commy::protocol::VariableChanged)
Q_DECLARE_METATYPE(commy::protocol::StatsUpdate)
Q_DECLARE_METATYPE(commy::protocol::ProcessEvent)
Q_DECLARE_METATYPE(commy::protocol::TreeChanged)
