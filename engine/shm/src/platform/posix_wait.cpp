#include "platform.h"

#include <atomic>
#include <thread>

#if defined(__linux__)
#include <climits>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace commy::shm::platform {

#if defined(__linux__)

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

#else

// Portable fallback for systems without a cross-process futex: watch the word, sleeping a little
// longer each round (up to 1 ms), so a change is seen within about a millisecond.
void waitOnWord(std::uint32_t* word, std::uint32_t expected, std::chrono::nanoseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::chrono::microseconds pause(1);
    while (std::atomic_ref<std::uint32_t>(*word).load(std::memory_order_acquire) == expected
        && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(pause);
        if (pause < std::chrono::milliseconds(1))
            pause *= 2;
    }
}

void wakeAllOnWord(std::uint32_t*) { }

#endif

} // namespace commy::shm::platform
