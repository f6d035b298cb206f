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
// The bitset forms filter wakes in the kernel; FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC
// deadline instead of a relative timeout.
void waitOnWord(std::uint32_t* word, std::uint32_t expected, std::chrono::nanoseconds timeout, std::uint32_t listenBits)
{
    if (timeout.count() <= 0)
        return;
    timespec deadline {};
    ::clock_gettime(CLOCK_MONOTONIC, &deadline);
    const long long ns = static_cast<long long>(deadline.tv_nsec) + timeout.count() % 1'000'000'000;
    deadline.tv_sec += static_cast<time_t>(timeout.count() / 1'000'000'000 + ns / 1'000'000'000);
    deadline.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    ::syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, &deadline, nullptr, listenBits);
}

void wakeAllOnWord(std::uint32_t* word, std::uint32_t wakeBits)
{
    ::syscall(SYS_futex, word, FUTEX_WAKE_BITSET, INT_MAX, nullptr, nullptr, wakeBits);
}

#else

// Portable fallback for systems without a cross-process futex: watch the word, sleeping a little
// longer each round (up to 1 ms), so a change is seen within about a millisecond.
void waitOnWord(std::uint32_t* word, std::uint32_t expected, std::chrono::nanoseconds timeout, std::uint32_t)
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

void wakeAllOnWord(std::uint32_t*, std::uint32_t) { }

#endif

} // namespace commy::shm::platform
