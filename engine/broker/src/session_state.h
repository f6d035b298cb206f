#pragma once

// What the broker knows about one connection: who it is (per tenant, a grant from a successful
// Authenticate) and what it follows (per service, a subscription with its own push sequence; and
// the services its monitoring Watch names).

#include "service_regions.h"

#include <commy/broker/scope.h>
#include <commy/broker/session_handler.h>
#include <commy/broker/store.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

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

// A Watch: the services it follows and what each looked like at the previous tick, so that a tick
// pushes only what changed.
struct WatchedProcess {
    std::uint64_t pid = 0;
    std::uint64_t startTime = 0; // with the pid, tells a reused slot from the same process
    QString name;
    protocol::Liveness liveness = protocol::Liveness::Alive;
};
struct WatchedService {
    ServiceKey key;
    std::optional<protocol::RegionStats> stats; // last pushed; none yet: the next tick pushes
    std::map<std::uint32_t, WatchedProcess> processes; // by slot
    std::set<std::pair<std::string, std::uint64_t>> roots; // name and block of every root
};
struct MonitorWatch {
    std::vector<WatchedService> targets;
    qint64 intervalMs = 0;
    qint64 dueMs = 0; // next tick, on the broker's monotonic clock
};

struct SessionState {
    SessionId id = 0;
    PeerInfo peer;
    SessionOutput* output = nullptr;
    QString clientName;
    std::map<Owner, Grant> grants; // key nullopt: the server-level grant
    std::map<ServiceKey, Subscription> subscriptions;
    std::optional<MonitorWatch> watch;
};

} // namespace commy::broker
