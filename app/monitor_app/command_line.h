#pragma once

// commy-monitor's command line (QCommandLineParser): which broker to watch, the demo, screenshots.

#include <commy/shm/expected.h>

#include <QString>
#include <QStringList>
#include <QUrl>

namespace commy::monitor {

struct MonitorCommandLine {
    enum class Action { Run, Help, Version };
    Action action = Action::Run;
    QString text; // what to print for Help and Version
    QUrl connectUrl; // --connect: watch this broker for this run only (empty: the remembered ones)
    QString key; // --key, or COMMY_KEY
    bool demo = false; // --demo: the embedded broker and its workload, whatever is configured
    QString screenshotFile; // --screenshot: render to this PNG and exit
    int screenshotTimeoutSeconds = 30; // --timeout: how long --screenshot waits for the view's data
    QString view; // --view: the view to show (and render); empty: the window picks one for the selection
};

// The views --view accepts, in the order the window's view switcher shows them.
QStringList monitorViewNames();

// A usage error is the message to print (exit code 2). `environmentKey` is COMMY_KEY's value.
Expected<MonitorCommandLine, QString> parseMonitorCommandLine(
    const QStringList& arguments, const QString& environmentKey);

} // namespace commy::monitor
