#pragma once

// What each request needs before its handler runs. The table is the whole permission model:
// server_admin is a superuser on every tenant; a tenant grant needs one of the listed scopes;
// Authenticate and Heartbeat need nothing; Logout and RefreshToken need a grant for their tenant; a
// Watch needs read or admin on the tenant of every service it names.

#include "session_state.h"

#include <commy/protocol/messages.h>

#include <optional>
#include <vector>

namespace commy::broker {

struct Requirement {
    enum class Kind {
        None, // anyone
        TenantGrant, // any grant for `tenant` (the server grant does not count)
        TenantScope, // one of `anyOf` on `tenant`, or server_admin
        EveryTenantScope, // one of `anyOf` on each of `tenants`, or server_admin
        ServerAdmin,
    };
    Kind kind = Kind::None;
    QString tenant;
    Scopes anyOf;
    std::vector<QString> tenants; // EveryTenantScope
};

Requirement requirementOf(const protocol::Request& request);

// nullopt when allowed. UNAUTHORIZED without a live grant for the tenant (or any grant at all for
// server requests), PERMISSION_DENIED with a grant that lacks the scope. Expired grants are removed.
std::optional<protocol::Error> checkPermission(SessionState& session, const Requirement& requirement, qint64 now);
// The TenantScope rule on its own, for checks that repeat after the request (a Watch's ticks).
std::optional<protocol::Error> checkTenantScope(SessionState& session, const QString& tenant, Scopes anyOf, qint64 now);

} // namespace commy::broker
