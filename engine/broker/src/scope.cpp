#include <commy/broker/scope.h>

#include <commy/protocol/messages.h>

#include <bit>

namespace commy::broker {

// The broker's flags are the protocol's scopes as bits (bit i is protocol::Scope value i), so the
// wire names live in one place: the protocol layer.
namespace {

constexpr unsigned kScopeCount = static_cast<unsigned>(protocol::Scope::ServerAdmin) + 1;
static_assert(static_cast<unsigned>(Scope::Read) == 1u << static_cast<unsigned>(protocol::Scope::Read));
static_assert(static_cast<unsigned>(Scope::Write) == 1u << static_cast<unsigned>(protocol::Scope::Write));
static_assert(static_cast<unsigned>(Scope::Subscribe) == 1u << static_cast<unsigned>(protocol::Scope::Subscribe));
static_assert(static_cast<unsigned>(Scope::Map) == 1u << static_cast<unsigned>(protocol::Scope::Map));
static_assert(static_cast<unsigned>(Scope::Admin) == 1u << static_cast<unsigned>(protocol::Scope::Admin));
static_assert(static_cast<unsigned>(Scope::ServerAdmin) == 1u << static_cast<unsigned>(protocol::Scope::ServerAdmin));

Scope flagOf(protocol::Scope scope) { return static_cast<Scope>(1u << static_cast<unsigned>(scope)); }

} // namespace

QString scopeName(Scope scope)
{
    const auto bits = static_cast<unsigned>(scope);
    if (!std::has_single_bit(bits) || std::countr_zero(bits) >= static_cast<int>(kScopeCount))
        return {};
    return protocol::scopeName(static_cast<protocol::Scope>(std::countr_zero(bits)));
}

std::optional<Scope> scopeFromName(QStringView name)
{
    const std::optional<protocol::Scope> scope = protocol::scopeFromName(name);
    return scope ? std::optional<Scope>(flagOf(*scope)) : std::nullopt;
}

QStringList formatScopes(Scopes scopes)
{
    QStringList names;
    for (unsigned i = 0; i < kScopeCount; ++i) {
        if (scopes.testFlag(flagOf(static_cast<protocol::Scope>(i))))
            names.append(protocol::scopeName(static_cast<protocol::Scope>(i)));
    }
    return names;
}

std::optional<Scopes> parseScopes(const QStringList& names)
{
    Scopes scopes;
    for (const QString& name : names) {
        const std::optional<Scope> scope = scopeFromName(name);
        if (!scope)
            return std::nullopt;
        scopes |= *scope;
    }
    return scopes;
}

std::vector<protocol::Scope> toWireScopes(Scopes scopes)
{
    std::vector<protocol::Scope> wire;
    for (unsigned i = 0; i < kScopeCount; ++i) {
        if (scopes.testFlag(flagOf(static_cast<protocol::Scope>(i))))
            wire.push_back(static_cast<protocol::Scope>(i));
    }
    return wire;
}

Scopes fromWireScopes(const std::vector<protocol::Scope>& wire)
{
    Scopes scopes;
    for (const protocol::Scope scope : wire)
        scopes |= flagOf(scope);
    return scopes;
}

QString scopesToText(Scopes scopes) { return formatScopes(scopes).join(QLatin1Char(',')); }

std::optional<Scopes> scopesFromText(QStringView text)
{
    if (text.isEmpty())
        return Scopes();
    return parseScopes(text.toString().split(QLatin1Char(',')));
}

} // namespace commy::broker
