#pragma once

#include <commy/shm/expected.h>

#include <cstdint>

namespace commy::shm {

// Everything that can go wrong with a region, as one small enum (errors are values in the engine).
enum class RegionError : std::uint8_t {
    NotFound, // the file does not exist (OpenExisting)
    AlreadyExists, // the file exists (CreateOnly)
    PermissionDenied,
    IoError, // an OS call failed for another reason
    InvalidArgument, // a bad size, alignment, name or offset passed by the caller
    Truncated, // the file is shorter than its header says
    BadMagic, // not a Commy region file
    UnsupportedVersion, // written by another format version
    AbiMismatch, // written by a build with another in-file layout
    ChecksumMismatch, // the immutable header fields were altered
    Corrupt, // an offset or structure inside the region is out of bounds or inconsistent
    OutOfMemory, // no free block is large enough (and the region may not grow)
    LimitExceeded, // a resize or grow would pass the region's limit
    ProcessTableFull, // every process slot is taken by a live process
    NotAttached, // the call needs attach() first
    AlreadyAttached,
    RootExists,
    RootNotFound,
    NameTooLong,
    NotAllocated, // deallocate() of something that is not a live block (double free, wild offset)
    ResizeInProgress,
    LockTimeout, // the region lock stayed held by a live process longer than the lock timeout
    NoSpace, // the file system has no room for the region's size
    TypeMismatch, // a container attached as another kind or element type than its root records
    OutOfRange, // an index or position past the end of a container
    JournalFull, // one container operation would save more than its undo journal holds
};

const char* errorMessage(RegionError error);

template <class T> using RegionExpected = Expected<T, RegionError>;

} // namespace commy::shm
