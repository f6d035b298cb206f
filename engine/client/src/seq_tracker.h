#pragma once

// Per subscription (tenant, service): the seq of the last push, to spot gaps; per variable: the
// version last delivered, so that a resync emits only what is newer and a push already delivered by a
// resync is not delivered twice.

#include <commy/protocol/messages.h>

#include <QHash>
#include <QString>

namespace commy::client::detail {

class SeqTracker {
public:
    enum class Verdict { InOrder, Gap };

    // A push for (tenant, service): a Gap when its seq does not follow the previous push's, or when
    // the broker says it coalesced. The first push after restart() sets the baseline.
    Verdict observe(const protocol::VariableChanged& push);
    // A new subscription: the broker's seq numbering may start anywhere.
    void restart(const QString& tenant, const QString& service);

    // A push repeats what was delivered when its version is the one delivered last (a resync read
    // may have delivered it first). A lower version is delivered: the variable was re-created.
    bool isRepeat(const protocol::VariableChanged& push) const;
    // A resync's read: newer than what was delivered, or nothing was.
    bool isNewer(const QString& tenant, const QString& service, const QString& variable, qint64 version) const;
    void delivered(const protocol::VariableChanged& change);

    void clear();

private:
    static QString subscriptionKey(const QString& tenant, const QString& service);
    static QString variableKey(const QString& tenant, const QString& service, const QString& variable);

    QHash<QString, qint64> m_lastSeq;
    QHash<QString, qint64> m_lastVersion;
};

} // namespace commy::client::detail
