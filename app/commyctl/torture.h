#pragma once

#include <QString>
#include <QStringList>

#include <cstdint>

namespace commy::ctl {

struct TortureOptions {
    QString path;
    QString program; // this binary, started as `region worker`
    int workers = 4;
    double seconds = 10; // 0 = until SIGINT / SIGTERM
    int killIntervalMs = 100;
    std::uint64_t seed = 1;
    std::uint64_t size = 64ull << 20; // used only when the region is created
    std::uint64_t maxKills = 0; // stop after this many kills; 0 = no limit
    bool liveOnStderr = false; // keep stdout for the JSON report
};

struct TortureReport {
    QString path;
    bool started = false; // false when the region could not be opened: nothing else is meaningful
    QString startError;
    bool interrupted = false;
    double durationSeconds = 0;
    int workers = 0;
    std::uint64_t operations = 0; // allocations + deallocations during the run
    std::uint64_t kills = 0;
    std::uint64_t spawned = 0;
    std::uint64_t lockRecoveries = 0;
    std::uint64_t reclaimedBytes = 0;
    std::uint64_t cleanups = 0;
    QStringList workerFailures;
    std::uint64_t finalCleanupReclaimedBytes = 0;
    std::uint64_t finalCleanupFreedSlots = 0;
    bool checkPassed = false;
    QString checkMessage;
    bool auditDone = false;
    std::uint64_t leakedBytes = 0;
    std::uint64_t leakedBlocks = 0;
    std::uint64_t unownedBytes = 0;
    std::uint64_t unreferencedBytes = 0;
    std::uint64_t rootBlocks = 0;
    std::uint64_t usedBytes = 0;
    std::uint64_t freeBytes = 0;
    double fragmentation = 0;

    double opsPerSecond() const
    {
        return durationSeconds > 0 ? static_cast<double>(operations) / durationSeconds : 0.0;
    }
    bool passed() const { return started && workerFailures.isEmpty() && checkPassed && auditDone && leakedBytes == 0; }
};

// Runs workers against the region, SIGKILLs and respawns them, then cleans up and audits the region.
// Blocks SIGINT, SIGTERM and SIGCHLD in the calling (main) thread to wait for them synchronously.
TortureReport runTorture(const TortureOptions& options);

} // namespace commy::ctl
