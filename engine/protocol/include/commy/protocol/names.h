#pragma once

// The rule for tenant, service, variable and key-id names: [A-Za-z0-9_.-]{1,64}, and never "." or
// "..", because tenant and service names become path components of region files.

#include <QStringView>

namespace commy::protocol {

inline constexpr qsizetype kMaxNameLength = 64;

bool isValidName(QStringView name);

} // namespace commy::protocol
