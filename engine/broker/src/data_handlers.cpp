// Variables, subscriptions and local mapping.

#include "broker_impl.h"

namespace commy::broker {

using protocol::ErrorCode;

namespace {

BrokerExpected<void> checkValue(const QByteArray& value, qint64 maxBytes)
{
    if (value.size() > maxBytes)
        return fail(ErrorCode::ResourceExhausted,
            QStringLiteral("the value has %1 bytes; the limit is %2").arg(value.size()).arg(maxBytes));
    return {};
}

} // namespace

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::AllocateVariable& m)
{
    const ServiceKey key { m.tenant, m.service };
    if (auto found = requireService(key); !found)
        return unexpected(found.error());
    if (auto fits = checkValue(m.value, options.maxValueBytes); !fits)
        return unexpected(fits.error());
    auto version = regions.allocate(key, m.variable, m.value);
    if (!version)
        return unexpected(version.error());
    publishWrite(key, m.variable, m.value, *version);
    return protocol::WriteResult { *version };
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::WriteVariable& m)
{
    const ServiceKey key { m.tenant, m.service };
    if (auto found = requireService(key); !found)
        return unexpected(found.error());
    if (auto fits = checkValue(m.value, options.maxValueBytes); !fits)
        return unexpected(fits.error());
    auto version = regions.write(key, m.variable, m.value, m.expectedVersion);
    if (!version)
        return unexpected(version.error());
    publishWrite(key, m.variable, m.value, *version);
    return protocol::WriteResult { *version };
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::ReadVariable& m)
{
    const ServiceKey key { m.tenant, m.service };
    if (auto found = requireService(key); !found)
        return unexpected(found.error());
    auto value = regions.read(key, m.variable);
    if (!value)
        return unexpected(value.error());
    return protocol::ReadResult { value->value, value->version };
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::DeallocateVariable& m)
{
    const ServiceKey key { m.tenant, m.service };
    if (auto found = requireService(key); !found)
        return unexpected(found.error());
    if (auto removed = regions.deallocate(key, m.variable); !removed)
        return unexpected(removed.error());
    return protocol::EmptyResult {};
}

Broker::Impl::Result Broker::Impl::handle(SessionState&, const protocol::ListVariables& m)
{
    const ServiceKey key { m.tenant, m.service };
    if (auto found = requireService(key); !found)
        return unexpected(found.error());
    auto variables = regions.list(key);
    if (!variables)
        return unexpected(variables.error());
    return protocol::ListVariablesResult { std::move(*variables) };
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::Subscribe& m)
{
    const ServiceKey key { m.tenant, m.service };
    if (auto found = requireService(key); !found)
        return unexpected(found.error());
    if (m.variables) {
        for (const QString& variable : *m.variables) {
            auto exists = regions.exists(key, variable);
            if (!exists)
                return unexpected(exists.error());
            if (!*exists)
                return fail(ErrorCode::NotFound, QStringLiteral("variable '%1' not found").arg(variable));
        }
    }
    watch(key);
    Subscription& subscription = session.subscriptions[key];
    if (!m.variables) {
        subscription.all = true;
        subscription.excluded.clear();
    } else {
        for (const QString& variable : *m.variables) {
            subscription.excluded.erase(variable);
            if (!subscription.all)
                subscription.included.insert(variable);
        }
    }
    subscribers[key].insert(session.id);
    return protocol::EmptyResult {};
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::Unsubscribe& m)
{
    const ServiceKey key { m.tenant, m.service };
    auto it = session.subscriptions.find(key);
    if (it == session.subscriptions.end())
        return protocol::EmptyResult {}; // nothing to stop: unsubscribing is idempotent
    if (m.variables) {
        for (const QString& variable : *m.variables) {
            if (it->second.all)
                it->second.excluded.insert(variable);
            else
                it->second.included.erase(variable);
        }
    }
    if (!m.variables || it->second.empty())
        unsubscribeAll(session, [&](const ServiceKey& other) { return other == key; });
    return protocol::EmptyResult {};
}

Broker::Impl::Result Broker::Impl::handle(SessionState& session, const protocol::GetServiceFilePath& m)
{
    // A path is only useful on this machine, and mapping bypasses the broker's per-message checks:
    // only local peers get it.
    if (!session.peer.address.isLoopback())
        return fail(ErrorCode::PermissionDenied, QStringLiteral("GetServiceFilePath is only answered to local peers"));
    const ServiceKey key { m.tenant, m.service };
    if (auto found = requireService(key); !found)
        return unexpected(found.error());
    auto region = regions.region(key);
    if (!region)
        return unexpected(region.error());
    return protocol::ServiceFilePathResult { regions.regionPath(key), qint64((*region)->size()) };
}

} // namespace commy::broker
