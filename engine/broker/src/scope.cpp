#include <commy/broker/scope.h>

#include <array>
#include <utility>

namespace commy::broker {

namespace {

constexpr std::array<std::pair<Scope, const char16_t*>, 6> kScopeNames { {
    { Scope::Read, u"read" },
    { Scope::Write, u"write" },
    { Scope::Subscribe, u"subscribe" },
    { Scope::Map, u"map" },
    { Scope::Admin, u"admin" },
    { Scope::ServerAdmin, u"server_admin" },
} };

} // namespace

QString scopeName(Scope scope)
{
    for (const auto& [value, name] : kScopeNames) {
        if (value == scope)
            return QString::fromUtf16(name);
    }
    return {};
}

std::optional<Scope> scopeFromName(QStringView name)
{
    for (const auto& [value, text] : kScopeNames) {
        if (name == QStringView(text))
            return value;
    }
    return std::nullopt;
}

QStringList formatScopes(Scopes scopes)
{
    QStringList names;
    for (const auto& [value, name] : kScopeNames) {
        if (scopes.testFlag(value))
            names.append(QString::fromUtf16(name));
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

QString scopesToText(Scopes scopes) { return formatScopes(scopes).join(QLatin1Char(',')); }

std::optional<Scopes> scopesFromText(QStringView text)
{
    if (text.isEmpty())
        return Scopes();
    return parseScopes(text.toString().split(QLatin1Char(',')));
}

} // namespace commy::broker
