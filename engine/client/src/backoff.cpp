#include "backoff.h"

#include <algorithm>

namespace commy::client::detail {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds maximum) { setLimits(initial, maximum); }

void Backoff::setLimits(std::chrono::milliseconds initial, std::chrono::milliseconds maximum)
{
    m_initial = std::max(initial, std::chrono::milliseconds(1));
    m_maximum = std::max(maximum, m_initial);
}

std::chrono::milliseconds Backoff::next()
{
    qint64 base = m_initial.count();
    for (int i = 0; i < m_attempt && base < m_maximum.count(); ++i)
        base = std::min(base * 2, qint64(m_maximum.count()));
    m_attempt = std::min(m_attempt + 1, 64);
    const qint64 jitter = qint64(m_random.bounded(double(base) / 2.0));
    return std::chrono::milliseconds(base - jitter);
}

} // namespace commy::client::detail
