#pragma once

// Text for people, used by DisplayRole only (custom roles carry the raw values).

#include <QString>

#include <QtGlobal>

namespace commy::monitor {

// "0 B", "512 B", "1.5 KiB", "12.0 MiB", ... (binary units, one decimal above bytes).
QString formatBytes(quint64 bytes);
// "42.0 %" for 0.42.
QString formatPercent(double fraction);
// "850 ms", "4.2 s", "3 min 05 s", "2 h 07 min", "3 d 04 h".
QString formatDuration(qint64 ms);

} // namespace commy::monitor
