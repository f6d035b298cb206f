#pragma once

// Reconnect delays: doubling from an initial delay up to a maximum, each with a random part of up to
// half removed, so that clients dropped together do not all come back at the same moment.

#include <QRandomGenerator>

#include <chrono>

namespace commy::client::detail {

class Backoff {
public:
    Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds maximum);

    void setLimits(std::chrono::milliseconds initial, std::chrono::milliseconds maximum);
    // The delay before the next attempt; each call doubles the base until reset().
    std::chrono::milliseconds next();
    void reset() { m_attempt = 0; }

private:
    std::chrono::milliseconds m_initial;
    std::chrono::milliseconds m_maximum;
    int m_attempt = 0;
    QRandomGenerator m_random { QRandomGenerator::securelySeeded() };
};

} // namespace commy::client::detail
