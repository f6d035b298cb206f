#pragma once

// What the Win32 backend's files share: the mappings this process holds (so a lock area or a wake
// word inside one can be named after the file it belongs to) and the named kernel objects it opened.

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace commy::shm::platform::win32 {

std::wstring widen(const std::string& utf8);

// The file's identity (volume serial number and file index), the same in every process that opens it,
// under any name; empty when the system cannot tell.
std::wstring fileKeyOf(HANDLE file);

void registerMapping(const std::byte* base, std::uint64_t length, const std::wstring& fileKey);
void unregisterMapping(const std::byte* base);
// Flushes every view this process maps of the file to it (FlushFileBuffers alone skips mapped pages).
bool flushMappingsOf(const std::wstring& fileKey);

// The name of the kernel object of `kind` for the place `address` in a mapped region file:
// "Local\commy-<file key>-<kind>-<offset>". Empty when `address` is in no mapping of this process.
std::wstring objectNameFor(const void* address, const wchar_t* kind);

// Named objects are created on first use and kept open for the life of the process: an object dies
// with its last handle, and a mutex that vanished between two holders could not report an abandoned
// lock. Null when the system refuses.
HANDLE namedMutex(const std::wstring& name);
HANDLE namedEvent(const std::wstring& name);

} // namespace commy::shm::platform::win32
