// Liveness and cleanup: the OS decides Dead (exited, killed, pid reused), heartbeat age decides
// Stale, a busy process is never Dead; cleanup() frees dead slots and reclaims their unpublished
// blocks; abandoned resizes are detected and finished or rolled back.

#include "shm_pattern.h"
#include "shm_test_support.h"

#include <commy/shm/region.h>
#include <commy/shm/region_format.h>

#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QtTest>

#include <chrono>
#include <csignal>
#include <cstddef>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <unistd.h>
#include <vector>

using namespace commy::shm;
using namespace commy::shmtest;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;

struct Attached {
    std::uint32_t slot = 0;
    qint64 pid = 0;
};

// Parses the child's "attached <slot> <pid>" line.
std::optional<Attached> parseAttached(const QString& line)
{
    const QStringList parts = line.split(QLatin1Char(' '));
    if (parts.size() != 3 || parts[0] != QLatin1String("attached"))
        return std::nullopt;
    return Attached { parts[1].toUInt(), parts[2].toLongLong() };
}

std::optional<ProcessInfo> findSlot(Region& region, std::uint32_t slot, std::chrono::milliseconds staleAfter);

std::optional<Liveness> livenessOf(Region& region, std::uint32_t slot, std::chrono::milliseconds staleAfter)
{
    auto info = findSlot(region, slot, staleAfter);
    return info ? std::optional<Liveness>(info->liveness) : std::nullopt;
}

std::optional<ProcessInfo> findSlot(Region& region, std::uint32_t slot, std::chrono::milliseconds staleAfter)
{
    auto list = region.processes(staleAfter);
    if (!list)
        return std::nullopt;
    for (const ProcessInfo& info : *list) {
        if (info.slot == slot)
            return info;
    }
    return std::nullopt;
}

// Fields 14, 15 (utime, stime) and 22 (starttime) of /proc/<pid>/stat.
struct ProcStat {
    std::uint64_t cpuTicks = 0;
    std::uint64_t startTime = 0;
};
std::optional<ProcStat> procStat(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return std::nullopt;
    const QByteArray text = f.readAll();
    const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 of the file.
    if (fields.size() < 20)
        return std::nullopt;
    return ProcStat { fields[11].toULongLong() + fields[12].toULongLong(), fields[19].toULongLong() };
}

// Overwrites one 8-byte word of a region file through the file, as another (buggy or test) process
// would; mappings of the file see it at once.
bool patchWord(const QString& path, std::uint64_t offset, std::uint64_t value)
{
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDWR);
    if (fd < 0)
        return false;
    const bool ok = ::pwrite(fd, &value, sizeof value, static_cast<off_t>(offset)) == sizeof value;
    ::close(fd);
    return ok;
}

std::uint64_t resizeField(std::size_t field) { return offsetof(format::RegionHeader, resize) + field; }

std::uint64_t nowNs()
{
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

} // namespace

class TestLiveness : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void exitWithoutDetachIsDead();
    void detachLeavesTheTable();
    void killedIsDeadWithin100ms_data();
    void killedIsDeadWithin100ms();
    void reusedPidIsDead();
    void busyProcessIsStaleNeverDead();
    void heartbeatThreadKeepsAProcessAlive();
    void heartbeatInThisProcess();
    void cleanupFreesDeadSlotsAndReclaimsBlocks();
    void detachReclaimsOwnUnpublishedBlocks();
    void fullProcessTableReusesDeadSlots();
    void abandonedResizeIsFinishedOrRolledBack();
    void resizeRecordOfALiveOwner();

private:
    // Starts a child with `arguments` and returns where it attached.
    std::optional<Attached> startAttached(ChildProcess& child, const QStringList& arguments);

    RegionTempDir m_dir;
    int m_file = 0;
    QString nextPath() { return m_dir.filePath(QStringLiteral("region-%1").arg(++m_file)); }
};

void TestLiveness::initTestCase() { QVERIFY(m_dir.isValid()); }

std::optional<Attached> TestLiveness::startAttached(ChildProcess& child, const QStringList& arguments)
{
    if (!child.start(arguments))
        return std::nullopt;
    auto attached = parseAttached(child.waitForLine("attached"));
    if (attached && attached->pid != child.pid())
        return std::nullopt;
    return attached;
}

void TestLiveness::exitWithoutDetachIsDead()
{
    const QString path = nextPath();
    auto region = createRegion(path, 256 * KiB);
    QVERIFY(region);
    Region& r = **region;

    ChildProcess child;
    auto attached = startAttached(child, { "attach-and-wait", path, "exiter" });
    QVERIFY2(attached, qPrintable(child.transcript()));
    auto alive = findSlot(r, attached->slot, 10s);
    QVERIFY(alive);
    COMPARE_LIVENESS(alive->liveness, Liveness::Alive);
    QCOMPARE(alive->pid, std::uint64_t(attached->pid));
    QCOMPARE(alive->name, std::string("exiter"));
    QVERIFY(alive->startTime != 0);
    QCOMPARE(alive->startTime, procStat(attached->pid)->startTime);
    QVERIFY(alive->attachedAtNs > 0 && alive->attachedAtNs <= nowNs());

    // A normal exit (status 0) that never detached. The parent has not reaped it yet: first a
    // zombie, then gone; Dead either way.
    child.send("exit");
    QElapsedTimer timer;
    timer.start();
    std::optional<ProcessInfo> info;
    do {
        info = findSlot(r, attached->slot, 10s);
        QVERIFY(info);
    } while (info->liveness != Liveness::Dead && timer.elapsed() < 5000);
    COMPARE_LIVENESS(info->liveness, Liveness::Dead);
    QVERIFY(child.waitForExit());
    QVERIFY(child.exitedNormally());
    QCOMPARE(child.exitCode(), 0);
    info = findSlot(r, attached->slot, 10s);
    QVERIFY(info);
    COMPARE_LIVENESS(info->liveness, Liveness::Dead); // reaped now
}

void TestLiveness::detachLeavesTheTable()
{
    const QString path = nextPath();
    auto region = createRegion(path, 256 * KiB);
    QVERIFY(region);
    Region& r = **region;
    ChildProcess child;
    auto attached = startAttached(child, { "attach-and-wait", path, "polite" });
    QVERIFY(attached);
    QVERIFY(findSlot(r, attached->slot, 10s));
    child.send("detach");
    QVERIFY(!child.waitForLine("detached").isNull());
    QVERIFY(child.waitForExit());
    QCOMPARE(child.exitCode(), 0);
    QVERIFY(!findSlot(r, attached->slot, 10s));
    auto report = r.cleanup();
    QVERIFY(report);
    QVERIFY(report->freedSlots.empty());
}

void TestLiveness::killedIsDeadWithin100ms_data()
{
    QTest::addColumn<QStringList>("arguments"); // after the path
    QTest::newRow("idle") << QStringList { "attach-and-wait", "idle" };
    QTest::newRow("with heartbeat thread") << QStringList { "attach-and-wait", "beating", "20" };
    QTest::newRow("busy") << QStringList { "busy", "20000" };
}

void TestLiveness::killedIsDeadWithin100ms()
{
    QFETCH(QStringList, arguments);
    const QString path = nextPath();
    auto region = createRegion(path, 256 * KiB);
    QVERIFY(region);
    Region& r = **region;
    ChildProcess child;
    QStringList args = arguments;
    args.insert(1, path);
    auto attached = startAttached(child, args);
    QVERIFY2(attached, qPrintable(child.transcript()));
    auto before = findSlot(r, attached->slot, 10s);
    QVERIFY(before);
    QVERIFY(before->liveness != Liveness::Dead);

    QCOMPARE(::kill(static_cast<pid_t>(attached->pid), SIGKILL), 0);
    QElapsedTimer timer;
    timer.start();
    std::optional<ProcessInfo> info;
    do {
        info = findSlot(r, attached->slot, 10s);
        QVERIFY(info);
    } while (info->liveness != Liveness::Dead && timer.elapsed() < 5000);
    const qint64 elapsed = timer.elapsed();
    COMPARE_LIVENESS(info->liveness, Liveness::Dead);
    QVERIFY2(elapsed < 100, qPrintable(QStringLiteral("Dead after %1 ms").arg(elapsed)));
    qInfo("Dead %lld ms after SIGKILL", elapsed);
    QVERIFY(child.waitForExit());
    QVERIFY(!child.exitedNormally());
}

void TestLiveness::reusedPidIsDead()
{
    // A slot whose pid is alive but belongs to another process (its start time differs) is Dead.
    const QString path = nextPath();
    auto region = createRegion(path, 256 * KiB);
    QVERIFY(region);
    Region& r = **region;
    auto slot = r.attach("me");
    QVERIFY(slot);
    auto me = findSlot(r, *slot, 10s);
    QVERIFY(me);
    COMPARE_LIVENESS(me->liveness, Liveness::Alive);
    QCOMPARE(me->pid, std::uint64_t(::getpid()));
    const std::uint64_t startTimeField = offsetof(format::RegionHeader, processes) + *slot * sizeof(format::ProcessSlot)
        + offsetof(format::ProcessSlot, startTime);
    QVERIFY(patchWord(path, startTimeField, me->startTime + 1));
    auto reused = findSlot(r, *slot, 10s);
    QVERIFY(reused);
    COMPARE_LIVENESS(reused->liveness, Liveness::Dead);
    // cleanup() agrees and frees it.
    auto report = r.cleanup();
    QVERIFY(report);
    QCOMPARE(report->freedSlots.size(), 1u);
    QCOMPARE(report->freedSlots.front().slot, *slot);
    QCOMPARE(report->freedSlots.front().pid, std::uint64_t(::getpid()));
    QCOMPARE(report->freedSlots.front().name, std::string("me"));
    QVERIFY(!findSlot(r, *slot, 10s));
}

void TestLiveness::busyProcessIsStaleNeverDead()
{
    const QString path = nextPath();
    auto region = createRegion(path, 256 * KiB);
    QVERIFY(region);
    Region& r = **region;
    ChildProcess child;
    auto attached = startAttached(child, { "busy", path, "20000" });
    QVERIFY2(attached, qPrintable(child.transcript()));
    const auto staleAfter = 200ms;

    // It turns Stale once its heartbeat (taken at attach) is older than staleAfter...
    QElapsedTimer timer;
    timer.start();
    std::optional<ProcessInfo> info;
    for (;;) {
        info = findSlot(r, attached->slot, staleAfter);
        QVERIFY(info);
        QVERIFY2(info->liveness != Liveness::Dead, "a busy process was declared dead");
        if (info->liveness == Liveness::Stale || timer.elapsed() > 5000)
            break;
        QTest::qWait(5);
    }
    COMPARE_LIVENESS(info->liveness, Liveness::Stale);
    const std::uint64_t heartbeat = info->lastHeartbeatNs;
    QVERIFY(nowNs() - heartbeat >= std::uint64_t(std::chrono::nanoseconds(staleAfter).count()));

    // ...and stays Stale, never Dead, while it burns CPU for well over staleAfter.
    auto cpuBefore = procStat(attached->pid);
    QVERIFY(cpuBefore);
    QElapsedTimer window;
    window.start();
    int samples = 0;
    while (window.elapsed() < 500) {
        info = findSlot(r, attached->slot, staleAfter);
        QVERIFY(info);
        COMPARE_LIVENESS(info->liveness, Liveness::Stale);
        QCOMPARE(info->lastHeartbeatNs, heartbeat);
        // staleAfter 0 makes no difference to Dead either.
        auto strict = findSlot(r, attached->slot, 0ms);
        QVERIFY(strict);
        COMPARE_LIVENESS(strict->liveness, Liveness::Stale);
        ++samples;
        QTest::qWait(10);
    }
    auto cpuAfter = procStat(attached->pid);
    QVERIFY(cpuAfter);
    QVERIFY(samples >= 10);
    // The child really was busy: it used CPU time during the window (clock ticks are 10 ms).
    QVERIFY2(cpuAfter->cpuTicks >= cpuBefore->cpuTicks + 5,
        qPrintable(QStringLiteral("%1 ticks").arg(cpuAfter->cpuTicks - cpuBefore->cpuTicks)));
    // Cleanup leaves a busy process alone.
    auto report = r.cleanup();
    QVERIFY(report);
    QVERIFY(report->freedSlots.empty());
    QVERIFY(findSlot(r, attached->slot, staleAfter));

    child.killAndReap();
    info = findSlot(r, attached->slot, staleAfter);
    QVERIFY(info);
    COMPARE_LIVENESS(info->liveness, Liveness::Dead);
}

void TestLiveness::heartbeatThreadKeepsAProcessAlive()
{
    const QString path = nextPath();
    auto region = createRegion(path, 256 * KiB);
    QVERIFY(region);
    Region& r = **region;
    // The child's main thread burns CPU; only its heartbeat thread (every 30 ms) touches the region.
    ChildProcess child;
    auto attached = startAttached(child, { "heartbeat-busy", path, "20000", "30" });
    QVERIFY2(attached, qPrintable(child.transcript()));
    const auto staleAfter = 300ms;

    QElapsedTimer window;
    window.start();
    std::uint64_t lastBeat = 0;
    int beats = 0, samples = 0;
    while (window.elapsed() < 1000) {
        auto info = findSlot(r, attached->slot, staleAfter);
        QVERIFY(info);
        COMPARE_LIVENESS(info->liveness, Liveness::Alive);
        if (info->lastHeartbeatNs != lastBeat) {
            QVERIFY(info->lastHeartbeatNs > lastBeat);
            lastBeat = info->lastHeartbeatNs;
            ++beats;
        }
        ++samples;
        QTest::qWait(10);
    }
    // Over 1 s (more than three times staleAfter) the heartbeat moved many times.
    QVERIFY2(beats >= 10, qPrintable(QStringLiteral("%1 heartbeats seen in %2 samples").arg(beats).arg(samples)));
    child.send("stop");
    QVERIFY(!child.waitForLine("detached").isNull());
    QVERIFY(child.waitForExit());
    QCOMPARE(child.exitCode(), 0);
    QVERIFY(!findSlot(r, attached->slot, staleAfter));
}

void TestLiveness::heartbeatInThisProcess()
{
    const QString path = nextPath();
    auto region = createRegion(path, 256 * KiB);
    QVERIFY(region);
    Region& r = **region;
    auto slot = r.attach("self");
    QVERIFY(slot);
    const auto staleAfter = 200ms;
    // Without heartbeats it goes Stale (never Dead: this process is running).
    QTRY_VERIFY_WITH_TIMEOUT(livenessOf(r, *slot, staleAfter) == Liveness::Stale, 5000);
    auto stale = findSlot(r, *slot, staleAfter);
    QVERIFY(stale);
    const std::uint64_t old = stale->lastHeartbeatNs;
    r.heartbeat();
    auto info = findSlot(r, *slot, staleAfter);
    QVERIFY(info);
    COMPARE_LIVENESS(info->liveness, Liveness::Alive);
    QVERIFY(info->lastHeartbeatNs > old);

    // The heartbeat thread keeps it Alive over several staleAfter periods...
    r.startHeartbeatThread(10ms);
    QElapsedTimer window;
    window.start();
    while (window.elapsed() < 700) {
        QVERIFY(livenessOf(r, *slot, staleAfter) == Liveness::Alive);
        QTest::qWait(10);
    }
    // ...and once stopped, it goes Stale again.
    r.stopHeartbeatThread();
    QTRY_VERIFY_WITH_TIMEOUT(livenessOf(r, *slot, staleAfter) == Liveness::Stale, 5000);
    // A heartbeat without being attached does nothing and does not crash.
    QVERIFY(r.detach());
    r.heartbeat();
    r.startHeartbeatThread(10ms); // ignored when not attached
    r.stopHeartbeatThread();
}

void TestLiveness::cleanupFreesDeadSlotsAndReclaimsBlocks()
{
    const QString path = nextPath();
    auto region = createRegion(path, 1 * MiB);
    QVERIFY(region);
    Region& r = **region;
    auto mySlot = r.attach("parent");
    QVERIFY(mySlot);
    auto mine = r.allocate(777);
    QVERIFY(mine);
    fillPattern(r.pointer(*mine, 777), 777, 77);

    // A: 20 blocks, every 4th published, then SIGKILLed. B: busy and stale, but alive. C: exits
    // normally without detaching, owning nothing.
    ChildProcess a, b, c;
    QVERIFY(a.start({ "alloc-unpublished", path, "20", "1000", "4" }));
    std::vector<std::pair<std::uint64_t, bool>> aBlocks;
    for (int i = 0; i < 20; ++i) {
        const QStringList parts = a.waitForLine("block").split(QLatin1Char(' '));
        QCOMPARE(parts.size(), 3);
        aBlocks.emplace_back(parts[1].toULongLong(), parts[2] == QLatin1String("1"));
    }
    auto attachedA = parseAttached(a.waitForLine("attached"));
    QVERIFY(attachedA);
    auto attachedB = startAttached(b, { "busy", path, "20000" });
    QVERIFY(attachedB);
    auto attachedC = startAttached(c, { "attach-and-wait", path, "leaver" });
    QVERIFY(attachedC);
    c.send("exit");
    QVERIFY(c.waitForExit());
    QCOMPARE(c.exitCode(), 0);

    // What A owns, according to the block walk.
    auto walk = r.blocks();
    QVERIFY(walk);
    std::uint64_t ownedBytes = 0, ownedBlocks = 0, publishedByA = 0;
    for (const BlockInfo& info : *walk) {
        if (!info.free && info.ownerSlot == attachedA->slot) {
            ownedBytes += info.size;
            ++ownedBlocks;
        }
    }
    for (const auto& [offset, published] : aBlocks)
        publishedByA += published;
    QCOMPARE(ownedBlocks, 15u);
    QCOMPARE(publishedByA, 5u);

    QCOMPARE(::kill(static_cast<pid_t>(attachedA->pid), SIGKILL), 0);
    QVERIFY(a.waitForExit());
    auto before = r.stats();
    QVERIFY(before);

    auto report = r.cleanup();
    QVERIFY2(report, report ? "" : errorName(report.error()));
    QCOMPARE(report->freedSlots.size(), 2u);
    std::vector<std::uint32_t> freed;
    for (const auto& slot : report->freedSlots) {
        freed.push_back(slot.slot);
        if (slot.slot == attachedA->slot) {
            QCOMPARE(slot.pid, std::uint64_t(attachedA->pid));
            QCOMPARE(slot.name, std::string("alloc-unpublished"));
        } else {
            QCOMPARE(slot.slot, attachedC->slot);
            QCOMPARE(slot.pid, std::uint64_t(attachedC->pid));
            QCOMPARE(slot.name, std::string("leaver"));
        }
    }
    QVERIFY(std::find(freed.begin(), freed.end(), attachedA->slot) != freed.end());
    QCOMPARE(report->reclaimedBlocks, ownedBlocks);
    QCOMPARE(report->reclaimedBytes, ownedBytes);
    QVERIFY(!report->lockRecovered);
    QVERIFY(!report->resizeAborted);

    auto after = r.stats();
    QVERIFY(after);
    QCOMPARE(after->freeBytes, before->freeBytes + ownedBytes);
    QCOMPARE(after->usedBlocks, before->usedBlocks - ownedBlocks);
    QCOMPARE(after->reclaimedBytes, before->reclaimedBytes + ownedBytes);
    QCOMPARE(after->cleanups, before->cleanups + 1);
    // A's published blocks stay, now owned by nobody; the rest are free.
    auto walkAfter = r.blocks();
    QVERIFY(walkAfter);
    for (const auto& [blockOffset, published] : aBlocks) {
        const std::uint64_t offset = blockOffset; // a lambda may not capture a structured binding (Clang 14)
        const auto it = std::find_if(walkAfter->begin(), walkAfter->end(),
            [&](const BlockInfo& info) { return info.offset + format::kBlockHeaderBytes == offset; });
        if (published) {
            QVERIFY(it != walkAfter->end());
            QVERIFY(!it->free && it->published);
        } else {
            QVERIFY(it == walkAfter->end() || it->free);
        }
        auto again = r.deallocate(offset);
        QCOMPARE(again.hasValue(), published); // published blocks can still be freed explicitly
    }
    auto processes = r.processes(10s);
    QVERIFY(processes);
    QCOMPARE(processes->size(), 2u); // the parent and busy B
    for (const ProcessInfo& p : *processes)
        QVERIFY(p.slot == *mySlot || p.slot == attachedB->slot);
    QCOMPARE(verifyPattern(r.pointer(*mine, 777), 777, 77), -1);
    auto sane = r.checkSanity();
    QVERIFY2(sane, sane ? "" : sane.error().description.c_str());

    // Nothing left to do the second time.
    auto second = r.cleanup();
    QVERIFY(second);
    QVERIFY(second->freedSlots.empty());
    QCOMPARE(second->reclaimedBlocks, 0u);
    QCOMPARE(second->reclaimedBytes, 0u);
}

void TestLiveness::detachReclaimsOwnUnpublishedBlocks()
{
    const QString path = nextPath();
    auto region = createRegion(path, 1 * MiB);
    QVERIFY(region);
    Region& r = **region;
    QVERIFY(r.attach("owner"));
    auto empty = r.stats();
    QVERIFY(empty);
    std::vector<std::uint64_t> offsets;
    for (int i = 0; i < 10; ++i) {
        auto offset = r.allocate(100 * (i + 1));
        QVERIFY(offset);
        offsets.push_back(*offset);
    }
    QVERIFY(r.publish(offsets[0]));
    QVERIFY(r.publish(offsets[1]));
    QVERIFY(r.createRoot("root2", offsets[2]));
    QVERIFY(r.createRoot("root3", offsets[3]));
    auto taken = r.takeRoot("root3"); // unpublished again: ours
    QVERIFY(taken);
    QCOMPARE(*taken, offsets[3]);
    auto missing = r.takeRoot("root3");
    QVERIFY(!missing);
    COMPARE_ERROR(missing.error(), RegionError::RootNotFound);
    auto withRoots = r.stats();
    QVERIFY(withRoots);

    QVERIFY(r.detach());
    auto after = r.stats();
    QVERIFY(after);
    // Left: blocks 0, 1, 2 and the root table.
    QCOMPARE(after->usedBlocks, 4u);
    auto walk = r.blocks();
    QVERIFY(walk);
    for (const BlockInfo& b : *walk)
        QVERIFY(b.free || b.published);
    for (int i = 0; i < 10; ++i) {
        if (i == 2)
            continue; // root2's block: removeRoot() frees it
        auto freed = r.deallocate(offsets[i]);
        QCOMPARE(freed.hasValue(), i < 2);
        if (i >= 2) {
            COMPARE_ERROR(freed.error(), RegionError::NotAllocated);
        }
    }
    QVERIFY(r.removeRoot("root2"));
    auto end = r.stats();
    QVERIFY(end);
    QCOMPARE(end->usedBlocks, 1u); // the root table
    QVERIFY(r.checkSanity());
}

void TestLiveness::fullProcessTableReusesDeadSlots()
{
    const QString path = nextPath();
    // A limit keeps each handle's mapping small.
    auto region = createRegion(path, 256 * KiB, false, 256 * KiB);
    QVERIFY(region);
    Region& r = **region;

    // One slot belongs to a process that dies holding three blocks.
    ChildProcess dead;
    QVERIFY(dead.start({ "alloc-unpublished", path, "3", "500", "0" }));
    auto attached = parseAttached(dead.waitForLine("attached"));
    QVERIFY2(attached, qPrintable(dead.transcript()));
    dead.killAndReap();

    // This process takes every other slot.
    std::vector<std::unique_ptr<Region>> handles;
    for (std::uint32_t i = 0; i + 1 < format::kMaxProcesses; ++i) {
        auto handle = openRegion(path);
        QVERIFY2(handle, handle ? "" : errorName(handle.error()));
        auto slot = (*handle)->attach("filler");
        QVERIFY2(slot, slot ? "" : errorName(slot.error()));
        QVERIFY(*slot != attached->slot);
        handles.push_back(std::move(*handle));
    }
    auto used = r.stats();
    QVERIFY(used);
    QCOMPARE(used->usedBlocks, 3u);

    // The table is full, but one slot is dead: attach() takes it and reclaims what it owned.
    auto slot = r.attach("late");
    QVERIFY2(slot, slot ? "" : errorName(slot.error()));
    QCOMPARE(*slot, attached->slot);
    auto reclaimed = r.stats();
    QVERIFY(reclaimed);
    QCOMPARE(reclaimed->usedBlocks, 0u);
    QVERIFY(r.checkSanity());

    // Now every slot is alive: nobody else gets in.
    auto extra = openRegion(path);
    QVERIFY(extra);
    auto refused = (*extra)->attach("one too many");
    QVERIFY(!refused);
    COMPARE_ERROR(refused.error(), RegionError::ProcessTableFull);
    QVERIFY(!(*extra)->attached());
    auto list = r.processes();
    QVERIFY(list);
    QCOMPARE(list->size(), std::size_t(format::kMaxProcesses));

    // Names that do not fit are refused before any slot is taken.
    handles.pop_back();
    auto longName = (*extra)->attach(std::string(format::kProcessNameBytes, 'n'));
    QVERIFY(!longName);
    COMPARE_ERROR(longName.error(), RegionError::NameTooLong);
    QVERIFY((*extra)->attach(std::string(format::kProcessNameBytes - 1, 'n')));
}

void TestLiveness::abandonedResizeIsFinishedOrRolledBack()
{
    // A child is SIGKILLed after its n-th journaled write inside resizeFile(): before the resize is
    // recorded, after it is recorded but before the header has the new size, or after. Whatever n is,
    // the survivors end with a consistent region whose file size matches its header.
    const std::uint64_t oldSize = 256 * KiB, newSize = 1 * MiB;
    int none = 0, rolledBack = 0, finished = 0, viaCleanup = 0, viaCleanupFailedResize = 0;
    bool survived = false;
    for (int n = 1; n <= 40 && !survived; ++n) {
        const QString path = nextPath();
        auto region = createRegion(path, oldSize);
        QVERIFY(region);
        Region& r = **region;
        auto before = r.stats();
        QVERIFY(before);

        ChildProcess child;
        QVERIFY(child.start({ "resize-crash", path, QString::number(newSize), QString::number(n) }));
        QVERIFY(child.waitForExit());
        if (child.exitedNormally()) {
            QCOMPARE(child.exitCode(), 3);
            survived = true; // n is past the last journaled write: the resize completed
            QCOMPARE(r.size(), newSize);
            auto timedOut = r.checkOperationTimeout(0ms);
            QVERIFY(timedOut);
            QVERIFY(!*timedOut);
            continue;
        }
        QCOMPARE(child.exitCode(), int(SIGKILL));

        // The child died holding the lock: the next call repairs.
        auto stats = r.stats();
        QVERIFY(stats);
        QCOMPARE(stats->lockRecoveries, before->lockRecoveries + 1);
        auto pending = r.checkOperationTimeout(1h);
        QVERIFY(pending);
        if (!*pending) {
            // Killed before the resize record was committed: nothing happened.
            ++none;
            QCOMPARE(r.size(), oldSize);
            QCOMPARE(QFileInfo(path).size(), qint64(oldSize));
            auto nothing = r.cleanupFailedResize(0ms);
            QVERIFY(nothing);
            QVERIFY(!*nothing);
        } else {
            // The dead owner's resize is reported whatever the timeout, and repaired once.
            if (viaCleanup <= viaCleanupFailedResize) {
                auto report = r.cleanup();
                QVERIFY(report);
                QVERIFY(report->resizeAborted);
                ++viaCleanup;
            } else {
                auto repaired = r.cleanupFailedResize(1h);
                QVERIFY(repaired);
                QVERIFY(*repaired);
                ++viaCleanupFailedResize;
            }
            auto again = r.checkOperationTimeout(0ms);
            QVERIFY(again);
            QVERIFY(!*again);
            auto twice = r.cleanupFailedResize(0ms);
            QVERIFY(twice);
            QVERIFY(!*twice);
            // The header is the truth: the file was cut back, or kept at its new size.
            QCOMPARE(std::uint64_t(QFileInfo(path).size()), r.size());
            if (r.size() == oldSize)
                ++rolledBack;
            else if (r.size() == newSize)
                ++finished;
            else
                QFAIL(qPrintable(QStringLiteral("size %1 after n=%2").arg(r.size()).arg(n)));
        }
        auto sane = r.checkSanity();
        QVERIFY2(sane, qPrintable(QStringLiteral("n=%1: %2").arg(n).arg(sane ? "" : sane.error().description.c_str())));
        auto after = r.stats();
        QVERIFY(after);
        QCOMPARE(after->arenaBytes, r.size() - format::kArenaOffset);
        // Another resize goes through.
        auto resized = r.resizeFile(2 * MiB);
        QVERIFY2(resized, resized ? "" : errorName(resized.error()));
        QCOMPARE(QFileInfo(path).size(), qint64(2 * MiB));
        QVERIFY(r.checkSanity());
    }
    qInfo("kill points: %d before the record, %d rolled back, %d finished", none, rolledBack, finished);
    QVERIFY2(survived, "the resize never completed: raise the bound on n");
    QVERIFY2(none > 0 && rolledBack > 0 && finished > 0,
        qPrintable(QStringLiteral("none %1, rolled back %2, finished %3").arg(none).arg(rolledBack).arg(finished)));
    QVERIFY(viaCleanup > 0 && viaCleanupFailedResize > 0);
}

void TestLiveness::resizeRecordOfALiveOwner()
{
    // A resize recorded by a live process (this one) that is taking its time.
    const QString path = nextPath();
    auto region = createRegion(path, 256 * KiB);
    QVERIFY(region);
    Region& r = **region;
    auto self = procStat(::getpid());
    QVERIFY(self);
    using R = format::ResizeRecord;
    QVERIFY(patchWord(path, resizeField(offsetof(R, ownerPid)), std::uint64_t(::getpid())));
    QVERIFY(patchWord(path, resizeField(offsetof(R, ownerStartTime)), self->startTime));
    QVERIFY(patchWord(path, resizeField(offsetof(R, startedAtNs)), nowNs()));
    QVERIFY(patchWord(path, resizeField(offsetof(R, oldSize)), 256 * KiB));
    QVERIFY(patchWord(path, resizeField(offsetof(R, targetSize)), 512 * KiB));
    QVERIFY(patchWord(path, resizeField(offsetof(R, inProgress)), 1));

    // Fresh and alive: nobody may take over.
    auto timedOut = r.checkOperationTimeout(1h);
    QVERIFY(timedOut);
    QVERIFY(!*timedOut);
    auto grow = r.resizeFile(512 * KiB);
    QVERIFY(!grow);
    COMPARE_ERROR(grow.error(), RegionError::ResizeInProgress);
    auto shrink = r.shrinkToUsage();
    QVERIFY(!shrink);
    COMPARE_ERROR(shrink.error(), RegionError::ResizeInProgress);
    auto cleanedUp = r.cleanupFailedResize(1h);
    QVERIFY(cleanedUp);
    QVERIFY(!*cleanedUp);
    auto report = r.cleanup();
    QVERIFY(report);
    QVERIFY(!report->resizeAborted);

    // Ten seconds old: timed out for a 1 s timeout, not for a 1 h one.
    QVERIFY(patchWord(path, resizeField(offsetof(R, startedAtNs)), nowNs() - 10'000'000'000ull));
    timedOut = r.checkOperationTimeout(1s);
    QVERIFY(timedOut);
    QVERIFY(*timedOut);
    timedOut = r.checkOperationTimeout(1h);
    QVERIFY(timedOut);
    QVERIFY(!*timedOut);
    cleanedUp = r.cleanupFailedResize(1h);
    QVERIFY(cleanedUp);
    QVERIFY(!*cleanedUp);

    // The owner's pid now belongs to another process (start time differs): dead, whatever the timeout.
    QVERIFY(patchWord(path, resizeField(offsetof(R, startedAtNs)), nowNs()));
    QVERIFY(patchWord(path, resizeField(offsetof(R, ownerStartTime)), self->startTime + 1));
    timedOut = r.checkOperationTimeout(1h);
    QVERIFY(timedOut);
    QVERIFY(*timedOut);

    // Back to alive but timed out: cleanupFailedResize with a short timeout repairs it.
    QVERIFY(patchWord(path, resizeField(offsetof(R, ownerStartTime)), self->startTime));
    QVERIFY(patchWord(path, resizeField(offsetof(R, startedAtNs)), nowNs() - 10'000'000'000ull));
    cleanedUp = r.cleanupFailedResize(1s);
    QVERIFY(cleanedUp);
    QVERIFY(*cleanedUp);
    timedOut = r.checkOperationTimeout(0ms);
    QVERIFY(timedOut);
    QVERIFY(!*timedOut);
    QCOMPARE(r.size(), 256 * KiB);
    QVERIFY(r.resizeFile(512 * KiB));
    QCOMPARE(r.size(), 512 * KiB);
    QVERIFY(r.checkSanity());
}

QTEST_GUILESS_MAIN(TestLiveness)
#include "tst_liveness.moc"
