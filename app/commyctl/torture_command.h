#pragma once

#include <QStringList>

namespace commy::ctl {

// `commyctl region torture PATH --workers N --seconds S --kill-interval-ms M [...]`
int runTortureCommand(const QStringList& args);
// `commyctl region demo [--seconds S]`: a torture run on a temporary region, until Ctrl-C.
int runDemo(const QStringList& args);

} // namespace commy::ctl
