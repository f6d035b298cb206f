#pragma once

// Runs commyctl as a real process for the app tests. COMMY_TEST_BIN_DIR (set by commy_add_test)
// names the folder holding the binary.

#include <QByteArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
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

// Describes a result for a failed QVERIFY2.
inline QByteArray describe(const CtlResult& result)
{
    return QByteArray("finished=") + (result.finished ? "yes" : "no") + " exit=" + QByteArray::number(result.exitCode)
        + "\nstdout:\n" + result.out.left(4000) + "\nstderr:\n" + result.err.left(4000);
}

} // namespace commy::testing
