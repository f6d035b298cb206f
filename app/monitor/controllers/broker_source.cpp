#include "broker_source.h"

#include <commy/protocol/names.h>

namespace commy::monitor {

QString connectionStatusName(ConnectionStatus status)
{
    switch (status) {
    case ConnectionStatus::Disconnected:
        return QObject::tr("Disconnected");
    case ConnectionStatus::Connecting:
        return QObject::tr("Connecting");
    case ConnectionStatus::Connected:
        return QObject::tr("Connected");
    case ConnectionStatus::AuthenticationFailed:
        return QObject::tr("Authentication failed");
    case ConnectionStatus::TlsError:
        return QObject::tr("TLS error");
    case ConnectionStatus::Reconnecting:
        return QObject::tr("Reconnecting");
    }
    return {};
}

BrokerSource::BrokerSource(QObject* parent)
    : QObject(parent)
{
}

BrokerSource::~BrokerSource() = default;

QStringList BrokerSource::scopes() const { return m_scopes; }

QString BrokerSource::keyTenant() const { return m_keyTenant; }

bool BrokerSource::isServerAdmin() const { return m_scopes.contains(QLatin1String("server_admin")); }

bool BrokerSource::allows(const QString& scope, const QString& tenant) const
{
    if (isServerAdmin())
        return true;
    return !m_keyTenant.isEmpty() && m_keyTenant == tenant && m_scopes.contains(scope);
}

BrokerSource::KeyParts BrokerSource::splitKey(const QString& key)
{
    // Keys the broker issues are "<key id>.<secret>" in base64url: never a colon. A tenant name
    // cannot hold one either, so the first colon separates them.
    const qsizetype colon = key.indexOf(QLatin1Char(':'));
    if (colon > 0 && protocol::isValidName(QStringView(key).left(colon)))
        return { key.left(colon), key.mid(colon + 1) };
    return { std::nullopt, key };
}

void BrokerSource::setGrant(const QStringList& scopes, const QString& tenant)
{
    m_scopes = scopes;
    m_keyTenant = tenant;
}

} // namespace commy::monitor
