#include "seq_tracker.h"

namespace commy::client::detail {

// Names never contain '/', so the joined keys are unambiguous.
QString SeqTracker::subscriptionKey(const QString& tenant, const QString& service)
{
    return tenant + QLatin1Char('/') + service;
}

QString SeqTracker::variableKey(const QString& tenant, const QString& service, const QString& variable)
{
    return tenant + QLatin1Char('/') + service + QLatin1Char('/') + variable;
}

SeqTracker::Verdict SeqTracker::observe(const protocol::VariableChanged& push)
{
    const QString key = subscriptionKey(push.tenant, push.service);
    const auto previous = m_lastSeq.constFind(key);
    const bool gap = push.coalesced || (previous != m_lastSeq.constEnd() && push.seq != *previous + 1);
    m_lastSeq.insert(key, push.seq);
    return gap ? Verdict::Gap : Verdict::InOrder;
}

void SeqTracker::restart(const QString& tenant, const QString& service)
{
    m_lastSeq.remove(subscriptionKey(tenant, service));
}

bool SeqTracker::isRepeat(const protocol::VariableChanged& push) const
{
    const auto last = m_lastVersion.constFind(variableKey(push.tenant, push.service, push.variable));
    return last != m_lastVersion.constEnd() && *last == push.version;
}

bool SeqTracker::isNewer(const QString& tenant, const QString& service, const QString& variable, qint64 version) const
{
    const auto last = m_lastVersion.constFind(variableKey(tenant, service, variable));
    return last == m_lastVersion.constEnd() || version > *last;
}

void SeqTracker::delivered(const protocol::VariableChanged& change)
{
    m_lastVersion.insert(variableKey(change.tenant, change.service, change.variable), change.version);
}

void SeqTracker::clear()
{
    m_lastSeq.clear();
    m_lastVersion.clear();
}

} // namespace commy::client::detail
