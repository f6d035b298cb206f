// Authenticate, Logout, RefreshToken, Heartbeat.

#include "broker_impl.h"

#include <QCryptographicHash>

namespace commy::broker {

using protocol::ErrorCode;

namespace {

QByteArray keyCacheId(const Owner& owner, const QString& key)
{
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(owner ? owner->toUtf8() : QByteArrayLiteral("\x01server"));
    hash.addData(QByteArrayView("\0", 1));
    hash.addData(key.toUtf8());
    return hash.result();
}

protocol::AuthenticateResult authenticateResult(const Grant& grant, qint64 now)
{
    // Rounded to the nearest second: a token issued a few milliseconds ago still says its full lifetime.
    return { grant.token, qMax<qint64>(0, (grant.expiresAt - now + 500) / 1000), toWireScopes(grant.scopes) };
}

} // namespace

BrokerExpected<Scopes> Broker::Impl::verifyCredential(const protocol::Authenticate& m, QString& keyId, QString& actor)
{
    const Owner owner = m.tenant ? Owner(*m.tenant) : Owner();
    if (const auto* apiKey = std::get_if<protocol::ApiKeyCredential>(&m.credential)) {
        const QByteArray cacheId = keyCacheId(owner, apiKey->key);
        keyId = apiKey->key.section(QLatin1Char('.'), 0, 0);
        actor = QStringLiteral("key:") + keyId;
        if (auto cached = verifiedKeys.find(cacheId); cached != verifiedKeys.end())
            return cached->second.scopes;
        auto scopes = store->verifyKey(owner, apiKey->key);
        if (!scopes)
            return storeFailure(scopes.error(), QStringLiteral("key"));
        verifiedKeys[cacheId] = { owner, keyId, *scopes };
        return *scopes;
    }
    if (const auto* password = std::get_if<protocol::PasswordCredential>(&m.credential)) {
        if (!owner)
            return fail(ErrorCode::InvalidRequest, QStringLiteral("password authentication needs a tenant"));
        actor = QStringLiteral("user:") + password->username;
        auto scopes = store->verifyPassword(*owner, password->username, password->password);
        if (!scopes)
            return storeFailure(scopes.error(), QStringLiteral("user"));
        return *scopes;
    }
    return fail(ErrorCode::InternalError, QStringLiteral("unexpected credential"));
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::Authenticate& m)
{
    const QString peer = session.peer.address.toString();
    const qint64 time = now();
    if (const qint64 wait = throttle.retryAfterMs(peer, time); wait > 0) {
        protocol::Error error { ErrorCode::RateLimited, QStringLiteral("too many failed authentications"),
            (wait + 999) / 1000 };
        return unexpected(error);
    }
    const Owner owner = m.tenant ? Owner(*m.tenant) : Owner();
    if (m.clientName)
        session.clientName = *m.clientName;

    Grant grant;
    if (const auto* token = std::get_if<protocol::TokenCredential>(&m.credential)) {
        auto verified = store->verifyToken(owner, token->token);
        if (!verified) {
            if (verified.error() == StoreError::AuthenticationFailed)
                throttle.recordFailure(peer, time);
            return storeFailure(verified.error(), QStringLiteral("token"));
        }
        grant = { token->token, verified->scopes, verified->expiresAt, QStringLiteral("token") };
    } else {
        QString keyId;
        QString actor;
        auto scopes = verifyCredential(m, keyId, actor);
        if (!scopes) {
            if (scopes.error().code == ErrorCode::Unauthorized)
                throttle.recordFailure(peer, time);
            return unexpected(scopes.error());
        }
        const bool byKey = std::holds_alternative<protocol::ApiKeyCredential>(m.credential);
        auto issued = store->issueToken(owner, *scopes, options.tokenTtlMs, byKey ? keyId : QString());
        if (!issued)
            return storeFailure(issued.error(), QStringLiteral("token"));
        grant = { issued->token, *scopes, issued->expiresAt, actor };
    }
    session.grants[owner] = grant;
    // The clock is read again: a key derivation (slow under sanitizers) lies between `time` and the
    // token's issue, and expires_in must not come out longer than the token lifetime.
    return authenticateResult(grant, now());
}

void Broker::Impl::dropGrantsWhere(const std::function<bool(const Owner&, const Grant&)>& revoked)
{
    for (auto& [id, session] : sessions) {
        for (auto it = session.grants.begin(); it != session.grants.end();)
            it = revoked(it->first, it->second) ? session.grants.erase(it) : std::next(it);
    }
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::Logout& m)
{
    const QString token = session.grants.at(m.tenant).token;
    if (auto revoked = store->revokeToken(m.tenant, token); !revoked && revoked.error() != StoreError::NotFound)
        return storeFailure(revoked.error(), QStringLiteral("token"));
    // Every session that authenticated with the same token loses it too.
    dropGrantsWhere([&](const Owner& owner, const Grant& grant) { return owner == m.tenant && grant.token == token; });
    if (!session.grants.count(std::nullopt))
        unsubscribeAll(session, [&](const ServiceKey& key) { return key.tenant == m.tenant; });
    return protocol::EmptyResult {};
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::RefreshToken& m)
{
    Grant& grant = session.grants.at(m.tenant);
    QString keyId;
    if (grant.actor.startsWith(QStringLiteral("key:")))
        keyId = grant.actor.mid(4);
    auto issued = store->issueToken(m.tenant, grant.scopes, options.tokenTtlMs, keyId);
    if (!issued)
        return storeFailure(issued.error(), QStringLiteral("token"));
    const QString old = grant.token;
    (void)store->revokeToken(m.tenant, old);
    grant.token = issued->token;
    grant.expiresAt = issued->expiresAt;
    dropGrantsWhere([&](const Owner& owner, const Grant& other) { return owner == m.tenant && other.token == old; });
    return authenticateResult(grant, now());
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::Heartbeat&)
{
    return protocol::HeartbeatResult { now() };
}

} // namespace commy::broker
