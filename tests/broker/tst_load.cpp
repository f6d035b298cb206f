// Load: 300 concurrent authenticated WebSocket sessions against a commyd process, each subscribed to
// one service and writing to another, for 20 seconds. Every session's pushes must arrive with
// contiguous seq (a gap only when flagged coalesced), no variable's version may go backwards, no
// request may fail, commyd's memory must stay bounded, and it must answer promptly afterwards.

#include "commyd_process.h"

#include <commy/protocol/codec.h>
#include <commy/protocol/server_codec.h>

#include <QDeadlineTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTimer>
#include <QWebSocket>
#include <QtTest>

#include <map>
#include <memory>

using namespace commy::protocol;
using commy::testing::CommydProcess;

namespace {

constexpr int kSessions = 300;
constexpr int kServices = 10;
constexpr int kLoadSeconds = 20;
// Under AddressSanitizer both this process and commyd run several times slower: the same checks run
// at a quarter of the write rate, so the run tests correctness under load, not the sanitizer's cost.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kWriteIntervalMs = 2000;
#else
constexpr int kWriteIntervalMs = 500;
#endif
const QString kTenant = QStringLiteral("load");
const QString kAdminKey = QStringLiteral("testadmin.0123456789abcdefghijklmn");

QString serviceName(int i) { return QStringLiteral("s%1").arg(i % kServices); }
QString variableName(int i) { return QStringLiteral("v%1").arg(i % kServices); }

struct Tally {
    qint64 writes = 0;
    qint64 writeErrors = 0;
    qint64 pushes = 0;
    qint64 seqViolations = 0;
    qint64 coalesced = 0;
    qint64 versionRegressions = 0;
    QString firstProblem;
    void problem(const QString& text)
    {
        if (firstProblem.isEmpty())
            firstProblem = text;
    }
};

class LoadSession : public QObject {
public:
    LoadSession(int index, Tally& tally)
        : m_index(index)
        , m_tally(tally)
    {
        connect(&m_socket, &QWebSocket::textMessageReceived, this, &LoadSession::onMessage);
    }

    void open(const QUrl& url) { m_socket.open(url); }
    bool connected() const { return m_socket.state() == QAbstractSocket::ConnectedState; }
    bool ready() const { return m_ready; }
    qint64 pending() const { return m_pending; }

    void start(const QString& key)
    {
        send(Authenticate { kTenant, ApiKeyCredential { key }, QStringLiteral("load-%1").arg(m_index) });
        send(Subscribe { kTenant, serviceName(m_index), std::nullopt });
    }

    void write()
    {
        ++m_tally.writes;
        send(WriteVariable { kTenant, serviceName(m_index + 1), variableName(m_index),
            QByteArray::number(m_index) + ':' + QByteArray::number(++m_written), std::nullopt });
    }

private:
    void send(const Request& request)
    {
        ++m_pending;
        m_socket.sendTextMessage(QString::fromUtf8(encodeRequest(qint64(++m_nextId), request)));
    }

    void onMessage(const QString& text)
    {
        auto frame = decodeServerFrame(text.toUtf8());
        if (!frame) {
            m_tally.problem(QStringLiteral("undecodable frame: ") + text.left(200));
            return;
        }
        if (auto* push = std::get_if<VariableChanged>(&*frame)) {
            ++m_tally.pushes;
            if (push->coalesced)
                ++m_tally.coalesced;
            else if (push->seq != m_lastSeq + 1) {
                ++m_tally.seqViolations;
                m_tally.problem(
                    QStringLiteral("session %1: seq %2 after %3").arg(m_index).arg(push->seq).arg(m_lastSeq));
            }
            if (push->seq <= m_lastSeq) {
                ++m_tally.seqViolations;
                m_tally.problem(QStringLiteral("session %1: seq went back to %2").arg(m_index).arg(push->seq));
            }
            m_lastSeq = push->seq;
            qint64& version = m_versions[push->variable];
            if (push->version < version) {
                ++m_tally.versionRegressions;
                m_tally.problem(QStringLiteral("session %1: %2 version %3 after %4")
                                    .arg(m_index)
                                    .arg(push->variable)
                                    .arg(push->version)
                                    .arg(version));
            }
            version = push->version;
            return;
        }
        --m_pending;
        if (auto* error = std::get_if<ErrorFrame>(&*frame)) {
            ++m_tally.writeErrors;
            m_tally.problem(QStringLiteral("session %1: %2").arg(m_index).arg(error->error.message));
            return;
        }
        if (m_nextId == 2 && m_pending == 0)
            m_ready = true; // Authenticate and Subscribe both answered
    }

    int m_index;
    Tally& m_tally;
    QWebSocket m_socket;
    qint64 m_nextId = 0;
    qint64 m_pending = 0;
    qint64 m_written = 0;
    qint64 m_lastSeq = 0;
    bool m_ready = false;
    std::map<QString, qint64> m_versions;
};

// One blocking request on its own socket (set-up and the final responsiveness check).
QJsonObject request(QWebSocket& socket, const Request& message, int timeoutMs = 10000)
{
    QJsonObject reply;
    bool done = false;
    auto connection = QObject::connect(&socket, &QWebSocket::textMessageReceived, &socket, [&](const QString& text) {
        const QJsonObject object = QJsonDocument::fromJson(text.toUtf8()).object();
        if (object.contains(QStringLiteral("id"))) {
            reply = object;
            done = true;
        }
    });
    socket.sendTextMessage(QString::fromUtf8(encodeRequest(qint64(1), message)));
    QDeadlineTimer deadline(timeoutMs);
    while (!done && !deadline.hasExpired())
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 20);
    QObject::disconnect(connection);
    return reply; // empty on timeout: not a Result
}

bool isResult(const QJsonObject& reply) { return reply.value(QStringLiteral("type")).toString() == "Result"; }

} // namespace

class TestLoad : public QObject {
    Q_OBJECT

private slots:
    void threeHundredSessionsForTwentySeconds()
    {
        QTemporaryDir dataDir;
        QVERIFY(dataDir.isValid());
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.insert(QStringLiteral("COMMY_BOOTSTRAP_ADMIN_KEY"), kAdminKey);
        CommydProcess commyd(
            { QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"), QStringLiteral("--data-dir"), dataDir.path() },
            environment);
        QVERIFY2(commyd.waitReady(), commyd.describe().constData());

        QWebSocket admin;
        admin.open(commyd.url());
        QTRY_VERIFY_WITH_TIMEOUT(admin.state() == QAbstractSocket::ConnectedState, 10000);
        QVERIFY(isResult(request(admin, Authenticate { std::nullopt, ApiKeyCredential { kAdminKey }, {} })));
        QVERIFY(isResult(request(admin, CreateTenant { kTenant })));
        for (int s = 0; s < kServices; ++s) {
            QVERIFY(isResult(request(admin, CreateService { kTenant, serviceName(s), std::nullopt, std::nullopt })));
            for (int v = 0; v < kServices; ++v)
                QVERIFY(isResult(request(admin, AllocateVariable { kTenant, serviceName(s), variableName(v), "0" })));
        }
        const QJsonObject key = request(
            admin, CreateKey { kTenant, { Scope::Read, Scope::Write, Scope::Subscribe }, QStringLiteral("load") });
        QVERIFY(isResult(key));
        const QString tenantKey = key.value("data").toObject().value("key").toString();

        Tally tally;
        std::vector<std::unique_ptr<LoadSession>> sessions;
        for (int i = 0; i < kSessions; ++i) {
            sessions.push_back(std::make_unique<LoadSession>(i, tally));
            sessions.back()->open(commyd.url());
        }
        auto all = [&](auto predicate) {
            return std::all_of(sessions.begin(), sessions.end(), [&](const auto& s) { return predicate(*s); });
        };
        QTRY_VERIFY_WITH_TIMEOUT(all([](const LoadSession& s) { return s.connected(); }), 60000);
        for (auto& session : sessions)
            session->start(tenantKey);
        QTRY_VERIFY_WITH_TIMEOUT(all([](const LoadSession& s) { return s.ready(); }), 120000);
        QVERIFY2(tally.firstProblem.isEmpty(), qPrintable(tally.firstProblem));
        const qint64 rssAfterSetup = commyd.residentKiB();

        // Writes spread over the run at a fixed rate per session. A tick issues whatever the schedule
        // says is due by now, so a tick that fires late (this process is busy receiving pushes) catches
        // up instead of losing writes: every session makes exactly its planned number of writes.
        constexpr int kTickMs = 50;
        constexpr qint64 kPlannedPerSession = qint64(kLoadSeconds) * 1000 / kWriteIntervalMs;
        std::vector<qint64> issued(std::size_t(kSessions), 0);
        qint64 peakRss = rssAfterSetup;
        qint64 lastRssSample = 0;
        QElapsedTimer elapsed;
        auto issueDue = [&](qint64 nowMs) {
            for (int i = 0; i < kSessions; ++i) {
                // Sessions are offset across the first second so their writes do not all coincide.
                const qint64 since = nowMs - (qint64(i) * 1000 / kSessions);
                const qint64 due = qBound<qint64>(0, since / kWriteIntervalMs + 1, kPlannedPerSession);
                for (; issued[std::size_t(i)] < due; ++issued[std::size_t(i)])
                    sessions[std::size_t(i)]->write();
            }
            if (nowMs - lastRssSample >= 1000) {
                lastRssSample = nowMs;
                peakRss = qMax(peakRss, commyd.residentKiB());
            }
        };
        QTimer ticker;
        ticker.setInterval(kTickMs);
        connect(&ticker, &QTimer::timeout, this, [&] { issueDue(elapsed.elapsed()); });
        elapsed.start();
        ticker.start();
        QTRY_VERIFY_WITH_TIMEOUT(elapsed.elapsed() >= kLoadSeconds * 1000, (kLoadSeconds + 10) * 1000);
        ticker.stop();
        issueDue(qint64(kLoadSeconds) * 1000 + 1000); // whatever is still due
        // Every request answered, then the pushes of the last writes drained.
        QTRY_VERIFY_WITH_TIMEOUT(all([](const LoadSession& s) { return s.pending() == 0; }), 60000);
        qint64 pushes = -1;
        QTRY_VERIFY_WITH_TIMEOUT(std::exchange(pushes, tally.pushes) == tally.pushes, 30000);

        qInfo("%d sessions, %lld writes, %lld pushes, %lld coalesced, commyd RSS %lld MiB after set-up, peak %lld MiB",
            kSessions, static_cast<long long>(tally.writes), static_cast<long long>(tally.pushes),
            static_cast<long long>(tally.coalesced), static_cast<long long>(rssAfterSetup / 1024),
            static_cast<long long>(peakRss / 1024));
        QVERIFY2(tally.firstProblem.isEmpty(), qPrintable(tally.firstProblem));
        QCOMPARE(tally.writeErrors, 0);
        QCOMPARE(tally.seqViolations, 0);
        QCOMPARE(tally.versionRegressions, 0);
        QCOMPARE(tally.writes, kPlannedPerSession * kSessions);
        // Every write reaches each of the sessions subscribed to its service, unless the broker merged
        // pushes for a slow reader, which the pushes say (coalesced) and the seq check above allows.
        if (tally.coalesced == 0)
            QCOMPARE(tally.pushes, tally.writes * (kSessions / kServices));
        // Bounded: the load adds little beyond what the sessions themselves hold.
        QVERIFY2(peakRss - rssAfterSetup < 256 * 1024, qPrintable(QString::number(peakRss - rssAfterSetup)));

        // Responsive afterwards: a new connection authenticates and reads within a second each.
        QWebSocket probe;
        probe.open(commyd.url());
        QTRY_VERIFY_WITH_TIMEOUT(probe.state() == QAbstractSocket::ConnectedState, 5000);
        QElapsedTimer answer;
        answer.start();
        QVERIFY(isResult(request(probe, Authenticate { kTenant, ApiKeyCredential { tenantKey }, {} }, 1000)));
        QVERIFY(isResult(request(probe, ReadVariable { kTenant, serviceName(1), variableName(0) }, 1000)));
        qInfo("after the load: authenticate + read answered in %lld ms", static_cast<long long>(answer.elapsed()));

        sessions.clear();
        commyd.signal(SIGTERM);
        QVERIFY2(commyd.waitFinished() && commyd.exitedWith(0), commyd.describe().constData());
    }
};

QTEST_GUILESS_MAIN(TestLoad)
#include "tst_load.moc"
