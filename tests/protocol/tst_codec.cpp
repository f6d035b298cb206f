// The wire codec on raw bytes, no socket: every request decodes to its typed value and survives an
// encode/decode round trip, every reply and push encodes to exact JSON, and every malformed frame is
// rejected with INVALID_REQUEST, echoing the id whenever it was readable.

#include "canonical_write.h"

#include <commy/protocol/codec.h>
#include <commy/protocol/names.h>

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QtTest>

using namespace commy::protocol;

Q_DECLARE_METATYPE(commy::protocol::Request)

namespace {

QByteArray frame(const char* type, const char* data, const char* id = R"("r1")")
{
    return QByteArray(R"({"type":")") + type + R"(","id":)" + id + R"(,"data":)" + data + "}";
}

QJsonValue idJson(const std::optional<RequestId>& id)
{
    if (!id)
        return QJsonValue(QJsonValue::Null);
    return std::visit([](const auto& value) { return QJsonValue(value); }, *id);
}

// QVERIFY2 evaluates its message even when the check passes.
QString problem(const DecodeResult& result) { return result.hasValue() ? QString() : result.error().message; }

QString longName(qsizetype length) { return QString(length, QLatin1Char('n')); }

} // namespace

class TestCodec : public QObject {
    Q_OBJECT

private slots:
    void requestRoundTrip_data();
    void requestRoundTrip();
    void integerIdIsEchoedAsInteger();
    void replyEncoding_data();
    void replyEncoding();
    void writeShortcutAgreesWithTheGeneralDecoder_data();
    void writeShortcutAgreesWithTheGeneralDecoder();
    void sharedPushEncodingMatchesEncodePush_data();
    void sharedPushEncodingMatchesEncodePush();
    void malformed_data();
    void malformed();
    void names_data();
    void names();
    void errorCodeNames();
    void mutatedFramesNeverCrash();
    void documentedExamples();
};

void TestCodec::requestRoundTrip_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<Request>("expected");

    QTest::newRow("Authenticate api_key")
        << frame("Authenticate", R"({"tenant":"acme","method":"api_key","key":"k-1"})")
        << Request(Authenticate { QStringLiteral("acme"), ApiKeyCredential { QStringLiteral("k-1") }, std::nullopt });
    QTest::newRow("Authenticate password")
        << frame("Authenticate",
               R"({"tenant":"acme","method":"password","username":"ann","password":"p w","client_name":"cli 1"})")
        << Request(Authenticate { QStringLiteral("acme"),
               PasswordCredential { QStringLiteral("ann"), QStringLiteral("p w") }, QStringLiteral("cli 1") });
    QTest::newRow("Authenticate token") << frame("Authenticate", R"({"tenant":"a.b-c_d","method":"token","token":"t"})")
                                        << Request(Authenticate { QStringLiteral("a.b-c_d"),
                                               TokenCredential { QStringLiteral("t") }, std::nullopt });
    QTest::newRow("Authenticate server key")
        << frame("Authenticate", R"({"method":"api_key","key":"admin"})")
        << Request(Authenticate { std::nullopt, ApiKeyCredential { QStringLiteral("admin") }, std::nullopt });
    QTest::newRow("Logout") << frame("Logout", R"({"tenant":"acme"})") << Request(Logout { QStringLiteral("acme") });
    QTest::newRow("RefreshToken") << frame("RefreshToken", R"({"tenant":"acme"})")
                                  << Request(RefreshToken { QStringLiteral("acme") });
    QTest::newRow("Heartbeat") << frame("Heartbeat", "{}") << Request(Heartbeat {});
    QTest::newRow("CreateTenant") << frame("CreateTenant", R"({"tenant":"acme"})")
                                  << Request(CreateTenant { QStringLiteral("acme") });
    QTest::newRow("DeleteTenant") << frame("DeleteTenant", R"({"tenant":"acme"})")
                                  << Request(DeleteTenant { QStringLiteral("acme") });
    QTest::newRow("ListTenants") << frame("ListTenants", "{}") << Request(ListTenants {});
    QTest::newRow("CreateKey") << frame("CreateKey", R"({"tenant":"acme","scopes":["read","subscribe"]})")
                               << Request(CreateKey {
                                      QStringLiteral("acme"), { Scope::Read, Scope::Subscribe }, std::nullopt });
    QTest::newRow("CreateKey all scopes named")
        << frame("CreateKey", R"({"tenant":"acme","scopes":["admin","map","write","read","subscribe"],"name":"ops"})")
        << Request(CreateKey { QStringLiteral("acme"),
               { Scope::Admin, Scope::Map, Scope::Write, Scope::Read, Scope::Subscribe }, QStringLiteral("ops") });
    QTest::newRow("RevokeKey") << frame("RevokeKey", R"({"tenant":"acme","key_id":"k7"})")
                               << Request(RevokeKey { QStringLiteral("acme"), QStringLiteral("k7") });
    QTest::newRow("ListKeys") << frame("ListKeys", R"({"tenant":"acme"})")
                              << Request(ListKeys { QStringLiteral("acme") });
    QTest::newRow("CreateService") << frame("CreateService", R"({"tenant":"acme","service":"s1"})")
                                   << Request(CreateService {
                                          QStringLiteral("acme"), QStringLiteral("s1"), std::nullopt, std::nullopt });
    QTest::newRow("CreateService sized") << frame(
        "CreateService", R"({"tenant":"acme","service":"s1","size":1048576,"limit":9007199254740991})")
                                         << Request(CreateService { QStringLiteral("acme"), QStringLiteral("s1"),
                                                1048576, qint64(9007199254740991) });
    QTest::newRow("GetService") << frame("GetService", R"({"tenant":"acme","service":"s1"})")
                                << Request(GetService { QStringLiteral("acme"), QStringLiteral("s1") });
    QTest::newRow("DeleteService") << frame("DeleteService", R"({"tenant":"acme","service":"s1"})")
                                   << Request(DeleteService { QStringLiteral("acme"), QStringLiteral("s1") });
    QTest::newRow("ListServices") << frame("ListServices", R"({"tenant":"acme"})")
                                  << Request(ListServices { QStringLiteral("acme") });
    QTest::newRow("AllocateVariable") << frame(
        "AllocateVariable", R"({"tenant":"acme","service":"s1","variable":"v","value":"AAEC/w=="})")
                                      << Request(AllocateVariable { QStringLiteral("acme"), QStringLiteral("s1"),
                                             QStringLiteral("v"), QByteArray("\x00\x01\x02\xff", 4) });
    QTest::newRow("AllocateVariable empty value")
        << frame("AllocateVariable", R"({"tenant":"acme","service":"s1","variable":"v","value":""})")
        << Request(
               AllocateVariable { QStringLiteral("acme"), QStringLiteral("s1"), QStringLiteral("v"), QByteArray() });
    QTest::newRow("WriteVariable") << frame(
        "WriteVariable", R"({"tenant":"acme","service":"s1","variable":"v","value":"aGVsbG8="})")
                                   << Request(WriteVariable { QStringLiteral("acme"), QStringLiteral("s1"),
                                          QStringLiteral("v"), QByteArray("hello"), std::nullopt });
    QTest::newRow("WriteVariable expected_version")
        << frame("WriteVariable",
               R"({"tenant":"acme","service":"s1","variable":"v","value":"aGk=","expected_version":0})")
        << Request(WriteVariable {
               QStringLiteral("acme"), QStringLiteral("s1"), QStringLiteral("v"), QByteArray("hi"), 0 });
    QTest::newRow("ReadVariable") << frame("ReadVariable", R"({"tenant":"acme","service":"s1","variable":"v"})")
                                  << Request(ReadVariable {
                                         QStringLiteral("acme"), QStringLiteral("s1"), QStringLiteral("v") });
    QTest::newRow("DeallocateVariable") << frame(
        "DeallocateVariable", R"({"tenant":"acme","service":"s1","variable":"v"})")
                                        << Request(DeallocateVariable {
                                               QStringLiteral("acme"), QStringLiteral("s1"), QStringLiteral("v") });
    QTest::newRow("ListVariables") << frame("ListVariables", R"({"tenant":"acme","service":"s1"})")
                                   << Request(ListVariables { QStringLiteral("acme"), QStringLiteral("s1") });
    QTest::newRow("Subscribe all") << frame("Subscribe", R"({"tenant":"acme","service":"s1"})")
                                   << Request(Subscribe { QStringLiteral("acme"), QStringLiteral("s1"), std::nullopt });
    QTest::newRow("Subscribe some") << frame("Subscribe", R"({"tenant":"acme","service":"s1","variables":["a","b"]})")
                                    << Request(Subscribe { QStringLiteral("acme"), QStringLiteral("s1"),
                                           std::vector<QString> { QStringLiteral("a"), QStringLiteral("b") } });
    QTest::newRow("Subscribe none listed")
        << frame("Subscribe", R"({"tenant":"acme","service":"s1","variables":[]})")
        << Request(Subscribe { QStringLiteral("acme"), QStringLiteral("s1"), std::vector<QString> {} });
    QTest::newRow("Unsubscribe all") << frame("Unsubscribe", R"({"tenant":"acme","service":"s1"})")
                                     << Request(
                                            Unsubscribe { QStringLiteral("acme"), QStringLiteral("s1"), std::nullopt });
    QTest::newRow("Unsubscribe some") << frame("Unsubscribe", R"({"tenant":"acme","service":"s1","variables":["a"]})")
                                      << Request(Unsubscribe { QStringLiteral("acme"), QStringLiteral("s1"),
                                             std::vector<QString> { QStringLiteral("a") } });
    QTest::newRow("GetServiceFilePath") << frame("GetServiceFilePath", R"({"tenant":"acme","service":"s1"})")
                                        << Request(GetServiceFilePath { QStringLiteral("acme"), QStringLiteral("s1") });
    QTest::newRow("CreateUser") << frame(
        "CreateUser", R"({"tenant":"acme","username":"ann","password":"8 chars!","scopes":["read","write"]})")
                                << Request(CreateUser { QStringLiteral("acme"), QStringLiteral("ann"),
                                       QStringLiteral("8 chars!"), { Scope::Read, Scope::Write } });
    QTest::newRow("CreateUser longest password") << frame("CreateUser",
        QByteArray(R"({"tenant":"acme","username":"a.b","scopes":["admin"],"password":")") + QByteArray(4096, 'p')
            + "\"}")
                                                 << Request(CreateUser { QStringLiteral("acme"), QStringLiteral("a.b"),
                                                        QString(4096, QLatin1Char('p')), { Scope::Admin } });
    QTest::newRow("DeleteUser") << frame("DeleteUser", R"({"tenant":"acme","username":"ann"})")
                                << Request(DeleteUser { QStringLiteral("acme"), QStringLiteral("ann") });
    QTest::newRow("GetBrokerInfo") << frame("GetBrokerInfo", "{}") << Request(GetBrokerInfo {});
    QTest::newRow("GetTree all") << frame("GetTree", "{}") << Request(GetTree { std::nullopt });
    QTest::newRow("GetTree tenant") << frame("GetTree", R"({"tenant":"acme"})")
                                    << Request(GetTree { QStringLiteral("acme") });
    QTest::newRow("GetRegionStats") << frame("GetRegionStats", R"({"tenant":"acme","service":"s1"})")
                                    << Request(GetRegionStats { QStringLiteral("acme"), QStringLiteral("s1") });
    QTest::newRow("GetBlockMap") << frame("GetBlockMap", R"({"tenant":"acme","service":"s1"})")
                                 << Request(GetBlockMap {
                                        QStringLiteral("acme"), QStringLiteral("s1"), std::nullopt, std::nullopt });
    QTest::newRow("GetBlockMap paged") << frame(
        "GetBlockMap", R"({"tenant":"acme","service":"s1","offset":20000,"limit":100000})")
                                       << Request(GetBlockMap {
                                              QStringLiteral("acme"), QStringLiteral("s1"), 20000, 100000 });
    QTest::newRow("GetProcesses") << frame("GetProcesses", R"({"tenant":"acme","service":"s1"})")
                                  << Request(GetProcesses { QStringLiteral("acme"), QStringLiteral("s1") });
    QTest::newRow("GetSessions") << frame("GetSessions", "{}") << Request(GetSessions {});
    QTest::newRow("BrowseRoot") << frame("BrowseRoot", R"({"tenant":"acme","service":"s1","root":"samples"})")
                                << Request(BrowseRoot { QStringLiteral("acme"), QStringLiteral("s1"),
                                       QStringLiteral("samples"), std::nullopt, std::nullopt });
    QTest::newRow("BrowseRoot any text, paged")
        << frame("BrowseRoot", R"({"tenant":"acme","service":"s1","root":"a b/c","offset":0,"limit":1000})")
        << Request(BrowseRoot { QStringLiteral("acme"), QStringLiteral("s1"), QStringLiteral("a b/c"), 0, 1000 });
    QTest::newRow("Watch") << frame(
        "Watch", R"({"targets":[{"tenant":"acme","service":"s1"},{"tenant":"b","service":"s2"}],"interval_ms":100})")
                           << Request(Watch { { { QStringLiteral("acme"), QStringLiteral("s1") },
                                                  { QStringLiteral("b"), QStringLiteral("s2") } },
                                  100 });
    QTest::newRow("Watch stop") << frame("Watch", R"({"targets":[],"interval_ms":60000})")
                                << Request(Watch { {}, 60000 });
    QTest::newRow("ResizeRegion") << frame("ResizeRegion", R"({"tenant":"acme","service":"s1","size":4194304})")
                                  << Request(ResizeRegion { QStringLiteral("acme"), QStringLiteral("s1"), 4194304 });
    QTest::newRow("ShrinkRegion") << frame("ShrinkRegion", R"({"tenant":"acme","service":"s1"})")
                                  << Request(ShrinkRegion { QStringLiteral("acme"), QStringLiteral("s1") });
    QTest::newRow("CleanupRegion") << frame("CleanupRegion", R"({"tenant":"acme","service":"s1"})")
                                   << Request(CleanupRegion { QStringLiteral("acme"), QStringLiteral("s1") });
    QTest::newRow("64-char names") << frame("Logout", QByteArray(R"({"tenant":")" + longName(64).toLatin1() + R"("})"))
                                   << Request(Logout { longName(64) });
    QTest::newRow("whitespace and key order")
        << QByteArray(" { \"data\" : { \"tenant\" : \"acme\" } ,\n \"id\" : \"r1\", \"type\" : \"ListKeys\" } ")
        << Request(ListKeys { QStringLiteral("acme") });
}

void TestCodec::requestRoundTrip()
{
    QFETCH(QByteArray, input);
    QFETCH(Request, expected);

    const DecodeResult decoded = decodeRequest(input);
    QVERIFY2(decoded.hasValue(), qPrintable(problem(decoded)));
    QCOMPARE(decoded->id, RequestId(QStringLiteral("r1")));
    QCOMPARE(decoded->request.index(), expected.index());
    QVERIFY(decoded->request == expected);
    // The row's name starts with the wire type, so the type table and the variant agree.
    QVERIFY(QString::fromLatin1(QTest::currentDataTag()).startsWith(requestTypeName(expected))
        || QByteArray(QTest::currentDataTag()).contains("names")
        || QByteArray(QTest::currentDataTag()).contains("order"));

    const QByteArray encoded = encodeRequest(decoded->id, decoded->request);
    const DecodeResult again = decodeRequest(encoded);
    QVERIFY2(again.hasValue(), qPrintable(problem(again)));
    QVERIFY(*again == *decoded);
    QCOMPARE(
        QJsonDocument::fromJson(encoded).object().value(QLatin1String("type")).toString(), requestTypeName(expected));
}

void TestCodec::integerIdIsEchoedAsInteger()
{
    const DecodeResult decoded = decodeRequest(frame("Heartbeat", "{}", "42"));
    QVERIFY(decoded.hasValue());
    QCOMPARE(decoded->id, RequestId(qint64(42)));
    QCOMPARE(encodeResult(decoded->id, EmptyResult {}), QByteArray(R"({"data":{},"id":42,"type":"Result"})"));

    const DecodeResult negative = decodeRequest(frame("Heartbeat", "{}", "-9007199254740991"));
    QVERIFY(negative.hasValue());
    QCOMPARE(negative->id, RequestId(qint64(-9007199254740991)));
    // A string id that looks like a number stays a string.
    const DecodeResult text = decodeRequest(frame("Heartbeat", "{}", R"("42")"));
    QVERIFY(text.hasValue());
    QCOMPARE(encodeResult(text->id, EmptyResult {}), QByteArray(R"({"data":{},"id":"42","type":"Result"})"));
}

void TestCodec::replyEncoding_data()
{
    QTest::addColumn<QByteArray>("actual");
    QTest::addColumn<QByteArray>("expected");
    const RequestId id = QStringLiteral("r1");

    QTest::newRow("EmptyResult") << encodeResult(id, EmptyResult {})
                                 << QByteArray(R"({"data":{},"id":"r1","type":"Result"})");
    QTest::newRow("AuthenticateResult")
        << encodeResult(id, AuthenticateResult { QStringLiteral("tok"), 3600, { Scope::Read, Scope::Write } })
        << QByteArray(
               R"({"data":{"expires_in":3600,"scopes":["read","write"],"token":"tok"},"id":"r1","type":"Result"})");
    QTest::newRow("AuthenticateResult server_admin")
        << encodeResult(qint64(7), AuthenticateResult { QStringLiteral("t"), 60, { Scope::ServerAdmin } })
        << QByteArray(R"({"data":{"expires_in":60,"scopes":["server_admin"],"token":"t"},"id":7,"type":"Result"})");
    QTest::newRow("HeartbeatResult") << encodeResult(id, HeartbeatResult { 1764147600123 })
                                     << QByteArray(
                                            R"({"data":{"server_time":1764147600123},"id":"r1","type":"Result"})");
    QTest::newRow("ListTenantsResult")
        << encodeResult(id, ListTenantsResult { { { QStringLiteral("a"), 2 }, { QStringLiteral("b"), 0 } } })
        << QByteArray(R"({"data":{"tenants":[{"name":"a","services":2},{"name":"b","services":0}]},"id":"r1",)"
                      R"("type":"Result"})");
    QTest::newRow("ListTenantsResult empty")
        << encodeResult(id, ListTenantsResult {}) << QByteArray(R"({"data":{"tenants":[]},"id":"r1","type":"Result"})");
    QTest::newRow("CreateKeyResult") << encodeResult(
        id, CreateKeyResult { QStringLiteral("k7"), QStringLiteral("s3cr") })
                                     << QByteArray(
                                            R"({"data":{"key":"s3cr","key_id":"k7"},"id":"r1","type":"Result"})");
    QTest::newRow("ListKeysResult") << encodeResult(id,
        ListKeysResult { { { QStringLiteral("k1"), QStringLiteral("ops"), { Scope::Admin } },
            { QStringLiteral("k2"), std::nullopt, { Scope::Read, Scope::Map } } } })
                                    << QByteArray(
                                           R"({"data":{"keys":[{"key_id":"k1","name":"ops","scopes":["admin"]},)"
                                           R"({"key_id":"k2","scopes":["read","map"]}]},"id":"r1","type":"Result"})");
    QTest::newRow("ServiceInfo") << encodeResult(id, ServiceInfo { QStringLiteral("s1"), 65536, 1048576, 3 })
                                 << QByteArray(R"({"data":{"limit":1048576,"name":"s1","size":65536,"variables":3},)"
                                               R"("id":"r1","type":"Result"})");
    QTest::newRow("ListServicesResult")
        << encodeResult(id, ListServicesResult { { { QStringLiteral("s1"), 4096, 8192, 0 } } })
        << QByteArray(R"({"data":{"services":[{"limit":8192,"name":"s1","size":4096,"variables":0}]},"id":"r1",)"
                      R"("type":"Result"})");
    QTest::newRow("WriteResult") << encodeResult(id, WriteResult { 12 })
                                 << QByteArray(R"({"data":{"version":12},"id":"r1","type":"Result"})");
    QTest::newRow("ReadResult") << encodeResult(id, ReadResult { QByteArray("\x00\xfe", 2), 5 })
                                << QByteArray(R"({"data":{"value":"AP4=","version":5},"id":"r1","type":"Result"})");
    QTest::newRow("ListVariablesResult")
        << encodeResult(id, ListVariablesResult { { { QStringLiteral("v"), 8, 2 } } })
        << QByteArray(R"({"data":{"variables":[{"name":"v","size":8,"version":2}]},"id":"r1","type":"Result"})");
    QTest::newRow("ServiceFilePathResult")
        << encodeResult(id, ServiceFilePathResult { QStringLiteral("/d/tenants/acme/s1.region"), 65536 })
        << QByteArray(R"({"data":{"path":"/d/tenants/acme/s1.region","size":65536},"id":"r1","type":"Result"})");
    QTest::newRow("Error") << encodeError(id,
        Error { ErrorCode::NotFound, QStringLiteral("no service s1"),
            {} }) << QByteArray(R"({"data":{"code":"NOT_FOUND","message":"no service s1"},"id":"r1","type":"Error"})");
    QTest::newRow("Error retry_after")
        << encodeError(id, Error { ErrorCode::RateLimited, QStringLiteral("slow down"), 300 })
        << QByteArray(R"({"data":{"code":"RATE_LIMITED","message":"slow down","retry_after":300},"id":"r1",)"
                      R"("type":"Error"})");
    QTest::newRow("Error without id") << encodeError(std::nullopt,
        Error { ErrorCode::InvalidRequest, QStringLiteral("bad"),
            {} }) << QByteArray(R"({"data":{"code":"INVALID_REQUEST","message":"bad"},"id":null,"type":"Error"})");
    QTest::newRow("DecodeError") << encodeError(
        DecodeError { qint64(3), ErrorCode::InvalidRequest, QStringLiteral("m") })
                                 << QByteArray(
                                        R"({"data":{"code":"INVALID_REQUEST","message":"m"},"id":3,"type":"Error"})");
    QTest::newRow("VariableChanged")
        << encodePush(VariableChanged {
               QStringLiteral("acme"), QStringLiteral("s1"), QStringLiteral("v"), QByteArray("hi"), 9, 41, false })
        << QByteArray(R"({"data":{"seq":41,"service":"s1","tenant":"acme","value":"aGk=","variable":"v",)"
                      R"("version":9},"type":"VariableChanged"})");
    QTest::newRow("VariableChanged coalesced")
        << encodePush(VariableChanged {
               QStringLiteral("acme"), QStringLiteral("s1"), QStringLiteral("v"), QByteArray(), 10, 45, true })
        << QByteArray(R"({"data":{"coalesced":true,"seq":45,"service":"s1","tenant":"acme","value":"",)"
                      R"("variable":"v","version":10},"type":"VariableChanged"})");
    QTest::newRow("WriteResult, id needing escapes") << encodeResult(RequestId(QStringLiteral("a \"quoted\" id")),
        WriteResult { 7 }) << QByteArray(R"({"data":{"version":7},"id":"a \"quoted\" id","type":"Result"})");
    QTest::newRow("EmptyResult, negative integer id")
        << encodeResult(RequestId(qint64(-5)), EmptyResult {}) << QByteArray(R"({"data":{},"id":-5,"type":"Result"})");
    QTest::newRow("VariableChanged largest numbers, binary value")
        << encodePush(VariableChanged { QStringLiteral("A-z_0.9"), QStringLiteral("s"), QStringLiteral("v"),
               QByteArray("\x00\xff\x10", 3), kMaxWireInteger, kMaxWireInteger, false })
        << QByteArray(R"({"data":{"seq":9007199254740991,"service":"s","tenant":"A-z_0.9","value":"AP8Q",)"
                      R"("variable":"v","version":9007199254740991},"type":"VariableChanged"})");
    QTest::newRow("VariableChanged one-byte value (two pads)")
        << encodePush(VariableChanged {
               QStringLiteral("t"), QStringLiteral("s"), QStringLiteral("v"), QByteArray("\xfb"), 1, 1, false })
        << QByteArray(R"({"data":{"seq":1,"service":"s","tenant":"t","value":"+w==","variable":"v",)"
                      R"("version":1},"type":"VariableChanged"})");
    QByteArray everyByte(256 + 2, Qt::Uninitialized); // every value, and a length that needs padding
    for (int i = 0; i < everyByte.size(); ++i)
        everyByte[i] = char(i * 37 + 11);
    QTest::newRow("VariableChanged every byte value, as QByteArray::toBase64 writes it")
        << encodePush(VariableChanged {
               QStringLiteral("t"), QStringLiteral("s"), QStringLiteral("v"), everyByte, 1, 1, false })
        << (R"({"data":{"seq":1,"service":"s","tenant":"t","value":")" + everyByte.toBase64()
               + R"(","variable":"v","version":1},"type":"VariableChanged"})");
    // A name the codec would refuse still encodes correctly (escaped), through the general path.
    QTest::newRow("VariableChanged escaped name")
        << encodePush(VariableChanged {
               QStringLiteral("a\"b"), QStringLiteral("s"), QStringLiteral("v"), QByteArray("x"), 1, 2, false })
        << QByteArray(R"({"data":{"seq":2,"service":"s","tenant":"a\"b","value":"eA==","variable":"v",)"
                      R"("version":1},"type":"VariableChanged"})");
    QTest::newRow("BrokerInfoResult")
        << encodeResult(id, BrokerInfoResult { QStringLiteral("0.1.0"), 5, 2, 1, 3 })
        << QByteArray(R"({"data":{"sessions":2,"subscriptions":3,"tenants":1,"uptime_ms":5,"version":"0.1.0"},)"
                      R"("id":"r1","type":"Result"})");
    QTest::newRow("TreeResult")
        << encodeResult(id,
               TreeResult { { { QStringLiteral("acme"),
                   { { QStringLiteral("s1"), 4096, 8192, 1024,
                       { { QStringLiteral("v"), RootKind::Deque, QStringLiteral("deque<i32>"), 3, 7 } } } } } } })
        << QByteArray(
               R"({"data":{"tenants":[{"name":"acme","services":[{"limit":8192,"name":"s1","roots":[)"
               R"({"kind":"deque","name":"v","size":3,"type":"deque<i32>","version":7}],"size":4096,"used":1024}]}]},)"
               R"("id":"r1","type":"Result"})");
    QTest::newRow("RegionStats")
        << encodeResult(id, RegionStats { 4096, 8192, 1024, 3072, 2048, 0.25, 4, 2, 1, 1, 0, 0, 3 })
        << QByteArray(R"({"data":{"cleanups":3,"fragmentation":0.25,"free":3072,"free_blocks":2,"generation":1,)"
                      R"("grows":1,"largest_free":2048,"limit":8192,"lock_recoveries":0,"shrinks":0,"size":4096,)"
                      R"("used":1024,"used_blocks":4},"id":"r1","type":"Result"})");
    QTest::newRow("BlockMapResult")
        << encodeResult(id, BlockMapResult { 9, { { 16384, 48, false, 2 }, { 16432, 96, true, -1 } } })
        << QByteArray(R"({"data":{"blocks":[{"free":false,"offset":16384,"owner":2,"size":48},)"
                      R"({"free":true,"offset":16432,"owner":-1,"size":96}],"total":9},"id":"r1","type":"Result"})");
    QTest::newRow("BlockMapResult empty, integer id") << encodeResult(qint64(-3),
        BlockMapResult { 0, {} }) << QByteArray(R"({"data":{"blocks":[],"total":0},"id":-3,"type":"Result"})");
    QTest::newRow("BlockMapResult largest numbers")
        << encodeResult(
               QStringLiteral("q\"x"), BlockMapResult { kMaxWireInteger, { { kMaxWireInteger, 1, true, 127 } } })
        << QByteArray(R"({"data":{"blocks":[{"free":true,"offset":9007199254740991,"owner":127,"size":1}],)"
                      R"("total":9007199254740991},"id":"q\"x","type":"Result"})");
    QTest::newRow("ProcessesResult")
        << encodeResult(id, ProcessesResult { { { 1, 4211, QStringLiteral("commyd"), 120, Liveness::Stale } } })
        << QByteArray(R"({"data":{"processes":[{"heartbeat_age_ms":120,"liveness":"stale","name":"commyd",)"
                      R"("pid":4211,"slot":1}]},"id":"r1","type":"Result"})");
    QTest::newRow("SessionsResult")
        << encodeResult(id,
               SessionsResult { { { 7, QStringLiteral("127.0.0.1:5"), QStringLiteral("cli"),
                                      { QStringLiteral("a"), QStringLiteral("b") }, 1, 10 },
                   { 8, QStringLiteral("[::1]:6"), std::nullopt, {}, 0, 0 } } })
        << QByteArray(R"({"data":{"sessions":[{"client_name":"cli","id":7,"peer":"127.0.0.1:5","queue_bytes":10,)"
                      R"("subscriptions":1,"tenants":["a","b"]},{"id":8,"peer":"[::1]:6","queue_bytes":0,)"
                      R"("subscriptions":0,"tenants":[]}]},"id":"r1","type":"Result"})");
    QTest::newRow("BrowseResult")
        << encodeResult(id,
               BrowseResult { RootKind::HashMap, QStringLiteral("hashmap<i32,string>"), 2, 5,
                   { { 0, QJsonValue(4), QJsonValue(QStringLiteral("x")) }, { 1, QJsonValue(-1), QJsonValue() } } })
        << QByteArray(R"({"data":{"elements":[{"index":0,"key":4,"value":"x"},{"index":1,"key":-1,"value":null}],)"
                      R"("kind":"hashmap","length":2,"type":"hashmap<i32,string>","version":5},"id":"r1",)"
                      R"("type":"Result"})");
    QTest::newRow("RegionSizeResult") << encodeResult(id, RegionSizeResult { 8192 })
                                      << QByteArray(R"({"data":{"size":8192},"id":"r1","type":"Result"})");
    QTest::newRow("CleanupResult")
        << encodeResult(id, CleanupResult { { { 2, 5120, QStringLiteral("w") } }, 3, 4224, true, false })
        << QByteArray(R"({"data":{"freed_slots":[{"name":"w","pid":5120,"slot":2}],"lock_recovered":true,)"
                      R"("reclaimed_blocks":3,"reclaimed_bytes":4224,"resize_aborted":false},"id":"r1",)"
                      R"("type":"Result"})");
    QTest::newRow("StatsUpdate")
        << encodePush(StatsUpdate {
               QStringLiteral("acme"), QStringLiteral("s1"), { 1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10, 11, 12 } })
        << QByteArray(R"({"data":{"service":"s1","stats":{"cleanups":12,"fragmentation":0,"free":4,"free_blocks":7,)"
                      R"("generation":8,"grows":9,"largest_free":5,"limit":2,"lock_recoveries":11,"shrinks":10,)"
                      R"("size":1,"used":3,"used_blocks":6},"tenant":"acme"},"type":"StatsUpdate"})");
    QTest::newRow("ProcessEvent")
        << encodePush(ProcessEvent {
               QStringLiteral("acme"), QStringLiteral("s1"), 2, 5120, QStringLiteral("w"), Liveness::Gone })
        << QByteArray(R"({"data":{"liveness":"gone","name":"w","pid":5120,"service":"s1","slot":2,"tenant":"acme"},)"
                      R"("type":"ProcessEvent"})");
    QTest::newRow("TreeChanged") << encodePush(TreeChanged { QStringLiteral("acme"), QStringLiteral("s1") })
                                 << QByteArray(R"({"data":{"service":"s1","tenant":"acme"},"type":"TreeChanged"})");
    QTest::newRow("Request encoding") << encodeRequest(
        id, ReadVariable { QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c") })
                                      << QByteArray(R"({"data":{"service":"b","tenant":"a","variable":"c"},"id":"r1",)"
                                                    R"("type":"ReadVariable"})");
    // WriteVariable is written directly (a client's hot path): the same bytes as QJsonDocument's.
    QTest::newRow("Request encoding, WriteVariable")
        << encodeRequest(qint64(7),
               WriteVariable { QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c"),
                   QByteArray("\x00\xffz", 3), std::nullopt })
        << QByteArray(R"({"data":{"service":"b","tenant":"a","value":"AP96","variable":"c"},"id":7,)"
                      R"("type":"WriteVariable"})");
    QTest::newRow("Request encoding, WriteVariable with expected_version")
        << encodeRequest(id,
               WriteVariable { QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c"), QByteArray("hi"), 12 })
        << QByteArray(R"({"data":{"expected_version":12,"service":"b","tenant":"a","value":"aGk=","variable":"c"},)"
                      R"("id":"r1","type":"WriteVariable"})");
    QTest::newRow("Request encoding, WriteVariable with an id needing escapes")
        << encodeRequest(RequestId(QStringLiteral("a \"q\"")),
               WriteVariable {
                   QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c"), QByteArray(), std::nullopt })
        << QByteArray(R"({"data":{"service":"b","tenant":"a","value":"","variable":"c"},"id":"a \"q\"",)"
                      R"("type":"WriteVariable"})");
}

void TestCodec::replyEncoding()
{
    QFETCH(QByteArray, actual);
    QFETCH(QByteArray, expected);
    QCOMPARE(actual, expected);
}

void TestCodec::writeShortcutAgreesWithTheGeneralDecoder_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<bool>("shortcut"); // read without a JSON document
    const QByteArray head = R"({"data":{)";
    const QByteArray body = R"("service":"line1","tenant":"acme","value":"AAAQQg==","variable":"speed"},"id":)";
    const QByteArray tail = R"(,"type":"WriteVariable"})";
    QTest::newRow("canonical, integer id") << head + body + "16" + tail << true;
    QTest::newRow("canonical, negative id") << head + body + "-9007199254740991" + tail << true;
    QTest::newRow("canonical, string id") << head + body + R"("w-16")" + tail << true;
    QTest::newRow("canonical, expected_version") << head + R"("expected_version":3,)" + body + "0" + tail << true;
    QTest::newRow("canonical, empty value") << QByteArray(
        R"({"data":{"service":"s","tenant":"t","value":"","variable":"v"},"id":1,"type":"WriteVariable"})")
                                            << true;
    QTest::newRow("as encodeRequest writes it") << encodeRequest(qint64(5),
        WriteVariable { QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c"), QByteArray("xyz"), 9 })
                                                << true;
    // Not the canonical form: the general decoder answers (accepting or rejecting).
    QTest::newRow("spaces") << QByteArray(head + " " + body + "16" + tail) << false;
    QTest::newRow("keys in another order") << QByteArray(
        R"({"type":"WriteVariable","id":16,"data":{"tenant":"acme","service":"line1","variable":"speed",)"
        R"("value":"AAAQQg=="}})") << false;
    QTest::newRow("trailing newline") << head + body + "16" + tail + "\n" << false;
    QTest::newRow("id 1e3") << head + body + "1e3" + tail << false;
    QTest::newRow("id 16.0") << head + body + "16.0" + tail << false;
    QTest::newRow("id 007") << head + body + "007" + tail << false;
    QTest::newRow("id -0") << head + body + "-0" + tail << false;
    QTest::newRow("id beyond 2^53") << head + body + "9007199254740992" + tail << false;
    QTest::newRow("empty string id") << head + body + R"("")" + tail << false;
    QTest::newRow("escaped id") << head + body + R"("a\"b")" + tail << false;
    QTest::newRow("negative expected_version") << head + R"("expected_version":-1,)" + body + "1" + tail << false;
    QTest::newRow("name ..") << QByteArray(
        R"({"data":{"service":"..","tenant":"t","value":"","variable":"v"},"id":1,"type":"WriteVariable"})")
                             << false;
    QTest::newRow("name of 65 characters") << QByteArray(R"({"data":{"service":")" + QByteArray(65, 's')
        + R"(","tenant":"t","value":"","variable":"v"},"id":1,"type":"WriteVariable"})")
                                           << false;
    QTest::newRow("value not a multiple of 4") << QByteArray(
        R"({"data":{"service":"s","tenant":"t","value":"AAA","variable":"v"},"id":1,"type":"WriteVariable"})")
                                               << false;
    QTest::newRow("padding inside the value") << QByteArray(
        R"({"data":{"service":"s","tenant":"t","value":"A=AA","variable":"v"},"id":1,"type":"WriteVariable"})")
                                              << false;
    QTest::newRow("another type") << QByteArray(
        R"({"data":{"service":"s","tenant":"t","value":"","variable":"v"},"id":1,"type":"ReadVariable"})")
                                  << false;
}

void TestCodec::writeShortcutAgreesWithTheGeneralDecoder()
{
    QFETCH(QByteArray, frame);
    QFETCH(bool, shortcut);
    const auto fast = detail::decodeCanonicalWrite(frame);
    QCOMPARE(fast.has_value(), shortcut);
    const DecodeResult general = detail::decodeRequestInGeneral(frame);
    const DecodeResult decoded = decodeRequest(frame);
    QCOMPARE(decoded.hasValue(), general.hasValue());
    if (general.hasValue())
        QVERIFY(*decoded == *general);
    else
        QCOMPARE(decoded.error().message, general.error().message);
    if (fast) {
        if (!general.hasValue())
            QFAIL(qPrintable(
                QStringLiteral("the shortcut accepted what the decoder rejects: ") + general.error().message));
        QVERIFY(*fast == *general);
    }
}

void TestCodec::sharedPushEncodingMatchesEncodePush_data()
{
    QTest::addColumn<QString>("tenant");
    QTest::addColumn<QByteArray>("value");
    QTest::newRow("plain names") << QStringLiteral("acme") << QByteArray("\x00\x01hello", 7);
    QTest::newRow("empty value") << QStringLiteral("acme") << QByteArray();
    QTest::newRow("a name that needs escaping") << QStringLiteral("a\"b") << QByteArray("x");
}

void TestCodec::sharedPushEncodingMatchesEncodePush()
{
    QFETCH(QString, tenant);
    QFETCH(QByteArray, value);
    const VariableChanged base { tenant, QStringLiteral("s1"), QStringLiteral("v"), value, 77, 0, false };
    const PushEncoding shared(base);
    // One encoding, many subscriptions: each seq and flag gives encodePush's bytes, appended after
    // whatever the buffer already holds.
    for (const qint64 seq : { qint64(1), qint64(9), qint64(10), qint64(12345), kMaxWireInteger }) {
        for (const bool coalesced : { false, true }) {
            VariableChanged push = base;
            push.seq = seq;
            push.coalesced = coalesced;
            const QByteArray expected = encodePush(push);
            QCOMPARE(shared.encode(seq, coalesced), expected);
            QCOMPARE(shared.sizeFor(seq, coalesced), expected.size());
            QByteArray out("prefix");
            shared.appendTo(out, seq, coalesced);
            QCOMPARE(out, "prefix" + expected);
            const QJsonObject data = QJsonDocument::fromJson(expected).object().value(QLatin1String("data")).toObject();
            QCOMPARE(data.value(QLatin1String("seq")).toInteger(), seq);
            QCOMPARE(data.value(QLatin1String("coalesced")).toBool(), coalesced);
            QCOMPARE(data.value(QLatin1String("tenant")).toString(), tenant);
        }
    }
}

void TestCodec::malformed_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QJsonValue>("expectedId");
    QTest::addColumn<QString>("mentions");
    const QJsonValue none(QJsonValue::Null);
    const QJsonValue r1(QStringLiteral("r1"));
    const QByteArray v = R"("tenant":"acme","service":"s1","variable":"v")";

    // The envelope.
    QTest::newRow("empty frame") << QByteArray() << none << "JSON";
    QTest::newRow("not JSON") << QByteArray("hello") << none << "JSON";
    QTest::newRow("truncated JSON") << QByteArray(R"({"type":"Heartbeat","id":"r1","data":{})") << none << "JSON";
    QTest::newRow("JSON array") << QByteArray(R"([{"type":"Heartbeat","id":"r1","data":{}}])") << none << "object";
    QTest::newRow("JSON string") << QByteArray(R"("Heartbeat")") << none << "JSON";
    QTest::newRow("non-UTF-8") << QByteArray("{\"type\":\"Heartbeat\",\"id\":\"r\xff\xfe\",\"data\":{}}") << none
                               << "JSON";
    QTest::newRow("overlong UTF-8") << QByteArray("{\"type\":\"Heartbeat\",\"id\":\"\xc0\xaf\",\"data\":{}}") << none
                                    << "JSON";
    QTest::newRow("deeply nested") << QByteArray(100000, '[') + QByteArray(100000, ']') << none << "JSON";
    QTest::newRow("deeply nested data") << QByteArray(R"({"type":"Heartbeat","id":"r1","data":{"x":)")
            + QByteArray(5000, '[') + QByteArray(5000, ']')
            + "}}" << none << "JSON";
    QTest::newRow("missing id") << QByteArray(R"({"type":"Heartbeat","data":{}})") << none << "'id'";
    QTest::newRow("id object") << frame("Heartbeat", "{}", "{}") << none << "'id'";
    QTest::newRow("id null") << frame("Heartbeat", "{}", "null") << none << "'id'";
    QTest::newRow("id bool") << frame("Heartbeat", "{}", "true") << none << "'id'";
    QTest::newRow("id fraction") << frame("Heartbeat", "{}", "1.5") << none << "'id'";
    QTest::newRow("id beyond double") << frame("Heartbeat", "{}", "1e400") << none << "JSON";
    QTest::newRow("id huge") << frame("Heartbeat", "{}", "1e300") << none << "'id'";
    QTest::newRow("id beyond 2^53") << frame("Heartbeat", "{}", "9007199254740993") << none << "'id'";
    QTest::newRow("id empty string") << frame("Heartbeat", "{}", R"("")") << none << "'id'";
    QTest::newRow("id too long") << frame("Heartbeat", "{}", QByteArray("\"" + QByteArray(129, 'i') + "\"")) << none
                                 << "'id'";
    QTest::newRow("missing type") << QByteArray(R"({"id":"r1","data":{}})") << r1 << "'type'";
    QTest::newRow("type number") << QByteArray(R"({"type":5,"id":"r1","data":{}})") << r1 << "'type'";
    QTest::newRow("unknown type") << frame("Launch", "{}") << r1 << "'type'";
    QTest::newRow("reply type") << frame("Result", "{}") << r1 << "'type'";
    QTest::newRow("push type") << frame("VariableChanged", "{}") << r1 << "'type'";
    QTest::newRow("monitor push type") << frame("StatsUpdate", "{}") << r1 << "'type'";
    QTest::newRow("type wrong case") << frame("heartbeat", "{}") << r1 << "'type'";
    QTest::newRow("missing data") << QByteArray(R"({"type":"Heartbeat","id":"r1"})") << r1 << "'data'";
    QTest::newRow("data array") << frame("Heartbeat", "[]") << r1 << "'data'";
    QTest::newRow("data string") << frame("Heartbeat", R"("x")") << r1 << "'data'";
    QTest::newRow("data null") << frame("Heartbeat", "null") << r1 << "'data'";
    QTest::newRow("unknown envelope field")
        << QByteArray(R"({"type":"Heartbeat","id":"r1","data":{},"x":1})") << r1 << "'x'";
    QTest::newRow("integer id echoed") << frame("Launch", "{}", "17") << QJsonValue(17) << "'type'";

    // Fields: missing, mistyped, unknown.
    QTest::newRow("unknown data field") << frame("Heartbeat", R"({"x":1})") << r1 << "'x'";
    QTest::newRow("Logout no tenant") << frame("Logout", "{}") << r1 << "'tenant'";
    QTest::newRow("Logout tenant number") << frame("Logout", R"({"tenant":1})") << r1 << "'tenant'";
    QTest::newRow("Logout tenant null") << frame("Logout", R"({"tenant":null})") << r1 << "'tenant'";
    QTest::newRow("RefreshToken no tenant") << frame("RefreshToken", "{}") << r1 << "'tenant'";
    QTest::newRow("Authenticate no method")
        << frame("Authenticate", R"({"tenant":"acme","key":"k"})") << r1 << "'method'";
    QTest::newRow("Authenticate bad method")
        << frame("Authenticate", R"({"tenant":"acme","method":"magic","key":"k"})") << r1 << "'method'";
    QTest::newRow("Authenticate method number")
        << frame("Authenticate", R"({"method":1,"key":"k"})") << r1 << "'method'";
    QTest::newRow("Authenticate api_key no key")
        << frame("Authenticate", R"({"tenant":"acme","method":"api_key"})") << r1 << "'key'";
    QTest::newRow("Authenticate empty key")
        << frame("Authenticate", R"({"method":"api_key","key":""})") << r1 << "'key'";
    QTest::newRow("Authenticate key too long")
        << frame("Authenticate", QByteArray(R"({"method":"api_key","key":")" + QByteArray(4097, 'k') + "\"}")) << r1
        << "'key'";
    QTest::newRow("Authenticate password no password")
        << frame("Authenticate", R"({"tenant":"acme","method":"password","username":"ann"})") << r1 << "'password'";
    QTest::newRow("Authenticate password no username")
        << frame("Authenticate", R"({"tenant":"acme","method":"password","password":"x"})") << r1 << "'username'";
    QTest::newRow("Authenticate token no token")
        << frame("Authenticate", R"({"tenant":"acme","method":"token"})") << r1 << "'token'";
    QTest::newRow("Authenticate token as number")
        << frame("Authenticate", R"({"method":"token","token":12})") << r1 << "'token'";
    QTest::newRow("Authenticate key with token method")
        << frame("Authenticate", R"({"method":"token","token":"t","key":"k"})") << r1 << "'key'";
    QTest::newRow("Authenticate client_name number")
        << frame("Authenticate", R"({"method":"token","token":"t","client_name":3})") << r1 << "'client_name'";
    QTest::newRow("Authenticate bad tenant")
        << frame("Authenticate", R"({"tenant":"a/b","method":"token","token":"t"})") << r1 << "'tenant'";
    QTest::newRow("CreateTenant no tenant") << frame("CreateTenant", "{}") << r1 << "'tenant'";
    QTest::newRow("DeleteTenant tenant array") << frame("DeleteTenant", R"({"tenant":["a"]})") << r1 << "'tenant'";
    QTest::newRow("CreateKey no scopes") << frame("CreateKey", R"({"tenant":"acme"})") << r1 << "'scopes'";
    QTest::newRow("CreateKey empty scopes")
        << frame("CreateKey", R"({"tenant":"acme","scopes":[]})") << r1 << "'scopes'";
    QTest::newRow("CreateKey scopes string")
        << frame("CreateKey", R"({"tenant":"acme","scopes":"read"})") << r1 << "'scopes'";
    QTest::newRow("CreateKey unknown scope")
        << frame("CreateKey", R"({"tenant":"acme","scopes":["root"]})") << r1 << "'scopes'";
    QTest::newRow("CreateKey server_admin scope")
        << frame("CreateKey", R"({"tenant":"acme","scopes":["server_admin"]})") << r1 << "'scopes'";
    QTest::newRow("CreateKey duplicate scope")
        << frame("CreateKey", R"({"tenant":"acme","scopes":["read","read"]})") << r1 << "'scopes'";
    QTest::newRow("CreateKey name number")
        << frame("CreateKey", R"({"tenant":"acme","scopes":["read"],"name":1})") << r1 << "'name'";
    QTest::newRow("CreateKey no tenant") << frame("CreateKey", R"({"scopes":["read"]})") << r1 << "'tenant'";
    QTest::newRow("RevokeKey no key_id") << frame("RevokeKey", R"({"tenant":"acme"})") << r1 << "'key_id'";
    QTest::newRow("RevokeKey key_id number")
        << frame("RevokeKey", R"({"tenant":"acme","key_id":7})") << r1 << "'key_id'";
    QTest::newRow("ListKeys no tenant") << frame("ListKeys", "{}") << r1 << "'tenant'";
    QTest::newRow("CreateService no service") << frame("CreateService", R"({"tenant":"acme"})") << r1 << "'service'";
    QTest::newRow("CreateService size string")
        << frame("CreateService", R"({"tenant":"acme","service":"s","size":"1M"})") << r1 << "'size'";
    QTest::newRow("CreateService size zero")
        << frame("CreateService", R"({"tenant":"acme","service":"s","size":0})") << r1 << "'size'";
    QTest::newRow("CreateService size negative")
        << frame("CreateService", R"({"tenant":"acme","service":"s","size":-4096})") << r1 << "'size'";
    QTest::newRow("CreateService size fraction")
        << frame("CreateService", R"({"tenant":"acme","service":"s","size":4096.5})") << r1 << "'size'";
    QTest::newRow("CreateService size huge")
        << frame("CreateService", R"({"tenant":"acme","service":"s","size":1e300})") << r1 << "'size'";
    QTest::newRow("CreateService limit bool")
        << frame("CreateService", R"({"tenant":"acme","service":"s","limit":true})") << r1 << "'limit'";
    QTest::newRow("GetService no tenant") << frame("GetService", R"({"service":"s"})") << r1 << "'tenant'";
    QTest::newRow("DeleteService no service") << frame("DeleteService", R"({"tenant":"acme"})") << r1 << "'service'";
    QTest::newRow("ListServices tenant object") << frame("ListServices", R"({"tenant":{}})") << r1 << "'tenant'";
    QTest::newRow("AllocateVariable no value") << frame("AllocateVariable", "{" + v + "}") << r1 << "'value'";
    QTest::newRow("AllocateVariable no variable")
        << frame("AllocateVariable", R"({"tenant":"acme","service":"s1","value":""})") << r1 << "'variable'";
    QTest::newRow("AllocateVariable value array")
        << frame("AllocateVariable", "{" + v + R"(,"value":[1]})") << r1 << "'value'";
    QTest::newRow("WriteVariable no value") << frame("WriteVariable", "{" + v + "}") << r1 << "'value'";
    QTest::newRow("WriteVariable value number")
        << frame("WriteVariable", "{" + v + R"(,"value":12})") << r1 << "'value'";
    QTest::newRow("WriteVariable expected_version string")
        << frame("WriteVariable", "{" + v + R"(,"value":"","expected_version":"3"})") << r1 << "'expected_version'";
    QTest::newRow("WriteVariable expected_version negative")
        << frame("WriteVariable", "{" + v + R"(,"value":"","expected_version":-1})") << r1 << "'expected_version'";
    QTest::newRow("ReadVariable no variable")
        << frame("ReadVariable", R"({"tenant":"acme","service":"s1"})") << r1 << "'variable'";
    QTest::newRow("ReadVariable variable number")
        << frame("ReadVariable", R"({"tenant":"acme","service":"s1","variable":1})") << r1 << "'variable'";
    QTest::newRow("DeallocateVariable no service")
        << frame("DeallocateVariable", R"({"tenant":"acme","variable":"v"})") << r1 << "'service'";
    QTest::newRow("ListVariables no service") << frame("ListVariables", R"({"tenant":"acme"})") << r1 << "'service'";
    QTest::newRow("Subscribe no service") << frame("Subscribe", R"({"tenant":"acme"})") << r1 << "'service'";
    QTest::newRow("Subscribe variables string")
        << frame("Subscribe", R"({"tenant":"acme","service":"s1","variables":"v"})") << r1 << "'variables'";
    QTest::newRow("Subscribe variables numbers")
        << frame("Subscribe", R"({"tenant":"acme","service":"s1","variables":[1]})") << r1 << "'variables'";
    QTest::newRow("Subscribe variables bad name")
        << frame("Subscribe", R"({"tenant":"acme","service":"s1","variables":["ok","../x"]})") << r1 << "'variables'";
    QTest::newRow("Unsubscribe no tenant") << frame("Unsubscribe", R"({"service":"s1"})") << r1 << "'tenant'";
    QTest::newRow("GetServiceFilePath no service")
        << frame("GetServiceFilePath", R"({"tenant":"acme"})") << r1 << "'service'";
    const QByteArray user = R"("tenant":"acme","username":"ann")";
    QTest::newRow("CreateUser no tenant")
        << frame("CreateUser", R"({"username":"ann","password":"12345678","scopes":["read"]})") << r1 << "'tenant'";
    QTest::newRow("CreateUser no username")
        << frame("CreateUser", R"({"tenant":"acme","password":"12345678","scopes":["read"]})") << r1 << "'username'";
    QTest::newRow("CreateUser username not a name")
        << frame("CreateUser", R"({"tenant":"acme","username":"ann smith","password":"12345678","scopes":["read"]})")
        << r1 << "'username'";
    QTest::newRow("CreateUser username ..")
        << frame("CreateUser", R"({"tenant":"acme","username":"..","password":"12345678","scopes":["read"]})") << r1
        << "'username'";
    QTest::newRow("CreateUser username number")
        << frame("CreateUser", R"({"tenant":"acme","username":7,"password":"12345678","scopes":["read"]})") << r1
        << "'username'";
    QTest::newRow("CreateUser no password")
        << frame("CreateUser", "{" + user + R"(,"scopes":["read"]})") << r1 << "'password'";
    QTest::newRow("CreateUser password 7 chars")
        << frame("CreateUser", "{" + user + R"(,"password":"1234567","scopes":["read"]})") << r1 << "'password'";
    QTest::newRow("CreateUser password too long")
        << frame("CreateUser", "{" + user + R"(,"scopes":["read"],"password":")" + QByteArray(4097, 'p') + "\"}") << r1
        << "'password'";
    QTest::newRow("CreateUser password number")
        << frame("CreateUser", "{" + user + R"(,"password":12345678,"scopes":["read"]})") << r1 << "'password'";
    QTest::newRow("CreateUser no scopes")
        << frame("CreateUser", "{" + user + R"(,"password":"12345678"})") << r1 << "'scopes'";
    QTest::newRow("CreateUser empty scopes")
        << frame("CreateUser", "{" + user + R"(,"password":"12345678","scopes":[]})") << r1 << "'scopes'";
    QTest::newRow("CreateUser server_admin scope")
        << frame("CreateUser", "{" + user + R"(,"password":"12345678","scopes":["server_admin"]})") << r1 << "'scopes'";
    QTest::newRow("CreateUser duplicate scope")
        << frame("CreateUser", "{" + user + R"(,"password":"12345678","scopes":["map","map"]})") << r1 << "'scopes'";
    QTest::newRow("CreateUser unknown field")
        << frame("CreateUser", "{" + user + R"(,"password":"12345678","scopes":["read"],"name":"x"})") << r1
        << "'name'";
    QTest::newRow("DeleteUser no username") << frame("DeleteUser", R"({"tenant":"acme"})") << r1 << "'username'";
    QTest::newRow("DeleteUser no tenant") << frame("DeleteUser", R"({"username":"ann"})") << r1 << "'tenant'";
    QTest::newRow("DeleteUser username with slash")
        << frame("DeleteUser", R"({"tenant":"acme","username":"a/b"})") << r1 << "'username'";
    QTest::newRow("DeleteUser password given")
        << frame("DeleteUser", "{" + user + R"(,"password":"12345678"})") << r1 << "'password'";
    const QByteArray svc = R"("tenant":"acme","service":"s1")";
    QTest::newRow("GetBrokerInfo with a field") << frame("GetBrokerInfo", R"({"tenant":"acme"})") << r1 << "'tenant'";
    QTest::newRow("GetTree tenant null") << frame("GetTree", R"({"tenant":null})") << r1 << "'tenant'";
    QTest::newRow("GetTree bad tenant") << frame("GetTree", R"({"tenant":"a/b"})") << r1 << "'tenant'";
    QTest::newRow("GetRegionStats no service") << frame("GetRegionStats", R"({"tenant":"acme"})") << r1 << "'service'";
    QTest::newRow("GetRegionStats unknown field")
        << frame("GetRegionStats", "{" + svc + R"(,"offset":0})") << r1 << "'offset'";
    QTest::newRow("GetBlockMap offset negative")
        << frame("GetBlockMap", "{" + svc + R"(,"offset":-1})") << r1 << "'offset'";
    QTest::newRow("GetBlockMap limit zero") << frame("GetBlockMap", "{" + svc + R"(,"limit":0})") << r1 << "'limit'";
    QTest::newRow("GetBlockMap limit above 100000")
        << frame("GetBlockMap", "{" + svc + R"(,"limit":100001})") << r1 << "'limit'";
    QTest::newRow("GetBlockMap limit string")
        << frame("GetBlockMap", "{" + svc + R"(,"limit":"10"})") << r1 << "'limit'";
    QTest::newRow("GetProcesses no tenant") << frame("GetProcesses", R"({"service":"s1"})") << r1 << "'tenant'";
    QTest::newRow("GetSessions with a field") << frame("GetSessions", R"({"all":true})") << r1 << "'all'";
    QTest::newRow("BrowseRoot no root") << frame("BrowseRoot", "{" + svc + "}") << r1 << "'root'";
    QTest::newRow("BrowseRoot empty root") << frame("BrowseRoot", "{" + svc + R"(,"root":""})") << r1 << "'root'";
    QTest::newRow("BrowseRoot root too long")
        << frame("BrowseRoot", "{" + svc + R"(,"root":")" + QByteArray(65, 'r') + "\"}") << r1 << "'root'";
    QTest::newRow("BrowseRoot root number") << frame("BrowseRoot", "{" + svc + R"(,"root":5})") << r1 << "'root'";
    QTest::newRow("BrowseRoot limit above 1000")
        << frame("BrowseRoot", "{" + svc + R"(,"root":"r","limit":1001})") << r1 << "'limit'";
    QTest::newRow("BrowseRoot offset fraction")
        << frame("BrowseRoot", "{" + svc + R"(,"root":"r","offset":0.5})") << r1 << "'offset'";
    QTest::newRow("Watch no targets") << frame("Watch", R"({"interval_ms":1000})") << r1 << "'targets'";
    QTest::newRow("Watch no interval") << frame("Watch", R"({"targets":[]})") << r1 << "'interval_ms'";
    QTest::newRow("Watch interval 99") << frame("Watch", R"({"targets":[],"interval_ms":99})") << r1 << "'interval_ms'";
    QTest::newRow("Watch interval 60001")
        << frame("Watch", R"({"targets":[],"interval_ms":60001})") << r1 << "'interval_ms'";
    QTest::newRow("Watch targets object")
        << frame("Watch", R"({"targets":{"tenant":"acme","service":"s1"},"interval_ms":1000})") << r1 << "'targets'";
    QTest::newRow("Watch target string") << frame("Watch", R"({"targets":["acme/s1"],"interval_ms":1000})") << r1
                                         << "'targets'";
    QTest::newRow("Watch target no service")
        << frame("Watch", R"({"targets":[{"tenant":"acme"}],"interval_ms":1000})") << r1 << "'service'";
    QTest::newRow("Watch target extra field")
        << frame("Watch", R"({"targets":[{"tenant":"acme","service":"s1","root":"r"}],"interval_ms":1000})") << r1
        << "'root'";
    {
        QByteArray many = R"({"interval_ms":1000,"targets":[)";
        for (int i = 0; i <= 10000; ++i)
            many += QByteArray(i ? "," : "") + R"({"tenant":"t","service":"s"})";
        QTest::newRow("Watch 10001 targets") << frame("Watch", many + "]}") << r1 << "'targets'";
    }
    QTest::newRow("ResizeRegion no size") << frame("ResizeRegion", "{" + svc + "}") << r1 << "'size'";
    QTest::newRow("ResizeRegion size zero") << frame("ResizeRegion", "{" + svc + R"(,"size":0})") << r1 << "'size'";
    QTest::newRow("ResizeRegion size string")
        << frame("ResizeRegion", "{" + svc + R"(,"size":"4M"})") << r1 << "'size'";
    QTest::newRow("ShrinkRegion size given") << frame("ShrinkRegion", "{" + svc + R"(,"size":1})") << r1 << "'size'";
    QTest::newRow("CleanupRegion no service") << frame("CleanupRegion", R"({"tenant":"acme"})") << r1 << "'service'";

    // Names.
    QTest::newRow("name ../x") << frame("Logout", R"({"tenant":"../x"})") << r1 << "'tenant'";
    QTest::newRow("name ..") << frame("CreateTenant", R"({"tenant":".."})") << r1 << "'tenant'";
    QTest::newRow("name .") << frame("CreateTenant", R"({"tenant":"."})") << r1 << "'tenant'";
    QTest::newRow("name empty") << frame("CreateTenant", R"({"tenant":""})") << r1 << "'tenant'";
    QTest::newRow("name 65 chars") << frame("CreateTenant", QByteArray(R"({"tenant":")" + QByteArray(65, 'n') + "\"}"))
                                   << r1 << "'tenant'";
    QTest::newRow("name with space") << frame("GetService", R"({"tenant":"acme","service":"a b"})") << r1
                                     << "'service'";
    QTest::newRow("name with backslash") << frame("GetService", R"({"tenant":"acme","service":"a\\b"})") << r1
                                         << "'service'";
    QTest::newRow("name with NUL") << frame("GetService", R"({"tenant":"acme","service":"a\u0000b"})") << r1
                                   << "'service'";
    QTest::newRow("name non-ASCII") << frame(
        "ReadVariable", "{\"tenant\":\"acme\",\"service\":\"s\",\"variable\":\"\xc3\xa9\"}")
                                    << r1 << "'variable'";

    // Base64.
    QTest::newRow("base64 bad character") << frame("WriteVariable", "{" + v + R"(,"value":"ab$d"})") << r1 << "'value'";
    QTest::newRow("base64 unpadded") << frame("WriteVariable", "{" + v + R"(,"value":"aGk"})") << r1 << "'value'";
    QTest::newRow("base64 padding inside")
        << frame("WriteVariable", "{" + v + R"(,"value":"a=Gk"})") << r1 << "'value'";
    QTest::newRow("base64 too much padding")
        << frame("WriteVariable", "{" + v + R"(,"value":"a===")" + "}") << r1 << "'value'";
    QTest::newRow("base64 data after padding")
        << frame("WriteVariable", "{" + v + R"(,"value":"aGk=aGk="})") << r1 << "'value'";
    QTest::newRow("base64 whitespace") << frame("WriteVariable", "{" + v + R"(,"value":"aGk=\n"})") << r1 << "'value'";
    QTest::newRow("base64 url alphabet") << frame("WriteVariable", "{" + v + R"(,"value":"-_8="})") << r1 << "'value'";
    QTest::newRow("base64 non-ASCII") << frame("AllocateVariable", "{" + v + ",\"value\":\"\xc3\xa9\xc3\xa9\"}") << r1
                                      << "'value'";
}

void TestCodec::malformed()
{
    QFETCH(QByteArray, input);
    QFETCH(QJsonValue, expectedId);
    QFETCH(QString, mentions);

    const DecodeResult decoded = decodeRequest(input);
    QVERIFY(!decoded.hasValue());
    QCOMPARE(decoded.error().code, ErrorCode::InvalidRequest);
    QCOMPARE(idJson(decoded.error().id), expectedId);
    QVERIFY2(decoded.error().message.contains(mentions), qPrintable(decoded.error().message));

    // The reply a broker sends for it is itself well-formed and carries the same id.
    const QJsonObject reply = QJsonDocument::fromJson(encodeError(decoded.error())).object();
    QCOMPARE(reply.value(QLatin1String("type")).toString(), QStringLiteral("Error"));
    QCOMPARE(reply.value(QLatin1String("id")), expectedId);
    QCOMPARE(reply.value(QLatin1String("data")).toObject().value(QLatin1String("code")).toString(),
        QStringLiteral("INVALID_REQUEST"));
}

void TestCodec::names_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("valid");
    QTest::newRow("letters") << QStringLiteral("Acme") << true;
    QTest::newRow("all classes") << QStringLiteral("a-Z_0.9") << true;
    QTest::newRow("leading dot") << QStringLiteral(".hidden") << true;
    QTest::newRow("three dots") << QStringLiteral("...") << true;
    QTest::newRow("64") << longName(64) << true;
    QTest::newRow("65") << longName(65) << false;
    QTest::newRow("empty") << QString() << false;
    QTest::newRow(".") << QStringLiteral(".") << false;
    QTest::newRow("..") << QStringLiteral("..") << false;
    QTest::newRow("slash") << QStringLiteral("a/b") << false;
    QTest::newRow("backslash") << QStringLiteral("a\\b") << false;
    QTest::newRow("colon") << QStringLiteral("c:") << false;
    QTest::newRow("space") << QStringLiteral("a b") << false;
    QTest::newRow("non-ASCII letter") << QStringLiteral("caf\u00e9") << false;
    QTest::newRow("fullwidth digit") << QStringLiteral("\uff11") << false;
}

void TestCodec::names()
{
    QFETCH(QString, name);
    QFETCH(bool, valid);
    QCOMPARE(isValidName(name), valid);
}

void TestCodec::errorCodeNames()
{
    const std::pair<ErrorCode, const char*> expected[] = {
        { ErrorCode::Unauthorized, "UNAUTHORIZED" },
        { ErrorCode::PermissionDenied, "PERMISSION_DENIED" },
        { ErrorCode::NotFound, "NOT_FOUND" },
        { ErrorCode::AlreadyExists, "ALREADY_EXISTS" },
        { ErrorCode::InvalidRequest, "INVALID_REQUEST" },
        { ErrorCode::ResourceExhausted, "RESOURCE_EXHAUSTED" },
        { ErrorCode::RateLimited, "RATE_LIMITED" },
        { ErrorCode::Timeout, "TIMEOUT" },
        { ErrorCode::InternalError, "INTERNAL_ERROR" },
    };
    for (const auto& [code, name] : expected) {
        QCOMPARE(errorCodeName(code), QString::fromLatin1(name));
        QCOMPARE(errorCodeFromName(QString::fromLatin1(name)), std::optional<ErrorCode>(code));
    }
    QCOMPARE(errorCodeFromName(u"unauthorized"), std::nullopt);
    for (const Scope scope :
        { Scope::Read, Scope::Write, Scope::Subscribe, Scope::Map, Scope::Admin, Scope::ServerAdmin })
        QCOMPARE(scopeFromName(scopeName(scope)), std::optional<Scope>(scope));
}

// Random byte mutations of valid frames: whatever the decoder accepts must re-encode to a frame that
// decodes to the same value; everything else is an INVALID_REQUEST. Nothing may crash (ASan run).
void TestCodec::mutatedFramesNeverCrash()
{
    const QByteArray seeds[] = {
        frame(
            "WriteVariable", R"({"tenant":"acme","service":"s1","variable":"v","value":"aGk=","expected_version":3})"),
        frame("Authenticate", R"({"tenant":"acme","method":"password","username":"ann","password":"pw"})"),
        frame("CreateKey", R"({"tenant":"acme","scopes":["read","map"],"name":"n"})", "12"),
        frame("Subscribe", R"({"tenant":"acme","service":"s1","variables":["a","b"]})"),
    };
    QRandomGenerator random(20261126);
    int accepted = 0;
    for (int round = 0; round < 20000; ++round) {
        QByteArray input = seeds[random.bounded(int(std::size(seeds)))];
        const int edits = 1 + random.bounded(4);
        for (int e = 0; e < edits && !input.isEmpty(); ++e) {
            const qsizetype at = random.bounded(int(input.size()));
            switch (random.bounded(3)) {
            case 0:
                input[at] = char(random.bounded(256));
                break;
            case 1:
                input.remove(at, 1 + random.bounded(3));
                break;
            default:
                input.insert(at, input.mid(random.bounded(int(input.size())), 1 + random.bounded(8)));
                break;
            }
        }
        const DecodeResult decoded = decodeRequest(input);
        if (decoded.hasValue()) {
            ++accepted;
            const DecodeResult again = decodeRequest(encodeRequest(decoded->id, decoded->request));
            QVERIFY(again.hasValue());
            QVERIFY(*again == *decoded);
        } else {
            QCOMPARE(decoded.error().code, ErrorCode::InvalidRequest);
            QVERIFY(!decoded.error().message.isEmpty());
        }
    }
    // Some mutations (inside a string value) keep a frame valid: both paths were exercised.
    QVERIFY(accepted > 0);
}

// docs/protocol.md is the reference: every request example there decodes (or, when the example
// reply is INVALID_REQUEST, is rejected with exactly that message), every reply example is a
// well-formed envelope, and every request type has an example.
void TestCodec::documentedExamples()
{
    QFile doc(QStringLiteral(COMMY_PROTOCOL_DOC));
    QVERIFY(doc.open(QIODevice::ReadOnly | QIODevice::Text));
    QList<QByteArray> examples;
    QList<int> blocks; // the fenced block each example is in
    int block = 0;
    bool inJson = false;
    const QList<QByteArray> lines = doc.readAll().split('\n');
    for (const QByteArray& line : lines) {
        if (line.startsWith("```")) {
            inJson = !inJson && line == "```json";
            ++block;
        } else if (inJson && !line.trimmed().isEmpty()) {
            examples.append(line);
            blocks.append(block);
        }
    }

    const auto field = [](const QJsonObject& object, const char* name) { return object.value(QLatin1String(name)); };
    const QStringList pushes { QStringLiteral("VariableChanged"), QStringLiteral("StatsUpdate"),
        QStringLiteral("ProcessEvent"), QStringLiteral("TreeChanged") };
    QSet<QString> documented;
    QSet<QString> documentedPushes;
    int replies = 0;
    for (qsizetype i = 0; i < examples.size(); ++i) {
        const QByteArray& line = examples[i];
        const QJsonObject object = QJsonDocument::fromJson(line).object();
        const QString type = field(object, "type").toString();
        QVERIFY2(!type.isEmpty(), line.constData());
        if (type == u"Result" || type == u"Error" || pushes.contains(type)) {
            ++replies;
            if (pushes.contains(type))
                documentedPushes.insert(type);
            QVERIFY2(field(object, "data").isObject(), line.constData());
            QCOMPARE(object.contains(QLatin1String("id")), !pushes.contains(type));
            if (type == u"Error")
                QVERIFY2(errorCodeFromName(field(object, "data")["code"].toString()), line.constData());
            continue;
        }
        const QJsonObject reply = i + 1 < examples.size() && blocks[i + 1] == blocks[i]
            ? QJsonDocument::fromJson(examples[i + 1]).object()
            : QJsonObject();
        const DecodeResult decoded = decodeRequest(line);
        if (field(reply, "data")["code"].toString() == u"INVALID_REQUEST") {
            QVERIFY2(!decoded.hasValue(), line.constData());
            QCOMPARE(decoded.error().message, field(reply, "data")["message"].toString());
            QCOMPARE(idJson(decoded.error().id), field(reply, "id"));
            continue;
        }
        QVERIFY2(decoded.hasValue(), qPrintable(problem(decoded) + QLatin1String(": ") + QString::fromUtf8(line)));
        if (!reply.isEmpty())
            QCOMPARE(idJson(decoded->id), field(reply, "id"));
        documented.insert(requestTypeName(decoded->request));
    }
    QCOMPARE(documented.size(), qsizetype(std::variant_size_v<Request>));
    QCOMPARE(documentedPushes.size(), pushes.size());
    QVERIFY(replies >= int(std::variant_size_v<Request>));
}

QTEST_GUILESS_MAIN(TestCodec)
#include "tst_codec.moc"
