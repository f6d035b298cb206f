#pragma once

// What a reconnect must restore: the authentications that succeeded (per tenant, and the
// server-level one) with the token each was issued, and the subscriptions in force.

#include <commy/protocol/messages.h>

#include "pending_requests.h"

#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace commy::client::detail {

struct Subscription {
    QString tenant;
    QString service;
    bool wholeService = false;
    std::set<QString> variables; // when not wholeService
    std::set<QString> excluded; // unsubscribed from a whole-service subscription
};

// One re-authentication: the token while it is valid, else the original credential.
struct Reauthentication {
    protocol::Authenticate request;
    bool withToken = false;
};

class SessionMemory {
public:
    // A successful reply to a request the user sent: Authenticate, RefreshToken, Logout, Subscribe
    // and Unsubscribe change what is remembered; other requests do not.
    void record(const protocol::Request& request, const protocol::ResultData& result, Clock::time_point now);

    std::vector<Reauthentication> reauthentications(Clock::time_point now) const;
    // The Authenticate the user sent for this tenant (server-level: nullopt).
    std::optional<protocol::Authenticate> original(const std::optional<QString>& tenant) const;
    void updateToken(
        const std::optional<QString>& tenant, const protocol::AuthenticateResult& result, Clock::time_point now);
    // Forgets the authentication for the tenant and the tenant's subscriptions.
    void forgetTenant(const std::optional<QString>& tenant);

    std::vector<Subscription> subscriptions() const;
    const Subscription* subscription(const QString& tenant, const QString& service) const;
    void forgetSubscription(const QString& tenant, const QString& service);

    bool empty() const { return m_auths.empty() && m_subscriptions.empty(); }
    void clear();

private:
    struct Auth {
        protocol::Authenticate original;
        QString token;
        Clock::time_point tokenExpires;
    };
    // Tenant names are never empty: the empty key is the server-level authentication.
    static QString authKey(const std::optional<QString>& tenant) { return tenant.value_or(QString()); }

    void subscribe(const protocol::Subscribe& request);
    void unsubscribe(const protocol::Unsubscribe& request);

    std::map<QString, Auth> m_auths;
    std::map<std::pair<QString, QString>, Subscription> m_subscriptions;
};

} // namespace commy::client::detail
