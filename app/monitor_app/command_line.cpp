#include "command_line.h"

#include <QCommandLineParser>

namespace commy::monitor {

QStringList monitorViewNames()
{
    return { QStringLiteral("overview"), QStringLiteral("region"), QStringLiteral("heartbeats"),
        QStringLiteral("container"), QStringLiteral("events") };
}

Expected<MonitorCommandLine, QString> parseMonitorCommandLine(
    const QStringList& arguments, const QString& environmentKey)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Commy monitor: watch brokers' tenants, regions, processes and containers.\n"
                       "With no broker configured (or --demo) it starts an embedded broker on 127.0.0.1 with a\n"
                       "demo workload and connects to it."));
    const QCommandLineOption help({ QStringLiteral("h"), QStringLiteral("help") }, QStringLiteral("Show this help."));
    const QCommandLineOption version(
        { QStringLiteral("v"), QStringLiteral("version") }, QStringLiteral("Show the version."));
    const QCommandLineOption connect(QStringLiteral("connect"),
        QStringLiteral("Watch the broker at URL (ws:// or wss://) for this run; not remembered."),
        QStringLiteral("URL"));
    const QCommandLineOption key(QStringLiteral("key"),
        QStringLiteral("The key for --connect (a server_admin key sees every tenant); default: $COMMY_KEY."),
        QStringLiteral("KEY"));
    const QCommandLineOption demo(
        QStringLiteral("demo"), QStringLiteral("Start the embedded broker and its demo workload and watch it."));
    const QCommandLineOption screenshot(QStringLiteral("screenshot"),
        QStringLiteral("Render the window offscreen to a PNG once the data has loaded, then exit."),
        QStringLiteral("FILE"));
    const QCommandLineOption view(QStringLiteral("view"),
        QStringLiteral("The view to open: %1.").arg(monitorViewNames().join(QStringLiteral(", "))),
        QStringLiteral("NAME"));
    const QCommandLineOption timeout(QStringLiteral("timeout"),
        QStringLiteral("How long --screenshot waits for the view's data (default 30)."), QStringLiteral("SECONDS"));
    parser.addOptions({ help, version, connect, key, demo, screenshot, view, timeout });

    if (!parser.parse(arguments))
        return unexpected(parser.errorText());
    MonitorCommandLine line;
    if (parser.isSet(help)) {
        line.action = MonitorCommandLine::Action::Help;
        line.text = parser.helpText();
        return line;
    }
    if (parser.isSet(version)) {
        line.action = MonitorCommandLine::Action::Version;
        line.text = QStringLiteral("commy-monitor %1\n").arg(QStringLiteral(COMMY_VERSION));
        return line;
    }
    if (!parser.positionalArguments().isEmpty())
        return unexpected(QStringLiteral("unexpected argument: %1").arg(parser.positionalArguments().first()));

    line.demo = parser.isSet(demo);
    if (parser.isSet(connect)) {
        if (line.demo)
            return unexpected(QStringLiteral("--connect and --demo exclude each other"));
        line.connectUrl = QUrl(parser.value(connect), QUrl::StrictMode);
        const QString scheme = line.connectUrl.scheme();
        if (!line.connectUrl.isValid() || (scheme != u"ws" && scheme != u"wss") || line.connectUrl.host().isEmpty())
            return unexpected(
                QStringLiteral("--connect needs a ws:// or wss:// URL, not '%1'").arg(parser.value(connect)));
        line.key = parser.isSet(key) ? parser.value(key) : environmentKey;
        if (line.key.isEmpty())
            return unexpected(QStringLiteral("--connect needs --key KEY (or COMMY_KEY)"));
    } else if (parser.isSet(key)) {
        return unexpected(QStringLiteral("--key only goes with --connect"));
    }
    if (parser.isSet(view)) {
        line.view = parser.value(view);
        if (!monitorViewNames().contains(line.view))
            return unexpected(QStringLiteral("unknown view '%1' (one of: %2)")
                                  .arg(line.view, monitorViewNames().join(QStringLiteral(", "))));
    }
    line.screenshotFile = parser.value(screenshot);
    if (parser.isSet(screenshot) && line.screenshotFile.isEmpty())
        return unexpected(QStringLiteral("--screenshot needs a file name"));
    if (parser.isSet(timeout)) {
        bool number = false;
        line.screenshotTimeoutSeconds = parser.value(timeout).toInt(&number);
        if (!number || line.screenshotTimeoutSeconds < 1 || line.screenshotTimeoutSeconds > 3600)
            return unexpected(QStringLiteral("--timeout needs a number of seconds from 1 to 3600"));
        if (line.screenshotFile.isEmpty())
            return unexpected(QStringLiteral("--timeout only goes with --screenshot"));
    }
    return line;
}

} // namespace commy::monitor
