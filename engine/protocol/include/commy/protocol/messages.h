#pragma once

// One struct per wire message. Requests form the `Request` variant; successful replies carry one of
// the `ResultData` payloads; failures carry `Error`; `VariableChanged` and the monitoring pushes
// (`StatsUpdate`, `ProcessEvent`, `TreeChanged`) are what a broker sends unasked.
// docs/protocol.md describes every field; the codec (codec.h) validates them.

#include <commy/protocol/error_code.h>

#include <QByteArray>
#include <QJsonValue>
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

// --- Monitoring and operations (appended last, like the users) ---------------------------------

inline constexpr qint64 kDefaultBlockMapLimit = 10000;
inline constexpr qint64 kMaxBlockMapLimit = 100000;
inline constexpr qint64 kDefaultBrowseLimit = 100;
inline constexpr qint64 kMaxBrowseLimit = 1000;
inline constexpr qint64 kMinWatchIntervalMs = 100;
inline constexpr qint64 kMaxWatchIntervalMs = 60000;
inline constexpr qsizetype kMaxWatchTargets = 10000;
// Root names and type descriptors come from region files, where local programs choose them: they
// are text (at most 63 and 47 UTF-8 bytes there), not protocol names.
inline constexpr qsizetype kMaxRootNameLength = 64;
inline constexpr qsizetype kMaxRootTypeLength = 64;
inline constexpr qsizetype kMaxProcessNameLength = 64;

struct GetBrokerInfo {
    bool operator==(const GetBrokerInfo&) const = default;
};
struct GetTree {
    std::optional<QString> tenant; // absent: every tenant (server_admin)
    bool operator==(const GetTree&) const = default;
};
struct GetRegionStats {
    QString tenant;
    QString service;
    bool operator==(const GetRegionStats&) const = default;
};
struct GetBlockMap {
    QString tenant;
    QString service;
    std::optional<qint64> offset; // index of the first block; absent: 0
    std::optional<qint64> limit; // 1..kMaxBlockMapLimit; absent: kDefaultBlockMapLimit
    bool operator==(const GetBlockMap&) const = default;
};
struct GetProcesses {
    QString tenant;
    QString service;
    bool operator==(const GetProcesses&) const = default;
};
struct GetSessions {
    bool operator==(const GetSessions&) const = default;
};
struct BrowseRoot {
    QString tenant;
    QString service;
    QString root; // 1..kMaxRootNameLength characters, any text
    std::optional<qint64> offset; // first element (first byte of a string root); absent: 0
    std::optional<qint64> limit; // 1..kMaxBrowseLimit; absent: kDefaultBrowseLimit
    bool operator==(const BrowseRoot&) const = default;
};
struct WatchTarget {
    QString tenant;
    QString service;
    bool operator==(const WatchTarget&) const = default;
};
// Replaces the session's previous Watch; no targets stops watching.
struct Watch {
    std::vector<WatchTarget> targets; // at most kMaxWatchTargets
    qint64 intervalMs = 1000; // kMinWatchIntervalMs..kMaxWatchIntervalMs
    bool operator==(const Watch&) const = default;
};
struct ResizeRegion {
    QString tenant;
    QString service;
    qint64 size = 0; // bytes, >= 1
    bool operator==(const ResizeRegion&) const = default;
};
struct ShrinkRegion {
    QString tenant;
    QString service;
    bool operator==(const ShrinkRegion&) const = default;
};
struct CleanupRegion {
    QString tenant;
    QString service;
    bool operator==(const CleanupRegion&) const = default;
};

using Request = std::variant<Authenticate, Logout, RefreshToken, Heartbeat, CreateTenant, DeleteTenant, ListTenants,
    CreateKey, RevokeKey, ListKeys, CreateService, GetService, DeleteService, ListServices, AllocateVariable,
    WriteVariable, ReadVariable, DeallocateVariable, ListVariables, Subscribe, Unsubscribe, GetServiceFilePath,
    CreateUser, DeleteUser, GetBrokerInfo, GetTree, GetRegionStats, GetBlockMap, GetProcesses, GetSessions, BrowseRoot,
    Watch, ResizeRegion, ShrinkRegion, CleanupRegion>;

// The wire "type" of a request.
QString requestTypeName(const Request& request);

// --- Replies -----------------------------------------------------------------------------------

// Logout, CreateTenant, DeleteTenant, RevokeKey, DeleteService, DeallocateVariable, Subscribe, Unsubscribe,
// CreateUser, DeleteUser, Watch.
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

// Monitoring.
struct BrokerInfoResult {
    QString version; // the broker's release, e.g. "0.1.0"
    qint64 uptimeMs = 0;
    qint64 sessions = 0; // open connections
    qint64 tenants = 0;
    qint64 subscriptions = 0; // (session, service) pairs
    bool operator==(const BrokerInfoResult&) const = default;
};

// What a named root holds. On the wire: "bytes", "vec", "string", "box", "hashmap", "hashset",
// "btreemap", "btreeset", "deque".
enum class RootKind { Bytes, Vec, String, Box, HashMap, HashSet, BTreeMap, BTreeSet, Deque };
QString rootKindName(RootKind kind);
std::optional<RootKind> rootKindFromName(QStringView name);

struct RootSummary {
    QString name;
    RootKind kind = RootKind::Bytes;
    QString type; // the type descriptor, e.g. "vec<i64>"
    qint64 size = 0; // elements of a container (bytes of a string); bytes of a plain root
    qint64 version = 0;
    bool operator==(const RootSummary&) const = default;
};
struct ServiceTree {
    QString name;
    qint64 size = 0; // region file bytes
    qint64 limit = 0;
    qint64 used = 0; // bytes in used blocks, headers included
    std::vector<RootSummary> roots;
    bool operator==(const ServiceTree&) const = default;
};
struct TenantTree {
    QString name;
    std::vector<ServiceTree> services;
    bool operator==(const TenantTree&) const = default;
};
struct TreeResult {
    std::vector<TenantTree> tenants;
    bool operator==(const TreeResult&) const = default;
};

// GetRegionStats, and the `stats` of a StatsUpdate push.
struct RegionStats {
    qint64 size = 0;
    qint64 limit = 0;
    qint64 used = 0; // bytes in used blocks, headers included
    qint64 free = 0; // bytes in free blocks, headers included
    qint64 largestFree = 0;
    double fragmentation = 0; // 1 - largest free / free, 0..1; 0 when nothing is free
    qint64 usedBlocks = 0;
    qint64 freeBlocks = 0;
    qint64 generation = 0; // bumped by every resize
    qint64 grows = 0;
    qint64 shrinks = 0;
    qint64 lockRecoveries = 0;
    qint64 cleanups = 0;
    bool operator==(const RegionStats&) const = default;
};

struct BlockEntry {
    qint64 offset = 0; // of the block header, from the start of the file
    qint64 size = 0; // header included
    bool free = false;
    qint64 owner = -1; // process slot of an unpublished block; -1: free or published
    bool operator==(const BlockEntry&) const = default;
};
struct BlockMapResult {
    qint64 total = 0; // blocks in the region; `blocks` is the page asked for
    std::vector<BlockEntry> blocks;
    bool operator==(const BlockMapResult&) const = default;
};

// On the wire: "alive", "stale" (no heartbeat for a while; a busy process is never declared dead),
// "dead" (the operating system says the process is gone), and, in ProcessEvent only, "gone" (the
// slot left the process table: detached, or freed by a cleanup).
enum class Liveness { Alive, Stale, Dead, Gone };
QString livenessName(Liveness liveness);
std::optional<Liveness> livenessFromName(QStringView name);

struct ProcessEntry {
    qint64 slot = 0;
    qint64 pid = 0;
    QString name;
    qint64 heartbeatAgeMs = 0;
    Liveness liveness = Liveness::Alive; // never Gone
    bool operator==(const ProcessEntry&) const = default;
};
struct ProcessesResult {
    std::vector<ProcessEntry> processes;
    bool operator==(const ProcessesResult&) const = default;
};

struct SessionEntry {
    qint64 id = 0;
    QString peer; // "address:port", "[v6 address]:port"
    std::optional<QString> clientName;
    std::vector<QString> tenants; // with a live grant
    qint64 subscriptions = 0; // services subscribed to
    qint64 queueBytes = 0; // sent but not yet on the network
    bool operator==(const SessionEntry&) const = default;
};
struct SessionsResult {
    std::vector<SessionEntry> sessions;
    bool operator==(const SessionsResult&) const = default;
};

// One element as the engine's type-erased reader decodes it (ContainerReader::toJson).
struct BrowseElement {
    qint64 index = 0; // position in the container's order; a string root's first byte
    std::optional<QJsonValue> key; // maps only
    QJsonValue value;
    bool operator==(const BrowseElement&) const = default;
};
struct BrowseResult {
    RootKind kind = RootKind::Bytes;
    QString type;
    qint64 length = 0; // elements; bytes of a string root
    qint64 version = 0;
    std::vector<BrowseElement> elements;
    bool operator==(const BrowseResult&) const = default;
};

// Operations. ResizeRegion and ShrinkRegion: the region's size afterwards.
struct RegionSizeResult {
    qint64 size = 0;
    bool operator==(const RegionSizeResult&) const = default;
};
struct FreedSlot {
    qint64 slot = 0;
    qint64 pid = 0;
    QString name;
    bool operator==(const FreedSlot&) const = default;
};
struct CleanupResult {
    std::vector<FreedSlot> freedSlots; // dead processes whose slots were freed
    qint64 reclaimedBlocks = 0; // allocated by them and never published
    qint64 reclaimedBytes = 0;
    bool lockRecovered = false; // the region lock was held by a dead process and repaired
    bool resizeAborted = false; // a resize a dead process left behind was finished or rolled back
    bool operator==(const CleanupResult&) const = default;
};

using ResultData = std::variant<EmptyResult, AuthenticateResult, HeartbeatResult, ListTenantsResult, CreateKeyResult,
    ListKeysResult, ServiceInfo, ListServicesResult, WriteResult, ReadResult, ListVariablesResult,
    ServiceFilePathResult, BrokerInfoResult, TreeResult, RegionStats, BlockMapResult, ProcessesResult, SessionsResult,
    BrowseResult, RegionSizeResult, CleanupResult>;

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
template <> struct ResultOf<GetBrokerInfo> {
    using type = BrokerInfoResult;
};
template <> struct ResultOf<GetTree> {
    using type = TreeResult;
};
template <> struct ResultOf<GetRegionStats> {
    using type = RegionStats;
};
template <> struct ResultOf<GetBlockMap> {
    using type = BlockMapResult;
};
template <> struct ResultOf<GetProcesses> {
    using type = ProcessesResult;
};
template <> struct ResultOf<GetSessions> {
    using type = SessionsResult;
};
template <> struct ResultOf<BrowseRoot> {
    using type = BrowseResult;
};
template <> struct ResultOf<ResizeRegion> {
    using type = RegionSizeResult;
};
template <> struct ResultOf<ShrinkRegion> {
    using type = RegionSizeResult;
};
template <> struct ResultOf<CleanupRegion> {
    using type = CleanupResult;
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

// Monitoring pushes for a Watch: sent at most once per interval and target, and only when something
// changed since the previous tick.
struct StatsUpdate {
    QString tenant;
    QString service;
    RegionStats stats;
    bool operator==(const StatsUpdate&) const = default;
};
// A process appeared in the table, changed liveness, or left it (`Gone`).
struct ProcessEvent {
    QString tenant;
    QString service;
    qint64 slot = 0;
    qint64 pid = 0;
    QString name;
    Liveness liveness = Liveness::Alive;
    bool operator==(const ProcessEvent&) const = default;
};
// Roots were created or removed: read the tree again.
struct TreeChanged {
    QString tenant;
    QString service;
    bool operator==(const TreeChanged&) const = default;
};

} // namespace commy::protocol
