#include <commy/protocol/codec.h>

#include "canonical_write.h"
#include "envelope.h"
#include "field_reader.h"
#include "message_names.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <charconv>
#include <type_traits>
#include <utility>

namespace commy::protocol {

using detail::FieldReader;
using detail::idValue;
using detail::kMaxLabelLength;
using detail::kMaxSecretLength;

namespace {

constexpr qsizetype kMinNewPasswordLength = 8; // only when a user is created: existing ones may be shorter

QLatin1StringView key(const char* text) { return QLatin1StringView(text); }

// True when `text` can be written into JSON as it is: names the codec accepts ([A-Za-z0-9_.-]) can.
bool needsNoEscaping(const QString& text)
{
    for (const QChar c : text) {
        const char16_t u = c.unicode();
        const bool plain = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_'
            || u == '.' || u == '-';
        if (!plain)
            return false;
    }
    return true;
}

// The id as JSON text when it needs no escaping (an integer, or a string of name characters).
std::optional<QByteArray> plainIdJson(const RequestId& id)
{
    if (const auto* number = std::get_if<qint64>(&id))
        return QByteArray::number(*number);
    const QString& text = std::get<QString>(id);
    if (!needsNoEscaping(text))
        return std::nullopt;
    return '"' + text.toLatin1() + '"';
}

QString base64(const QByteArray& bytes) { return QString::fromLatin1(bytes.toBase64()); }

// A string literal without its terminating zero, its length known at compile time.
template <std::size_t N> void appendLiteral(QByteArray& out, const char (&text)[N]) { out.append(text, N - 1); }

// Appends a name that needsNoEscaping() accepted: every character is ASCII.
void appendPlain(QByteArray& out, const QString& text)
{
    const qsizetype at = out.size();
    out.resize(at + text.size());
    char* dst = out.data() + at;
    for (const QChar c : text)
        *dst++ = char(c.unicode());
}

void appendNumber(QByteArray& out, qint64 value)
{
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out.append(digits, end - digits);
}

// Standard base64 with padding, as QByteArray::toBase64 writes it, straight into `out`.
void appendBase64(QByteArray& out, const QByteArray& bytes)
{
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const auto* in = reinterpret_cast<const unsigned char*>(bytes.constData());
    const qsizetype size = bytes.size();
    const qsizetype at = out.size();
    out.resize(at + (size + 2) / 3 * 4);
    char* dst = out.data() + at;
    qsizetype i = 0;
    for (; i + 3 <= size; i += 3) {
        const std::uint32_t triple = (std::uint32_t(in[i]) << 16) | (std::uint32_t(in[i + 1]) << 8) | in[i + 2];
        *dst++ = kAlphabet[(triple >> 18) & 63];
        *dst++ = kAlphabet[(triple >> 12) & 63];
        *dst++ = kAlphabet[(triple >> 6) & 63];
        *dst++ = kAlphabet[triple & 63];
    }
    if (i < size) {
        const bool two = i + 1 < size;
        const std::uint32_t triple = (std::uint32_t(in[i]) << 16) | (two ? std::uint32_t(in[i + 1]) << 8 : 0);
        *dst++ = kAlphabet[(triple >> 18) & 63];
        *dst++ = kAlphabet[(triple >> 12) & 63];
        *dst++ = two ? kAlphabet[(triple >> 6) & 63] : '=';
        *dst++ = '=';
    }
}

QJsonArray scopeArray(const std::vector<Scope>& scopes)
{
    QJsonArray array;
    for (const Scope scope : scopes)
        array.append(scopeName(scope));
    return array;
}

QJsonArray nameArray(const std::vector<QString>& names)
{
    QJsonArray array;
    for (const QString& name : names)
        array.append(name);
    return array;
}

template <class T> void setOptional(QJsonObject& object, const char* name, const std::optional<T>& value)
{
    if (value)
        object.insert(key(name), *value);
}

// --- Per message: read(FieldReader&, T&) validates `data`; write(QJsonObject&, const T&) is its
// inverse. Messages sharing a shape share the helpers below.

void readTenant(FieldReader& r, QString& tenant) { tenant = r.name(key("tenant")); }
void readService(FieldReader& r, QString& tenant, QString& service)
{
    tenant = r.name(key("tenant"));
    service = r.name(key("service"));
}
void readVariable(FieldReader& r, QString& tenant, QString& service, QString& variable)
{
    readService(r, tenant, service);
    variable = r.name(key("variable"));
}
void writeService(QJsonObject& o, const QString& tenant, const QString& service)
{
    o.insert(key("tenant"), tenant);
    o.insert(key("service"), service);
}
void writeVariable(QJsonObject& o, const QString& tenant, const QString& service, const QString& variable)
{
    writeService(o, tenant, service);
    o.insert(key("variable"), variable);
}

// Session.
void read(FieldReader& r, Authenticate& m)
{
    m.tenant = r.optionalName(key("tenant"));
    const QString method = r.text(key("method"), kMaxLabelLength);
    if (method == u"api_key") {
        m.credential = ApiKeyCredential { r.text(key("key"), kMaxSecretLength) };
    } else if (method == u"password") {
        PasswordCredential credential;
        credential.username = r.text(key("username"), kMaxLabelLength);
        credential.password = r.text(key("password"), kMaxSecretLength);
        m.credential = std::move(credential);
    } else if (method == u"token") {
        m.credential = TokenCredential { r.text(key("token"), kMaxSecretLength) };
    } else {
        r.fail(key("method"), QStringLiteral("must be one of api_key, password, token"));
    }
    m.clientName = r.optionalText(key("client_name"), kMaxLabelLength);
}
void write(QJsonObject& o, const Authenticate& m)
{
    setOptional(o, "tenant", m.tenant);
    setOptional(o, "client_name", m.clientName);
    if (const auto* apiKey = std::get_if<ApiKeyCredential>(&m.credential)) {
        o.insert(key("method"), QStringLiteral("api_key"));
        o.insert(key("key"), apiKey->key);
    } else if (const auto* password = std::get_if<PasswordCredential>(&m.credential)) {
        o.insert(key("method"), QStringLiteral("password"));
        o.insert(key("username"), password->username);
        o.insert(key("password"), password->password);
    } else if (const auto* token = std::get_if<TokenCredential>(&m.credential)) {
        o.insert(key("method"), QStringLiteral("token"));
        o.insert(key("token"), token->token);
    }
}
void read(FieldReader& r, Logout& m) { readTenant(r, m.tenant); }
void write(QJsonObject& o, const Logout& m) { o.insert(key("tenant"), m.tenant); }
void read(FieldReader& r, RefreshToken& m) { readTenant(r, m.tenant); }
void write(QJsonObject& o, const RefreshToken& m) { o.insert(key("tenant"), m.tenant); }
void read(FieldReader&, Heartbeat&) { }
void write(QJsonObject&, const Heartbeat&) { }

// Administration.
void read(FieldReader& r, CreateTenant& m) { readTenant(r, m.tenant); }
void write(QJsonObject& o, const CreateTenant& m) { o.insert(key("tenant"), m.tenant); }
void read(FieldReader& r, DeleteTenant& m) { readTenant(r, m.tenant); }
void write(QJsonObject& o, const DeleteTenant& m) { o.insert(key("tenant"), m.tenant); }
void read(FieldReader&, ListTenants&) { }
void write(QJsonObject&, const ListTenants&) { }
void read(FieldReader& r, CreateKey& m)
{
    readTenant(r, m.tenant);
    m.scopes = r.scopes(key("scopes"));
    m.name = r.optionalText(key("name"), kMaxLabelLength);
}
void write(QJsonObject& o, const CreateKey& m)
{
    o.insert(key("tenant"), m.tenant);
    o.insert(key("scopes"), scopeArray(m.scopes));
    setOptional(o, "name", m.name);
}
void read(FieldReader& r, RevokeKey& m)
{
    readTenant(r, m.tenant);
    m.keyId = r.name(key("key_id"));
}
void write(QJsonObject& o, const RevokeKey& m)
{
    o.insert(key("tenant"), m.tenant);
    o.insert(key("key_id"), m.keyId);
}
void read(FieldReader& r, ListKeys& m) { readTenant(r, m.tenant); }
void write(QJsonObject& o, const ListKeys& m) { o.insert(key("tenant"), m.tenant); }
void read(FieldReader& r, CreateService& m)
{
    readService(r, m.tenant, m.service);
    m.size = r.optionalInteger(key("size"), 1);
    m.limit = r.optionalInteger(key("limit"), 1);
}
void write(QJsonObject& o, const CreateService& m)
{
    writeService(o, m.tenant, m.service);
    setOptional(o, "size", m.size);
    setOptional(o, "limit", m.limit);
}
void read(FieldReader& r, GetService& m) { readService(r, m.tenant, m.service); }
void write(QJsonObject& o, const GetService& m) { writeService(o, m.tenant, m.service); }
void read(FieldReader& r, DeleteService& m) { readService(r, m.tenant, m.service); }
void write(QJsonObject& o, const DeleteService& m) { writeService(o, m.tenant, m.service); }
void read(FieldReader& r, ListServices& m) { readTenant(r, m.tenant); }
void write(QJsonObject& o, const ListServices& m) { o.insert(key("tenant"), m.tenant); }

// Data.
void read(FieldReader& r, AllocateVariable& m)
{
    readVariable(r, m.tenant, m.service, m.variable);
    m.value = r.bytes(key("value"));
}
void write(QJsonObject& o, const AllocateVariable& m)
{
    writeVariable(o, m.tenant, m.service, m.variable);
    o.insert(key("value"), base64(m.value));
}
void read(FieldReader& r, WriteVariable& m)
{
    readVariable(r, m.tenant, m.service, m.variable);
    m.value = r.bytes(key("value"));
    m.expectedVersion = r.optionalInteger(key("expected_version"), 0);
}
void write(QJsonObject& o, const WriteVariable& m)
{
    writeVariable(o, m.tenant, m.service, m.variable);
    o.insert(key("value"), base64(m.value));
    setOptional(o, "expected_version", m.expectedVersion);
}
void read(FieldReader& r, ReadVariable& m) { readVariable(r, m.tenant, m.service, m.variable); }
void write(QJsonObject& o, const ReadVariable& m) { writeVariable(o, m.tenant, m.service, m.variable); }
void read(FieldReader& r, DeallocateVariable& m) { readVariable(r, m.tenant, m.service, m.variable); }
void write(QJsonObject& o, const DeallocateVariable& m) { writeVariable(o, m.tenant, m.service, m.variable); }
void read(FieldReader& r, ListVariables& m) { readService(r, m.tenant, m.service); }
void write(QJsonObject& o, const ListVariables& m) { writeService(o, m.tenant, m.service); }
void read(FieldReader& r, Subscribe& m)
{
    readService(r, m.tenant, m.service);
    m.variables = r.optionalNameList(key("variables"));
}
void write(QJsonObject& o, const Subscribe& m)
{
    writeService(o, m.tenant, m.service);
    if (m.variables)
        o.insert(key("variables"), nameArray(*m.variables));
}
void read(FieldReader& r, Unsubscribe& m)
{
    readService(r, m.tenant, m.service);
    m.variables = r.optionalNameList(key("variables"));
}
void write(QJsonObject& o, const Unsubscribe& m)
{
    writeService(o, m.tenant, m.service);
    if (m.variables)
        o.insert(key("variables"), nameArray(*m.variables));
}
void read(FieldReader& r, GetServiceFilePath& m) { readService(r, m.tenant, m.service); }
void write(QJsonObject& o, const GetServiceFilePath& m) { writeService(o, m.tenant, m.service); }

// Users.
void read(FieldReader& r, CreateUser& m)
{
    readTenant(r, m.tenant);
    m.username = r.name(key("username"));
    m.password = r.text(key("password"), kMinNewPasswordLength, kMaxSecretLength);
    m.scopes = r.scopes(key("scopes"));
}
void write(QJsonObject& o, const CreateUser& m)
{
    o.insert(key("tenant"), m.tenant);
    o.insert(key("username"), m.username);
    o.insert(key("password"), m.password);
    o.insert(key("scopes"), scopeArray(m.scopes));
}
void read(FieldReader& r, DeleteUser& m)
{
    readTenant(r, m.tenant);
    m.username = r.name(key("username"));
}
void write(QJsonObject& o, const DeleteUser& m)
{
    o.insert(key("tenant"), m.tenant);
    o.insert(key("username"), m.username);
}

// Monitoring and operations.
void read(FieldReader&, GetBrokerInfo&) { }
void write(QJsonObject&, const GetBrokerInfo&) { }
void read(FieldReader& r, GetTree& m) { m.tenant = r.optionalName(key("tenant")); }
void write(QJsonObject& o, const GetTree& m) { setOptional(o, "tenant", m.tenant); }
void read(FieldReader& r, GetRegionStats& m) { readService(r, m.tenant, m.service); }
void write(QJsonObject& o, const GetRegionStats& m) { writeService(o, m.tenant, m.service); }
void read(FieldReader& r, GetBlockMap& m)
{
    readService(r, m.tenant, m.service);
    m.offset = r.optionalInteger(key("offset"), 0);
    m.limit = r.optionalInteger(key("limit"), 1, kMaxBlockMapLimit);
}
void write(QJsonObject& o, const GetBlockMap& m)
{
    writeService(o, m.tenant, m.service);
    setOptional(o, "offset", m.offset);
    setOptional(o, "limit", m.limit);
}
void read(FieldReader& r, GetProcesses& m) { readService(r, m.tenant, m.service); }
void write(QJsonObject& o, const GetProcesses& m) { writeService(o, m.tenant, m.service); }
void read(FieldReader&, GetSessions&) { }
void write(QJsonObject&, const GetSessions&) { }
void read(FieldReader& r, BrowseRoot& m)
{
    readService(r, m.tenant, m.service);
    m.root = r.text(key("root"), kMaxRootNameLength);
    m.offset = r.optionalInteger(key("offset"), 0);
    m.limit = r.optionalInteger(key("limit"), 1, kMaxBrowseLimit);
}
void write(QJsonObject& o, const BrowseRoot& m)
{
    writeService(o, m.tenant, m.service);
    o.insert(key("root"), m.root);
    setOptional(o, "offset", m.offset);
    setOptional(o, "limit", m.limit);
}
void read(FieldReader& r, Watch& m)
{
    m.targets = r.list<WatchTarget>(key("targets"),
        [](FieldReader& item, WatchTarget& target) { readService(item, target.tenant, target.service); });
    if (qsizetype(m.targets.size()) > kMaxWatchTargets)
        r.fail(key("targets"), QStringLiteral("may name at most %1 services").arg(kMaxWatchTargets));
    m.intervalMs = r.integer(key("interval_ms"), kMinWatchIntervalMs, kMaxWatchIntervalMs);
}
void write(QJsonObject& o, const Watch& m)
{
    QJsonArray targets;
    for (const WatchTarget& target : m.targets) {
        QJsonObject item;
        writeService(item, target.tenant, target.service);
        targets.append(item);
    }
    o.insert(key("targets"), targets);
    o.insert(key("interval_ms"), m.intervalMs);
}
void read(FieldReader& r, ResizeRegion& m)
{
    readService(r, m.tenant, m.service);
    m.size = r.integer(key("size"), 1);
}
void write(QJsonObject& o, const ResizeRegion& m)
{
    writeService(o, m.tenant, m.service);
    o.insert(key("size"), m.size);
}
void read(FieldReader& r, ShrinkRegion& m) { readService(r, m.tenant, m.service); }
void write(QJsonObject& o, const ShrinkRegion& m) { writeService(o, m.tenant, m.service); }
void read(FieldReader& r, CleanupRegion& m) { readService(r, m.tenant, m.service); }
void write(QJsonObject& o, const CleanupRegion& m) { writeService(o, m.tenant, m.service); }

// Replies.
void write(QJsonObject&, const EmptyResult&) { }
void write(QJsonObject& o, const AuthenticateResult& m)
{
    o.insert(key("token"), m.token);
    o.insert(key("expires_in"), m.expiresIn);
    o.insert(key("scopes"), scopeArray(m.scopes));
}
void write(QJsonObject& o, const HeartbeatResult& m) { o.insert(key("server_time"), m.serverTime); }
void write(QJsonObject& o, const ListTenantsResult& m)
{
    QJsonArray tenants;
    for (const TenantInfo& tenant : m.tenants)
        tenants.append(
            QJsonObject { { QStringLiteral("name"), tenant.name }, { QStringLiteral("services"), tenant.services } });
    o.insert(key("tenants"), tenants);
}
void write(QJsonObject& o, const CreateKeyResult& m)
{
    o.insert(key("key_id"), m.keyId);
    o.insert(key("key"), m.key);
}
void write(QJsonObject& o, const ListKeysResult& m)
{
    QJsonArray keys;
    for (const KeyInfo& info : m.keys) {
        QJsonObject item { { QStringLiteral("key_id"), info.keyId },
            { QStringLiteral("scopes"), scopeArray(info.scopes) } };
        setOptional(item, "name", info.name);
        keys.append(item);
    }
    o.insert(key("keys"), keys);
}
QJsonObject serviceObject(const ServiceInfo& m)
{
    return QJsonObject { { QStringLiteral("name"), m.name }, { QStringLiteral("size"), m.size },
        { QStringLiteral("limit"), m.limit }, { QStringLiteral("variables"), m.variables } };
}
void write(QJsonObject& o, const ServiceInfo& m) { o = serviceObject(m); }
void write(QJsonObject& o, const ListServicesResult& m)
{
    QJsonArray services;
    for (const ServiceInfo& service : m.services)
        services.append(serviceObject(service));
    o.insert(key("services"), services);
}
void write(QJsonObject& o, const WriteResult& m) { o.insert(key("version"), m.version); }
void write(QJsonObject& o, const ReadResult& m)
{
    o.insert(key("value"), base64(m.value));
    o.insert(key("version"), m.version);
}
void write(QJsonObject& o, const ListVariablesResult& m)
{
    QJsonArray variables;
    for (const VariableInfo& variable : m.variables)
        variables.append(QJsonObject { { QStringLiteral("name"), variable.name },
            { QStringLiteral("size"), variable.size }, { QStringLiteral("version"), variable.version } });
    o.insert(key("variables"), variables);
}
void write(QJsonObject& o, const ServiceFilePathResult& m)
{
    o.insert(key("path"), m.path);
    o.insert(key("size"), m.size);
}

void write(QJsonObject& o, const BrokerInfoResult& m)
{
    o.insert(key("version"), m.version);
    o.insert(key("uptime_ms"), m.uptimeMs);
    o.insert(key("sessions"), m.sessions);
    o.insert(key("tenants"), m.tenants);
    o.insert(key("subscriptions"), m.subscriptions);
}
void write(QJsonObject& o, const TreeResult& m)
{
    QJsonArray tenants;
    for (const TenantTree& tenant : m.tenants) {
        QJsonArray services;
        for (const ServiceTree& service : tenant.services) {
            QJsonArray roots;
            for (const RootSummary& root : service.roots)
                roots.append(QJsonObject { { QStringLiteral("name"), root.name },
                    { QStringLiteral("kind"), rootKindName(root.kind) }, { QStringLiteral("type"), root.type },
                    { QStringLiteral("size"), root.size }, { QStringLiteral("version"), root.version } });
            services.append(QJsonObject { { QStringLiteral("name"), service.name },
                { QStringLiteral("size"), service.size }, { QStringLiteral("limit"), service.limit },
                { QStringLiteral("used"), service.used }, { QStringLiteral("roots"), roots } });
        }
        tenants.append(
            QJsonObject { { QStringLiteral("name"), tenant.name }, { QStringLiteral("services"), services } });
    }
    o.insert(key("tenants"), tenants);
}
void write(QJsonObject& o, const RegionStats& m)
{
    o.insert(key("size"), m.size);
    o.insert(key("limit"), m.limit);
    o.insert(key("used"), m.used);
    o.insert(key("free"), m.free);
    o.insert(key("largest_free"), m.largestFree);
    o.insert(key("fragmentation"), m.fragmentation);
    o.insert(key("used_blocks"), m.usedBlocks);
    o.insert(key("free_blocks"), m.freeBlocks);
    o.insert(key("generation"), m.generation);
    o.insert(key("grows"), m.grows);
    o.insert(key("shrinks"), m.shrinks);
    o.insert(key("lock_recoveries"), m.lockRecoveries);
    o.insert(key("cleanups"), m.cleanups);
}
// A block map page holds up to 100000 blocks, and a QJsonObject costs microseconds to build and
// to serialise (seconds for a page): the page is written as text, exactly as QJsonDocument writes
// it (compact, keys sorted), which the codec test checks byte for byte.
QByteArray blockMapText(const BlockMapResult& m)
{
    QByteArray out;
    out.reserve(qsizetype(32 + m.blocks.size() * 72));
    const auto number = [&out](qint64 value) {
        char digits[24];
        const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
        out.append(digits, end - digits);
    };
    out += "{\"blocks\":[";
    for (std::size_t i = 0; i < m.blocks.size(); ++i) {
        const BlockEntry& block = m.blocks[i];
        out += i == 0 ? "{\"free\":" : ",{\"free\":";
        out += block.free ? "true" : "false";
        out += ",\"offset\":";
        number(block.offset);
        out += ",\"owner\":";
        number(block.owner);
        out += ",\"size\":";
        number(block.size);
        out += '}';
    }
    out += "],\"total\":";
    number(m.total);
    out += '}';
    return out;
}
void write(QJsonObject& o, const ProcessesResult& m)
{
    QJsonArray processes;
    for (const ProcessEntry& process : m.processes)
        processes.append(QJsonObject { { QStringLiteral("slot"), process.slot }, { QStringLiteral("pid"), process.pid },
            { QStringLiteral("name"), process.name }, { QStringLiteral("heartbeat_age_ms"), process.heartbeatAgeMs },
            { QStringLiteral("liveness"), livenessName(process.liveness) } });
    o.insert(key("processes"), processes);
}
void write(QJsonObject& o, const SessionsResult& m)
{
    QJsonArray sessions;
    for (const SessionEntry& session : m.sessions) {
        QJsonObject item { { QStringLiteral("id"), session.id }, { QStringLiteral("peer"), session.peer },
            { QStringLiteral("tenants"), nameArray(session.tenants) },
            { QStringLiteral("subscriptions"), session.subscriptions },
            { QStringLiteral("queue_bytes"), session.queueBytes } };
        setOptional(item, "client_name", session.clientName);
        sessions.append(item);
    }
    o.insert(key("sessions"), sessions);
}
void write(QJsonObject& o, const BrowseResult& m)
{
    QJsonArray elements;
    for (const BrowseElement& element : m.elements) {
        QJsonObject item { { QStringLiteral("index"), element.index }, { QStringLiteral("value"), element.value } };
        if (element.key)
            item.insert(key("key"), *element.key);
        elements.append(item);
    }
    o.insert(key("kind"), rootKindName(m.kind));
    o.insert(key("type"), m.type);
    o.insert(key("length"), m.length);
    o.insert(key("version"), m.version);
    o.insert(key("elements"), elements);
}
void write(QJsonObject& o, const RegionSizeResult& m) { o.insert(key("size"), m.size); }
void write(QJsonObject& o, const CleanupResult& m)
{
    QJsonArray freed;
    for (const FreedSlot& slot : m.freedSlots)
        freed.append(QJsonObject { { QStringLiteral("slot"), slot.slot }, { QStringLiteral("pid"), slot.pid },
            { QStringLiteral("name"), slot.name } });
    o.insert(key("freed_slots"), freed);
    o.insert(key("reclaimed_blocks"), m.reclaimedBlocks);
    o.insert(key("reclaimed_bytes"), m.reclaimedBytes);
    o.insert(key("lock_recovered"), m.lockRecovered);
    o.insert(key("resize_aborted"), m.resizeAborted);
}

// --- Dispatch: one decoder per Request alternative, found by its wire type name.

using DecodeFields = Request (*)(FieldReader&);

template <class T> Request decodeFields(FieldReader& reader)
{
    T message {};
    read(reader, message);
    reader.finish();
    return Request(std::move(message));
}

template <std::size_t... I> constexpr auto makeDecoders(std::index_sequence<I...>)
{
    return std::array<DecodeFields, sizeof...(I)> { &decodeFields<std::variant_alternative_t<I, Request>>... };
}

constexpr auto kDecoders = makeDecoders(std::make_index_sequence<std::variant_size_v<Request>>());

std::optional<std::size_t> requestIndex(const QString& type)
{
    for (std::size_t i = 0; i < detail::kRequestTypeNames.size(); ++i) {
        if (type == QLatin1StringView(detail::kRequestTypeNames[i]))
            return i;
    }
    return std::nullopt;
}

Unexpected<DecodeError> reject(std::optional<RequestId> id, QString message)
{
    return unexpected(DecodeError { std::move(id), ErrorCode::InvalidRequest, std::move(message) });
}

QByteArray frameBytes(const QString& type, const std::optional<QJsonValue>& id, const QJsonObject& data)
{
    QJsonObject envelope { { QStringLiteral("type"), type }, { QStringLiteral("data"), data } };
    if (id)
        envelope.insert(key("id"), *id);
    return QJsonDocument(envelope).toJson(QJsonDocument::Compact);
}

} // namespace

DecodeResult decodeRequest(QByteArrayView frame)
{
    if (auto write = detail::decodeCanonicalWrite(frame))
        return std::move(*write);
    return detail::decodeRequestInGeneral(frame);
}

DecodeResult detail::decodeRequestInGeneral(QByteArrayView frame)
{
    const auto parsed = detail::parseEnvelope(frame);
    if (!parsed)
        return reject(std::nullopt, parsed.error());
    const QJsonObject& envelope = *parsed;

    // The id first, so that every later rejection can be matched to its request.
    const QJsonValue idJson = envelope.value(key("id"));
    std::optional<RequestId> id = detail::requestId(idJson);
    if (!id)
        return reject(std::nullopt, detail::idProblem(idJson));

    const QJsonValue typeJson = envelope.value(key("type"));
    if (typeJson.isUndefined())
        return reject(id, QStringLiteral("field 'type' is missing"));
    if (!typeJson.isString())
        return reject(id, QStringLiteral("field 'type' must be a string"));
    const auto index = requestIndex(typeJson.toString());
    if (!index)
        return reject(id, QStringLiteral("field 'type' names no request: %1").arg(typeJson.toString().left(64)));

    const QJsonValue dataJson = envelope.value(key("data"));
    if (dataJson.isUndefined())
        return reject(id, QStringLiteral("field 'data' is missing"));
    if (!dataJson.isObject())
        return reject(id, QStringLiteral("field 'data' must be an object"));
    if (const auto unknown = detail::unknownField(envelope, { key("type"), key("id"), key("data") }))
        return reject(id, QStringLiteral("field '%1' is not part of the envelope").arg(unknown->left(64)));

    FieldReader reader(dataJson.toObject());
    Request request = kDecoders[*index](reader);
    if (reader.failed())
        return reject(id, QStringLiteral("data: %1").arg(reader.error()));
    return RequestFrame { std::move(*id), std::move(request) };
}

QByteArray encodeRequest(const RequestId& id, const Request& request)
{
    // Writes are a client's hot path: written directly (as QJsonDocument would, keys sorted) when no
    // name or id needs escaping.
    if (const auto* write = std::get_if<WriteVariable>(&request)) {
        const auto idJson = plainIdJson(id);
        if (idJson && needsNoEscaping(write->tenant) && needsNoEscaping(write->service)
            && needsNoEscaping(write->variable)) {
            QByteArray out;
            out.reserve(120 + idJson->size() + write->tenant.size() + write->service.size() + write->variable.size()
                + (write->value.size() + 2) / 3 * 4);
            appendLiteral(out, R"({"data":{)");
            if (write->expectedVersion) {
                appendLiteral(out, R"("expected_version":)");
                appendNumber(out, *write->expectedVersion);
                out.append(',');
            }
            appendLiteral(out, R"("service":")");
            appendPlain(out, write->service);
            appendLiteral(out, R"(","tenant":")");
            appendPlain(out, write->tenant);
            appendLiteral(out, R"(","value":")");
            appendBase64(out, write->value);
            appendLiteral(out, R"(","variable":")");
            appendPlain(out, write->variable);
            appendLiteral(out, R"("},"id":)");
            out.append(*idJson);
            appendLiteral(out, R"(,"type":"WriteVariable"})");
            return out;
        }
    }
    QJsonObject data;
    std::visit([&data](const auto& message) { write(data, message); }, request);
    return frameBytes(requestTypeName(request), idValue(id), data);
}

QByteArray encodeResult(const RequestId& id, const ResultData& result)
{
    // The replies to writes are the broker's hot path: written directly (as QJsonDocument would)
    // when the id needs no escaping.
    const bool small = std::holds_alternative<WriteResult>(result) || std::holds_alternative<EmptyResult>(result);
    if (const auto idJson = small ? plainIdJson(id) : std::nullopt) {
        QByteArray out(R"({"data":{)");
        if (const auto* write = std::get_if<WriteResult>(&result))
            out.append(R"("version":)").append(QByteArray::number(write->version));
        return out.append(R"(},"id":)").append(*idJson).append(R"(,"type":"Result"})");
    }
    if (const auto* blockMap = std::get_if<BlockMapResult>(&result)) {
        // "data" sorts first, so the generic frame starts with an empty data object: put the page there.
        QByteArray frame = frameBytes(QStringLiteral("Result"), idValue(id), QJsonObject());
        constexpr QByteArrayView kEmptyData = "{\"data\":{}";
        Q_ASSERT(frame.startsWith(kEmptyData));
        return frame.replace(0, kEmptyData.size(), "{\"data\":" + blockMapText(*blockMap));
    }
    QJsonObject data;
    std::visit(
        [&data](const auto& payload) {
            if constexpr (!std::is_same_v<std::decay_t<decltype(payload)>, BlockMapResult>)
                write(data, payload);
        },
        result);
    return frameBytes(QStringLiteral("Result"), idValue(id), data);
}

QByteArray encodeError(const std::optional<RequestId>& id, const Error& error)
{
    QJsonObject data { { QStringLiteral("code"), errorCodeName(error.code) },
        { QStringLiteral("message"), error.message } };
    setOptional(data, "retry_after", error.retryAfter);
    return frameBytes(QStringLiteral("Error"), id ? idValue(*id) : QJsonValue(QJsonValue::Null), data);
}

QByteArray encodeError(const DecodeError& error)
{
    return encodeError(error.id, Error { error.code, error.message, {} });
}

QByteArray encodePush(const VariableChanged& push) { return PushEncoding(push).encode(push.seq, push.coalesced); }

// Pushes are the broker's hot path (one per subscriber per write): their bytes are built directly,
// exactly as QJsonDocument would write them (keys in its sorted order), when no name needs escaping,
// which holds for every push the broker makes (its names are validated).
PushEncoding::PushEncoding(const VariableChanged& push)
{
    if (!needsNoEscaping(push.tenant) || !needsNoEscaping(push.service) || !needsNoEscaping(push.variable)) {
        m_escaped = push;
        return;
    }
    m_tail.reserve(
        100 + push.tenant.size() + push.service.size() + push.variable.size() + (push.value.size() + 2) / 3 * 4);
    appendLiteral(m_tail, R"(,"service":")");
    appendPlain(m_tail, push.service);
    appendLiteral(m_tail, R"(","tenant":")");
    appendPlain(m_tail, push.tenant);
    appendLiteral(m_tail, R"(","value":")");
    appendBase64(m_tail, push.value);
    appendLiteral(m_tail, R"(","variable":")");
    appendPlain(m_tail, push.variable);
    appendLiteral(m_tail, R"(","version":)");
    appendNumber(m_tail, push.version);
    appendLiteral(m_tail, R"(},"type":"VariableChanged"})");
}

namespace {

constexpr char kPushHead[] = R"({"data":{)";
constexpr char kPushCoalesced[] = R"("coalesced":true,)";
constexpr char kPushSeq[] = R"("seq":)";

qsizetype decimalDigits(qint64 value)
{
    char digits[24];
    return std::to_chars(digits, digits + sizeof digits, value).ptr - digits;
}

} // namespace

qsizetype PushEncoding::sizeFor(qint64 seq, bool coalesced) const
{
    if (m_escaped)
        return encode(seq, coalesced).size();
    return qsizetype(sizeof kPushHead - 1 + (coalesced ? sizeof kPushCoalesced - 1 : 0) + sizeof kPushSeq - 1)
        + decimalDigits(seq) + m_tail.size();
}

void PushEncoding::appendTo(QByteArray& out, qint64 seq, bool coalesced) const
{
    if (m_escaped) {
        out.append(encode(seq, coalesced));
        return;
    }
    appendLiteral(out, kPushHead);
    if (coalesced)
        appendLiteral(out, kPushCoalesced);
    appendLiteral(out, kPushSeq);
    appendNumber(out, seq);
    out.append(m_tail);
}

QByteArray PushEncoding::encode(qint64 seq, bool coalesced) const
{
    if (m_escaped) {
        QJsonObject data;
        writeVariable(data, m_escaped->tenant, m_escaped->service, m_escaped->variable);
        data.insert(key("value"), base64(m_escaped->value));
        data.insert(key("version"), m_escaped->version);
        data.insert(key("seq"), seq);
        if (coalesced)
            data.insert(key("coalesced"), true);
        return frameBytes(QStringLiteral("VariableChanged"), std::nullopt, data);
    }
    QByteArray out;
    out.reserve(sizeFor(seq, coalesced));
    appendTo(out, seq, coalesced);
    return out;
}

QByteArray encodePush(const StatsUpdate& push)
{
    QJsonObject data;
    writeService(data, push.tenant, push.service);
    QJsonObject stats;
    write(stats, push.stats);
    data.insert(key("stats"), stats);
    return frameBytes(QStringLiteral("StatsUpdate"), std::nullopt, data);
}

QByteArray encodePush(const ProcessEvent& push)
{
    QJsonObject data;
    writeService(data, push.tenant, push.service);
    data.insert(key("slot"), push.slot);
    data.insert(key("pid"), push.pid);
    data.insert(key("name"), push.name);
    data.insert(key("liveness"), livenessName(push.liveness));
    return frameBytes(QStringLiteral("ProcessEvent"), std::nullopt, data);
}

QByteArray encodePush(const TreeChanged& push)
{
    QJsonObject data;
    writeService(data, push.tenant, push.service);
    return frameBytes(QStringLiteral("TreeChanged"), std::nullopt, data);
}

} // namespace commy::protocol
