#pragma once

#include "remote_session.h"

#include <QStringList>

namespace commy::ctl {

// "tenant", "key", "service", "var": the command groups that talk to a broker.
bool isRemoteGroup(const QString& group);
// args: "<group> <command> [arguments]". Connects with `options` unless only --help is asked for.
int runRemote(const RemoteOptions& options, const QStringList& args);
QString remoteOverview();

} // namespace commy::ctl
