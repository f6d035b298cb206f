#include <commy/protocol/messages.h>

#include "message_names.h"

#include <array>
#include <utility>

namespace commy::protocol {

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

QString requestTypeName(const Request& request)
{
    return QString::fromLatin1(detail::kRequestTypeNames[request.index()]);
}

} // namespace commy::protocol
