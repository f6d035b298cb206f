#include <commy/protocol/server_codec.h>

#include "envelope.h"
#include "field_reader.h"

#include <iterator>
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

RootKind readKind(FieldReader& r)
{
    const QString name = r.text(key("kind"), detail::kMaxLabelLength);
    const auto kind = rootKindFromName(name);
    if (!r.failed() && !kind)
        r.fail(key("kind"),
            QStringLiteral("must be one of bytes, vec, string, box, hashmap, hashset, btreemap, btreeset, deque"));
    return kind.value_or(RootKind::Bytes);
}
// Gone only where a process leaves the table (ProcessEvent).
Liveness readLiveness(FieldReader& r, bool gone)
{
    const QString name = r.text(key("liveness"), detail::kMaxLabelLength);
    const auto liveness = livenessFromName(name);
    if (!r.failed() && (!liveness || (*liveness == Liveness::Gone && !gone)))
        r.fail(key("liveness"),
            gone ? QStringLiteral("must be one of alive, stale, dead, gone")
                 : QStringLiteral("must be one of alive, stale, dead"));
    return liveness.value_or(Liveness::Alive);
}

void read(FieldReader& r, BrokerInfoResult& m)
{
    m.version = r.text(key("version"), detail::kMaxLabelLength);
    m.uptimeMs = r.integer(key("uptime_ms"), 0);
    m.sessions = r.integer(key("sessions"), 0);
    m.tenants = r.integer(key("tenants"), 0);
    m.subscriptions = r.integer(key("subscriptions"), 0);
}
void read(FieldReader& r, RootSummary& m)
{
    m.name = r.text(key("name"), kMaxRootNameLength);
    m.kind = readKind(r);
    m.type = r.text(key("type"), 0, kMaxRootTypeLength);
    m.size = r.integer(key("size"), 0);
    m.version = r.integer(key("version"), 0);
}
void read(FieldReader& r, ServiceTree& m)
{
    m.name = r.name(key("name"));
    m.size = r.integer(key("size"), 0);
    m.limit = r.integer(key("limit"), 0);
    m.used = r.integer(key("used"), 0);
    m.roots = r.list<RootSummary>(key("roots"), [](FieldReader& item, RootSummary& root) { read(item, root); });
}
void read(FieldReader& r, TenantTree& m)
{
    m.name = r.name(key("name"));
    m.services
        = r.list<ServiceTree>(key("services"), [](FieldReader& item, ServiceTree& service) { read(item, service); });
}
void read(FieldReader& r, TreeResult& m)
{
    m.tenants = r.list<TenantTree>(key("tenants"), [](FieldReader& item, TenantTree& tenant) { read(item, tenant); });
}
void read(FieldReader& r, RegionStats& m)
{
    m.size = r.integer(key("size"), 0);
    m.limit = r.integer(key("limit"), 0);
    m.used = r.integer(key("used"), 0);
    m.free = r.integer(key("free"), 0);
    m.largestFree = r.integer(key("largest_free"), 0);
    m.fragmentation = r.number(key("fragmentation"), 0, 1);
    m.usedBlocks = r.integer(key("used_blocks"), 0);
    m.freeBlocks = r.integer(key("free_blocks"), 0);
    m.generation = r.integer(key("generation"), 0);
    m.grows = r.integer(key("grows"), 0);
    m.shrinks = r.integer(key("shrinks"), 0);
    m.lockRecoveries = r.integer(key("lock_recoveries"), 0);
    m.cleanups = r.integer(key("cleanups"), 0);
}
void read(FieldReader& r, BlockEntry& m)
{
    m.offset = r.integer(key("offset"), 0);
    m.size = r.integer(key("size"), 0);
    m.free = r.boolean(key("free"));
    m.owner = r.integer(key("owner"), -1);
}
void read(FieldReader& r, BlockMapResult& m)
{
    m.total = r.integer(key("total"), 0);
    m.blocks = r.list<BlockEntry>(key("blocks"), [](FieldReader& item, BlockEntry& block) { read(item, block); });
}
void read(FieldReader& r, ProcessEntry& m)
{
    m.slot = r.integer(key("slot"), 0);
    m.pid = r.integer(key("pid"), 0);
    m.name = r.text(key("name"), 0, kMaxProcessNameLength);
    m.heartbeatAgeMs = r.integer(key("heartbeat_age_ms"), 0);
    m.liveness = readLiveness(r, false);
}
void read(FieldReader& r, ProcessesResult& m)
{
    m.processes
        = r.list<ProcessEntry>(key("processes"), [](FieldReader& item, ProcessEntry& process) { read(item, process); });
}
void read(FieldReader& r, SessionEntry& m)
{
    m.id = r.integer(key("id"), 0);
    m.peer = r.text(key("peer"), detail::kMaxLabelLength);
    m.clientName = r.optionalText(key("client_name"), detail::kMaxLabelLength);
    m.tenants = r.nameList(key("tenants"));
    m.subscriptions = r.integer(key("subscriptions"), 0);
    m.queueBytes = r.integer(key("queue_bytes"), 0);
}
void read(FieldReader& r, SessionsResult& m)
{
    m.sessions
        = r.list<SessionEntry>(key("sessions"), [](FieldReader& item, SessionEntry& session) { read(item, session); });
}
void read(FieldReader& r, BrowseElement& m)
{
    m.index = r.integer(key("index"), 0);
    m.key = r.optionalValue(key("key"));
    m.value = r.value(key("value"));
}
void read(FieldReader& r, BrowseResult& m)
{
    m.kind = readKind(r);
    m.type = r.text(key("type"), 0, kMaxRootTypeLength);
    m.length = r.integer(key("length"), 0);
    m.version = r.integer(key("version"), 0);
    m.elements = r.list<BrowseElement>(
        key("elements"), [](FieldReader& item, BrowseElement& element) { read(item, element); });
}
void read(FieldReader& r, RegionSizeResult& m) { m.size = r.integer(key("size"), 0); }
void read(FieldReader& r, FreedSlot& m)
{
    m.slot = r.integer(key("slot"), 0);
    m.pid = r.integer(key("pid"), 0);
    m.name = r.text(key("name"), 0, kMaxProcessNameLength);
}
void read(FieldReader& r, CleanupResult& m)
{
    m.freedSlots = r.list<FreedSlot>(key("freed_slots"), [](FieldReader& item, FreedSlot& slot) { read(item, slot); });
    m.reclaimedBlocks = r.integer(key("reclaimed_blocks"), 0);
    m.reclaimedBytes = r.integer(key("reclaimed_bytes"), 0);
    m.lockRecovered = r.boolean(key("lock_recovered"));
    m.resizeAborted = r.boolean(key("resize_aborted"));
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

void read(FieldReader& r, StatsUpdate& m)
{
    m.tenant = r.name(key("tenant"));
    m.service = r.name(key("service"));
    m.stats = r.object<RegionStats>(key("stats"), [](FieldReader& item, RegionStats& stats) { read(item, stats); });
}

void read(FieldReader& r, ProcessEvent& m)
{
    m.tenant = r.name(key("tenant"));
    m.service = r.name(key("service"));
    m.slot = r.integer(key("slot"), 0);
    m.pid = r.integer(key("pid"), 0);
    m.name = r.text(key("name"), 0, kMaxProcessNameLength);
    m.liveness = readLiveness(r, true);
}

void read(FieldReader& r, TreeChanged& m)
{
    m.tenant = r.name(key("tenant"));
    m.service = r.name(key("service"));
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

// The push alternatives of ServerFrame, by wire type.
using PushDecoder = Expected<ServerFrame, DecodeError> (*)(const QJsonObject& data);

template <class T> Expected<ServerFrame, DecodeError> decodePush(const QJsonObject& data)
{
    auto push = readData<T>(data, std::nullopt);
    if (!push)
        return unexpected(push.error());
    return ServerFrame(std::move(push).value());
}

constexpr std::pair<const char16_t*, PushDecoder> kPushes[] = {
    { u"VariableChanged", &decodePush<VariableChanged> },
    { u"StatsUpdate", &decodePush<StatsUpdate> },
    { u"ProcessEvent", &decodePush<ProcessEvent> },
    { u"TreeChanged", &decodePush<TreeChanged> },
};
static_assert(std::size(kPushes) + 2 == std::variant_size_v<ServerFrame>);

std::optional<Kind> frameKind(const QString& type)
{
    if (type == u"Result")
        return Kind::Result;
    if (type == u"Error")
        return Kind::Error;
    for (const auto& [name, decode] : kPushes) {
        if (type == QStringView(name))
            return Kind::Push;
    }
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
            QStringLiteral("field 'type' names no server message (Result, Error, VariableChanged, StatsUpdate, "
                           "ProcessEvent, TreeChanged): %1")
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
    case Kind::Push:
        for (const auto& [name, decode] : kPushes) {
            if (typeJson.toString() == QStringView(name))
                return decode(data);
        }
        break;
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
