#pragma once

// Runs commyd as a real process for tests (COMMY_TEST_BIN_DIR names the folder holding it): waits
// for its ready line, sends it signals, reads its memory, and always kills it in the end.

#include <QByteArray>
#include <QDeadlineTimer>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QStringList>
#include <QTest>
#include <QUrl>

#include <csignal>

namespace commy::testing {

inline QString commydPath() { return qEnvironmentVariable("COMMY_TEST_BIN_DIR") + QStringLiteral("/commyd"); }

// Polls `condition` while the event loop runs, up to `timeoutMs`.
template <class Condition> bool waitUntil(Condition condition, int timeoutMs)
{
    const QDeadlineTimer deadline(timeoutMs);
    while (!condition()) {
        if (deadline.hasExpired())
            return false;
        QTest::qWait(5);
    }
    return true;
}

class CommydProcess {
public:
    explicit CommydProcess(
        const QStringList& arguments, const QProcessEnvironment& environment = QProcessEnvironment::systemEnvironment())
    {
        m_process.setProcessEnvironment(environment);
        m_process.start(commydPath(), arguments);
    }
    ~CommydProcess()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished(5'000);
        }
    }
    CommydProcess(const CommydProcess&) = delete;
    CommydProcess& operator=(const CommydProcess&) = delete;

    // Waits for "commyd listening on URL"; false if it exits or stays silent.
    bool waitReady(int timeoutMs = 30'000)
    {
        static const QRegularExpression ready(QStringLiteral("^commyd listening on (wss?://\\S+)\n"));
        return waitUntil(
                   [&] {
                       collect();
                       const auto match = ready.match(QString::fromUtf8(m_out));
                       if (match.hasMatch())
                           m_url = QUrl(match.captured(1));
                       return match.hasMatch() || m_process.state() == QProcess::NotRunning;
                   },
                   timeoutMs)
            && m_url.isValid();
    }

    // Waits for the exit; false (and kills it) if it does not come.
    bool waitFinished(int timeoutMs = 30'000)
    {
        const bool finished = waitUntil(
            [&] {
                collect();
                return m_process.state() == QProcess::NotRunning;
            },
            timeoutMs);
        if (!finished) {
            m_process.kill();
            m_process.waitForFinished(5'000);
        }
        collect();
        return finished;
    }

    void signal(int signalNumber) { ::kill(pid_t(m_process.processId()), signalNumber); }
    bool isRunning() const { return m_process.state() != QProcess::NotRunning; }
    bool exitedWith(int code) const
    {
        return m_process.state() == QProcess::NotRunning && m_process.exitStatus() == QProcess::NormalExit
            && m_process.exitCode() == code;
    }
    int exitCode() const { return m_process.exitCode(); }
    qint64 pid() const { return m_process.processId(); }

    // Resident memory in KiB (Linux /proc), 0 if unknown.
    qint64 residentKiB() const
    {
        QFile status(QStringLiteral("/proc/%1/status").arg(pid()));
        if (!status.open(QIODevice::ReadOnly))
            return 0;
        for (const QByteArray& line : status.readAll().split('\n'))
            if (line.startsWith("VmRSS:"))
                return line.mid(6).trimmed().split(' ').value(0).toLongLong();
        return 0;
    }

    QUrl url() const { return m_url; }
    const QByteArray& out()
    {
        collect();
        return m_out;
    }
    const QByteArray& err()
    {
        collect();
        return m_err;
    }
    QByteArray describe()
    {
        collect();
        return "exit=" + QByteArray::number(m_process.exitCode()) + " running=" + (isRunning() ? "yes" : "no")
            + "\nstdout:\n" + m_out.left(4000) + "\nstderr:\n" + m_err.right(6000);
    }

private:
    void collect()
    {
        m_out += m_process.readAllStandardOutput();
        m_err += m_process.readAllStandardError();
    }

    QProcess m_process;
    QByteArray m_out;
    QByteArray m_err;
    QUrl m_url;
};

// Runs commyd to completion (for --help, usage errors and start failures).
struct FinishedRun {
    bool finished = false;
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

inline FinishedRun runCommyd(const QStringList& arguments, int timeoutMs = 30'000)
{
    CommydProcess process(arguments);
    FinishedRun run;
    run.finished = process.waitFinished(timeoutMs);
    run.exitCode = process.exitCode();
    run.out = process.out();
    run.err = process.err();
    return run;
}

} // namespace commy::testing
