#pragma once

// commyd's logging: category "commy.commyd", and one plain line format on stderr (no colours), with
// syslog priority prefixes when stderr goes to the journal.

#include <QLoggingCategory>

namespace commy::commyd {

Q_DECLARE_LOGGING_CATEGORY(lcCommyd)

void installLogFormat();

} // namespace commy::commyd
