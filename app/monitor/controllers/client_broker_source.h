#pragma once

// A BrokerSource over a real BrokerClient: authenticates with the key on every fresh connection
// (BrokerClient itself restores an authenticated session after a reconnect), maps the client's states
// and errors to ConnectionStatus, measures the round trip with a Heartbeat every 2 s, and sends the
// last Watch again after a reconnect (BrokerClient restores subscriptions, not a Watch).

#include "broker_source.h"

#include <commy/client/broker_client.h>

#include <QElapsedTimer>
#include <QTimer>

#include <memory>
#include <optional>

namespace commy::monitor {

class ClientBrokerSource : public BrokerSource {
    Q_OBJECT

public:
    static constexpr int kHeartbeatIntervalMs = 2000;

    explicit ClientBrokerSource(QObject* parent = nullptr);
    explicit ClientBrokerSource(client::BrokerClient::Options options, QObject* parent = nullptr);
    ~ClientBrokerSource() override;

    void open(const QUrl& url, const QString& key) override;
    void close() override;
    void send(protocol::Request request, Callback done) override;

    ConnectionStatus status() const;

private:
    void setStatus(ConnectionStatus status, const QString& detail);
    void onClientState(client::BrokerClient::State state);
    void onClientConnected();
    void onClientError(const QString& message);
    void authenticate();
    void sendHeartbeat();
    // Stops for good (no reconnect): the key or the certificate was refused.
    void giveUp(ConnectionStatus status, const QString& detail);

    client::BrokerClient::Options m_options;
    std::unique_ptr<client::BrokerClient> m_client;
    QString m_key;
    ConnectionStatus m_status = ConnectionStatus::Disconnected;
    QString m_lastError; // the client's latest error: the detail of Reconnecting and Disconnected
    QString m_lastStatusDetail;
    bool m_authenticated = false;
    std::optional<protocol::Watch> m_watch; // the last Watch the broker accepted
    QTimer m_heartbeat;
    bool m_heartbeatInFlight = false;
    quint64 m_epoch = 0; // bumped by open() and close(): callbacks of an older epoch are dropped
};

} // namespace commy::monitor
