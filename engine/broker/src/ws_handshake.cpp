#include "ws_handshake.h"

#include <QCryptographicHash>
#include <QList>

namespace commy::broker {

namespace {

// RFC 6455 section 1.3: appended to the client's key before hashing.
constexpr QByteArrayView kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

WsHandshake refuse(int status, QByteArrayView statusText, const QString& why, QByteArrayView extraHeaders = {})
{
    const QByteArray body = why.toUtf8() + '\n';
    WsHandshake result;
    result.status = WsHandshake::Status::Refused;
    result.refusal = why;
    result.response = "HTTP/1.1 " + QByteArray::number(status) + ' ' + statusText.toByteArray()
        + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + QByteArray::number(body.size())
        + "\r\nConnection: close\r\n" + extraHeaders.toByteArray() + "\r\n" + body;
    return result;
}

// True when a comma-separated header value lists `token` (case-insensitive), e.g. "keep-alive, Upgrade".
bool listsToken(QByteArrayView value, QByteArrayView token)
{
    for (QByteArrayView part : QByteArray(value.data(), value.size()).split(',')) {
        if (part.trimmed().compare(token, Qt::CaseInsensitive) == 0)
            return true;
    }
    return false;
}

struct RequestHeader {
    QByteArray method;
    QByteArray version;
    QByteArray host, upgrade, connection, key, wsVersion;
};

// False when a line is not "Name: value" or the request line is not "METHOD TARGET VERSION".
bool parseHeader(QByteArrayView text, RequestHeader& header)
{
    const QList<QByteArray> lines = QByteArray(text.data(), text.size()).split('\n');
    const QList<QByteArray> requestLine = lines.front().trimmed().split(' ');
    if (requestLine.size() != 3)
        return false;
    header.method = requestLine[0];
    header.version = requestLine[2];
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines[i].trimmed();
        if (line.isEmpty())
            continue;
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0)
            return false;
        const QByteArray name = line.left(colon).trimmed().toLower();
        const QByteArray value = line.mid(colon + 1).trimmed();
        // Repeated fields are one comma-separated list (RFC 9110 section 5.3).
        auto add = [&value](QByteArray& field) { field = field.isEmpty() ? value : field + ", " + value; };
        if (name == "host")
            add(header.host);
        else if (name == "upgrade")
            add(header.upgrade);
        else if (name == "connection")
            add(header.connection);
        else if (name == "sec-websocket-key")
            add(header.key);
        else if (name == "sec-websocket-version")
            add(header.wsVersion);
    }
    return true;
}

} // namespace

QByteArray wsAcceptKey(QByteArrayView clientKey)
{
    QCryptographicHash sha1(QCryptographicHash::Sha1);
    sha1.addData(clientKey);
    sha1.addData(kAcceptGuid);
    return sha1.result().toBase64();
}

WsHandshake readUpgradeRequest(QByteArrayView received, qsizetype maxHeaderBytes)
{
    const qsizetype end = received.indexOf(QByteArrayView("\r\n\r\n"));
    if (end < 0 || end + 4 > maxHeaderBytes) {
        if (end < 0 && received.size() <= maxHeaderBytes)
            return {};
        return refuse(431, "Request Header Fields Too Large",
            QStringLiteral("the request header is over %1 bytes").arg(maxHeaderBytes));
    }

    RequestHeader header;
    if (!parseHeader(received.first(end), header))
        return refuse(400, "Bad Request", QStringLiteral("not an HTTP request"));
    if (header.method != "GET")
        return refuse(405, "Method Not Allowed", QStringLiteral("a WebSocket upgrade is a GET request"));
    if (header.version != "HTTP/1.1")
        return refuse(400, "Bad Request", QStringLiteral("a WebSocket upgrade needs HTTP/1.1"));
    if (header.host.isEmpty())
        return refuse(400, "Bad Request", QStringLiteral("the request has no Host"));
    if (!listsToken(header.upgrade, "websocket") || !listsToken(header.connection, "upgrade"))
        return refuse(426, "Upgrade Required", QStringLiteral("this is a WebSocket server: upgrade to websocket"),
            "Upgrade: websocket\r\n");
    if (header.wsVersion.trimmed() != "13")
        return refuse(426, "Upgrade Required", QStringLiteral("only WebSocket version 13 is spoken"),
            "Sec-WebSocket-Version: 13\r\n");
    const auto nonce = QByteArray::fromBase64Encoding(header.key, QByteArray::AbortOnBase64DecodingErrors);
    if (!nonce || nonce.decoded.size() != 16)
        return refuse(400, "Bad Request", QStringLiteral("Sec-WebSocket-Key must be 16 bytes in base64"));

    WsHandshake result;
    result.status = WsHandshake::Status::Accepted;
    result.requestBytes = end + 4;
    result.response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: "
        + wsAcceptKey(header.key) + "\r\n\r\n";
    return result;
}

} // namespace commy::broker
