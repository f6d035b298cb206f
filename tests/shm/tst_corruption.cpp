// Damaged region files: a wrong magic, version or ABI fingerprint, altered immutable fields,
// out-of-bounds header fields, truncation at many lengths, forged allocator and root-table
// structures, and hundreds of seeded random byte changes anywhere in a file with live data. open()
// must return a typed RegionError, or, if the file opens, every call must return a value or an
// error: never crash, hang or trip a sanitizer. Calls on forged files run in a child process, so a
// crash or a hang is reported as such instead of taking the test down.

#include "shm_pattern.h"
#include "shm_test_support.h"

#include <commy/shm/region.h>
#include <commy/shm/region_format.h>

#include <QFile>
#include <QFileInfo>
#include <QtTest>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <random>
#include <unistd.h>
#include <vector>

using namespace commy::shm;
using namespace commy::shmtest;

namespace {

constexpr std::uint64_t KiB = 1024;

QByteArray readFile(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool writeFile(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

template <class T> void put(QByteArray& bytes, std::uint64_t offset, T value)
{
    std::memcpy(bytes.data() + offset, &value, sizeof value);
}

template <class T> T get(const QByteArray& bytes, std::uint64_t offset)
{
    T value;
    std::memcpy(&value, bytes.constData() + offset, sizeof value);
    return value;
}

// The FNV-1a checksum region_format.h documents over the identity fields before `checksum`.
std::uint64_t identityChecksum(const QByteArray& bytes)
{
    std::uint64_t h = 1469598103934665603ull;
    for (std::size_t i = 0; i < offsetof(format::Identity, checksum); ++i) {
        h ^= static_cast<unsigned char>(bytes[int(i)]);
        h *= 1099511628211ull;
    }
    return h;
}

constexpr std::uint64_t identityField(std::size_t field) { return offsetof(format::RegionHeader, identity) + field; }
constexpr std::uint64_t geometryField(std::size_t field) { return offsetof(format::RegionHeader, geometry) + field; }
constexpr std::uint64_t rootsField(std::size_t field) { return offsetof(format::RegionHeader, roots) + field; }
constexpr std::uint64_t allocatorField(std::size_t field) { return offsetof(format::RegionHeader, allocator) + field; }

std::uint64_t ownStartTime()
{
    QFile f(QStringLiteral("/proc/self/stat"));
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray text = f.readAll();
    return text.mid(text.lastIndexOf(')') + 2).split(' ').value(19).toULongLong();
}

enum class Forgery {
    FreeNeighbourSizeZero,
    FreeNeighbourSizeSixteen,
    LastFreeBlockSizeSixteen,
    RootTableOverfull,
    FreeListCycleHugeCount,
    BinHeadOutsideArena,
    BinBitmapAllOnes,
    OwnerBeyondProcessTable,
    RootOutsideArena,
    SlotStateGarbage,
    JournalCountFull,
};

} // namespace

Q_DECLARE_METATYPE(Forgery)

class TestCorruption : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void identity_data();
    void identity();
    void mutableHeader_data();
    void mutableHeader();
    void truncation_data();
    void truncation();
    void truncationSweep();
    void longerThanItsHeaderSays();
    void forgedStructures_data();
    void forgedStructures();
    void randomByteChanges();

private:
    // A small region with live data: one root, so a root table exists.
    QByteArray simpleRegion(const QString& path);
    // Runs `shm_test_child ops` on `path`; returns its output lines, failing the test if the child
    // crashed, hung or failed.
    QStringList runOps(const QString& path, const QStringList& offsets);

    RegionTempDir m_dir;
    int m_file = 0;
    QString nextPath() { return m_dir.filePath(QStringLiteral("region-%1").arg(++m_file)); }
};

void TestCorruption::initTestCase() { QVERIFY(m_dir.isValid()); }

QByteArray TestCorruption::simpleRegion(const QString& path)
{
    auto region = createRegion(path, 256 * KiB);
    if (!region)
        return {};
    Region& r = **region;
    if (!r.attach("simple"))
        return {};
    auto offset = r.allocate(1000);
    if (!offset || !r.createRoot("root", *offset))
        return {};
    fillPattern(r.pointer(*offset, 1000), 1000, 1);
    region->reset();
    return readFile(path);
}

QStringList TestCorruption::runOps(const QString& path, const QStringList& offsets)
{
    ChildProcess child;
    if (!child.start(QStringList { "ops", path } + offsets)) {
        QTest::qFail("cannot start the child", __FILE__, __LINE__);
        return {};
    }
    const bool finished = child.waitForExit(20000);
    const QString transcript = child.transcript();
    if (!finished) {
        QTest::qFail(qPrintable("the calls hung on the damaged file:\n" + transcript.right(3000)), __FILE__, __LINE__);
        return {};
    }
    if (!child.exitedNormally() || child.exitCode() != 0 || !transcript.contains(QLatin1String("\ndone"))) {
        QTest::qFail(qPrintable(QStringLiteral("the calls crashed on the damaged file (exit %1):\n%2")
                                    .arg(child.exitCode())
                                    .arg(transcript.right(6000))),
            __FILE__, __LINE__);
        return {};
    }
    return transcript.split(QLatin1Char('\n'));
}

void TestCorruption::identity_data()
{
    QTest::addColumn<std::uint64_t>("offset");
    QTest::addColumn<int>("size");
    QTest::addColumn<qint64>("delta"); // added to the field
    QTest::addColumn<bool>("fixChecksum");
    QTest::addColumn<QString>("expected"); // error name, or "ok"
    using I = format::Identity;
    const QString badMagic = errorMessage(RegionError::BadMagic);
    const QString version = errorMessage(RegionError::UnsupportedVersion);
    const QString abi = errorMessage(RegionError::AbiMismatch);
    const QString checksum = errorMessage(RegionError::ChecksumMismatch);
    const QString corrupt = errorMessage(RegionError::Corrupt);
    for (int i = 0; i < 8; ++i)
        QTest::addRow("magic byte %d", i)
            << identityField(offsetof(I, magic) + i) << 1 << qint64(0x20) << false << badMagic;
    QTest::newRow("next format version") << identityField(offsetof(I, formatVersion)) << 4 << qint64(1) << false
                                         << version;
    QTest::newRow("previous format version")
        << identityField(offsetof(I, formatVersion)) << 4 << qint64(-1) << false << version;
    QTest::newRow("version with checksum")
        << identityField(offsetof(I, formatVersion)) << 4 << qint64(1) << true << version;
    QTest::newRow("ABI fingerprint") << identityField(offsetof(I, abiFingerprint)) << 8 << qint64(1) << false << abi;
    QTest::newRow("ABI fingerprint with checksum")
        << identityField(offsetof(I, abiFingerprint)) << 8 << qint64(1 << 20) << true << abi;
    QTest::newRow("header size") << identityField(offsetof(I, headerBytes)) << 4 << qint64(8) << false << checksum;
    QTest::newRow("arena offset") << identityField(offsetof(I, arenaOffset)) << 8 << qint64(4096) << false << checksum;
    QTest::newRow("slot count") << identityField(offsetof(I, maxProcesses)) << 4 << qint64(-1) << false << checksum;
    QTest::newRow("reserved") << identityField(offsetof(I, reserved)) << 4 << qint64(1) << false << checksum;
    QTest::newRow("creation time") << identityField(offsetof(I, createdAtNs)) << 8 << qint64(1) << false << checksum;
    QTest::newRow("checksum itself") << identityField(offsetof(I, checksum)) << 8 << qint64(1) << false << checksum;
    QTest::newRow("header size with checksum")
        << identityField(offsetof(I, headerBytes)) << 4 << qint64(8) << true << corrupt;
    QTest::newRow("arena offset with checksum")
        << identityField(offsetof(I, arenaOffset)) << 8 << qint64(4096) << true << corrupt;
    QTest::newRow("slot count with checksum")
        << identityField(offsetof(I, maxProcesses)) << 4 << qint64(-1) << true << corrupt;
    // The checksum catches accidents, not forgeries: a consistent change of a harmless field opens.
    QTest::newRow("creation time with checksum")
        << identityField(offsetof(I, createdAtNs)) << 8 << qint64(1) << true << "ok";
}

void TestCorruption::identity()
{
    QFETCH(std::uint64_t, offset);
    QFETCH(int, size);
    QFETCH(qint64, delta);
    QFETCH(bool, fixChecksum);
    QFETCH(QString, expected);
    const QString path = nextPath();
    QByteArray bytes = simpleRegion(path);
    QVERIFY(!bytes.isEmpty());
    if (size == 1)
        bytes[int(offset)] = char(bytes[int(offset)] ^ char(delta));
    else if (size == 4)
        put<std::uint32_t>(bytes, offset, get<std::uint32_t>(bytes, offset) + std::uint32_t(delta));
    else
        put<std::uint64_t>(bytes, offset, get<std::uint64_t>(bytes, offset) + std::uint64_t(delta));
    if (fixChecksum)
        put<std::uint64_t>(bytes, identityField(offsetof(format::Identity, checksum)), identityChecksum(bytes));
    QVERIFY(writeFile(path, bytes));

    for (OpenMode mode : { OpenMode::OpenExisting, OpenMode::OpenOrCreate }) {
        RegionOptions options;
        options.mode = mode;
        options.size = 256 * KiB;
        auto region = Region::open(path.toStdString(), options);
        if (expected == "ok") {
            QVERIFY2(region, region ? "" : errorName(region.error()));
            QVERIFY((*region)->checkSanity());
            QVERIFY((*region)->findRoot("root"));
        } else {
            QVERIFY(!region);
            QCOMPARE(QString(errorMessage(region.error())), expected);
        }
    }
    if (expected != "ok") {
        QVERIFY(readFile(path) == bytes); // a refused file is left alone
    }
}

void TestCorruption::mutableHeader_data()
{
    QTest::addColumn<std::uint64_t>("offset");
    QTest::addColumn<QString>("change");
    QTest::addColumn<QString>("expected");
    using G = format::Geometry;
    using T = format::RootTableRef;
    const QString truncated = errorMessage(RegionError::Truncated);
    const QString corrupt = errorMessage(RegionError::Corrupt);
    QTest::newRow("file size past the end") << geometryField(offsetof(G, fileSize)) << "+4096" << truncated;
    QTest::newRow("file size far past the end") << geometryField(offsetof(G, fileSize)) << "=max" << truncated;
    QTest::newRow("file size below the minimum") << geometryField(offsetof(G, fileSize)) << "=minRegion-16" << corrupt;
    QTest::newRow("file size zero") << geometryField(offsetof(G, fileSize)) << "=0" << corrupt;
    QTest::newRow("limit below the file size") << geometryField(offsetof(G, limit)) << "=fileSize-4096" << corrupt;
    QTest::newRow("arena end past the file") << geometryField(offsetof(G, arenaEnd)) << "+16" << corrupt;
    QTest::newRow("arena end misaligned") << geometryField(offsetof(G, arenaEnd)) << "-8" << corrupt;
    QTest::newRow("arena end below the minimum") << geometryField(offsetof(G, arenaEnd)) << "=minRegion-16" << corrupt;
    QTest::newRow("arena end zero") << geometryField(offsetof(G, arenaEnd)) << "=0" << corrupt;
    QTest::newRow("journal count past capacity")
        << offsetof(format::RegionHeader, journal) + offsetof(format::UndoJournal, count) << "=journalCapacity+1"
        << corrupt;
    QTest::newRow("journal count max") << offsetof(format::RegionHeader, journal) + offsetof(format::UndoJournal, count)
                                       << "=max" << corrupt;
    QTest::newRow("root table at the arena end") << rootsField(offsetof(T, tableOffset)) << "=arenaEnd" << corrupt;
    QTest::newRow("root table past the file") << rootsField(offsetof(T, tableOffset)) << "=max" << corrupt;
    QTest::newRow("root capacity not a power of two") << rootsField(offsetof(T, capacity)) << "=24" << corrupt;
    QTest::newRow("root capacity zero") << rootsField(offsetof(T, capacity)) << "=0" << corrupt;
    QTest::newRow("root capacity past the arena") << rootsField(offsetof(T, capacity)) << "=1048576" << corrupt;
    QTest::newRow("more roots than capacity") << rootsField(offsetof(T, used)) << "=capacity+1" << corrupt;
}

void TestCorruption::mutableHeader()
{
    QFETCH(std::uint64_t, offset);
    QFETCH(QString, change);
    QFETCH(QString, expected);
    const QString path = nextPath();
    QByteArray bytes = simpleRegion(path);
    QVERIFY(!bytes.isEmpty());
    const auto value = [&](const QString& name) -> std::uint64_t {
        if (name == "max")
            return ~std::uint64_t { 0 };
        if (name == "minRegion-16")
            return format::kMinRegionBytes - 16;
        if (name == "fileSize-4096")
            return get<std::uint64_t>(bytes, geometryField(offsetof(format::Geometry, fileSize))) - 4096;
        if (name == "journalCapacity+1")
            return format::kJournalCapacity + 1;
        if (name == "arenaEnd")
            return get<std::uint64_t>(bytes, geometryField(offsetof(format::Geometry, arenaEnd)));
        if (name == "capacity+1")
            return get<std::uint64_t>(bytes, rootsField(offsetof(format::RootTableRef, capacity))) + 1;
        return name.toULongLong();
    };
    const std::uint64_t old = get<std::uint64_t>(bytes, offset);
    if (change.startsWith('='))
        put<std::uint64_t>(bytes, offset, value(change.mid(1)));
    else
        put<std::uint64_t>(bytes, offset, old + std::uint64_t(change.toLongLong()));
    QVERIFY(writeFile(path, bytes));
    auto region = openRegion(path);
    QVERIFY(!region);
    QCOMPARE(QString(errorMessage(region.error())), expected);
}

void TestCorruption::truncation_data()
{
    QTest::addColumn<qint64>("length");
    QTest::addColumn<QString>("expected");
    const QString badMagic = errorMessage(RegionError::BadMagic);
    const QString truncated = errorMessage(RegionError::Truncated);
    const qint64 identity = sizeof(format::Identity);
    const qint64 header = sizeof(format::RegionHeader);
    const qint64 arena = format::kArenaOffset;
    const qint64 size = 256 * KiB;
    const std::pair<qint64, QString> rows[] = {
        { 0, badMagic },
        { 1, badMagic },
        { 7, badMagic },
        { 8, badMagic },
        { identity - 1, badMagic },
        { identity, truncated },
        { identity + 1, truncated },
        { 4096, truncated },
        { header - 1, truncated },
        { header, truncated },
        { header + 1, truncated },
        { arena, truncated },
        { arena + 16, truncated },
        { arena + 4096, truncated },
        { size - 4096, truncated },
        { size - 16, truncated },
        { size - 1, truncated },
    };
    for (const auto& [length, expected] : rows)
        QTest::addRow("%lld bytes", static_cast<long long>(length)) << length << expected;
}

void TestCorruption::truncation()
{
    QFETCH(qint64, length);
    QFETCH(QString, expected);
    const QString path = nextPath();
    const QByteArray bytes = simpleRegion(path);
    QCOMPARE(bytes.size(), qsizetype(256 * KiB));
    QVERIFY(writeFile(path, bytes.left(length)));
    for (OpenMode mode : { OpenMode::OpenExisting, OpenMode::OpenOrCreate }) {
        RegionOptions options;
        options.mode = mode;
        options.size = 256 * KiB;
        auto region = Region::open(path.toStdString(), options);
        QVERIFY(!region);
        QCOMPARE(QString(errorMessage(region.error())), expected);
    }
    QCOMPARE(QFileInfo(path).size(), length); // left alone
}

void TestCorruption::truncationSweep()
{
    // Every 509th length of a 1 MiB region with data all over it.
    const QString path = nextPath();
    {
        auto region = createRegion(path, 1024 * KiB);
        QVERIFY(region);
        QVERIFY((*region)->attach("sweep"));
        for (int i = 0; i < 100; ++i) {
            auto offset = (*region)->allocate(9000);
            QVERIFY(offset);
            fillPattern((*region)->pointer(*offset, 9000), 9000, *offset);
            QVERIFY((*region)->publish(*offset));
        }
    }
    const QByteArray bytes = readFile(path);
    int lengths = 0;
    for (qint64 length = 0; length < bytes.size(); length += 509) {
        QVERIFY(writeFile(path, bytes.left(length)));
        auto region = openRegion(path);
        QVERIFY2(!region, qPrintable(QStringLiteral("a %1-byte file opened").arg(length)));
        QVERIFY(region.error() == RegionError::BadMagic || region.error() == RegionError::Truncated);
        ++lengths;
    }
    QVERIFY(lengths > 2000);
    QVERIFY(writeFile(path, bytes));
    auto whole = openRegion(path);
    QVERIFY(whole);
    QVERIFY((*whole)->checkSanity());
}

void TestCorruption::longerThanItsHeaderSays()
{
    // A crash between cutting the header's size and the file (shrink), or an outside append, leaves
    // the file longer than its header: harmless.
    const QString path = nextPath();
    QByteArray bytes = simpleRegion(path);
    QVERIFY(!bytes.isEmpty());
    QVERIFY(writeFile(path, bytes + QByteArray(8192, '\x77')));
    auto region = openRegion(path);
    QVERIFY2(region, region ? "" : errorName(region.error()));
    Region& r = **region;
    QCOMPARE(r.size(), 256 * KiB);
    QVERIFY(r.checkSanity());
    auto root = r.findRoot("root");
    QVERIFY(root);
    QCOMPARE(verifyPattern(r.pointer(root->offset, 1000), 1000, 1), -1);
    QVERIFY(r.attach("longer"));
    QVERIFY(r.allocate(100));
    QVERIFY(r.checkSanity());
}

void TestCorruption::forgedStructures_data()
{
    QTest::addColumn<Forgery>("forgery");
    QTest::newRow("free neighbour of size 0") << Forgery::FreeNeighbourSizeZero;
    QTest::newRow("free neighbour of size 16") << Forgery::FreeNeighbourSizeSixteen;
    QTest::newRow("last free block of size 16") << Forgery::LastFreeBlockSizeSixteen;
    QTest::newRow("root table fuller than its count") << Forgery::RootTableOverfull;
    QTest::newRow("free-list cycle, huge free count") << Forgery::FreeListCycleHugeCount;
    QTest::newRow("bin head outside the arena") << Forgery::BinHeadOutsideArena;
    QTest::newRow("bin bitmap all ones") << Forgery::BinBitmapAllOnes;
    QTest::newRow("block owner beyond the process table") << Forgery::OwnerBeyondProcessTable;
    QTest::newRow("root outside the arena") << Forgery::RootOutsideArena;
    QTest::newRow("process slot state garbage") << Forgery::SlotStateGarbage;
    QTest::newRow("journal count at capacity") << Forgery::JournalCountFull;
}

void TestCorruption::forgedStructures()
{
    QFETCH(Forgery, forgery);
    // Layout: A B C D E tail, with B (112-byte block) and D (5008-byte block) freed.
    const QString path = nextPath();
    std::vector<std::uint64_t> payload;
    {
        auto region = createRegion(path, 256 * KiB);
        QVERIFY(region);
        Region& r = **region;
        QVERIFY(r.attach("forger"));
        for (const std::uint64_t bytes : { 100, 96, 100, 4992, 100 }) {
            auto offset = r.allocate(bytes);
            QVERIFY(offset);
            payload.push_back(*offset);
        }
        QVERIFY(r.createRoot("root", payload[4]));
        QVERIFY(r.publish(payload[0]));
        QVERIFY(r.publish(payload[2]));
        QVERIFY(r.deallocate(payload[1]));
        QVERIFY(r.deallocate(payload[3]));
        QVERIFY(r.checkSanity());
    }
    QByteArray bytes = readFile(path);
    const auto headerOf = [&](int i) { return payload[i] - format::kBlockHeaderBytes; };
    const std::uint64_t bitsField = offsetof(format::BlockHeader, bits);
    const std::uint64_t arenaEnd = get<std::uint64_t>(bytes, geometryField(offsetof(format::Geometry, arenaEnd)));
    const std::uint64_t sentinel = arenaEnd - format::kBlockHeaderBytes;
    QStringList offsets; // what the child deallocates and publishes
    QString mustFail; // an "op ..." prefix whose result must be an error
    switch (forgery) {
    case Forgery::FreeNeighbourSizeZero:
        put<std::uint64_t>(bytes, headerOf(1) + bitsField, 0);
        offsets << QString::number(payload[0]) << QString::number(payload[2]);
        mustFail = QStringLiteral("op deallocate %1 ->").arg(payload[0]);
        break;
    case Forgery::FreeNeighbourSizeSixteen:
        put<std::uint64_t>(bytes, headerOf(1) + bitsField, 16);
        offsets << QString::number(payload[0]) << QString::number(payload[2]);
        mustFail = QStringLiteral("op deallocate %1 ->").arg(payload[0]);
        break;
    case Forgery::LastFreeBlockSizeSixteen:
        // The sentinel says the block before it is 16 bytes long, and a free 16-byte header is there.
        put<std::uint64_t>(bytes, sentinel + offsetof(format::BlockHeader, prevSize), 16);
        put<std::uint64_t>(bytes, sentinel - 16 + bitsField, 16);
        mustFail = QStringLiteral("op checkSanity 0 -> ok");
        break;
    case Forgery::RootTableOverfull: {
        // Capacity 32 claimed, every entry marked used, but only one counted and many tombstones: the
        // next createRoot() rehashes 32 entries into a table sized for the count.
        using T = format::RootTableRef;
        const std::uint64_t table = get<std::uint64_t>(bytes, rootsField(offsetof(T, tableOffset)));
        put<std::uint64_t>(bytes, rootsField(offsetof(T, capacity)), 32);
        put<std::uint64_t>(bytes, rootsField(offsetof(T, used)), 1);
        put<std::uint64_t>(bytes, rootsField(offsetof(T, tombstones)), 30);
        for (int i = 0; i < 32; ++i) {
            const std::uint64_t entry = table + std::uint64_t(i) * sizeof(format::RootEntry);
            put<decltype(format::RootEntry::state)>(bytes, entry + offsetof(format::RootEntry, state), 1);
            put<char>(bytes, entry + offsetof(format::RootEntry, name), char('a' + i % 26));
        }
        mustFail = QStringLiteral("op checkSanity 0 -> ok");
        break;
    }
    case Forgery::FreeListCycleHugeCount: {
        // The tail (the largest free block) links to itself; the free-block counter is enormous.
        const std::uint64_t tail
            = sentinel - get<std::uint64_t>(bytes, sentinel + offsetof(format::BlockHeader, prevSize));
        QVERIFY((get<std::uint64_t>(bytes, tail + bitsField) & format::kUsedBit) == 0);
        put<std::uint64_t>(bytes, tail + format::kBlockHeaderBytes + offsetof(format::FreeLinks, next), tail);
        put<std::uint64_t>(
            bytes, allocatorField(offsetof(format::AllocatorState, freeBlocks)), std::uint64_t { 1 } << 62);
        break;
    }
    case Forgery::BinHeadOutsideArena:
        for (unsigned bin = 0; bin < format::kBinCount; ++bin) {
            put<std::uint64_t>(bytes, allocatorField(offsetof(format::AllocatorState, binHeads)) + 8 * bin,
                bin % 2 ? arenaEnd + 4096 * bin : 8 + bin);
        }
        mustFail = QStringLiteral("op allocate 1 ->");
        break;
    case Forgery::BinBitmapAllOnes:
        for (unsigned word = 0; word < format::kBinCount / 64; ++word)
            put<std::uint64_t>(bytes, allocatorField(offsetof(format::AllocatorState, binBitmap)) + 8 * word, ~0ull);
        break;
    case Forgery::OwnerBeyondProcessTable:
        put<std::uint64_t>(bytes, headerOf(2) + bitsField,
            get<std::uint64_t>(bytes, headerOf(2) + bitsField) | (std::uint64_t { 200 } << format::kOwnerShift));
        offsets << QString::number(payload[2]);
        mustFail = QStringLiteral("op blocks 0 ->");
        break;
    case Forgery::RootOutsideArena: {
        const std::uint64_t table = get<std::uint64_t>(bytes, rootsField(offsetof(format::RootTableRef, tableOffset)));
        for (int i = 0; i < 16; ++i) {
            const std::uint64_t entry = table + std::uint64_t(i) * sizeof(format::RootEntry);
            if (get<decltype(format::RootEntry::state)>(bytes, entry + offsetof(format::RootEntry, state)) == 1)
                put<std::uint64_t>(bytes, entry + offsetof(format::RootEntry, offset), arenaEnd + 4096);
        }
        mustFail = QStringLiteral("op checkSanity 0 -> ok");
        break;
    }
    case Forgery::SlotStateGarbage:
        put<std::uint64_t>(bytes, offsetof(format::RegionHeader, processes) + 5 * sizeof(format::ProcessSlot), 7);
        mustFail = QStringLiteral("op checkSanity 0 -> ok");
        break;
    case Forgery::JournalCountFull: {
        // A full journal of entries that restore nothing harmful (each saves a word's current value).
        const std::uint64_t journal = offsetof(format::RegionHeader, journal);
        const std::uint64_t word = allocatorField(offsetof(format::AllocatorState, usedBytes));
        for (std::uint64_t i = 0; i < format::kJournalCapacity; ++i) {
            const std::uint64_t entry
                = journal + offsetof(format::UndoJournal, entries) + i * sizeof(format::JournalEntry);
            put<std::uint64_t>(bytes, entry + offsetof(format::JournalEntry, offset), word);
            put<std::uint64_t>(
                bytes, entry + offsetof(format::JournalEntry, oldValue), get<std::uint64_t>(bytes, word));
        }
        put<std::uint64_t>(bytes, journal + offsetof(format::UndoJournal, count), format::kJournalCapacity);
        break;
    }
    }
    QVERIFY(writeFile(path, bytes));
    const QStringList lines = runOps(path, offsets);
    if (QTest::currentTestFailed())
        return;
    if (qEnvironmentVariableIsSet("COMMY_TEST_VERBOSE"))
        qInfo("%s", qPrintable(lines.join(QLatin1Char('\n'))));
    QVERIFY(lines.contains(QStringLiteral("open -> ok")));
    if (!mustFail.isEmpty()) {
        bool seen = false;
        for (const QString& line : lines) {
            if (!line.startsWith(mustFail.section(QLatin1String(" ->"), 0, 0)))
                continue;
            seen = true;
            // "op X ... -> ok" must not appear for an operation that has to notice the damage;
            // a rule that names the whole line ("... -> ok") must not be matched exactly.
            if (mustFail.endsWith(QLatin1String("-> ok")))
                QVERIFY2(line != mustFail, qPrintable(line));
            else
                QVERIFY2(!line.endsWith(QLatin1String("-> ok")), qPrintable(line));
            break;
        }
        QVERIFY2(seen, qPrintable(mustFail + " not run:\n" + lines.join('\n')));
    }
}

void TestCorruption::randomByteChanges()
{
    // A 256 KiB region with everything in it: blocks of many sizes, used, free and published, roots
    // and tombstones, a live process slot (this process), a dead one owning blocks, and a resize
    // abandoned by a dead owner.
    const QString pristinePath = nextPath();
    {
        auto region = createRegion(pristinePath, 256 * KiB);
        QVERIFY(region);
        Region& a = **region;
        QVERIFY(a.attach("alive"));
        std::mt19937_64 rng(2024);
        std::vector<std::uint64_t> blocks;
        for (int i = 0; i < 150; ++i) {
            const std::uint64_t bytes = i % 10 == 9 ? 8 * KiB + rng() % (12 * KiB) : 1 + rng() % 3000;
            auto offset = a.allocate(bytes, i % 7 == 0 ? 256 : 16);
            if (!offset)
                break;
            fillPattern(a.pointer(*offset, bytes), bytes, *offset);
            blocks.push_back(*offset);
        }
        QVERIFY(blocks.size() > 60);
        for (std::size_t i = 0; i < blocks.size(); ++i) {
            if (i % 4 == 0)
                QVERIFY(a.publish(blocks[i]));
            else if (i % 4 == 1 && i < 100)
                QVERIFY(a.createRoot("root-" + std::to_string(i), blocks[i]));
            else if (i % 4 == 2)
                QVERIFY(a.deallocate(blocks[i]));
        }
        for (int i = 1; i < 40; i += 8)
            QVERIFY(a.removeRoot("root-" + std::to_string(i)));
        auto second = openRegion(pristinePath);
        QVERIFY(second);
        auto doomed = (*second)->attach("doomed");
        QVERIFY(doomed);
        for (int i = 0; i < 10; ++i)
            QVERIFY((*second)->allocate(64 + 10 * i));
        QVERIFY(a.checkSanity());

        QByteArray bytes = readFile(pristinePath);
        // The doomed slot's pid now belongs to "another process": it is dead.
        const std::uint64_t slot = offsetof(format::RegionHeader, processes) + *doomed * sizeof(format::ProcessSlot);
        put<std::uint64_t>(bytes, slot + offsetof(format::ProcessSlot, startTime), ownStartTime() + 1);
        using R = format::ResizeRecord;
        const std::uint64_t resize = offsetof(format::RegionHeader, resize);
        put<std::uint64_t>(bytes, resize + offsetof(R, inProgress), 1);
        put<std::uint64_t>(bytes, resize + offsetof(R, ownerPid), std::uint64_t(::getpid()));
        put<std::uint64_t>(bytes, resize + offsetof(R, ownerStartTime), ownStartTime() + 1);
        put<std::uint64_t>(bytes, resize + offsetof(R, oldSize), 256 * KiB);
        put<std::uint64_t>(bytes, resize + offsetof(R, targetSize), 256 * KiB);
        second->reset();
        region->reset();
        QVERIFY(writeFile(pristinePath, bytes));
    }
    // The unchanged file is a healthy region with all of that in it.
    {
        const QString copy = nextPath();
        QVERIFY(QFile::copy(pristinePath, copy));
        auto region = openRegion(copy);
        QVERIFY(region);
        Region& r = **region;
        auto sane = r.checkSanity();
        QVERIFY2(sane, sane ? "" : sane.error().description.c_str());
        auto roots = r.roots();
        QVERIFY(roots && roots->size() > 10);
        auto processes = r.processes();
        QVERIFY(processes);
        QCOMPARE(processes->size(), 2u);
        auto report = r.cleanup();
        QVERIFY(report);
        QCOMPARE(report->freedSlots.size(), 1u);
        QCOMPARE(report->reclaimedBlocks, 10u);
        QVERIFY(report->resizeAborted);
    }

    // Two children, 300 seeded damaged copies each. COMMY_FUZZ_ITERATIONS runs more, COMMY_FUZZ_FIRST
    // starts at another iteration (to replay one: COMMY_FUZZ_FIRST=i COMMY_FUZZ_ITERATIONS=1).
    const int iterations = qEnvironmentVariableIntValue("COMMY_FUZZ_ITERATIONS") > 0
        ? qEnvironmentVariableIntValue("COMMY_FUZZ_ITERATIONS")
        : 300;
    const int first = qEnvironmentVariableIntValue("COMMY_FUZZ_FIRST");
    std::vector<std::unique_ptr<ChildProcess>> children;
    for (int seed = 1; seed <= 2; ++seed) {
        children.push_back(std::make_unique<ChildProcess>());
        QVERIFY(children.back()->start({ "fuzz", pristinePath, m_dir.filePath(QStringLiteral("work-%1").arg(seed)),
            QString::number(seed), QString::number(iterations), QString::number(first) }));
    }
    quint64 opened = 0, rejected = 0, sane = 0, insane = 0, errors = 0;
    for (auto& child : children) {
        const QString done = child->waitForLine("fuzzed", 90000);
        const QString transcript = child->transcript();
        QVERIFY2(!done.isNull(),
            qPrintable(QStringLiteral("the fuzz child crashed or hung; last lines:\n") + transcript.right(4000)));
        QVERIFY(child->waitForExit());
        QCOMPARE(child->exitCode(), 0);
        QVERIFY2(!transcript.contains(QLatin1String("runtime error")), qPrintable(transcript.right(4000)));
        for (const QString& part : done.split(QLatin1Char(' '))) {
            const QString key = part.section(QLatin1Char('='), 0, 0);
            const quint64 value = part.section(QLatin1Char('='), 1).toULongLong();
            if (key == "opened")
                opened += value;
            else if (key == "rejected")
                rejected += value;
            else if (key == "sane")
                sane += value;
            else if (key == "insane")
                insane += value;
            else if (key == "errors")
                errors += value;
        }
    }
    qInfo("%d damaged files: %llu refused by open(), %llu opened (%llu sane, %llu with damage found by "
          "checkSanity()), %llu calls returned errors",
        2 * iterations, rejected, opened, sane, insane, errors);
    QCOMPARE(opened + rejected, quint64(2 * iterations));
    // Both paths were exercised: damage refused at open, and damage open() let through that later
    // calls had to cope with.
    QVERIFY(rejected > 0);
    QVERIFY(opened > quint64(iterations) / 2);
    QVERIFY(insane > 0);
    QVERIFY(errors > 0);
}

QTEST_GUILESS_MAIN(TestCorruption)
#include "tst_corruption.moc"
