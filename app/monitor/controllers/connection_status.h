#pragma once

// How a connection to a broker stands, as the connections list and the status bar show it. In a
// namespace of its own: the Monitor namespace's meta-object belongs to snapshots.h.

#include <QObject>
#include <QString>
#include <QtQml/qqmlregistration.h>

namespace commy::monitor {

namespace connection {
Q_NAMESPACE
QML_NAMED_ELEMENT(ConnectionStatus)

enum class ConnectionStatus {
    Disconnected, // not opened, closed, or no key to authenticate with
    Connecting, // the first connection and authentication of open()
    Connected, // authenticated: requests flow
    AuthenticationFailed, // the broker refused the key (UNAUTHORIZED, RATE_LIMITED); not retried
    TlsError, // the broker's certificate was refused; not retried
    Reconnecting, // the connection was lost: waiting for the next attempt
};
Q_ENUM_NS(ConnectionStatus)
} // namespace connection

using connection::ConnectionStatus;

// "Connected", "Authentication failed", ... (for people).
QString connectionStatusName(ConnectionStatus status);

} // namespace commy::monitor
