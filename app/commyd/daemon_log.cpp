#include "daemon_log.h"

namespace commy::commyd {

Q_LOGGING_CATEGORY(lcCommyd, "commy.commyd")

void installLogFormat()
{
    // systemd sets JOURNAL_STREAM when stderr is the journal: "<N>" prefixes give each line its
    // priority there, and the journal adds its own timestamps.
    if (qEnvironmentVariableIsSet("JOURNAL_STREAM"))
        qSetMessagePattern(QStringLiteral("%{if-debug}<7>%{endif}%{if-info}<6>%{endif}%{if-warning}<4>%{endif}"
                                          "%{if-critical}<3>%{endif}%{if-fatal}<2>%{endif}%{category}: %{message}"));
    else
        qSetMessagePattern(QStringLiteral("%{time yyyy-MM-ddThh:mm:ss.zzz} %{type} %{category}: %{message}"));
    // Debug output is for whoever asks for it (QT_LOGGING_RULES overrides this).
    QLoggingCategory::setFilterRules(QStringLiteral("commy.*.debug=false"));
}

} // namespace commy::commyd
