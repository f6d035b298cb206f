#include "pending_requests.h"

#include <utility>

namespace commy::client::detail {

void PendingRequests::add(Pending pending)
{
    m_deadlines.emplace(pending.deadline, pending.id);
    const quint64 id = pending.id;
    m_byId.emplace(id, std::move(pending));
}

std::optional<Pending> PendingRequests::take(quint64 id)
{
    const auto it = m_byId.find(id);
    if (it == m_byId.end())
        return std::nullopt;
    auto [first, last] = m_deadlines.equal_range(it->second.deadline);
    for (; first != last; ++first) {
        if (first->second == id) {
            m_deadlines.erase(first);
            break;
        }
    }
    Pending pending = std::move(it->second);
    m_byId.erase(it);
    return pending;
}

std::vector<Pending> PendingRequests::takeAll(bool sentOnly)
{
    std::vector<quint64> ids;
    for (const auto& [id, pending] : m_byId) {
        if (pending.sent || !sentOnly)
            ids.push_back(id);
    }
    std::vector<Pending> taken;
    taken.reserve(ids.size());
    for (const quint64 id : ids)
        taken.push_back(*take(id));
    return taken;
}

std::vector<Pending> PendingRequests::takeExpired(Clock::time_point now)
{
    std::vector<quint64> ids;
    for (auto it = m_deadlines.begin(); it != m_deadlines.end() && it->first <= now; ++it)
        ids.push_back(it->second);
    std::vector<Pending> taken;
    taken.reserve(ids.size());
    for (const quint64 id : ids)
        taken.push_back(*take(id));
    return taken;
}

std::vector<quint64> PendingRequests::unsentIds() const
{
    std::vector<quint64> ids;
    for (const auto& [id, pending] : m_byId) {
        if (!pending.sent)
            ids.push_back(id);
    }
    return ids;
}

const Pending* PendingRequests::find(quint64 id) const
{
    const auto it = m_byId.find(id);
    return it == m_byId.end() ? nullptr : &it->second;
}

void PendingRequests::markSent(quint64 id, quint64 generation)
{
    const auto it = m_byId.find(id);
    if (it != m_byId.end()) {
        it->second.sent = true;
        it->second.generation = generation;
    }
}

std::optional<Clock::time_point> PendingRequests::nextDeadline() const
{
    if (m_deadlines.empty())
        return std::nullopt;
    return m_deadlines.begin()->first;
}

} // namespace commy::client::detail
