#pragma once

// The server side of the WebSocket opening handshake (RFC 6455 section 4.2), without a socket: reads
// the client's HTTP upgrade request from the bytes received so far and says what to answer. Only
// version 13 and no extensions or subprotocols are offered.

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

namespace commy::broker {

struct WsHandshake {
    enum class Status {
        NeedMore, // the request's header has not ended yet
        Accepted, // `response` is the 101 answer; the connection speaks WebSocket after it
        Refused, // `response` is an HTTP error; close the connection after sending it
    };
    Status status = Status::NeedMore;
    QByteArray response;
    qsizetype requestBytes = 0; // bytes of `received` the request took (frames may follow them)
    QString refusal; // why, for the log
};

// A request header longer than `maxHeaderBytes` is refused (431).
WsHandshake readUpgradeRequest(QByteArrayView received, qsizetype maxHeaderBytes = 16 * 1024);

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key.
QByteArray wsAcceptKey(QByteArrayView clientKey);

} // namespace commy::broker
