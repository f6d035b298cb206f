#include "outbound_queue.h"

#include <commy/protocol/codec.h>

namespace commy::broker {

namespace {

// Names cannot contain '/', so these keys are unambiguous.
QString subscriptionKey(const protocol::VariableChanged& push) { return push.tenant + u'/' + push.service; }

QString variableKey(const protocol::VariableChanged& push)
{
    return push.tenant + u'/' + push.service + u'/' + push.variable;
}

} // namespace

OutboundQueue::OutboundQueue(OutboundQueueOptions options)
    : m_options(options)
{
}

void OutboundQueue::enqueueReply(QByteArray frame) { m_entries.emplace_back(std::move(frame)); }

bool OutboundQueue::enqueuePush(protocol::VariableChanged push)
{
    const QString key = variableKey(push);
    bool replaced = false;
    if (const auto waiting = m_waitingPush.constFind(key); waiting != m_waitingPush.cend()) {
        m_entries.erase(waiting.value());
        m_gapPending.insert(subscriptionKey(push), true);
        ++m_coalescedTotal;
        replaced = true;
    }
    // Appended, not put in the old place: pushes of one subscription then leave in seq order.
    m_entries.emplace_back(std::move(push));
    m_waitingPush.insert(key, std::prev(m_entries.end()));
    return replaced;
}

std::vector<QByteArray> OutboundQueue::takeSendable(qint64 socketUnsentBytes)
{
    std::vector<QByteArray> frames;
    qint64 unsent = socketUnsentBytes;
    while (!m_entries.empty() && unsent <= m_options.boundBytes) {
        Entry& entry = m_entries.front();
        QByteArray frame;
        if (auto* push = std::get_if<protocol::VariableChanged>(&entry)) {
            m_waitingPush.remove(variableKey(*push));
            if (m_gapPending.remove(subscriptionKey(*push)))
                push->coalesced = true;
            frame = protocol::encodePush(*push);
        } else {
            frame = std::move(std::get<QByteArray>(entry));
        }
        m_entries.pop_front();
        unsent += frame.size();
        frames.push_back(std::move(frame));
    }
    return frames;
}

qint64 OutboundQueue::waitingBytes() const
{
    qint64 bytes = 0;
    for (const Entry& entry : m_entries) {
        if (const auto* push = std::get_if<protocol::VariableChanged>(&entry))
            bytes += protocol::encodePush(*push).size();
        else
            bytes += std::get<QByteArray>(entry).size();
    }
    return bytes;
}

bool OutboundQueue::overBoundTooLong(qint64 socketUnsentBytes, qint64 nowMs)
{
    const bool over = socketUnsentBytes > m_options.boundBytes || !m_entries.empty();
    if (!over) {
        m_overSince.reset();
        return false;
    }
    if (!m_overSince)
        m_overSince = nowMs;
    return nowMs - *m_overSince > m_options.graceMs;
}

} // namespace commy::broker
