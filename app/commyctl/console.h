#pragma once

#include <QString>

#include <cstdint>

namespace commy::ctl {

// Line-oriented output, flushed at once: several processes (supervisor and workers) share a terminal
// or a pipe, and a test reads the output of a process it may kill.
void printOut(const QString& line);
void printErr(const QString& line);

QString formatBytes(std::uint64_t bytes); // "64.0 MiB (67108864 B)" style, binary units
QString formatHex(std::uint64_t value);

} // namespace commy::ctl
