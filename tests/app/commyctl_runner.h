#pragma once

// Runs commyctl as a real process for the app tests. COMMY_TEST_BIN_DIR (set by commy_add_test)
// names the folder holding the binary. runCommyctl() blocks until the process ends; a test that
// serves commyctl a broker from its own event loop uses CommyctlProcess / runCommyctlServed().

#include <QByteArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QSignalSpy>
#include <QString>
#include <QStringList>

namespace commy::testing {

inline QString commyctlPath() { return qEnvironmentVariable("COMMY_TEST_BIN_DIR") + QStringLiteral("/commyctl"); }

struct CtlResult {
    bool finished = false; // false: it timed out and was killed
    int exitCode = -1;
    QProcess::ExitStatus exitStatus = QProcess::CrashExit;
    QByteArray out;
    QByteArray err;

    QJsonObject json() const { return QJsonDocument::fromJson(out).object(); }
    bool exitedWith(int code) const { return finished && exitStatus == QProcess::NormalExit && exitCode == code; }
};

// Starts `commyctl args...` and waits for it, killing it if it takes longer than timeoutMs.
inline CtlResult runCommyctl(const QStringList& args, int timeoutMs = 30'000)
{
    QProcess process;
    process.start(commyctlPath(), args);
    CtlResult result;
    if (!process.waitForStarted(timeoutMs))
        return result;
    result.finished = process.waitForFinished(timeoutMs);
    if (!result.finished) {
        process.kill();
        process.waitForFinished(5'000);
    }
    result.exitCode = process.exitCode();
    result.exitStatus = process.exitStatus();
    result.out = process.readAllStandardOutput();
    result.err = process.readAllStandardError();
    return result;
}

// commyctl running while this process's event loop goes on, for tests that serve it a broker
// themselves: waiting never blocks the thread. Output is collected as it comes (a watch prints
// while it runs). A process still running when this object goes is killed.
class CommyctlProcess {
public:
    explicit CommyctlProcess(const QStringList& args)
        : m_finished(&m_process, &QProcess::finished)
    {
        // Hermetic: the connection comes from the arguments only.
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.remove(QStringLiteral("COMMY_URL"));
        environment.remove(QStringLiteral("COMMY_KEY"));
        m_process.setProcessEnvironment(environment);
        QObject::connect(&m_process, &QProcess::readyReadStandardOutput, &m_process,
            [this] { m_out += m_process.readAllStandardOutput(); });
        QObject::connect(&m_process, &QProcess::readyReadStandardError, &m_process,
            [this] { m_err += m_process.readAllStandardError(); });
        m_process.start(commyctlPath(), args);
    }
    ~CommyctlProcess()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished(5'000);
        }
    }
    CommyctlProcess(const CommyctlProcess&) = delete;
    CommyctlProcess& operator=(const CommyctlProcess&) = delete;

    // Runs the event loop until the process ends or timeoutMs pass; then kills it if it still runs.
    CtlResult finish(int timeoutMs = 30'000)
    {
        CtlResult result;
        result.finished
            = !m_finished.isEmpty() || m_process.state() == QProcess::NotRunning || m_finished.wait(timeoutMs);
        if (!result.finished) {
            m_process.kill();
            if (m_finished.isEmpty())
                m_finished.wait(5'000);
        }
        m_out += m_process.readAllStandardOutput();
        m_err += m_process.readAllStandardError();
        result.exitCode = m_process.exitCode();
        result.exitStatus = m_process.exitStatus();
        result.out = m_out;
        result.err = m_err;
        return result;
    }

    const QByteArray& out() const { return m_out; }
    const QByteArray& err() const { return m_err; }
    QProcess& process() { return m_process; }

private:
    QProcess m_process;
    QSignalSpy m_finished;
    QByteArray m_out;
    QByteArray m_err;
};

// Runs `commyctl args...` to its end without blocking this thread (see CommyctlProcess).
inline CtlResult runCommyctlServed(const QStringList& args, int timeoutMs = 30'000)
{
    CommyctlProcess process(args);
    return process.finish(timeoutMs);
}

// Describes a result for a failed QVERIFY2.
inline QByteArray describe(const CtlResult& result)
{
    return QByteArray("finished=") + (result.finished ? "yes" : "no") + " exit=" + QByteArray::number(result.exitCode)
        + "\nstdout:\n" + result.out.left(4000) + "\nstderr:\n" + result.err.left(4000);
}

} // namespace commy::testing
