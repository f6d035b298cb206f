// The broker without sockets: authentication and its failure modes, tokens, variables, subscriptions
// (including writes a separate process makes through its own mapping), restart and bad input.

#include "broker_test_support.h"

#include <commy/shm/region.h>

#include <QFileInfo>
#include <QProcess>
#include <QtTest>

#include <algorithm>

using namespace commy::broker;
using namespace commy::broker::testing;

namespace {

QJsonObject dataOf(const QJsonObject& reply) { return reply.value(QStringLiteral("data")).toObject(); }

QJsonObject var(const QString& tenant, const QString& service, const QString& variable)
{
    return data({ { "tenant", tenant }, { "service", service }, { "variable", variable } });
}

QJsonObject withValue(QJsonObject object, const QByteArray& value)
{
    object.insert(QStringLiteral("value"), base64(value));
    return object;
}

} // namespace

class TestBroker : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    FakeClock m_clock;
    std::unique_ptr<Broker> m_broker;
    QString m_adminKey;

    // A tenant "acme" with service "svc" and a key holding `scopes` on it.
    QString tenantKey(const QStringList& scopes)
    {
        TestSession root(*m_broker);
        if (root.authenticateKey(m_adminKey) != QStringLiteral("OK"))
            return {};
        root.call("CreateTenant", data({ { "tenant", "acme" } }));
        root.call("CreateService", data({ { "tenant", "acme" }, { "service", "svc" } }));
        const QJsonObject reply = root.request(
            "CreateKey", data({ { "tenant", "acme" }, { "scopes", QJsonArray::fromStringList(scopes) } }));
        return dataOf(reply).value(QStringLiteral("key")).toString();
    }

    QString allScopesKey() { return tenantKey({ "read", "write", "subscribe", "map", "admin" }); }

private slots:
    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        m_clock = FakeClock();
        m_broker = openBroker(m_dir->path(), &m_clock);
        QVERIFY(m_broker);
        auto admin = m_broker->bootstrapAdminKey();
        QVERIFY(admin && admin->has_value());
        m_adminKey = **admin;
    }
    void cleanup() { m_broker.reset(); }

    void bootstrapKeyIsCreatedOnce()
    {
        auto again = m_broker->bootstrapAdminKey();
        QVERIFY(again);
        QVERIFY(!again->has_value());
    }

    void presetBootstrapKey()
    {
        QTemporaryDir dir;
        auto broker = openBroker(dir.path());
        QVERIFY(broker);
        QVERIFY(!broker->bootstrapAdminKey(QStringLiteral("short.secret")));
        QVERIFY(!broker->bootstrapAdminKey(QStringLiteral("no-dot-in-this-key-at-all")));
        const QString preset = QStringLiteral("ops-admin.0123456789abcdefghij");
        auto created = broker->bootstrapAdminKey(preset);
        QVERIFY(created && created->has_value());
        QCOMPARE(**created, preset);
        TestSession session(*broker);
        QCOMPARE(session.authenticateKey(preset), QStringLiteral("OK"));
        QCOMPARE(session.call("ListTenants"), QStringLiteral("OK"));
    }

    void authenticateReturnsTokenAndScopes()
    {
        const QString key = tenantKey({ "read", "subscribe" });
        TestSession session(*m_broker);
        const QJsonObject reply = session.request("Authenticate",
            data({ { "tenant", "acme" }, { "method", "api_key" }, { "key", key }, { "client_name", "plc-7" } }));
        QCOMPARE(TestSession::outcome(reply), QStringLiteral("OK"));
        QVERIFY(!dataOf(reply).value("token").toString().isEmpty());
        QCOMPARE(dataOf(reply).value("expires_in").toInteger(), 3600);
        QCOMPARE(dataOf(reply).value("scopes").toArray(), (QJsonArray { "read", "subscribe" }));
    }

    // A wrong key, an unknown key id, an unknown tenant and a malformed key get the same reply.
    void failuresLookAlike()
    {
        const QString key = tenantKey({ "read" });
        const QString wrongSecret
            = key.section('.', 0, 0) + QStringLiteral(".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        const std::pair<QString, QString> attempts[] = { { "acme", wrongSecret }, { "acme", "unknownid.secret" },
            { "nosuchtenant", key }, { "acme", "malformed" } };
        QJsonObject first;
        for (const auto& [tenant, presented] : attempts) {
            TestSession session(*m_broker, QHostAddress(QStringLiteral("192.0.2.%1").arg(first.isEmpty() ? 1 : 2)));
            const QJsonObject reply = session.request(
                "Authenticate", data({ { "tenant", tenant }, { "method", "api_key" }, { "key", presented } }));
            QCOMPARE(TestSession::outcome(reply), QStringLiteral("UNAUTHORIZED"));
            if (first.isEmpty())
                first = dataOf(reply);
            QCOMPARE(dataOf(reply), first);
        }
    }

    void fiveFailuresLockThePeerOut()
    {
        const QString key = tenantKey({ "read" });
        const QHostAddress attacker(QStringLiteral("192.0.2.66"));
        for (int i = 0; i < 5; ++i) {
            TestSession session(*m_broker, attacker);
            QCOMPARE(session.authenticateKey(QStringLiteral("bad.key"), QStringLiteral("acme")),
                QStringLiteral("UNAUTHORIZED"));
            m_clock.now += 1000;
        }
        TestSession locked(*m_broker, attacker);
        const QJsonObject reply
            = locked.request("Authenticate", data({ { "tenant", "acme" }, { "method", "api_key" }, { "key", key } }));
        QCOMPARE(TestSession::outcome(reply), QStringLiteral("RATE_LIMITED"));
        const qint64 retryAfter = dataOf(reply).value("retry_after").toInteger();
        QVERIFY2(retryAfter > 0 && retryAfter <= 300, qPrintable(QString::number(retryAfter)));

        TestSession bystander(*m_broker, QHostAddress(QStringLiteral("192.0.2.67")));
        QCOMPARE(bystander.authenticateKey(key, QStringLiteral("acme")), QStringLiteral("OK"));

        m_clock.now += retryAfter * 1000;
        QCOMPARE(locked.authenticateKey(key, QStringLiteral("acme")), QStringLiteral("OK"));
    }

    void tokensExpire()
    {
        const QString key = tenantKey({ "read" });
        TestSession session(*m_broker);
        const QJsonObject reply
            = session.request("Authenticate", data({ { "tenant", "acme" }, { "method", "api_key" }, { "key", key } }));
        const QString token = dataOf(reply).value("token").toString();
        QCOMPARE(
            session.call("ListVariables", data({ { "tenant", "acme" }, { "service", "svc" } })), QStringLiteral("OK"));
        m_clock.now += Store::kDefaultTokenTtlMs - 1;
        QCOMPARE(
            session.call("ListVariables", data({ { "tenant", "acme" }, { "service", "svc" } })), QStringLiteral("OK"));
        m_clock.now += 1;
        QCOMPARE(session.call("ListVariables", data({ { "tenant", "acme" }, { "service", "svc" } })),
            QStringLiteral("UNAUTHORIZED"));
        TestSession again(*m_broker);
        QCOMPARE(again.call("Authenticate", data({ { "tenant", "acme" }, { "method", "token" }, { "token", token } })),
            QStringLiteral("UNAUTHORIZED"));
    }

    void logoutRevokesTheTokenEverywhere()
    {
        const QString key = tenantKey({ "read" });
        TestSession first(*m_broker);
        const QString token = dataOf(
            first.request("Authenticate", data({ { "tenant", "acme" }, { "method", "api_key" }, { "key", key } })))
                                  .value("token")
                                  .toString();
        TestSession second(*m_broker);
        QCOMPARE(second.call("Authenticate", data({ { "tenant", "acme" }, { "method", "token" }, { "token", token } })),
            QStringLiteral("OK"));
        const QJsonObject list = data({ { "tenant", "acme" }, { "service", "svc" } });
        QCOMPARE(second.call("ListVariables", list), QStringLiteral("OK"));
        QCOMPARE(first.call("Logout", data({ { "tenant", "acme" } })), QStringLiteral("OK"));
        QCOMPARE(first.call("ListVariables", list), QStringLiteral("UNAUTHORIZED"));
        QCOMPARE(second.call("ListVariables", list), QStringLiteral("UNAUTHORIZED"));
        TestSession third(*m_broker);
        QCOMPARE(third.call("Authenticate", data({ { "tenant", "acme" }, { "method", "token" }, { "token", token } })),
            QStringLiteral("UNAUTHORIZED"));
    }

    void refreshReplacesTheToken()
    {
        const QString key = tenantKey({ "read" });
        TestSession session(*m_broker);
        const QString old = dataOf(
            session.request("Authenticate", data({ { "tenant", "acme" }, { "method", "api_key" }, { "key", key } })))
                                .value("token")
                                .toString();
        m_clock.now += 60'000;
        const QJsonObject refreshed = session.request("RefreshToken", data({ { "tenant", "acme" } }));
        QCOMPARE(TestSession::outcome(refreshed), QStringLiteral("OK"));
        const QString fresh = dataOf(refreshed).value("token").toString();
        QVERIFY(fresh != old);
        QCOMPARE(dataOf(refreshed).value("expires_in").toInteger(), 3600);
        TestSession withOld(*m_broker);
        QCOMPARE(withOld.call("Authenticate", data({ { "tenant", "acme" }, { "method", "token" }, { "token", old } })),
            QStringLiteral("UNAUTHORIZED"));
        TestSession withFresh(*m_broker);
        QCOMPARE(
            withFresh.call("Authenticate", data({ { "tenant", "acme" }, { "method", "token" }, { "token", fresh } })),
            QStringLiteral("OK"));
    }

    void revokingAKeyEndsItsSessions()
    {
        const QString key = tenantKey({ "read" });
        TestSession user(*m_broker);
        QCOMPARE(user.authenticateKey(key, QStringLiteral("acme")), QStringLiteral("OK"));
        const QJsonObject list = data({ { "tenant", "acme" }, { "service", "svc" } });
        QCOMPARE(user.call("ListVariables", list), QStringLiteral("OK"));
        TestSession root(*m_broker);
        QCOMPARE(root.authenticateKey(m_adminKey), QStringLiteral("OK"));
        QCOMPARE(root.call("RevokeKey", data({ { "tenant", "acme" }, { "key_id", key.section('.', 0, 0) } })),
            QStringLiteral("OK"));
        QCOMPARE(user.call("ListVariables", list), QStringLiteral("UNAUTHORIZED"));
        TestSession again(*m_broker);
        QCOMPARE(again.authenticateKey(key, QStringLiteral("acme")), QStringLiteral("UNAUTHORIZED"));
    }

    void passwordUsers()
    {
        tenantKey({ "read" });
        TestSession root(*m_broker);
        QCOMPARE(root.authenticateKey(m_adminKey), QStringLiteral("OK"));
        QCOMPARE(root.call("CreateUser",
                     data({ { "tenant", "acme" }, { "username", "alice" }, { "password", "correct horse" },
                         { "scopes", QJsonArray { "read", "write" } } })),
            QStringLiteral("OK"));
        TestSession session(*m_broker);
        QCOMPARE(session.call("Authenticate",
                     data({ { "tenant", "acme" }, { "method", "password" }, { "username", "alice" },
                         { "password", "wrong password" } })),
            QStringLiteral("UNAUTHORIZED"));
        const QJsonObject reply = session.request("Authenticate",
            data({ { "tenant", "acme" }, { "method", "password" }, { "username", "alice" },
                { "password", "correct horse" } }));
        QCOMPARE(TestSession::outcome(reply), QStringLiteral("OK"));
        QCOMPARE(dataOf(reply).value("scopes").toArray(), (QJsonArray { "read", "write" }));
        QCOMPARE(session.call("AllocateVariable", withValue(var("acme", "svc", "x"), "1")), QStringLiteral("OK"));
        QCOMPARE(
            root.call("DeleteUser", data({ { "tenant", "acme" }, { "username", "alice" } })), QStringLiteral("OK"));
        TestSession later(*m_broker);
        QCOMPARE(later.call("Authenticate",
                     data({ { "tenant", "acme" }, { "method", "password" }, { "username", "alice" },
                         { "password", "correct horse" } })),
            QStringLiteral("UNAUTHORIZED"));
    }

    void variableLifecycle()
    {
        const QString key = allScopesKey();
        TestSession s(*m_broker);
        QCOMPARE(s.authenticateKey(key, QStringLiteral("acme")), QStringLiteral("OK"));
        const QJsonObject v = var("acme", "svc", "speed");
        QJsonObject reply = s.request("AllocateVariable", withValue(v, QByteArray("\x00\x01\x02", 3)));
        QCOMPARE(TestSession::outcome(reply), QStringLiteral("OK"));
        const qint64 first = dataOf(reply).value("version").toInteger();
        QCOMPARE(s.call("AllocateVariable", withValue(v, "again")), QStringLiteral("ALREADY_EXISTS"));

        reply = s.request("ReadVariable", v);
        QCOMPARE(dataOf(reply).value("value").toString(), base64(QByteArray("\x00\x01\x02", 3)));
        QCOMPARE(dataOf(reply).value("version").toInteger(), first);

        QJsonObject cas = withValue(v, "second");
        cas.insert("expected_version", first);
        reply = s.request("WriteVariable", cas);
        QCOMPARE(TestSession::outcome(reply), QStringLiteral("OK"));
        const qint64 second = dataOf(reply).value("version").toInteger();
        QVERIFY(second > first);
        // The same expected version again is stale now: refused, value unchanged.
        cas = withValue(v, "third");
        cas.insert("expected_version", first);
        QCOMPARE(s.call("WriteVariable", cas), QStringLiteral("INVALID_REQUEST"));
        QCOMPARE(dataOf(s.request("ReadVariable", v)).value("value").toString(), base64("second"));

        reply = s.request("ListVariables", data({ { "tenant", "acme" }, { "service", "svc" } }));
        const QJsonArray list = dataOf(reply).value("variables").toArray();
        QCOMPARE(list.size(), 1);
        QCOMPARE(list[0].toObject().value("name").toString(), QStringLiteral("speed"));
        QCOMPARE(list[0].toObject().value("size").toInteger(), 6);
        QCOMPARE(list[0].toObject().value("version").toInteger(), second);

        QCOMPARE(s.call("DeallocateVariable", v), QStringLiteral("OK"));
        QCOMPARE(s.call("ReadVariable", v), QStringLiteral("NOT_FOUND"));
        QCOMPARE(s.call("WriteVariable", withValue(v, "x")), QStringLiteral("NOT_FOUND"));
        QCOMPARE(s.call("DeallocateVariable", v), QStringLiteral("NOT_FOUND"));
    }

    void oversizedValuesAndFullRegionsLoseNothing()
    {
        const QString key = allScopesKey();
        TestSession s(*m_broker);
        QCOMPARE(s.authenticateKey(key, QStringLiteral("acme")), QStringLiteral("OK"));
        QCOMPARE(s.call("AllocateVariable", withValue(var("acme", "svc", "big"), QByteArray(512 * 1024 + 1, 'x'))),
            QStringLiteral("RESOURCE_EXHAUSTED"));

        const qint64 small = 256 * 1024;
        QCOMPARE(s.call("CreateService", data({ { "tenant", "acme" }, { "service", "tiny" }, { "size", small } })),
            QStringLiteral("OK"));
        const QJsonObject v = var("acme", "tiny", "v");
        QCOMPARE(s.call("AllocateVariable", withValue(v, "kept")), QStringLiteral("OK"));
        QString outcome;
        QByteArray value(1024, 'y');
        while ((outcome = s.call("WriteVariable", withValue(v, value))) == QStringLiteral("OK"))
            value.append(QByteArray(64 * 1024, 'z'));
        QCOMPARE(outcome, QStringLiteral("RESOURCE_EXHAUSTED"));
        value.chop(64 * 1024);
        QCOMPARE(dataOf(s.request("ReadVariable", v)).value("value").toString(), base64(value));
    }

    void serviceSizeAndLimitAreChecked()
    {
        const QString key = allScopesKey();
        TestSession s(*m_broker);
        QCOMPARE(s.authenticateKey(key, QStringLiteral("acme")), QStringLiteral("OK"));
        QCOMPARE(s.call("CreateService", data({ { "tenant", "acme" }, { "service", "a" }, { "size", 10 } })),
            QStringLiteral("INVALID_REQUEST"));
        QCOMPARE(s.call("CreateService",
                     data({ { "tenant", "acme" }, { "service", "b" }, { "size", 1 << 20 }, { "limit", 1 << 19 } })),
            QStringLiteral("INVALID_REQUEST"));
        const QJsonObject reply = s.request("CreateService",
            data({ { "tenant", "acme" }, { "service", "c" }, { "size", 1 << 20 }, { "limit", 1 << 22 } }));
        QCOMPARE(TestSession::outcome(reply), QStringLiteral("OK"));
        QCOMPARE(dataOf(reply).value("limit").toInteger(), 1 << 22);
        QCOMPARE(s.call("CreateService", data({ { "tenant", "acme" }, { "service", "c" } })),
            QStringLiteral("ALREADY_EXISTS"));
        QCOMPARE(
            s.call("GetService", data({ { "tenant", "acme" }, { "service", "zz" } })), QStringLiteral("NOT_FOUND"));
    }

    void subscribersGetContiguousPushes()
    {
        const QString key = allScopesKey();
        TestSession writer(*m_broker);
        TestSession all(*m_broker);
        TestSession onlyA(*m_broker);
        for (TestSession* s : { &writer, &all, &onlyA })
            QCOMPARE(s->authenticateKey(key, QStringLiteral("acme")), QStringLiteral("OK"));
        QCOMPARE(writer.call("AllocateVariable", withValue(var("acme", "svc", "a"), "a0")), QStringLiteral("OK"));
        QCOMPARE(writer.call("AllocateVariable", withValue(var("acme", "svc", "b"), "b0")), QStringLiteral("OK"));
        QCOMPARE(all.call("Subscribe", data({ { "tenant", "acme" }, { "service", "svc" } })), QStringLiteral("OK"));
        QCOMPARE(onlyA.call("Subscribe",
                     data({ { "tenant", "acme" }, { "service", "svc" }, { "variables", QJsonArray { "a" } } })),
            QStringLiteral("OK"));
        QCOMPARE(onlyA.call("Subscribe",
                     data({ { "tenant", "acme" }, { "service", "svc" }, { "variables", QJsonArray { "nope" } } })),
            QStringLiteral("NOT_FOUND"));

        for (int i = 1; i <= 20; ++i) {
            QCOMPARE(
                writer.call("WriteVariable", withValue(var("acme", "svc", i % 2 ? "a" : "b"), QByteArray::number(i))),
                QStringLiteral("OK"));
            QCoreApplication::processEvents(); // let some pushes out between writes, as a live broker would
        }
        // The newest values always arrive: a = 19, b = 20.
        auto newest = [](const std::vector<commy::protocol::VariableChanged>& pushes, const QString& name) {
            QByteArray value;
            for (const auto& push : pushes)
                if (push.variable == name)
                    value = push.value;
            return value;
        };
        QTRY_COMPARE(newest(all.pushes, "b"), QByteArray("20"));
        QTRY_COMPARE(newest(all.pushes, "a"), QByteArray("19"));
        QTRY_COMPARE(newest(onlyA.pushes, "a"), QByteArray("19"));
        QVERIFY(
            std::none_of(onlyA.pushes.begin(), onlyA.pushes.end(), [](const auto& p) { return p.variable == "b"; }));
        for (const auto* pushes : { &all.pushes, &onlyA.pushes }) {
            std::map<QString, qint64> versions;
            for (std::size_t i = 0; i < pushes->size(); ++i) {
                const auto& push = (*pushes)[i];
                QCOMPARE(push.seq, qint64(i + 1)); // contiguous per subscription
                QVERIFY(!push.coalesced);
                QCOMPARE(push.tenant, QStringLiteral("acme"));
                QVERIFY(push.version > versions[push.variable]); // never older than what was pushed before
                versions[push.variable] = push.version;
            }
        }
        writer.pushes.clear();
        QVERIFY(writer.pushes.empty());

        // After Unsubscribe nothing more arrives; the other subscriber still gets the next write.
        QCOMPARE(all.call("Unsubscribe", data({ { "tenant", "acme" }, { "service", "svc" } })), QStringLiteral("OK"));
        const std::size_t before = all.pushes.size();
        QCOMPARE(writer.call("WriteVariable", withValue(var("acme", "svc", "a"), "last")), QStringLiteral("OK"));
        QTRY_COMPARE(newest(onlyA.pushes, "a"), QByteArray("last"));
        QCOMPARE(all.pushes.size(), before);
    }

    // The first Subscribe of a service starts that region's watcher thread; a write that follows at
    // once, before the thread has looked at the journal, is still news and is pushed.
    void writeRightAfterFirstSubscribeIsPushed()
    {
        const QString key = allScopesKey();
        TestSession s(*m_broker);
        QCOMPARE(s.authenticateKey(key, QStringLiteral("acme")), QStringLiteral("OK"));
        constexpr int kServices = 10;
        for (int i = 0; i < kServices; ++i) {
            const QString service = QStringLiteral("fresh%1").arg(i);
            QCOMPARE(
                s.call("CreateService", data({ { "tenant", "acme" }, { "service", service } })), QStringLiteral("OK"));
            QCOMPARE(s.call("AllocateVariable", withValue(var("acme", service, "a"), "a0")), QStringLiteral("OK"));
            QCOMPARE(s.call("Subscribe", data({ { "tenant", "acme" }, { "service", service } })), QStringLiteral("OK"));
            QCOMPARE(s.call("WriteVariable", withValue(var("acme", service, "a"), "a1")), QStringLiteral("OK"));
            QVERIFY2(
                s.waitForPush([&](const auto& push) { return push.service == service; }, 5000), qPrintable(service));
            QCOMPARE(s.pushes.back().value, QByteArray("a1"));
            QCOMPARE(s.pushes.back().seq, qint64(1));
        }
        QCOMPARE(s.pushes.size(), std::size_t(kServices));
    }

    // A separate process writes through its own mapping (the path GetServiceFilePath gave); a
    // subscriber gets every value as a push, and the broker is told through the change journal.
    void localMappingWritesReachSubscribers()
    {
        const QString key = allScopesKey();
        TestSession s(*m_broker);
        QCOMPARE(s.authenticateKey(key, QStringLiteral("acme")), QStringLiteral("OK"));
        QCOMPARE(s.call("AllocateVariable", withValue(var("acme", "svc", "local"), "start")), QStringLiteral("OK"));
        const QJsonObject pathReply
            = s.request("GetServiceFilePath", data({ { "tenant", "acme" }, { "service", "svc" } }));
        QCOMPARE(TestSession::outcome(pathReply), QStringLiteral("OK"));
        const QString path = dataOf(pathReply).value("path").toString();
        QVERIFY(QFileInfo::exists(path));
        QCOMPARE(dataOf(pathReply).value("size").toInteger(), QFileInfo(path).size());
        QCOMPARE(s.call("Subscribe", data({ { "tenant", "acme" }, { "service", "svc" } })), QStringLiteral("OK"));

        QProcess child;
        child.start(qEnvironmentVariable("COMMY_TEST_BIN_DIR") + "/broker_test_child", { "map-writer", path, "local" });
        QVERIFY(child.waitForStarted(5000));
        auto stop = qScopeGuard([&] {
            child.kill();
            child.waitForFinished(5000);
        });
        QTRY_VERIFY_WITH_TIMEOUT(child.canReadLine(), 10000);
        QCOMPARE(child.readLine().trimmed(), QByteArray("ready"));

        std::vector<double> latenciesMs;
        for (int i = 0; i < 20; ++i) {
            const QByteArray value = "value-" + QByteArray::number(i);
            child.write(value + "\n");
            // Wait in a real event loop first (QTRY_* sleeps 10 ms between polls, which would be
            // measured as broker latency), then collect the child's timestamp.
            QVERIFY(s.waitForPush([&](const auto& push) { return push.value == value; }));
            while (!child.canReadLine())
                QVERIFY(child.waitForReadyRead(10000));
            const qint64 wroteAtNs = child.readLine().trimmed().mid(6).toLongLong();
            latenciesMs.push_back(double(s.pushTimesNs.back() - wroteAtNs) / 1e6);
        }
        for (std::size_t i = 0; i < s.pushes.size(); ++i)
            QCOMPARE(s.pushes[i].seq, qint64(i + 1));
        std::sort(latenciesMs.begin(), latenciesMs.end());
        const double median = latenciesMs[latenciesMs.size() / 2];
        qInfo("local write -> push, 20 writes: median %.3f ms, max %.3f ms", median, latenciesMs.back());
        QVERIFY2(median <= 10.0, qPrintable(QString::number(median))); // the bound
    }

    void restartKeepsEverything()
    {
        const QString key = allScopesKey();
        {
            TestSession s(*m_broker);
            QCOMPARE(s.authenticateKey(key, QStringLiteral("acme")), QStringLiteral("OK"));
            QCOMPARE(
                s.call("AllocateVariable", withValue(var("acme", "svc", "kept"), "persisted")), QStringLiteral("OK"));
        }
        m_broker->flush();
        m_broker.reset();
        m_broker = openBroker(m_dir->path(), &m_clock);
        QVERIFY(m_broker);
        auto admin = m_broker->bootstrapAdminKey();
        QVERIFY(admin && !admin->has_value()); // the server key survived too
        TestSession s(*m_broker);
        QCOMPARE(s.authenticateKey(key, QStringLiteral("acme")), QStringLiteral("OK"));
        const QJsonObject reply = s.request("ReadVariable", var("acme", "svc", "kept"));
        QCOMPARE(dataOf(reply).value("value").toString(), base64("persisted"));
        TestSession root(*m_broker);
        QCOMPARE(root.authenticateKey(m_adminKey), QStringLiteral("OK"));
        const QJsonArray tenants = dataOf(root.request("ListTenants")).value("tenants").toArray();
        QCOMPARE(tenants.size(), 1);
        QCOMPARE(tenants[0].toObject().value("services").toInteger(), 1);
    }

    void deletingATenantRemovesItsFilesAndSessions()
    {
        const QString key = allScopesKey();
        TestSession user(*m_broker);
        QCOMPARE(user.authenticateKey(key, QStringLiteral("acme")), QStringLiteral("OK"));
        QCOMPARE(user.call("Subscribe", data({ { "tenant", "acme" }, { "service", "svc" } })), QStringLiteral("OK"));
        const QString dir = m_dir->path() + "/tenants/acme";
        QVERIFY(QFileInfo::exists(dir + "/svc.region"));
        TestSession root(*m_broker);
        QCOMPARE(root.authenticateKey(m_adminKey), QStringLiteral("OK"));
        QCOMPARE(root.call("DeleteTenant", data({ { "tenant", "acme" } })), QStringLiteral("OK"));
        QVERIFY(!QFileInfo::exists(dir));
        QCOMPARE(user.call("ListServices", data({ { "tenant", "acme" } })), QStringLiteral("UNAUTHORIZED"));
        QCOMPARE(m_broker->counters().subscriptions, 0);
        QCOMPARE(root.call("ListServices", data({ { "tenant", "acme" } })), QStringLiteral("NOT_FOUND"));
        const auto audit = m_broker->store().listAudit();
        QVERIFY(audit);
        QCOMPARE(audit->last().action, QStringLiteral("DeleteTenant"));
        QVERIFY(audit->last().actor.startsWith(QStringLiteral("key:")));
    }

    void badFramesGetInvalidRequestAndTheSessionGoesOn()
    {
        TestSession s(*m_broker);
        const QByteArray frames[] = { "", "not json", "[]", "{\"type\":\"ReadVariable\"}",
            "{\"type\":\"NoSuchType\",\"id\":7,\"data\":{}}", "{\"type\":\"Heartbeat\",\"id\":{},\"data\":{}}",
            "{\"type\":\"ReadVariable\",\"id\":8,\"data\":{\"tenant\":\"../"
            "etc\",\"service\":\"s\",\"variable\":\"v\"}}",
            QByteArray(100'000, '[') };
        for (const QByteArray& frame : frames) {
            const QJsonObject reply = s.raw(frame);
            QCOMPARE(reply.value("type").toString(), QStringLiteral("Error"));
            QCOMPARE(dataOf(reply).value("code").toString(), QStringLiteral("INVALID_REQUEST"));
        }
        QCOMPARE(s.raw("{\"type\":\"NoSuchType\",\"id\":7,\"data\":{}}").value("id").toInteger(), 7);
        QCOMPARE(s.call("Heartbeat"), QStringLiteral("OK"));
        QCOMPARE(dataOf(s.request("Heartbeat")).value("server_time").toInteger(), m_clock.now);
    }
};

QTEST_GUILESS_MAIN(TestBroker)
#include "tst_broker.moc"
