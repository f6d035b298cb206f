#include "platform.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <linux/futex.h>
#include <pthread.h>
#include <unistd.h>

namespace commy::shm::platform {

static_assert(sizeof(pthread_mutex_t) <= 64, "the lock area holds a pthread_mutex_t");

namespace {

constexpr int kSpinRounds = 2000;

pthread_mutex_t* mutexAt(void* storage) { return static_cast<pthread_mutex_t*>(storage); }

inline void cpuRelax()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

} // namespace

RegionExpected<void> RegionLock::initialize(void* storage)
{
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0)
        return unexpected(RegionError::IoError);
    const bool ok = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) == 0
        && pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) == 0
        && pthread_mutex_init(mutexAt(storage), &attr) == 0;
    pthread_mutexattr_destroy(&attr);
    if (!ok)
        return unexpected(RegionError::IoError);
    return {};
}

RegionExpected<RegionLock::Acquired> RegionLock::lockFor(std::chrono::milliseconds patience)
{
    int rc = pthread_mutex_trylock(mutexAt(m_storage));
    if (rc == EBUSY) {
        // Locked steps take a few hundred nanoseconds: watching the lock word for a while is much
        // cheaper than a futex sleep and wake-up.
        std::atomic_ref<int> word(mutexAt(m_storage)->__data.__lock);
        for (int spin = 0; spin < kSpinRounds && rc == EBUSY; ++spin) {
            cpuRelax();
            if (word.load(std::memory_order_relaxed) == 0)
                rc = pthread_mutex_trylock(mutexAt(m_storage));
        }
    }
    if (rc == EBUSY) {
        timespec deadline {};
        clock_gettime(CLOCK_REALTIME, &deadline);
        const auto ns = std::chrono::nanoseconds(patience).count() + deadline.tv_nsec;
        deadline.tv_sec += static_cast<time_t>(ns / 1'000'000'000);
        deadline.tv_nsec = static_cast<long>(ns % 1'000'000'000);
        do
            rc = pthread_mutex_timedlock(mutexAt(m_storage), &deadline);
        while (rc == EINTR);
    }
    switch (rc) {
    case 0:
        return Acquired::Normally;
    case EOWNERDEAD:
        return Acquired::PreviousOwnerDied;
    case ETIMEDOUT:
        return Acquired::TimedOut;
    default:
        // ENOTRECOVERABLE: someone gave up on repairing it; EINVAL: the bytes are not a mutex.
        return unexpected(RegionError::Corrupt);
    }
}

void RegionLock::markConsistent() { pthread_mutex_consistent(mutexAt(m_storage)); }

void RegionLock::unlock() { pthread_mutex_unlock(mutexAt(m_storage)); }

bool RegionLock::holderVanished() const
{
    // glibc keeps a robust mutex's state in the futex word: the holder's thread id, plus the
    // FUTEX_OWNER_DIED bit once the kernel has released it on the holder's death.
    const unsigned word = static_cast<unsigned>(mutexAt(m_storage)->__data.__lock);
    const unsigned tid = word & FUTEX_TID_MASK;
    if (tid == 0 || (word & FUTEX_OWNER_DIED) != 0)
        return false;
    char path[32];
    std::snprintf(path, sizeof path, "/proc/%u", tid);
    return ::access(path, F_OK) != 0 && errno == ENOENT;
}

} // namespace commy::shm::platform
