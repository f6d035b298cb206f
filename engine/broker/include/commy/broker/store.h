#pragma once

// The broker's persistent state in SQLite (DATA_DIR/commy.db): tenants, services, API keys, session
// tokens and the audit log of administrative operations. Secrets are never stored: API keys keep a
// salted PBKDF2-HMAC-SHA256 hash, tokens a SHA-256 hash.
//
// A Store owns one QSqlDatabase connection under a name unique to it, so several stores (or a store
// and a test reading the file directly) can coexist in one process. Like every Qt SQL connection it
// must be used from the thread that opened it.

#include <commy/broker/scope.h>
#include <commy/protocol/error_code.h>
#include <commy/shm/expected.h>

#include <QList>
#include <QString>
#include <QtGlobal>

#include <functional>
#include <memory>
#include <optional>

namespace commy::broker {

enum class StoreError {
    InvalidName, // a tenant, service or key name breaks protocol::isValidName
    InvalidArgument, // a size, limit, scope set or ttl out of its range
    NotFound,
    AlreadyExists,
    // A presented key or token did not verify. One value for unknown tenant, unknown key, wrong
    // secret, revoked and expired, so a caller cannot enumerate tenants or keys.
    AuthenticationFailed,
    Database, // SQLite failed (see Store::errorString()), or the file has a newer schema
};

// The reply code a broker sends for a store failure.
protocol::ErrorCode toErrorCode(StoreError error);

template <class T> using StoreExpected = Expected<T, StoreError>;

// Milliseconds since the Unix epoch; injectable so tests can move time.
using Clock = std::function<qint64()>;

// Who a key or token belongs to: a tenant name, or std::nullopt for the server itself.
using Owner = std::optional<QString>;

struct TenantInfo {
    QString name;
    qint64 createdAt = 0;
};

struct ServiceInfo {
    QString tenant;
    QString name;
    qint64 size = 0; // bytes of the region file
    qint64 limit = 0; // largest size the region may grow to, in bytes (>= size)
    qint64 createdAt = 0;
};

struct NewKey {
    QString keyId;
    QString key; // "<key_id>.<secret>": shown once, never stored
};

struct KeyInfo {
    QString keyId;
    Owner tenant;
    QString name;
    Scopes scopes;
    qint64 createdAt = 0;
    bool revoked = false;
};

struct IssuedToken {
    QString token; // shown once, never stored
    qint64 expiresAt = 0;
};

struct TokenGrant {
    Scopes scopes;
    qint64 expiresAt = 0;
};

struct AuditEntry {
    qint64 id = 0;
    qint64 time = 0;
    QString actor;
    QString action;
    QString target;
    QString detail;
};

class Store {
public:
    static constexpr int kMinPbkdf2Iterations = 100'000;
    static constexpr qint64 kDefaultTokenTtlMs = 60 * 60 * 1000;
    static constexpr qsizetype kMinPasswordLength = 8;
    // A preset key (the bootstrap admin key an operator supplies) must carry at least this much secret.
    static constexpr qsizetype kMinPresetSecretLength = 16;

    struct Options {
        QString dataDir;
        Clock clock; // empty: the system clock
        int pbkdf2Iterations = kMinPbkdf2Iterations; // raised to the minimum if lower
    };

    // Opens (creating if needed) DATA_DIR/commy.db and migrates it to the latest schema.
    static StoreExpected<std::unique_ptr<Store>> open(Options options);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // The schema version this build writes, and the one of the open database.
    static int latestSchemaVersion();
    int schemaVersion() const;
    QString databasePath() const;
    // Text of the last Database failure.
    QString errorString() const;

    StoreExpected<void> createTenant(const QString& tenant);
    // Removes the tenant with its services, keys and tokens.
    StoreExpected<void> deleteTenant(const QString& tenant);
    StoreExpected<QList<TenantInfo>> listTenants();
    StoreExpected<bool> tenantExists(const QString& tenant);

    StoreExpected<ServiceInfo> createService(const QString& tenant, const QString& service, qint64 size, qint64 limit);
    StoreExpected<ServiceInfo> getService(const QString& tenant, const QString& service);
    // Records the region's size after a resize or shrink (size > 0; the limit is unchanged).
    StoreExpected<void> updateServiceSize(const QString& tenant, const QString& service, qint64 size);
    StoreExpected<void> deleteService(const QString& tenant, const QString& service);
    StoreExpected<QList<ServiceInfo>> listServices(const QString& tenant);

    // A tenant key may hold tenant scopes only; a server key (owner nullopt) exactly server_admin.
    // `name` is optional (empty) and otherwise a valid name. `presetKey`, when given, is the key to
    // store ("<key_id>.<secret>", a valid name as id and at least kMinPresetSecretLength characters of
    // secret) instead of a generated one: the operator-supplied bootstrap admin key.
    StoreExpected<NewKey> createKey(
        const Owner& owner, Scopes scopes, const QString& name = {}, const QString& presetKey = {});
    // Checks "<key_id>.<secret>" against the owner's keys with exactly one PBKDF2 derivation,
    // whatever the outcome. Every failure is AuthenticationFailed.
    StoreExpected<Scopes> verifyKey(const Owner& owner, const QString& presentedKey);
    // Also revokes the tokens issued for the key.
    StoreExpected<void> revokeKey(const Owner& owner, const QString& keyId);
    StoreExpected<QList<KeyInfo>> listKeys(const Owner& owner);

    // Password users of a tenant, hashed like keys. verifyPassword() derives once whatever the outcome;
    // every failure is AuthenticationFailed.
    StoreExpected<void> createUser(
        const QString& tenant, const QString& username, const QString& password, Scopes scopes);
    StoreExpected<void> deleteUser(const QString& tenant, const QString& username);
    StoreExpected<Scopes> verifyPassword(const QString& tenant, const QString& username, const QString& password);

    // `keyId`, when given, names the owner's live key the session authenticated with: revoking that
    // key revokes the token too (NotFound if the key is unknown or revoked).
    StoreExpected<IssuedToken> issueToken(
        const Owner& owner, Scopes scopes, qint64 ttlMs = kDefaultTokenTtlMs, const QString& keyId = {});
    // Every failure (unknown, other owner, revoked, expired) is AuthenticationFailed.
    StoreExpected<TokenGrant> verifyToken(const Owner& owner, const QString& token);
    StoreExpected<void> revokeToken(const Owner& owner, const QString& token);

    // Deletes expired and revoked tokens (every authentication adds a row); returns how many.
    StoreExpected<qint64> purgeTokens();

    StoreExpected<void> appendAudit(
        const QString& actor, const QString& action, const QString& target, const QString& detail = {});
    // Oldest first.
    StoreExpected<QList<AuditEntry>> listAudit();

private:
    struct Impl;
    explicit Store(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace commy::broker
