#pragma once

// A broker inside the monitor's own process, for the demo: Broker + WebSocketServer on 127.0.0.1 with
// a free port, its data in a temporary directory, and a server_admin key made for it. It lives on the
// thread that created it and serves from that thread's event loop. Destroying it (or stop()) closes
// every connection, flushes the regions and removes the directory.
//
// A process that dies without running destructors leaves its directory behind; each directory holds
// a lock file naming its owner, and start() removes the directories whose owner is gone.

#include <QObject>
#include <QString>
#include <QUrl>

#include <memory>

QT_BEGIN_NAMESPACE
class QLockFile;
class QTemporaryDir;
QT_END_NAMESPACE

namespace commy::broker {
class Broker;
class WebSocketServer;
} // namespace commy::broker

namespace commy::monitor {

class EmbeddedBroker : public QObject {
    Q_OBJECT
public:
    explicit EmbeddedBroker(QObject* parent = nullptr);
    ~EmbeddedBroker() override;

    // Removes the directories of demo brokers whose processes are gone, creates its own, opens the broker, makes the
    // admin key and starts listening. False, with the reason in errorString(), when any step fails (nothing is left
    // running then).
    bool start();
    void stop();
    bool isRunning() const;

    QUrl url() const; // ws://127.0.0.1:<port>; empty when not running
    QString adminKey() const; // "<key id>.<secret>", scope server_admin
    QString dataDir() const; // the broker's data directory, inside the temporary directory
    QString errorString() const;

    // What start() creates directories in, QDir::tempPath() unless set (for tests).
    void setParentDirectory(const QString& path);

private:
    void removeAbandonedDirectories() const;

    QString m_parentDirectory;
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<QLockFile> m_ownerLock;
    std::unique_ptr<broker::Broker> m_broker;
    std::unique_ptr<broker::WebSocketServer> m_server;
    QUrl m_url;
    QString m_adminKey;
    QString m_dataDir;
    QString m_errorString;
};

} // namespace commy::monitor
