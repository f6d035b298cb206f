// commyd: the Commy broker daemon.

#include "command_line.h"
#include "config_file.h"
#include "daemon.h"
#include "daemon_log.h"
#include "exit_codes.h"
#include "signal_watcher.h"

#include <QCoreApplication>

#include <cstdio>

namespace {

using namespace commy::commyd;

void printTo(FILE* stream, const QString& text)
{
    const QByteArray bytes = text.toLocal8Bit();
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stream);
    std::fflush(stream);
}

int usageError(const QString& message)
{
    printTo(stderr, QStringLiteral("commyd: %1\nTry 'commyd --help'.\n").arg(message));
    return ExitUsage;
}

int failure(const QString& message)
{
    printTo(stderr, QStringLiteral("commyd: %1\n").arg(message));
    return ExitFailed;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("commyd"));
    QCoreApplication::setApplicationVersion(QStringLiteral(COMMY_VERSION));
    installLogFormat();

    const auto commandLine = parseCommandLine(QCoreApplication::arguments());
    if (!commandLine)
        return usageError(commandLine.error());
    if (commandLine->action != CommandLine::Action::Run) {
        printTo(stdout, commandLine->text);
        return ExitOk;
    }
    ConfigValues fromFile;
    if (commandLine->configFile) {
        auto read = readConfigFile(*commandLine->configFile);
        if (!read)
            return usageError(read.error());
        fromFile = *read;
    }
    const auto config = toDaemonConfig(merge(commandLine->values, fromFile));
    if (!config)
        return usageError(config.error());

    // Before anything starts, so that an early SIGTERM still stops cleanly.
    auto watcher = SignalWatcher::install();
    if (!watcher)
        return failure(watcher.error());

    Daemon daemon(*config);
    QObject::connect(watcher->get(), &SignalWatcher::terminationRequested, &daemon, [&daemon](int signalNumber) {
        qCInfo(lcCommyd, "signal %d received", signalNumber);
        daemon.stop();
    });
    QObject::connect(&daemon, &Daemon::stopped, &app, [] { QCoreApplication::exit(ExitOk); });

    const auto started = daemon.start();
    if (!started)
        return failure(started.error());
    printTo(stdout, QStringLiteral("commyd listening on %1\n").arg(daemon.url().toString()));
    return QCoreApplication::exec();
}
