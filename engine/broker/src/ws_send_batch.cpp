#include "ws_send_batch.h"

#include "ws_connection.h"

#include <algorithm>

#include <QMetaObject>

namespace commy::broker {

void WsSendBatch::close()
{
    if (--m_depth == 0)
        flushWritten();
}

void WsSendBatch::flushWritten()
{
    // A flush can fail and close a connection, which forgets it: take the list first.
    std::vector<WsConnection*> written;
    written.swap(m_written);
    for (WsConnection* connection : written) {
        connection->setFlushPending(false);
        connection->flushSocket();
    }
}

void WsSendBatch::wrote(WsConnection* connection)
{
    if (!connection->flushPending()) {
        connection->setFlushPending(true);
        m_written.push_back(connection);
    }
    if (m_depth == 0 && !m_flushPosted) {
        m_flushPosted = true;
        QMetaObject::invokeMethod(
            &m_context,
            [this] {
                m_flushPosted = false;
                if (m_depth == 0)
                    flushWritten();
            },
            Qt::QueuedConnection);
    }
}

void WsSendBatch::forget(WsConnection* connection)
{
    if (connection->flushPending())
        std::erase(m_written, connection);
}

} // namespace commy::broker
