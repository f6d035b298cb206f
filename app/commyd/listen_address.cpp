#include "listen_address.h"

namespace commy::commyd {

Expected<ListenAddress, QString> parseListenAddress(const QString& text)
{
    const auto invalid = [&text](const QString& why) {
        return unexpected(QStringLiteral("listen address \"%1\": %2 (want HOST:PORT, e.g. 127.0.0.1:8765 or "
                                         "[::1]:8765)")
                              .arg(text, why));
    };
    QString host;
    QString port;
    if (text.startsWith(u'[')) {
        const qsizetype close = text.indexOf(QLatin1String("]:"));
        if (close < 0)
            return invalid(QStringLiteral("an IPv6 address in brackets must be followed by :PORT"));
        host = text.mid(1, close - 1);
        port = text.mid(close + 2);
    } else {
        const qsizetype colon = text.lastIndexOf(u':');
        if (colon < 0)
            return invalid(QStringLiteral("no port"));
        host = text.left(colon);
        port = text.mid(colon + 1);
        if (host.contains(u':'))
            return invalid(QStringLiteral("put an IPv6 address in brackets"));
    }

    ListenAddress address;
    if (host == QLatin1String("localhost"))
        address.host = QHostAddress(QHostAddress::LocalHost);
    else if (!address.host.setAddress(host))
        return invalid(QStringLiteral("\"%1\" is not an IP address").arg(host));

    bool ok = false;
    const uint number = port.toUInt(&ok, 10);
    if (!ok || number > 65535 || port.isEmpty() || !port.front().isDigit())
        return invalid(QStringLiteral("\"%1\" is not a port number 0-65535").arg(port));
    address.port = quint16(number);
    return address;
}

} // namespace commy::commyd
