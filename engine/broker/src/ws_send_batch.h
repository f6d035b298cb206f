#pragma once

// Frames a connection writes go into its socket's buffer; Qt sends that buffer on the next round of
// the event loop. Within a batch (the handling of what one peer sent, which may fan out to many
// subscribers) the connections that wrote are flushed together when the batch ends, so a push leaves
// in the same round as the write that caused it. Outside a batch (a timer, a push from a region
// watcher, a drain after bytesWritten) the flush is posted to the event loop instead, so a burst still
// leaves as one send, and no flush runs inside a socket's own bytesWritten signal (where Qt would not
// emit it again, and a waiting queue would never hear that the socket drained).

#include <QObject>

#include <vector>

namespace commy::broker {

class WsConnection;

class WsSendBatch {
public:
    void open() { ++m_depth; }
    void close();
    // `connection` wrote frames: flushed when the open batch closes, or on the next event-loop turn.
    void wrote(WsConnection* connection);
    // `connection` is going away: not flushed any more.
    void forget(WsConnection* connection);

private:
    void flushWritten();

    int m_depth = 0;
    bool m_flushPosted = false;
    std::vector<WsConnection*> m_written;
    QObject m_context; // receives the posted flush; gone with the batch
};

} // namespace commy::broker
