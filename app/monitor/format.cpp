#include "format.h"

#include <QCoreApplication>

#include <array>

namespace commy::monitor {

QString formatBytes(quint64 bytes)
{
    if (bytes < 1024)
        return QCoreApplication::translate("commy::monitor", "%1 B").arg(bytes);
    static constexpr std::array<const char*, 6> units { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    double value = double(bytes) / 1024.0;
    std::size_t unit = 0;
    // Round first so 1023.96 KiB reads "1.0 MiB", not "1024.0 KiB".
    while (value >= 1023.95 && unit + 1 < units.size()) {
        value /= 1024.0;
        ++unit;
    }
    return QStringLiteral("%1 %2").arg(value, 0, 'f', 1).arg(QLatin1String(units[unit]));
}

QString formatPercent(double fraction) { return QStringLiteral("%1 %").arg(fraction * 100.0, 0, 'f', 1); }

QString formatDuration(qint64 ms)
{
    if (ms < 0)
        ms = 0;
    if (ms < 1000)
        return QCoreApplication::translate("commy::monitor", "%1 ms").arg(ms);
    if (ms < 60'000)
        return QCoreApplication::translate("commy::monitor", "%1 s").arg(double(ms) / 1000.0, 0, 'f', 1);
    const qint64 s = ms / 1000;
    const auto two = [](qint64 v) { return QStringLiteral("%1").arg(v, 2, 10, QLatin1Char('0')); };
    if (s < 3600)
        return QCoreApplication::translate("commy::monitor", "%1 min %2 s").arg(s / 60).arg(two(s % 60));
    if (s < 86'400)
        return QCoreApplication::translate("commy::monitor", "%1 h %2 min").arg(s / 3600).arg(two(s / 60 % 60));
    return QCoreApplication::translate("commy::monitor", "%1 d %2 h").arg(s / 86'400).arg(two(s / 3600 % 24));
}

} // namespace commy::monitor
