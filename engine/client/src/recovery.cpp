// BrokerClient's recovery: restoring the session on a new connection (re-authenticate, re-subscribe)
// and resyncing subscriptions whose updates were missed.

#include <commy/client/broker_client.h>

#include "pending_requests.h"
#include "seq_tracker.h"
#include "session_memory.h"

#include <QPointer>

namespace commy::client {

using detail::Clock;

namespace {

QString describe(const protocol::Error& error)
{
    return QStringLiteral("%1: %2").arg(protocol::errorCodeName(error.code), error.message);
}

QString authLabel(const std::optional<QString>& tenant)
{
    return tenant ? QStringLiteral("tenant '%1'").arg(*tenant) : QStringLiteral("the server");
}

QString resyncKey(const QString& tenant, const QString& service) { return tenant + QLatin1Char('/') + service; }

} // namespace

// --- Restoring the session ---------------------------------------------------------------------

void BrokerClient::restoreSession()
{
    const std::vector<detail::Reauthentication> attempts = m_memory->reauthentications(Clock::now());
    if (attempts.empty()) {
        resubscribe();
        return;
    }
    auto remaining = std::make_shared<int>(int(attempts.size()));
    for (const detail::Reauthentication& attempt : attempts)
        reauthenticate(attempt.request, attempt.withToken, remaining);
}

// With the issued token first, while it is valid; when the broker refuses it (expired, revoked, the
// broker restarted), with the credential the user gave.
void BrokerClient::reauthenticate(
    const protocol::Authenticate& attempt, bool withToken, const std::shared_ptr<int>& remaining)
{
    sendInternal(attempt, [this, attempt, withToken, remaining](const Reply& reply) {
        const std::optional<QString>& tenant = attempt.tenant;
        if (reply) {
            if (const auto* issued = std::get_if<protocol::AuthenticateResult>(&*reply))
                m_memory->updateToken(tenant, *issued, Clock::now());
        } else if (const auto original = m_memory->original(tenant); withToken && original) {
            reauthenticate(*original, false, remaining);
            return;
        } else {
            m_memory->forgetTenant(tenant);
            if (!fail(QStringLiteral("re-authentication to %1 failed (%2); its subscriptions are dropped")
                          .arg(authLabel(tenant), describe(reply.error()))))
                return;
        }
        if (--*remaining == 0)
            resubscribe();
    });
}

void BrokerClient::resubscribe()
{
    const std::vector<detail::Subscription> subscriptions = m_memory->subscriptions();
    auto remaining = std::make_shared<int>(0);
    const auto finishStep = [this, remaining] {
        if (--*remaining > 0)
            return;
        QPointer<BrokerClient> self(this);
        becomeConnected(true);
        // Updates may have been missed while away.
        if (!self || m_state != State::Connected)
            return;
        for (const detail::Subscription& subscription : m_memory->subscriptions())
            resync(subscription.tenant, subscription.service);
    };

    // One step more than there are requests, released below once all are sent.
    ++*remaining;
    for (const detail::Subscription& subscription : subscriptions) {
        const QString tenant = subscription.tenant;
        const QString service = subscription.service;
        m_seq->restart(tenant, service);
        std::optional<std::vector<QString>> variables;
        if (!subscription.wholeService)
            variables.emplace(subscription.variables.begin(), subscription.variables.end());
        ++*remaining;
        sendInternal(protocol::Subscribe { tenant, service, variables },
            [this, tenant, service, finishStep](const Reply& reply) {
                if (!reply) {
                    m_memory->forgetSubscription(tenant, service);
                    if (!fail(QStringLiteral("re-subscription to %1/%2 failed (%3); it is dropped")
                                  .arg(tenant, service, describe(reply.error()))))
                        return;
                }
                finishStep();
            });
        if (subscription.wholeService && !subscription.excluded.empty()) {
            ++*remaining;
            sendInternal(protocol::Unsubscribe { tenant, service,
                             std::vector<QString>(subscription.excluded.begin(), subscription.excluded.end()) },
                [this, tenant, service, finishStep](const Reply& reply) {
                    if (!reply
                        && !fail(QStringLiteral("re-unsubscribing variables of %1/%2 failed (%3)")
                                     .arg(tenant, service, describe(reply.error()))))
                        return;
                    finishStep();
                });
        }
    }
    finishStep();
}

// --- Resync ------------------------------------------------------------------------------------

void BrokerClient::resync(const QString& tenant, const QString& service)
{
    const QString key = resyncKey(tenant, service);
    if (m_resyncing.contains(key)) {
        m_resyncAgain.insert(key);
        return;
    }
    const detail::Subscription* subscription = m_memory->subscription(tenant, service);
    if (!subscription || !m_socket)
        return;
    m_resyncing.insert(key);
    // One step for this function itself, released at its end, so that replies cannot finish the
    // resync while requests are still being sent.
    auto remaining = std::make_shared<int>(1);
    for (const QString& variable : subscription->variables)
        readForResync(tenant, service, variable, remaining);
    if (subscription->wholeService) {
        ++*remaining;
        const std::set<QString> excluded = subscription->excluded;
        sendInternal(protocol::ListVariables { tenant, service },
            [this, tenant, service, excluded, remaining](const Reply& reply) {
                if (reply) {
                    // The listing has versions: only what is newer than what was delivered is read.
                    for (const protocol::VariableInfo& info :
                        std::get<protocol::ListVariablesResult>(*reply).variables) {
                        if (!excluded.contains(info.name) && m_seq->isNewer(tenant, service, info.name, info.version))
                            readForResync(tenant, service, info.name, remaining);
                    }
                } else if (!fail(QStringLiteral("resync of %1/%2: listing its variables failed (%3)")
                                     .arg(tenant, service, describe(reply.error())))) {
                    return;
                }
                finishResyncStep(tenant, service, remaining);
            });
    }
    finishResyncStep(tenant, service, remaining);
}

void BrokerClient::readForResync(
    const QString& tenant, const QString& service, const QString& variable, const std::shared_ptr<int>& remaining)
{
    ++*remaining;
    sendInternal(protocol::ReadVariable { tenant, service, variable },
        [this, tenant, service, variable, remaining](const Reply& reply) {
            QPointer<BrokerClient> self(this);
            if (reply) {
                const auto& read = std::get<protocol::ReadResult>(*reply);
                if (m_seq->isNewer(tenant, service, variable, read.version))
                    deliver(protocol::VariableChanged {
                        tenant, service, variable, read.value, read.version, kResyncSeq, false });
            } else if (reply.error().code != protocol::ErrorCode::NotFound) {
                // A variable deallocated meanwhile has nothing to resync; anything else is worth saying.
                fail(QStringLiteral("resync of %1/%2: reading '%3' failed (%4)")
                         .arg(tenant, service, variable, describe(reply.error())));
            }
            if (self)
                finishResyncStep(tenant, service, remaining);
        });
}

void BrokerClient::finishResyncStep(
    const QString& tenant, const QString& service, const std::shared_ptr<int>& remaining)
{
    if (--*remaining > 0)
        return;
    const QString key = resyncKey(tenant, service);
    m_resyncing.remove(key);
    if (m_resyncAgain.remove(key))
        resync(tenant, service);
}

} // namespace commy::client
