#pragma once

// "HOST:PORT" for --listen: HOST an IPv4 address, [IPv6] in brackets, or localhost; PORT 0-65535
// (0 picks a free port). Names other than localhost are not resolved.

#include <commy/shm/expected.h>

#include <QHostAddress>
#include <QString>

namespace commy::commyd {

struct ListenAddress {
    QHostAddress host;
    quint16 port = 0;
};

Expected<ListenAddress, QString> parseListenAddress(const QString& text);

} // namespace commy::commyd
