#include "permissions.h"

namespace commy::broker {

using protocol::ErrorCode;
using Kind = Requirement::Kind;

namespace {

Requirement none() { return {}; }
Requirement serverAdmin() { return { Kind::ServerAdmin, {}, {}, {} }; }
Requirement grantFor(const QString& tenant) { return { Kind::TenantGrant, tenant, {}, {} }; }
Requirement scopeOn(const QString& tenant, Scopes anyOf) { return { Kind::TenantScope, tenant, anyOf, {} }; }

// One overload per request type: adding a message without deciding its permission does not compile.
Requirement needs(const protocol::Authenticate&) { return none(); }
Requirement needs(const protocol::Heartbeat&) { return none(); }
Requirement needs(const protocol::Logout& m) { return grantFor(m.tenant); }
Requirement needs(const protocol::RefreshToken& m) { return grantFor(m.tenant); }
Requirement needs(const protocol::CreateTenant&) { return serverAdmin(); }
Requirement needs(const protocol::DeleteTenant&) { return serverAdmin(); }
Requirement needs(const protocol::ListTenants&) { return serverAdmin(); }
Requirement needs(const protocol::CreateKey& m) { return scopeOn(m.tenant, Scope::Admin); }
Requirement needs(const protocol::RevokeKey& m) { return scopeOn(m.tenant, Scope::Admin); }
Requirement needs(const protocol::ListKeys& m) { return scopeOn(m.tenant, Scope::Admin); }
Requirement needs(const protocol::CreateUser& m) { return scopeOn(m.tenant, Scope::Admin); }
Requirement needs(const protocol::DeleteUser& m) { return scopeOn(m.tenant, Scope::Admin); }
Requirement needs(const protocol::CreateService& m) { return scopeOn(m.tenant, Scope::Admin); }
Requirement needs(const protocol::DeleteService& m) { return scopeOn(m.tenant, Scope::Admin); }
Requirement needs(const protocol::GetService& m) { return scopeOn(m.tenant, Scopes { Scope::Read, Scope::Admin }); }
Requirement needs(const protocol::ListServices& m) { return scopeOn(m.tenant, Scopes { Scope::Read, Scope::Admin }); }
Requirement needs(const protocol::AllocateVariable& m) { return scopeOn(m.tenant, Scope::Write); }
Requirement needs(const protocol::WriteVariable& m) { return scopeOn(m.tenant, Scope::Write); }
Requirement needs(const protocol::DeallocateVariable& m) { return scopeOn(m.tenant, Scope::Write); }
Requirement needs(const protocol::ReadVariable& m) { return scopeOn(m.tenant, Scope::Read); }
Requirement needs(const protocol::ListVariables& m) { return scopeOn(m.tenant, Scope::Read); }
Requirement needs(const protocol::Subscribe& m) { return scopeOn(m.tenant, Scope::Subscribe); }
Requirement needs(const protocol::Unsubscribe& m) { return scopeOn(m.tenant, Scope::Subscribe); }
Requirement needs(const protocol::GetServiceFilePath& m) { return scopeOn(m.tenant, Scope::Map); }

// Monitoring reads what a tenant's readers may read; operations change the region: admin.
constexpr Scopes kReadOrAdmin { Scope::Read, Scope::Admin };
Requirement needs(const protocol::GetBrokerInfo&) { return serverAdmin(); }
Requirement needs(const protocol::GetSessions&) { return serverAdmin(); }
Requirement needs(const protocol::GetTree& m) { return m.tenant ? scopeOn(*m.tenant, kReadOrAdmin) : serverAdmin(); }
Requirement needs(const protocol::GetRegionStats& m) { return scopeOn(m.tenant, kReadOrAdmin); }
Requirement needs(const protocol::GetBlockMap& m) { return scopeOn(m.tenant, kReadOrAdmin); }
Requirement needs(const protocol::GetProcesses& m) { return scopeOn(m.tenant, kReadOrAdmin); }
Requirement needs(const protocol::BrowseRoot& m) { return scopeOn(m.tenant, Scope::Read); }
Requirement needs(const protocol::Watch& m)
{
    // Stopping (no targets) is always allowed.
    if (m.targets.empty())
        return none();
    Requirement requirement { Kind::EveryTenantScope, {}, kReadOrAdmin, {} };
    for (const protocol::WatchTarget& target : m.targets)
        requirement.tenants.push_back(target.tenant);
    return requirement;
}
Requirement needs(const protocol::ResizeRegion& m) { return scopeOn(m.tenant, Scope::Admin); }
Requirement needs(const protocol::ShrinkRegion& m) { return scopeOn(m.tenant, Scope::Admin); }
Requirement needs(const protocol::CleanupRegion& m) { return scopeOn(m.tenant, Scope::Admin); }

protocol::Error error(ErrorCode code, const QString& message) { return { code, message, std::nullopt }; }

// The live grant of `owner`, dropping it when it has expired.
const Grant* liveGrant(SessionState& session, const Owner& owner, qint64 now)
{
    auto it = session.grants.find(owner);
    if (it == session.grants.end())
        return nullptr;
    if (it->second.expiresAt <= now) {
        session.grants.erase(it);
        return nullptr;
    }
    return &it->second;
}

bool hasAnyLiveGrant(SessionState& session, qint64 now)
{
    for (auto it = session.grants.begin(); it != session.grants.end();) {
        if (it->second.expiresAt > now)
            return true;
        it = session.grants.erase(it);
    }
    return false;
}

} // namespace

std::optional<protocol::Error> checkTenantScope(SessionState& session, const QString& tenant, Scopes anyOf, qint64 now)
{
    if (liveGrant(session, std::nullopt, now))
        return std::nullopt;
    const Grant* grant = liveGrant(session, tenant, now);
    if (!grant)
        return error(ErrorCode::Unauthorized, QStringLiteral("not authenticated for this tenant"));
    if (grant->scopes & anyOf)
        return std::nullopt;
    return error(ErrorCode::PermissionDenied,
        QStringLiteral("this request needs the %1 scope").arg(formatScopes(anyOf).join(QStringLiteral(" or "))));
}

Requirement requirementOf(const protocol::Request& request)
{
    return std::visit([](const auto& message) { return needs(message); }, request);
}

std::optional<protocol::Error> checkPermission(SessionState& session, const Requirement& requirement, qint64 now)
{
    switch (requirement.kind) {
    case Kind::None:
        return std::nullopt;
    case Kind::ServerAdmin:
        if (liveGrant(session, std::nullopt, now))
            return std::nullopt;
        if (hasAnyLiveGrant(session, now))
            return error(ErrorCode::PermissionDenied, QStringLiteral("this request needs the server_admin scope"));
        return error(ErrorCode::Unauthorized, QStringLiteral("authenticate with a server key first"));
    case Kind::TenantGrant:
        if (liveGrant(session, requirement.tenant, now))
            return std::nullopt;
        return error(ErrorCode::Unauthorized, QStringLiteral("not authenticated for this tenant"));
    case Kind::TenantScope:
        return checkTenantScope(session, requirement.tenant, requirement.anyOf, now);
    case Kind::EveryTenantScope:
        for (const QString& tenant : requirement.tenants) {
            if (auto denied = checkTenantScope(session, tenant, requirement.anyOf, now))
                return denied;
        }
        return std::nullopt;
    }
    return error(ErrorCode::InternalError, QStringLiteral("unknown permission rule"));
}

} // namespace commy::broker
