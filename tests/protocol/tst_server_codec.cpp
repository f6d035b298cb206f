// The client's side of the codec on raw bytes: every reply payload, error and push a broker encodes
// decodes back to the same value through decodeServerFrame() and decodeResult(), and every malformed
// server frame or payload is refused, naming the field.

#include <commy/protocol/codec.h>
#include <commy/protocol/server_codec.h>

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QtTest>

using namespace commy::protocol;

Q_DECLARE_METATYPE(commy::protocol::Request)
Q_DECLARE_METATYPE(commy::protocol::ResultData)
Q_DECLARE_METATYPE(commy::protocol::Error)
Q_DECLARE_METATYPE(commy::protocol::VariableChanged)
Q_DECLARE_METATYPE(std::optional<commy::protocol::RequestId>)
Q_DECLARE_METATYPE(commy::protocol::ServerFrame)

namespace {

using ServerDecode = commy::Expected<ServerFrame, DecodeError>;

QString problem(const ServerDecode& result) { return result.hasValue() ? QString() : result.error().message; }

QJsonValue idJson(const std::optional<RequestId>& id)
{
    if (!id)
        return QJsonValue(QJsonValue::Null);
    return std::visit([](const auto& value) { return QJsonValue(value); }, *id);
}

QJsonObject object(const char* json) { return QJsonDocument::fromJson(QByteArray(json)).object(); }

const QString acme = QStringLiteral("acme");
const QString s1 = QStringLiteral("s1");
const QString v = QStringLiteral("v");

} // namespace

class TestServerCodec : public QObject {
    Q_OBJECT

private slots:
    void resultRoundTrip_data();
    void resultRoundTrip();
    void resultOfEveryRequestType();
    void errorRoundTrip_data();
    void errorRoundTrip();
    void pushRoundTrip_data();
    void pushRoundTrip();
    void monitorPushRoundTrip_data();
    void monitorPushRoundTrip();
    void malformedFrame_data();
    void malformedFrame();
    void malformedResult_data();
    void malformedResult();
    void documentedReplies();
    void mutatedFramesNeverCrash();
};

void TestServerCodec::resultRoundTrip_data()
{
    QTest::addColumn<Request>("answered");
    QTest::addColumn<ResultData>("result");
    const qint64 maxInt = kMaxWireInteger;

    QTest::newRow("EmptyResult") << Request(Logout { acme }) << ResultData(EmptyResult {});
    QTest::newRow("AuthenticateResult") << Request(Authenticate { acme, ApiKeyCredential { QStringLiteral("k") },
        {} }) << ResultData(AuthenticateResult { QStringLiteral("ct_1"), 3600, { Scope::Read, Scope::Write } });
    QTest::newRow("AuthenticateResult server_admin")
        << Request(Authenticate { std::nullopt, ApiKeyCredential { QStringLiteral("k") }, {} })
        << ResultData(AuthenticateResult { QString(4096, QLatin1Char('t')), 0, { Scope::ServerAdmin } });
    QTest::newRow("AuthenticateResult refreshed")
        << Request(RefreshToken { acme })
        << ResultData(AuthenticateResult { QStringLiteral("t"), maxInt,
               { Scope::Admin, Scope::Map, Scope::Subscribe, Scope::Write, Scope::Read } });
    QTest::newRow("HeartbeatResult") << Request(Heartbeat {}) << ResultData(HeartbeatResult { 1764147600123 });
    QTest::newRow("ListTenantsResult") << Request(
        ListTenants {}) << ResultData(ListTenantsResult { { { acme, 2 }, { QStringLiteral("b.c-d_e"), maxInt } } });
    QTest::newRow("ListTenantsResult empty") << Request(ListTenants {}) << ResultData(ListTenantsResult {});
    QTest::newRow("CreateKeyResult") << Request(CreateKey { acme, { Scope::Read }, {} })
                                     << ResultData(CreateKeyResult { QStringLiteral("k7"), QStringLiteral("ck_5b") });
    QTest::newRow("ListKeysResult") << Request(ListKeys { acme })
                                    << ResultData(ListKeysResult {
                                           { { QStringLiteral("k1"), QStringLiteral("ops team"), { Scope::Admin } },
                                               { QStringLiteral("k2"), std::nullopt, { Scope::Read, Scope::Map } } } });
    QTest::newRow("ListKeysResult empty") << Request(ListKeys { acme }) << ResultData(ListKeysResult {});
    QTest::newRow("ServiceInfo created") << Request(CreateService { acme, s1, 4096, {} })
                                         << ResultData(ServiceInfo { s1, 4096, 1048576, 0 });
    QTest::newRow("ServiceInfo") << Request(GetService { acme, s1 }) << ResultData(ServiceInfo { s1, 0, maxInt, 3 });
    QTest::newRow("ListServicesResult") << Request(ListServices {
        acme }) << ResultData(ListServicesResult { { { s1, 4096, 8192, 0 }, { QStringLiteral("s2"), 1, 2, 3 } } });
    QTest::newRow("WriteResult allocated")
        << Request(AllocateVariable { acme, s1, v, QByteArray("x") }) << ResultData(WriteResult { 1 });
    QTest::newRow("WriteResult") << Request(WriteVariable { acme, s1, v, QByteArray("x"), 1 })
                                 << ResultData(WriteResult { maxInt });
    QTest::newRow("ReadResult") << Request(ReadVariable { acme, s1, v })
                                << ResultData(ReadResult { QByteArray("\x00\xfe\xff\x01", 4), 5 });
    QTest::newRow("ReadResult empty value")
        << Request(ReadVariable { acme, s1, v }) << ResultData(ReadResult { QByteArray(), 0 });
    QTest::newRow("ListVariablesResult") << Request(ListVariables {
        acme, s1 }) << ResultData(ListVariablesResult { { { v, 8, 2 }, { QStringLiteral("w"), 0, 0 } } });
    QTest::newRow("ServiceFilePathResult")
        << Request(GetServiceFilePath { acme, s1 })
        << ResultData(ServiceFilePathResult { QStringLiteral("/var/lib/commy/tenants/acme/s1.region"), 65536 });
    const RegionStats stats { 1048576, 67108864, 9216, 1031168, 1028096, 0.0029796, 41, 3, 1, 1, 0, 0, 0 };
    QTest::newRow("BrokerInfoResult") << Request(GetBrokerInfo {})
                                      << ResultData(BrokerInfoResult { QStringLiteral("0.1.0"), maxInt, 0, 3, 40 });
    QTest::newRow("TreeResult") << Request(GetTree { acme })
                                << ResultData(TreeResult {
                                       { { acme,
                                             { { s1, 4096, 8192, 1024,
                                                   { { QStringLiteral("a root/any text"), RootKind::BTreeMap,
                                                         QStringLiteral("btreemap<string,f64>"), 12, 4 },
                                                       { QStringLiteral("raw"), RootKind::Bytes, QString(), 64, 0 } } },
                                                 { QStringLiteral("s2"), 1, 1, 0, {} } } },
                                           { QStringLiteral("empty"), {} } } });
    QTest::newRow("TreeResult every kind") << Request(GetTree {}) << [] {
        TreeResult tree { { { acme, { { s1, 1, 1, 1, {} } } } } };
        for (const RootKind kind : { RootKind::Bytes, RootKind::Vec, RootKind::String, RootKind::Box, RootKind::HashMap,
                 RootKind::HashSet, RootKind::BTreeMap, RootKind::BTreeSet, RootKind::Deque })
            tree.tenants[0].services[0].roots.push_back({ rootKindName(kind), kind, QStringLiteral("t"), 0, 0 });
        return ResultData(tree);
    }();
    QTest::newRow("RegionStats") << Request(GetRegionStats { acme, s1 }) << ResultData(stats);
    QTest::newRow("RegionStats fragmentation 1")
        << Request(GetRegionStats { acme, s1 }) << ResultData(RegionStats { 1, 1, 1, 1, 1, 1.0, 1, 1, 1, 1, 1, 1, 1 });
    QTest::newRow("BlockMapResult") << Request(GetBlockMap { acme, s1, {},
        {} }) << ResultData(BlockMapResult { maxInt, { { 16384, 48, false, 2 }, { 16432, 96, true, -1 } } });
    QTest::newRow("BlockMapResult past the end")
        << Request(GetBlockMap { acme, s1, 100, 10 }) << ResultData(BlockMapResult { 44, {} });
    QTest::newRow("ProcessesResult") << Request(GetProcesses { acme, s1 })
                                     << ResultData(ProcessesResult { { { 0, 4211, QStringLiteral("commyd"), 0,
                                                                           Liveness::Alive },
                                            { 1, 4212, QString(), 1500, Liveness::Stale },
                                            { 127, maxInt, QString(64, QLatin1Char('n')), maxInt, Liveness::Dead } } });
    QTest::newRow("SessionsResult") << Request(GetSessions {})
                                    << ResultData(SessionsResult { { { 7, QStringLiteral("10.0.0.12:51544"),
                                                                         QStringLiteral("plc-7"), { acme }, 1, 0 },
                                           { 8, QStringLiteral("[::1]:1"), std::nullopt, {}, 0, maxInt } } });
    QTest::newRow("BrowseResult") << Request(BrowseRoot { acme, s1, QStringLiteral("m"), {}, {} })
                                  << ResultData(BrowseResult { RootKind::HashMap,
                                         QStringLiteral("hashmap<string,vec<i8>>"), 2, 9,
                                         { { 0, QJsonValue(QStringLiteral("k")), QJsonValue(QJsonArray { 1, -2, 3 }) },
                                             { 5, QJsonValue(2.5), QJsonValue(QStringLiteral("inf")) } } });
    QTest::newRow("BrowseResult string root")
        << Request(BrowseRoot { acme, s1, QStringLiteral("s"), 4, 10 })
        << ResultData(BrowseResult { RootKind::String, QStringLiteral("string"), 20, 1,
               { { 4, std::nullopt, QJsonValue(QStringLiteral("o wo\u2026")) } } });
    QTest::newRow("BrowseResult null and object values")
        << Request(BrowseRoot { acme, s1, QStringLiteral("s"), {}, {} })
        << ResultData(BrowseResult { RootKind::Vec, QStringLiteral("vec<x>"), 2, 1,
               { { 0, std::nullopt, QJsonValue() }, { 1, QJsonValue(), QJsonValue(QJsonObject { { "a", true } }) } } });
    QTest::newRow("RegionSizeResult resized")
        << Request(ResizeRegion { acme, s1, 8192 }) << ResultData(RegionSizeResult { 8192 });
    QTest::newRow("RegionSizeResult shrunk")
        << Request(ShrinkRegion { acme, s1 }) << ResultData(RegionSizeResult { 0 });
    QTest::newRow("CleanupResult") << Request(CleanupRegion { acme, s1 })
                                   << ResultData(CleanupResult {
                                          { { 2, 5120, QStringLiteral("plc-bridge") }, { 3, 1, QString() } }, 3, 4224,
                                          true, true });
    QTest::newRow("CleanupResult nothing")
        << Request(CleanupRegion { acme, s1 }) << ResultData(CleanupResult { {}, 0, 0, false, false });
}

// Broker side encodes, client side decodes: the same value comes back, under the same id.
void TestServerCodec::resultRoundTrip()
{
    QFETCH(Request, answered);
    QFETCH(ResultData, result);

    for (const RequestId& id : { RequestId(QStringLiteral("r1")), RequestId(qint64(-42)) }) {
        const ServerDecode frame = decodeServerFrame(encodeResult(id, result));
        QVERIFY2(frame.hasValue(), qPrintable(problem(frame)));
        const auto* reply = std::get_if<ResultFrame>(&*frame);
        QVERIFY(reply);
        QCOMPARE(reply->id, id);
        const auto payload = decodeResult(answered, reply->data);
        QVERIFY2(payload.hasValue(), qPrintable(payload.hasValue() ? QString() : payload.error().message));
        QCOMPARE(payload->index(), result.index());
        QVERIFY(*payload == result);
    }
}

// decodeResult picks the payload type from the request: an empty payload is right only for the
// requests that answer with EmptyResult, and every other request refuses it, naming a field.
void TestServerCodec::resultOfEveryRequestType()
{
    const Request requests[] = { Authenticate { acme, TokenCredential { QStringLiteral("t") }, {} }, Logout { acme },
        RefreshToken { acme }, Heartbeat {}, CreateTenant { acme }, DeleteTenant { acme }, ListTenants {},
        CreateKey { acme, { Scope::Read }, {} }, RevokeKey { acme, QStringLiteral("k") }, ListKeys { acme },
        CreateService { acme, s1, {}, {} }, GetService { acme, s1 }, DeleteService { acme, s1 }, ListServices { acme },
        AllocateVariable { acme, s1, v, {} }, WriteVariable { acme, s1, v, {}, {} }, ReadVariable { acme, s1, v },
        DeallocateVariable { acme, s1, v }, ListVariables { acme, s1 }, Subscribe { acme, s1, {} },
        Unsubscribe { acme, s1, {} }, GetServiceFilePath { acme, s1 },
        CreateUser { acme, QStringLiteral("ann"), QStringLiteral("12345678"), { Scope::Read } },
        DeleteUser { acme, QStringLiteral("ann") }, GetBrokerInfo {}, GetTree {}, GetRegionStats { acme, s1 },
        GetBlockMap { acme, s1, {}, {} }, GetProcesses { acme, s1 }, GetSessions {},
        BrowseRoot { acme, s1, QStringLiteral("r"), {}, {} }, Watch { {}, 1000 }, ResizeRegion { acme, s1, 1 },
        ShrinkRegion { acme, s1 }, CleanupRegion { acme, s1 } };
    QCOMPARE(std::size(requests), std::variant_size_v<Request>);
    int empty = 0;
    for (const Request& request : requests) {
        QCOMPARE(std::size_t(request.index()), std::size_t(&request - requests));
        const auto payload = decodeResult(request, QJsonObject());
        const bool expectsEmpty = std::visit(
            [](const auto& r) { return std::is_same_v<ResultOfT<std::decay_t<decltype(r)>>, EmptyResult>; }, request);
        QCOMPARE(payload.hasValue(), expectsEmpty);
        if (payload.hasValue()) {
            ++empty;
            QVERIFY(std::holds_alternative<EmptyResult>(*payload));
        } else {
            QVERIFY2(payload.error().message.contains(QLatin1String("is missing")),
                qPrintable(requestTypeName(request) + QLatin1String(": ") + payload.error().message));
        }
    }
    QCOMPARE(empty, 11);
}

void TestServerCodec::errorRoundTrip_data()
{
    QTest::addColumn<std::optional<RequestId>>("id");
    QTest::addColumn<Error>("error");
    const ErrorCode codes[] = { ErrorCode::Unauthorized, ErrorCode::PermissionDenied, ErrorCode::NotFound,
        ErrorCode::AlreadyExists, ErrorCode::InvalidRequest, ErrorCode::ResourceExhausted, ErrorCode::RateLimited,
        ErrorCode::Timeout, ErrorCode::InternalError };
    for (const ErrorCode code : codes) {
        QTest::addRow("%s", qPrintable(errorCodeName(code)))
            << std::optional<RequestId>(QStringLiteral("r1")) << Error { code, QStringLiteral("because"), {} };
    }
    QTest::newRow("retry_after") << std::optional<RequestId>(qint64(9))
                                 << Error { ErrorCode::RateLimited, QStringLiteral("slow down"), 240 };
    QTest::newRow("retry_after zero") << std::optional<RequestId>(qint64(9))
                                      << Error { ErrorCode::RateLimited, QStringLiteral("now"), 0 };
    QTest::newRow("id null") << std::optional<RequestId>()
                             << Error { ErrorCode::InvalidRequest, QStringLiteral("frame is not valid JSON"), {} };
    QTest::newRow("empty message") << std::optional<RequestId>(QStringLiteral("x"))
                                   << Error { ErrorCode::InternalError, QString(), {} };
    QTest::newRow("longest message") << std::optional<RequestId>(QStringLiteral("x"))
                                     << Error { ErrorCode::NotFound, QString(4096, QLatin1Char('m')), {} };
}

void TestServerCodec::errorRoundTrip()
{
    QFETCH(std::optional<RequestId>, id);
    QFETCH(Error, error);
    const ServerDecode frame = decodeServerFrame(encodeError(id, error));
    QVERIFY2(frame.hasValue(), qPrintable(problem(frame)));
    const auto* reply = std::get_if<ErrorFrame>(&*frame);
    QVERIFY(reply);
    QCOMPARE(reply->id, id);
    QVERIFY(reply->error == error);
}

void TestServerCodec::pushRoundTrip_data()
{
    QTest::addColumn<VariableChanged>("push");
    QTest::newRow("plain") << VariableChanged { acme, s1, v, QByteArray("hi"), 9, 41, false };
    QTest::newRow("coalesced") << VariableChanged { acme, s1, v, QByteArray(), 10, 45, true };
    QTest::newRow("binary value") << VariableChanged { acme, s1, QStringLiteral("a.b"), QByteArray(300, '\xff'), 0, 0,
        false };
    QTest::newRow("largest numbers") << VariableChanged { acme, s1, v, QByteArray("x"), kMaxWireInteger,
        kMaxWireInteger, true };
}

void TestServerCodec::pushRoundTrip()
{
    QFETCH(VariableChanged, push);
    const ServerDecode frame = decodeServerFrame(encodePush(push));
    QVERIFY2(frame.hasValue(), qPrintable(problem(frame)));
    const auto* decoded = std::get_if<VariableChanged>(&*frame);
    QVERIFY(decoded);
    QVERIFY(*decoded == push);
    QCOMPARE(decoded->coalesced, push.coalesced);
}

void TestServerCodec::monitorPushRoundTrip_data()
{
    QTest::addColumn<QByteArray>("encoded");
    QTest::addColumn<ServerFrame>("push");
    const RegionStats stats { 1048576, 67108864, 9216, 1031168, 1028096, 0.125, 41, 3, 1, 1, 0, 0, 0 };
    QTest::newRow("StatsUpdate") << encodePush(StatsUpdate { acme, s1, stats })
                                 << ServerFrame(StatsUpdate { acme, s1, stats });
    QTest::newRow("StatsUpdate zeros") << encodePush(StatsUpdate { acme, s1, {} })
                                       << ServerFrame(StatsUpdate { acme, s1, {} });
    for (const Liveness liveness : { Liveness::Alive, Liveness::Stale, Liveness::Dead, Liveness::Gone }) {
        const ProcessEvent event { acme, s1, 2, 5120, QStringLiteral("plc bridge"), liveness };
        QTest::addRow("ProcessEvent %s", qPrintable(livenessName(liveness))) << encodePush(event) << ServerFrame(event);
    }
    QTest::newRow("ProcessEvent unnamed") << encodePush(ProcessEvent { acme, s1, 0, 1, QString(), Liveness::Alive })
                                          << ServerFrame(ProcessEvent { acme, s1, 0, 1, QString(), Liveness::Alive });
    QTest::newRow("TreeChanged") << encodePush(TreeChanged { acme, s1 }) << ServerFrame(TreeChanged { acme, s1 });
}

void TestServerCodec::monitorPushRoundTrip()
{
    QFETCH(QByteArray, encoded);
    QFETCH(ServerFrame, push);
    const ServerDecode frame = decodeServerFrame(encoded);
    QVERIFY2(frame.hasValue(), qPrintable(problem(frame)));
    QCOMPARE(frame->index(), push.index());
    QVERIFY(*frame == push);
}

void TestServerCodec::malformedFrame_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QJsonValue>("expectedId");
    QTest::addColumn<QString>("mentions");
    const QJsonValue none(QJsonValue::Null);
    const QJsonValue r1(QStringLiteral("r1"));
    const auto error = [](const char* data, const char* id = R"("r1")") {
        return QByteArray(R"({"type":"Error","id":)") + id + R"(,"data":)" + data + "}";
    };
    const auto push = [](const char* data) { return QByteArray(R"({"type":"VariableChanged","data":)") + data + "}"; };
    const QByteArray var = R"("tenant":"acme","service":"s1","variable":"v","value":"aGk=")";

    // The envelope.
    QTest::newRow("empty frame") << QByteArray() << none << "JSON";
    QTest::newRow("not JSON") << QByteArray("Result") << none << "JSON";
    QTest::newRow("truncated") << QByteArray(R"({"type":"Result","id":"r1","data":{})") << none << "JSON";
    QTest::newRow("JSON array") << QByteArray(R"([{"type":"Result","id":"r1","data":{}}])") << none << "object";
    QTest::newRow("non-UTF-8") << QByteArray("{\"type\":\"Result\",\"id\":\"\xff\",\"data\":{}}") << none << "JSON";
    QTest::newRow("missing type") << QByteArray(R"({"id":"r1","data":{}})") << r1 << "'type'";
    QTest::newRow("type number") << QByteArray(R"({"type":1,"id":"r1","data":{}})") << r1 << "'type'";
    QTest::newRow("request type") << QByteArray(R"({"type":"ReadVariable","id":"r1","data":{}})") << r1 << "'type'";
    QTest::newRow("type wrong case") << QByteArray(R"({"type":"result","id":"r1","data":{}})") << r1 << "'type'";
    QTest::newRow("Result without id") << QByteArray(R"({"type":"Result","data":{}})") << none << "'id'";
    QTest::newRow("Result id null") << QByteArray(R"({"type":"Result","id":null,"data":{}})") << none << "'id'";
    QTest::newRow("Result id empty") << QByteArray(R"({"type":"Result","id":"","data":{}})") << none << "'id'";
    QTest::newRow("Result id fraction") << QByteArray(R"({"type":"Result","id":1.5,"data":{}})") << none << "'id'";
    QTest::newRow("Result id beyond 2^53")
        << QByteArray(R"({"type":"Result","id":9007199254740993,"data":{}})") << none << "'id'";
    QTest::newRow("Result id too long") << QByteArray(R"({"type":"Result","id":")" + QByteArray(129, 'i')
        + R"(","data":{}})") << none << "'id'";
    QTest::newRow("Result without data") << QByteArray(R"({"type":"Result","id":"r1"})") << r1 << "'data'";
    QTest::newRow("Result data array") << QByteArray(R"({"type":"Result","id":"r1","data":[]})") << r1 << "'data'";
    QTest::newRow("Result data null") << QByteArray(R"({"type":"Result","id":"r1","data":null})") << r1 << "'data'";
    QTest::newRow("Result extra field") << QByteArray(R"({"type":"Result","id":7,"data":{},"seq":1})") << QJsonValue(7)
                                        << "'seq'";
    QTest::newRow("Error without id") << QByteArray(R"({"type":"Error","data":{"code":"NOT_FOUND","message":"m"}})")
                                      << none << "'id'";
    QTest::newRow("Error id object") << error(R"({"code":"NOT_FOUND","message":"m"})", "{}") << none << "'id'";
    QTest::newRow("Error id bool") << error(R"({"code":"NOT_FOUND","message":"m"})", "false") << none << "'id'";
    QTest::newRow("push with id") << QByteArray(R"({"type":"VariableChanged","id":"r1","data":{}})") << none << "'id'";
    QTest::newRow("push with id null") << QByteArray(R"({"type":"VariableChanged","id":null,"data":{}})") << none
                                       << "'id'";
    QTest::newRow("push extra field") << QByteArray(R"({"type":"VariableChanged","data":{},"x":1})") << none << "'x'";

    // Error data.
    QTest::newRow("Error no code") << error(R"({"message":"m"})") << r1 << "'code'";
    QTest::newRow("Error unknown code") << error(R"({"code":"TEAPOT","message":"m"})") << r1 << "'code'";
    QTest::newRow("Error code lowercase") << error(R"({"code":"not_found","message":"m"})") << r1 << "'code'";
    QTest::newRow("Error code number") << error(R"({"code":404,"message":"m"})") << r1 << "'code'";
    QTest::newRow("Error no message") << error(R"({"code":"NOT_FOUND"})") << r1 << "'message'";
    QTest::newRow("Error message number") << error(R"({"code":"NOT_FOUND","message":1})") << r1 << "'message'";
    QTest::newRow("Error message too long")
        << error(QByteArray(R"({"code":"NOT_FOUND","message":")" + QByteArray(4097, 'm') + "\"}").constData()) << r1
        << "'message'";
    QTest::newRow("Error retry_after negative")
        << error(R"({"code":"RATE_LIMITED","message":"m","retry_after":-1})") << r1 << "'retry_after'";
    QTest::newRow("Error retry_after string")
        << error(R"({"code":"RATE_LIMITED","message":"m","retry_after":"60"})") << r1 << "'retry_after'";
    QTest::newRow("Error retry_after null")
        << error(R"({"code":"RATE_LIMITED","message":"m","retry_after":null})") << r1 << "'retry_after'";
    QTest::newRow("Error unknown field") << error(R"({"code":"NOT_FOUND","message":"m","detail":"d"})", "3")
                                         << QJsonValue(3) << "'detail'";

    // Push data.
    QTest::newRow("push no seq") << push(("{" + var + R"(,"version":1})").constData()) << none << "'seq'";
    QTest::newRow("push seq negative") << push(("{" + var + R"(,"version":1,"seq":-1})").constData()) << none
                                       << "'seq'";
    QTest::newRow("push seq fraction") << push(("{" + var + R"(,"version":1,"seq":1.5})").constData()) << none
                                       << "'seq'";
    QTest::newRow("push seq string") << push(("{" + var + R"(,"version":1,"seq":"1"})").constData()) << none << "'seq'";
    QTest::newRow("push no version") << push(("{" + var + R"(,"seq":1})").constData()) << none << "'version'";
    QTest::newRow("push version huge") << push(("{" + var + R"(,"version":1e300,"seq":1})").constData()) << none
                                       << "'version'";
    QTest::newRow("push coalesced string")
        << push(("{" + var + R"(,"version":1,"seq":1,"coalesced":"yes"})").constData()) << none << "'coalesced'";
    QTest::newRow("push coalesced number")
        << push(("{" + var + R"(,"version":1,"seq":1,"coalesced":1})").constData()) << none << "'coalesced'";
    QTest::newRow("push no value") << push(R"({"tenant":"acme","service":"s1","variable":"v","version":1,"seq":1})")
                                   << none << "'value'";
    QTest::newRow("push bad base64") << push(
        R"({"tenant":"acme","service":"s1","variable":"v","value":"aGk","version":1,"seq":1})")
                                     << none << "'value'";
    QTest::newRow("push bad variable name")
        << push(R"({"tenant":"acme","service":"s1","variable":"../v","value":"","version":1,"seq":1})") << none
        << "'variable'";
    QTest::newRow("push no tenant") << push(R"({"service":"s1","variable":"v","value":"","version":1,"seq":1})") << none
                                    << "'tenant'";
    QTest::newRow("push unknown field") << push(("{" + var + R"(,"version":1,"seq":1,"id":"r1"})").constData()) << none
                                        << "'id'";

    // Monitoring pushes.
    const auto monitor = [](const char* type, const QByteArray& data) {
        return QByteArray(R"({"type":")") + type + R"(","data":)" + data + "}";
    };
    const QByteArray svc = R"("tenant":"acme","service":"s1")";
    const QByteArray stats = R"("size":1,"limit":1,"used":1,"free":1,"largest_free":1,"used_blocks":1,)"
                             R"("free_blocks":1,"generation":1,"grows":1,"shrinks":1,"lock_recoveries":1,"cleanups":1)";
    QTest::newRow("StatsUpdate with id") << QByteArray(R"({"type":"StatsUpdate","id":"r1","data":{}})") << none
                                         << "'id'";
    QTest::newRow("StatsUpdate no stats") << monitor("StatsUpdate", "{" + svc + "}") << none << "'stats'";
    QTest::newRow("StatsUpdate stats array")
        << monitor("StatsUpdate", "{" + svc + R"(,"stats":[]})") << none << "'stats'";
    QTest::newRow("StatsUpdate no fragmentation")
        << monitor("StatsUpdate", "{" + svc + R"(,"stats":{)" + stats + "}}") << none << "'fragmentation'";
    QTest::newRow("StatsUpdate fragmentation above 1")
        << monitor("StatsUpdate", "{" + svc + R"(,"stats":{"fragmentation":1.5,)" + stats + "}}") << none
        << "'fragmentation'";
    QTest::newRow("StatsUpdate fragmentation negative")
        << monitor("StatsUpdate", "{" + svc + R"(,"stats":{"fragmentation":-0.1,)" + stats + "}}") << none
        << "'fragmentation'";
    QTest::newRow("StatsUpdate fragmentation string")
        << monitor("StatsUpdate", "{" + svc + R"(,"stats":{"fragmentation":"0",)" + stats + "}}") << none
        << "'fragmentation'";
    QTest::newRow("StatsUpdate stats extra field")
        << monitor("StatsUpdate", "{" + svc + R"(,"stats":{"fragmentation":0,"x":1,)" + stats + "}}") << none << "'x'";
    QTest::newRow("StatsUpdate used negative") << monitor("StatsUpdate",
        "{" + svc + R"(,"stats":{"fragmentation":0,)" + QByteArray(stats).replace(R"("used":1)", R"("used":-1)") + "}}")
                                               << none << "'used'";
    QTest::newRow("StatsUpdate no tenant")
        << monitor("StatsUpdate", R"({"service":"s1","stats":{"fragmentation":0,)" + stats + "}}") << none
        << "'tenant'";
    const QByteArray process = R"("slot":2,"pid":5120,"name":"w")";
    QTest::newRow("ProcessEvent unknown liveness")
        << monitor("ProcessEvent", "{" + svc + "," + process + R"(,"liveness":"zombie"})") << none << "'liveness'";
    QTest::newRow("ProcessEvent liveness capitalised")
        << monitor("ProcessEvent", "{" + svc + "," + process + R"(,"liveness":"Alive"})") << none << "'liveness'";
    QTest::newRow("ProcessEvent no liveness")
        << monitor("ProcessEvent", "{" + svc + "," + process + "}") << none << "'liveness'";
    QTest::newRow("ProcessEvent slot negative")
        << monitor("ProcessEvent", "{" + svc + R"(,"slot":-1,"pid":1,"name":"w","liveness":"dead"})") << none
        << "'slot'";
    QTest::newRow("ProcessEvent name too long") << monitor(
        "ProcessEvent", "{" + svc + R"(,"slot":1,"pid":1,"liveness":"dead","name":")" + QByteArray(65, 'n') + "\"}")
                                                << none << "'name'";
    QTest::newRow("TreeChanged no service") << monitor("TreeChanged", R"({"tenant":"acme"})") << none << "'service'";
    QTest::newRow("TreeChanged extra field")
        << monitor("TreeChanged", "{" + svc + R"(,"root":"r"})") << none << "'root'";
    QTest::newRow("monitor push type wrong case") << monitor("treeChanged", "{" + svc + "}") << none << "'type'";
}

void TestServerCodec::malformedFrame()
{
    QFETCH(QByteArray, input);
    QFETCH(QJsonValue, expectedId);
    QFETCH(QString, mentions);
    const ServerDecode decoded = decodeServerFrame(input);
    QVERIFY(!decoded.hasValue());
    QCOMPARE(decoded.error().code, ErrorCode::InvalidRequest);
    QCOMPARE(idJson(decoded.error().id), expectedId);
    QVERIFY2(decoded.error().message.contains(mentions), qPrintable(decoded.error().message));
}

void TestServerCodec::malformedResult_data()
{
    QTest::addColumn<Request>("answered");
    QTest::addColumn<QJsonObject>("data");
    QTest::addColumn<QString>("mentions");
    const Request auth = Authenticate { acme, ApiKeyCredential { QStringLiteral("k") }, {} };
    const Request read = ReadVariable { acme, s1, v };

    QTest::newRow("EmptyResult with a field") << Request(Subscribe { acme, s1, {} }) << object(R"({"x":1})") << "'x'";
    QTest::newRow("Authenticate no token") << auth << object(R"({"expires_in":1,"scopes":["read"]})") << "'token'";
    QTest::newRow("Authenticate empty token")
        << auth << object(R"({"token":"","expires_in":1,"scopes":["read"]})") << "'token'";
    QTest::newRow("Authenticate expires_in negative")
        << auth << object(R"({"token":"t","expires_in":-1,"scopes":["read"]})") << "'expires_in'";
    QTest::newRow("Authenticate expires_in fraction")
        << auth << object(R"({"token":"t","expires_in":0.5,"scopes":["read"]})") << "'expires_in'";
    QTest::newRow("Authenticate scopes empty")
        << auth << object(R"({"token":"t","expires_in":1,"scopes":[]})") << "'scopes'";
    QTest::newRow("Authenticate scope unknown")
        << auth << object(R"({"token":"t","expires_in":1,"scopes":["root"]})") << "'scopes'";
    QTest::newRow("Authenticate scope duplicate")
        << auth << object(R"({"token":"t","expires_in":1,"scopes":["read","read"]})") << "'scopes'";
    QTest::newRow("Heartbeat server_time string")
        << Request(Heartbeat {}) << object(R"({"server_time":"now"})") << "'server_time'";
    QTest::newRow("ListTenants not an array")
        << Request(ListTenants {}) << object(R"({"tenants":{"name":"a","services":1}})") << "'tenants'";
    QTest::newRow("ListTenants item not an object")
        << Request(ListTenants {}) << object(R"({"tenants":["acme"]})") << "item 0 is not an object";
    QTest::newRow("ListTenants item missing services")
        << Request(ListTenants {}) << object(R"({"tenants":[{"name":"a","services":1},{"name":"b"}]})")
        << "field 'tenants' item 1: field 'services' is missing";
    QTest::newRow("ListTenants item extra field")
        << Request(ListTenants {}) << object(R"({"tenants":[{"name":"a","services":1,"owner":"x"}]})") << "'owner'";
    QTest::newRow("ListTenants bad name")
        << Request(ListTenants {}) << object(R"({"tenants":[{"name":"a/b","services":1}]})") << "'name'";
    QTest::newRow("CreateKey key_id not a name")
        << Request(CreateKey { acme, { Scope::Read }, {} }) << object(R"({"key_id":"k 7","key":"ck"})") << "'key_id'";
    QTest::newRow("CreateKey no key") << Request(CreateKey { acme, { Scope::Read }, {} })
                                      << object(R"({"key_id":"k7"})") << "'key'";
    QTest::newRow("ListKeys server_admin scope")
        << Request(ListKeys { acme }) << object(R"({"keys":[{"key_id":"k1","scopes":["server_admin"]}]})")
        << "'scopes'";
    QTest::newRow("ListKeys name empty") << Request(ListKeys { acme })
                                         << object(R"({"keys":[{"key_id":"k1","name":"","scopes":["read"]}]})")
                                         << "'name'";
    QTest::newRow("ServiceInfo no limit")
        << Request(GetService { acme, s1 }) << object(R"({"name":"s1","size":1,"variables":0})") << "'limit'";
    QTest::newRow("ServiceInfo variables negative")
        << Request(GetService { acme, s1 }) << object(R"({"name":"s1","size":1,"limit":1,"variables":-3})")
        << "'variables'";
    QTest::newRow("ListServices missing") << Request(ListServices { acme }) << QJsonObject() << "'services'";
    QTest::newRow("Write version negative")
        << Request(WriteVariable { acme, s1, v, {}, {} }) << object(R"({"version":-1})") << "'version'";
    QTest::newRow("Read no value") << read << object(R"({"version":1})") << "'value'";
    QTest::newRow("Read value not base64") << read << object(R"({"value":"a b=","version":1})") << "'value'";
    QTest::newRow("Read value number") << read << object(R"({"value":5,"version":1})") << "'value'";
    QTest::newRow("Read a WriteResult") << read << object(R"({"version":1})") << "'value'";
    QTest::newRow("ListVariables bad name")
        << Request(ListVariables { acme, s1 }) << object(R"({"variables":[{"name":"..","size":1,"version":1}]})")
        << "'name'";
    QTest::newRow("ServiceFilePath empty path")
        << Request(GetServiceFilePath { acme, s1 }) << object(R"({"path":"","size":1})") << "'path'";
    QTest::newRow("ServiceFilePath size bool")
        << Request(GetServiceFilePath { acme, s1 }) << object(R"({"path":"/p","size":true})") << "'size'";
    const Request stats = GetRegionStats { acme, s1 };
    const QByteArray counters
        = R"("size":1,"limit":1,"used":1,"free":1,"largest_free":1,"used_blocks":1,)"
          R"("free_blocks":1,"generation":1,"grows":1,"shrinks":1,"lock_recoveries":1,"cleanups":1)";
    QTest::newRow("BrokerInfo no version")
        << Request(GetBrokerInfo {}) << object(R"({"uptime_ms":1,"sessions":1,"tenants":1,"subscriptions":1})")
        << "'version'";
    QTest::newRow("BrokerInfo uptime negative")
        << Request(GetBrokerInfo {})
        << object(R"({"version":"1","uptime_ms":-1,"sessions":1,"tenants":1,"subscriptions":1})") << "'uptime_ms'";
    QTest::newRow("Tree unknown kind")
        << Request(GetTree {})
        << object(R"({"tenants":[{"name":"a","services":[{"name":"s","size":1,"limit":1,"used":1,"roots":[)"
                  R"({"name":"r","kind":"vecdeque","type":"t","size":1,"version":1}]}]}]})")
        << "'kind'";
    QTest::newRow("Tree root name empty")
        << Request(GetTree {})
        << object(R"({"tenants":[{"name":"a","services":[{"name":"s","size":1,"limit":1,"used":1,"roots":[)"
                  R"({"name":"","kind":"vec","type":"t","size":1,"version":1}]}]}]})")
        << "'name'";
    QTest::newRow("Tree service without used")
        << Request(GetTree {})
        << object(R"({"tenants":[{"name":"a","services":[{"name":"s","size":1,"limit":1,"roots":[]}]}]})") << "'used'";
    QTest::newRow("Tree service bad name")
        << Request(GetTree {})
        << object(R"({"tenants":[{"name":"a","services":[{"name":"a/b","size":1,"limit":1,"used":0,"roots":[]}]}]})")
        << "'name'";
    QTest::newRow("RegionStats fragmentation 2")
        << stats << QJsonDocument::fromJson("{\"fragmentation\":2," + counters + "}").object() << "'fragmentation'";
    QTest::newRow("RegionStats missing cleanups")
        << stats
        << QJsonDocument::fromJson("{\"fragmentation\":0," + QByteArray(counters).replace(R"(,"cleanups":1)", "") + "}")
               .object()
        << "'cleanups'";
    QTest::newRow("BlockMap owner -2") << Request(GetBlockMap {
        acme, s1, {}, {} }) << object(R"({"total":1,"blocks":[{"offset":0,"size":1,"free":true,"owner":-2}]})")
                                       << "'owner'";
    QTest::newRow("BlockMap free number")
        << Request(GetBlockMap { acme, s1, {}, {} })
        << object(R"({"total":1,"blocks":[{"offset":0,"size":1,"free":0,"owner":-1}]})") << "'free'";
    QTest::newRow("BlockMap no total") << Request(GetBlockMap { acme, s1, {}, {} }) << object(R"({"blocks":[]})")
                                       << "'total'";
    QTest::newRow("Processes gone liveness")
        << Request(GetProcesses { acme, s1 })
        << object(R"({"processes":[{"slot":1,"pid":1,"name":"n","heartbeat_age_ms":0,"liveness":"gone"}]})")
        << "'liveness'";
    QTest::newRow("Processes age fraction")
        << Request(GetProcesses { acme, s1 })
        << object(R"({"processes":[{"slot":1,"pid":1,"name":"n","heartbeat_age_ms":0.5,"liveness":"alive"}]})")
        << "'heartbeat_age_ms'";
    QTest::newRow("Sessions tenants not names")
        << Request(GetSessions {})
        << object(R"({"sessions":[{"id":1,"peer":"p","tenants":["a b"],"subscriptions":0,"queue_bytes":0}]})")
        << "'tenants'";
    QTest::newRow("Sessions no tenants") << Request(
        GetSessions {}) << object(R"({"sessions":[{"id":1,"peer":"p","subscriptions":0,"queue_bytes":0}]})")
                                         << "'tenants'";
    QTest::newRow("Sessions empty peer") << Request(
        GetSessions {}) << object(R"({"sessions":[{"id":1,"peer":"","tenants":[],"subscriptions":0,"queue_bytes":0}]})")
                                         << "'peer'";
    QTest::newRow("Browse element without value")
        << Request(BrowseRoot { acme, s1, QStringLiteral("r"), {}, {} })
        << object(R"({"kind":"vec","type":"vec<i8>","length":1,"version":1,"elements":[{"index":0}]})") << "'value'";
    QTest::newRow("Browse element extra field")
        << Request(BrowseRoot { acme, s1, QStringLiteral("r"), {}, {} })
        << object(R"({"kind":"vec","type":"vec<i8>","length":1,"version":1,"elements":[{"index":0,"value":1,"v":2}]})")
        << "'v'";
    QTest::newRow("Browse element not an object")
        << Request(BrowseRoot { acme, s1, QStringLiteral("r"), {}, {} })
        << object(R"({"kind":"vec","type":"vec<i8>","length":1,"version":1,"elements":[1]})") << "'elements'";
    QTest::newRow("Browse kind missing") << Request(BrowseRoot { acme, s1, QStringLiteral("r"), {}, {} })
                                         << object(R"({"type":"vec<i8>","length":1,"version":1,"elements":[]})")
                                         << "'kind'";
    QTest::newRow("RegionSize negative") << Request(ResizeRegion { acme, s1, 1 }) << object(R"({"size":-4096})")
                                         << "'size'";
    QTest::newRow("Cleanup lock_recovered missing")
        << Request(CleanupRegion { acme, s1 })
        << object(R"({"freed_slots":[],"reclaimed_blocks":0,"reclaimed_bytes":0,"resize_aborted":false})")
        << "'lock_recovered'";
    QTest::newRow("Cleanup freed slot without pid")
        << Request(CleanupRegion { acme, s1 })
        << object(R"({"freed_slots":[{"slot":1,"name":"n"}],"reclaimed_blocks":0,"reclaimed_bytes":0,)"
                  R"("lock_recovered":false,"resize_aborted":false})")
        << "'pid'";
}

void TestServerCodec::malformedResult()
{
    QFETCH(Request, answered);
    QFETCH(QJsonObject, data);
    QFETCH(QString, mentions);
    const auto decoded = decodeResult(answered, data);
    QVERIFY(!decoded.hasValue());
    QCOMPARE(decoded.error().code, ErrorCode::InvalidRequest);
    QVERIFY(!decoded.error().id);
    QVERIFY2(decoded.error().message.contains(mentions), qPrintable(decoded.error().message));
}

// Every Result, Error and push example in docs/protocol.md decodes; a Result's payload decodes as the
// answer to the request example just before it.
void TestServerCodec::documentedReplies()
{
    QFile doc(QStringLiteral(COMMY_PROTOCOL_DOC));
    QVERIFY(doc.open(QIODevice::ReadOnly | QIODevice::Text));
    bool inJson = false;
    std::optional<Request> previous;
    int results = 0;
    int others = 0;
    const QList<QByteArray> lines = doc.readAll().split('\n');
    for (const QByteArray& line : lines) {
        if (line.startsWith("```")) {
            inJson = !inJson && line == "```json";
            previous.reset();
            continue;
        }
        if (!inJson || line.trimmed().isEmpty())
            continue;
        const QString type = QJsonDocument::fromJson(line).object().value(QLatin1String("type")).toString();
        const bool push
            = type == u"VariableChanged" || type == u"StatsUpdate" || type == u"ProcessEvent" || type == u"TreeChanged";
        if (type != u"Result" && type != u"Error" && !push) {
            const auto request = decodeRequest(line); // malformed on purpose in the Errors section
            previous = request ? std::optional<Request>(request->request) : std::nullopt;
            continue;
        }
        const ServerDecode frame = decodeServerFrame(line);
        QVERIFY2(frame.hasValue(), qPrintable(problem(frame) + QLatin1String(": ") + QString::fromUtf8(line)));
        if (const auto* result = std::get_if<ResultFrame>(&*frame)) {
            QVERIFY2(previous, line.constData());
            const auto payload = decodeResult(*previous, result->data);
            QVERIFY2(payload.hasValue(), qPrintable(payload ? QString() : payload.error().message));
            ++results;
        } else {
            ++others;
        }
        previous.reset();
    }
    QVERIFY(results >= int(std::variant_size_v<Request>));
    QVERIFY(others >= 6);
}

// Random byte mutations of valid server frames: whatever decodes re-encodes to the same value.
void TestServerCodec::mutatedFramesNeverCrash()
{
    const QByteArray seeds[] = {
        encodePush(VariableChanged { acme, s1, v, QByteArray("hello"), 3, 7, true }),
        encodeError(RequestId(qint64(5)), Error { ErrorCode::RateLimited, QStringLiteral("wait"), 30 }),
        encodeResult(RequestId(QStringLiteral("r9")), ReadResult { QByteArray("hi"), 2 }),
        encodePush(StatsUpdate { acme, s1, { 1, 2, 3, 4, 5, 0.5, 6, 7, 8, 9, 10, 11, 12 } }),
        encodePush(ProcessEvent { acme, s1, 2, 5120, QStringLiteral("w"), Liveness::Stale }),
    };
    const Request read = ReadVariable { acme, s1, v };
    QRandomGenerator random(20261127);
    int accepted = 0;
    for (int round = 0; round < 10000; ++round) {
        QByteArray input = seeds[random.bounded(int(std::size(seeds)))];
        const int edits = 1 + random.bounded(3);
        for (int e = 0; e < edits && !input.isEmpty(); ++e) {
            const qsizetype at = random.bounded(int(input.size()));
            if (random.bounded(2) == 0)
                input[at] = char(random.bounded(256));
            else
                input.remove(at, 1 + random.bounded(3));
        }
        const ServerDecode decoded = decodeServerFrame(input);
        if (!decoded)
            continue;
        ++accepted;
        QByteArray again;
        if (const auto* push = std::get_if<VariableChanged>(&*decoded)) {
            again = encodePush(*push);
        } else if (const auto* stats = std::get_if<StatsUpdate>(&*decoded)) {
            again = encodePush(*stats);
        } else if (const auto* event = std::get_if<ProcessEvent>(&*decoded)) {
            again = encodePush(*event);
        } else if (const auto* tree = std::get_if<TreeChanged>(&*decoded)) {
            again = encodePush(*tree);
        } else if (const auto* error = std::get_if<ErrorFrame>(&*decoded)) {
            again = encodeError(error->id, error->error);
        } else {
            const auto& result = std::get<ResultFrame>(*decoded);
            const auto payload = decodeResult(read, result.data);
            if (!payload)
                continue;
            again = encodeResult(result.id, *payload);
            const ServerDecode reread = decodeServerFrame(again);
            QVERIFY(reread.hasValue());
            QVERIFY(decodeResult(read, std::get<ResultFrame>(*reread).data).value() == *payload);
            continue;
        }
        const ServerDecode reread = decodeServerFrame(again);
        QVERIFY(reread.hasValue());
        QVERIFY(*reread == *decoded);
    }
    QVERIFY(accepted > 0);
}

QTEST_GUILESS_MAIN(TestServerCodec)
#include "tst_server_codec.moc"
