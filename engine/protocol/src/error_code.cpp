#include <commy/protocol/error_code.h>

#include <array>
#include <utility>

namespace commy::protocol {

namespace {

constexpr std::array<std::pair<ErrorCode, const char16_t*>, 9> kNames { {
    { ErrorCode::Unauthorized, u"UNAUTHORIZED" },
    { ErrorCode::PermissionDenied, u"PERMISSION_DENIED" },
    { ErrorCode::NotFound, u"NOT_FOUND" },
    { ErrorCode::AlreadyExists, u"ALREADY_EXISTS" },
    { ErrorCode::InvalidRequest, u"INVALID_REQUEST" },
    { ErrorCode::ResourceExhausted, u"RESOURCE_EXHAUSTED" },
    { ErrorCode::RateLimited, u"RATE_LIMITED" },
    { ErrorCode::Timeout, u"TIMEOUT" },
    { ErrorCode::InternalError, u"INTERNAL_ERROR" },
} };

} // namespace

QString errorCodeName(ErrorCode code)
{
    for (const auto& [value, name] : kNames) {
        if (value == code)
            return QString::fromUtf16(name);
    }
    return QStringLiteral("INTERNAL_ERROR");
}

std::optional<ErrorCode> errorCodeFromName(QStringView name)
{
    for (const auto& [value, text] : kNames) {
        if (name == QStringView(text))
            return value;
    }
    return std::nullopt;
}

} // namespace commy::protocol
