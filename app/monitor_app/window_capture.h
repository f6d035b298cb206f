#pragma once

// --screenshot: waits until the data a view shows has arrived, renders the window to a PNG, and says
// how it went. Readiness is a condition checked as the app runs, bounded by a deadline, so a broker
// that never answers produces an error instead of an empty picture.

#include <QDeadlineTimer>
#include <QObject>
#include <QPointer>
#include <QQuickWindow>
#include <QTimer>

#include <functional>

namespace commy::monitor {

class WindowCapture : public QObject {
    Q_OBJECT

public:
    // `missing` names what the view still waits for, empty once it is ready.
    WindowCapture(
        QQuickWindow* window, std::function<QString()> missing, QString file, int timeoutMs, QObject* parent = nullptr);

    void start();

signals:
    // Exit code for the process: 0 written, 1 timed out or could not be written. `message` says which.
    void finished(int exitCode, const QString& message);

private:
    void check();

    QPointer<QQuickWindow> m_window;
    std::function<QString()> m_missing;
    QString m_file;
    QDeadlineTimer m_deadline;
    QTimer m_poll;
    int m_readyChecks = 0;
};

} // namespace commy::monitor
