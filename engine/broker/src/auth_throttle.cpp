#include "auth_throttle.h"

namespace commy::broker {

AuthThrottle::AuthThrottle(int maxFailures, qint64 windowMs)
    : m_maxFailures(maxFailures)
    , m_windowMs(windowMs)
{
}

void AuthThrottle::prune(std::deque<qint64>& failures, qint64 now) const
{
    while (!failures.empty() && failures.front() + m_windowMs <= now)
        failures.pop_front();
}

qint64 AuthThrottle::retryAfterMs(const QString& peer, qint64 now)
{
    auto it = m_failures.find(peer);
    if (it == m_failures.end())
        return 0;
    prune(*it, now);
    if (it->empty()) {
        m_failures.erase(it); // keeps the table as small as the set of recently failing peers
        return 0;
    }
    if (qsizetype(it->size()) < m_maxFailures)
        return 0;
    // The peer may try again once enough failures have aged out to leave it below the limit.
    const qint64 freedAt = (*it)[it->size() - std::size_t(m_maxFailures)] + m_windowMs;
    return qMax<qint64>(1, freedAt - now);
}

void AuthThrottle::recordFailure(const QString& peer, qint64 now)
{
    std::deque<qint64>& failures = m_failures[peer];
    prune(failures, now);
    failures.push_back(now);
}

} // namespace commy::broker
