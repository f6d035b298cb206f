// Every request type against every kind of caller, asserting the exact reply code. The expected
// codes come from the rules written out below (the specification), not from the broker's table.

#include "broker_test_support.h"

#include <QtTest>

using namespace commy::broker;
using namespace commy::broker::testing;

namespace {

enum class Role { None, OtherTenant, Read, Write, Subscribe, Map, Admin, ServerAdmin };

const char* roleName(Role role)
{
    switch (role) {
    case Role::None:
        return "no-auth";
    case Role::OtherTenant:
        return "other-tenant";
    case Role::Read:
        return "read";
    case Role::Write:
        return "write";
    case Role::Subscribe:
        return "subscribe";
    case Role::Map:
        return "map";
    case Role::Admin:
        return "admin";
    case Role::ServerAdmin:
        return "server_admin";
    }
    return "?";
}

// What a request needs, as the issue states it.
enum class Needs { Nothing, TenantLogin, ServerAdmin, Admin, ReadOrAdmin, Read, Write, Subscribe, Map };

struct Case {
    const char* type;
    Needs needs;
    QJsonObject data;
    QString allowedOutcome = QStringLiteral("OK"); // what an allowed caller gets (NOT_FOUND for ghosts)
    const char* form = nullptr; // names the row when one type has several forms
};

QString expectedOutcome(const Case& c, Role role)
{
    const bool tenantRole = role != Role::None && role != Role::OtherTenant && role != Role::ServerAdmin;
    auto scoped = [&](std::initializer_list<Role> holders) -> QString {
        if (role == Role::ServerAdmin)
            return c.allowedOutcome;
        if (!tenantRole)
            return QStringLiteral("UNAUTHORIZED");
        for (Role holder : holders)
            if (holder == role)
                return c.allowedOutcome;
        return QStringLiteral("PERMISSION_DENIED");
    };
    switch (c.needs) {
    case Needs::Nothing:
        return c.allowedOutcome;
    case Needs::TenantLogin:
        return tenantRole ? c.allowedOutcome : QStringLiteral("UNAUTHORIZED");
    case Needs::ServerAdmin:
        if (role == Role::ServerAdmin)
            return c.allowedOutcome;
        return role == Role::None ? QStringLiteral("UNAUTHORIZED") : QStringLiteral("PERMISSION_DENIED");
    case Needs::Admin:
        return scoped({ Role::Admin });
    case Needs::ReadOrAdmin:
        return scoped({ Role::Read, Role::Admin });
    case Needs::Read:
        return scoped({ Role::Read });
    case Needs::Write:
        return scoped({ Role::Write });
    case Needs::Subscribe:
        return scoped({ Role::Subscribe });
    case Needs::Map:
        return scoped({ Role::Map });
    }
    return {};
}

int g_unique = 0;
QString unique(const char* prefix) { return QStringLiteral("%1%2").arg(QLatin1String(prefix)).arg(++g_unique); }

std::vector<Case> cases()
{
    const QString t = QStringLiteral("acme");
    const QString s = QStringLiteral("svc");
    auto service = [&](const QString& name) { return data({ { "tenant", t }, { "service", name } }); };
    auto variable = [&](const QString& name) {
        return data({ { "tenant", t }, { "service", s }, { "variable", name } });
    };
    QJsonObject write = variable(QStringLiteral("v"));
    write.insert(QStringLiteral("value"), base64("hello"));
    const QString notFound = QStringLiteral("NOT_FOUND");
    return {
        { "Authenticate", Needs::Nothing, {} }, // a read key of acme, filled in per row
        { "Heartbeat", Needs::Nothing, {} },
        { "Logout", Needs::TenantLogin, data({ { "tenant", t } }) },
        { "RefreshToken", Needs::TenantLogin, data({ { "tenant", t } }) },
        { "CreateTenant", Needs::ServerAdmin, {} }, // data filled per row: a fresh name
        { "DeleteTenant", Needs::ServerAdmin, data({ { "tenant", "ghost" } }), notFound },
        { "ListTenants", Needs::ServerAdmin, {} },
        { "CreateKey", Needs::Admin, data({ { "tenant", t }, { "scopes", QJsonArray { "read" } } }) },
        { "RevokeKey", Needs::Admin, data({ { "tenant", t }, { "key_id", "nokey" } }), notFound },
        { "ListKeys", Needs::Admin, data({ { "tenant", t } }) },
        { "CreateUser", Needs::Admin, {} }, // a fresh name per row
        { "DeleteUser", Needs::Admin, data({ { "tenant", t }, { "username", "ghost" } }), notFound },
        { "CreateService", Needs::Admin, {} }, // a fresh name per row
        { "GetService", Needs::ReadOrAdmin, service(s) },
        { "DeleteService", Needs::Admin, service(QStringLiteral("ghost")), notFound },
        { "ListServices", Needs::ReadOrAdmin, data({ { "tenant", t } }) },
        { "AllocateVariable", Needs::Write, {} }, // a fresh name per row
        { "WriteVariable", Needs::Write, write },
        { "ReadVariable", Needs::Read, variable(QStringLiteral("v")) },
        { "DeallocateVariable", Needs::Write, variable(QStringLiteral("ghost")), notFound },
        { "ListVariables", Needs::Read, service(s) },
        { "Subscribe", Needs::Subscribe, service(s) },
        { "Unsubscribe", Needs::Subscribe, service(s) },
        { "GetServiceFilePath", Needs::Map, service(s) },
        { "GetBrokerInfo", Needs::ServerAdmin, {} },
        { "GetTree", Needs::ServerAdmin, {}, QStringLiteral("OK"), "GetTree all" },
        { "GetTree", Needs::ReadOrAdmin, data({ { "tenant", t } }), QStringLiteral("OK"), "GetTree tenant" },
        { "GetRegionStats", Needs::ReadOrAdmin, service(s) },
        { "GetBlockMap", Needs::ReadOrAdmin, service(s) },
        { "GetProcesses", Needs::ReadOrAdmin, service(s) },
        { "GetSessions", Needs::ServerAdmin, {} },
        { "BrowseRoot", Needs::Read, data({ { "tenant", t }, { "service", s }, { "root", "v" } }) },
        { "Watch", Needs::ReadOrAdmin, data({ { "targets", QJsonArray { service(s) } }, { "interval_ms", 60000 } }) },
        { "Watch", Needs::Nothing, data({ { "targets", QJsonArray {} }, { "interval_ms", 1000 } }),
            QStringLiteral("OK"), "Watch stop" },
        { "ResizeRegion", Needs::Admin, data({ { "tenant", t }, { "service", s }, { "size", 1 << 20 } }) },
        { "ShrinkRegion", Needs::Admin, service(s) },
        { "CleanupRegion", Needs::Admin, service(s) },
    };
}

// Requests whose allowed form creates something get a new name each time they run.
QJsonObject freshData(const QString& type, const QJsonObject& data)
{
    if (type == QStringLiteral("CreateTenant"))
        return testing::data({ { "tenant", unique("t") } });
    if (type == QStringLiteral("CreateUser"))
        return testing::data({ { "tenant", "acme" }, { "username", unique("u") }, { "password", "long enough" },
            { "scopes", QJsonArray { "read" } } });
    if (type == QStringLiteral("CreateService"))
        return testing::data({ { "tenant", "acme" }, { "service", unique("s") } });
    if (type == QStringLiteral("AllocateVariable"))
        return testing::data(
            { { "tenant", "acme" }, { "service", "svc" }, { "variable", unique("v") }, { "value", base64("x") } });
    return data;
}

} // namespace

class TestPermissions : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<Broker> m_broker;
    std::map<Role, QString> m_keys; // role -> key (tenant acme, except other and server)
    std::map<Role, QString> m_tenants;

    QString createKey(TestSession& admin, const QString& tenant, const QString& scope)
    {
        const QJsonObject reply = admin.request(
            QStringLiteral("CreateKey"), data({ { "tenant", tenant }, { "scopes", QJsonArray { scope } } }));
        return reply.value(QStringLiteral("data")).toObject().value(QStringLiteral("key")).toString();
    }

    // A new session holding `role` (authenticating with the role's key: verified keys are cached).
    std::unique_ptr<TestSession> sessionAs(Role role)
    {
        auto session = std::make_unique<TestSession>(*m_broker);
        if (role != Role::None)
            [&] { QCOMPARE(session->authenticateKey(m_keys.at(role), m_tenants.at(role)), QStringLiteral("OK")); }();
        return session;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_broker = openBroker(m_dir.path());
        QVERIFY(m_broker);
        auto admin = m_broker->bootstrapAdminKey();
        QVERIFY(admin && admin->has_value());
        m_keys[Role::ServerAdmin] = **admin;
        m_tenants[Role::ServerAdmin] = QString();

        TestSession root(*m_broker);
        QCOMPARE(root.authenticateKey(m_keys[Role::ServerAdmin]), QStringLiteral("OK"));
        QCOMPARE(root.call("CreateTenant", data({ { "tenant", "acme" } })), QStringLiteral("OK"));
        QCOMPARE(root.call("CreateTenant", data({ { "tenant", "other" } })), QStringLiteral("OK"));
        QCOMPARE(
            root.call("CreateService", data({ { "tenant", "acme" }, { "service", "svc" } })), QStringLiteral("OK"));
        QCOMPARE(
            root.call("AllocateVariable",
                data({ { "tenant", "acme" }, { "service", "svc" }, { "variable", "v" }, { "value", base64("0") } })),
            QStringLiteral("OK"));
        const std::pair<Role, const char*> scoped[] = { { Role::Read, "read" }, { Role::Write, "write" },
            { Role::Subscribe, "subscribe" }, { Role::Map, "map" }, { Role::Admin, "admin" } };
        for (const auto& [role, scope] : scoped) {
            m_keys[role] = createKey(root, QStringLiteral("acme"), QLatin1String(scope));
            m_tenants[role] = QStringLiteral("acme");
        }
        m_keys[Role::OtherTenant] = createKey(root, QStringLiteral("other"), QStringLiteral("admin"));
        m_tenants[Role::OtherTenant] = QStringLiteral("other");
        for (const auto& [role, key] : m_keys)
            QVERIFY2(!key.isEmpty(), roleName(role));
    }

    void matrix_data()
    {
        QTest::addColumn<QString>("type");
        QTest::addColumn<int>("role");
        QTest::addColumn<QJsonObject>("request");
        QTest::addColumn<QString>("expected");
        const Role roles[] = { Role::None, Role::OtherTenant, Role::Read, Role::Write, Role::Subscribe, Role::Map,
            Role::Admin, Role::ServerAdmin };
        for (const Case& c : cases()) {
            for (Role role : roles) {
                QTest::addRow("%s/%s", c.form ? c.form : c.type, roleName(role))
                    << QString::fromLatin1(c.type) << int(role) << c.data << expectedOutcome(c, role);
            }
        }
    }

    void matrix()
    {
        QFETCH(QString, type);
        QFETCH(int, role);
        QFETCH(QJsonObject, request);
        QFETCH(QString, expected);
        auto session = sessionAs(Role(role));
        if (QTest::currentTestFailed())
            return;
        if (type == QStringLiteral("Authenticate"))
            request = data({ { "tenant", "acme" }, { "method", "api_key" }, { "key", m_keys.at(Role::Read) } });
        const QJsonObject reply = session->request(type, freshData(type, request));
        QCOMPARE(TestSession::outcome(reply), expected);
    }

    // The table above covers every request type the protocol has.
    void matrixCoversEveryRequest()
    {
        QSet<QString> covered;
        for (const Case& c : cases())
            covered.insert(QString::fromLatin1(c.type));
        const QSet<QString> all = [] {
            return []<std::size_t... I>(std::index_sequence<I...>)
            {
                return QSet<QString> { commy::protocol::requestTypeName(
                    commy::protocol::Request(std::in_place_index<I>))... };
            }
            (std::make_index_sequence<std::variant_size_v<commy::protocol::Request>>());
        }();
        QCOMPARE(all.size(), qsizetype(std::variant_size_v<commy::protocol::Request>));
        QCOMPARE(covered, all);
    }

    void mapIsRefusedToRemotePeers()
    {
        TestSession remote(*m_broker, QHostAddress(QStringLiteral("192.0.2.7")));
        QCOMPARE(remote.authenticateKey(m_keys.at(Role::Map), QStringLiteral("acme")), QStringLiteral("OK"));
        QCOMPARE(remote.call("GetServiceFilePath", data({ { "tenant", "acme" }, { "service", "svc" } })),
            QStringLiteral("PERMISSION_DENIED"));
    }

    // Inside an authorised tenant, unknown names are NOT_FOUND; elsewhere they are not revealed.
    void unknownNamesInsideAndOutside()
    {
        auto reader = sessionAs(Role::Read);
        QCOMPARE(
            reader->call("ReadVariable", data({ { "tenant", "acme" }, { "service", "nope" }, { "variable", "v" } })),
            QStringLiteral("NOT_FOUND"));
        QCOMPARE(
            reader->call("ReadVariable", data({ { "tenant", "acme" }, { "service", "svc" }, { "variable", "nope" } })),
            QStringLiteral("NOT_FOUND"));
        QCOMPARE(
            reader->call("ReadVariable", data({ { "tenant", "nope" }, { "service", "svc" }, { "variable", "v" } })),
            QStringLiteral("UNAUTHORIZED"));
        QCOMPARE(
            reader->call("ReadVariable", data({ { "tenant", "other" }, { "service", "svc" }, { "variable", "v" } })),
            QStringLiteral("UNAUTHORIZED"));
    }
};

QTEST_GUILESS_MAIN(TestPermissions)
#include "tst_permissions.moc"
