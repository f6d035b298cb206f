#pragma once

// Permissions a credential grants. read, write, subscribe, map and admin apply to one tenant;
// server_admin is held only by server-level keys and tokens.

#include <QFlags>
#include <QString>
#include <QStringList>

#include <optional>
#include <vector>

namespace commy::protocol {
enum class Scope;
}

namespace commy::broker {

enum class Scope : quint8 {
    Read = 0x01,
    Write = 0x02,
    Subscribe = 0x04,
    Map = 0x08,
    Admin = 0x10,
    ServerAdmin = 0x20,
};
Q_DECLARE_FLAGS(Scopes, Scope)
Q_DECLARE_OPERATORS_FOR_FLAGS(Scopes)

inline constexpr Scopes kTenantScopes { Scope::Read, Scope::Write, Scope::Subscribe, Scope::Map, Scope::Admin };

// "read", "write", "subscribe", "map", "admin", "server_admin".
QString scopeName(Scope scope);
std::optional<Scope> scopeFromName(QStringView name);

// Scope names in a fixed order (the order of the enum), without duplicates.
QStringList formatScopes(Scopes scopes);
// nullopt when any name is unknown; duplicates are accepted.
std::optional<Scopes> parseScopes(const QStringList& names);

// The protocol's list form, in enum order.
std::vector<protocol::Scope> toWireScopes(Scopes scopes);
Scopes fromWireScopes(const std::vector<protocol::Scope>& wire);

// The comma-separated form the store keeps in its tables ("read,write").
QString scopesToText(Scopes scopes);
std::optional<Scopes> scopesFromText(QStringView text);

} // namespace commy::broker
