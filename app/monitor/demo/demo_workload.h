#pragma once

// The demo's live workload against a broker it holds a server_admin key for (the EmbeddedBroker):
// it creates a few tenants with a few services each and their variables through a BrokerClient (the
// real protocol, so the broker's tree and audit trail are real), keeps writing the variables, and
// runs worker processes (runDemoWorker) on the services' regions. Now and then it SIGKILLs one - the
// monitor then shows it dead and its cleanup can reclaim what it held - and starts a replacement a
// few seconds later. A dead worker nobody cleaned up is cleaned up by the workload after a while, so
// the regions never fill up.
//
// Every worker is a child process whose stdin is a pipe held here: stop() and the destructor end and
// reap them all within Options::stopTimeout (then SIGKILL), and if this process dies the workers see
// end of file and exit on their own.

#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <chrono>
#include <memory>
#include <vector>

QT_BEGIN_NAMESPACE
class QTimer;
QT_END_NAMESPACE

namespace commy::client {
class BrokerClient;
}

namespace commy::monitor {

class DemoWorkload : public QObject {
    Q_OBJECT
public:
    struct Options {
        std::chrono::milliseconds writeInterval { 300 }; // one variable of every service per interval
        // A worker is SIGKILLed after a random time in [killIntervalMin, killIntervalMax]; 0: never.
        // Only workers attached for a second or more are picked (none: the turn passes).
        std::chrono::milliseconds killIntervalMin { 20000 };
        std::chrono::milliseconds killIntervalMax { 40000 };
        std::chrono::milliseconds replaceDelay { 4000 }; // from a worker's death to its replacement
        // From a kill to the workload's own CleanupRegion of that service; 0: never (left to the user).
        std::chrono::milliseconds cleanupDelay { 90000 };
        std::chrono::milliseconds stopTimeout { 3000 }; // SIGTERM to SIGKILL when stopping
        qint64 serviceSize = qint64(4) << 20;
        qint64 serviceLimit = qint64(16) << 20;
    };

    struct ServicePlan {
        QString tenant;
        QString service;
        QStringList variables;
        int workers = 1;
    };
    // What start() creates.
    static const std::vector<ServicePlan>& plan();

    explicit DemoWorkload(QObject* parent = nullptr);
    explicit DemoWorkload(Options options, QObject* parent = nullptr);
    ~DemoWorkload() override;

    // Connects, provisions (what already exists is kept) and then starts the workers and the
    // writes: started() or errorOccurred() follows. `workerProgram` is run as
    // `workerProgram --demo-worker <region path> <name>`.
    void start(const QUrl& url, const QString& adminKey, const QString& workerProgram);
    // Stops writing and killing, ends and reaps every worker, closes the connection.
    void stop();

    bool isRunning() const; // between started() and stop()
    QString errorString() const;
    QList<qint64> workerPids() const; // of the workers running now (not those killed)

signals:
    void started();
    void errorOccurred(const QString& message);
    void workerStarted(const QString& tenant, const QString& service, const QString& name, qint64 pid);
    void workerKilled(const QString& tenant, const QString& service, const QString& name, qint64 pid);

private:
    struct Service;
    struct Worker;

    void provision(std::size_t step);
    void fail(const QString& message);
    void startWorker(std::size_t service);
    void onWorkerFinished(Worker* worker);
    void writeVariables();
    void scheduleKill();
    void killOne();
    void cleanupService(std::size_t service);
    void stopWorkers();

    Options m_options;
    client::BrokerClient* m_client = nullptr;
    QString m_workerProgram;
    QString m_errorString;
    std::vector<std::unique_ptr<Service>> m_services;
    std::vector<std::unique_ptr<Worker>> m_workers;
    QTimer* m_writeTimer;
    QTimer* m_killTimer;
    bool m_running = false;
    // Bumped by stop(): replies and timers of an earlier run are ignored.
    quint64 m_generation = 0;
    int m_pendingWrites = 0;
};

} // namespace commy::monitor
