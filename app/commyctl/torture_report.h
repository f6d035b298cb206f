#pragma once

#include "torture.h"

#include <QJsonObject>
#include <QStringList>

namespace commy::ctl {

QJsonObject tortureReportToJson(const TortureReport& report);
QStringList tortureReportToText(const TortureReport& report);

// Prints the final report (JSON on stdout, or text) and returns the exit code the run deserves.
int printTortureReport(const TortureReport& report, bool json);

} // namespace commy::ctl
