// The broker's SQLite store: state survives reopening, old schemas migrate, API keys are kept only as
// PBKDF2 hashes and every failed verification looks the same, tokens expire on an injected clock, a
// tenant's deletion takes its services and credentials with it, and names are validated.

#include <commy/broker/store.h>

#include <QAtomicInteger>
#include <QElapsedTimer>
#include <QPasswordDigestor>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTemporaryDir>
#include <QtTest>

using namespace commy::broker;

namespace {

#define QVERIFY_OK(expr)                                                                                               \
    do {                                                                                                               \
        const auto& result_ = (expr);                                                                                  \
        QVERIFY2(result_.hasValue(), #expr " failed");                                                                 \
    } while (false)

#define COMPARE_STORE_ERROR(expr, expected)                                                                            \
    do {                                                                                                               \
        const auto& result_ = (expr);                                                                                  \
        QVERIFY2(!result_.hasValue(), #expr " unexpectedly succeeded");                                                \
        QCOMPARE(result_.error(), expected);                                                                           \
    } while (false)

// A second, independent connection to the database file, to look at what the store really wrote.
class DirectDb {
public:
    explicit DirectDb(const QString& path)
        : m_name(QStringLiteral("direct-%1").arg(counter().fetchAndAddRelaxed(1)))
    {
        m_db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_name);
        m_db.setDatabaseName(path);
        m_db.open();
    }
    ~DirectDb()
    {
        m_db.close();
        m_db = QSqlDatabase();
        QSqlDatabase::removeDatabase(m_name);
    }
    DirectDb(const DirectDb&) = delete;
    DirectDb& operator=(const DirectDb&) = delete;

    bool isOpen() const { return m_db.isOpen(); }

    bool exec(const QString& sql)
    {
        QSqlQuery query(m_db);
        return query.exec(sql);
    }

    // Every value of every row, as raw bytes.
    QList<QList<QVariant>> rows(const QString& sql)
    {
        QSqlQuery query(m_db);
        QList<QList<QVariant>> result;
        if (!query.exec(sql))
            return result;
        while (query.next()) {
            QList<QVariant> row;
            for (int i = 0; i < query.record().count(); ++i)
                row.append(query.value(i));
            result.append(row);
        }
        return result;
    }

    qint64 count(const QString& table)
    {
        return rows(QStringLiteral("SELECT COUNT(*) FROM ") + table)[0][0].toLongLong();
    }

private:
    static QAtomicInteger<int>& counter()
    {
        static QAtomicInteger<int> value;
        return value;
    }
    QString m_name;
    QSqlDatabase m_db;
};

const Owner kServer = std::nullopt;

} // namespace

class TestStore : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    qint64 m_now = 1'700'000'000'000;

    std::unique_ptr<Store> openStore(const QString& dir)
    {
        auto store = Store::open({ dir, [this] { return m_now; } });
        if (!store)
            return nullptr;
        return std::move(store).value();
    }

    QString freshDir()
    {
        static int n = 0;
        return m_dir.filePath(QStringLiteral("data%1").arg(++n));
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void scopesParseAndFormat()
    {
        const Scopes all = kTenantScopes | Scope::ServerAdmin;
        QCOMPARE(formatScopes(all), QStringList({ "read", "write", "subscribe", "map", "admin", "server_admin" }));
        QCOMPARE(parseScopes(formatScopes(all)), std::optional<Scopes>(all));
        QCOMPARE(parseScopes({ "write", "read", "read" }), std::optional<Scopes>(Scope::Read | Scope::Write));
        QCOMPARE(parseScopes({ "read", "root" }), std::nullopt);
        QCOMPARE(parseScopes({ "READ" }), std::nullopt);
        QCOMPARE(scopesToText(Scope::Map | Scope::Read), QStringLiteral("read,map"));
        QCOMPARE(scopesFromText(u"read,map"), std::optional<Scopes>(Scope::Map | Scope::Read));
        QCOMPARE(scopesFromText(u""), std::optional<Scopes>(Scopes()));
    }

    void errorCodesMapToTheProtocol()
    {
        using commy::protocol::ErrorCode;
        QCOMPARE(toErrorCode(StoreError::AuthenticationFailed), ErrorCode::Unauthorized);
        QCOMPARE(toErrorCode(StoreError::NotFound), ErrorCode::NotFound);
        QCOMPARE(toErrorCode(StoreError::AlreadyExists), ErrorCode::AlreadyExists);
        QCOMPARE(toErrorCode(StoreError::InvalidName), ErrorCode::InvalidRequest);
        QCOMPARE(toErrorCode(StoreError::Database), ErrorCode::InternalError);
    }

    void openCreatesTheLatestSchema()
    {
        const QString dir = freshDir();
        auto store = openStore(dir);
        QVERIFY(store);
        QCOMPARE(store->schemaVersion(), Store::latestSchemaVersion());
        QCOMPARE(store->databasePath(), QDir(dir).absoluteFilePath("commy.db"));
        QVERIFY(QFile::exists(store->databasePath()));
        QCOMPARE(
            QFile::permissions(store->databasePath()) & (QFile::ReadGroup | QFile::ReadOther), QFile::Permissions());
        // A second store on the same file has its own connection.
        auto second = openStore(dir);
        QVERIFY(second);
        QVERIFY_OK(store->createTenant("acme"));
        QCOMPARE(second->listTenants()->size(), 1);
    }

    void dataSurvivesReopening()
    {
        const QString dir = freshDir();
        QString key;
        QString token;
        {
            auto store = openStore(dir);
            QVERIFY(store);
            QVERIFY_OK(store->createTenant("acme"));
            QVERIFY_OK(store->createTenant("globex"));
            QVERIFY_OK(store->createService("acme", "sensors", 65536, 100));
            auto created = store->createKey("acme", Scope::Read | Scope::Subscribe, "dashboard");
            QVERIFY_OK(created);
            key = created->key;
            auto issued = store->issueToken("acme", Scope::Read);
            QVERIFY_OK(issued);
            token = issued->token;
            QVERIFY_OK(store->appendAudit("admin", "CreateTenant", "acme"));
        }
        auto store = openStore(dir);
        QVERIFY(store);
        auto tenants = store->listTenants();
        QVERIFY_OK(tenants);
        QCOMPARE(tenants->size(), 2);
        QCOMPARE(tenants->at(0).name, QStringLiteral("acme"));
        QCOMPARE(tenants->at(0).createdAt, m_now);
        auto service = store->getService("acme", "sensors");
        QVERIFY_OK(service);
        QCOMPARE(service->size, 65536);
        QCOMPARE(service->limit, 100);
        auto scopes = store->verifyKey("acme", key);
        QVERIFY_OK(scopes);
        QCOMPARE(*scopes, Scope::Read | Scope::Subscribe);
        auto grant = store->verifyToken("acme", token);
        QVERIFY_OK(grant);
        QCOMPARE(grant->scopes, Scopes(Scope::Read));
        QCOMPARE(store->listAudit()->size(), 1);
    }

    void migratesAVersion1Database()
    {
        const QString dir = freshDir();
        QVERIFY(QDir().mkpath(dir));
        {
            // The schema exactly as migration step 1 wrote it, with data in it.
            DirectDb db(QDir(dir).filePath("commy.db"));
            QVERIFY(db.isOpen());
            QVERIFY(db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)"));
            QVERIFY(db.exec("INSERT INTO schema_version (version) VALUES (1)"));
            QVERIFY(db.exec("CREATE TABLE tenants (name TEXT PRIMARY KEY NOT NULL, created_at INTEGER NOT NULL)"));
            QVERIFY(db.exec("CREATE TABLE services (tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
                            " name TEXT NOT NULL, size INTEGER NOT NULL, \"limit\" INTEGER NOT NULL,"
                            " created_at INTEGER NOT NULL, PRIMARY KEY (tenant, name))"));
            QVERIFY(db.exec("CREATE TABLE api_keys (key_id TEXT PRIMARY KEY NOT NULL,"
                            " tenant TEXT REFERENCES tenants(name) ON DELETE CASCADE, name TEXT NOT NULL,"
                            " scopes TEXT NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL,"
                            " iterations INTEGER NOT NULL, created_at INTEGER NOT NULL,"
                            " revoked INTEGER NOT NULL DEFAULT 0)"));
            QVERIFY(db.exec("CREATE TABLE tokens (hash BLOB PRIMARY KEY NOT NULL,"
                            " tenant TEXT REFERENCES tenants(name) ON DELETE CASCADE, scopes TEXT NOT NULL,"
                            " expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)"));
            QVERIFY(db.exec("INSERT INTO tenants VALUES ('legacy', 42)"));
            QVERIFY(db.exec("INSERT INTO services VALUES ('legacy', 'old', 4096, 0, 43)"));
            QCOMPARE(db.count("sqlite_master WHERE name = 'audit_log'"), 0);
        }
        {
            auto store = openStore(dir);
            QVERIFY(store);
            QCOMPARE(store->schemaVersion(), Store::latestSchemaVersion());
            QCOMPARE(store->listTenants()->at(0).name, QStringLiteral("legacy"));
            QCOMPARE(store->getService("legacy", "old")->size, 4096);
            QVERIFY_OK(store->appendAudit("admin", "Migrated", "legacy"));
        }
        {
            DirectDb db(QDir(dir).filePath("commy.db"));
            QCOMPARE(db.rows("SELECT version FROM schema_version"),
                QList<QList<QVariant>>({ { Store::latestSchemaVersion() } }));
            QCOMPARE(db.count("pragma_table_info('tokens') WHERE name = 'key_id'"), 1);
        }
        auto store = openStore(dir);
        QVERIFY(store);
        QCOMPARE(store->schemaVersion(), Store::latestSchemaVersion());
        QCOMPARE(store->listAudit()->size(), 1);
        QCOMPARE(store->listServices("legacy")->size(), 1);
    }

    void aFailedMigrationStepChangesNothing()
    {
        const QString dir = freshDir();
        QVERIFY(QDir().mkpath(dir));
        {
            // A version 1 file that already has an index named like step 2's last one, so the step
            // fails after creating audit_log and api_keys_tenant: its transaction must roll back whole.
            DirectDb db(QDir(dir).filePath("commy.db"));
            QVERIFY(db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)"));
            QVERIFY(db.exec("INSERT INTO schema_version (version) VALUES (1)"));
            QVERIFY(db.exec("CREATE TABLE tenants (name TEXT PRIMARY KEY NOT NULL, created_at INTEGER NOT NULL)"));
            QVERIFY(db.exec("CREATE TABLE api_keys (key_id TEXT PRIMARY KEY NOT NULL, tenant TEXT)"));
            QVERIFY(db.exec("CREATE TABLE tokens (hash BLOB PRIMARY KEY NOT NULL, tenant TEXT)"));
            QVERIFY(db.exec("CREATE INDEX tokens_tenant ON tenants(created_at)"));
        }
        COMPARE_STORE_ERROR(Store::open({ dir, {} }), StoreError::Database);
        DirectDb db(QDir(dir).filePath("commy.db"));
        QCOMPARE(db.rows("SELECT version FROM schema_version"), QList<QList<QVariant>>({ { 1 } }));
        QCOMPARE(db.count("sqlite_master WHERE name IN ('audit_log', 'api_keys_tenant')"), 0);
        QCOMPARE(db.count("sqlite_master WHERE name = 'tokens_tenant'"), 1);
    }

    void refusesANewerSchema()
    {
        const QString dir = freshDir();
        QVERIFY(openStore(dir));
        {
            DirectDb db(QDir(dir).filePath("commy.db"));
            QVERIFY(db.exec("UPDATE schema_version SET version = 99"));
        }
        auto store = Store::open({ dir, {} });
        COMPARE_STORE_ERROR(store, StoreError::Database);
    }

    void tenantsAndServices()
    {
        auto store = openStore(freshDir());
        QVERIFY(store);
        QVERIFY_OK(store->createTenant("acme"));
        COMPARE_STORE_ERROR(store->createTenant("acme"), StoreError::AlreadyExists);
        QCOMPARE(*store->tenantExists("acme"), true);
        QCOMPARE(*store->tenantExists("nobody"), false);

        auto created = store->createService("acme", "sensors", 1 << 20, 0);
        QVERIFY_OK(created);
        QCOMPARE(created->tenant, QStringLiteral("acme"));
        QCOMPARE(created->createdAt, m_now);
        COMPARE_STORE_ERROR(store->createService("acme", "sensors", 1 << 20, 0), StoreError::AlreadyExists);
        COMPARE_STORE_ERROR(store->createService("nobody", "sensors", 1 << 20, 0), StoreError::NotFound);
        COMPARE_STORE_ERROR(store->createService("acme", "zero", 0, 0), StoreError::InvalidArgument);
        COMPARE_STORE_ERROR(store->createService("acme", "neg", 4096, -1), StoreError::InvalidArgument);
        QVERIFY_OK(store->createService("acme", "alpha", 4096, 10));
        auto services = store->listServices("acme");
        QVERIFY_OK(services);
        QCOMPARE(services->size(), 2);
        QCOMPARE(services->at(0).name, QStringLiteral("alpha"));
        QCOMPARE(services->at(1).name, QStringLiteral("sensors"));
        COMPARE_STORE_ERROR(store->listServices("nobody"), StoreError::NotFound);

        QVERIFY_OK(store->deleteService("acme", "alpha"));
        COMPARE_STORE_ERROR(store->deleteService("acme", "alpha"), StoreError::NotFound);
        COMPARE_STORE_ERROR(store->getService("acme", "alpha"), StoreError::NotFound);
        QCOMPARE(store->listServices("acme")->size(), 1);

        QVERIFY_OK(store->deleteTenant("acme"));
        COMPARE_STORE_ERROR(store->deleteTenant("acme"), StoreError::NotFound);
        QVERIFY(store->listTenants()->isEmpty());
    }

    void invalidNamesAreRejected_data()
    {
        QTest::addColumn<QString>("name");
        QTest::newRow("empty") << QString();
        QTest::newRow("dot") << QStringLiteral(".");
        QTest::newRow("dotdot") << QStringLiteral("..");
        QTest::newRow("slash") << QStringLiteral("a/b");
        QTest::newRow("traversal") << QStringLiteral("../etc");
        QTest::newRow("space") << QStringLiteral("a b");
        QTest::newRow("quote") << QStringLiteral("a'; DROP TABLE tenants; --");
        QTest::newRow("non-ascii") << QStringLiteral("caf\u00e9");
        QTest::newRow("too long") << QString(65, QLatin1Char('n'));
    }

    void invalidNamesAreRejected()
    {
        QFETCH(QString, name);
        auto store = openStore(freshDir());
        QVERIFY(store);
        QVERIFY_OK(store->createTenant("acme"));
        COMPARE_STORE_ERROR(store->createTenant(name), StoreError::InvalidName);
        COMPARE_STORE_ERROR(store->deleteTenant(name), StoreError::InvalidName);
        COMPARE_STORE_ERROR(store->createService("acme", name, 4096, 0), StoreError::InvalidName);
        COMPARE_STORE_ERROR(store->createService(name, "svc", 4096, 0), StoreError::InvalidName);
        COMPARE_STORE_ERROR(store->getService("acme", name), StoreError::InvalidName);
        COMPARE_STORE_ERROR(store->listServices(name), StoreError::InvalidName);
        COMPARE_STORE_ERROR(store->issueToken(name, Scope::Read), StoreError::InvalidName);
        COMPARE_STORE_ERROR(store->listKeys(name), StoreError::InvalidName);
        COMPARE_STORE_ERROR(store->revokeKey("acme", name), StoreError::InvalidName);
        if (!name.isEmpty()) // an empty key name means "no name"
            COMPARE_STORE_ERROR(store->createKey("acme", Scope::Read, name), StoreError::InvalidName);
        COMPARE_STORE_ERROR(store->createKey(name, Scope::Read), StoreError::InvalidName);
        QCOMPARE(store->listTenants()->size(), 1);
        QCOMPARE(store->listServices("acme")->size(), 0);
    }

    void keysVerify()
    {
        auto store = openStore(freshDir());
        QVERIFY(store);
        QVERIFY_OK(store->createTenant("acme"));
        auto created = store->createKey("acme", Scope::Read | Scope::Write | Scope::Admin, "ops");
        QVERIFY_OK(created);
        QVERIFY(created->key.startsWith(created->keyId + QLatin1Char('.')));
        QCOMPARE(created->keyId.size(), 12);
        // 32 random bytes in unpadded base64url.
        const QString secret = created->key.mid(created->keyId.size() + 1);
        QCOMPARE(secret.size(), 43);
        QCOMPARE(QByteArray::fromBase64(secret.toLatin1(), QByteArray::Base64UrlEncoding).size(), 32);

        QElapsedTimer timer;
        timer.start();
        auto scopes = store->verifyKey("acme", created->key);
        const qint64 elapsed = timer.elapsed();
        QVERIFY_OK(scopes);
        QCOMPARE(*scopes, Scope::Read | Scope::Write | Scope::Admin);
        qInfo("one key verification: %lld ms", static_cast<long long>(elapsed));

        auto keys = store->listKeys("acme");
        QVERIFY_OK(keys);
        QCOMPARE(keys->size(), 1);
        QCOMPARE(keys->at(0).keyId, created->keyId);
        QCOMPARE(keys->at(0).name, QStringLiteral("ops"));
        QCOMPARE(keys->at(0).tenant, Owner("acme"));
        QCOMPARE(keys->at(0).scopes, Scope::Read | Scope::Write | Scope::Admin);
        QCOMPARE(keys->at(0).revoked, false);
        COMPARE_STORE_ERROR(store->listKeys("nobody"), StoreError::NotFound);
    }

    void keyScopesMatchTheOwner()
    {
        auto store = openStore(freshDir());
        QVERIFY(store);
        QVERIFY_OK(store->createTenant("acme"));
        COMPARE_STORE_ERROR(store->createKey("acme", Scope::ServerAdmin), StoreError::InvalidArgument);
        COMPARE_STORE_ERROR(store->createKey("acme", Scope::Read | Scope::ServerAdmin), StoreError::InvalidArgument);
        COMPARE_STORE_ERROR(store->createKey("acme", Scopes()), StoreError::InvalidArgument);
        COMPARE_STORE_ERROR(store->createKey(kServer, Scope::Read), StoreError::InvalidArgument);
        COMPARE_STORE_ERROR(store->createKey(kServer, Scope::ServerAdmin | Scope::Admin), StoreError::InvalidArgument);
        COMPARE_STORE_ERROR(store->createKey("nobody", Scope::Read), StoreError::NotFound);
        COMPARE_STORE_ERROR(store->issueToken("acme", Scope::ServerAdmin), StoreError::InvalidArgument);
        COMPARE_STORE_ERROR(store->issueToken(kServer, Scope::Admin), StoreError::InvalidArgument);
        QVERIFY(store->listKeys("acme")->isEmpty());
    }

    void serverKeys()
    {
        auto store = openStore(freshDir());
        QVERIFY(store);
        QVERIFY_OK(store->createTenant("acme"));
        auto server = store->createKey(kServer, Scope::ServerAdmin, "bootstrap");
        QVERIFY_OK(server);
        auto scopes = store->verifyKey(kServer, server->key);
        QVERIFY_OK(scopes);
        QCOMPARE(*scopes, Scopes(Scope::ServerAdmin));
        // A server key is not a key of any tenant, and a tenant key is not a server key.
        COMPARE_STORE_ERROR(store->verifyKey("acme", server->key), StoreError::AuthenticationFailed);
        auto tenantKey = store->createKey("acme", Scope::Admin);
        QVERIFY_OK(tenantKey);
        COMPARE_STORE_ERROR(store->verifyKey(kServer, tenantKey->key), StoreError::AuthenticationFailed);
        auto keys = store->listKeys(kServer);
        QVERIFY_OK(keys);
        QCOMPARE(keys->size(), 1);
        QCOMPARE(keys->at(0).tenant, kServer);
        QCOMPARE(keys->at(0).name, QStringLiteral("bootstrap"));
        COMPARE_STORE_ERROR(store->revokeKey("acme", server->keyId), StoreError::NotFound);
        QVERIFY_OK(store->revokeKey(kServer, server->keyId));
        COMPARE_STORE_ERROR(store->verifyKey(kServer, server->key), StoreError::AuthenticationFailed);
    }

    void failedKeyVerificationsLookTheSame()
    {
        auto store = openStore(freshDir());
        QVERIFY(store);
        QVERIFY_OK(store->createTenant("acme"));
        QVERIFY_OK(store->createTenant("globex"));
        auto good = store->createKey("acme", Scope::Read);
        auto revoked = store->createKey("acme", Scope::Read);
        QVERIFY_OK(good);
        QVERIFY_OK(revoked);
        QVERIFY_OK(store->revokeKey("acme", revoked->keyId));
        const auto keys = store->listKeys("acme");
        QVERIFY_OK(keys);
        QCOMPARE(std::count_if(keys->begin(), keys->end(), [](const KeyInfo& k) { return k.revoked; }), 1);
        const QString secret = good->key.mid(good->keyId.size() + 1);
        QString wrongSecret = secret;
        wrongSecret[0] = wrongSecret[0] == QLatin1Char('A') ? QLatin1Char('B') : QLatin1Char('A');

        const QList<std::pair<Owner, QString>> attempts {
            { "acme", good->keyId + "." + wrongSecret }, // wrong secret
            { "acme", "unknownKeyId." + secret }, // unknown key id
            { "nobody", good->key }, // unknown tenant
            { "globex", good->key }, // another tenant
            { "acme", revoked->key }, // revoked
            { "acme", secret }, // no key id
            { "acme", good->keyId + "." }, // no secret
            { "acme", QString() }, { "../acme", good->key }, // invalid tenant name
        };
        for (const auto& [owner, presented] : attempts) {
            const auto result = store->verifyKey(owner, presented);
            QVERIFY2(!result.hasValue(), qPrintable(presented));
            QCOMPARE(result.error(), StoreError::AuthenticationFailed);
        }
        QVERIFY_OK(store->verifyKey("acme", good->key));
        COMPARE_STORE_ERROR(store->revokeKey("acme", "unknownKeyId"), StoreError::NotFound);
    }

    void storedKeyMaterialIsNotTheSecret()
    {
        auto store = openStore(freshDir());
        QVERIFY(store);
        QVERIFY_OK(store->createTenant("acme"));
        auto created = store->createKey("acme", Scope::Read, "k");
        QVERIFY_OK(created);
        const QString secret = created->key.mid(created->keyId.size() + 1);
        const QByteArray rawSecret = QByteArray::fromBase64(secret.toLatin1(), QByteArray::Base64UrlEncoding);

        DirectDb db(store->databasePath());
        const auto rows = db.rows("SELECT key_id, salt, hash, iterations, tenant, name, scopes FROM api_keys");
        QCOMPARE(rows.size(), 1);
        for (const QVariant& value : rows[0]) {
            const QByteArray bytes = value.toByteArray();
            QVERIFY(!bytes.contains(secret.toLatin1()));
            QVERIFY(!bytes.contains(rawSecret));
        }
        // No column anywhere in the file holds the secret either (journals included).
        QFile file(store->databasePath());
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray everything = file.readAll();
        QVERIFY(!everything.contains(secret.toLatin1()));
        QVERIFY(!everything.contains(rawSecret));

        const QByteArray salt = rows[0][1].toByteArray();
        const QByteArray hash = rows[0][2].toByteArray();
        const int iterations = rows[0][3].toInt();
        QVERIFY(iterations >= 100'000);
        QCOMPARE(salt.size(), 16);
        QCOMPARE(hash.size(), 32);
        // It is PBKDF2-HMAC-SHA256 of the secret with that salt and count.
        QCOMPARE(QPasswordDigestor::deriveKeyPbkdf2(QCryptographicHash::Sha256, secret.toUtf8(), salt, iterations, 32),
            hash);

        // Salts are per key: the same scopes and owner give unrelated material.
        auto other = store->createKey("acme", Scope::Read, "k");
        QVERIFY_OK(other);
        const auto both = db.rows("SELECT salt, hash FROM api_keys");
        QCOMPARE(both.size(), 2);
        QVERIFY(both[0][0] != both[1][0]);
        QVERIFY(both[0][1] != both[1][1]);
    }

    // Key ids are command-line arguments (commyctl key revoke ID): none starts with '-' or '_'. Each
    // random id would start with one of them 1 time in 32, so 150 keys miss a regression 1 time in 118.
    void keyIdsStartWithALetterOrDigit()
    {
        auto store = openStore(freshDir());
        QVERIFY(store);
        QVERIFY_OK(store->createTenant("acme"));
        for (int i = 0; i < 150; ++i) {
            auto created = store->createKey("acme", Scope::Read, "k");
            QVERIFY_OK(created);
            QVERIFY2(created->keyId.front().isLetterOrNumber(), qPrintable(created->keyId));
        }
    }

    void iterationsBelowTheMinimumAreRaised()
    {
        const QString dir = freshDir();
        auto opened = Store::open({ dir, {}, 1000 });
        QVERIFY_OK(opened);
        auto& store = *opened;
        QVERIFY_OK(store->createTenant("acme"));
        QVERIFY_OK(store->createKey("acme", Scope::Read));
        DirectDb db(store->databasePath());
        QCOMPARE(db.rows("SELECT iterations FROM api_keys")[0][0].toInt(), Store::kMinPbkdf2Iterations);
    }

    void tokensExpireOnTheClock()
    {
        auto store = openStore(freshDir());
        QVERIFY(store);
        QVERIFY_OK(store->createTenant("acme"));
        auto issued = store->issueToken("acme", Scope::Read | Scope::Subscribe, 1000);
        QVERIFY_OK(issued);
        QCOMPARE(issued->expiresAt, m_now + 1000);
        auto grant = store->verifyToken("acme", issued->token);
        QVERIFY_OK(grant);
        QCOMPARE(grant->scopes, Scope::Read | Scope::Subscribe);
        QCOMPARE(grant->expiresAt, m_now + 1000);

        m_now += 999;
        QVERIFY_OK(store->verifyToken("acme", issued->token));
        m_now += 1;
        COMPARE_STORE_ERROR(store->verifyToken("acme", issued->token), StoreError::AuthenticationFailed);

        auto standard = store->issueToken("acme", Scope::Read);
        QVERIFY_OK(standard);
        QCOMPARE(standard->expiresAt, m_now + Store::kDefaultTokenTtlMs);
        COMPARE_STORE_ERROR(store->issueToken("acme", Scope::Read, 0), StoreError::InvalidArgument);
        COMPARE_STORE_ERROR(store->issueToken("nobody", Scope::Read), StoreError::NotFound);
    }

    void tokensRevokeAndBelongToTheirOwner()
    {
        auto store = openStore(freshDir());
        QVERIFY(store);
        QVERIFY_OK(store->createTenant("acme"));
        QVERIFY_OK(store->createTenant("globex"));
        auto issued = store->issueToken("acme", Scope::Write);
        auto server = store->issueToken(kServer, Scope::ServerAdmin);
        QVERIFY_OK(issued);
        QVERIFY_OK(server);
        QCOMPARE(issued->token.size(), 43);
        COMPARE_STORE_ERROR(store->verifyToken("globex", issued->token), StoreError::AuthenticationFailed);
        COMPARE_STORE_ERROR(store->verifyToken(kServer, issued->token), StoreError::AuthenticationFailed);
        COMPARE_STORE_ERROR(store->verifyToken("acme", server->token), StoreError::AuthenticationFailed);
        COMPARE_STORE_ERROR(store->verifyToken("acme", "not-a-token"), StoreError::AuthenticationFailed);
        QCOMPARE(store->verifyToken(kServer, server->token)->scopes, Scopes(Scope::ServerAdmin));

        {
            // Only the SHA-256 of the token is stored.
            DirectDb db(store->databasePath());
            const auto rows = db.rows("SELECT hash, tenant, scopes FROM tokens");
            QCOMPARE(rows.size(), 2);
            for (const auto& row : rows) {
                for (const QVariant& value : row)
                    QVERIFY(!value.toByteArray().contains(issued->token.toLatin1()));
            }
            const QByteArray expected = QCryptographicHash::hash(issued->token.toUtf8(), QCryptographicHash::Sha256);
            QVERIFY(rows[0][0].toByteArray() == expected || rows[1][0].toByteArray() == expected);
        }

        COMPARE_STORE_ERROR(store->revokeToken("globex", issued->token), StoreError::NotFound);
        QVERIFY_OK(store->revokeToken("acme", issued->token));
        COMPARE_STORE_ERROR(store->verifyToken("acme", issued->token), StoreError::AuthenticationFailed);
        COMPARE_STORE_ERROR(store->revokeToken("acme", "not-a-token"), StoreError::NotFound);
        QVERIFY_OK(store->verifyToken(kServer, server->token));
    }

    void purgeRemovesOnlyDeadTokens()
    {
        auto store = openStore(freshDir());
        QVERIFY(store);
        QVERIFY_OK(store->createTenant("acme"));
        auto shortLived = store->issueToken("acme", Scope::Read, 1000);
        auto revoked = store->issueToken("acme", Scope::Read);
        auto live = store->issueToken("acme", Scope::Read);
        QVERIFY_OK(shortLived);
        QVERIFY_OK(revoked);
        QVERIFY_OK(live);
        QVERIFY_OK(store->revokeToken("acme", revoked->token));
        auto purged = store->purgeTokens();
        QVERIFY_OK(purged);
        QCOMPARE(*purged, 1);
        QVERIFY_OK(store->verifyToken("acme", shortLived->token));
        m_now += 1000;
        purged = store->purgeTokens();
        QVERIFY_OK(purged);
        QCOMPARE(*purged, 1);
        QVERIFY_OK(store->verifyToken("acme", live->token));
        DirectDb db(store->databasePath());
        QCOMPARE(db.count("tokens"), 1);
    }

    void revokingAKeyRevokesItsTokens()
    {
        auto store = openStore(freshDir());
        QVERIFY(store);
        QVERIFY_OK(store->createTenant("acme"));
        auto first = store->createKey("acme", Scope::Read);
        auto second = store->createKey("acme", Scope::Read);
        QVERIFY_OK(first);
        QVERIFY_OK(second);
        auto fromFirst = store->issueToken("acme", Scope::Read, Store::kDefaultTokenTtlMs, first->keyId);
        auto fromSecond = store->issueToken("acme", Scope::Read, Store::kDefaultTokenTtlMs, second->keyId);
        auto unbound = store->issueToken("acme", Scope::Read);
        QVERIFY_OK(fromFirst);
        QVERIFY_OK(fromSecond);
        QVERIFY_OK(unbound);
        COMPARE_STORE_ERROR(store->issueToken("acme", Scope::Read, 1000, "unknownKeyId"), StoreError::NotFound);
        COMPARE_STORE_ERROR(store->issueToken(kServer, Scope::ServerAdmin, 1000, first->keyId), StoreError::NotFound);

        QVERIFY_OK(store->revokeKey("acme", first->keyId));
        COMPARE_STORE_ERROR(store->verifyToken("acme", fromFirst->token), StoreError::AuthenticationFailed);
        QVERIFY_OK(store->verifyToken("acme", fromSecond->token));
        QVERIFY_OK(store->verifyToken("acme", unbound->token));
        COMPARE_STORE_ERROR(store->issueToken("acme", Scope::Read, 1000, first->keyId), StoreError::NotFound);
    }

    void deletingATenantCascades()
    {
        auto store = openStore(freshDir());
        QVERIFY(store);
        QVERIFY_OK(store->createTenant("acme"));
        QVERIFY_OK(store->createTenant("globex"));
        QVERIFY_OK(store->createService("acme", "a", 4096, 0));
        QVERIFY_OK(store->createService("acme", "b", 4096, 0));
        QVERIFY_OK(store->createService("globex", "a", 4096, 0));
        auto key = store->createKey("acme", Scope::Admin);
        QVERIFY_OK(key);
        auto token = store->issueToken("acme", Scope::Admin);
        QVERIFY_OK(token);
        auto otherToken = store->issueToken("globex", Scope::Read);
        QVERIFY_OK(otherToken);

        QVERIFY_OK(store->deleteTenant("acme"));
        {
            DirectDb db(store->databasePath());
            QCOMPARE(db.count("services WHERE tenant = 'acme'"), 0);
            QCOMPARE(db.count("api_keys WHERE tenant = 'acme'"), 0);
            QCOMPARE(db.count("tokens WHERE tenant = 'acme'"), 0);
            QCOMPARE(db.count("services"), 1);
            QCOMPARE(db.count("tokens"), 1);
        }
        COMPARE_STORE_ERROR(store->verifyKey("acme", key->key), StoreError::AuthenticationFailed);
        COMPARE_STORE_ERROR(store->verifyToken("acme", token->token), StoreError::AuthenticationFailed);
        COMPARE_STORE_ERROR(store->listServices("acme"), StoreError::NotFound);

        // A tenant created again under the same name starts empty.
        QVERIFY_OK(store->createTenant("acme"));
        QVERIFY(store->listServices("acme")->isEmpty());
        QVERIFY(store->listKeys("acme")->isEmpty());
        COMPARE_STORE_ERROR(store->verifyToken("acme", token->token), StoreError::AuthenticationFailed);
        QVERIFY_OK(store->verifyToken("globex", otherToken->token));
        QCOMPARE(store->listServices("globex")->size(), 1);
    }

    void auditEntriesAreRecorded()
    {
        auto store = openStore(freshDir());
        QVERIFY(store);
        const qint64 start = m_now;
        QVERIFY_OK(store->appendAudit("server:key1", "CreateTenant", "acme"));
        m_now += 5;
        QVERIFY_OK(store->appendAudit("acme:key2", "CreateKey", "acme/key3", "scopes=read"));
        COMPARE_STORE_ERROR(store->appendAudit("x", QString(), "y"), StoreError::InvalidArgument);
        auto entries = store->listAudit();
        QVERIFY_OK(entries);
        QCOMPARE(entries->size(), 2);
        QCOMPARE(entries->at(0).time, start);
        QCOMPARE(entries->at(0).actor, QStringLiteral("server:key1"));
        QCOMPARE(entries->at(0).action, QStringLiteral("CreateTenant"));
        QCOMPARE(entries->at(0).target, QStringLiteral("acme"));
        QCOMPARE(entries->at(0).detail, QString());
        QCOMPARE(entries->at(1).time, start + 5);
        QCOMPARE(entries->at(1).detail, QStringLiteral("scopes=read"));
        QVERIFY(entries->at(0).id < entries->at(1).id);
    }

    void passwordUsers()
    {
        auto store = openStore(freshDir());
        QVERIFY(store);
        QVERIFY_OK(store->createTenant("acme"));
        COMPARE_STORE_ERROR(store->createUser("acme", "bob", "short", Scope::Read), StoreError::InvalidArgument);
        COMPARE_STORE_ERROR(
            store->createUser("acme", "bob", "long enough", Scope::ServerAdmin), StoreError::InvalidArgument);
        COMPARE_STORE_ERROR(store->createUser("nobody", "bob", "long enough", Scope::Read), StoreError::NotFound);
        COMPARE_STORE_ERROR(store->createUser("acme", "../bob", "long enough", Scope::Read), StoreError::InvalidName);
        QVERIFY_OK(store->createUser("acme", "bob", "long enough", Scope::Read | Scope::Subscribe));
        COMPARE_STORE_ERROR(store->createUser("acme", "bob", "other password", Scope::Read), StoreError::AlreadyExists);
        auto scopes = store->verifyPassword("acme", "bob", "long enough");
        QVERIFY_OK(scopes);
        QCOMPARE(*scopes, Scope::Read | Scope::Subscribe);
        COMPARE_STORE_ERROR(store->verifyPassword("acme", "bob", "long enougH"), StoreError::AuthenticationFailed);
        COMPARE_STORE_ERROR(store->verifyPassword("acme", "eve", "long enough"), StoreError::AuthenticationFailed);
        COMPARE_STORE_ERROR(store->verifyPassword("other", "bob", "long enough"), StoreError::AuthenticationFailed);
        // The password itself is nowhere in the file.
        QFile file(store->databasePath());
        QVERIFY(file.open(QIODevice::ReadOnly));
        QVERIFY(!file.readAll().contains("long enough"));
        QVERIFY_OK(store->deleteUser("acme", "bob"));
        COMPARE_STORE_ERROR(store->deleteUser("acme", "bob"), StoreError::NotFound);
        COMPARE_STORE_ERROR(store->verifyPassword("acme", "bob", "long enough"), StoreError::AuthenticationFailed);
    }

    void presetKeys()
    {
        auto store = openStore(freshDir());
        QVERIFY(store);
        const QString preset = QStringLiteral("bootstrap1.0123456789abcdef");
        COMPARE_STORE_ERROR(
            store->createKey(std::nullopt, Scope::ServerAdmin, {}, "id.tooshort"), StoreError::InvalidArgument);
        COMPARE_STORE_ERROR(
            store->createKey(std::nullopt, Scope::ServerAdmin, {}, "nodot"), StoreError::InvalidArgument);
        COMPARE_STORE_ERROR(store->createKey(std::nullopt, Scope::ServerAdmin, {}, "../x.0123456789abcdef"),
            StoreError::InvalidArgument);
        auto created = store->createKey(std::nullopt, Scope::ServerAdmin, {}, preset);
        QVERIFY_OK(created);
        QCOMPARE(created->key, preset);
        QCOMPARE(created->keyId, QStringLiteral("bootstrap1"));
        COMPARE_STORE_ERROR(store->createKey(std::nullopt, Scope::ServerAdmin, {}, preset), StoreError::AlreadyExists);
        auto scopes = store->verifyKey(std::nullopt, preset);
        QVERIFY_OK(scopes);
        QCOMPARE(*scopes, Scopes(Scope::ServerAdmin));
    }
};

QTEST_GUILESS_MAIN(TestStore)
#include "tst_store.moc"
