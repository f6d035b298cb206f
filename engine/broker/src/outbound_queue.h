#pragma once

// A session's send buffer, without a socket. Frames pass straight through while the socket holds no
// more than a bound of unsent bytes; beyond it they wait here in order. Replies always wait (never
// dropped); a waiting push is replaced by a newer push for the same variable, so a slow subscriber
// gets the latest value of each variable instead of an unbounded backlog. A session that stays over
// the bound for longer than a grace period is reported, and the transport disconnects it.
//
// Seq per subscription (tenant, service) stays increasing on the wire: a replacing push goes to the
// back of the queue, and the first push of that subscription sent after a dropped one carries
// `coalesced = true` (that is where the client sees the gap).

#include <commy/protocol/messages.h>

#include <QByteArray>
#include <QHash>
#include <QString>

#include <list>
#include <optional>
#include <variant>
#include <vector>

namespace commy::broker {

struct OutboundQueueOptions {
    qint64 boundBytes = 1 << 20; // unsent bytes the socket may hold before pushes are merged
    qint64 graceMs = 5000; // how long a session may stay over the bound
};

class OutboundQueue {
public:
    explicit OutboundQueue(OutboundQueueOptions options = {});

    void enqueueReply(QByteArray frame);
    // True when it replaced a waiting push for the same variable.
    bool enqueuePush(protocol::VariableChanged push);

    // The frames to hand to the socket now, oldest first: frames are taken while the socket's unsent
    // bytes (counting the frames taken) are within the bound, so one frame may cross it.
    std::vector<QByteArray> takeSendable(qint64 socketUnsentBytes);

    // Records the pressure at `nowMs` (the session is over the bound when the socket is, or frames are
    // waiting here). True once it has been over continuously for longer than the grace period.
    bool overBoundTooLong(qint64 socketUnsentBytes, qint64 nowMs);
    // Since when the session has been over the bound, as last observed.
    std::optional<qint64> overBoundSince() const { return m_overSince; }

    // True when a new frame may go straight to the socket, skipping the queue: nothing waits here and
    // the socket is within the bound. Order and seq stay as if queued, and no gap flag is owed then: a
    // subscription owes one only while the push that replaced its dropped one still waits.
    bool passesThrough(qint64 socketUnsentBytes) const
    {
        return m_entries.empty() && socketUnsentBytes <= m_options.boundBytes;
    }

    bool isEmpty() const { return m_entries.empty(); }
    qsizetype waitingFrames() const { return qsizetype(m_entries.size()); }
    // Bytes of the frames waiting here (a waiting push counted as encoded).
    qint64 waitingBytes() const;
    qint64 coalescedTotal() const { return m_coalescedTotal; } // pushes dropped for newer ones
    const OutboundQueueOptions& options() const { return m_options; }

private:
    using Entry = std::variant<QByteArray, protocol::VariableChanged>;

    OutboundQueueOptions m_options;
    std::list<Entry> m_entries;
    QHash<QString, std::list<Entry>::iterator> m_waitingPush; // by variable key
    QHash<QString, bool> m_gapPending; // by subscription key: a push was dropped, the next one shows it
    std::optional<qint64> m_overSince;
    qint64 m_coalescedTotal = 0;
};

} // namespace commy::broker
