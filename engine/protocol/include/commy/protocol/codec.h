#pragma once

// The JSON codec: text frames {"type": T, "id": ID, "data": {...}} to typed messages and back.
// Decoding validates everything (types, required fields, names, base64) and never trusts the input;
// encoding produces compact JSON.

#include <commy/protocol/messages.h>
#include <commy/shm/expected.h>

#include <QByteArray>
#include <QByteArrayView>

#include <optional>

namespace commy::protocol {

struct RequestFrame {
    RequestId id;
    Request request;
    bool operator==(const RequestFrame&) const = default;
};

// Why a frame was rejected. `id` is set when the envelope's id could be read, so the reply can echo
// it; `message` names the offending field.
struct DecodeError {
    std::optional<RequestId> id;
    ErrorCode code = ErrorCode::InvalidRequest;
    QString message;
};

using DecodeResult = Expected<RequestFrame, DecodeError>;

[[nodiscard]] DecodeResult decodeRequest(QByteArrayView frame);

QByteArray encodeRequest(const RequestId& id, const Request& request);
QByteArray encodeResult(const RequestId& id, const ResultData& result);
// Without an id (the request's id was unreadable) the reply carries "id": null.
QByteArray encodeError(const std::optional<RequestId>& id, const Error& error);
QByteArray encodeError(const DecodeError& error);
QByteArray encodePush(const VariableChanged& push);
QByteArray encodePush(const StatsUpdate& push);
QByteArray encodePush(const ProcessEvent& push);
QByteArray encodePush(const TreeChanged& push);

// One VariableChanged encoded once for every subscription it goes to. Only `seq` and `coalesced`
// differ between subscriptions, and they come first in the encoding (keys are sorted), so the rest
// is encoded here once; appendTo() completes it for one subscription with the same bytes
// encodePush() would give.
class PushEncoding {
public:
    explicit PushEncoding(const VariableChanged& push); // its seq and coalesced are not used
    qsizetype sizeFor(qint64 seq, bool coalesced) const;
    void appendTo(QByteArray& out, qint64 seq, bool coalesced) const;
    QByteArray encode(qint64 seq, bool coalesced) const;

private:
    QByteArray m_tail; // from the key after "seq" to the end
    std::optional<VariableChanged> m_escaped; // names that need escaping: encoded in full each time
};

} // namespace commy::protocol
