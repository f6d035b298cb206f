#include "platform.h"

#include <climits>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace commy::shm::platform {

// Shared (not FUTEX_PRIVATE) futexes: the word lives in a file mapping that other processes map
// at other addresses; the kernel keys the wait on the file page, so their wakes reach us.
void waitOnWord(std::uint32_t* word, std::uint32_t expected, std::chrono::nanoseconds timeout)
{
    if (timeout.count() <= 0)
        return;
    timespec relative {};
    relative.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
    relative.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
    ::syscall(SYS_futex, word, FUTEX_WAIT, expected, &relative, nullptr, 0);
}

void wakeAllOnWord(std::uint32_t* word) { ::syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0); }

} // namespace commy::shm::platform
