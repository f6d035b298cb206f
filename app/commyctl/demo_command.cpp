#include "command_line.h"
#include "console.h"
#include "exit_codes.h"
#include "torture.h"
#include "torture_command.h"
#include "torture_report.h"

#include <QCoreApplication>
#include <QDir>
#include <QTemporaryDir>

namespace commy::ctl {

int runDemo(const QStringList& args)
{
    CommandParser parser(QStringLiteral("region demo"), QStringLiteral("[--seconds S] [--kill-interval-ms M]"),
        QStringLiteral("Four workers hammer a temporary region while some are SIGKILLed; a live line every\n"
                       "second, and a final report (cleanup, consistency check, leaked bytes) at the end."));
    parser.addOption(QCommandLineOption(QStringLiteral("seconds"),
        QStringLiteral("Run time; 0 (default) runs until Ctrl-C."), QStringLiteral("S"), QStringLiteral("0")));
    parser.addOption(QCommandLineOption(QStringLiteral("kill-interval-ms"),
        QStringLiteral("Mean time between kills (default 100)."), QStringLiteral("M"), QStringLiteral("100")));
    if (!parser.parse(args))
        return ExitOk;

    QTemporaryDir directory(QDir::tempPath() + QStringLiteral("/commy-demo-XXXXXX"));
    if (!directory.isValid()) {
        printErr(QStringLiteral("commyctl: cannot create a temporary directory: %1").arg(directory.errorString()));
        return ExitCannotOpen;
    }
    TortureOptions options;
    options.path = directory.filePath(QStringLiteral("demo.region"));
    options.program = QCoreApplication::applicationFilePath();
    options.workers = 4;
    options.seconds = static_cast<double>(parser.number(QStringLiteral("seconds"), 0, 365ull * 24 * 3600));
    options.killIntervalMs = static_cast<int>(parser.number(QStringLiteral("kill-interval-ms"), 1, 3'600'000));
    printOut(QStringLiteral("demo: 4 workers on %1, a SIGKILL every ~%2 ms%3")
                 .arg(options.path)
                 .arg(options.killIntervalMs)
                 .arg(options.seconds > 0 ? QStringLiteral(" for %1 s").arg(options.seconds)
                                          : QStringLiteral("; Ctrl-C stops")));
    return printTortureReport(runTorture(options), false);
}

} // namespace commy::ctl
