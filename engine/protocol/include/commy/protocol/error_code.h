#pragma once

// The error codes a broker answers with, and their wire strings.

#include <QString>
#include <QStringView>

#include <optional>

namespace commy::protocol {

enum class ErrorCode {
    Unauthorized,
    PermissionDenied,
    NotFound,
    AlreadyExists,
    InvalidRequest,
    ResourceExhausted,
    RateLimited,
    Timeout,
    InternalError,
};

// "UNAUTHORIZED", "PERMISSION_DENIED", ...
QString errorCodeName(ErrorCode code);
std::optional<ErrorCode> errorCodeFromName(QStringView name);

} // namespace commy::protocol
