#pragma once

// What the broker knows about one connection: who it is (per tenant, a grant from a successful
// Authenticate) and what it follows (per service, a subscription with its own push sequence).

#include "service_regions.h"

#include <commy/broker/scope.h>
#include <commy/broker/session_handler.h>
#include <commy/broker/store.h>

#include <map>
#include <set>

namespace commy::broker {

struct Grant {
    QString token; // the session token issued (or presented) for this owner
    Scopes scopes;
    qint64 expiresAt = 0; // ms since the epoch
    QString actor; // who the audit log names: "key:<id>", "user:<name>" or "token"
};

struct Subscription {
    bool all = false; // every variable of the service, except `excluded`
    std::set<QString> included;
    std::set<QString> excluded;
    qint64 seq = 0; // of the last push sent

    bool matches(const QString& variable) const
    {
        return all ? excluded.count(variable) == 0 : included.count(variable) != 0;
    }
    bool empty() const { return !all && included.empty(); }
};

struct SessionState {
    SessionId id = 0;
    PeerInfo peer;
    SessionOutput* output = nullptr;
    QString clientName;
    std::map<Owner, Grant> grants; // key nullopt: the server-level grant
    std::map<ServiceKey, Subscription> subscriptions;
};

} // namespace commy::broker
