#pragma once

// Requests waiting for their reply (or, while a connection is being restored, to be sent), by id,
// with their deadlines. Ids grow with every request, so iterating in id order is sending order.

#include <commy/client/broker_client.h>

#include <chrono>
#include <map>
#include <optional>
#include <vector>

namespace commy::client::detail {

using Clock = std::chrono::steady_clock;

struct Pending {
    quint64 id = 0;
    protocol::Request request;
    BrokerClient::Callback callback;
    bool fromUser = false; // its success is remembered for reconnects
    bool sent = false;
    quint64 generation = 0; // the connection it was sent on
    Clock::time_point deadline;
};

class PendingRequests {
public:
    void add(Pending pending);
    std::optional<Pending> take(quint64 id);
    // Every request already sent (sentOnly), or every request.
    std::vector<Pending> takeAll(bool sentOnly);
    std::vector<Pending> takeExpired(Clock::time_point now);
    std::vector<quint64> unsentIds() const;
    const Pending* find(quint64 id) const;
    void markSent(quint64 id, quint64 generation);
    std::optional<Clock::time_point> nextDeadline() const;
    std::size_t size() const { return m_byId.size(); }

private:
    std::map<quint64, Pending> m_byId;
    std::multimap<Clock::time_point, quint64> m_deadlines;
};

} // namespace commy::client::detail
