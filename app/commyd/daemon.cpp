#include "daemon.h"

#include "admin_key.h"
#include "daemon_log.h"

#include <algorithm>

namespace commy::commyd {

namespace {

// How long a stop waits for peers to answer the close frame before dropping them.
constexpr int kStopWaitMs = 3000;
constexpr int kDefaultPingIntervalMs = 20'000;

} // namespace

Daemon::Daemon(DaemonConfig config, QObject* parent)
    : QObject(parent)
    , m_config(std::move(config))
{
    m_stopDeadline.setSingleShot(true);
    connect(&m_stopDeadline, &QTimer::timeout, this, &Daemon::finishStop);
}

Daemon::~Daemon()
{
    m_server.reset();
    m_broker.reset();
}

Expected<void, QString> Daemon::start()
{
    broker::BrokerOptions brokerOptions;
    brokerOptions.dataDir = m_config.dataDir;
    brokerOptions.tokenTtlMs = m_config.tokenTtlS * 1000;
    auto opened = broker::Broker::open(brokerOptions);
    if (!opened)
        return unexpected(opened.error());
    m_broker = std::move(*opened);
    qCInfo(lcCommyd, "data directory %s", qPrintable(m_broker->dataDir()));

    const auto bootstrapped = bootstrapAdminKey(*m_broker, qEnvironmentVariable("COMMY_BOOTSTRAP_ADMIN_KEY"));
    if (!bootstrapped)
        return unexpected(bootstrapped.error());

    broker::WebSocketServerOptions serverOptions;
    serverOptions.host = m_config.listen.host;
    serverOptions.port = m_config.listen.port;
    serverOptions.tlsCertificateFile = m_config.tlsCert;
    serverOptions.tlsKeyFile = m_config.tlsKey;
    serverOptions.maxMessageBytes = m_config.maxMessageBytes;
    serverOptions.idleTimeoutMs = m_config.idleTimeoutMs;
    // A live peer answers pings, so pings must come often enough to beat the idle timeout.
    serverOptions.pingIntervalMs = m_config.idleTimeoutMs > 0
        ? std::min(kDefaultPingIntervalMs, std::max(1, m_config.idleTimeoutMs / 3))
        : kDefaultPingIntervalMs;
    m_server = std::make_unique<broker::WebSocketServer>(m_broker.get(), serverOptions);
    connect(m_server.get(), &broker::WebSocketServer::sessionClosed, this, [this] {
        if (m_stopping && m_server->sessionCount() == 0)
            finishStop();
    });
    const auto listening = m_server->listen();
    if (!listening)
        return unexpected(listening.error());
    return {};
}

QUrl Daemon::url() const { return m_server ? m_server->url() : QUrl(); }

void Daemon::stop()
{
    if (m_stopping) {
        finishStop();
        return;
    }
    m_stopping = true;
    if (!m_server) {
        finishStop();
        return;
    }
    qCInfo(lcCommyd, "stopping: closing %d session(s)", m_server->sessionCount());
    m_server->close(1001, QStringLiteral("server shutting down")); // going away
    if (m_server->sessionCount() == 0) {
        finishStop();
        return;
    }
    m_stopDeadline.start(kStopWaitMs);
}

void Daemon::finishStop()
{
    if (m_stopped)
        return;
    m_stopped = true;
    m_stopDeadline.stop();
    if (m_broker) {
        m_broker->flush();
        qCInfo(lcCommyd, "regions flushed");
    }
    emit stopped();
}

} // namespace commy::commyd
