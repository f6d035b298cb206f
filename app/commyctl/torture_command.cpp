#include "torture_command.h"

#include "command_line.h"
#include "exit_codes.h"
#include "torture.h"
#include "torture_report.h"

#include <QCoreApplication>

namespace commy::ctl {

int runTortureCommand(const QStringList& args)
{
    CommandParser parser(QStringLiteral("region torture"),
        QStringLiteral("PATH --workers N --seconds S --kill-interval-ms M [--seed N] [--size N] [--kills N] [--json]"),
        QStringLiteral("Runs worker processes on the region while SIGKILLing and restarting them, then cleans\n"
                       "up, checks the region and audits it for leaked bytes. Exit 0 only if all is well."));
    parser.addPositional(QStringLiteral("PATH"), QStringLiteral("The region file (created if missing)."));
    parser.addOption(QCommandLineOption(
        QStringLiteral("workers"), QStringLiteral("Worker processes at a time."), QStringLiteral("N")));
    parser.addOption(QCommandLineOption(
        QStringLiteral("seconds"), QStringLiteral("Run time; 0 runs until Ctrl-C."), QStringLiteral("S")));
    parser.addOption(QCommandLineOption(QStringLiteral("kill-interval-ms"),
        QStringLiteral("Mean time between kills (jittered)."), QStringLiteral("M")));
    parser.addOption(QCommandLineOption(QStringLiteral("seed"),
        QStringLiteral("Seed of kills and workers (default 1)."), QStringLiteral("N"), QStringLiteral("1")));
    parser.addOption(QCommandLineOption(QStringLiteral("size"),
        QStringLiteral("Size of a region created by this run (default 64M)."), QStringLiteral("N"),
        QStringLiteral("64M")));
    parser.addOption(QCommandLineOption(
        QStringLiteral("kills"), QStringLiteral("Stop once this many workers were killed."), QStringLiteral("N")));
    parser.addOption(QCommandLineOption(
        QStringLiteral("json"), QStringLiteral("Print the final report as JSON (live lines go to stderr).")));
    if (!parser.parse(args))
        return ExitOk;
    for (const char* required : { "workers", "seconds", "kill-interval-ms" }) {
        if (!parser.isSet(QLatin1String(required)))
            parser.fail(QStringLiteral("--%1 is required").arg(QLatin1String(required)));
    }

    TortureOptions options;
    options.path = parser.positional(0);
    options.program = QCoreApplication::applicationFilePath();
    options.workers = static_cast<int>(parser.number(QStringLiteral("workers"), 1, 100));
    options.seconds = static_cast<double>(parser.number(QStringLiteral("seconds"), 0, 365ull * 24 * 3600));
    options.killIntervalMs = static_cast<int>(parser.number(QStringLiteral("kill-interval-ms"), 1, 3'600'000));
    options.seed = parser.number(QStringLiteral("seed"), 0, ~std::uint64_t { 0 });
    options.size = parser.size(QStringLiteral("size"));
    options.maxKills
        = parser.isSet(QStringLiteral("kills")) ? parser.number(QStringLiteral("kills"), 1, ~std::uint64_t { 0 }) : 0;
    const bool json = parser.isSet(QStringLiteral("json"));
    options.liveOnStderr = json;
    return printTortureReport(runTorture(options), json);
}

} // namespace commy::ctl
