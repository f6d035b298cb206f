#pragma once

#include <QStringList>

namespace commy::ctl {

// `commyctl region worker PATH --seed N [--name NAME] [--ops N]`: a self-verifying random load on a
// region, meant to be SIGKILLed at any moment by `region torture`.
int runWorker(const QStringList& args);

} // namespace commy::ctl
