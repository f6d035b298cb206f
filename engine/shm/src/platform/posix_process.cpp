#include "platform.h"

#include "../hash.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <pthread.h>
#include <string>
#include <unistd.h>

namespace commy::shm::platform {

namespace {

struct ProcStat {
    char state = 0;
    std::uint64_t startTime = 0;
};

// Reads state (field 3) and starttime (field 22) of /proc/<pid>/stat. The command name in field 2
// may contain spaces and parentheses, so parsing starts after the last ')'.
bool readProcStat(std::uint64_t pid, ProcStat& out)
{
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%llu/stat", static_cast<unsigned long long>(pid));
    FILE* f = std::fopen(path, "re");
    if (!f)
        return false;
    char buffer[1024];
    const size_t n = std::fread(buffer, 1, sizeof buffer - 1, f);
    std::fclose(f);
    buffer[n] = '\0';
    const char* close = std::strrchr(buffer, ')');
    if (!close || close[1] == '\0')
        return false;
    const char* p = close + 2; // field 3
    out.state = *p;
    for (int field = 3; field < 22 && *p; ++field) {
        p = std::strchr(p, ' ');
        if (!p)
            return false;
        ++p;
    }
    out.startTime = std::strtoull(p, nullptr, 10);
    return true;
}

} // namespace

namespace {

// getpid() is a real system call here and every lock records its holder, so the pid is cached; a
// forked child forgets it and asks again.
std::atomic<std::uint64_t> g_cachedPid { 0 };

void forgetCachedPid() { g_cachedPid.store(0, std::memory_order_relaxed); }

} // namespace

std::uint64_t currentPid()
{
    std::uint64_t pid = g_cachedPid.load(std::memory_order_relaxed);
    if (pid == 0) {
        static std::once_flag registered;
        std::call_once(registered, [] { ::pthread_atfork(nullptr, nullptr, forgetCachedPid); });
        pid = static_cast<std::uint64_t>(::getpid());
        g_cachedPid.store(pid, std::memory_order_relaxed);
    }
    return pid;
}

std::uint64_t wallClockNs()
{
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

std::uint64_t processStartTime(std::uint64_t pid)
{
    ProcStat stat;
    return readProcStat(pid, stat) ? stat.startTime : 0;
}

bool processGone(std::uint64_t pid, std::uint64_t startTime)
{
    if (pid == 0)
        return true;
    ProcStat stat;
    if (!readProcStat(pid, stat)) {
        // No /proc entry: ask the kernel directly (EPERM still means the pid exists).
        return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    }
    if (stat.state == 'Z' || stat.state == 'X')
        return true; // exited, not yet reaped by its parent
    return startTime != 0 && stat.startTime != startTime;
}

std::uint64_t bootId()
{
    // /proc/sys/kernel/random/boot_id is a UUID made at boot; its FNV-1a hash is enough to compare.
    char text[64] = {};
    if (FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "re")) {
        const size_t n = std::fread(text, 1, sizeof text - 1, f);
        std::fclose(f);
        text[n] = '\0';
    }
    return fnv1a(std::string_view(text, std::strcspn(text, "\n")));
}

void killSelf()
{
    ::kill(::getpid(), SIGKILL);
    std::_Exit(137); // not reached
}

} // namespace commy::shm::platform
