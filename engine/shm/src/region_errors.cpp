#include <commy/shm/region.h>
#include <commy/shm/region_error.h>

namespace commy::shm {

const char* errorMessage(RegionError error)
{
    switch (error) {
    case RegionError::NotFound:
        return "region file not found";
    case RegionError::AlreadyExists:
        return "region file already exists";
    case RegionError::PermissionDenied:
        return "permission denied";
    case RegionError::IoError:
        return "I/O error";
    case RegionError::InvalidArgument:
        return "invalid argument";
    case RegionError::Truncated:
        return "region file is truncated";
    case RegionError::BadMagic:
        return "not a Commy region file (bad magic)";
    case RegionError::UnsupportedVersion:
        return "unsupported region format version";
    case RegionError::AbiMismatch:
        return "region was written by a build with another in-file layout (ABI mismatch)";
    case RegionError::ChecksumMismatch:
        return "region header checksum mismatch";
    case RegionError::Corrupt:
        return "region is corrupt";
    case RegionError::OutOfMemory:
        return "region is full";
    case RegionError::LimitExceeded:
        return "region limit exceeded";
    case RegionError::ProcessTableFull:
        return "process table is full";
    case RegionError::NotAttached:
        return "process is not attached to the region";
    case RegionError::AlreadyAttached:
        return "process is already attached to the region";
    case RegionError::RootExists:
        return "a root with that name exists";
    case RegionError::RootNotFound:
        return "no root with that name";
    case RegionError::NameTooLong:
        return "name too long";
    case RegionError::NotAllocated:
        return "offset is not an allocated block";
    case RegionError::ResizeInProgress:
        return "another resize is in progress";
    case RegionError::LockTimeout:
        return "timed out waiting for the region lock";
    case RegionError::NoSpace:
        return "no space left on the file system for the region";
    case RegionError::TypeMismatch:
        return "the root holds another kind or element type";
    case RegionError::OutOfRange:
        return "index out of range";
    case RegionError::JournalFull:
        return "operation too large for the container's undo journal";
    }
    return "unknown region error";
}

const char* livenessName(Liveness liveness)
{
    switch (liveness) {
    case Liveness::Alive:
        return "alive";
    case Liveness::Stale:
        return "stale";
    case Liveness::Dead:
        return "dead";
    }
    return "unknown";
}

} // namespace commy::shm
