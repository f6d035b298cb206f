#include "torture.h"

#include "console.h"
#include "leak_audit.h"
#include "worker_pool.h"

#include <commy/shm/region.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <ctime>
#include <memory>
#include <random>

namespace {

using namespace commy::ctl;
namespace shm = commy::shm;

using Clock = std::chrono::steady_clock;

struct Counters {
    std::uint64_t operations = 0;
    std::uint64_t lockRecoveries = 0;
    std::uint64_t reclaimedBytes = 0;
    std::uint64_t cleanups = 0;
};

Counters countersOf(const shm::AllocatorStats& stats)
{
    return { stats.allocations + stats.deallocations, stats.lockRecoveries, stats.reclaimedBytes, stats.cleanups };
}

sigset_t awaitedSignals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    return set;
}

class TortureRun {
public:
    TortureRun(const TortureOptions& options, shm::Region& region)
        : m_options(options)
        , m_region(region)
        , m_pool(options.program, options.path, options.seed)
        , m_random(options.seed)
    {
        m_report.path = options.path;
        m_report.workers = options.workers;
    }

    TortureReport run()
    {
        m_report.started = true;
        auto before = m_region.stats();
        if (!before) {
            m_report.workerFailures << QStringLiteral("cannot read the region's stats: %1")
                                           .arg(QLatin1String(shm::errorMessage(before.error())));
            return m_report;
        }
        m_baseline = countersOf(*before);
        m_lastLive = m_baseline;

        const Clock::time_point start = Clock::now();
        if (spawnWorkers())
            superviseUntilDone(start);
        m_pool.killAll();
        m_report.durationSeconds = std::chrono::duration<double>(Clock::now() - start).count();
        m_report.spawned = m_pool.spawned();
        finish();
        return m_report;
    }

private:
    bool spawnWorkers()
    {
        while (m_pool.size() < static_cast<std::size_t>(m_options.workers)) {
            if (!m_pool.spawn()) {
                m_report.workerFailures << QStringLiteral("could not start a worker");
                return false;
            }
        }
        return true;
    }

    Clock::duration nextKillDelay()
    {
        // Jitter, so kills do not fall into step with anything periodic in the workers.
        const double factor = std::uniform_real_distribution<double>(0.5, 1.5)(m_random);
        return std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double, std::milli>(m_options.killIntervalMs * factor));
    }

    void superviseUntilDone(Clock::time_point start)
    {
        const bool bounded = m_options.seconds > 0;
        const Clock::time_point end
            = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(m_options.seconds));
        Clock::time_point nextKill = start + nextKillDelay();
        Clock::time_point nextLive = start + std::chrono::seconds(1);
        m_lastLiveAt = start;
        for (;;) {
            const Clock::time_point now = Clock::now();
            if (m_stop || (bounded && now >= end) || (m_options.maxKills != 0 && m_report.kills >= m_options.maxKills))
                return;
            if (now >= nextKill) {
                if (!killOne())
                    return;
                nextKill = Clock::now() + nextKillDelay();
                continue;
            }
            if (now >= nextLive) {
                printLiveLine(now, start);
                nextLive += std::chrono::seconds(1);
                continue;
            }
            Clock::time_point wakeAt = std::min(nextKill, nextLive);
            if (bounded)
                wakeAt = std::min(wakeAt, end);
            waitForSignal(wakeAt - now);
        }
    }

    // Sleeps until a signal we care about arrives or the timeout passes.
    void waitForSignal(Clock::duration timeout)
    {
        sigset_t awaited = awaitedSignals();
        const auto ns
            = std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count());
        timespec wait { static_cast<std::time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000) };
        const int signal = ::sigtimedwait(&awaited, nullptr, &wait);
        if (signal == SIGINT || signal == SIGTERM) {
            m_stop = true;
            m_report.interrupted = true;
        } else if (signal == SIGCHLD) {
            collectUnexpectedExits();
        }
    }

    void collectUnexpectedExits()
    {
        for (const WorkerExit& exit : m_pool.reapUnexpected()) {
            m_report.workerFailures << exit.describe();
            printErr(QStringLiteral("commyctl: %1").arg(exit.describe()));
            m_stop = true;
        }
    }

    bool killOne()
    {
        // A worker that died by itself must be seen as such, not mistaken for our victim.
        collectUnexpectedExits();
        if (m_stop)
            return false;
        const std::size_t victim = std::uniform_int_distribution<std::size_t>(0, m_pool.size() - 1)(m_random);
        m_pool.killAndReap(victim);
        ++m_report.kills;
        // What a supervisor does after a crash: free the dead slot and the blocks it never published,
        // while the other workers keep going.
        if (auto cleaned = m_region.cleanup(); !cleaned) {
            m_report.workerFailures << QStringLiteral("cleanup during the run failed: %1")
                                           .arg(QLatin1String(shm::errorMessage(cleaned.error())));
            return false;
        }
        if (!m_pool.spawn()) {
            m_report.workerFailures << QStringLiteral("could not restart a worker");
            return false;
        }
        return true;
    }

    void printLiveLine(Clock::time_point now, Clock::time_point start)
    {
        auto stats = m_region.stats();
        if (!stats)
            return;
        const Counters current = countersOf(*stats);
        const double elapsed = std::chrono::duration<double>(now - m_lastLiveAt).count();
        const double opsPerSecond
            = elapsed > 0 ? static_cast<double>(current.operations - m_lastLive.operations) / elapsed : 0.0;
        m_lastLive = current;
        m_lastLiveAt = now;
        const QString line
            = QStringLiteral("[%1 s] %2 ops/s  kills %3  lock recoveries %4  used %5  fragmentation %6  workers %7")
                  .arg(std::chrono::duration<double>(now - start).count(), 4, 'f', 0)
                  .arg(opsPerSecond, 9, 'f', 0)
                  .arg(m_report.kills)
                  .arg(current.lockRecoveries - m_baseline.lockRecoveries)
                  .arg(formatBytes(stats->usedBytes))
                  .arg(stats->fragmentation, 0, 'f', 3)
                  .arg(m_pool.size());
        if (m_options.liveOnStderr)
            printErr(line);
        else
            printOut(line);
    }

    void finish()
    {
        if (auto cleaned = m_region.cleanup()) {
            m_report.finalCleanupReclaimedBytes = cleaned->reclaimedBytes;
            m_report.finalCleanupFreedSlots = cleaned->freedSlots.size();
        } else {
            m_report.workerFailures
                << QStringLiteral("final cleanup failed: %1").arg(QLatin1String(shm::errorMessage(cleaned.error())));
        }
        if (auto sane = m_region.checkSanity()) {
            m_report.checkPassed = true;
            m_report.checkMessage = QStringLiteral("consistent");
        } else {
            m_report.checkMessage
                = QStringLiteral("inconsistent at offset %1: %2")
                      .arg(formatHex(sane.error().offset), QString::fromStdString(sane.error().description));
        }
        if (auto after = m_region.stats()) {
            const Counters end = countersOf(*after);
            m_report.operations = end.operations - m_baseline.operations;
            m_report.lockRecoveries = end.lockRecoveries - m_baseline.lockRecoveries;
            m_report.reclaimedBytes = end.reclaimedBytes - m_baseline.reclaimedBytes;
            m_report.cleanups = end.cleanups - m_baseline.cleanups;
            m_report.usedBytes = after->usedBytes;
            m_report.freeBytes = after->freeBytes;
            m_report.fragmentation = after->fragmentation;
        }
        if (!m_report.checkPassed)
            return; // walking a damaged region proves nothing
        if (auto audit = auditLeaks(m_region)) {
            m_report.auditDone = true;
            m_report.leakedBytes = audit->leakedBytes();
            m_report.leakedBlocks = audit->leakedBlocks();
            m_report.unownedBytes = audit->unownedBytes;
            m_report.unreferencedBytes = audit->unreferencedBytes;
            m_report.rootBlocks = audit->rootBlocks;
        } else {
            m_report.checkMessage
                += QStringLiteral("; leak audit failed: %1").arg(QLatin1String(shm::errorMessage(audit.error())));
        }
    }

    const TortureOptions& m_options;
    shm::Region& m_region;
    WorkerPool m_pool;
    std::mt19937_64 m_random;
    TortureReport m_report;
    Counters m_baseline;
    Counters m_lastLive;
    Clock::time_point m_lastLiveAt;
    bool m_stop = false;
};

} // namespace

namespace commy::ctl {

TortureReport runTorture(const TortureOptions& options)
{
    // Blocked before any worker exists, so no SIGCHLD or Ctrl-C can slip past sigtimedwait().
    const sigset_t awaited = awaitedSignals();
    ::sigprocmask(SIG_BLOCK, &awaited, nullptr);

    shm::RegionOptions regionOptions;
    regionOptions.mode = shm::OpenMode::OpenOrCreate;
    regionOptions.size = options.size;
    auto region = shm::Region::open(options.path.toStdString(), regionOptions);
    if (!region) {
        TortureReport report;
        report.path = options.path;
        report.startError
            = QStringLiteral("cannot open %1: %2").arg(options.path, QLatin1String(shm::errorMessage(region.error())));
        return report;
    }
    // Leftovers of an earlier run (or of a crashed supervisor) must not be counted against this one.
    (void)(*region)->cleanup();
    return TortureRun(options, **region).run();
}

} // namespace commy::ctl
