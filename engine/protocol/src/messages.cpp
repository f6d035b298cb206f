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

constexpr std::array<std::pair<RootKind, const char16_t*>, 9> kRootKindNames { {
    { RootKind::Bytes, u"bytes" },
    { RootKind::Vec, u"vec" },
    { RootKind::String, u"string" },
    { RootKind::Box, u"box" },
    { RootKind::HashMap, u"hashmap" },
    { RootKind::HashSet, u"hashset" },
    { RootKind::BTreeMap, u"btreemap" },
    { RootKind::BTreeSet, u"btreeset" },
    { RootKind::Deque, u"deque" },
} };

constexpr std::array<std::pair<Liveness, const char16_t*>, 4> kLivenessNames { {
    { Liveness::Alive, u"alive" },
    { Liveness::Stale, u"stale" },
    { Liveness::Dead, u"dead" },
    { Liveness::Gone, u"gone" },
} };

template <class E, std::size_t N> QString nameOf(const std::array<std::pair<E, const char16_t*>, N>& names, E value)
{
    for (const auto& [candidate, name] : names) {
        if (candidate == value)
            return QString::fromUtf16(name);
    }
    return {};
}

template <class E, std::size_t N>
std::optional<E> valueOf(const std::array<std::pair<E, const char16_t*>, N>& names, QStringView name)
{
    for (const auto& [value, text] : names) {
        if (name == QStringView(text))
            return value;
    }
    return std::nullopt;
}

} // namespace

QString rootKindName(RootKind kind) { return nameOf(kRootKindNames, kind); }
std::optional<RootKind> rootKindFromName(QStringView name) { return valueOf(kRootKindNames, name); }
QString livenessName(Liveness liveness) { return nameOf(kLivenessNames, liveness); }
std::optional<Liveness> livenessFromName(QStringView name) { return valueOf(kLivenessNames, name); }

QString scopeName(Scope scope) { return nameOf(kScopeNames, scope); }
std::optional<Scope> scopeFromName(QStringView name) { return valueOf(kScopeNames, name); }

QString requestTypeName(const Request& request)
{
    return QString::fromLatin1(detail::kRequestTypeNames[request.index()]);
}

} // namespace commy::protocol
