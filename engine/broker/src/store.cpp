#include <commy/broker/store.h>

#include <commy/protocol/names.h>

#include <QAtomicInteger>
#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QRandomGenerator>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

#include <initializer_list>
#include <openssl/evp.h>
#include <vector>

namespace commy::broker {

using protocol::isValidName;

namespace {

constexpr qsizetype kKeyIdBytes = 9; // 12 base64url characters
constexpr qsizetype kSecretBytes = 32;
constexpr qsizetype kSaltBytes = 16;
constexpr qsizetype kDerivedKeyBytes = 32;
constexpr qsizetype kTokenBytes = 32;

// Each step runs in one transaction together with the version bump, so a crash mid-migration
// leaves the previous version intact. Steps are append-only: a released step never changes.
const std::vector<std::vector<const char*>>& migrationSteps()
{
    static const std::vector<std::vector<const char*>> steps {
        // 1: tenants, services and credentials.
        {
            "CREATE TABLE tenants (name TEXT PRIMARY KEY NOT NULL, created_at INTEGER NOT NULL)",
            "CREATE TABLE services (tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
            " name TEXT NOT NULL, size INTEGER NOT NULL, \"limit\" INTEGER NOT NULL,"
            " created_at INTEGER NOT NULL, PRIMARY KEY (tenant, name))",
            "CREATE TABLE api_keys (key_id TEXT PRIMARY KEY NOT NULL,"
            " tenant TEXT REFERENCES tenants(name) ON DELETE CASCADE, name TEXT NOT NULL,"
            " scopes TEXT NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL, iterations INTEGER NOT NULL,"
            " created_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)",
            "CREATE TABLE tokens (hash BLOB PRIMARY KEY NOT NULL,"
            " tenant TEXT REFERENCES tenants(name) ON DELETE CASCADE, scopes TEXT NOT NULL,"
            " expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)",
        },
        // 2: the audit log, and indexes that keep a tenant's cascading delete from scanning.
        {
            "CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
            " actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL)",
            "CREATE INDEX api_keys_tenant ON api_keys(tenant)",
            "CREATE INDEX tokens_tenant ON tokens(tenant)",
        },
        // 3: a token remembers the key it was issued for, so revoking the key ends its sessions.
        {
            "ALTER TABLE tokens ADD COLUMN key_id TEXT REFERENCES api_keys(key_id) ON DELETE CASCADE",
            "CREATE INDEX tokens_key ON tokens(key_id)",
        },
        // 4: password users of a tenant (Authenticate method "password").
        {
            "CREATE TABLE users (tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
            " username TEXT NOT NULL, scopes TEXT NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL,"
            " iterations INTEGER NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (tenant, username))",
        },
    };
    return steps;
}

QByteArray randomBytes(qsizetype count)
{
    QByteArray bytes(count, '\0');
    for (qsizetype i = 0; i < count; ++i)
        bytes[i] = static_cast<char>(QRandomGenerator::system()->generate() & 0xffu);
    return bytes;
}

QString base64Url(const QByteArray& bytes)
{
    return QString::fromLatin1(bytes.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
}

// Compares without an early exit, so the time taken does not reveal how many leading bytes match.
bool constantTimeEqual(const QByteArray& a, const QByteArray& b)
{
    if (a.size() != b.size())
        return false;
    unsigned char diff = 0;
    for (qsizetype i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

// PBKDF2-HMAC-SHA256 through OpenSSL's libcrypto: the same bytes as QPasswordDigestor, about ten
// times faster (35 against 390 ms for 100k iterations here), which is what a broker authenticating a
// fleet of clients pays per key. Empty only if libcrypto fails (out of memory); it never verifies.
QByteArray deriveKey(const QString& secret, const QByteArray& salt, int iterations)
{
    const QByteArray password = secret.toUtf8();
    QByteArray derived(kDerivedKeyBytes, Qt::Uninitialized);
    const int ok = PKCS5_PBKDF2_HMAC(password.constData(), int(password.size()),
        reinterpret_cast<const unsigned char*>(salt.constData()), int(salt.size()), iterations, EVP_sha256(),
        int(derived.size()), reinterpret_cast<unsigned char*>(derived.data()));
    return ok == 1 ? derived : QByteArray();
}

// Tokens carry 256 random bits, so guessing one is infeasible and a fast hash suffices: the stored
// SHA-256 only keeps a leaked database from handing out live tokens. Keys get PBKDF2 instead so the
// same reasoning never has to hold for them (they live long and may be copied around).
QByteArray tokenHash(const QString& token)
{
    return QCryptographicHash::hash(token.toUtf8(), QCryptographicHash::Sha256);
}

QVariant ownerValue(const Owner& owner) { return owner ? QVariant(*owner) : QVariant(QMetaType::fromType<QString>()); }

// A null QString binds as SQL NULL; the text columns are NOT NULL, so optional text binds as ''.
QVariant textValue(const QString& text) { return QVariant(text.isNull() ? QStringLiteral("") : text); }

Owner ownerFromValue(const QVariant& value) { return value.isNull() ? Owner() : Owner(value.toString()); }

bool validOwner(const Owner& owner) { return !owner || isValidName(*owner); }

bool validScopes(const Owner& owner, Scopes scopes)
{
    if (!owner)
        return scopes == Scopes(Scope::ServerAdmin);
    return scopes != Scopes() && (scopes & ~kTenantScopes) == Scopes();
}

} // namespace

protocol::ErrorCode toErrorCode(StoreError error)
{
    switch (error) {
    case StoreError::InvalidName:
    case StoreError::InvalidArgument:
        return protocol::ErrorCode::InvalidRequest;
    case StoreError::NotFound:
        return protocol::ErrorCode::NotFound;
    case StoreError::AlreadyExists:
        return protocol::ErrorCode::AlreadyExists;
    case StoreError::AuthenticationFailed:
        return protocol::ErrorCode::Unauthorized;
    case StoreError::Database:
        return protocol::ErrorCode::InternalError;
    }
    return protocol::ErrorCode::InternalError;
}

struct Store::Impl {
    QString connectionName;
    QString path;
    Clock clock;
    int iterations = kMinPbkdf2Iterations;
    int version = 0;
    QString lastError;
    QSqlDatabase db;

    ~Impl()
    {
        if (db.isValid()) {
            db.close();
            db = QSqlDatabase();
        }
        // Only after the last handle to the connection is gone, or Qt warns it is still in use.
        if (!connectionName.isEmpty())
            QSqlDatabase::removeDatabase(connectionName);
    }

    qint64 now() const { return clock(); }

    Unexpected<StoreError> fail(const QSqlError& error)
    {
        lastError = error.text();
        return unexpected(StoreError::Database);
    }

    // Prepares and runs `sql` with positional bindings; the query is left on its result set.
    bool run(QSqlQuery& query, const char* sql, std::initializer_list<QVariant> values = {})
    {
        if (!query.prepare(QString::fromLatin1(sql)))
            return false;
        for (const QVariant& value : values)
            query.addBindValue(value);
        return query.exec();
    }

    StoreExpected<void> exec(const char* sql, std::initializer_list<QVariant> values = {})
    {
        QSqlQuery query(db);
        if (!run(query, sql, values))
            return fail(query.lastError());
        return {};
    }

    StoreExpected<bool> exists(const char* sql, std::initializer_list<QVariant> values)
    {
        QSqlQuery query(db);
        if (!run(query, sql, values))
            return fail(query.lastError());
        return query.next();
    }

    StoreExpected<bool> tenantExists(const QString& tenant)
    {
        return exists("SELECT 1 FROM tenants WHERE name = ?", { tenant });
    }

    StoreExpected<int> readVersion()
    {
        if (auto created = exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); !created)
            return unexpected(created.error());
        QSqlQuery query(db);
        if (!run(query, "SELECT version FROM schema_version"))
            return fail(query.lastError());
        return query.next() ? query.value(0).toInt() : 0;
    }

    StoreExpected<void> migrate()
    {
        auto current = readVersion();
        if (!current)
            return unexpected(current.error());
        const auto& steps = migrationSteps();
        const int latest = static_cast<int>(steps.size());
        if (*current > latest) {
            lastError
                = QStringLiteral("database schema version %1 is newer than this build's %2").arg(*current).arg(latest);
            return unexpected(StoreError::Database);
        }
        for (int step = *current; step < latest; ++step) {
            if (!db.transaction())
                return fail(db.lastError());
            bool ok = true;
            QSqlError error;
            for (const char* sql : steps[static_cast<std::size_t>(step)]) {
                QSqlQuery query(db);
                if (!run(query, sql)) {
                    error = query.lastError();
                    ok = false;
                    break;
                }
            }
            if (ok) {
                QSqlQuery query(db);
                const char* bump = step == 0 ? "INSERT INTO schema_version (version) VALUES (?)"
                                             : "UPDATE schema_version SET version = ?";
                if (!run(query, bump, { step + 1 })) {
                    error = query.lastError();
                    ok = false;
                }
            }
            if (!ok || !db.commit()) {
                if (ok)
                    error = db.lastError();
                db.rollback();
                return fail(error);
            }
        }
        version = latest;
        return {};
    }
};

StoreExpected<std::unique_ptr<Store>> Store::open(Options options)
{
    static QAtomicInteger<quint64> counter;
    auto impl = std::make_unique<Impl>();
    impl->clock = options.clock ? std::move(options.clock) : Clock([] { return QDateTime::currentMSecsSinceEpoch(); });
    impl->iterations = qMax(options.pbkdf2Iterations, kMinPbkdf2Iterations);
    if (options.dataDir.isEmpty() || !QDir().mkpath(options.dataDir)) {
        impl->lastError = QStringLiteral("cannot create the data directory");
        return unexpected(StoreError::Database);
    }
    impl->path = QDir(options.dataDir).absoluteFilePath(QStringLiteral("commy.db"));
    impl->connectionName = QStringLiteral("commy-store-%1").arg(counter.fetchAndAddRelaxed(1));
    impl->db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), impl->connectionName);
    if (!impl->db.isValid())
        return unexpected(StoreError::Database);
    impl->db.setDatabaseName(impl->path);
    if (!impl->db.open())
        return unexpected(StoreError::Database);
    // The file holds key hashes: readable by the broker's user only.
    QFile::setPermissions(impl->path, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    // SQLite enforces REFERENCES ... ON DELETE CASCADE only when asked, per connection.
    if (auto pragma = impl->exec("PRAGMA foreign_keys = ON"); !pragma)
        return unexpected(pragma.error());
    if (auto migrated = impl->migrate(); !migrated)
        return unexpected(migrated.error());
    return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl)
    : m_impl(std::move(impl))
{
}

Store::~Store() = default;

int Store::latestSchemaVersion() { return static_cast<int>(migrationSteps().size()); }

int Store::schemaVersion() const { return m_impl->version; }

QString Store::databasePath() const { return m_impl->path; }

QString Store::errorString() const { return m_impl->lastError; }

StoreExpected<void> Store::createTenant(const QString& tenant)
{
    if (!isValidName(tenant))
        return unexpected(StoreError::InvalidName);
    auto found = m_impl->tenantExists(tenant);
    if (!found)
        return unexpected(found.error());
    if (*found)
        return unexpected(StoreError::AlreadyExists);
    return m_impl->exec("INSERT INTO tenants (name, created_at) VALUES (?, ?)", { tenant, m_impl->now() });
}

StoreExpected<void> Store::deleteTenant(const QString& tenant)
{
    if (!isValidName(tenant))
        return unexpected(StoreError::InvalidName);
    QSqlQuery query(m_impl->db);
    if (!m_impl->run(query, "DELETE FROM tenants WHERE name = ?", { tenant }))
        return m_impl->fail(query.lastError());
    if (query.numRowsAffected() == 0)
        return unexpected(StoreError::NotFound);
    return {};
}

StoreExpected<QList<TenantInfo>> Store::listTenants()
{
    QSqlQuery query(m_impl->db);
    if (!m_impl->run(query, "SELECT name, created_at FROM tenants ORDER BY name"))
        return m_impl->fail(query.lastError());
    QList<TenantInfo> tenants;
    while (query.next())
        tenants.append({ query.value(0).toString(), query.value(1).toLongLong() });
    return tenants;
}

StoreExpected<bool> Store::tenantExists(const QString& tenant)
{
    if (!isValidName(tenant))
        return unexpected(StoreError::InvalidName);
    return m_impl->tenantExists(tenant);
}

StoreExpected<ServiceInfo> Store::createService(
    const QString& tenant, const QString& service, qint64 size, qint64 limit)
{
    if (!isValidName(tenant) || !isValidName(service))
        return unexpected(StoreError::InvalidName);
    if (size <= 0 || limit < 0)
        return unexpected(StoreError::InvalidArgument);
    auto found = m_impl->tenantExists(tenant);
    if (!found)
        return unexpected(found.error());
    if (!*found)
        return unexpected(StoreError::NotFound);
    auto taken = m_impl->exists("SELECT 1 FROM services WHERE tenant = ? AND name = ?", { tenant, service });
    if (!taken)
        return unexpected(taken.error());
    if (*taken)
        return unexpected(StoreError::AlreadyExists);
    const ServiceInfo info { tenant, service, size, limit, m_impl->now() };
    auto inserted
        = m_impl->exec("INSERT INTO services (tenant, name, size, \"limit\", created_at) VALUES (?, ?, ?, ?, ?)",
            { tenant, service, size, limit, info.createdAt });
    if (!inserted)
        return unexpected(inserted.error());
    return info;
}

StoreExpected<ServiceInfo> Store::getService(const QString& tenant, const QString& service)
{
    if (!isValidName(tenant) || !isValidName(service))
        return unexpected(StoreError::InvalidName);
    QSqlQuery query(m_impl->db);
    if (!m_impl->run(query, "SELECT size, \"limit\", created_at FROM services WHERE tenant = ? AND name = ?",
            { tenant, service }))
        return m_impl->fail(query.lastError());
    if (!query.next())
        return unexpected(StoreError::NotFound);
    return ServiceInfo { tenant, service, query.value(0).toLongLong(), query.value(1).toLongLong(),
        query.value(2).toLongLong() };
}

StoreExpected<void> Store::updateServiceSize(const QString& tenant, const QString& service, qint64 size)
{
    if (!isValidName(tenant) || !isValidName(service))
        return unexpected(StoreError::InvalidName);
    if (size <= 0)
        return unexpected(StoreError::InvalidArgument);
    QSqlQuery query(m_impl->db);
    if (!m_impl->run(query, "UPDATE services SET size = ? WHERE tenant = ? AND name = ?", { size, tenant, service }))
        return m_impl->fail(query.lastError());
    if (query.numRowsAffected() == 0)
        return unexpected(StoreError::NotFound);
    return {};
}

StoreExpected<void> Store::deleteService(const QString& tenant, const QString& service)
{
    if (!isValidName(tenant) || !isValidName(service))
        return unexpected(StoreError::InvalidName);
    QSqlQuery query(m_impl->db);
    if (!m_impl->run(query, "DELETE FROM services WHERE tenant = ? AND name = ?", { tenant, service }))
        return m_impl->fail(query.lastError());
    if (query.numRowsAffected() == 0)
        return unexpected(StoreError::NotFound);
    return {};
}

StoreExpected<QList<ServiceInfo>> Store::listServices(const QString& tenant)
{
    if (!isValidName(tenant))
        return unexpected(StoreError::InvalidName);
    auto found = m_impl->tenantExists(tenant);
    if (!found)
        return unexpected(found.error());
    if (!*found)
        return unexpected(StoreError::NotFound);
    QSqlQuery query(m_impl->db);
    if (!m_impl->run(
            query, "SELECT name, size, \"limit\", created_at FROM services WHERE tenant = ? ORDER BY name", { tenant }))
        return m_impl->fail(query.lastError());
    QList<ServiceInfo> services;
    while (query.next()) {
        services.append({ tenant, query.value(0).toString(), query.value(1).toLongLong(), query.value(2).toLongLong(),
            query.value(3).toLongLong() });
    }
    return services;
}

StoreExpected<NewKey> Store::createKey(const Owner& owner, Scopes scopes, const QString& name, const QString& presetKey)
{
    if (!validOwner(owner) || (!name.isEmpty() && !isValidName(name)))
        return unexpected(StoreError::InvalidName);
    if (!validScopes(owner, scopes))
        return unexpected(StoreError::InvalidArgument);
    if (owner) {
        auto found = m_impl->tenantExists(*owner);
        if (!found)
            return unexpected(found.error());
        if (!*found)
            return unexpected(StoreError::NotFound);
    }
    // A key id never starts with '-' or '_': it is a command-line argument (commyctl key revoke ID),
    // where a leading '-' reads as an option. Redrawing costs 2 of 64 values of one character.
    QString keyId;
    do
        keyId = base64Url(randomBytes(kKeyIdBytes));
    while (!keyId.front().isLetterOrNumber());
    QString secret = base64Url(randomBytes(kSecretBytes));
    if (!presetKey.isEmpty()) {
        const qsizetype dot = presetKey.indexOf(QLatin1Char('.'));
        keyId = presetKey.left(dot);
        secret = presetKey.mid(dot + 1);
        if (dot <= 0 || !isValidName(keyId) || secret.size() < kMinPresetSecretLength || secret.size() > 4096)
            return unexpected(StoreError::InvalidArgument);
        auto taken = m_impl->exists("SELECT 1 FROM api_keys WHERE key_id = ?", { keyId });
        if (!taken)
            return unexpected(taken.error());
        if (*taken)
            return unexpected(StoreError::AlreadyExists);
    }
    const QByteArray salt = randomBytes(kSaltBytes);
    const QByteArray hash = deriveKey(secret, salt, m_impl->iterations);
    if (hash.isEmpty())
        return unexpected(StoreError::Database);
    auto inserted = m_impl->exec("INSERT INTO api_keys (key_id, tenant, name, scopes, salt, hash, iterations,"
                                 " created_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
        { keyId, ownerValue(owner), textValue(name), scopesToText(scopes), salt, hash, m_impl->iterations,
            m_impl->now() });
    if (!inserted)
        return unexpected(inserted.error());
    return NewKey { keyId, keyId + QLatin1Char('.') + secret };
}

StoreExpected<void> Store::createUser(
    const QString& tenant, const QString& username, const QString& password, Scopes scopes)
{
    if (!isValidName(tenant) || !isValidName(username))
        return unexpected(StoreError::InvalidName);
    if (!validScopes(tenant, scopes) || password.size() < kMinPasswordLength || password.size() > 4096)
        return unexpected(StoreError::InvalidArgument);
    auto found = m_impl->tenantExists(tenant);
    if (!found)
        return unexpected(found.error());
    if (!*found)
        return unexpected(StoreError::NotFound);
    auto taken = m_impl->exists("SELECT 1 FROM users WHERE tenant = ? AND username = ?", { tenant, username });
    if (!taken)
        return unexpected(taken.error());
    if (*taken)
        return unexpected(StoreError::AlreadyExists);
    const QByteArray salt = randomBytes(kSaltBytes);
    const QByteArray hash = deriveKey(password, salt, m_impl->iterations);
    if (hash.isEmpty())
        return unexpected(StoreError::Database);
    return m_impl->exec("INSERT INTO users (tenant, username, scopes, salt, hash, iterations, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        { tenant, username, scopesToText(scopes), salt, hash, m_impl->iterations, m_impl->now() });
}

StoreExpected<void> Store::deleteUser(const QString& tenant, const QString& username)
{
    if (!isValidName(tenant) || !isValidName(username))
        return unexpected(StoreError::InvalidName);
    auto found = m_impl->exists("SELECT 1 FROM users WHERE tenant = ? AND username = ?", { tenant, username });
    if (!found)
        return unexpected(found.error());
    if (!*found)
        return unexpected(StoreError::NotFound);
    return m_impl->exec("DELETE FROM users WHERE tenant = ? AND username = ?", { tenant, username });
}

StoreExpected<Scopes> Store::verifyPassword(const QString& tenant, const QString& username, const QString& password)
{
    bool found = false;
    Scopes scopes;
    QByteArray salt;
    QByteArray expected;
    int iterations = m_impl->iterations;
    if (isValidName(tenant) && isValidName(username)) {
        QSqlQuery query(m_impl->db);
        if (!m_impl->run(query, "SELECT scopes, salt, hash, iterations FROM users WHERE tenant = ? AND username = ?",
                { tenant, username }))
            return m_impl->fail(query.lastError());
        if (query.next()) {
            const std::optional<Scopes> stored = scopesFromText(query.value(0).toString());
            found = stored.has_value();
            scopes = stored.value_or(Scopes());
            salt = query.value(1).toByteArray();
            expected = query.value(2).toByteArray();
            iterations = qMax(query.value(3).toInt(), kMinPbkdf2Iterations);
        }
    }
    // As for keys: one derivation on every path, so timing does not reveal which users exist.
    if (!found)
        salt = randomBytes(kSaltBytes);
    const QByteArray derived = deriveKey(password, salt, iterations);
    if (!found || !constantTimeEqual(derived, expected))
        return unexpected(StoreError::AuthenticationFailed);
    return scopes;
}

StoreExpected<Scopes> Store::verifyKey(const Owner& owner, const QString& presentedKey)
{
    const qsizetype dot = presentedKey.indexOf(QLatin1Char('.'));
    const QString keyId = dot > 0 ? presentedKey.left(dot) : QString();
    const QString secret = dot > 0 ? presentedKey.mid(dot + 1) : QString();
    const bool wellFormed = validOwner(owner) && isValidName(keyId) && !secret.isEmpty();

    bool found = false;
    bool usable = false;
    Scopes scopes;
    QByteArray salt;
    QByteArray expected;
    int iterations = m_impl->iterations;
    if (wellFormed) {
        QSqlQuery query(m_impl->db);
        if (!m_impl->run(query, "SELECT tenant, scopes, salt, hash, iterations, revoked FROM api_keys WHERE key_id = ?",
                { keyId }))
            return m_impl->fail(query.lastError());
        if (query.next()) {
            found = true;
            const std::optional<Scopes> stored = scopesFromText(query.value(1).toString());
            usable = ownerFromValue(query.value(0)) == owner && !query.value(5).toBool() && stored.has_value();
            scopes = stored.value_or(Scopes());
            salt = query.value(2).toByteArray();
            expected = query.value(3).toByteArray();
            iterations = qMax(query.value(4).toInt(), kMinPbkdf2Iterations);
        }
    }
    // One derivation on every path, so the reply time does not tell an unknown key from a wrong one.
    if (!found)
        salt = randomBytes(kSaltBytes);
    const QByteArray derived = deriveKey(secret, salt, iterations);
    if (!found || !usable || !constantTimeEqual(derived, expected))
        return unexpected(StoreError::AuthenticationFailed);
    return scopes;
}

StoreExpected<void> Store::revokeKey(const Owner& owner, const QString& keyId)
{
    if (!validOwner(owner) || !isValidName(keyId))
        return unexpected(StoreError::InvalidName);
    if (!m_impl->db.transaction())
        return m_impl->fail(m_impl->db.lastError());
    QSqlQuery query(m_impl->db);
    if (!m_impl->run(
            query, "UPDATE api_keys SET revoked = 1 WHERE key_id = ? AND tenant IS ?", { keyId, ownerValue(owner) })) {
        const QSqlError error = query.lastError();
        m_impl->db.rollback();
        return m_impl->fail(error);
    }
    if (query.numRowsAffected() == 0) {
        m_impl->db.rollback();
        return unexpected(StoreError::NotFound);
    }
    QSqlQuery tokens(m_impl->db);
    if (!m_impl->run(tokens, "UPDATE tokens SET revoked = 1 WHERE key_id = ?", { keyId }) || !m_impl->db.commit()) {
        const QSqlError error = tokens.lastError().isValid() ? tokens.lastError() : m_impl->db.lastError();
        m_impl->db.rollback();
        return m_impl->fail(error);
    }
    return {};
}

StoreExpected<QList<KeyInfo>> Store::listKeys(const Owner& owner)
{
    if (!validOwner(owner))
        return unexpected(StoreError::InvalidName);
    if (owner) {
        auto found = m_impl->tenantExists(*owner);
        if (!found)
            return unexpected(found.error());
        if (!*found)
            return unexpected(StoreError::NotFound);
    }
    QSqlQuery query(m_impl->db);
    if (!m_impl->run(query,
            "SELECT key_id, name, scopes, created_at, revoked FROM api_keys WHERE tenant IS ?"
            " ORDER BY created_at, key_id",
            { ownerValue(owner) }))
        return m_impl->fail(query.lastError());
    QList<KeyInfo> keys;
    while (query.next()) {
        keys.append({ query.value(0).toString(), owner, query.value(1).toString(),
            scopesFromText(query.value(2).toString()).value_or(Scopes()), query.value(3).toLongLong(),
            query.value(4).toBool() });
    }
    return keys;
}

StoreExpected<IssuedToken> Store::issueToken(const Owner& owner, Scopes scopes, qint64 ttlMs, const QString& keyId)
{
    if (!validOwner(owner) || (!keyId.isEmpty() && !isValidName(keyId)))
        return unexpected(StoreError::InvalidName);
    if (!validScopes(owner, scopes) || ttlMs <= 0)
        return unexpected(StoreError::InvalidArgument);
    if (owner) {
        auto found = m_impl->tenantExists(*owner);
        if (!found)
            return unexpected(found.error());
        if (!*found)
            return unexpected(StoreError::NotFound);
    }
    if (!keyId.isEmpty()) {
        auto live = m_impl->exists(
            "SELECT 1 FROM api_keys WHERE key_id = ? AND tenant IS ? AND revoked = 0", { keyId, ownerValue(owner) });
        if (!live)
            return unexpected(live.error());
        if (!*live)
            return unexpected(StoreError::NotFound);
    }
    const QString token = base64Url(randomBytes(kTokenBytes));
    const qint64 expiresAt = m_impl->now() + ttlMs;
    const QVariant key = keyId.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(keyId);
    auto inserted = m_impl->exec(
        "INSERT INTO tokens (hash, tenant, scopes, expires_at, revoked, key_id) VALUES (?, ?, ?, ?, 0, ?)",
        { tokenHash(token), ownerValue(owner), scopesToText(scopes), expiresAt, key });
    if (!inserted)
        return unexpected(inserted.error());
    return IssuedToken { token, expiresAt };
}

StoreExpected<TokenGrant> Store::verifyToken(const Owner& owner, const QString& token)
{
    if (!validOwner(owner) || token.isEmpty())
        return unexpected(StoreError::AuthenticationFailed);
    QSqlQuery query(m_impl->db);
    if (!m_impl->run(
            query, "SELECT tenant, scopes, expires_at, revoked FROM tokens WHERE hash = ?", { tokenHash(token) }))
        return m_impl->fail(query.lastError());
    if (!query.next() || ownerFromValue(query.value(0)) != owner || query.value(3).toBool())
        return unexpected(StoreError::AuthenticationFailed);
    const qint64 expiresAt = query.value(2).toLongLong();
    const std::optional<Scopes> scopes = scopesFromText(query.value(1).toString());
    if (m_impl->now() >= expiresAt || !scopes)
        return unexpected(StoreError::AuthenticationFailed);
    return TokenGrant { *scopes, expiresAt };
}

StoreExpected<void> Store::revokeToken(const Owner& owner, const QString& token)
{
    if (!validOwner(owner))
        return unexpected(StoreError::InvalidName);
    QSqlQuery query(m_impl->db);
    if (!m_impl->run(query, "UPDATE tokens SET revoked = 1 WHERE hash = ? AND tenant IS ?",
            { tokenHash(token), ownerValue(owner) }))
        return m_impl->fail(query.lastError());
    if (query.numRowsAffected() == 0)
        return unexpected(StoreError::NotFound);
    return {};
}

StoreExpected<qint64> Store::purgeTokens()
{
    QSqlQuery query(m_impl->db);
    if (!m_impl->run(query, "DELETE FROM tokens WHERE revoked = 1 OR expires_at <= ?", { m_impl->now() }))
        return m_impl->fail(query.lastError());
    return static_cast<qint64>(query.numRowsAffected());
}

StoreExpected<void> Store::appendAudit(
    const QString& actor, const QString& action, const QString& target, const QString& detail)
{
    if (action.isEmpty())
        return unexpected(StoreError::InvalidArgument);
    return m_impl->exec("INSERT INTO audit_log (time, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        { m_impl->now(), textValue(actor), action, textValue(target), textValue(detail) });
}

StoreExpected<QList<AuditEntry>> Store::listAudit()
{
    QSqlQuery query(m_impl->db);
    if (!m_impl->run(query, "SELECT id, time, actor, action, target, detail FROM audit_log ORDER BY id"))
        return m_impl->fail(query.lastError());
    QList<AuditEntry> entries;
    while (query.next()) {
        entries.append({ query.value(0).toLongLong(), query.value(1).toLongLong(), query.value(2).toString(),
            query.value(3).toString(), query.value(4).toString(), query.value(5).toString() });
    }
    return entries;
}

} // namespace commy::broker
