#pragma once

// Counts failed authentications per peer address. After `maxFailures` within `windowMs` the peer
// is refused (RATE_LIMITED) until the oldest of those failures leaves the window; successes do not
// reset the count, so guessing cannot be interleaved with one good credential.

#include <QHash>
#include <QString>

#include <deque>

namespace commy::broker {

class AuthThrottle {
public:
    AuthThrottle(int maxFailures, qint64 windowMs);
    // Milliseconds until `peer` may try again; 0 when it may try now.
    qint64 retryAfterMs(const QString& peer, qint64 now);
    void recordFailure(const QString& peer, qint64 now);

private:
    void prune(std::deque<qint64>& failures, qint64 now) const;

    int m_maxFailures;
    qint64 m_windowMs;
    QHash<QString, std::deque<qint64>> m_failures;
};

} // namespace commy::broker
