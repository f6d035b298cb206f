#pragma once

// A SessionHandler for transport tests: it answers every frame with a Result echoing the frame's id
// and size, pushes and replies when the test says so, and records what the transport told it.

#include <commy/broker/session_handler.h>

#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>

namespace commy::testing {

class ScriptedHandler : public broker::SessionHandler {
public:
    struct Opened {
        broker::SessionId session = 0;
        broker::PeerInfo peer;
    };

    broker::SessionId openSession(const broker::PeerInfo& peer, broker::SessionOutput* output) override
    {
        const broker::SessionId session = ++m_lastSession;
        m_outputs.insert(session, output);
        m_opened.append({ session, peer });
        return session;
    }

    void closeSession(broker::SessionId session) override
    {
        m_outputs.remove(session);
        m_closed.append(session);
    }

    // {"type":"Result","id":<id>,"data":{"bytes":<frame size>,"n":<frames seen by the session>}}
    void handleFrame(broker::SessionId session, QByteArrayView frame) override
    {
        const int n = ++m_frameCount[session];
        const QJsonObject request = QJsonDocument::fromJson(frame.toByteArray()).object();
        const QJsonObject reply { { QStringLiteral("type"), QStringLiteral("Result") },
            { QStringLiteral("id"), request.value(QLatin1String("id")) },
            { QStringLiteral("data"),
                QJsonObject { { QStringLiteral("bytes"), frame.size() }, { QStringLiteral("n"), n } } } };
        if (broker::SessionOutput* output = m_outputs.value(session))
            output->sendReply(QJsonDocument(reply).toJson(QJsonDocument::Compact));
    }

    // A push on subscription acme/line1 with the session's next seq.
    void push(broker::SessionId session, const QString& variable, const QByteArray& value)
    {
        broker::SessionOutput* output = m_outputs.value(session);
        if (!output)
            return;
        protocol::VariableChanged change;
        change.tenant = QStringLiteral("acme");
        change.service = QStringLiteral("line1");
        change.variable = variable;
        change.value = value;
        change.seq = ++m_seq[session];
        change.version = change.seq;
        output->sendPush(change);
    }

    void reply(broker::SessionId session, const QByteArray& frame)
    {
        if (broker::SessionOutput* output = m_outputs.value(session))
            output->sendReply(frame);
    }

    bool isOpen(broker::SessionId session) const { return m_outputs.contains(session); }
    const broker::SessionOutput* output(broker::SessionId session) const { return m_outputs.value(session); }
    const QList<Opened>& opened() const { return m_opened; }
    const QList<broker::SessionId>& closed() const { return m_closed; }
    broker::SessionId lastSession() const { return m_lastSession; }

private:
    broker::SessionId m_lastSession = 0;
    QHash<broker::SessionId, broker::SessionOutput*> m_outputs;
    QHash<broker::SessionId, int> m_frameCount;
    QHash<broker::SessionId, qint64> m_seq;
    QList<Opened> m_opened;
    QList<broker::SessionId> m_closed;
};

} // namespace commy::testing
