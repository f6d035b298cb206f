#pragma once

// Helpers for the demo tests: the worker program's path, a BrokerClient authenticated with the
// embedded broker's admin key, requests answered synchronously, polling for a condition with a bound,
// and whether a pid still belongs to a process.

#include <commy/client/broker_client.h>

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QEventLoop>
#include <QFile>
#include <QSignalSpy>
#include <QTest>

#include <optional>

#include <cerrno>
#include <signal.h>

namespace commy::monitor::test {

constexpr int kWaitMs = 30000;

inline QString workerProgram()
{
    QString dir = qEnvironmentVariable("COMMY_TEST_BIN_DIR");
    if (dir.isEmpty())
        dir = QCoreApplication::applicationDirPath();
    return dir + QStringLiteral("/monitor_demo_worker");
}

inline client::BrokerClient::Options clientOptions()
{
    client::BrokerClient::Options options;
    options.connectTimeout = std::chrono::milliseconds(kWaitMs);
    options.requestTimeout = std::chrono::milliseconds(kWaitMs);
    return options;
}

inline QString describe(const protocol::Error& error)
{
    return protocol::errorCodeName(error.code) + QLatin1String(": ") + error.message;
}

// What went wrong with a reply, or "" (QVERIFY2 in Qt 6.4 builds its message even when it passes).
template <class T> QString failureOf(const Expected<T, protocol::Error>& reply)
{
    return reply ? QString() : describe(reply.error());
}

// Sends `message` and runs an event loop until its reply; the client's request timeout bounds it.
template <class R> Expected<protocol::ResultOfT<R>, protocol::Error> call(client::BrokerClient& client, R message)
{
    using Outcome = Expected<protocol::ResultOfT<R>, protocol::Error>;
    std::optional<Outcome> outcome;
    QEventLoop loop;
    client.request(std::move(message), [&](const Outcome& reply) {
        outcome.emplace(reply);
        loop.quit();
    });
    if (!outcome)
        loop.exec();
    return *outcome;
}

// Opens `client` on `url` and authenticates with the server-level `key`; "" or what went wrong.
inline QString connectAsAdmin(client::BrokerClient& client, const QUrl& url, const QString& key)
{
    client.open(url);
    auto reply = call(client,
        protocol::Authenticate { std::nullopt, protocol::ApiKeyCredential { key }, QStringLiteral("demo test") });
    return reply ? QString() : describe(reply.error());
}

// Evaluates `condition` (which may run requests) until it holds or `timeoutMs` pass.
template <class F> bool waitUntil(F&& condition, int timeoutMs = kWaitMs)
{
    const QDeadlineTimer deadline(timeoutMs);
    while (!condition()) {
        if (deadline.hasExpired())
            return false;
        QTest::qWait(50);
    }
    return true;
}

// True while `pid` names a process, zombies included (a zombie is a child nobody reaped).
inline bool pidExists(qint64 pid) { return pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno == EPERM); }

// True while `pid` runs: not gone, and not a zombie (an orphan's zombie may wait for a reaper that
// never comes, e.g. in a container whose first process does not reap).
inline bool processRunning(qint64 pid)
{
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return false;
    const QByteArray text = stat.readAll();
    const qsizetype close = text.lastIndexOf(')');
    if (close < 0 || close + 2 >= text.size())
        return false;
    const char state = text.at(close + 2);
    return state != 'Z' && state != 'X';
}

} // namespace commy::monitor::test
