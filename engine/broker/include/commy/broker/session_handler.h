#pragma once

// The seam between a transport (the WebSocket server) and whatever answers its frames (the Broker).
// A transport opens one session per connection, hands it every text frame, and delivers what the
// session sends back; the handler never sees sockets, so it is tested without one.

#include <commy/protocol/codec.h>
#include <commy/protocol/messages.h>

#include <QByteArray>
#include <QByteArrayView>
#include <QHostAddress>

namespace commy::broker {

using SessionId = quint64;

struct PeerInfo {
    QHostAddress address;
    quint16 port = 0;
};

// Where a session's outgoing messages go; implemented by the transport (and by tests).
class SessionOutput {
public:
    virtual ~SessionOutput() = default;
    // A Result or Error frame. Replies are never dropped and go out in the order sent.
    virtual void sendReply(const QByteArray& frame) = 0;
    // A subscription update. A transport with a full send buffer may coalesce pushes for the same
    // variable: it keeps the newest, whose seq then follows a gap, and marks it `coalesced`.
    // `encoding` is `push` encoded once for every subscription of the same change (only seq differs).
    virtual void sendPush(const protocol::VariableChanged& push, const protocol::PushEncoding& encoding) = 0;
    void sendPush(const protocol::VariableChanged& push) { sendPush(push, protocol::PushEncoding(push)); }
    // Bytes sent but not yet on the network (the transport's buffers and its waiting frames), as the
    // monitor's GetSessions reports them.
    virtual qint64 queuedBytes() const { return 0; }
};

class SessionHandler {
public:
    virtual ~SessionHandler() = default;
    // `output` must stay valid until closeSession().
    virtual SessionId openSession(const PeerInfo& peer, SessionOutput* output) = 0;
    // Drops the session's subscriptions; its tokens stay valid until they expire or are revoked.
    virtual void closeSession(SessionId session) = 0;
    // One complete text frame. Every frame with a readable id gets exactly one reply.
    virtual void handleFrame(SessionId session, QByteArrayView frame) = 0;
};

} // namespace commy::broker
