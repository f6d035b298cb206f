#pragma once

// An in-process broker for tests, without sockets: each TestSession is a SessionOutput that keeps
// what the broker sent, and request() returns the reply to one frame (the broker answers inline).

#include <commy/broker/broker.h>

#include <QDateTime>
#include <QDeadlineTimer>
#include <QEventLoop>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <chrono>
#include <memory>
#include <vector>

namespace commy::broker::testing {

// Time the broker sees; tests move it forward.
struct FakeClock {
    qint64 now = 1'800'000'000'000;
    Clock clock()
    {
        return [this] { return now; };
    }
};

class TestSession : public SessionOutput {
public:
    TestSession(SessionHandler& handler, const QHostAddress& address = QHostAddress::LocalHost, quint16 port = 40000)
        : m_handler(handler)
    {
        m_id = handler.openSession({ address, port }, this);
    }
    ~TestSession() override { m_handler.closeSession(m_id); }

    void sendReply(const QByteArray& frame) override { replies.push_back(QJsonDocument::fromJson(frame).object()); }
    using SessionOutput::sendPush;
    void sendPush(const protocol::VariableChanged& push, const protocol::PushEncoding&) override
    {
        pushes.push_back(push);
        pushTimesNs.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count());
        if (m_waiting)
            m_waiting->quit();
    }

    // Runs an event loop until a push satisfies `done` or `timeoutMs` pass; unlike QTRY_*, which
    // polls, it wakes the moment the push arrives, so latency measured around it is the broker's.
    template <class Done> bool waitForPush(Done done, int timeoutMs = 10000)
    {
        QEventLoop loop;
        QDeadlineTimer deadline(timeoutMs);
        m_waiting = &loop;
        while (!(!pushes.empty() && done(pushes.back())) && !deadline.hasExpired()) {
            // Armed per pass, precisely: a coarse timer may fire before the deadline has expired,
            // and a pass without a timer would then wait forever.
            QTimer::singleShot(qMax<qint64>(1, deadline.remainingTime()), Qt::PreciseTimer, &loop, &QEventLoop::quit);
            loop.exec();
        }
        m_waiting = nullptr;
        return !pushes.empty() && done(pushes.back());
    }

    QJsonObject raw(const QByteArray& frame)
    {
        const std::size_t before = replies.size();
        m_handler.handleFrame(m_id, frame);
        if (replies.size() != before + 1)
            return { { QStringLiteral("type"), QStringLiteral("NoReply") } };
        return replies.back();
    }
    QJsonObject request(const QString& type, const QJsonObject& data = {})
    {
        const QJsonObject frame { { QStringLiteral("type"), type }, { QStringLiteral("id"), ++m_nextId },
            { QStringLiteral("data"), data } };
        return raw(QJsonDocument(frame).toJson(QJsonDocument::Compact));
    }
    // The error code of a reply, or "OK" for a Result.
    static QString outcome(const QJsonObject& reply)
    {
        if (reply.value(QStringLiteral("type")).toString() == QStringLiteral("Result"))
            return QStringLiteral("OK");
        return reply.value(QStringLiteral("data")).toObject().value(QStringLiteral("code")).toString();
    }
    QString call(const QString& type, const QJsonObject& data = {}) { return outcome(request(type, data)); }

    QString authenticateKey(const QString& key, const QString& tenant = {})
    {
        QJsonObject data { { QStringLiteral("method"), QStringLiteral("api_key") }, { QStringLiteral("key"), key } };
        if (!tenant.isEmpty())
            data.insert(QStringLiteral("tenant"), tenant);
        return call(QStringLiteral("Authenticate"), data);
    }

    std::vector<QJsonObject> replies;
    std::vector<protocol::VariableChanged> pushes;
    std::vector<qint64> pushTimesNs; // when each push arrived (wall clock)

private:
    SessionHandler& m_handler;
    QEventLoop* m_waiting = nullptr;
    SessionId m_id = 0;
    qint64 m_nextId = 0;
};

inline QJsonObject data(std::initializer_list<std::pair<QString, QJsonValue>> fields)
{
    QJsonObject object;
    for (const auto& [key, value] : fields)
        object.insert(key, value);
    return object;
}

inline QString base64(const QByteArray& bytes) { return QString::fromLatin1(bytes.toBase64()); }

inline std::unique_ptr<Broker> openBroker(const QString& dir, FakeClock* clock = nullptr)
{
    BrokerOptions options;
    options.dataDir = dir;
    if (clock)
        options.clock = clock->clock();
    auto broker = Broker::open(options);
    if (!broker) {
        qWarning() << broker.error();
        return nullptr;
    }
    return std::move(*broker);
}

} // namespace commy::broker::testing
