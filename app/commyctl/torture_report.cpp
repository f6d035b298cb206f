#include "torture_report.h"

#include "console.h"
#include "exit_codes.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace {

QJsonValue jsonNumber(std::uint64_t value) { return QJsonValue(static_cast<double>(value)); }

} // namespace

namespace commy::ctl {

QJsonObject tortureReportToJson(const TortureReport& report)
{
    return QJsonObject {
        { QStringLiteral("path"), report.path },
        { QStringLiteral("passed"), report.passed() },
        { QStringLiteral("startError"), report.startError },
        { QStringLiteral("interrupted"), report.interrupted },
        { QStringLiteral("durationSeconds"), report.durationSeconds },
        { QStringLiteral("workers"), report.workers },
        { QStringLiteral("operations"), jsonNumber(report.operations) },
        { QStringLiteral("opsPerSecond"), report.opsPerSecond() },
        { QStringLiteral("kills"), jsonNumber(report.kills) },
        { QStringLiteral("spawned"), jsonNumber(report.spawned) },
        { QStringLiteral("lockRecoveries"), jsonNumber(report.lockRecoveries) },
        { QStringLiteral("cleanups"), jsonNumber(report.cleanups) },
        { QStringLiteral("reclaimedBytes"), jsonNumber(report.reclaimedBytes) },
        { QStringLiteral("finalCleanup"),
            QJsonObject {
                { QStringLiteral("freedSlots"), jsonNumber(report.finalCleanupFreedSlots) },
                { QStringLiteral("reclaimedBytes"), jsonNumber(report.finalCleanupReclaimedBytes) },
            } },
        { QStringLiteral("checkPassed"), report.checkPassed },
        { QStringLiteral("checkMessage"), report.checkMessage },
        { QStringLiteral("leakAuditDone"), report.auditDone },
        { QStringLiteral("leakedBytes"), jsonNumber(report.leakedBytes) },
        { QStringLiteral("leakedBlocks"), jsonNumber(report.leakedBlocks) },
        { QStringLiteral("unownedBytes"), jsonNumber(report.unownedBytes) },
        { QStringLiteral("unreferencedPublishedBytes"), jsonNumber(report.unreferencedBytes) },
        { QStringLiteral("rootBlocks"), jsonNumber(report.rootBlocks) },
        { QStringLiteral("usedBytes"), jsonNumber(report.usedBytes) },
        { QStringLiteral("freeBytes"), jsonNumber(report.freeBytes) },
        { QStringLiteral("fragmentation"), report.fragmentation },
        { QStringLiteral("workerFailures"), QJsonArray::fromStringList(report.workerFailures) },
    };
}

QStringList tortureReportToText(const TortureReport& report)
{
    QStringList lines;
    if (!report.started) {
        lines << QStringLiteral("torture did not start: %1").arg(report.startError);
        return lines;
    }
    lines << QStringLiteral("torture report for %1%2")
                 .arg(report.path, report.interrupted ? QStringLiteral(" (interrupted)") : QString());
    lines << QStringLiteral("  duration          %1 s").arg(report.durationSeconds, 0, 'f', 1);
    lines << QStringLiteral("  workers           %1 at a time, %2 started").arg(report.workers).arg(report.spawned);
    lines << QStringLiteral("  operations        %1 (%2 ops/s)")
                 .arg(report.operations)
                 .arg(report.opsPerSecond(), 0, 'f', 0);
    lines << QStringLiteral("  kills             %1").arg(report.kills);
    lines << QStringLiteral("  lock recoveries   %1").arg(report.lockRecoveries);
    lines << QStringLiteral("  reclaimed         %1 (%2 bytes) by %3 cleanups")
                 .arg(formatBytes(report.reclaimedBytes))
                 .arg(report.reclaimedBytes)
                 .arg(report.cleanups);
    lines << QStringLiteral("  check             %1").arg(report.checkMessage);
    if (report.auditDone) {
        lines << QStringLiteral("  leaked bytes      %1 in %2 blocks (unowned %3, unreferenced published %4)")
                     .arg(report.leakedBytes)
                     .arg(report.leakedBlocks)
                     .arg(report.unownedBytes)
                     .arg(report.unreferencedBytes);
    } else {
        lines << QStringLiteral("  leaked bytes      not audited");
    }
    lines << QStringLiteral("  region            used %1, free %2, fragmentation %3, %4 root blocks")
                 .arg(formatBytes(report.usedBytes), formatBytes(report.freeBytes))
                 .arg(report.fragmentation, 0, 'f', 3)
                 .arg(report.rootBlocks);
    for (const QString& failure : report.workerFailures)
        lines << QStringLiteral("  FAILURE           %1").arg(failure);
    lines << QStringLiteral("  result            %1")
                 .arg(report.passed() ? QStringLiteral("PASS") : QStringLiteral("FAIL"));
    return lines;
}

int printTortureReport(const TortureReport& report, bool json)
{
    if (json) {
        printOut(
            QString::fromUtf8(QJsonDocument(tortureReportToJson(report)).toJson(QJsonDocument::Indented)).trimmed());
    } else {
        for (const QString& line : tortureReportToText(report))
            printOut(line);
    }
    if (!report.started)
        return ExitCannotOpen;
    return report.passed() ? ExitOk : ExitFailed;
}

} // namespace commy::ctl
