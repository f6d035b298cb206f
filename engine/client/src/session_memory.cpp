#include "session_memory.h"

namespace commy::client::detail {

namespace {

// A token this close to its expiry is not worth trying: the original credential is used instead.
constexpr std::chrono::seconds kTokenMargin { 5 };

template <class T> const T* as(const protocol::Request& request) { return std::get_if<T>(&request); }

} // namespace

void SessionMemory::record(const protocol::Request& request, const protocol::ResultData& result, Clock::time_point now)
{
    const auto* issued = std::get_if<protocol::AuthenticateResult>(&result);
    if (const auto* authenticate = as<protocol::Authenticate>(request); authenticate && issued) {
        Auth& auth = m_auths[authKey(authenticate->tenant)];
        auth.original = *authenticate;
        updateToken(authenticate->tenant, *issued, now);
    } else if (const auto* refresh = as<protocol::RefreshToken>(request); refresh && issued) {
        updateToken(refresh->tenant, *issued, now);
    } else if (const auto* logout = as<protocol::Logout>(request)) {
        forgetTenant(logout->tenant);
    } else if (const auto* subscribeRequest = as<protocol::Subscribe>(request)) {
        subscribe(*subscribeRequest);
    } else if (const auto* unsubscribeRequest = as<protocol::Unsubscribe>(request)) {
        unsubscribe(*unsubscribeRequest);
    }
}

std::vector<Reauthentication> SessionMemory::reauthentications(Clock::time_point now) const
{
    std::vector<Reauthentication> result;
    for (const auto& [key, auth] : m_auths) {
        Reauthentication item { auth.original, false };
        if (!auth.token.isEmpty() && now + kTokenMargin < auth.tokenExpires) {
            item.request.credential = protocol::TokenCredential { auth.token };
            item.withToken = true;
        }
        result.push_back(std::move(item));
    }
    return result;
}

std::optional<protocol::Authenticate> SessionMemory::original(const std::optional<QString>& tenant) const
{
    const auto it = m_auths.find(authKey(tenant));
    if (it == m_auths.end())
        return std::nullopt;
    return it->second.original;
}

void SessionMemory::updateToken(
    const std::optional<QString>& tenant, const protocol::AuthenticateResult& result, Clock::time_point now)
{
    const auto it = m_auths.find(authKey(tenant));
    if (it == m_auths.end())
        return;
    it->second.token = result.token;
    it->second.tokenExpires = now + std::chrono::seconds(result.expiresIn);
}

void SessionMemory::forgetTenant(const std::optional<QString>& tenant)
{
    m_auths.erase(authKey(tenant));
    if (!tenant)
        return;
    for (auto it = m_subscriptions.begin(); it != m_subscriptions.end();) {
        if (it->first.first == *tenant)
            it = m_subscriptions.erase(it);
        else
            ++it;
    }
}

std::vector<Subscription> SessionMemory::subscriptions() const
{
    std::vector<Subscription> result;
    for (const auto& [key, subscription] : m_subscriptions)
        result.push_back(subscription);
    return result;
}

const Subscription* SessionMemory::subscription(const QString& tenant, const QString& service) const
{
    const auto it = m_subscriptions.find({ tenant, service });
    return it == m_subscriptions.end() ? nullptr : &it->second;
}

void SessionMemory::forgetSubscription(const QString& tenant, const QString& service)
{
    m_subscriptions.erase({ tenant, service });
}

void SessionMemory::clear()
{
    m_auths.clear();
    m_subscriptions.clear();
}

void SessionMemory::subscribe(const protocol::Subscribe& request)
{
    Subscription& subscription = m_subscriptions[{ request.tenant, request.service }];
    subscription.tenant = request.tenant;
    subscription.service = request.service;
    if (!request.variables) {
        subscription.wholeService = true;
        subscription.variables.clear();
        subscription.excluded.clear();
    } else if (subscription.wholeService) {
        for (const QString& variable : *request.variables)
            subscription.excluded.erase(variable);
    } else {
        subscription.variables.insert(request.variables->begin(), request.variables->end());
    }
}

void SessionMemory::unsubscribe(const protocol::Unsubscribe& request)
{
    const auto it = m_subscriptions.find({ request.tenant, request.service });
    if (it == m_subscriptions.end())
        return;
    if (!request.variables) {
        m_subscriptions.erase(it);
        return;
    }
    // Some variables of a whole-service subscription: replayed as Subscribe, then Unsubscribe them.
    if (it->second.wholeService) {
        it->second.excluded.insert(request.variables->begin(), request.variables->end());
        return;
    }
    for (const QString& variable : *request.variables)
        it->second.variables.erase(variable);
    if (it->second.variables.empty())
        m_subscriptions.erase(it);
}

} // namespace commy::client::detail
