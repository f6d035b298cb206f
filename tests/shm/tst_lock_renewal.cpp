// A lock left held by a holder the kernel never released (a damaged file, or a file carried over
// from an earlier boot) must be renewed, not waited on forever, and a half-done mutation rolled back.

#include <commy/shm/region.h>
#include <commy/shm/region_format.h>

#include "shm_test_support.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

using namespace commy::shm;

namespace {

// Maps the header of a closed region file for forging its lock state.
class RawHeader {
public:
    explicit RawHeader(const QString& path)
    {
        m_fd = ::open(path.toLocal8Bit().constData(), O_RDWR);
        void* base = ::mmap(nullptr, sizeof(format::RegionHeader), PROT_READ | PROT_WRITE, MAP_SHARED, m_fd, 0);
        m_header = base == MAP_FAILED ? nullptr : static_cast<format::RegionHeader*>(base);
    }
    ~RawHeader()
    {
        if (m_header)
            ::munmap(m_header, sizeof(format::RegionHeader));
        ::close(m_fd);
    }
    format::RegionHeader* operator->() const { return m_header; }
    bool ok() const { return m_header != nullptr; }

    // glibc keeps a robust mutex's holder thread id in its futex word. A tid above the kernel's
    // limit for pids (at most 2^22) cannot exist, so nobody will ever release or mark it.
    void holdLockByVanishedThread()
    {
        reinterpret_cast<pthread_mutex_t*>(m_header->lock.mutexStorage)->__data.__lock = 0x3ffffff0;
    }

    // An interrupted mutation: the largest bin's head was overwritten after its old value was journaled.
    std::uint64_t interruptMutation()
    {
        std::uint64_t& head = m_header->allocator.binHeads[format::kBinCount - 1];
        const std::uint64_t old = head;
        m_header->journal.entries[0] = { static_cast<std::uint64_t>(reinterpret_cast<std::byte*>(&head)
                                             - reinterpret_cast<std::byte*>(m_header)),
            old };
        m_header->journal.count = 1;
        head = 12345;
        return old;
    }

private:
    int m_fd = -1;
    format::RegionHeader* m_header = nullptr;
};

} // namespace

class TestLockRenewal : public QObject {
    Q_OBJECT

private slots:
    void init()
    {
        QVERIFY(m_dir.isValid());
        m_path = m_dir.filePath(QStringLiteral("r%1.region").arg(++m_counter));
        auto region = Region::open(m_path.toStdString(), { OpenMode::CreateOnly, 1 << 20 });
        QVERIFY(region.hasValue());
    }

    void vanishedHolderIsRenewedAndJournalRolledBack()
    {
        std::uint64_t headBefore = 0;
        {
            RawHeader raw(m_path);
            QVERIFY(raw.ok());
            raw.holdLockByVanishedThread();
            headBefore = raw.interruptMutation();
        }
        auto region = Region::open(m_path.toStdString(), { OpenMode::OpenExisting });
        QVERIFY(region.hasValue());
        QElapsedTimer timer;
        timer.start();
        auto sane = (*region)->checkSanity();
        QVERIFY2(sane.hasValue(), sane.hasValue() ? "" : sane.error().description.c_str());
        QVERIFY2(timer.elapsed() < 5000, "the lock was waited on instead of renewed");
        auto stats = (*region)->stats();
        QVERIFY(stats.hasValue());
        QCOMPARE(stats->lockRecoveries, 1u);
        RawHeader raw(m_path);
        QCOMPARE(raw->allocator.binHeads[format::kBinCount - 1], headBefore);
    }

    void regionFromAnEarlierBootGetsAFreshLock()
    {
        {
            RawHeader raw(m_path);
            QVERIFY(raw.ok());
            raw.holdLockByVanishedThread();
            raw.interruptMutation();
            raw->lock.bootId ^= 1;
        }
        auto region = Region::open(m_path.toStdString(), { OpenMode::OpenExisting });
        QVERIFY(region.hasValue());
        QElapsedTimer timer;
        timer.start();
        auto sane = (*region)->checkSanity();
        QVERIFY2(sane.hasValue(), sane.hasValue() ? "" : sane.error().description.c_str());
        // Renewed on open, so the first lock does not even wait for the vanished holder.
        QVERIFY(timer.elapsed() < 400);
    }

    void liveHolderIsWaitedFor()
    {
        // A holder that exists (this process, in another Region object) is never renewed away.
        auto holder = Region::open(m_path.toStdString(), { OpenMode::OpenExisting });
        auto waiter = Region::open(m_path.toStdString(), { OpenMode::OpenExisting });
        QVERIFY(holder.hasValue() && waiter.hasValue());
        RawHeader raw(m_path);
        auto* mutex = reinterpret_cast<pthread_mutex_t*>(raw->lock.mutexStorage);
        QCOMPARE(pthread_mutex_lock(mutex), 0);
        std::atomic<bool> done { false };
        std::thread thread([&] {
            (void)(*waiter)->stats();
            done = true;
        });
        QTest::qWait(1200); // longer than two bounded waits: the waiter must still be waiting
        QVERIFY(!done);
        pthread_mutex_unlock(mutex);
        thread.join();
        QVERIFY(done);
    }

    void liveButWrongHolderEndsInLockTimeout()
    {
        // A damaged lock word can name a thread that exists but will never release it (here pid 1).
        // That cannot be told from a slow holder, so the wait is bounded by the lock timeout.
        {
            RawHeader raw(m_path);
            QVERIFY(raw.ok());
            reinterpret_cast<pthread_mutex_t*>(raw->lock.mutexStorage)->__data.__lock = 1;
        }
        RegionOptions options;
        options.lockTimeout = std::chrono::milliseconds(300);
        auto region = Region::open(m_path.toStdString(), options);
        QVERIFY(region.hasValue());
        QElapsedTimer timer;
        timer.start();
        auto stats = (*region)->stats();
        QVERIFY(!stats.hasValue());
        COMPARE_ERROR(stats.error(), RegionError::LockTimeout);
        QVERIFY(timer.elapsed() >= 300);
        QVERIFY(timer.elapsed() < 3000);
    }

private:
    QTemporaryDir m_dir;
    QString m_path;
    int m_counter = 0;
};

QTEST_GUILESS_MAIN(TestLockRenewal)
#include "tst_lock_renewal.moc"
