#pragma once

// The client's side of the codec: frames a broker sends (Result, Error and the pushes) to typed
// values. A Result's payload is decoded in a second step, once the client has matched its id to the
// request it answers, because the payload's shape depends on that request. Validation is as strict as
// decodeRequest(): a broker that sends something else is as suspect as a client that does.

#include <commy/protocol/codec.h>
#include <commy/protocol/messages.h>
#include <commy/shm/expected.h>

#include <QByteArrayView>
#include <QJsonObject>

#include <optional>
#include <variant>

namespace commy::protocol {

struct ResultFrame {
    RequestId id;
    QJsonObject data; // read with decodeResult()
    bool operator==(const ResultFrame&) const = default;
};

struct ErrorFrame {
    std::optional<RequestId> id; // absent when the broker could not read the request's id
    Error error;
    bool operator==(const ErrorFrame&) const = default;
};

// The alternatives after ErrorFrame are the pushes, which carry no id.
using ServerFrame = std::variant<ResultFrame, ErrorFrame, VariableChanged, StatsUpdate, ProcessEvent, TreeChanged>;

// A rejected frame's DecodeError carries the frame's id when it was readable, so the client can fail
// the request it belonged to.
[[nodiscard]] Expected<ServerFrame, DecodeError> decodeServerFrame(QByteArrayView frame);

// The payload of a Result answering `answered`, as the ResultData alternative ResultOfT<> names.
[[nodiscard]] Expected<ResultData, DecodeError> decodeResult(const Request& answered, const QJsonObject& data);

} // namespace commy::protocol
