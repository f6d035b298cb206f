#include <commy/protocol/server_codec.h>

#include "envelope.h"
#include "field_reader.h"

#include <utility>

namespace commy::protocol {

using detail::FieldReader;

namespace {

constexpr qsizetype kMaxPathLength = 4096;
constexpr qsizetype kMaxErrorMessageLength = 4096;
constexpr qsizetype kMaxErrorCodeLength = 64;

QLatin1StringView key(const char* text) { return QLatin1StringView(text); }

// --- Result payloads: read(FieldReader&, T&) is the inverse of the codec's write() for T.

void read(FieldReader&, EmptyResult&) { }
void read(FieldReader& r, AuthenticateResult& m)
{
    m.token = r.text(key("token"), detail::kMaxSecretLength);
    m.expiresIn = r.integer(key("expires_in"), 0);
    m.scopes = r.scopes(key("scopes"), FieldReader::ServerAdmin::Allowed);
}
void read(FieldReader& r, HeartbeatResult& m) { m.serverTime = r.integer(key("server_time"), 0); }
void read(FieldReader& r, TenantInfo& m)
{
    m.name = r.name(key("name"));
    m.services = r.integer(key("services"), 0);
}
void read(FieldReader& r, ListTenantsResult& m)
{
    m.tenants = r.list<TenantInfo>(key("tenants"), [](FieldReader& item, TenantInfo& info) { read(item, info); });
}
void read(FieldReader& r, CreateKeyResult& m)
{
    m.keyId = r.name(key("key_id"));
    m.key = r.text(key("key"), detail::kMaxSecretLength);
}
void read(FieldReader& r, KeyInfo& m)
{
    m.keyId = r.name(key("key_id"));
    m.name = r.optionalText(key("name"), detail::kMaxLabelLength);
    m.scopes = r.scopes(key("scopes"));
}
void read(FieldReader& r, ListKeysResult& m)
{
    m.keys = r.list<KeyInfo>(key("keys"), [](FieldReader& item, KeyInfo& info) { read(item, info); });
}
void read(FieldReader& r, ServiceInfo& m)
{
    m.name = r.name(key("name"));
    m.size = r.integer(key("size"), 0);
    m.limit = r.integer(key("limit"), 0);
    m.variables = r.integer(key("variables"), 0);
}
void read(FieldReader& r, ListServicesResult& m)
{
    m.services = r.list<ServiceInfo>(key("services"), [](FieldReader& item, ServiceInfo& info) { read(item, info); });
}
void read(FieldReader& r, WriteResult& m) { m.version = r.integer(key("version"), 0); }
void read(FieldReader& r, ReadResult& m)
{
    m.value = r.bytes(key("value"));
    m.version = r.integer(key("version"), 0);
}
void read(FieldReader& r, VariableInfo& m)
{
    m.name = r.name(key("name"));
    m.size = r.integer(key("size"), 0);
    m.version = r.integer(key("version"), 0);
}
void read(FieldReader& r, ListVariablesResult& m)
{
    m.variables
        = r.list<VariableInfo>(key("variables"), [](FieldReader& item, VariableInfo& info) { read(item, info); });
}
void read(FieldReader& r, ServiceFilePathResult& m)
{
    m.path = r.text(key("path"), kMaxPathLength);
    m.size = r.integer(key("size"), 0);
}

void read(FieldReader& r, Error& m)
{
    const QString code = r.text(key("code"), kMaxErrorCodeLength);
    const auto known = errorCodeFromName(code);
    if (!r.failed() && !known)
        r.fail(key("code"), QStringLiteral("names no error code"));
    m.code = known.value_or(ErrorCode::InternalError);
    m.message = r.text(key("message"), 0, kMaxErrorMessageLength);
    m.retryAfter = r.optionalInteger(key("retry_after"), 0);
}

void read(FieldReader& r, VariableChanged& m)
{
    m.tenant = r.name(key("tenant"));
    m.service = r.name(key("service"));
    m.variable = r.name(key("variable"));
    m.value = r.bytes(key("value"));
    m.version = r.integer(key("version"), 0);
    m.seq = r.integer(key("seq"), 0);
    m.coalesced = r.optionalBool(key("coalesced")).value_or(false);
}

Unexpected<DecodeError> reject(std::optional<RequestId> id, QString message)
{
    return unexpected(DecodeError { std::move(id), ErrorCode::InvalidRequest, std::move(message) });
}

// Reads `data` as T; `id` only labels a rejection.
template <class T> Expected<T, DecodeError> readData(const QJsonObject& data, const std::optional<RequestId>& id)
{
    FieldReader reader(data);
    T value {};
    read(reader, value);
    reader.finish();
    if (reader.failed())
        return reject(id, QStringLiteral("data: %1").arg(reader.error()));
    return value;
}

enum class Kind { Result, Error, Push };

std::optional<Kind> frameKind(const QString& type)
{
    if (type == u"Result")
        return Kind::Result;
    if (type == u"Error")
        return Kind::Error;
    if (type == u"VariableChanged")
        return Kind::Push;
    return std::nullopt;
}

} // namespace

Expected<ServerFrame, DecodeError> decodeServerFrame(QByteArrayView frame)
{
    const auto parsed = detail::parseEnvelope(frame);
    if (!parsed)
        return reject(std::nullopt, parsed.error());
    const QJsonObject& envelope = *parsed;

    const QJsonValue idJson = envelope.value(key("id"));
    const std::optional<RequestId> id = detail::requestId(idJson);

    const QJsonValue typeJson = envelope.value(key("type"));
    if (typeJson.isUndefined())
        return reject(id, QStringLiteral("field 'type' is missing"));
    if (!typeJson.isString())
        return reject(id, QStringLiteral("field 'type' must be a string"));
    const auto kind = frameKind(typeJson.toString());
    if (!kind)
        return reject(id,
            QStringLiteral("field 'type' names no server message (Result, Error, VariableChanged): %1")
                .arg(typeJson.toString().left(64)));

    // A Result answers a request, so it has its id; an Error may carry null when the broker could not
    // read the request's id; a push answers nothing.
    switch (*kind) {
    case Kind::Result:
        if (!id)
            return reject(std::nullopt, detail::idProblem(idJson));
        break;
    case Kind::Error:
        if (!id && !idJson.isNull())
            return reject(std::nullopt,
                idJson.isUndefined() ? detail::idProblem(idJson)
                                     : QStringLiteral("field 'id' must be null, a string of 1 to %1 characters or an "
                                                      "integer")
                                           .arg(detail::kMaxIdLength));
        break;
    case Kind::Push:
        if (!idJson.isUndefined())
            return reject(std::nullopt, QStringLiteral("field 'id' is not part of a push"));
        break;
    }

    const QJsonValue dataJson = envelope.value(key("data"));
    if (dataJson.isUndefined())
        return reject(id, QStringLiteral("field 'data' is missing"));
    if (!dataJson.isObject())
        return reject(id, QStringLiteral("field 'data' must be an object"));
    if (const auto unknown = detail::unknownField(envelope, { key("type"), key("id"), key("data") }))
        return reject(id, QStringLiteral("field '%1' is not part of the envelope").arg(unknown->left(64)));
    const QJsonObject data = dataJson.toObject();

    switch (*kind) {
    case Kind::Result:
        return ServerFrame(ResultFrame { *id, data });
    case Kind::Error: {
        auto error = readData<Error>(data, id);
        if (!error)
            return unexpected(error.error());
        return ServerFrame(ErrorFrame { id, std::move(error).value() });
    }
    case Kind::Push: {
        auto push = readData<VariableChanged>(data, std::nullopt);
        if (!push)
            return unexpected(push.error());
        return ServerFrame(std::move(push).value());
    }
    }
    return reject(id, QStringLiteral("unreachable"));
}

Expected<ResultData, DecodeError> decodeResult(const Request& answered, const QJsonObject& data)
{
    return std::visit(
        [&data](const auto& request) -> Expected<ResultData, DecodeError> {
            using Payload = ResultOfT<std::decay_t<decltype(request)>>;
            auto payload = readData<Payload>(data, std::nullopt);
            if (!payload)
                return unexpected(payload.error());
            return ResultData(std::move(payload).value());
        },
        answered);
}

} // namespace commy::protocol
