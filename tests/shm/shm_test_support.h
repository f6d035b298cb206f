#pragma once

// Helpers shared by the shm tests: opening regions, and ChildProcess, a QProcess running
// shm_test_child that is always killed and reaped, whatever way the test function leaves.

#include <commy/shm/region.h>

#include <QDeadlineTimer>
#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>
#include <QTest>

#include <memory>
#include <string>

// Compare RegionError / Liveness values and print their names, not numbers, on failure.
#define COMPARE_ERROR(actual, expected)                                                                                \
    QCOMPARE(QByteArray(commy::shm::errorMessage(actual)), QByteArray(commy::shm::errorMessage(expected)))
#define COMPARE_LIVENESS(actual, expected)                                                                             \
    QCOMPARE(QByteArray(commy::shm::livenessName(actual)), QByteArray(commy::shm::livenessName(expected)))

namespace commy::shmtest {

inline QString childExecutable()
{
    const QString dir = qEnvironmentVariable("COMMY_TEST_BIN_DIR", QCoreApplication::applicationDirPath());
    return QDir(dir).filePath(QStringLiteral("shm_test_child"));
}

// Where the tests put their region files: /dev/shm when it is there (region files are shared memory;
// on tmpfs the page faults of a MAP_SHARED file cost a third of what they cost on ext4), else the
// system temp folder. COMMY_TEST_TMPDIR overrides both.
inline QString regionTempRoot()
{
    const QString forced = qEnvironmentVariable("COMMY_TEST_TMPDIR");
    if (!forced.isEmpty())
        return forced;
    const QFileInfo shm(QStringLiteral("/dev/shm"));
    if (shm.isDir() && shm.isWritable())
        return shm.filePath();
    return QDir::tempPath();
}

// A QTemporaryDir under regionTempRoot(); removed with everything in it when it goes out of scope.
class RegionTempDir : public QTemporaryDir {
public:
    RegionTempDir()
        : QTemporaryDir(regionTempRoot() + QStringLiteral("/commy-shm-test-XXXXXX"))
    {
    }
};

inline commy::shm::RegionExpected<std::unique_ptr<commy::shm::Region>> createRegion(const QString& path,
    std::uint64_t size, bool autoGrow = false, std::uint64_t limit = 0,
    commy::shm::OpenMode mode = commy::shm::OpenMode::CreateOnly)
{
    commy::shm::RegionOptions options;
    options.mode = mode;
    options.size = size;
    options.autoGrow = autoGrow;
    options.limit = limit;
    return commy::shm::Region::open(path.toStdString(), options);
}

inline commy::shm::RegionExpected<std::unique_ptr<commy::shm::Region>> openRegion(const QString& path)
{
    commy::shm::RegionOptions options;
    options.mode = commy::shm::OpenMode::OpenExisting;
    return commy::shm::Region::open(path.toStdString(), options);
}

inline const char* errorName(commy::shm::RegionError error) { return commy::shm::errorMessage(error); }

class ChildProcess {
public:
    ChildProcess() { m_process.setProcessChannelMode(QProcess::SeparateChannels); }
    ~ChildProcess() { killAndReap(); }
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // Starts shm_test_child with `arguments`; false (with the reason in errorString()) on failure.
    bool start(const QStringList& arguments, int timeoutMs = 10000)
    {
        m_process.start(childExecutable(), arguments);
        if (!m_process.waitForStarted(timeoutMs))
            return false;
        m_pid = m_process.processId();
        return true;
    }

    // The child's pid, still known after it ended (QProcess forgets it).
    qint64 pid() const { return m_pid; }
    QString errorString() const { return m_process.errorString(); }
    QProcess& process() { return m_process; }

    // The next stdout line, or a null QString if none arrived in time (or the child ended first).
    QString readLine(int timeoutMs = 10000)
    {
        QDeadlineTimer deadline(timeoutMs);
        while (!m_process.canReadLine()) {
            if (m_process.state() == QProcess::NotRunning || deadline.hasExpired())
                return QString();
            m_process.waitForReadyRead(static_cast<int>(qMax<qint64>(1, deadline.remainingTime())));
        }
        return QString::fromUtf8(m_process.readLine()).trimmed();
    }

    // Reads lines until one starts with `prefix`; returns it, or a null QString on timeout / exit.
    QString waitForLine(const QString& prefix, int timeoutMs = 10000)
    {
        QDeadlineTimer deadline(timeoutMs);
        for (;;) {
            const QString line = readLine(static_cast<int>(qMax<qint64>(1, deadline.remainingTime())));
            if (line.isNull())
                return line;
            m_transcript << line;
            if (line.startsWith(prefix))
                return line;
        }
    }

    void send(const QByteArray& line)
    {
        m_process.write(line + '\n');
        m_process.waitForBytesWritten(5000);
    }

    // Waits for the child to end on its own; false when it did not end in time.
    bool waitForExit(int timeoutMs = 10000)
    {
        if (m_process.state() == QProcess::NotRunning)
            return true;
        return m_process.waitForFinished(timeoutMs);
    }
    bool exitedNormally() const { return m_process.exitStatus() == QProcess::NormalExit; }
    int exitCode() const { return m_process.exitCode(); }
    // Everything the child printed that has not been consumed, plus what waitForLine() skipped.
    QString transcript()
    {
        m_transcript << QString::fromUtf8(m_process.readAllStandardOutput()).trimmed()
                     << QString::fromUtf8(m_process.readAllStandardError()).trimmed();
        return m_transcript.join(QLatin1Char('\n'));
    }

    void killAndReap()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished(10000);
        }
    }

private:
    QProcess m_process;
    qint64 m_pid = 0;
    QStringList m_transcript;
};

} // namespace commy::shmtest
