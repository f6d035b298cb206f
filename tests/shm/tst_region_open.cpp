// Opening and creating region files: the three open modes, file permissions, size and limit
// validation, files that are not regions, and several processes racing to OpenOrCreate one file.

#include "shm_pattern.h"
#include "shm_test_support.h"

#include <commy/shm/region.h>
#include <commy/shm/region_format.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSet>
#include <QtTest>

#include <memory>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace commy::shm;
using namespace commy::shmtest;

namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;

unsigned fileModeOf(const QString& path)
{
    struct stat st { };
    if (::stat(QFile::encodeName(path).constData(), &st) != 0)
        return ~0u;
    return st.st_mode & 07777;
}

// Files a failed or racing creation could leave behind ("<name>.creating-XXXXXX").
QStringList leftovers(const QString& dir)
{
    return QDir(dir).entryList({ QStringLiteral("*.creating-*") }, QDir::Files | QDir::Hidden);
}

RegionOptions options(OpenMode mode, std::uint64_t size = 0, std::uint64_t limit = 0)
{
    RegionOptions o;
    o.mode = mode;
    o.size = size;
    o.limit = limit;
    return o;
}

} // namespace

Q_DECLARE_METATYPE(OpenMode)

class TestRegionOpen : public QObject {
    Q_OBJECT

private slots:
    void fullFileSystemIsNoSpaceNotSigbus()
    {
        // A region bigger than the file system can hold must fail when it is created or grown, not
        // later with SIGBUS in whichever process touches the missing pages. Needs a small tmpfs of
        // our own, so root (as in CI); skipped elsewhere.
        QTemporaryDir mountPoint;
        QVERIFY(mountPoint.isValid());
        const QByteArray dir = mountPoint.path().toLocal8Bit();
        if (::mount("tmpfs", dir.constData(), "tmpfs", 0, "size=1m") != 0)
            QSKIP("cannot mount a tmpfs here (not root, or no mount permission)");
        struct Unmount {
            QByteArray dir;
            ~Unmount() { ::umount2(dir.constData(), MNT_DETACH); }
        } unmount { dir };

        const QString big = mountPoint.filePath(QStringLiteral("big.region"));
        auto tooBig = createRegion(big, 4 << 20);
        QVERIFY(!tooBig);
        COMPARE_ERROR(tooBig.error(), RegionError::NoSpace);
        QVERIFY(!QFileInfo::exists(big));
        QCOMPARE(QDir(mountPoint.path()).entryList(QDir::Files).size(), 0); // no temporary left behind

        auto small = createRegion(mountPoint.filePath(QStringLiteral("small.region")), 512 << 10, true, 4 << 20);
        QVERIFY(small);
        auto grown = (*small)->resizeFile(2 << 20);
        QVERIFY(!grown);
        COMPARE_ERROR(grown.error(), RegionError::NoSpace);
        // Auto-grow meets the same wall and reports the region full, without crashing.
        QVERIFY((*small)->attach("filler"));
        RegionExpected<std::uint64_t> offset = 0;
        while ((offset = (*small)->allocate(64 << 10)))
            ;
        COMPARE_ERROR(offset.error(), RegionError::OutOfMemory);
        QVERIFY((*small)->checkSanity());
    }

    void initTestCase();

    void createOnlyCreates();
    void createOnlyRefusesExistingFile();
    void openExistingNeedsTheFile();
    void openExistingKeepsSizeAndData();
    void openOrCreate_data();
    void openOrCreate();
    void defaultFileModeIs0600();
    void fileModeHonoured_data();
    void fileModeHonoured();
    void permissionDenied();
    void invalidSizes_data();
    void invalidSizes();
    void validSizes_data();
    void validSizes();
    void notARegion_data();
    void notARegion();
    void twoHandlesInOneProcess();
    void onTheSystemTempFilesystem();
    void concurrentOpenOrCreate();
    void parseSize_data();
    void parseSize();
    void errorNames();

private:
    RegionTempDir m_dir;
    int m_file = 0;
    QString nextPath() { return m_dir.filePath(QStringLiteral("region-%1").arg(++m_file)); }
};

void TestRegionOpen::initTestCase() { QVERIFY(m_dir.isValid()); }

void TestRegionOpen::createOnlyCreates()
{
    const QString path = nextPath();
    QVERIFY(!QFile::exists(path));
    auto region = Region::open(path.toStdString(), options(OpenMode::CreateOnly, 256 * KiB));
    QVERIFY2(region, region ? "" : errorName(region.error()));
    QVERIFY(QFile::exists(path));
    QCOMPARE(QFileInfo(path).size(), qint64(256 * KiB));
    QCOMPARE((*region)->size(), 256 * KiB);
    QCOMPARE((*region)->limit(), 0u);
    QCOMPARE((*region)->path(), path.toStdString());
    QCOMPARE((*region)->generation(), 1u);
    auto stats = (*region)->stats();
    QVERIFY(stats);
    QCOMPARE(stats->arenaBytes, 256 * KiB - format::kArenaOffset);
    QCOMPARE(stats->usedBlocks, 0u);
    QCOMPARE(stats->freeBlocks, 1u);
    auto processes = (*region)->processes();
    QVERIFY(processes);
    QVERIFY(processes->empty());
    auto roots = (*region)->roots();
    QVERIFY(roots);
    QVERIFY(roots->empty());
    QVERIFY((*region)->checkSanity());
    QVERIFY(leftovers(m_dir.path()).isEmpty());

    // The header is what the format says it is.
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray identity = file.read(sizeof(format::Identity));
    QCOMPARE(identity.left(8), QByteArray("COMMYRGN"));
    format::Identity id {};
    std::memcpy(&id, identity.constData(), sizeof id);
    QCOMPARE(id.formatVersion, format::kFormatVersion);
    QCOMPARE(id.abiFingerprint, format::abiFingerprint());
    QCOMPARE(id.arenaOffset, format::kArenaOffset);
    QCOMPARE(id.headerBytes, std::uint32_t(sizeof(format::RegionHeader)));
}

void TestRegionOpen::createOnlyRefusesExistingFile()
{
    const QString path = nextPath();
    {
        auto region = createRegion(path, 256 * KiB);
        QVERIFY(region);
        QVERIFY((*region)->attach("creator"));
        auto offset = (*region)->allocate(1000);
        QVERIFY(offset);
        fillPattern((*region)->pointer(*offset, 1000), 1000, 11);
        QVERIFY((*region)->createRoot("keep", *offset));
    }
    const QByteArray before = [&] {
        QFile f(path);
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }();
    QVERIFY(!before.isEmpty());

    auto again = Region::open(path.toStdString(), options(OpenMode::CreateOnly, 1 * MiB));
    QVERIFY(!again);
    COMPARE_ERROR(again.error(), RegionError::AlreadyExists);
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QVERIFY(f.readAll() == before); // not a byte changed
    QVERIFY(leftovers(m_dir.path()).isEmpty());

    // Also when the existing file is not a region at all.
    const QString other = nextPath();
    QFile plain(other);
    QVERIFY(plain.open(QIODevice::WriteOnly));
    plain.write("not a region");
    plain.close();
    auto onPlain = Region::open(other.toStdString(), options(OpenMode::CreateOnly, 256 * KiB));
    QVERIFY(!onPlain);
    COMPARE_ERROR(onPlain.error(), RegionError::AlreadyExists);
    QCOMPARE(QFileInfo(other).size(), qint64(12));
}

void TestRegionOpen::openExistingNeedsTheFile()
{
    const QString path = nextPath();
    auto region = Region::open(path.toStdString(), options(OpenMode::OpenExisting, 256 * KiB));
    QVERIFY(!region);
    COMPARE_ERROR(region.error(), RegionError::NotFound);
    QVERIFY(!QFile::exists(path));
    QVERIFY(leftovers(m_dir.path()).isEmpty());

    // A missing directory is NotFound for every mode.
    const QString deep = m_dir.filePath(QStringLiteral("no/such/dir/region"));
    for (OpenMode mode : { OpenMode::CreateOnly, OpenMode::OpenExisting, OpenMode::OpenOrCreate }) {
        auto missing = Region::open(deep.toStdString(), options(mode, 256 * KiB));
        QVERIFY(!missing);
        COMPARE_ERROR(missing.error(), RegionError::NotFound);
    }
}

void TestRegionOpen::openExistingKeepsSizeAndData()
{
    const QString path = nextPath();
    std::uint64_t offset = 0;
    {
        auto region = createRegion(path, 256 * KiB, true, 4 * MiB);
        QVERIFY(region);
        QVERIFY((*region)->attach("writer"));
        auto allocated = (*region)->allocate(5000, 64);
        QVERIFY(allocated);
        offset = *allocated;
        fillPattern((*region)->pointer(offset, 5000), 5000, seedForName("data"));
        QVERIFY((*region)->createRoot("data", offset, RootKind::Vec, "vec<u8>"));
        // The writer detaches when the region object goes away.
    }
    // Size, limit and auto-grow in the options do not matter when the file exists.
    auto region = Region::open(path.toStdString(), options(OpenMode::OpenExisting, 1 * MiB, 2 * MiB));
    QVERIFY2(region, region ? "" : errorName(region.error()));
    Region& r = **region;
    QCOMPARE(r.size(), 256 * KiB);
    QCOMPARE(r.limit(), 4 * MiB);
    auto root = r.findRoot("data");
    QVERIFY(root);
    QCOMPARE(root->offset, offset);
    QCOMPARE(root->type, std::string("vec<u8>"));
    QVERIFY(root->kind == RootKind::Vec);
    QCOMPARE(root->version, 1u);
    QCOMPARE(verifyPattern(r.pointer(offset, 5000), 5000, seedForName("data")), -1);
    auto processes = r.processes();
    QVERIFY(processes);
    QVERIFY(processes->empty()); // the writer detached
    QVERIFY(r.checkSanity());
    // The auto-grow flag lives in the file: an allocation larger than the region grows it.
    QVERIFY(r.attach("reader"));
    auto big = r.allocate(512 * KiB);
    QVERIFY2(big, big ? "" : errorName(big.error()));
    QVERIFY(r.size() > 256 * KiB);
}

void TestRegionOpen::openOrCreate_data()
{
    QTest::addColumn<bool>("exists");
    QTest::newRow("missing: creates") << false;
    QTest::newRow("existing: opens") << true;
}

void TestRegionOpen::openOrCreate()
{
    QFETCH(bool, exists);
    const QString path = nextPath();
    if (exists) {
        auto first = createRegion(path, 128 * KiB);
        QVERIFY(first);
        QVERIFY((*first)->attach("first"));
        auto offset = (*first)->allocate(100);
        QVERIFY(offset);
        fillPattern((*first)->pointer(*offset, 100), 100, seedForName("before"));
        QVERIFY((*first)->createRoot("before", *offset));
    }
    auto region = Region::open(path.toStdString(), options(OpenMode::OpenOrCreate, 512 * KiB));
    QVERIFY2(region, region ? "" : errorName(region.error()));
    QCOMPARE((*region)->size(), exists ? 128 * KiB : 512 * KiB);
    QCOMPARE(QFileInfo(path).size(), qint64(exists ? 128 * KiB : 512 * KiB));
    auto roots = (*region)->roots();
    QVERIFY(roots);
    QCOMPARE(roots->size(), exists ? 1u : 0u);
    if (exists) {
        QCOMPARE(roots->front().name, std::string("before"));
        QCOMPARE(verifyPattern((*region)->pointer(roots->front().offset, 100), 100, seedForName("before")), -1);
    }
    QVERIFY((*region)->checkSanity());
    QVERIFY(leftovers(m_dir.path()).isEmpty());
}

void TestRegionOpen::defaultFileModeIs0600()
{
    RegionOptions o;
    QCOMPARE(o.fileMode, 0600u);
    QVERIFY(o.mode == OpenMode::OpenExisting);
    const QString path = nextPath();
    o.mode = OpenMode::CreateOnly;
    o.size = 64 * KiB;
    // Whatever the umask says.
    const mode_t old = ::umask(0);
    auto region = Region::open(path.toStdString(), o);
    ::umask(old);
    QVERIFY(region);
    QCOMPARE(fileModeOf(path), 0600u);
    const QString other = nextPath();
    o.mode = OpenMode::OpenOrCreate;
    auto created = Region::open(other.toStdString(), o);
    QVERIFY(created);
    QCOMPARE(fileModeOf(other), 0600u);
}

void TestRegionOpen::fileModeHonoured_data()
{
    QTest::addColumn<unsigned>("mode");
    QTest::addColumn<OpenMode>("openMode");
    for (const unsigned mode : { 0400u, 0600u, 0640u, 0644u, 0660u, 0666u }) {
        QTest::addRow("%04o CreateOnly", mode) << mode << OpenMode::CreateOnly;
        QTest::addRow("%04o OpenOrCreate", mode) << mode << OpenMode::OpenOrCreate;
    }
}

void TestRegionOpen::fileModeHonoured()
{
    QFETCH(unsigned, mode);
    QFETCH(OpenMode, openMode);
    const QString path = nextPath();
    RegionOptions o = options(openMode, 64 * KiB);
    o.fileMode = mode;
    const mode_t old = ::umask(077); // the mode is set exactly, not filtered by the umask
    auto region = Region::open(path.toStdString(), o);
    ::umask(old);
    QVERIFY2(region, region ? "" : errorName(region.error()));
    QCOMPARE(fileModeOf(path), mode);
    // The creator can use the file whatever its mode says about others.
    QVERIFY((*region)->attach("creator"));
    QVERIFY((*region)->allocate(64));
    // An existing file's mode is left alone by OpenOrCreate.
    RegionOptions reopen = options(OpenMode::OpenOrCreate, 64 * KiB);
    reopen.fileMode = 0666;
    if (::geteuid() == 0 || (mode & 0200) != 0) {
        auto second = Region::open(path.toStdString(), reopen);
        QVERIFY(second);
        QCOMPARE(fileModeOf(path), mode);
    }
}

void TestRegionOpen::permissionDenied()
{
    if (::geteuid() == 0)
        QSKIP("root opens any file; permissions cannot be denied");
    const QString path = nextPath();
    RegionOptions o = options(OpenMode::CreateOnly, 64 * KiB);
    o.fileMode = 0400;
    QVERIFY(Region::open(path.toStdString(), o));
    auto region = Region::open(path.toStdString(), options(OpenMode::OpenExisting));
    QVERIFY(!region);
    COMPARE_ERROR(region.error(), RegionError::PermissionDenied);
}

void TestRegionOpen::invalidSizes_data()
{
    QTest::addColumn<OpenMode>("mode");
    QTest::addColumn<std::uint64_t>("size");
    QTest::addColumn<std::uint64_t>("limit");
    const std::uint64_t min = Region::minRegionSize();
    const std::uint64_t huge = format::kSizeMask / 2 + 1;
    struct Row {
        const char* name;
        std::uint64_t size;
        std::uint64_t limit;
    };
    const Row rows[] = {
        { "size 0", 0, 0 },
        { "size 1", 1, 0 },
        { "size header only", format::kArenaOffset, 0 },
        { "size min - 1", min - 1, 0 },
        { "limit below size", 1 * MiB, 1 * MiB - 4096 },
        { "limit 1 below size", 1 * MiB, 1 * MiB - 1 },
        { "limit below min", min, min - 1 },
        { "size too large", huge, 0 },
        { "limit too large", 1 * MiB, huge },
        { "size max", ~std::uint64_t { 0 }, 0 },
        { "limit max", 1 * MiB, ~std::uint64_t { 0 } },
    };
    for (const Row& row : rows) {
        QTest::addRow("CreateOnly %s", row.name) << OpenMode::CreateOnly << row.size << row.limit;
        QTest::addRow("OpenOrCreate %s", row.name) << OpenMode::OpenOrCreate << row.size << row.limit;
    }
}

void TestRegionOpen::invalidSizes()
{
    QFETCH(OpenMode, mode);
    QFETCH(std::uint64_t, size);
    QFETCH(std::uint64_t, limit);
    const QString path = nextPath();
    auto region = Region::open(path.toStdString(), options(mode, size, limit));
    QVERIFY(!region);
    COMPARE_ERROR(region.error(), RegionError::InvalidArgument);
    QVERIFY(!QFile::exists(path));
    QVERIFY(leftovers(m_dir.path()).isEmpty());
}

void TestRegionOpen::validSizes_data()
{
    QTest::addColumn<std::uint64_t>("size");
    QTest::addColumn<std::uint64_t>("limit");
    QTest::addColumn<std::uint64_t>("expectedSize");
    const std::uint64_t min = Region::minRegionSize();
    QTest::newRow("minimum") << min << std::uint64_t { 0 } << min;
    QTest::newRow("minimum + 1 rounds up to a page") << min + 1 << std::uint64_t { 0 } << min + 4096;
    QTest::newRow("odd size") << 100000u + std::uint64_t { 0 } << std::uint64_t { 0 } << std::uint64_t { 102400 };
    QTest::newRow("limit equal to size") << 1 * MiB << 1 * MiB << 1 * MiB;
    QTest::newRow("limit above size") << 1 * MiB << 64 * MiB << 1 * MiB;
    QTest::newRow("64 MiB") << 64 * MiB << std::uint64_t { 0 } << 64 * MiB;
}

void TestRegionOpen::validSizes()
{
    QFETCH(std::uint64_t, size);
    QFETCH(std::uint64_t, limit);
    QFETCH(std::uint64_t, expectedSize);
    const QString path = nextPath();
    auto region = Region::open(path.toStdString(), options(OpenMode::CreateOnly, size, limit));
    QVERIFY2(region, region ? "" : errorName(region.error()));
    Region& r = **region;
    QCOMPARE(r.size(), expectedSize);
    QCOMPARE(r.limit(), limit);
    QCOMPARE(std::uint64_t(QFileInfo(path).size()), expectedSize);
    auto stats = r.stats();
    QVERIFY(stats);
    QCOMPARE(stats->size, expectedSize);
    QCOMPARE(stats->limit, limit);
    QCOMPARE(stats->arenaBytes, expectedSize - format::kArenaOffset);
    QCOMPARE(stats->freeBytes, stats->arenaBytes - format::kBlockHeaderBytes);
    QVERIFY(r.checkSanity());
    // The whole arena can be handed out in one block.
    QVERIFY(r.attach("sizes"));
    auto all = r.allocate(stats->freeBytes - format::kBlockHeaderBytes);
    QVERIFY2(all, all ? "" : errorName(all.error()));
    auto none = r.allocate(1);
    QVERIFY(!none);
    COMPARE_ERROR(none.error(), RegionError::OutOfMemory);
}

void TestRegionOpen::notARegion_data()
{
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("expected"); // error name, or "any" for a directory
    QTest::newRow("empty file") << QByteArray() << QString(errorMessage(RegionError::BadMagic));
    QTest::newRow("text") << QByteArray("hello, region\n") << QString(errorMessage(RegionError::BadMagic));
    QTest::newRow("a page of zeros") << QByteArray(4096, '\0') << QString(errorMessage(RegionError::Truncated));
    QTest::newRow("a header's worth of zeros")
        << QByteArray(int(format::kArenaOffset) + 4096, '\0') << QString(errorMessage(RegionError::BadMagic));
    QTest::newRow("ELF") << QByteArray("\x7f"
                                       "ELF\x02\x01\x01",
                                7)
            + QByteArray(70000, 'x')
                         << QString(errorMessage(RegionError::BadMagic));
    QTest::newRow("directory") << QByteArray() << QString("any");
}

void TestRegionOpen::notARegion()
{
    QFETCH(QByteArray, content);
    QFETCH(QString, expected);
    const QString path = nextPath();
    if (expected == "any") {
        QVERIFY(QDir().mkdir(path));
    } else {
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        QCOMPARE(f.write(content), qint64(content.size()));
    }
    for (OpenMode mode : { OpenMode::OpenExisting, OpenMode::OpenOrCreate }) {
        auto region = Region::open(path.toStdString(), options(mode, 64 * KiB));
        QVERIFY(!region);
        if (expected != "any") {
            QCOMPARE(QString(errorMessage(region.error())), expected);
        } else {
            QVERIFY(region.error() == RegionError::IoError || region.error() == RegionError::InvalidArgument);
        }
    }
    // Never touched.
    if (expected != "any") {
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QVERIFY(f.readAll() == content);
    }
}

void TestRegionOpen::twoHandlesInOneProcess()
{
    const QString path = nextPath();
    auto a = createRegion(path, 1 * MiB);
    QVERIFY(a);
    auto b = openRegion(path);
    QVERIFY(b);
    auto slotA = (*a)->attach("a");
    auto slotB = (*b)->attach("b");
    QVERIFY(slotA && slotB);
    QVERIFY(*slotA != *slotB);
    std::vector<std::uint64_t> fromA, fromB;
    for (int i = 0; i < 50; ++i) {
        auto x = (*a)->allocate(100 + i);
        auto y = (*b)->allocate(200 + i);
        QVERIFY(x && y);
        fillPattern((*a)->pointer(*x, 100 + i), 100 + i, *x);
        fillPattern((*b)->pointer(*y, 200 + i), 200 + i, *y);
        fromA.push_back(*x);
        fromB.push_back(*y);
    }
    for (int i = 0; i < 50; ++i) {
        // Each handle sees the other's data at the same offsets.
        QCOMPARE(verifyPattern((*b)->pointer(fromA[i], 100 + i), 100 + i, fromA[i]), -1);
        QCOMPARE(verifyPattern((*a)->pointer(fromB[i], 200 + i), 200 + i, fromB[i]), -1);
    }
    auto blocks = (*a)->blocks();
    QVERIFY(blocks);
    int ownedByA = 0, ownedByB = 0;
    for (const BlockInfo& info : *blocks) {
        ownedByA += !info.free && info.ownerSlot == *slotA;
        ownedByB += !info.free && info.ownerSlot == *slotB;
    }
    QCOMPARE(ownedByA, 50);
    QCOMPARE(ownedByB, 50);
    // Detaching b frees exactly b's blocks.
    QVERIFY((*b)->detach());
    auto after = (*a)->stats();
    QVERIFY(after);
    QCOMPARE(after->usedBlocks, 50u);
    QVERIFY((*a)->checkSanity());
}

void TestRegionOpen::onTheSystemTempFilesystem()
{
    // The other tests keep their files in /dev/shm; this one uses the ordinary temp folder (a disk
    // filesystem on most machines) for the create / grow / reopen path.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("disk.region"));
    {
        auto region = createRegion(path, 128 * KiB, true, 2 * MiB);
        QVERIFY2(region, region ? "" : errorName(region.error()));
        Region& r = **region;
        QVERIFY(r.attach("disk"));
        auto offset = r.allocate(300 * KiB);
        QVERIFY2(offset, offset ? "" : errorName(offset.error()));
        fillPattern(r.pointer(*offset, 300 * KiB), 300 * KiB, seedForName("disk"));
        QVERIFY(r.createRoot("disk", *offset));
        QVERIFY(r.size() > 128 * KiB);
        QVERIFY(r.resizeFile(2 * MiB));
        QVERIFY(r.checkSanity());
    }
    auto region = openRegion(path);
    QVERIFY(region);
    QCOMPARE((*region)->size(), 2 * MiB);
    QCOMPARE(QFileInfo(path).size(), qint64(2 * MiB));
    auto root = (*region)->findRoot("disk");
    QVERIFY(root);
    QCOMPARE(verifyPattern((*region)->pointer(root->offset, 300 * KiB), 300 * KiB, seedForName("disk")), -1);
    QVERIFY((*region)->checkSanity());
}

void TestRegionOpen::concurrentOpenOrCreate()
{
    constexpr int kProcesses = 6;
    const QString path = nextPath();
    std::vector<std::unique_ptr<ChildProcess>> children;
    for (int i = 0; i < kProcesses; ++i) {
        children.push_back(std::make_unique<ChildProcess>());
        QVERIFY2(children.back()->start({ "open-or-create", path, QString::number(512 * KiB), QString::number(i) }),
            qPrintable(children.back()->errorString()));
    }
    for (auto& child : children)
        QVERIFY2(!child->waitForLine("ready").isNull(), qPrintable(child->transcript()));
    // Release them all at once so their opens race.
    for (auto& child : children)
        child->send("go");
    for (auto& child : children) {
        QVERIFY2(!child->waitForLine("ok").isNull(), qPrintable(child->transcript()));
        QVERIFY(child->waitForExit());
        QVERIFY(child->exitedNormally());
        QCOMPARE(child->exitCode(), 0);
    }

    QVERIFY(leftovers(m_dir.path()).isEmpty());
    auto region = openRegion(path);
    QVERIFY(region);
    QCOMPARE((*region)->size(), 512 * KiB);
    auto roots = (*region)->roots();
    QVERIFY(roots);
    QCOMPARE(int(roots->size()), kProcesses);
    QSet<QString> names;
    for (const RootInfo& root : *roots) {
        names.insert(QString::fromStdString(root.name));
        QCOMPARE(verifyPattern((*region)->pointer(root.offset, 256), 256, seedForName(root.name.c_str())), -1);
    }
    for (int i = 0; i < kProcesses; ++i)
        QVERIFY(names.contains(QStringLiteral("proc-%1").arg(i)));
    auto processes = (*region)->processes();
    QVERIFY(processes);
    QVERIFY(processes->empty());
    auto sane = (*region)->checkSanity();
    QVERIFY2(sane, sane ? "" : sane.error().description.c_str());
}

void TestRegionOpen::parseSize_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<std::uint64_t>("value");
    QTest::newRow("4096") << "4096" << true << std::uint64_t { 4096 };
    QTest::newRow("0") << "0" << true << std::uint64_t { 0 };
    QTest::newRow("64K") << "64K" << true << 64 * KiB;
    QTest::newRow("64k") << "64k" << true << 64 * KiB;
    QTest::newRow("64M") << "64M" << true << 64 * MiB;
    QTest::newRow("1G") << "1G" << true << 1024 * MiB;
    QTest::newRow("1GiB") << "1GiB" << true << 1024 * MiB;
    QTest::newRow("1GB") << "1GB" << true << 1024 * MiB;
    QTest::newRow("2T") << "2T" << true << (std::uint64_t { 2 } << 40);
    QTest::newRow("100B") << "100B" << true << std::uint64_t { 100 };
    QTest::newRow("max") << "18446744073709551615" << true << ~std::uint64_t { 0 };
    QTest::newRow("empty") << "" << false << std::uint64_t { 0 };
    QTest::newRow("unit only") << "K" << false << std::uint64_t { 0 };
    QTest::newRow("unknown unit") << "12Q" << false << std::uint64_t { 0 };
    QTest::newRow("trailing text") << "12KiBs" << false << std::uint64_t { 0 };
    QTest::newRow("negative") << "-1" << false << std::uint64_t { 0 };
    QTest::newRow("space") << "1 K" << false << std::uint64_t { 0 };
    QTest::newRow("overflow") << "18446744073709551616" << false << std::uint64_t { 0 };
    QTest::newRow("overflow by unit") << "16777216T" << false << std::uint64_t { 0 };
}

void TestRegionOpen::parseSize()
{
    QFETCH(QString, text);
    QFETCH(bool, valid);
    QFETCH(std::uint64_t, value);
    auto parsed = commy::shm::parseSize(text.toStdString());
    QCOMPARE(parsed.hasValue(), valid);
    if (valid) {
        QCOMPARE(*parsed, value);
    } else {
        COMPARE_ERROR(parsed.error(), RegionError::InvalidArgument);
    }
}

void TestRegionOpen::errorNames()
{
    QSet<QString> names;
    for (int e = 0; e <= int(RegionError::ResizeInProgress); ++e) {
        const char* name = errorMessage(static_cast<RegionError>(e));
        QVERIFY(name && *name);
        QVERIFY2(QString(name) != "unknown region error", qPrintable(QString::number(e)));
        names.insert(QString(name));
    }
    QCOMPARE(names.size(), int(RegionError::ResizeInProgress) + 1);
    QCOMPARE(QString(livenessName(Liveness::Alive)), QString("alive"));
    QCOMPARE(QString(livenessName(Liveness::Stale)), QString("stale"));
    QCOMPARE(QString(livenessName(Liveness::Dead)), QString("dead"));
}

QTEST_GUILESS_MAIN(TestRegionOpen)
#include "tst_region_open.moc"
