#pragma once

// A blocking wrapper over BrokerClient for one-shot commands: connect, authenticate once, then run
// requests one after another, each waiting in a local event loop for its reply.

#include <commy/client/broker_client.h>
#include <commy/protocol/messages.h>

#include <QString>
#include <QUrl>

#include <memory>
#include <optional>

namespace commy::ctl {

struct RemoteOptions {
    QUrl url;
    QString key;
    std::optional<QString> keyTenant; // the tenant the key belongs to; nullopt: a server key
    QString caCertificateFile; // PEM; trusted in addition to the system's CAs (wss)
    bool insecure = false; // accept any certificate (testing against a self-signed broker)
    int timeoutMs = 30000;
};

class RemoteSession {
public:
    // Connects and authenticates; on failure returns a message for the user.
    static Expected<std::unique_ptr<RemoteSession>, QString> open(const RemoteOptions& options);

    client::BrokerClient::Reply call(protocol::Request request);
    client::BrokerClient& client() { return m_client; }

private:
    explicit RemoteSession(client::BrokerClient::Options options);
    client::BrokerClient m_client;
};

// "PERMISSION_DENIED: this request needs the admin scope"
QString describe(const protocol::Error& error);

} // namespace commy::ctl
