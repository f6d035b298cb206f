#include "platform.h"

#include <cerrno>
#include <pthread.h>

namespace commy::shm::platform {

static_assert(sizeof(pthread_mutex_t) <= 64, "the lock area holds a pthread_mutex_t");

namespace {
pthread_mutex_t* mutexAt(void* storage) { return static_cast<pthread_mutex_t*>(storage); }
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

RegionExpected<RegionLock::Acquired> RegionLock::lock()
{
    const int rc = pthread_mutex_lock(mutexAt(m_storage));
    if (rc == 0)
        return Acquired::Normally;
    if (rc == EOWNERDEAD)
        return Acquired::PreviousOwnerDied;
    // ENOTRECOVERABLE: someone gave up on repairing it; EINVAL: the bytes are not a mutex.
    return unexpected(RegionError::Corrupt);
}

void RegionLock::markConsistent() { pthread_mutex_consistent(mutexAt(m_storage)); }

void RegionLock::unlock() { pthread_mutex_unlock(mutexAt(m_storage)); }

} // namespace commy::shm::platform
