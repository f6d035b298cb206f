#pragma once

// The running broker: a Broker on DATA_DIR served by a WebSocketServer, and its orderly stop.

#include "daemon_config.h"

#include <commy/broker/broker.h>
#include <commy/broker/websocket_server.h>

#include <QObject>
#include <QTimer>

#include <memory>

namespace commy::commyd {

class Daemon : public QObject {
    Q_OBJECT
public:
    explicit Daemon(DaemonConfig config, QObject* parent = nullptr);
    ~Daemon() override;

    // Opens the broker, creates the first admin key if needed, listens.
    Expected<void, QString> start();
    QUrl url() const;

    // Closes every session with 1001, waits for the peers (a few seconds at most), flushes the regions,
    // then emits stopped(). A second call stops without waiting.
    void stop();

Q_SIGNALS:
    void stopped();

private:
    void finishStop();

    DaemonConfig m_config;
    std::unique_ptr<broker::Broker> m_broker; // outlives the server, which calls into it
    std::unique_ptr<broker::WebSocketServer> m_server;
    QTimer m_stopDeadline;
    bool m_stopping = false;
    bool m_stopped = false;
};

} // namespace commy::commyd
