// Tenants, keys and services. Every change is written to the audit log with the acting credential.

#include "broker_impl.h"

#include <commy/shm/region.h>

#include <QFile>

namespace commy::broker {

using protocol::ErrorCode;

namespace {
QString tenantLabel(const QString& tenant) { return QStringLiteral("tenant '%1'").arg(tenant); }
QString serviceLabel(const ServiceKey& key) { return QStringLiteral("service '%1'").arg(key.text()); }
} // namespace

void Broker::Impl::audit(const SessionState& session, const QString& tenant, const QString& action,
    const QString& target, const QString& detail)
{
    // The server grant acts when the session has one; otherwise the tenant's own grant.
    QString actor = QStringLiteral("unknown");
    if (auto server = session.grants.find(std::nullopt); server != session.grants.end())
        actor = server->second.actor;
    else if (auto own = session.grants.find(tenant); own != session.grants.end())
        actor = own->second.actor;
    actor += QStringLiteral("@") + session.peer.address.toString();
    (void)store->appendAudit(actor, action, target, detail);
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::CreateTenant& m)
{
    if (auto created = store->createTenant(m.tenant); !created)
        return storeFailure(created.error(), tenantLabel(m.tenant));
    audit(session, m.tenant, QStringLiteral("CreateTenant"), m.tenant);
    return protocol::EmptyResult {};
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::DeleteTenant& m)
{
    if (auto deleted = store->deleteTenant(m.tenant); !deleted)
        return storeFailure(deleted.error(), tenantLabel(m.tenant));
    audit(session, m.tenant, QStringLiteral("DeleteTenant"), m.tenant);
    for (auto& [id, other] : sessions) {
        unsubscribeAll(other, [&](const ServiceKey& key) { return key.tenant == m.tenant; });
        other.grants.erase(m.tenant);
    }
    dropWatchTargets([&](const ServiceKey& key) { return key.tenant == m.tenant; });
    for (auto it = watchers.begin(); it != watchers.end();)
        it = it->first.tenant == m.tenant ? watchers.erase(it) : std::next(it);
    for (auto it = knownServices.begin(); it != knownServices.end();)
        it = it->tenant == m.tenant ? knownServices.erase(it) : std::next(it);
    for (auto it = verifiedKeys.begin(); it != verifiedKeys.end();)
        it = it->second.owner == m.tenant ? verifiedKeys.erase(it) : std::next(it);
    regions.removeTenant(m.tenant);
    return protocol::EmptyResult {};
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::ListTenants&)
{
    auto tenants = store->listTenants();
    if (!tenants)
        return storeFailure(tenants.error(), QStringLiteral("tenants"));
    protocol::ListTenantsResult result;
    for (const TenantInfo& tenant : *tenants) {
        auto stored = store->listServices(tenant.name);
        result.tenants.push_back({ tenant.name, stored ? qint64(stored->size()) : 0 });
    }
    return result;
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::CreateKey& m)
{
    auto key = store->createKey(m.tenant, fromWireScopes(m.scopes), m.name.value_or(QString()));
    if (!key)
        return storeFailure(key.error(), tenantLabel(m.tenant));
    audit(session, m.tenant, QStringLiteral("CreateKey"), m.tenant + QLatin1Char('/') + key->keyId);
    return protocol::CreateKeyResult { key->keyId, key->key };
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::RevokeKey& m)
{
    if (auto revoked = store->revokeKey(m.tenant, m.keyId); !revoked)
        return storeFailure(revoked.error(), QStringLiteral("key '%1'").arg(m.keyId));
    audit(session, m.tenant, QStringLiteral("RevokeKey"), m.tenant + QLatin1Char('/') + m.keyId);
    for (auto it = verifiedKeys.begin(); it != verifiedKeys.end();)
        it = it->second.keyId == m.keyId ? verifiedKeys.erase(it) : std::next(it);
    // The store revoked the key's tokens; sessions holding one of them lose it now.
    dropGrantsWhere([&](const Owner& owner, const Grant& grant) {
        return owner == m.tenant && !store->verifyToken(owner, grant.token);
    });
    return protocol::EmptyResult {};
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::ListKeys& m)
{
    auto keys = store->listKeys(m.tenant);
    if (!keys)
        return storeFailure(keys.error(), tenantLabel(m.tenant));
    protocol::ListKeysResult result;
    for (const KeyInfo& key : *keys) {
        if (key.revoked)
            continue;
        result.keys.push_back({ key.keyId, key.name.isEmpty() ? std::nullopt : std::optional<QString>(key.name),
            toWireScopes(key.scopes) });
    }
    return result;
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::CreateUser& m)
{
    const QString label = QStringLiteral("user '%1'").arg(m.username);
    if (auto created = store->createUser(m.tenant, m.username, m.password, fromWireScopes(m.scopes)); !created)
        return storeFailure(created.error(), label);
    audit(session, m.tenant, QStringLiteral("CreateUser"), m.tenant + QLatin1Char('/') + m.username);
    return protocol::EmptyResult {};
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::DeleteUser& m)
{
    if (auto deleted = store->deleteUser(m.tenant, m.username); !deleted)
        return storeFailure(deleted.error(), QStringLiteral("user '%1'").arg(m.username));
    audit(session, m.tenant, QStringLiteral("DeleteUser"), m.tenant + QLatin1Char('/') + m.username);
    // Sessions that logged in as this user keep their token until it expires or is revoked: a
    // password user's tokens are not tied to the user row (documented in docs/protocol.md).
    return protocol::EmptyResult {};
}

BrokerExpected<protocol::ServiceInfo> Broker::Impl::serviceInfo(const ServiceKey& key)
{
    auto region = regions.region(key);
    if (!region)
        return unexpected(region.error());
    auto variables = regions.list(key);
    if (!variables)
        return unexpected(variables.error());
    return protocol::ServiceInfo { key.service, qint64((*region)->size()), qint64((*region)->limit()),
        qint64(variables->size()) };
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::CreateService& m)
{
    const qint64 size = m.size.value_or(options.defaultServiceSize);
    const qint64 limit = m.limit.value_or(size);
    const qint64 minimum = qint64(shm::Region::minRegionSize());
    if (size < minimum || size > options.maxServiceSize)
        return fail(ErrorCode::InvalidRequest,
            QStringLiteral("size must be between %1 and %2 bytes").arg(minimum).arg(options.maxServiceSize));
    if (limit < size || limit > options.maxServiceSize)
        return fail(ErrorCode::InvalidRequest,
            QStringLiteral("limit must be between the size and %1 bytes").arg(options.maxServiceSize));
    const ServiceKey key { m.tenant, m.service };
    if (auto created = store->createService(m.tenant, m.service, size, limit); !created)
        return storeFailure(created.error(), serviceLabel(key));
    // A file without a row is a leftover of a crash between the two steps of an earlier create or
    // delete: the database is the authority, so it goes.
    QFile::remove(regions.regionPath(key));
    if (auto file = regions.create(key, size, limit); !file) {
        (void)store->deleteService(m.tenant, m.service);
        return unexpected(file.error());
    }
    knownServices.insert(key);
    audit(session, m.tenant, QStringLiteral("CreateService"), key.text());
    auto info = serviceInfo(key);
    if (!info)
        return unexpected(info.error());
    return *info;
}

BrokerExpected<void> Broker::Impl::requireService(const ServiceKey& key)
{
    if (!knownServices.count(key))
        return fail(ErrorCode::NotFound, QStringLiteral("%1 not found").arg(serviceLabel(key)));
    return {};
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::GetService& m)
{
    const ServiceKey key { m.tenant, m.service };
    if (auto found = requireService(key); !found)
        return unexpected(found.error());
    auto info = serviceInfo(key);
    if (!info)
        return unexpected(info.error());
    return *info;
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::DeleteService& m)
{
    const ServiceKey key { m.tenant, m.service };
    if (auto deleted = store->deleteService(m.tenant, m.service); !deleted)
        return storeFailure(deleted.error(), serviceLabel(key));
    audit(session, m.tenant, QStringLiteral("DeleteService"), key.text());
    forgetService(key);
    return protocol::EmptyResult {};
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::ListServices& m)
{
    auto stored = store->listServices(m.tenant);
    if (!stored)
        return storeFailure(stored.error(), tenantLabel(m.tenant));
    protocol::ListServicesResult result;
    for (const ServiceInfo& service : *stored) {
        auto info = serviceInfo({ m.tenant, service.name });
        if (!info)
            return unexpected(info.error());
        result.services.push_back(*info);
    }
    return result;
}

} // namespace commy::broker
