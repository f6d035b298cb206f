#include "broker_error.h"

namespace commy::broker {

using protocol::ErrorCode;

Unexpected<protocol::Error> storeFailure(StoreError error, const QString& what)
{
    switch (error) {
    case StoreError::InvalidName:
        return fail(ErrorCode::InvalidRequest, QStringLiteral("invalid name for %1").arg(what));
    case StoreError::InvalidArgument:
        return fail(ErrorCode::InvalidRequest, QStringLiteral("invalid arguments for %1").arg(what));
    case StoreError::NotFound:
        return fail(ErrorCode::NotFound, QStringLiteral("%1 not found").arg(what));
    case StoreError::AlreadyExists:
        return fail(ErrorCode::AlreadyExists, QStringLiteral("%1 already exists").arg(what));
    case StoreError::AuthenticationFailed:
        return fail(ErrorCode::Unauthorized, QStringLiteral("authentication failed"));
    case StoreError::Database:
        break;
    }
    return fail(ErrorCode::InternalError, QStringLiteral("the broker's database failed"));
}

Unexpected<protocol::Error> regionFailure(shm::RegionError error, const QString& what)
{
    using shm::RegionError;
    const QString reason = QString::fromLatin1(shm::errorMessage(error));
    switch (error) {
    case RegionError::NotFound:
    case RegionError::RootNotFound:
        return fail(ErrorCode::NotFound, QStringLiteral("%1 not found").arg(what));
    case RegionError::RootExists:
    case RegionError::AlreadyExists:
        return fail(ErrorCode::AlreadyExists, QStringLiteral("%1 already exists").arg(what));
    case RegionError::OutOfMemory:
    case RegionError::LimitExceeded:
    case RegionError::NoSpace:
    case RegionError::JournalFull:
    case RegionError::ProcessTableFull:
        return fail(ErrorCode::ResourceExhausted, QStringLiteral("%1: %2").arg(what, reason));
    case RegionError::TypeMismatch:
        return fail(ErrorCode::InvalidRequest, QStringLiteral("%1 is not a broker variable").arg(what));
    case RegionError::LockTimeout:
        return fail(ErrorCode::Timeout, QStringLiteral("%1: %2").arg(what, reason));
    default:
        break;
    }
    return fail(ErrorCode::InternalError, QStringLiteral("%1: %2").arg(what, reason));
}

} // namespace commy::broker
