#pragma once

// Turns SIGTERM and SIGINT into a Qt signal on the main thread (self-pipe: the handler only writes
// the signal number to a pipe; a QSocketNotifier reads it in the event loop).

#include <commy/shm/expected.h>

#include <QObject>
#include <QSocketNotifier>

#include <memory>

namespace commy::commyd {

class SignalWatcher : public QObject {
    Q_OBJECT
public:
    // One watcher per process.
    static Expected<std::unique_ptr<SignalWatcher>, QString> install(QObject* parent = nullptr);
    ~SignalWatcher() override;

Q_SIGNALS:
    void terminationRequested(int signalNumber);

private:
    explicit SignalWatcher(QObject* parent);
    void readPipe();

    std::unique_ptr<QSocketNotifier> m_notifier;
};

} // namespace commy::commyd
