#pragma once

// One struct per wire message. Requests form the `Request` variant; successful replies carry one of
// the `ResultData` payloads; failures carry `Error`; `VariableChanged` is the one server push.
// docs/protocol.md describes every field; the codec (codec.h) validates them.

#include <commy/protocol/error_code.h>

#include <QByteArray>
#include <QString>

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

namespace commy::protocol {

// A request id is a JSON string or integer, echoed back unchanged in the reply.
using RequestId = std::variant<QString, qint64>;

// Integers on the wire are JSON numbers: only the range a double holds exactly is accepted.
inline constexpr qint64 kMaxWireInteger = (qint64(1) << 53) - 1;

enum class Scope { Read, Write, Subscribe, Map, Admin, ServerAdmin };

// "read", "write", "subscribe", "map", "admin", "server_admin"
QString scopeName(Scope scope);
std::optional<Scope> scopeFromName(QStringView name);

// --- Session -----------------------------------------------------------------------------------

struct ApiKeyCredential {
    QString key;
    bool operator==(const ApiKeyCredential&) const = default;
};
struct PasswordCredential {
    QString username;
    QString password;
    bool operator==(const PasswordCredential&) const = default;
};
struct TokenCredential {
    QString token;
    bool operator==(const TokenCredential&) const = default;
};
// Chosen on the wire by "method": "api_key" | "password" | "token".
using Credential = std::variant<ApiKeyCredential, PasswordCredential, TokenCredential>;

struct Authenticate {
    std::optional<QString> tenant; // absent: a server-level key
    Credential credential;
    std::optional<QString> clientName;
    bool operator==(const Authenticate&) const = default;
};
struct Logout {
    QString tenant;
    bool operator==(const Logout&) const = default;
};
struct RefreshToken {
    QString tenant;
    bool operator==(const RefreshToken&) const = default;
};
struct Heartbeat {
    bool operator==(const Heartbeat&) const = default;
};

// --- Administration ----------------------------------------------------------------------------

struct CreateTenant {
    QString tenant;
    bool operator==(const CreateTenant&) const = default;
};
struct DeleteTenant {
    QString tenant;
    bool operator==(const DeleteTenant&) const = default;
};
struct ListTenants {
    bool operator==(const ListTenants&) const = default;
};
struct CreateKey {
    QString tenant;
    std::vector<Scope> scopes; // non-empty, no duplicates, per-tenant scopes only
    std::optional<QString> name;
    bool operator==(const CreateKey&) const = default;
};
struct RevokeKey {
    QString tenant;
    QString keyId;
    bool operator==(const RevokeKey&) const = default;
};
struct ListKeys {
    QString tenant;
    bool operator==(const ListKeys&) const = default;
};
struct CreateService {
    QString tenant;
    QString service;
    std::optional<qint64> size; // initial region size in bytes
    std::optional<qint64> limit; // largest size the region may grow to, in bytes
    bool operator==(const CreateService&) const = default;
};
struct GetService {
    QString tenant;
    QString service;
    bool operator==(const GetService&) const = default;
};
struct DeleteService {
    QString tenant;
    QString service;
    bool operator==(const DeleteService&) const = default;
};
struct ListServices {
    QString tenant;
    bool operator==(const ListServices&) const = default;
};

// --- Data --------------------------------------------------------------------------------------

struct AllocateVariable {
    QString tenant;
    QString service;
    QString variable;
    QByteArray value;
    bool operator==(const AllocateVariable&) const = default;
};
struct WriteVariable {
    QString tenant;
    QString service;
    QString variable;
    QByteArray value;
    std::optional<qint64> expectedVersion; // compare-and-set when present
    bool operator==(const WriteVariable&) const = default;
};
struct ReadVariable {
    QString tenant;
    QString service;
    QString variable;
    bool operator==(const ReadVariable&) const = default;
};
struct DeallocateVariable {
    QString tenant;
    QString service;
    QString variable;
    bool operator==(const DeallocateVariable&) const = default;
};
struct ListVariables {
    QString tenant;
    QString service;
    bool operator==(const ListVariables&) const = default;
};
struct Subscribe {
    QString tenant;
    QString service;
    std::optional<std::vector<QString>> variables; // absent: every variable of the service
    bool operator==(const Subscribe&) const = default;
};
struct Unsubscribe {
    QString tenant;
    QString service;
    std::optional<std::vector<QString>> variables; // absent: every variable of the service
    bool operator==(const Unsubscribe&) const = default;
};
struct GetServiceFilePath {
    QString tenant;
    QString service;
    bool operator==(const GetServiceFilePath&) const = default;
};

// --- Users (administration; appended last so the variant indexes above stay stable) ------------

// A user who authenticates to one tenant with method "password".
struct CreateUser {
    QString tenant;
    QString username; // a valid name
    QString password; // 8 to 4096 characters
    std::vector<Scope> scopes; // non-empty, no duplicates, per-tenant scopes only
    bool operator==(const CreateUser&) const = default;
};
struct DeleteUser {
    QString tenant;
    QString username;
    bool operator==(const DeleteUser&) const = default;
};

using Request = std::variant<Authenticate, Logout, RefreshToken, Heartbeat, CreateTenant, DeleteTenant, ListTenants,
    CreateKey, RevokeKey, ListKeys, CreateService, GetService, DeleteService, ListServices, AllocateVariable,
    WriteVariable, ReadVariable, DeallocateVariable, ListVariables, Subscribe, Unsubscribe, GetServiceFilePath,
    CreateUser, DeleteUser>;

// The wire "type" of a request.
QString requestTypeName(const Request& request);

// --- Replies -----------------------------------------------------------------------------------

// Logout, CreateTenant, DeleteTenant, RevokeKey, DeleteService, DeallocateVariable, Subscribe, Unsubscribe,
// CreateUser, DeleteUser.
struct EmptyResult {
    bool operator==(const EmptyResult&) const = default;
};
// Authenticate and RefreshToken.
struct AuthenticateResult {
    QString token;
    qint64 expiresIn = 0; // seconds
    std::vector<Scope> scopes;
    bool operator==(const AuthenticateResult&) const = default;
};
struct HeartbeatResult {
    qint64 serverTime = 0; // milliseconds since the Unix epoch, UTC
    bool operator==(const HeartbeatResult&) const = default;
};
struct TenantInfo {
    QString name;
    qint64 services = 0; // number of services
    bool operator==(const TenantInfo&) const = default;
};
struct ListTenantsResult {
    std::vector<TenantInfo> tenants;
    bool operator==(const ListTenantsResult&) const = default;
};
struct CreateKeyResult {
    QString keyId;
    QString key; // shown once, never again
    bool operator==(const CreateKeyResult&) const = default;
};
struct KeyInfo {
    QString keyId;
    std::optional<QString> name;
    std::vector<Scope> scopes;
    bool operator==(const KeyInfo&) const = default;
};
struct ListKeysResult {
    std::vector<KeyInfo> keys;
    bool operator==(const ListKeysResult&) const = default;
};
// CreateService and GetService.
struct ServiceInfo {
    QString name;
    qint64 size = 0; // region size in bytes
    qint64 limit = 0; // largest size the region may grow to
    qint64 variables = 0; // number of variables
    bool operator==(const ServiceInfo&) const = default;
};
struct ListServicesResult {
    std::vector<ServiceInfo> services;
    bool operator==(const ListServicesResult&) const = default;
};
// AllocateVariable and WriteVariable: the version the value now has.
struct WriteResult {
    qint64 version = 0;
    bool operator==(const WriteResult&) const = default;
};
struct ReadResult {
    QByteArray value;
    qint64 version = 0;
    bool operator==(const ReadResult&) const = default;
};
struct VariableInfo {
    QString name;
    qint64 size = 0; // value size in bytes
    qint64 version = 0;
    bool operator==(const VariableInfo&) const = default;
};
struct ListVariablesResult {
    std::vector<VariableInfo> variables;
    bool operator==(const ListVariablesResult&) const = default;
};
struct ServiceFilePathResult {
    QString path;
    qint64 size = 0;
    bool operator==(const ServiceFilePathResult&) const = default;
};

using ResultData
    = std::variant<EmptyResult, AuthenticateResult, HeartbeatResult, ListTenantsResult, CreateKeyResult, ListKeysResult,
        ServiceInfo, ListServicesResult, WriteResult, ReadResult, ListVariablesResult, ServiceFilePathResult>;

// The ResultData alternative a request is answered with: ResultOfT<ReadVariable> is ReadResult.
template <class R> struct ResultOf {
    using type = EmptyResult;
};
template <> struct ResultOf<Authenticate> {
    using type = AuthenticateResult;
};
template <> struct ResultOf<RefreshToken> {
    using type = AuthenticateResult;
};
template <> struct ResultOf<Heartbeat> {
    using type = HeartbeatResult;
};
template <> struct ResultOf<ListTenants> {
    using type = ListTenantsResult;
};
template <> struct ResultOf<CreateKey> {
    using type = CreateKeyResult;
};
template <> struct ResultOf<ListKeys> {
    using type = ListKeysResult;
};
template <> struct ResultOf<CreateService> {
    using type = ServiceInfo;
};
template <> struct ResultOf<GetService> {
    using type = ServiceInfo;
};
template <> struct ResultOf<ListServices> {
    using type = ListServicesResult;
};
template <> struct ResultOf<AllocateVariable> {
    using type = WriteResult;
};
template <> struct ResultOf<WriteVariable> {
    using type = WriteResult;
};
template <> struct ResultOf<ReadVariable> {
    using type = ReadResult;
};
template <> struct ResultOf<ListVariables> {
    using type = ListVariablesResult;
};
template <> struct ResultOf<GetServiceFilePath> {
    using type = ServiceFilePathResult;
};
template <class R> using ResultOfT = typename ResultOf<R>::type;

struct Error {
    ErrorCode code = ErrorCode::InternalError;
    QString message;
    std::optional<qint64> retryAfter; // seconds, with RATE_LIMITED
    bool operator==(const Error&) const = default;
};

// --- Push --------------------------------------------------------------------------------------

struct VariableChanged {
    QString tenant;
    QString service;
    QString variable;
    QByteArray value;
    qint64 version = 0;
    qint64 seq = 0; // contiguous per subscription unless coalesced
    bool coalesced = false; // earlier updates were dropped for a slow subscriber: seq has a gap
    bool operator==(const VariableChanged&) const = default;
};

} // namespace commy::protocol
