#pragma once

// The monitor's seam to one broker: requests with callbacks, pushes as signals, and the connection's
// status. ClientBrokerSource is the real one (a BrokerClient); tests script a fake.

#include "connection_status.h"

#include <commy/client/broker_client.h> // the push types' metatypes
#include <commy/protocol/messages.h>
#include <commy/shm/expected.h>

#include <QObject>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <functional>
#include <optional>

namespace commy::monitor {

class BrokerSource : public QObject {
    Q_OBJECT

public:
    using Reply = commy::Expected<protocol::ResultData, protocol::Error>;
    using Callback = std::function<void(const Reply&)>;

    explicit BrokerSource(QObject* parent = nullptr);
    ~BrokerSource() override;

    // Connects to `url` and authenticates with `key`: "<tenant>:<key>" for a tenant's key, a plain
    // key for a server-level one (server_admin). Progress and the outcome come as statusChanged().
    virtual void open(const QUrl& url, const QString& key) = 0;
    virtual void close() = 0;
    // Calls `done` exactly once, never from inside send(). A source that is closed or destroyed first
    // drops the callback.
    virtual void send(protocol::Request request, Callback done) = 0;

    // What the broker granted at authentication ("server_admin", or per-tenant scopes such as "read",
    // "admin") and the tenant of a tenant key (empty for a server-level key). Valid while Connected.
    QStringList scopes() const;
    QString keyTenant() const;
    // Whether the grant covers `scope` ("admin", "read", "subscribe", ...) on `tenant`: server_admin
    // covers every scope on every tenant.
    bool allows(const QString& scope, const QString& tenant) const;
    bool isServerAdmin() const;

    // Splits "<tenant>:<key>" (a tenant name before the first colon) from a plain server-level key.
    struct KeyParts {
        std::optional<QString> tenant;
        QString key;
    };
    static KeyParts splitKey(const QString& key);

signals:
    void statusChanged(commy::monitor::ConnectionStatus status, const QString& detail);
    // A Heartbeat's round trip, measured every couple of seconds while connected.
    void roundTrip(qint64 ms);
    void statsUpdated(const commy::protocol::StatsUpdate& update);
    void processEvent(const commy::protocol::ProcessEvent& event);
    void treeChanged(const commy::protocol::TreeChanged& change);
    void variableChanged(const commy::protocol::VariableChanged& change);

protected:
    void setGrant(const QStringList& scopes, const QString& tenant);

private:
    QStringList m_scopes;
    QString m_keyTenant;
};

} // namespace commy::monitor
