// The type-erased container reader (decoding from the descriptor alone, text and JSON, paging),
// hostile type descriptors, the container-level check and the blocks a container owns, and
// removeRoot() and takeRoot() refusing containers.
//
// Reading elements needs the walker of the container's kind. A build without it (the walker is
// written with its container family) reports TypeMismatch from open(); the tests that need one
// skip with a message naming it.

#include "container_test_support.h"

#include <commy/shm/container_reader.h>
#include <commy/shm/container_txn.h>
#include <commy/shm/region_format.h>
#include <commy/shm/shared_string.h>
#include <commy/shm/shared_vec.h>

// The other container families, when this build has them.
#if __has_include(<commy/shm/shared_vec_deque.h>)
#include <commy/shm/shared_box.h>
#include <commy/shm/shared_vec_deque.h>
#define COMMY_TEST_HAVE_DEQUE 1
#endif
#if __has_include(<commy/shm/shared_hash_map.h>)
#include <commy/shm/shared_hash_map.h>
#include <commy/shm/shared_hash_set.h>
#define COMMY_TEST_HAVE_HASH 1
#endif
#if __has_include(<commy/shm/shared_btree_map.h>)
#include <commy/shm/shared_btree_map.h>
#include <commy/shm/shared_btree_set.h>
#define COMMY_TEST_HAVE_BTREE 1
#endif

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace commy::shm;
using namespace commy::shmtest;

namespace {

struct Rgb {
    std::uint8_t r, g, b;
};

// Skips the calling test when this build has no walker for `kind`: open() of a container with a
// valid descriptor reports TypeMismatch only then.
#define REQUIRE_WALKER(region, root, family)                                                                           \
    do {                                                                                                               \
        auto probe = ContainerReader::open(region, root);                                                              \
        if (!probe && probe.error() == RegionError::TypeMismatch)                                                      \
            QSKIP("no walker for this kind in this build; it comes with " family);                                     \
        QVERIFY2(probe, probe ? "" : errorName(probe.error()));                                                        \
    } while (false)

QJsonObject parseJson(const std::string& text)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(QByteArray::fromStdString(text), &error);
    if (error.error != QJsonParseError::NoError)
        qWarning("bad JSON (%s): %s", qPrintable(error.errorString()), text.c_str());
    return document.object();
}

std::vector<std::uint64_t> usedPayloads(Region& region)
{
    std::vector<std::uint64_t> used;
    auto blocks = region.blocks();
    if (!blocks)
        return used;
    for (const BlockInfo& b : *blocks) {
        if (!b.free)
            used.push_back(b.offset + format::kBlockHeaderBytes);
    }
    return used;
}

format::ContainerHeader* headerOf(Region& region, std::string_view name)
{
    auto root = region.findRoot(name);
    if (!root)
        return nullptr;
    return static_cast<format::ContainerHeader*>(region.pointer(root->offset, sizeof(format::ContainerHeader)));
}

} // namespace

template <> struct commy::shm::TypeName<Rgb> {
    static std::string name() { return "pod3"; }
};

class TestContainerReader : public ContainerTest {
    Q_OBJECT

private slots:
    void init() { openTestRegion(QStringLiteral("r"), 4 << 20); }
    void cleanup() { m_region.reset(); }

    void kindNames()
    {
        QCOMPARE(QByteArray(rootKindName(RootKind::Vec)), QByteArray("vec"));
        QCOMPARE(QByteArray(rootKindName(RootKind::HashMap)), QByteArray("hashmap"));
        QCOMPARE(QByteArray(rootKindName(RootKind::VecDeque)), QByteArray("vecdeque"));
        QCOMPARE(QByteArray(rootKindName(static_cast<RootKind>(77))), QByteArray("unknown"));
    }

    void missingAndBytesRoots()
    {
        auto missing = ContainerReader::open(*m_region, "nope");
        QVERIFY(!missing);
        COMPARE_ERROR(missing.error(), RegionError::RootNotFound);
        auto block = m_region->allocate(64);
        QVERIFY(block);
        QVERIFY(m_region->createRoot("raw", *block));
        auto raw = ContainerReader::open(*m_region, "raw");
        QVERIFY(!raw);
        COMPARE_ERROR(raw.error(), RegionError::TypeMismatch);
        auto checked = checkContainer(*m_region, "raw");
        QVERIFY(!checked);
        COMPARE_ERROR(checked.error().error, RegionError::TypeMismatch);
        auto blocks = containerBlocks(*m_region, "nope");
        QVERIFY(!blocks);
        COMPARE_ERROR(blocks.error(), RegionError::RootNotFound);
    }

    // A hostile file may hold any root type: each must be refused as Corrupt, never decoded.
    void rejectsBadDescriptors_data()
    {
        QTest::addColumn<int>("kind");
        QTest::addColumn<QByteArray>("descriptor");
        QTest::addColumn<int>("keySize");
        QTest::addColumn<int>("valueSize");
        const int vec = static_cast<int>(RootKind::Vec);
        const int map = static_cast<int>(RootKind::HashMap);
        const int str = static_cast<int>(RootKind::String);
        const int set = static_cast<int>(RootKind::BTreeSet);
        QTest::newRow("empty") << vec << QByteArray("") << 8 << 0;
        QTest::newRow("no brackets") << vec << QByteArray("vec") << 8 << 0;
        QTest::newRow("unclosed") << vec << QByteArray("vec<i64") << 8 << 0;
        QTest::newRow("open only") << vec << QByteArray("vec<") << 8 << 0;
        QTest::newRow("extra close") << vec << QByteArray("vec<i64>>") << 8 << 0;
        QTest::newRow("trailing space") << vec << QByteArray("vec<i64> ") << 8 << 0;
        QTest::newRow("inner space") << vec << QByteArray("vec< i64>") << 8 << 0;
        QTest::newRow("no argument") << vec << QByteArray("vec<>") << 8 << 0;
        QTest::newRow("empty argument") << vec << QByteArray("vec<,>") << 8 << 0;
        QTest::newRow("unknown type") << vec << QByteArray("vec<i65>") << 8 << 0;
        QTest::newRow("upper case") << vec << QByteArray("VEC<i64>") << 8 << 0;
        QTest::newRow("pod without size") << vec << QByteArray("vec<pod>") << 8 << 0;
        QTest::newRow("pod 0") << vec << QByteArray("vec<pod0>") << 8 << 0;
        QTest::newRow("pod leading zero") << vec << QByteArray("vec<pod08>") << 8 << 0;
        QTest::newRow("pod huge") << vec << QByteArray("vec<pod99999999999999999999>") << 8 << 0;
        QTest::newRow("pod letters") << vec << QByteArray("vec<pod8x>") << 8 << 0;
        QTest::newRow("binary") << vec << QByteArray("vec<\xff\x01>") << 8 << 0;
        QTest::newRow("vec without item") << vec << QByteArray("vec<vec>") << 24 << 0;
        QTest::newRow("vec of a bare name") << vec << QByteArray("vec<box<i64>>") << 24 << 0;
        QTest::newRow("two arguments for a vec") << vec << QByteArray("vec<i64,i64>") << 8 << 0;
        QTest::newRow("vec named otherwise") << vec << QByteArray("list<i64>") << 8 << 0;
        QTest::newRow("string as a vec") << vec << QByteArray("string") << 1 << 0;
        QTest::newRow("key size differs") << vec << QByteArray("vec<i64>") << 4 << 0;
        QTest::newRow("nested size differs") << vec << QByteArray("vec<string>") << 8 << 0;
        QTest::newRow("pod size differs") << vec << QByteArray("vec<pod12>") << 16 << 0;
        QTest::newRow("value size on a vec") << vec << QByteArray("vec<i64>") << 8 << 8;
        QTest::newRow("map with one type") << map << QByteArray("map<i64>") << 8 << 0;
        QTest::newRow("map with three types") << map << QByteArray("map<i64,i64,i64>") << 8 << 8;
        QTest::newRow("map value size differs") << map << QByteArray("map<i64,string>") << 8 << 8;
        QTest::newRow("map without value size") << map << QByteArray("map<i64,string>") << 8 << 0;
        QTest::newRow("set with two types") << set << QByteArray("set<i64,i64>") << 8 << 8;
        QTest::newRow("string with an argument") << str << QByteArray("string<char>") << 1 << 0;
        QTest::newRow("vec as a string") << str << QByteArray("vec<char>") << 1 << 0;
        QTest::newRow("string with a key size") << str << QByteArray("string") << 8 << 0;
    }

    void rejectsBadDescriptors()
    {
        QFETCH(int, kind);
        QFETCH(QByteArray, descriptor);
        QFETCH(int, keySize);
        QFETCH(int, valueSize);
        const detail::ElementLayout layout { static_cast<std::uint32_t>(keySize), 8,
            static_cast<std::uint32_t>(valueSize), valueSize ? 8u : 0u };
        auto ref = detail::ContainerRef::create(*m_region, "hostile", static_cast<RootKind>(kind),
            descriptor.toStdString(), layout, detail::kDefaultJournalBytes);
        QVERIFY2(ref, ref ? "" : errorName(ref.error()));
        auto reader = ContainerReader::open(*m_region, "hostile");
        QVERIFY(!reader);
        COMPARE_ERROR(reader.error(), RegionError::Corrupt);
        auto checked = checkContainer(*m_region, "hostile");
        QVERIFY(!checked);
        COMPARE_ERROR(checked.error().error, RegionError::Corrupt);
        QVERIFY2(checked.error().description.find("type") != std::string::npos, checked.error().description.c_str());
        QCOMPARE(checked.error().offset, ref->offset());
    }

    // Every descriptor the element traits write parses: open() then fails only for want of a
    // walker (TypeMismatch), never as Corrupt.
    void acceptsEveryElementType_data()
    {
        QTest::addColumn<int>("kind");
        QTest::addColumn<QByteArray>("descriptor");
        QTest::addColumn<int>("keySize");
        QTest::addColumn<int>("valueSize");
        const int vec = static_cast<int>(RootKind::Vec);
        const int map = static_cast<int>(RootKind::BTreeMap);
        for (const char* scalar : { "i8", "u8", "bool", "char" })
            QTest::newRow(scalar) << vec << (QByteArray("vec<") + scalar + ">") << 1 << 0;
        for (const char* scalar : { "i16", "u16" })
            QTest::newRow(scalar) << vec << (QByteArray("vec<") + scalar + ">") << 2 << 0;
        for (const char* scalar : { "i32", "u32", "f32" })
            QTest::newRow(scalar) << vec << (QByteArray("vec<") + scalar + ">") << 4 << 0;
        for (const char* scalar : { "i64", "u64", "f64" })
            QTest::newRow(scalar) << vec << (QByteArray("vec<") + scalar + ">") << 8 << 0;
        QTest::newRow("pod24") << vec << QByteArray("vec<pod24>") << 24 << 0;
        QTest::newRow("string") << vec << QByteArray("vec<string>") << 24 << 0;
        QTest::newRow("nested") << vec << QByteArray("vec<vec<vec<string>>>") << 24 << 0;
        QTest::newRow("string root") << static_cast<int>(RootKind::String) << QByteArray("string") << 1 << 0;
        QTest::newRow("map") << map << QByteArray("btreemap<i64,vec<f64>>") << 8 << 24;
        QTest::newRow("set") << static_cast<int>(RootKind::HashSet) << QByteArray("hashset<string>") << 24 << 0;
        QTest::newRow("deque") << static_cast<int>(RootKind::VecDeque) << QByteArray("vecdeque<pod3>") << 3 << 0;
        QTest::newRow("box") << static_cast<int>(RootKind::Box) << QByteArray("box<pod64>") << 64 << 0;
    }

    void acceptsEveryElementType()
    {
        QFETCH(int, kind);
        QFETCH(QByteArray, descriptor);
        QFETCH(int, keySize);
        QFETCH(int, valueSize);
        const detail::ElementLayout layout { static_cast<std::uint32_t>(keySize), 1,
            static_cast<std::uint32_t>(valueSize), valueSize ? 8u : 0u };
        auto ref = detail::ContainerRef::create(*m_region, "fine", static_cast<RootKind>(kind),
            descriptor.toStdString(), layout, detail::kDefaultJournalBytes);
        QVERIFY2(ref, ref ? "" : errorName(ref.error()));
        auto reader = ContainerReader::open(*m_region, "fine");
        if (!reader)
            COMPARE_ERROR(reader.error(), RegionError::TypeMismatch);
    }

    void summaryAndPaging()
    {
        auto vec = SharedVec<std::int64_t>::create(*m_region, "numbers");
        QVERIFY(vec);
        REQUIRE_WALKER(*m_region, "numbers", "container_walk_linear");
        for (std::int64_t i = 0; i < 250; ++i)
            QVERIFY(vec->push(i * i - 100));
        auto reader = ContainerReader::open(*m_region, "numbers");
        QVERIFY(reader);
        auto summary = reader->summary();
        QVERIFY(summary);
        QCOMPARE(QByteArray::fromStdString(summary->name), QByteArray("numbers"));
        QCOMPARE(QByteArray::fromStdString(summary->kindName), QByteArray("vec"));
        QCOMPARE(QByteArray::fromStdString(summary->descriptor), QByteArray("vec<i64>"));
        QCOMPARE(QByteArray::fromStdString(summary->valueType), QByteArray("i64"));
        QVERIFY(summary->keyType.empty());
        QCOMPARE(summary->length, 250u);
        QCOMPARE(summary->version, vec->version());
        QCOMPARE(summary->offset, vec->ref().offset());
        QCOMPARE(summary->recoveries, 0u);
        QCOMPARE(summary->lockHolderPid, 0u);

        // Pages cover the vector once, in order; the last one is short.
        std::vector<std::int64_t> seen;
        for (std::uint64_t offset = 0; offset < 300; offset += 64) {
            auto page = reader->elements(offset, 64);
            QVERIFY(page);
            QCOMPARE(page->size(), std::size_t(offset >= 250 ? 0 : std::min<std::uint64_t>(64, 250 - offset)));
            for (std::size_t i = 0; i < page->size(); ++i) {
                QCOMPARE((*page)[i].index, offset + i);
                QVERIFY(!(*page)[i].hasKey);
                seen.push_back(std::stoll((*page)[i].value));
            }
        }
        QCOMPARE(seen.size(), std::size_t(250));
        for (std::int64_t i = 0; i < 250; ++i)
            QCOMPARE(seen[static_cast<std::size_t>(i)], i * i - 100);

        auto json = reader->toJson(240, 20);
        QVERIFY(json);
        const QJsonObject object = parseJson(*json);
        QCOMPARE(object.value(QStringLiteral("name")).toString(), QStringLiteral("numbers"));
        QCOMPARE(object.value(QStringLiteral("kind")).toString(), QStringLiteral("vec"));
        QCOMPARE(object.value(QStringLiteral("descriptor")).toString(), QStringLiteral("vec<i64>"));
        QCOMPARE(object.value(QStringLiteral("length")).toInt(), 250);
        QCOMPARE(object.value(QStringLiteral("offset")).toInt(), 240);
        QCOMPARE(object.value(QStringLiteral("limit")).toInt(), 20);
        QCOMPARE(object.value(QStringLiteral("version")).toDouble(), double(vec->version()));
        const QJsonArray elements = object.value(QStringLiteral("elements")).toArray();
        QCOMPARE(elements.size(), 10);
        QCOMPARE(elements[0].toObject().value(QStringLiteral("index")).toInt(), 240);
        QVERIFY(elements[0].toObject().value(QStringLiteral("value")).isDouble());
        QCOMPARE(elements[9].toObject().value(QStringLiteral("value")).toInt(), 249 * 249 - 100);
        QVERIFY(!elements[0].toObject().contains(QStringLiteral("key")));

        // A read changes nothing.
        QCOMPARE(vec->version(), summary->version);
    }

    void scalarsDecode()
    {
        auto bytes = SharedVec<std::int8_t>::create(*m_region, "i8");
        QVERIFY(bytes);
        REQUIRE_WALKER(*m_region, "i8", "container_walk_linear");
        QVERIFY(bytes->push(-128));
        QVERIFY(bytes->push(127));
        QCOMPARE(texts("i8"), (QStringList { "-128", "127" }));

        auto big = SharedVec<std::uint64_t>::create(*m_region, "u64");
        QVERIFY(big && big->push(std::numeric_limits<std::uint64_t>::max()));
        QCOMPARE(texts("u64"), QStringList { "18446744073709551615" });
        auto bigJson = ContainerReader::open(*m_region, "u64")->toJson(0, 1);
        QVERIFY(bigJson && bigJson->find("\"value\":18446744073709551615}") != std::string::npos);

        auto doubles = SharedVec<double>::create(*m_region, "f64");
        QVERIFY(doubles);
        for (double d : { 0.1, -2.5, 1e300, std::numeric_limits<double>::quiet_NaN(),
                 std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity() })
            QVERIFY(doubles->push(d));
        QCOMPARE(texts("f64"), (QStringList { "0.1", "-2.5", "1e+300", "nan", "inf", "-inf" }));
        const QJsonArray doubleJson = jsonValues("f64");
        QCOMPARE(doubleJson[0].toDouble(), 0.1);
        QCOMPARE(doubleJson[2].toDouble(), 1e300);
        QCOMPARE(doubleJson[3].toString(), QStringLiteral("nan"));
        QCOMPARE(doubleJson[5].toString(), QStringLiteral("-inf"));

        auto floats = SharedVec<float>::create(*m_region, "f32");
        QVERIFY(floats && floats->push(0.1f));
        QCOMPARE(texts("f32"), QStringList { "0.1" }); // the float's shortest form, not 0.10000000149

        auto flags = SharedVec<bool>::create(*m_region, "bool");
        QVERIFY(flags && flags->push(true) && flags->push(false));
        QCOMPARE(texts("bool"), (QStringList { "true", "false" }));
        QVERIFY(jsonValues("bool")[0].isBool());

        auto chars = SharedVec<char>::create(*m_region, "char");
        QVERIFY(chars && chars->push('a') && chars->push('\'') && chars->push('\n') && chars->push('\x01'));
        QCOMPARE(texts("char"), (QStringList { "'a'", "'\\''", "'\\n'", "'\\x01'" }));
        QCOMPARE(jsonValues("char")[2].toString(), QStringLiteral("\n"));

        auto pods = SharedVec<Rgb>::create(*m_region, "pod");
        QVERIFY(pods && pods->push(Rgb { 0x01, 0xab, 0xff }));
        QCOMPARE(texts("pod"), QStringList { "01abff" });
        QCOMPARE(jsonValues("pod")[0].toString(), QStringLiteral("01abff"));
    }

    void stringsAreEscaped()
    {
        auto words = SharedVec<SharedString>::create(*m_region, "words");
        QVERIFY(words);
        REQUIRE_WALKER(*m_region, "words", "container_walk_linear");
        QVERIFY(words->push("plain"));
        QVERIFY(words->push("quote \" backslash \\ tab \t"));
        QVERIFY(words->push(std::string("nul \0 bell \a", 12)));
        QVERIFY(words->push("caf\xc3\xa9 \xe2\x82\xac"));
        QVERIFY(words->push("bad \xff \xc3 \xed\xa0\x80 end"));
        QVERIFY(words->push(""));
        QCOMPARE(texts("words"),
            (QStringList { "\"plain\"", "\"quote \\\" backslash \\\\ tab \\t\"", "\"nul \\x00 bell \\x07\"",
                QString::fromUtf8("\"caf\xc3\xa9 \xe2\x82\xac\""), "\"bad \\xff \\xc3 \\xed\\xa0\\x80 end\"",
                "\"\"" }));
        const QJsonArray json = jsonValues("words");
        QCOMPARE(json[1].toString(), QStringLiteral("quote \" backslash \\ tab \t"));
        QCOMPARE(json[2].toString(), QString::fromUtf8("nul \0 bell \a", 12));
        QCOMPARE(json[3].toString(), QString::fromUtf8("caf\xc3\xa9 \xe2\x82\xac"));
        QCOMPARE(json[4].toString(),
            QString::fromUtf8("bad \xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end"));
        QCOMPARE(json[5].toString(), QString());
    }

    void longValuesAreCut()
    {
        auto words = SharedVec<SharedString>::create(*m_region, "long");
        QVERIFY(words);
        REQUIRE_WALKER(*m_region, "long", "container_walk_linear");
        QVERIFY(words->push(std::string(kMaxTextBytes + 10, 'x')));
        const QString text = texts("long").value(0);
        QCOMPARE(
            text, QLatin1Char('"') + QString(int(kMaxTextBytes), QLatin1Char('x')) + QLatin1Char('"') + QChar(0x2026));
        QCOMPARE(jsonValues("long")[0].toString(), QString(int(kMaxTextBytes), QLatin1Char('x')) + QChar(0x2026));

        auto lists = SharedVec<SharedVec<std::int32_t>>::create(*m_region, "lists");
        QVERIFY(lists);
        std::vector<std::int32_t> many(kMaxListItems + 5);
        for (std::size_t i = 0; i < many.size(); ++i)
            many[i] = static_cast<std::int32_t>(i);
        QVERIFY(lists->push(many));
        QVERIFY(lists->push({ 7, -8 }));
        QVERIFY(lists->push({}));
        const QStringList shown = texts("lists");
        QVERIFY(shown[0].startsWith(QStringLiteral("[0, 1, 2, ")));
        QVERIFY(shown[0].endsWith(QStringLiteral("30, 31, ") + QChar(0x2026) + QLatin1Char(']')));
        QCOMPARE(shown[1], QStringLiteral("[7, -8]"));
        QCOMPARE(shown[2], QStringLiteral("[]"));
        const QJsonArray json = jsonValues("lists");
        const QJsonArray first = json[0].toArray();
        QCOMPARE(first.size(), int(kMaxListItems) + 1);
        QCOMPARE(first[31].toInt(), 31);
        QCOMPARE(first[32].toString(), QString(QChar(0x2026)));
        QCOMPARE(json[1].toArray(), (QJsonArray { 7, -8 }));
    }

    void nestedVectorsOfStrings()
    {
        auto nested = SharedVec<SharedVec<SharedString>>::create(*m_region, "nested");
        QVERIFY(nested);
        REQUIRE_WALKER(*m_region, "nested", "container_walk_linear");
        QVERIFY(nested->push({ "a", "b\"c" }));
        QVERIFY(nested->push({}));
        QCOMPARE(texts("nested"), (QStringList { "[\"a\", \"b\\\"c\"]", "[]" }));
        const QJsonArray json = jsonValues("nested");
        QCOMPARE(json[0].toArray(), (QJsonArray { QStringLiteral("a"), QStringLiteral("b\"c") }));
        QVERIFY(checkContainer(*m_region, "nested"));
    }

    void stringRootIsOneValue()
    {
        auto text = SharedString::fromStrIn(*m_region, "text", "hello, \xffworld");
        QVERIFY(text);
        REQUIRE_WALKER(*m_region, "text", "container_walk_linear");
        auto reader = ContainerReader::open(*m_region, "text");
        QVERIFY(reader);
        auto summary = reader->summary();
        QVERIFY(summary);
        QCOMPARE(summary->length, 13u);
        QCOMPARE(QByteArray::fromStdString(summary->kindName), QByteArray("string"));
        QCOMPARE(QByteArray::fromStdString(summary->valueType), QByteArray("string"));
        auto all = reader->elements(0, 100);
        QVERIFY(all);
        QCOMPARE(all->size(), std::size_t(1));
        QCOMPARE(QString::fromStdString((*all)[0].value), QStringLiteral("\"hello, \\xffworld\""));
        // Paging slices the bytes.
        auto slice = reader->elements(7, 3);
        QVERIFY(slice && slice->size() == 1);
        QCOMPARE((*slice)[0].index, 7u);
        QCOMPARE(QString::fromStdString((*slice)[0].value), QStringLiteral("\"\\xffwo\""));
        auto past = reader->elements(13, 10);
        QVERIFY(past && past->empty());
        auto json = reader->toJson(0, 5);
        QVERIFY(json);
        const QJsonObject object = parseJson(*json);
        QCOMPARE(object.value(QStringLiteral("length")).toInt(), 13);
        QCOMPARE(
            object.value(QStringLiteral("elements")).toArray()[0].toObject().value(QStringLiteral("value")).toString(),
            QStringLiteral("hello"));
        QVERIFY(checkContainer(*m_region, "text"));
    }

    void readerNoticesADestroyedRoot()
    {
        auto vec = SharedVec<std::int64_t>::create(*m_region, "gone");
        QVERIFY(vec);
        REQUIRE_WALKER(*m_region, "gone", "container_walk_linear");
        auto reader = ContainerReader::open(*m_region, "gone");
        QVERIFY(reader);
        QVERIFY(SharedVec<std::int64_t>::destroy(*m_region, "gone"));
        auto summary = reader->summary();
        QVERIFY(!summary);
        COMPARE_ERROR(summary.error(), RegionError::RootNotFound);
        // A new container under the same name is not the one the reader opened.
        QVERIFY(SharedVec<std::int32_t>::create(*m_region, "gone"));
        summary = reader->summary();
        QVERIFY(!summary);
        COMPARE_ERROR(summary.error(), RegionError::RootNotFound);
    }

    // The blocks of a container are exactly what the region holds besides the root table, and
    // all of them go when it is destroyed.
    void containerBlocksAreEverythingItOwns()
    {
        auto words = SharedVec<SharedVec<SharedString>>::create(*m_region, "owner");
        QVERIFY(words);
        REQUIRE_WALKER(*m_region, "owner", "container_walk_linear");
        for (int i = 0; i < 20; ++i)
            QVERIFY(words->push({ std::string(std::size_t(i), 'a'), "x", std::string(100, 'b') }));
        QVERIFY(words->remove(3));
        QVERIFY(words->set(0, { "replaced" }));
        auto text = SharedString::fromStrIn(*m_region, "text", "some text");
        QVERIFY(text);
        auto owned = containerBlocks(*m_region, "owner");
        QVERIFY(owned);
        auto textBlocks = containerBlocks(*m_region, "text");
        QVERIFY(textBlocks);
        QCOMPARE(textBlocks->size(), std::size_t(3)); // header, journal, bytes
        // header, journal, the array, 19 nested arrays, their non-empty strings (18 x 3 + 1)
        QCOMPARE(owned->size(), std::size_t(2 + 1 + 19 + 18 * 3 + 1));
        auto stats = m_region->stats();
        QVERIFY(stats);
        std::set<std::uint64_t> expected(owned->begin(), owned->end());
        expected.insert(textBlocks->begin(), textBlocks->end());
        expected.insert(stats->rootTableOffset);
        const std::vector<std::uint64_t> used = usedPayloads(*m_region);
        QCOMPARE(std::set<std::uint64_t>(used.begin(), used.end()), expected);
        QVERIFY(checkContainer(*m_region, "owner"));

        QVERIFY(SharedVec<SharedVec<SharedString>>::destroy(*m_region, "owner"));
        QVERIFY(SharedString::destroy(*m_region, "text"));
        QCOMPARE(usedPayloads(*m_region), std::vector<std::uint64_t> { stats->rootTableOffset });
    }

    void checkFindsDamage_data()
    {
        QTest::addColumn<QString>("damage");
        QTest::addColumn<QString>("expected");
        QTest::newRow("magic") << QStringLiteral("magic") << QStringLiteral("magic");
        QTest::newRow("kind") << QStringLiteral("kind") << QStringLiteral("kind");
        QTest::newRow("journal offset") << QStringLiteral("journal") << QStringLiteral("undo journal");
        QTest::newRow("journal used") << QStringLiteral("journal-used") << QStringLiteral("undo journal");
        QTest::newRow("element size") << QStringLiteral("key-size") << QStringLiteral("key size");
        QTest::newRow("array into a free block") << QStringLiteral("array-free") << QStringLiteral("free block");
        QTest::newRow("array too small") << QStringLiteral("array-small") << QStringLiteral("needs");
        QTest::newRow("array inside a block")
            << QStringLiteral("array-inside") << QStringLiteral("does not start a block");
        QTest::newRow("nested length") << QStringLiteral("nested-length") << QStringLiteral("longer than its capacity");
        QTest::newRow("nested outside") << QStringLiteral("nested-outside") << QStringLiteral("does not start a block");
        QTest::newRow("nested shared") << QStringLiteral("nested-shared") << QStringLiteral("already owns");
        QTest::newRow("nested is the array") << QStringLiteral("nested-array") << QStringLiteral("already owns");
        QTest::newRow("nested without capacity") << QStringLiteral("nested-zero") << QStringLiteral("without capacity");
        QTest::newRow("nested unpublished")
            << QStringLiteral("nested-unpublished") << QStringLiteral("never published");
    }

    void checkFindsDamage()
    {
        QFETCH(QString, damage);
        QFETCH(QString, expected);
        auto words = SharedVec<SharedString>::create(*m_region, "victim");
        QVERIFY(words);
        const bool needsWalker
            = damage.startsWith(QStringLiteral("array")) || damage.startsWith(QStringLiteral("nested"));
        if (needsWalker)
            REQUIRE_WALKER(*m_region, "victim", "container_walk_linear");
        for (int i = 0; i < 6; ++i)
            QVERIFY(words->push("word number " + std::to_string(i)));
        QVERIFY(words->pop()); // a capacity above the length
        if (needsWalker)
            QVERIFY(checkContainer(*m_region, "victim"));
        auto spare = m_region->allocate(16);
        QVERIFY(spare);
        QVERIFY(m_region->publish(*spare));
        auto freed = m_region->allocate(4096);
        QVERIFY(freed);
        auto keep = m_region->allocate(16); // keeps `freed` from merging into the free tail
        QVERIFY(keep);
        QVERIFY(m_region->deallocate(*freed));

        format::ContainerHeader* h = headerOf(*m_region, "victim");
        QVERIFY(h);
        auto* body = reinterpret_cast<format::VecBody*>(h->body);
        auto* items = static_cast<format::VecBody*>(m_region->pointer(body->data, 5 * sizeof(format::VecBody)));
        QVERIFY(items);
        if (damage == QLatin1String("magic"))
            h->magic ^= 1;
        else if (damage == QLatin1String("kind"))
            h->kind = static_cast<std::uint32_t>(RootKind::String);
        else if (damage == QLatin1String("journal"))
            h->journalOffset = m_region->size() + 4096;
        else if (damage == QLatin1String("journal-used"))
            h->journalUsed = h->journalCapacity + 8;
        else if (damage == QLatin1String("key-size"))
            h->keySize = 16;
        else if (damage == QLatin1String("array-free"))
            body->data = *freed;
        else if (damage == QLatin1String("array-small"))
            body->capacity = 1000;
        else if (damage == QLatin1String("array-inside"))
            body->data += 16;
        else if (damage == QLatin1String("nested-length"))
            items[2].length = items[2].capacity + 1;
        else if (damage == QLatin1String("nested-outside"))
            items[2].data = m_region->size() - 64;
        else if (damage == QLatin1String("nested-shared"))
            items[2] = items[1];
        else if (damage == QLatin1String("nested-array"))
            items[2].data = body->data;
        else if (damage == QLatin1String("nested-zero"))
            items[2].capacity = items[2].length = 0;
        else if (damage == QLatin1String("nested-unpublished")) {
            auto mine = m_region->allocate(64);
            QVERIFY(mine);
            h = headerOf(*m_region, "victim");
            items = static_cast<format::VecBody*>(
                m_region->pointer(reinterpret_cast<format::VecBody*>(h->body)->data, 5 * sizeof(format::VecBody)));
            items[2] = { *mine, 10, 10 };
        }
        auto checked = checkContainer(*m_region, "victim");
        QVERIFY(!checked);
        COMPARE_ERROR(checked.error().error, RegionError::Corrupt);
        QVERIFY2(QString::fromStdString(checked.error().description).contains(expected),
            checked.error().description.c_str());
        auto blocks = containerBlocks(*m_region, "victim");
        QVERIFY(!blocks);
        COMPARE_ERROR(blocks.error(), RegionError::Corrupt);
        Q_UNUSED(spare);
    }

    void dequesAndBoxes()
    {
#ifdef COMMY_TEST_HAVE_DEQUE
        auto deque = SharedVecDeque<std::int32_t>::create(*m_region, "deque");
        QVERIFY(deque);
        REQUIRE_WALKER(*m_region, "deque", "container_walk_linear");
        // Pops at the front and pushes at the back make the ring wrap around.
        for (std::int32_t i = 1; i <= 6; ++i)
            QVERIFY(deque->pushBack(i));
        for (int i = 0; i < 3; ++i)
            QVERIFY(deque->popFront());
        for (std::int32_t i = 7; i <= 9; ++i)
            QVERIFY(deque->pushBack(i));
        QVERIFY(deque->pushFront(3));
        QCOMPARE(texts("deque"), (QStringList { "3", "4", "5", "6", "7", "8", "9" }));
        QCOMPARE(summaryOf("deque").kindName, std::string("vecdeque"));
        QCOMPARE(summaryOf("deque").descriptor, std::string("deque<i32>"));
        QCOMPARE(summaryOf("deque").valueType, std::string("i32"));
        auto page = ContainerReader::open(*m_region, "deque")->elements(5, 10);
        QVERIFY(page && page->size() == 2);
        QCOMPARE((*page)[0].index, 5u);
        QCOMPARE(QByteArray::fromStdString((*page)[1].value), QByteArray("9"));

        auto number = SharedBox<std::int64_t>::create(*m_region, "box", -42);
        QVERIFY(number);
        QCOMPARE(texts("box"), QStringList { "-42" });
        QCOMPARE(summaryOf("box").kindName, std::string("box"));
        QCOMPARE(summaryOf("box").length, 1u);
        auto text = SharedBox<SharedString>::create(*m_region, "boxed text", "in a box");
        QVERIFY(text);
        QCOMPARE(texts("boxed text"), QStringList { "\"in a box\"" });
        QCOMPARE(jsonValues("boxed text")[0].toString(), QStringLiteral("in a box"));
        checkAllOwnTheirBlocks();
#else
        QSKIP("this build has no SharedVecDeque / SharedBox");
#endif
    }

    void hashMapsAndSets()
    {
#ifdef COMMY_TEST_HAVE_HASH
        auto map = SharedHashMap<std::int64_t, SharedString>::create(*m_region, "hashmap");
        QVERIFY(map);
        REQUIRE_WALKER(*m_region, "hashmap", "container_walk_hash");
        QMap<QString, QString> expected;
        for (std::int64_t i = 0; i < 300; ++i) {
            QVERIFY(map->insert(i * 7, "value " + std::to_string(i)));
            expected.insert(QString::number(i * 7), QStringLiteral("\"value %1\"").arg(i));
        }
        for (std::int64_t i = 0; i < 300; i += 3) {
            QVERIFY(map->remove(i * 7)); // tombstones the walk must skip
            expected.remove(QString::number(i * 7));
        }
        const ContainerSummary summary = summaryOf("hashmap");
        QCOMPARE(summary.kindName, std::string("hashmap"));
        QCOMPARE(summary.keyType, std::string("i64"));
        QCOMPARE(summary.valueType, std::string("string"));
        QCOMPARE(summary.length, std::uint64_t(expected.size()));
        // Every entry once, in slot order, over pages.
        QMap<QString, QString> seen;
        auto reader = ContainerReader::open(*m_region, "hashmap");
        QVERIFY(reader);
        for (std::uint64_t offset = 0; offset < summary.length; offset += 64) {
            auto page = reader->elements(offset, 64);
            QVERIFY(page);
            for (const DecodedElement& element : *page) {
                QVERIFY(element.hasKey);
                QVERIFY(!seen.contains(QString::fromStdString(element.key)));
                seen.insert(QString::fromStdString(element.key), QString::fromStdString(element.value));
            }
        }
        QCOMPARE(seen, expected);
        auto json = reader->toJson(0, 1);
        QVERIFY(json);
        const QJsonObject first = parseJson(*json).value(QStringLiteral("elements")).toArray()[0].toObject();
        QVERIFY(first.value(QStringLiteral("key")).isDouble());
        QVERIFY(first.value(QStringLiteral("value")).isString());
        QCOMPARE(parseJson(*json).value(QStringLiteral("keyType")).toString(), QStringLiteral("i64"));

        auto set = SharedHashSet<SharedString>::create(*m_region, "hashset");
        QVERIFY(set);
        for (const char* word : { "pear", "apple", "fig" })
            QVERIFY(set->insert(word));
        QStringList words = texts("hashset");
        words.sort();
        QCOMPARE(words, (QStringList { "\"apple\"", "\"fig\"", "\"pear\"" }));
        QCOMPARE(summaryOf("hashset").kindName, std::string("hashset"));
        QVERIFY(summaryOf("hashset").keyType.empty());
        checkAllOwnTheirBlocks();
#else
        QSKIP("this build has no SharedHashMap / SharedHashSet");
#endif
    }

    void btreeMapsAndSets()
    {
#ifdef COMMY_TEST_HAVE_BTREE
        auto map = SharedBTreeMap<std::int64_t, SharedVec<std::int32_t>>::create(*m_region, "btreemap");
        QVERIFY(map);
        REQUIRE_WALKER(*m_region, "btreemap", "container_walk_btree");
        std::vector<std::int64_t> keys(500);
        for (std::size_t i = 0; i < keys.size(); ++i)
            keys[i] = static_cast<std::int64_t>(i) * 2 - 300;
        std::mt19937_64 rng(5);
        std::shuffle(keys.begin(), keys.end(), rng);
        for (const std::int64_t key : keys)
            QVERIFY(map->insert(key, { static_cast<std::int32_t>(key), 1 }));
        for (std::size_t i = 0; i < 100; ++i)
            QVERIFY(map->remove(keys[i]));
        std::sort(keys.begin() + 100, keys.end());
        const ContainerSummary summary = summaryOf("btreemap");
        QCOMPARE(summary.kindName, std::string("btreemap"));
        QCOMPARE(summary.descriptor, std::string("btreemap<i64,vec<i32>>"));
        QCOMPARE(summary.length, 400u);
        auto reader = ContainerReader::open(*m_region, "btreemap");
        QVERIFY(reader);
        // Key order, and a page from the middle starts at its rank.
        auto all = reader->elements(0, 1000);
        QVERIFY(all && all->size() == 400);
        for (std::size_t i = 0; i < 400; ++i) {
            const std::int64_t key = keys[100 + i];
            QCOMPARE(QString::fromStdString((*all)[i].key), QString::number(key));
            QCOMPARE(QString::fromStdString((*all)[i].value), QStringLiteral("[%1, 1]").arg(key));
        }
        auto page = reader->elements(250, 3);
        QVERIFY(page && page->size() == 3);
        QCOMPARE((*page)[0].index, 250u);
        QCOMPARE(QString::fromStdString((*page)[0].key), QString::number(keys[350]));

        auto set = SharedBTreeSet<SharedString>::create(*m_region, "btreeset");
        QVERIFY(set);
        for (const char* word : { "pear", "apple", "fig" })
            QVERIFY(set->insert(word));
        QCOMPARE(texts("btreeset"), (QStringList { "\"apple\"", "\"fig\"", "\"pear\"" }));
        checkAllOwnTheirBlocks();
#else
        QSKIP("this build has no SharedBTreeMap / SharedBTreeSet");
#endif
    }

    // Damaged element data, bodies and header fields: every call returns (a value or an error),
    // never reads outside the mapping (ASan checks) or loops.
    void hostileBytesNeverCrash()
    {
        auto nested = SharedVec<SharedVec<SharedString>>::create(*m_region, "nested");
        QVERIFY(nested);
        REQUIRE_WALKER(*m_region, "nested", "container_walk_linear");
        for (int i = 0; i < 20; ++i)
            QVERIFY(nested->push({ std::string(std::size_t(i) * 3, 'n'), "x" }));
        auto words = SharedVec<SharedString>::create(*m_region, "words");
        QVERIFY(words);
        for (int i = 0; i < 40; ++i)
            QVERIFY(words->push("word " + std::to_string(i)));
        QVERIFY(SharedString::fromStrIn(*m_region, "text", std::string(300, 't')));
        const char* const names[] = { "nested", "words", "text" };

        // What may be damaged: the header's identity and element sizes, its body, and every block
        // the container owns but its journal (a damaged journal is replayed, which is tested apart).
        struct Target {
            std::uint64_t offset;
            std::uint64_t bytes;
            std::string original;
        };
        std::vector<Target> targets;
        auto blocks = m_region->blocks();
        QVERIFY(blocks);
        for (const char* name : names) {
            format::ContainerHeader* h = headerOf(*m_region, name);
            QVERIFY(h);
            auto owned = containerBlocks(*m_region, name);
            QVERIFY(owned);
            auto root = m_region->findRoot(name);
            for (const std::uint64_t payload : *owned) {
                if (payload == h->journalOffset)
                    continue;
                if (payload == root->offset) {
                    targets.push_back({ payload, offsetof(format::ContainerHeader, version), {} });
                    targets.push_back(
                        { payload + offsetof(format::ContainerHeader, body), format::kContainerBodyBytes, {} });
                    continue;
                }
                for (const BlockInfo& b : *blocks) {
                    if (b.offset + format::kBlockHeaderBytes == payload)
                        targets.push_back({ payload, b.size - format::kBlockHeaderBytes, {} });
                }
            }
        }
        for (Target& target : targets) {
            const auto* p = static_cast<const char*>(m_region->pointer(target.offset, target.bytes));
            QVERIFY(p);
            target.original.assign(p, target.bytes);
        }

        std::mt19937_64 rng(99);
        int opened = 0, read = 0, checked = 0;
        for (int i = 0; i < 1500; ++i) {
            Target& target = targets[rng() % targets.size()];
            auto* p = static_cast<unsigned char*>(m_region->pointer(target.offset, target.bytes));
            QVERIFY(p);
            for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; --flips) {
                const std::uint64_t at = (rng() % 4 == 0) ? (rng() % 8) * 8 % target.bytes : rng() % target.bytes;
                switch (rng() % 4) {
                case 0:
                    p[at] = 0xff;
                    break;
                case 1:
                    p[at] = 0;
                    break;
                default:
                    p[at] ^= static_cast<unsigned char>(1u << (rng() % 8));
                    break;
                }
            }
            for (const char* name : names) {
                if (auto reader = ContainerReader::open(*m_region, name)) {
                    ++opened;
                    const bool summary = reader->summary().hasValue();
                    const bool elements = reader->elements(rng() % 50, 1 + rng() % 100).hasValue();
                    const bool json = reader->toJson(0, 1000).hasValue();
                    read += summary && elements && json;
                }
                checked += checkContainer(*m_region, name).hasValue();
                (void)containerBlocks(*m_region, name);
            }
            p = static_cast<unsigned char*>(m_region->pointer(target.offset, target.bytes));
            std::memcpy(p, target.original.data(), target.bytes);
        }
        qInfo("1500 damaged states x 3 containers: %d opened, %d read completely, %d passed the check", opened, read,
            checked);
        for (const char* name : names)
            QVERIFY(checkContainer(*m_region, name));
        QVERIFY(m_region->checkSanity());
        auto all = words->toStd();
        QVERIFY(all && all->size() == 40 && all->back() == "word 39");
    }

    void removeRootRefusesContainers()
    {
        auto vec = SharedVec<SharedString>::create(*m_region, "kept");
        QVERIFY(vec);
        QVERIFY(vec->push("still here"));
        auto removed = m_region->removeRoot("kept");
        QVERIFY(!removed);
        COMPARE_ERROR(removed.error(), RegionError::TypeMismatch);
        auto root = m_region->findRoot("kept");
        QVERIFY(root);
        auto again = SharedVec<SharedString>::attach(*m_region, "kept");
        QVERIFY(again);
        auto all = again->toStd();
        QVERIFY(all && *all == std::vector<std::string> { "still here" });
        QVERIFY(m_region->checkSanity());
        // Bytes roots are still removed as before.
        auto block = m_region->allocate(32);
        QVERIFY(block);
        QVERIFY(m_region->createRoot("plain", *block));
        QVERIFY(m_region->removeRoot("plain"));
        // So is a root that only says it is a vector: its block holds no container header.
        block = m_region->allocate(32);
        QVERIFY(block);
        QVERIFY(m_region->createRoot("labelled", *block, RootKind::Vec, "vec<u8>"));
        QVERIFY(m_region->removeRoot("labelled"));
        // The class's destroy() removes the container with everything it owns.
        auto stats = m_region->stats();
        QVERIFY(stats);
        QVERIFY(SharedVec<SharedString>::destroy(*m_region, "kept"));
        QCOMPARE(usedPayloads(*m_region), std::vector<std::uint64_t> { stats->rootTableOffset });
    }

    void takeRootRefusesContainers()
    {
        auto text = SharedString::create(*m_region, "kept");
        QVERIFY(text);
        QVERIFY(text->assign(std::string(300, 'k')));
        auto taken = m_region->takeRoot("kept");
        QVERIFY(!taken);
        COMPARE_ERROR(taken.error(), RegionError::TypeMismatch);
        QVERIFY(m_region->findRoot("kept"));
        auto again = SharedString::attach(*m_region, "kept");
        QVERIFY(again);
        auto all = again->toStd();
        QVERIFY(all && *all == std::string(300, 'k'));
        QVERIFY(checkContainer(*m_region, "kept"));
        QVERIFY(m_region->checkSanity());
        // Bytes roots are still handed back, unpublished, to this process.
        auto block = m_region->allocate(32);
        QVERIFY(block);
        QVERIFY(m_region->createRoot("plain", *block));
        taken = m_region->takeRoot("plain");
        QVERIFY(taken);
        QCOMPARE(*taken, *block);
        QVERIFY(m_region->deallocate(*taken));
        // So is a root that only says it is a vector: its block holds no container header.
        block = m_region->allocate(32);
        QVERIFY(block);
        QVERIFY(m_region->createRoot("labelled", *block, RootKind::Vec, "vec<u8>"));
        taken = m_region->takeRoot("labelled");
        QVERIFY(taken);
        QCOMPARE(*taken, *block);
        QVERIFY(m_region->deallocate(*taken));
        // The class's destroy() removes the container with everything it owns.
        auto stats = m_region->stats();
        QVERIFY(stats);
        QVERIFY(SharedString::destroy(*m_region, "kept"));
        QCOMPARE(usedPayloads(*m_region), std::vector<std::uint64_t> { stats->rootTableOffset });
    }

private:
    QStringList texts(const char* root)
    {
        QStringList result;
        auto reader = ContainerReader::open(*m_region, root);
        if (!reader)
            return { QStringLiteral("open: %1").arg(QLatin1String(errorName(reader.error()))) };
        auto elements = reader->elements(0, 1000);
        if (!elements)
            return { QStringLiteral("elements: %1").arg(QLatin1String(errorName(elements.error()))) };
        for (const DecodedElement& element : *elements)
            result << QString::fromStdString(element.value);
        return result;
    }

    ContainerSummary summaryOf(const char* root)
    {
        auto reader = ContainerReader::open(*m_region, root);
        if (!reader)
            return {};
        auto summary = reader->summary();
        return summary ? *summary : ContainerSummary {};
    }

    // Every container passes checkContainer(), and together with the root table they own exactly
    // the blocks in use.
    void checkAllOwnTheirBlocks()
    {
        auto stats = m_region->stats();
        QVERIFY(stats);
        auto roots = m_region->roots();
        QVERIFY(roots);
        std::set<std::uint64_t> owned { stats->rootTableOffset };
        std::size_t count = 1;
        for (const RootInfo& root : *roots) {
            auto checked = checkContainer(*m_region, root.name);
            QVERIFY2(checked, checked ? "" : checked.error().description.c_str());
            auto blocks = containerBlocks(*m_region, root.name);
            QVERIFY(blocks);
            owned.insert(blocks->begin(), blocks->end());
            count += blocks->size();
        }
        QCOMPARE(owned.size(), count);
        const std::vector<std::uint64_t> used = usedPayloads(*m_region);
        QCOMPARE(std::set<std::uint64_t>(used.begin(), used.end()), owned);
    }

    QJsonArray jsonValues(const char* root)
    {
        QJsonArray values;
        auto reader = ContainerReader::open(*m_region, root);
        if (!reader)
            return values;
        auto json = reader->toJson(0, 1000);
        if (!json)
            return values;
        for (const QJsonValue& element : parseJson(*json).value(QStringLiteral("elements")).toArray())
            values.append(element.toObject().value(QStringLiteral("value")));
        return values;
    }
};

QTEST_GUILESS_MAIN(TestContainerReader)
#include "tst_container_reader.moc"
