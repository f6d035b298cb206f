// commyctl's region commands, run as real processes on temporary region files.

#include "commyctl_runner.h"

#include <commy/shm/container_format.h>
#include <commy/shm/container_reader.h>
#include <commy/shm/shared_string.h>
#include <commy/shm/shared_vec.h>

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

using commy::testing::CtlResult;
using commy::testing::describe;
using commy::testing::runCommyctl;

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitCannotOpen = 2;
constexpr int kExitUsage = 64;

qint64 number(const QJsonObject& object, const QString& key)
{
    return static_cast<qint64>(object.value(key).toDouble(-1));
}

bool overwrite(const QString& path, qint64 offset, const QByteArray& bytes)
{
    QFile file(path);
    return file.open(QIODevice::ReadWrite) && file.seek(offset) && file.write(bytes) == bytes.size();
}

QByteArray littleEndian64(quint64 value)
{
    QByteArray bytes(8, '\0');
    for (int i = 0; i < 8; ++i)
        bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
    return bytes;
}

} // namespace

class TestCommyctl : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();

    void help();
    void usageErrors_data();
    void usageErrors();
    void sizeSuffixes_data();
    void sizeSuffixes();
    void roundTrip();
    void autoGrowIsShown();
    void blocksCoverTheArena();
    void createRefusesAnExistingFile();
    void resizeRefusesToShrink();
    void openErrors_data();
    void openErrors();
    void checkReportsTheOffsetOfACorruptBlock();
    void cleanupReclaimsAKilledWorker();
    void workerDetectsADamagedBlock();
    void dumpShowsElementsAsText();
    void dumpPagesThroughJson();
    void dumpErrors();
    void infoAndCheckCoverContainers();

private:
    // Creates a region at `path` holding containers (written by this process through the engine):
    // "numbers" vec<i64> = i * 3 - 7 for i < 250, "words" vec<string>, "text" string, "raw" bytes.
    // False when this build has no walker for vectors and strings (then `skip` says why).
    bool makeContainerRegion(const QString& path, QString& skip);
    // Starts a worker, waits until it has published roots, SIGKILLs it; returns its pid.
    qint64 leaveOrphanRoots(const QString& path, const QString& seed);
    QString regionPath(const QString& name = QStringLiteral("test.region")) const { return m_dir->filePath(name); }
    QJsonObject info(const QString& path);

    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestCommyctl::initTestCase()
{
    const QFileInfo binary(commy::testing::commyctlPath());
    QVERIFY2(binary.isExecutable(),
        qPrintable(QStringLiteral("commyctl not found at %1 (COMMY_TEST_BIN_DIR)").arg(binary.filePath())));
}

void TestCommyctl::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

QJsonObject TestCommyctl::info(const QString& path)
{
    const CtlResult result
        = runCommyctl({ QStringLiteral("region"), QStringLiteral("info"), path, QStringLiteral("--json") });
    if (!result.exitedWith(0))
        qWarning("info failed: %s", describe(result).constData());
    return result.json();
}

void TestCommyctl::help()
{
    CtlResult result = runCommyctl({ QStringLiteral("--help") });
    QVERIFY2(result.exitedWith(0), describe(result));
    QVERIFY(result.out.contains("torture"));

    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("create"), QStringLiteral("--help") });
    QVERIFY2(result.exitedWith(0), describe(result));
    QVERIFY(result.out.contains("commyctl region create PATH --size N"));
    QVERIFY(result.out.contains("--auto-grow"));
}

void TestCommyctl::usageErrors_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    const QString region = QStringLiteral("region");
    const QString path = QStringLiteral("@PATH@");
    QTest::newRow("no command") << QStringList {} << QStringLiteral("missing command");
    QTest::newRow("unknown command") << QStringList { QStringLiteral("frobnicate") }
                                     << QStringLiteral("unknown command");
    QTest::newRow("no region command") << QStringList { region } << QStringLiteral("missing region command");
    QTest::newRow("unknown region command")
        << QStringList { region, QStringLiteral("frobnicate") } << QStringLiteral("unknown region command");
    QTest::newRow("create without path") << QStringList { region, QStringLiteral("create") }
                                         << QStringLiteral("missing PATH");
    QTest::newRow("create without size") << QStringList { region, QStringLiteral("create"), path }
                                         << QStringLiteral("--size is required");
    QTest::newRow("bad suffix") << QStringList { region, QStringLiteral("create"), path, QStringLiteral("--size"),
        QStringLiteral("12Q") } << QStringLiteral("not a size");
    QTest::newRow("not a number") << QStringList { region, QStringLiteral("create"), path, QStringLiteral("--size"),
        QStringLiteral("big") } << QStringLiteral("not a size");
    QTest::newRow("too small") << QStringList { region, QStringLiteral("create"), path, QStringLiteral("--size"),
        QStringLiteral("1K") } << QStringLiteral("at least");
    QTest::newRow("limit below size") << QStringList { region, QStringLiteral("create"), path, QStringLiteral("--size"),
        QStringLiteral("1M"), QStringLiteral("--limit"), QStringLiteral("512K") }
                                      << QStringLiteral("--limit");
    QTest::newRow("extra argument") << QStringList { region, QStringLiteral("info"), path, QStringLiteral("more") }
                                    << QStringLiteral("unexpected argument");
    QTest::newRow("unknown option") << QStringList { region, QStringLiteral("info"), path, QStringLiteral("--bogus") }
                                    << QStringLiteral("bogus");
    QTest::newRow("worker without seed") << QStringList { region, QStringLiteral("worker"), path }
                                         << QStringLiteral("--seed is required");
    QTest::newRow("dump without root") << QStringList { region, QStringLiteral("dump"), path }
                                       << QStringLiteral("missing ROOT");
    QTest::newRow("dump with a bad limit") << QStringList { region, QStringLiteral("dump"), path, QStringLiteral("r"),
        QStringLiteral("--limit"), QStringLiteral("many") }
                                           << QStringLiteral("--limit");
    QTest::newRow("dump with a negative offset") << QStringList { region, QStringLiteral("dump"), path,
        QStringLiteral("r"), QStringLiteral("--offset"), QStringLiteral("-1") }
                                                 << QStringLiteral("--offset");
    QTest::newRow("torture without options")
        << QStringList { region, QStringLiteral("torture"), path } << QStringLiteral("--workers is required");
    QTest::newRow("torture with no workers") << QStringList { region, QStringLiteral("torture"), path,
        QStringLiteral("--workers"), QStringLiteral("0"), QStringLiteral("--seconds"), QStringLiteral("1"),
        QStringLiteral("--kill-interval-ms"), QStringLiteral("10") }
                                             << QStringLiteral("--workers");
}

void TestCommyctl::usageErrors()
{
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    args.replaceInStrings(QStringLiteral("@PATH@"), regionPath());
    const CtlResult result = runCommyctl(args);
    QVERIFY2(result.exitedWith(kExitUsage), describe(result));
    QVERIFY2(QString::fromUtf8(result.err).contains(message), describe(result));
    QVERIFY2(result.err.contains("--help"), describe(result));
    QVERIFY(!QFileInfo::exists(regionPath()));
}

void TestCommyctl::sizeSuffixes_data()
{
    QTest::addColumn<QString>("size");
    QTest::addColumn<qint64>("expected");
    QTest::newRow("64K") << QStringLiteral("64K") << qint64(64 * 1024);
    QTest::newRow("1M") << QStringLiteral("1M") << qint64(1024 * 1024);
    QTest::newRow("3m") << QStringLiteral("3m") << qint64(3 * 1024 * 1024);
    QTest::newRow("2MiB") << QStringLiteral("2MiB") << qint64(2 * 1024 * 1024);
    QTest::newRow("plain bytes, rounded up to a page") << QStringLiteral("100000") << qint64(102400);
    QTest::newRow("1G") << QStringLiteral("1G") << qint64(1024) * 1024 * 1024;
}

void TestCommyctl::sizeSuffixes()
{
    QFETCH(QString, size);
    QFETCH(qint64, expected);
    const CtlResult created = runCommyctl(
        { QStringLiteral("region"), QStringLiteral("create"), regionPath(), QStringLiteral("--size"), size });
    QVERIFY2(created.exitedWith(0), describe(created));
    QCOMPARE(QFileInfo(regionPath()).size(), expected);
    QCOMPARE(number(info(regionPath()), QStringLiteral("size")), expected);
}

void TestCommyctl::autoGrowIsShown()
{
    const QString path = regionPath();
    CtlResult result = runCommyctl({ QStringLiteral("region"), QStringLiteral("create"), path, QStringLiteral("--size"),
        QStringLiteral("1M"), QStringLiteral("--auto-grow") });
    QVERIFY2(result.exitedWith(0), describe(result));
    const QJsonObject header = info(path);
    QCOMPARE(header.value(QStringLiteral("autoGrow")).toBool(false), true);
    QVERIFY(number(header, QStringLiteral("growStep")) >= qint64(1 << 20));
}

void TestCommyctl::roundTrip()
{
    const QString path = regionPath();
    CtlResult result = runCommyctl({ QStringLiteral("region"), QStringLiteral("create"), path, QStringLiteral("--size"),
        QStringLiteral("1M"), QStringLiteral("--limit"), QStringLiteral("4M") });
    QVERIFY2(result.exitedWith(0), describe(result));

    QJsonObject header = info(path);
    QCOMPARE(number(header, QStringLiteral("size")), qint64(1 << 20));
    QCOMPARE(number(header, QStringLiteral("limit")), qint64(4 << 20));
    QCOMPARE(number(header, QStringLiteral("generation")), qint64(1));
    QCOMPARE(header.value(QStringLiteral("autoGrow")).toBool(true), false);
    QCOMPARE(number(header.value(QStringLiteral("allocator")).toObject(), QStringLiteral("usedBytes")), qint64(0));
    QVERIFY(header.value(QStringLiteral("processes")).toArray().isEmpty());
    QVERIFY(header.value(QStringLiteral("roots")).toArray().isEmpty());

    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("check"), path });
    QVERIFY2(result.exitedWith(0), describe(result));
    QCOMPARE(result.out.trimmed(), QByteArray("consistent"));

    // A worker that stops by itself gives back everything it took, roots included.
    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("worker"), path, QStringLiteral("--seed"),
        QStringLiteral("7"), QStringLiteral("--ops"), QStringLiteral("5000") });
    QVERIFY2(result.exitedWith(0), describe(result));
    header = info(path);
    const QJsonObject stats = header.value(QStringLiteral("stats")).toObject();
    QVERIFY(number(stats, QStringLiteral("allocations")) > 1000);
    QCOMPARE(number(stats, QStringLiteral("deallocations")), number(stats, QStringLiteral("allocations")));
    QVERIFY(header.value(QStringLiteral("roots")).toArray().isEmpty());
    QVERIFY(header.value(QStringLiteral("processes")).toArray().isEmpty());
    QVERIFY(number(header.value(QStringLiteral("allocator")).toObject(), QStringLiteral("usedBlocks"))
        <= 1); // the root table

    result = runCommyctl(
        { QStringLiteral("region"), QStringLiteral("resize"), path, QStringLiteral("--size"), QStringLiteral("2M") });
    QVERIFY2(result.exitedWith(0), describe(result));
    header = info(path);
    QCOMPARE(number(header, QStringLiteral("size")), qint64(2 << 20));
    QCOMPARE(number(header, QStringLiteral("generation")), qint64(2));

    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("shrink"), path });
    QVERIFY2(result.exitedWith(0), describe(result));
    const QList<QByteArray> words = result.out.simplified().split(' ');
    QVERIFY2(words.size() >= 2 && words[0] == "size", describe(result));
    const qint64 shrunk = words[1].toLongLong();
    QVERIFY2(shrunk > 0 && shrunk < (2 << 20), describe(result));
    QCOMPARE(number(info(path), QStringLiteral("size")), shrunk);
    QCOMPARE(QFileInfo(path).size(), shrunk);

    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("cleanup"), path, QStringLiteral("--json") });
    QVERIFY2(result.exitedWith(0), describe(result));
    QVERIFY(result.json().value(QStringLiteral("freedSlots")).toArray().isEmpty());
    QCOMPARE(number(result.json(), QStringLiteral("reclaimedBytes")), qint64(0));

    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("check"), path });
    QVERIFY2(result.exitedWith(0), describe(result));

    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("info"), path });
    QVERIFY2(result.exitedWith(0), describe(result));
    QVERIFY(result.out.contains("fragmentation"));
    QVERIFY(result.out.contains("processes (0)"));
}

void TestCommyctl::blocksCoverTheArena()
{
    const QString path = regionPath();
    CtlResult result = runCommyctl(
        { QStringLiteral("region"), QStringLiteral("create"), path, QStringLiteral("--size"), QStringLiteral("512K") });
    QVERIFY2(result.exitedWith(0), describe(result));
    // A worker run leaves a mix of free blocks and the published root table.
    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("worker"), path, QStringLiteral("--seed"),
        QStringLiteral("3"), QStringLiteral("--ops"), QStringLiteral("2000") });
    QVERIFY2(result.exitedWith(0), describe(result));

    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("blocks"), path, QStringLiteral("--json") });
    QVERIFY2(result.exitedWith(0), describe(result));
    const QJsonArray blocks = result.json().value(QStringLiteral("blocks")).toArray();
    QVERIFY(!blocks.isEmpty());
    qint64 expectedOffset = number(blocks.first().toObject(), QStringLiteral("offset"));
    qint64 total = 0;
    int free = 0;
    for (const QJsonValue& value : blocks) {
        const QJsonObject block = value.toObject();
        QCOMPARE(number(block, QStringLiteral("offset")), expectedOffset);
        const qint64 size = number(block, QStringLiteral("size"));
        QVERIFY(size >= 32 && size % 16 == 0);
        expectedOffset += size;
        total += size;
        if (block.value(QStringLiteral("free")).toBool()) {
            ++free;
            QVERIFY(block.value(QStringLiteral("ownerSlot")).isNull());
        }
    }
    const QJsonObject allocator = info(path).value(QStringLiteral("allocator")).toObject();
    QCOMPARE(total, number(allocator, QStringLiteral("arenaBytes")) - 16); // minus the end sentinel
    QCOMPARE(qint64(free), number(allocator, QStringLiteral("freeBlocks")));

    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("blocks"), path });
    QVERIFY2(result.exitedWith(0), describe(result));
    QVERIFY(result.out.contains(QStringLiteral("%1 blocks").arg(blocks.size()).toUtf8()));
}

void TestCommyctl::createRefusesAnExistingFile()
{
    const QStringList create { QStringLiteral("region"), QStringLiteral("create"), regionPath(),
        QStringLiteral("--size"), QStringLiteral("64K") };
    CtlResult result = runCommyctl(create);
    QVERIFY2(result.exitedWith(0), describe(result));
    result = runCommyctl(create);
    QVERIFY2(result.exitedWith(kExitCannotOpen), describe(result));
    QVERIFY2(result.err.contains("already exists"), describe(result));
}

void TestCommyctl::resizeRefusesToShrink()
{
    CtlResult result = runCommyctl({ QStringLiteral("region"), QStringLiteral("create"), regionPath(),
        QStringLiteral("--size"), QStringLiteral("1M") });
    QVERIFY2(result.exitedWith(0), describe(result));
    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("resize"), regionPath(), QStringLiteral("--size"),
        QStringLiteral("512K") });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result));
    QVERIFY2(result.err.contains("shrink"), describe(result));
    QCOMPARE(QFileInfo(regionPath()).size(), qint64(1 << 20));
}

void TestCommyctl::openErrors_data()
{
    QTest::addColumn<QString>("damage");
    QTest::addColumn<QString>("message");
    QTest::newRow("missing file") << QStringLiteral("delete") << QStringLiteral("not found");
    QTest::newRow("bad magic") << QStringLiteral("magic") << QStringLiteral("bad magic");
    QTest::newRow("truncated") << QStringLiteral("truncate") << QStringLiteral("truncated");
    QTest::newRow("altered identity") << QStringLiteral("identity") << QStringLiteral("checksum mismatch");
}

void TestCommyctl::openErrors()
{
    QFETCH(QString, damage);
    QFETCH(QString, message);
    const QString path = regionPath();
    CtlResult result = runCommyctl(
        { QStringLiteral("region"), QStringLiteral("create"), path, QStringLiteral("--size"), QStringLiteral("256K") });
    QVERIFY2(result.exitedWith(0), describe(result));
    if (damage == QLatin1String("delete"))
        QVERIFY(QFile::remove(path));
    else if (damage == QLatin1String("magic"))
        QVERIFY(overwrite(path, 0, QByteArray("NOTMAGIC")));
    else if (damage == QLatin1String("truncate"))
        QVERIFY(QFile::resize(path, 100));
    else if (damage == QLatin1String("identity"))
        QVERIFY(overwrite(path, 40, littleEndian64(12345))); // Identity::createdAtNs, covered by the checksum

    for (const QString& command :
        { QStringLiteral("check"), QStringLiteral("info"), QStringLiteral("blocks"), QStringLiteral("cleanup") }) {
        result = runCommyctl({ QStringLiteral("region"), command, path });
        QVERIFY2(result.exitedWith(kExitCannotOpen), describe(result));
        QVERIFY2(QString::fromUtf8(result.err).contains(message), describe(result));
        QVERIFY2(result.err.contains(path.toUtf8()), describe(result));
    }
}

void TestCommyctl::checkReportsTheOffsetOfACorruptBlock()
{
    const QString path = regionPath();
    CtlResult result = runCommyctl(
        { QStringLiteral("region"), QStringLiteral("create"), path, QStringLiteral("--size"), QStringLiteral("1M") });
    QVERIFY2(result.exitedWith(0), describe(result));
    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("blocks"), path, QStringLiteral("--json") });
    QVERIFY2(result.exitedWith(0), describe(result));
    const qint64 first
        = number(result.json().value(QStringLiteral("blocks")).toArray().first().toObject(), QStringLiteral("offset"));
    QVERIFY(first > 0);

    // The block's size word (after prevSize) now claims far more than the file holds.
    QVERIFY(overwrite(path, first + 8, littleEndian64(0x00007ffffffffff1ull)));
    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("check"), path });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result));
    QVERIFY2(result.err.contains("inconsistent at offset 0x" + QByteArray::number(first, 16)), describe(result));
    QVERIFY(!result.out.contains("consistent"));
}

void TestCommyctl::cleanupReclaimsAKilledWorker()
{
    const QString path = regionPath();
    CtlResult result = runCommyctl(
        { QStringLiteral("region"), QStringLiteral("create"), path, QStringLiteral("--size"), QStringLiteral("8M") });
    QVERIFY2(result.exitedWith(0), describe(result));

    QProcess worker;
    worker.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    worker.start(commy::testing::commyctlPath(),
        { QStringLiteral("region"), QStringLiteral("worker"), path, QStringLiteral("--seed"), QStringLiteral("11"),
            QStringLiteral("--name"), QStringLiteral("doomed") });
    QVERIFY(worker.waitForStarted(10'000));
    const auto deadPid = static_cast<qint64>(worker.processId());

    // Wait until it holds blocks and has published roots, as a worker does after a short while.
    // The worker takes roots back too, so the count goes up and down: latch the first time it holds.
    bool published = false;
    QTRY_VERIFY_WITH_TIMEOUT(
        published || (published = info(path).value(QStringLiteral("roots")).toArray().size() >= 2), 20'000);
    QJsonObject header = info(path);
    QCOMPARE(header.value(QStringLiteral("processes")).toArray().size(), 1);
    const QJsonObject process = header.value(QStringLiteral("processes")).toArray().first().toObject();
    QCOMPARE(number(process, QStringLiteral("pid")), deadPid);
    QCOMPARE(process.value(QStringLiteral("name")).toString(), QStringLiteral("doomed"));
    QCOMPARE(process.value(QStringLiteral("liveness")).toString(), QStringLiteral("alive"));

    worker.kill();
    QVERIFY(worker.waitForFinished(10'000));
    header = info(path);
    QCOMPARE(header.value(QStringLiteral("processes"))
                 .toArray()
                 .first()
                 .toObject()
                 .value(QStringLiteral("liveness"))
                 .toString(),
        QStringLiteral("dead"));

    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("cleanup"), path, QStringLiteral("--json") });
    QVERIFY2(result.exitedWith(0), describe(result));
    const QJsonArray freed = result.json().value(QStringLiteral("freedSlots")).toArray();
    QCOMPARE(freed.size(), 1);
    QCOMPARE(number(freed.first().toObject(), QStringLiteral("pid")), deadPid);
    QVERIFY(info(path).value(QStringLiteral("processes")).toArray().isEmpty());

    // Only published blocks (its roots and the root table) may remain, owned by nobody.
    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("blocks"), path, QStringLiteral("--json") });
    QVERIFY2(result.exitedWith(0), describe(result));
    for (const QJsonValue& block : result.json().value(QStringLiteral("blocks")).toArray())
        QVERIFY(block.toObject().value(QStringLiteral("ownerSlot")).isNull());
    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("check"), path });
    QVERIFY2(result.exitedWith(0), describe(result));

    // The next worker adopts the dead one's roots, verifies and frees them.
    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("worker"), path, QStringLiteral("--seed"),
        QStringLiteral("12"), QStringLiteral("--ops"), QStringLiteral("10") });
    QVERIFY2(result.exitedWith(0), describe(result));
    header = info(path);
    QVERIFY(header.value(QStringLiteral("roots")).toArray().isEmpty());
    QVERIFY(number(header.value(QStringLiteral("allocator")).toObject(), QStringLiteral("usedBlocks")) <= 1);
}

qint64 TestCommyctl::leaveOrphanRoots(const QString& path, const QString& seed)
{
    QProcess worker;
    worker.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    worker.start(commy::testing::commyctlPath(),
        { QStringLiteral("region"), QStringLiteral("worker"), path, QStringLiteral("--seed"), seed });
    if (!worker.waitForStarted(10'000))
        return 0;
    const auto pid = static_cast<qint64>(worker.processId());
    // qWaitFor stops at the first true, so the flickering root count needs no latch here.
    const bool published
        = QTest::qWaitFor([&] { return info(path).value(QStringLiteral("roots")).toArray().size() >= 2; }, 20'000);
    worker.kill();
    worker.waitForFinished(10'000);
    return published ? pid : 0;
}

void TestCommyctl::workerDetectsADamagedBlock()
{
    const QString path = regionPath();
    CtlResult result = runCommyctl(
        { QStringLiteral("region"), QStringLiteral("create"), path, QStringLiteral("--size"), QStringLiteral("8M") });
    QVERIFY2(result.exitedWith(0), describe(result));
    const qint64 deadPid = leaveOrphanRoots(path, QStringLiteral("21"));
    QVERIFY(deadPid > 0);

    // Flip the first pattern byte of an orphaned root's block, as a stray write from another process would.
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadWrite));
    QString damaged;
    for (const QJsonValue& value : info(path).value(QStringLiteral("roots")).toArray()) {
        const qint64 offset = number(value.toObject(), QStringLiteral("offset"));
        QVERIFY(file.seek(offset));
        const QByteArray stamp = file.read(16);
        const quint32 length
            = quint8(stamp[4]) | quint8(stamp[5]) << 8 | quint8(stamp[6]) << 16 | quint32(quint8(stamp[7])) << 24;
        if (length <= 16)
            continue;
        QVERIFY(file.seek(offset + 16));
        char byte = 0;
        QVERIFY(file.getChar(&byte));
        QVERIFY(file.seek(offset + 16));
        QVERIFY(file.putChar(static_cast<char>(~byte)));
        damaged = value.toObject().value(QStringLiteral("name")).toString();
        break;
    }
    file.close();
    QVERIFY(!damaged.isEmpty());
    QVERIFY(damaged.startsWith(QStringLiteral("w%1-").arg(deadPid)));

    // The next worker adopts the dead one's roots and must refuse the damaged block with exit code 3.
    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("worker"), path, QStringLiteral("--seed"),
        QStringLiteral("22"), QStringLiteral("--ops"), QStringLiteral("10") });
    QVERIFY2(result.exitedWith(3), describe(result));
    QVERIFY2(result.err.contains(QStringLiteral("adopt %1").arg(damaged).toUtf8()), describe(result));
    QVERIFY2(result.err.contains("block pattern differs at byte 16"), describe(result));

    // Contents are the workers' business; the allocator's structures are untouched.
    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("check"), path });
    QVERIFY2(result.exitedWith(0), describe(result));
}

bool TestCommyctl::makeContainerRegion(const QString& path, QString& skip)
{
    namespace shm = commy::shm;
    shm::RegionOptions options;
    options.mode = shm::OpenMode::CreateOnly;
    options.size = 4 << 20;
    auto region = shm::Region::open(path.toStdString(), options);
    if (!region || !(*region)->attach("tst_commyctl")) {
        skip = QStringLiteral("cannot create the region");
        return false;
    }
    auto numbers = shm::SharedVec<std::int64_t>::create(**region, "numbers");
    auto words = shm::SharedVec<shm::SharedString>::create(**region, "words");
    auto text = shm::SharedString::fromStrIn(**region, "text", "hello, world");
    auto raw = (*region)->allocate(64);
    if (!numbers || !words || !text || !raw || !(*region)->createRoot("raw", *raw)) {
        skip = QStringLiteral("cannot create the containers");
        return false;
    }
    for (std::int64_t i = 0; i < 250; ++i) {
        if (!numbers->push(i * 3 - 7))
            return false;
    }
    for (const char* word : { "alpha", "be\"ta", "caf\xc3\xa9", "\xff" }) {
        if (!words->push(word))
            return false;
    }
    auto probe = shm::ContainerReader::open(**region, "numbers");
    if (!probe && probe.error() == shm::RegionError::TypeMismatch) {
        skip = QStringLiteral("no walker for vectors in this build; it comes with container_walk_linear");
        return false;
    }
    return true;
}

void TestCommyctl::dumpShowsElementsAsText()
{
    const QString path = regionPath();
    QString skip;
    if (!makeContainerRegion(path, skip))
        QSKIP(qPrintable(skip));
    CtlResult result
        = runCommyctl({ QStringLiteral("region"), QStringLiteral("dump"), path, QStringLiteral("numbers") });
    QVERIFY2(result.exitedWith(0), describe(result));
    const QStringList lines = QString::fromUtf8(result.out).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QVERIFY2(lines.contains(QStringLiteral("kind      vec")), describe(result));
    QVERIFY2(lines.contains(QStringLiteral("type      vec<i64>")), describe(result));
    QVERIFY2(lines.contains(QStringLiteral("length    250")), describe(result));
    QVERIFY2(lines.contains(QStringLiteral("showing   [0, 100) of 250")), describe(result));
    // 100 elements by default, one per line: index, then value.
    QStringList elements;
    for (const QString& line : lines) {
        if (line.startsWith(QLatin1Char(' ')))
            elements << line.simplified();
    }
    QCOMPARE(elements.size(), 100);
    QCOMPARE(elements.first(), QStringLiteral("0 -7"));
    QCOMPARE(elements.last(), QStringLiteral("99 290"));

    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("dump"), path, QStringLiteral("words") });
    QVERIFY2(result.exitedWith(0), describe(result));
    QVERIFY2(result.out.contains("       1  \"be\\\"ta\"\n"), describe(result));
    QVERIFY2(result.out.contains("       2  \"caf\xc3\xa9\"\n"), describe(result));
    QVERIFY2(result.out.contains("       3  \"\\xff\"\n"), describe(result));

    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("dump"), path, QStringLiteral("text"),
        QStringLiteral("--offset"), QStringLiteral("7") });
    QVERIFY2(result.exitedWith(0), describe(result));
    QVERIFY2(result.out.contains("length    12 bytes"), describe(result));
    QVERIFY2(result.out.contains("       7  \"world\"\n"), describe(result));
}

void TestCommyctl::dumpPagesThroughJson()
{
    const QString path = regionPath();
    QString skip;
    if (!makeContainerRegion(path, skip))
        QSKIP(qPrintable(skip));
    // Pages of 64 cover the vector once, in order.
    QList<qint64> values;
    for (int offset = 0; offset < 300; offset += 64) {
        const CtlResult result = runCommyctl({ QStringLiteral("region"), QStringLiteral("dump"), path,
            QStringLiteral("numbers"), QStringLiteral("--json"), QStringLiteral("--offset"), QString::number(offset),
            QStringLiteral("--limit"), QStringLiteral("64") });
        QVERIFY2(result.exitedWith(0), describe(result));
        const QJsonObject page = result.json();
        QCOMPARE(page.value(QStringLiteral("name")).toString(), QStringLiteral("numbers"));
        QCOMPARE(page.value(QStringLiteral("kind")).toString(), QStringLiteral("vec"));
        QCOMPARE(page.value(QStringLiteral("descriptor")).toString(), QStringLiteral("vec<i64>"));
        QCOMPARE(number(page, QStringLiteral("length")), qint64(250));
        QCOMPARE(number(page, QStringLiteral("offset")), qint64(offset));
        QCOMPARE(number(page, QStringLiteral("limit")), qint64(64));
        QVERIFY(number(page, QStringLiteral("version")) >= 250);
        const QJsonArray elements = page.value(QStringLiteral("elements")).toArray();
        QCOMPARE(elements.size(), qBound(0, 250 - offset, 64));
        for (const QJsonValue& element : elements) {
            QCOMPARE(number(element.toObject(), QStringLiteral("index")), qint64(values.size()));
            values << number(element.toObject(), QStringLiteral("value"));
        }
    }
    QCOMPARE(values.size(), 250);
    for (int i = 0; i < 250; ++i)
        QCOMPARE(values[i], qint64(i * 3 - 7));

    CtlResult result = runCommyctl(
        { QStringLiteral("region"), QStringLiteral("dump"), path, QStringLiteral("words"), QStringLiteral("--json") });
    QVERIFY2(result.exitedWith(0), describe(result));
    const QJsonArray words = result.json().value(QStringLiteral("elements")).toArray();
    QCOMPARE(words.size(), 4);
    QCOMPARE(words[1].toObject().value(QStringLiteral("value")).toString(), QStringLiteral("be\"ta"));
    QCOMPARE(words[2].toObject().value(QStringLiteral("value")).toString(), QString::fromUtf8("caf\xc3\xa9"));
    QCOMPARE(words[3].toObject().value(QStringLiteral("value")).toString(), QString(QChar(0xfffd)));

    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("dump"), path, QStringLiteral("text"),
        QStringLiteral("--json"), QStringLiteral("--limit"), QStringLiteral("5") });
    QVERIFY2(result.exitedWith(0), describe(result));
    QCOMPARE(number(result.json(), QStringLiteral("length")), qint64(12));
    QCOMPARE(result.json().value(QStringLiteral("elements")).toArray()[0].toObject().value(QStringLiteral("value")),
        QJsonValue(QStringLiteral("hello")));
}

void TestCommyctl::dumpErrors()
{
    const QString path = regionPath();
    QString skip;
    if (!makeContainerRegion(path, skip))
        QSKIP(qPrintable(skip));
    const auto dump = [&](const QString& target, const QString& root) {
        return runCommyctl({ QStringLiteral("region"), QStringLiteral("dump"), target, root });
    };
    CtlResult result = dump(path, QStringLiteral("missing"));
    QVERIFY2(result.exitedWith(kExitFailed), describe(result));
    QVERIFY2(result.err.contains("root not found") || result.err.contains("missing"), describe(result));
    result = dump(path, QStringLiteral("raw"));
    QVERIFY2(result.exitedWith(kExitFailed), describe(result));
    QVERIFY2(result.err.contains("not a container"), describe(result));
    result = dump(regionPath(QStringLiteral("absent.region")), QStringLiteral("numbers"));
    QVERIFY2(result.exitedWith(kExitCannotOpen), describe(result));

    // A damaged container header: a wrong magic number.
    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("info"), path, QStringLiteral("--json") });
    qint64 header = -1;
    for (const QJsonValue& root : result.json().value(QStringLiteral("roots")).toArray()) {
        if (root.toObject().value(QStringLiteral("name")).toString() == QLatin1String("numbers"))
            header = number(root.toObject(), QStringLiteral("offset"));
    }
    QVERIFY2(header > 0, describe(result));
    QVERIFY(overwrite(path, header, QByteArray("XXXX")));
    result = dump(path, QStringLiteral("numbers"));
    QVERIFY2(result.exitedWith(kExitCannotOpen), describe(result));
    QVERIFY2(result.err.contains("numbers"), describe(result));
}

void TestCommyctl::infoAndCheckCoverContainers()
{
    const QString path = regionPath();
    QString skip;
    if (!makeContainerRegion(path, skip))
        QSKIP(qPrintable(skip));
    const QJsonObject header = info(path);
    QMap<QString, QJsonObject> roots;
    for (const QJsonValue& root : header.value(QStringLiteral("roots")).toArray())
        roots.insert(root.toObject().value(QStringLiteral("name")).toString(), root.toObject());
    QCOMPARE(roots.size(), 4);
    QCOMPARE(roots[QStringLiteral("numbers")].value(QStringLiteral("kind")).toString(), QStringLiteral("vec"));
    QCOMPARE(roots[QStringLiteral("numbers")].value(QStringLiteral("type")).toString(), QStringLiteral("vec<i64>"));
    QCOMPARE(number(roots[QStringLiteral("numbers")], QStringLiteral("length")), qint64(250));
    QCOMPARE(number(roots[QStringLiteral("words")], QStringLiteral("length")), qint64(4));
    QCOMPARE(number(roots[QStringLiteral("text")], QStringLiteral("length")), qint64(12));
    QVERIFY(!roots[QStringLiteral("raw")].contains(QStringLiteral("length")));
    CtlResult result = runCommyctl({ QStringLiteral("region"), QStringLiteral("info"), path });
    QVERIFY2(result.exitedWith(0), describe(result));
    QVERIFY2(result.out.contains("type vec<string>  offset"), describe(result));
    QVERIFY2(result.out.contains("length 4"), describe(result));

    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("check"), path });
    QVERIFY2(result.exitedWith(0), describe(result));
    QCOMPARE(result.out.trimmed(), QByteArray("consistent (3 containers checked)"));

    // A nested string pointing past the end of the file: the region's own check cannot see it,
    // the container check does.
    const qint64 words = number(roots[QStringLiteral("words")], QStringLiteral("offset"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadWrite));
    QVERIFY(file.seek(words + qint64(offsetof(commy::shm::format::ContainerHeader, body))));
    const QByteArray body = file.read(8);
    file.close();
    quint64 array = 0;
    for (int i = 7; i >= 0; --i)
        array = (array << 8) | static_cast<unsigned char>(body[i]);
    QVERIFY(overwrite(path, qint64(array) + 24, littleEndian64(quint64(QFileInfo(path).size()) + 4096)));
    result = runCommyctl({ QStringLiteral("region"), QStringLiteral("check"), path });
    QVERIFY2(result.exitedWith(kExitFailed), describe(result));
    QVERIFY2(
        result.err.contains("container words inconsistent at offset 0x" + QByteArray::number(qint64(array) + 24, 16)),
        describe(result));
    QVERIFY2(result.err.contains("a nested array at " + QByteArray::number(QFileInfo(path).size() + 4096)),
        describe(result));
    QVERIFY(!result.out.contains("consistent"));
}

QTEST_GUILESS_MAIN(TestCommyctl)
#include "tst_commyctl.moc"
