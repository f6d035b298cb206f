// The change journal: bumping a root's version records {root, version, writer} in a ring in the
// region and wakes processes blocked in waitForChange().

#include "shm_test_support.h"

#include <commy/shm/region.h>
#include <commy/shm/region_format.h>

#include <QElapsedTimer>
#include <QtTest>

#include <chrono>

#include <sys/syscall.h>

using namespace commy::shm;
using namespace commy::shmtest;
using namespace std::chrono_literals;

class TestChangeJournal : public QObject {
    Q_OBJECT

private slots:
    void init()
    {
        QVERIFY(m_dir.isValid());
        m_path = m_dir.filePath(QStringLiteral("j%1.region").arg(++m_counter));
        auto created = createRegion(m_path, 1 << 20);
        QVERIFY(created);
        m_region = std::move(*created);
        QVERIFY(m_region->attach("writer"));
        auto offset = m_region->allocate(64);
        QVERIFY(offset);
        QVERIFY(m_region->createRoot("counter", *offset));
        m_rootOffset = *offset;
    }
    void cleanup() { m_region.reset(); }

    void bumpIsRecordedWithRootVersionAndWriter()
    {
        QCOMPARE(m_region->changeSequence(), 0u);
        auto version = m_region->bumpRootVersion("counter");
        QVERIFY(version);
        QCOMPARE(*version, 2u);
        QCOMPARE(m_region->changeSequence(), 1u);
        auto batch = m_region->changesSince(0);
        QVERIFY(batch);
        QVERIFY(!batch->missed);
        QCOMPARE(batch->sequence, 1u);
        QCOMPARE(batch->changes.size(), std::size_t(1));
        const RootChange& change = batch->changes.front();
        QCOMPARE(change.sequence, 1u);
        QCOMPARE(change.rootOffset, m_rootOffset);
        QCOMPARE(change.version, 2u);
        QCOMPARE(change.writerSlot, m_region->slot());
        // Nothing new after the newest sequence.
        auto none = m_region->changesSince(1);
        QVERIFY(none && none->changes.empty() && !none->missed);
    }

    void ringOverflowIsReportedAsMissed()
    {
        const std::uint64_t total = format::kChangeRecords + 10;
        for (std::uint64_t i = 0; i < total; ++i)
            QVERIFY(m_region->bumpRootVersion("counter"));
        auto batch = m_region->changesSince(0);
        QVERIFY(batch);
        QVERIFY(batch->missed);
        QCOMPARE(batch->changes.size(), std::size_t(format::kChangeRecords));
        QCOMPARE(batch->changes.front().sequence, total - format::kChangeRecords + 1);
        QCOMPARE(batch->changes.back().sequence, total);
        QCOMPARE(batch->changes.back().version, total + 1);
        // A reader that kept up misses nothing.
        auto recent = m_region->changesSince(total - 5);
        QVERIFY(recent && !recent->missed);
        QCOMPARE(recent->changes.size(), std::size_t(5));
    }

    void waitTimesOutWithoutAChange()
    {
        QElapsedTimer timer;
        timer.start();
        QCOMPARE(m_region->waitForChange(m_region->changeSequence(), 100ms), 0u);
        QVERIFY(timer.elapsed() >= 100);
        QVERIFY(timer.elapsed() < 2000);
    }

    void waitReturnsAtOnceForAnEarlierSequence()
    {
        QVERIFY(m_region->bumpRootVersion("counter"));
        QElapsedTimer timer;
        timer.start();
        QCOMPARE(m_region->waitForChange(0, 5000ms), 1u);
        QVERIFY(timer.elapsed() < 1000);
    }

    void anotherProcessWakesOnAChange()
    {
        ChildProcess waiter;
        QVERIFY(waiter.start({ QStringLiteral("wait-change"), m_path, QStringLiteral("0"), QStringLiteral("20000") }));
        QVERIFY(!waiter.waitForLine(QStringLiteral("waiting")).isNull());
        // The child says "waiting" just before it blocks; a change made before it blocks must wake it
        // too, which is what the wake word guarantees.
        const auto bumpedAt = std::chrono::steady_clock::now();
        QVERIFY(m_region->bumpRootVersion("counter"));
        const QString woke = waiter.waitForLine(QStringLiteral("woke"), 10000);
        QVERIFY2(!woke.isNull(), qPrintable(waiter.transcript()));
        const QStringList fields = woke.split(QLatin1Char(' '));
        QCOMPARE(fields.value(1), QStringLiteral("1"));
        const auto wokeAt
            = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(fields.value(2).toLongLong()));
        const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(wokeAt - bumpedAt);
        // Woken by the change, not by its 20 s timeout.
        QVERIFY2(latency < 2000ms, qPrintable(QStringLiteral("woke %1 ms after the change").arg(latency.count())));
        QVERIFY(waiter.waitForExit());
        QCOMPARE(waiter.exitCode(), 0);
    }

    // The broker writes through one Region and watches for other processes' writes from another: its
    // own writes must not wake its watcher, every other writer's must.
    void aWaitIgnoringAWriterSleepsThroughItsChanges()
    {
        RegionOptions options;
        options.mode = OpenMode::OpenExisting;
        auto other = Region::open(m_path.toStdString(), options);
        QVERIFY(other);
        QVERIFY((*other)->attach("other writer"));
        QVERIFY((*other)->slot() != m_region->slot());
        const QString ignored = QString::number(m_region->slot());

        // The ignored writer's change does not wake it: it sleeps to its timeout, then counts the change.
        {
            ChildProcess waiter;
            QVERIFY(waiter.start(
                { QStringLiteral("wait-change"), m_path, QStringLiteral("0"), QStringLiteral("800"), ignored }));
            QVERIFY(!waiter.waitForLine(QStringLiteral("waiting")).isNull());
            QVERIFY2(waitUntilBlockedInFutex(waiter.pid()), qPrintable(waiter.transcript()));
            const auto bumpedAt = std::chrono::steady_clock::now();
            QVERIFY(m_region->bumpRootVersion("counter"));
            const QString woke = waiter.waitForLine(QStringLiteral("woke"), 10000);
            QVERIFY2(!woke.isNull(), qPrintable(waiter.transcript()));
            QCOMPARE(woke.split(QLatin1Char(' ')).value(1), QStringLiteral("1"));
            const auto latency = wokeAfter(woke, bumpedAt);
            QVERIFY2(latency >= 600ms, qPrintable(QStringLiteral("woke %1 ms after the change").arg(latency.count())));
            QVERIFY(waiter.waitForExit());
        }
        // Another writer's change wakes it at once.
        {
            ChildProcess waiter;
            QVERIFY(waiter.start(
                { QStringLiteral("wait-change"), m_path, QStringLiteral("1"), QStringLiteral("20000"), ignored }));
            QVERIFY(!waiter.waitForLine(QStringLiteral("waiting")).isNull());
            QVERIFY2(waitUntilBlockedInFutex(waiter.pid()), qPrintable(waiter.transcript()));
            const auto bumpedAt = std::chrono::steady_clock::now();
            QVERIFY((*other)->bumpRootVersion("counter"));
            const QString woke = waiter.waitForLine(QStringLiteral("woke"), 10000);
            QVERIFY2(!woke.isNull(), qPrintable(waiter.transcript()));
            QCOMPARE(woke.split(QLatin1Char(' ')).value(1), QStringLiteral("2"));
            const auto latency = wokeAfter(woke, bumpedAt);
            QVERIFY2(latency < 2000ms, qPrintable(QStringLiteral("woke %1 ms after the change").arg(latency.count())));
            QVERIFY(waiter.waitForExit());
        }
    }

private:
    // True once the process's main thread sleeps in the futex system call (its number is the first
    // field of /proc/PID/syscall), so a change made now must be a wake-up, not a re-check.
    static bool waitUntilBlockedInFutex(qint64 pid)
    {
        QElapsedTimer timer;
        timer.start();
        while (timer.elapsed() < 10000) {
            QFile syscall(QStringLiteral("/proc/%1/syscall").arg(pid));
            if (syscall.open(QIODevice::ReadOnly) && syscall.readAll().startsWith(QByteArray::number(SYS_futex) + ' '))
                return true;
            QThread::yieldCurrentThread();
        }
        return false;
    }

    static std::chrono::milliseconds wokeAfter(const QString& wokeLine, std::chrono::steady_clock::time_point since)
    {
        const auto wokeAt = std::chrono::steady_clock::time_point(
            std::chrono::nanoseconds(wokeLine.split(QLatin1Char(' ')).value(2).toLongLong()));
        return std::chrono::duration_cast<std::chrono::milliseconds>(wokeAt - since);
    }

    RegionTempDir m_dir;
    QString m_path;
    int m_counter = 0;
    std::unique_ptr<Region> m_region;
    std::uint64_t m_rootOffset = 0;
};

QTEST_GUILESS_MAIN(TestChangeJournal)
#include "tst_change_journal.moc"
