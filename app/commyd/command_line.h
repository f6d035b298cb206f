#pragma once

// commyd's command line (QCommandLineParser): what to do, and the settings given there.

#include "daemon_config.h"

#include <commy/shm/expected.h>

#include <QStringList>

namespace commy::commyd {

struct CommandLine {
    enum class Action { Run, Help, Version };
    Action action = Action::Run;
    QString text; // what to print for Help and Version
    std::optional<QString> configFile;
    ConfigValues values;
};

// A usage error is the message to print (exit code 2).
Expected<CommandLine, QString> parseCommandLine(const QStringList& arguments);

} // namespace commy::commyd
