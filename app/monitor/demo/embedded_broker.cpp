#include <monitor/demo/embedded_broker.h>

#include <commy/broker/broker.h>
#include <commy/broker/websocket_server.h>

#include <QDir>
#include <QFileInfo>
#include <QHostAddress>
#include <QLockFile>
#include <QTemporaryDir>

namespace commy::monitor {

namespace {

// The demo's tokens outlive any demo session: nobody is there to refresh them.
constexpr qint64 kDemoTokenTtlMs = qint64(7) * 24 * 60 * 60 * 1000;

const QLatin1String kDirectoryPrefix("commy-monitor-demo-");
const QLatin1String kOwnerLock("owner.lock");

} // namespace

EmbeddedBroker::EmbeddedBroker(QObject* parent)
    : QObject(parent)
{
}

EmbeddedBroker::~EmbeddedBroker() { stop(); }

bool EmbeddedBroker::start()
{
    if (isRunning())
        return true;
    m_errorString.clear();
    auto fail = [this](const QString& message) {
        m_errorString = message;
        stop();
        return false;
    };

    removeAbandonedDirectories();
    const QString parent = m_parentDirectory.isEmpty() ? QDir::tempPath() : m_parentDirectory;
    m_dir = std::make_unique<QTemporaryDir>(parent + QLatin1Char('/') + kDirectoryPrefix + QStringLiteral("XXXXXX"));
    if (!m_dir->isValid())
        return fail(tr("Cannot create a temporary directory for the demo broker: %1").arg(m_dir->errorString()));
    m_ownerLock = std::make_unique<QLockFile>(m_dir->filePath(kOwnerLock));
    if (!m_ownerLock->tryLock(0))
        return fail(tr("Cannot lock the demo broker's directory %1").arg(m_dir->path()));

    broker::BrokerOptions options;
    options.dataDir = m_dir->filePath(QStringLiteral("data"));
    options.tokenTtlMs = kDemoTokenTtlMs;
    auto opened = broker::Broker::open(options);
    if (!opened)
        return fail(tr("Cannot open the demo broker: %1").arg(opened.error()));
    m_broker = std::move(*opened);
    m_dataDir = m_broker->dataDir();

    auto key = m_broker->bootstrapAdminKey();
    if (!key)
        return fail(tr("Cannot create the demo broker's admin key: %1").arg(key.error()));
    if (!key->has_value())
        return fail(tr("The demo broker's data directory already holds a server key"));
    m_adminKey = **key;

    broker::WebSocketServerOptions serverOptions;
    // Loopback only, whatever the defaults become: the demo is never reachable from elsewhere.
    serverOptions.host = QHostAddress(QHostAddress::LocalHost);
    serverOptions.port = 0;
    m_server = std::make_unique<broker::WebSocketServer>(m_broker.get(), serverOptions);
    if (auto listening = m_server->listen(); !listening)
        return fail(tr("The demo broker cannot listen on 127.0.0.1: %1").arg(listening.error()));
    m_url = m_server->url();
    return true;
}

void EmbeddedBroker::stop()
{
    // The server goes first: it closes the sessions it opened on the broker.
    if (m_server) {
        m_server->close();
        m_server.reset();
    }
    if (m_broker) {
        m_broker->flush();
        m_broker.reset();
    }
    m_ownerLock.reset(); // unlocks (removes the lock file)
    if (m_dir) {
        m_dir->remove();
        m_dir.reset();
    }
    m_url.clear();
    m_adminKey.clear();
    m_dataDir.clear();
}

void EmbeddedBroker::setParentDirectory(const QString& path) { m_parentDirectory = path; }

void EmbeddedBroker::removeAbandonedDirectories() const
{
    const QDir parent(m_parentDirectory.isEmpty() ? QDir::tempPath() : m_parentDirectory);
    const QStringList candidates
        = parent.entryList({ kDirectoryPrefix + QLatin1Char('*') }, QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString& name : candidates) {
        const QString path = parent.filePath(name);
        // No lock file: not a demo directory, or one whose owner is still setting it up.
        if (!QFileInfo::exists(path + QLatin1Char('/') + kOwnerLock))
            continue;
        // QLockFile takes over a lock whose process (pid and program name) no longer exists: the
        // owner is gone. A live owner keeps it, whichever user or session it runs in.
        QLockFile lock(path + QLatin1Char('/') + kOwnerLock);
        lock.setStaleLockTime(0); // the owner's liveness decides, not the lock file's age
        if (!lock.tryLock(0))
            continue;
        lock.unlock();
        QDir(path).removeRecursively();
    }
}

bool EmbeddedBroker::isRunning() const { return m_server && m_server->isListening(); }

QUrl EmbeddedBroker::url() const { return m_url; }

QString EmbeddedBroker::adminKey() const { return m_adminKey; }

QString EmbeddedBroker::dataDir() const { return m_dataDir; }

QString EmbeddedBroker::errorString() const { return m_errorString; }

} // namespace commy::monitor
