#include "platform.h"
#include "win32_objects.h"

#include <chrono>

namespace commy::shm::platform {

namespace {

std::uint64_t fileTimeTicks(const FILETIME& time)
{
    return (std::uint64_t { time.dwHighDateTime } << 32) | time.dwLowDateTime;
}

} // namespace

std::uint64_t currentPid() { return GetCurrentProcessId(); }

std::uint64_t wallClockNs()
{
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

std::uint64_t processStartTime(std::uint64_t pid)
{
    HANDLE process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, static_cast<DWORD>(pid));
    if (!process)
        return 0;
    FILETIME created {}, exited {}, kernel {}, user {};
    const bool ok = GetProcessTimes(process, &created, &exited, &kernel, &user);
    CloseHandle(process);
    return ok ? fileTimeTicks(created) : 0;
}

bool processGone(std::uint64_t pid, std::uint64_t startTime)
{
    if (pid == 0)
        return true;
    HANDLE process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, FALSE, static_cast<DWORD>(pid));
    if (!process) {
        // Access denied means a process with that id exists (another user's, say); anything else
        // (ERROR_INVALID_PARAMETER) means there is none.
        return GetLastError() != ERROR_ACCESS_DENIED;
    }
    // A process object outlives its process while handles to it are open: an exited process is
    // signalled (its exit code may be anything, even STILL_ACTIVE).
    bool gone = WaitForSingleObject(process, 0) == WAIT_OBJECT_0;
    if (!gone && startTime != 0) {
        // Ids are reused: the same id with another start time is another process.
        FILETIME created {}, exited {}, kernel {}, user {};
        if (GetProcessTimes(process, &created, &exited, &kernel, &user))
            gone = fileTimeTicks(created) != startTime;
    }
    CloseHandle(process);
    return gone;
}

std::uint64_t bootId()
{
    // Windows offers no boot identifier to plain processes. A named mapping lives as long as any
    // process of the session holds it, and every process that opens a region asks for this id and
    // keeps the mapping open: the value changes only when no process that could hold a region lock
    // is left, which is what the region's boot check needs. The first process to arrive picks it.
    static const std::uint64_t id = [] {
        HANDLE section
            = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, 8, L"Local\\commy-boot-id");
        if (!section)
            return std::uint64_t { 1 };
        auto* word = static_cast<volatile LONG64*>(MapViewOfFile(section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 8));
        if (!word)
            return std::uint64_t { 1 };
        const auto candidate
            = static_cast<LONG64>((wallClockNs() ^ (std::uint64_t { GetCurrentProcessId() } << 40)) | 1); // never 0
        const LONG64 previous = InterlockedCompareExchange64(word, candidate, 0);
        return static_cast<std::uint64_t>(previous != 0 ? previous : candidate);
    }();
    return id;
}

void killSelf()
{
    TerminateProcess(GetCurrentProcess(), 137);
    ExitProcess(137); // not reached
}

} // namespace commy::shm::platform
