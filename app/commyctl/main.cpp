// commyctl: command-line access to Commy region files and the multi-process torture run, and to
// running brokers (tenants, keys, services, variables) over WebSocket.

#include "command_line.h"
#include "console.h"
#include "exit_codes.h"
#include "region_commands.h"
#include "remote_commands.h"
#include "torture_command.h"
#include "worker.h"

#include <QCoreApplication>

#include <csignal>
#include <functional>
#include <map>

namespace {

using namespace commy::ctl;

using Command = std::function<int(const QStringList&)>;

const std::map<QString, Command>& regionCommands()
{
    static const std::map<QString, Command> commands {
        { QStringLiteral("create"), runCreate },
        { QStringLiteral("info"), runInfo },
        { QStringLiteral("check"), runCheck },
        { QStringLiteral("blocks"), runBlocks },
        { QStringLiteral("resize"), runResize },
        { QStringLiteral("shrink"), runShrink },
        { QStringLiteral("cleanup"), runCleanup },
        { QStringLiteral("dump"), runDump },
        { QStringLiteral("worker"), runWorker },
        { QStringLiteral("torture"), runTortureCommand },
        { QStringLiteral("demo"), runDemo },
    };
    return commands;
}

QString overview()
{
    return QString(QStringLiteral(
               "Usage: commyctl region <command> [arguments]\n"
               "\n"
               "Commands (sizes take suffixes: 64K, 64M, 1G):\n"
               "  create PATH --size N [--limit N] [--auto-grow]   make a new region file\n"
               "  info PATH [--json]                               header, allocator, counters, roots, processes\n"
               "  check PATH                                       consistency check (exit 0 / 1 / 2)\n"
               "  blocks PATH [--json]                             every block: offset, size, state, owner\n"
               "  resize PATH --size N                             grow online\n"
               "  shrink PATH                                      trim free tail space\n"
               "  cleanup PATH [--json]                            free dead processes' slots and blocks\n"
               "  dump PATH ROOT [--offset N] [--limit N] [--json] decode a container's elements\n"
               "  worker PATH --seed N [--name NAME] [--ops N]     self-verifying random load\n"
               "  torture PATH --workers N --seconds S --kill-interval-ms M [--seed N] [--size N] [--kills N] "
               "[--json]\n"
               "  demo [--seconds S]                               torture on a temporary region until Ctrl-C\n"
               "\n"
               "'commyctl region <command> --help' describes one command.\n"
               "\n"))
        + remoteOverview()
        + QStringLiteral("\n"
                         "Connection options (before the group; COMMY_URL and COMMY_KEY are the defaults):\n"
                         "  --url URL          ws://HOST:PORT or wss://HOST:PORT\n"
                         "  --key KEY          an API key (shown once by 'key create', or DATA_DIR/admin.key)\n"
                         "  --key-tenant T     the tenant the key belongs to; omit it for a server key\n"
                         "  --ca-cert FILE     trust this PEM certificate for wss\n"
                         "  --insecure         accept any TLS certificate (testing only)\n"
                         "'commyctl <group> <command> --help' describes one command.");
}

int usageError(const QString& message)
{
    printErr(QStringLiteral("commyctl: %1").arg(message));
    printErr(QStringLiteral("Try 'commyctl --help'."));
    return ExitUsage;
}

} // namespace

int main(int argc, char* argv[])
{
    // Output piped into `head` must not kill a torture or demo run before it cleans up: with
    // SIGPIPE ignored a write to a closed pipe just fails.
    std::signal(SIGPIPE, SIG_IGN);
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("commyctl"));
    const QStringList args = QCoreApplication::arguments();

    if (args.size() >= 2
        && (args[1] == QLatin1String("--help") || args[1] == QLatin1String("-h") || args[1] == QLatin1String("help"))) {
        printOut(overview());
        return ExitOk;
    }
    if (args.size() < 2)
        return usageError(QStringLiteral("missing command"));

    // Connection options come before the group: "commyctl --url U --key K service list acme".
    RemoteOptions remote;
    remote.url = QUrl(qEnvironmentVariable("COMMY_URL"));
    remote.key = qEnvironmentVariable("COMMY_KEY");
    qsizetype next = 1;
    for (; next < args.size() && args[next].startsWith(QLatin1String("--")); ++next) {
        const QString option = args[next];
        const bool hasValue = next + 1 < args.size();
        if (option == QLatin1String("--insecure"))
            remote.insecure = true;
        else if (option == QLatin1String("--url") && hasValue)
            remote.url = QUrl(args[++next]);
        else if (option == QLatin1String("--key") && hasValue)
            remote.key = args[++next];
        else if (option == QLatin1String("--key-tenant") && hasValue)
            remote.keyTenant = args[++next];
        else if (option == QLatin1String("--ca-cert") && hasValue)
            remote.caCertificateFile = args[++next];
        else
            return usageError(QStringLiteral("unknown or incomplete option '%1'").arg(option));
    }
    if (next >= args.size())
        return usageError(QStringLiteral("missing command"));
    if (isRemoteGroup(args[next])) {
        try {
            return runRemote(remote, args.mid(next));
        } catch (const UsageError& error) {
            printErr(QStringLiteral("commyctl %1: %2").arg(error.command(), error.message()));
            printErr(QStringLiteral("Try 'commyctl %1 --help'.").arg(error.command()));
            return ExitUsage;
        }
    }
    if (next != 1)
        return usageError(QStringLiteral("connection options apply to broker commands only"));
    if (args[1] != QLatin1String("region"))
        return usageError(QStringLiteral("unknown command '%1'").arg(args[1]));
    if (args.size() < 3)
        return usageError(QStringLiteral("missing region command"));
    if (args[2] == QLatin1String("--help") || args[2] == QLatin1String("-h")) {
        printOut(overview());
        return ExitOk;
    }
    const auto command = regionCommands().find(args[2]);
    if (command == regionCommands().end())
        return usageError(QStringLiteral("unknown region command '%1'").arg(args[2]));

    // The subcommand parser sees "region <command>" as its program name and the rest as arguments.
    QStringList commandArgs = args.mid(3);
    commandArgs.prepend(QStringLiteral("commyctl region %1").arg(args[2]));
    try {
        return command->second(commandArgs);
    } catch (const UsageError& error) {
        printErr(QStringLiteral("commyctl %1: %2").arg(error.command(), error.message()));
        printErr(QStringLiteral("Try 'commyctl %1 --help'.").arg(error.command()));
        return ExitUsage;
    }
}
