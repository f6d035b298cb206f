#pragma once

// Runs commyd as a separate process for tests: a fresh data directory, a known bootstrap admin key,
// a free port on 127.0.0.1, and the ready line parsed into the URL. The destructor stops it.

#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

class CommydProcess {
public:
    static inline const QString kAdminKey = QStringLiteral("testadmin.0123456789abcdefghijklmn");

    explicit CommydProcess(const QString& dataDir = {}, const QStringList& extraArgs = {})
        : m_dataDir(dataDir.isEmpty() ? m_ownDir.path() : dataDir)
        , m_extraArgs(extraArgs)
    {
    }
    ~CommydProcess() { stop(); }

    // Starts and waits for the ready line; false (with a message in errorString) on failure.
    bool start(int timeoutMs = 20000)
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("COMMY_BOOTSTRAP_ADMIN_KEY"), kAdminKey);
        m_process.setProcessEnvironment(env);
        m_process.setProcessChannelMode(QProcess::SeparateChannels);
        m_process.start(qEnvironmentVariable("COMMY_TEST_BIN_DIR") + QStringLiteral("/commyd"),
            QStringList {
                QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"), QStringLiteral("--data-dir"), m_dataDir }
                + m_extraArgs);
        if (!m_process.waitForStarted(timeoutMs)) {
            m_error = m_process.errorString();
            return false;
        }
        QElapsedTimer timer;
        timer.start();
        while (!m_process.canReadLine()) {
            if (timer.elapsed() > timeoutMs || m_process.state() == QProcess::NotRunning) {
                m_error = QString::fromUtf8(m_process.readAllStandardError());
                return false;
            }
            m_process.waitForReadyRead(100);
        }
        const QByteArray line = m_process.readLine().trimmed();
        const qsizetype at = line.indexOf("://");
        if (!line.startsWith("commyd listening on ") || at < 0) {
            m_error = QString::fromUtf8(line);
            return false;
        }
        m_url = QString::fromUtf8(line.mid(line.lastIndexOf(' ') + 1));
        return true;
    }

    // SIGTERM, then SIGKILL if it has not exited within the timeout; returns the exit code (-1 if killed).
    int stop(int timeoutMs = 15000)
    {
        if (m_process.state() == QProcess::NotRunning)
            return m_process.exitCode();
        m_process.terminate();
        if (!m_process.waitForFinished(timeoutMs)) {
            m_process.kill();
            m_process.waitForFinished(5000);
            return -1;
        }
        return m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -1;
    }

    QString url() const { return m_url; }
    QString dataDir() const { return m_dataDir; }
    QString errorString() const { return m_error; }
    qint64 pid() const { return m_process.processId(); }
    QProcess& process() { return m_process; }

    // Resident memory of the process in KiB (Linux /proc), 0 if unknown.
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

private:
    QTemporaryDir m_ownDir;
    QString m_dataDir;
    QStringList m_extraArgs;
    QProcess m_process;
    QString m_url;
    QString m_error;
};
