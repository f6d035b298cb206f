#include "platform.h"
#include "win32_objects.h"

#include <algorithm>
#include <atomic>
#include <thread>

namespace commy::shm::platform {

// WaitOnAddress does not reach other processes, so each wake word has a named manual-reset event
// (named after the region file and the word's offset). It cannot filter by bits: every sleeper wakes
// and re-checks, which the interface allows.
//
// A waker changes the word, then sets the event; the event stays set until a sleeper finds it set
// while its word is unchanged (a stale wake) and resets it. That reset can swallow a wake meant for a
// process that checked its word just before the change, so sleeps are cut into short slices: the worst
// case is a late wake, never a missed one.

namespace {

constexpr std::chrono::milliseconds kSlice(20);

bool unchanged(std::uint32_t* word, std::uint32_t expected)
{
    return std::atomic_ref<std::uint32_t>(*word).load(std::memory_order_acquire) == expected;
}

} // namespace

void waitOnWord(std::uint32_t* word, std::uint32_t expected, std::chrono::nanoseconds timeout, std::uint32_t)
{
    if (timeout.count() <= 0)
        return;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::wstring name = win32::objectNameFor(word, L"wake");
    HANDLE event = name.empty() ? nullptr : win32::namedEvent(name);
    while (unchanged(word, expected)) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline)
            return;
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
        const auto slice = std::min<std::chrono::milliseconds>(left, kSlice);
        if (!event) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            continue;
        }
        if (WaitForSingleObject(event, static_cast<DWORD>(slice.count())) == WAIT_OBJECT_0 && unchanged(word, expected))
            ResetEvent(event);
    }
}

void wakeAllOnWord(std::uint32_t* word, std::uint32_t)
{
    const std::wstring name = win32::objectNameFor(word, L"wake");
    if (HANDLE event = name.empty() ? nullptr : win32::namedEvent(name))
        SetEvent(event);
}

} // namespace commy::shm::platform
