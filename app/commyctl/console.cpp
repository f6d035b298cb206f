#include "console.h"

#include <cstdio>

namespace {

void printTo(std::FILE* stream, const QString& line)
{
    const QByteArray bytes = line.toUtf8() + '\n';
    std::fwrite(bytes.constData(), 1, static_cast<std::size_t>(bytes.size()), stream);
    std::fflush(stream);
}

} // namespace

namespace commy::ctl {

void printOut(const QString& line) { printTo(stdout, line); }

void printErr(const QString& line) { printTo(stderr, line); }

QString formatBytes(std::uint64_t bytes)
{
    static const char* const units[] = { "KiB", "MiB", "GiB", "TiB" };
    if (bytes < 1024)
        return QStringLiteral("%1 B").arg(bytes);
    double value = static_cast<double>(bytes);
    int unit = -1;
    while (value >= 1024.0 && unit < 3) {
        value /= 1024.0;
        ++unit;
    }
    return QStringLiteral("%1 %2").arg(value, 0, 'f', 1).arg(QLatin1String(units[unit]));
}

QString formatHex(std::uint64_t value) { return QStringLiteral("0x%1").arg(value, 0, 16); }

} // namespace commy::ctl
