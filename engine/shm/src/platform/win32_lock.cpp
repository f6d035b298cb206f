#include "platform.h"
#include "win32_objects.h"

#include <atomic>

namespace commy::shm::platform {

namespace {

// The lock area's first 48 bytes belong to the Linux backend (a pthread_mutex_t is 40 bytes on
// x86-64); Windows keeps its holder word in the last 8 bytes, so a file moved between the systems
// finds each backend's state untouched by the other.
constexpr std::size_t kHolderOffset = 56;

std::atomic_ref<std::uint64_t> holderWord(void* storage)
{
    return std::atomic_ref<std::uint64_t>(
        *reinterpret_cast<std::uint64_t*>(static_cast<unsigned char*>(storage) + kHolderOffset));
}

HANDLE mutexFor(void* storage)
{
    const std::wstring name = win32::objectNameFor(storage, L"lock");
    return name.empty() ? nullptr : win32::namedMutex(name);
}

} // namespace

RegionExpected<void> RegionLock::initialize(void* storage)
{
    holderWord(storage).store(0, std::memory_order_release);
    return {};
}

RegionExpected<RegionLock::Acquired> RegionLock::lockFor(std::chrono::milliseconds patience)
{
    HANDLE mutex = mutexFor(m_storage);
    if (!mutex)
        return unexpected(RegionError::IoError);
    const auto ms = patience.count() <= 0 ? 0 : patience.count() >= 0x7fff'ffff ? 0x7fff'ffff : patience.count();
    const DWORD waited = WaitForSingleObject(mutex, static_cast<DWORD>(ms));
    bool ownerDied = false;
    switch (waited) {
    case WAIT_OBJECT_0:
        // The named mutex dies with its last handle: a holder killed while nobody else had it open
        // leaves no abandoned mutex behind, only its holder word.
        ownerDied = holderWord(m_storage).load(std::memory_order_acquire) != 0;
        break;
    case WAIT_ABANDONED:
        ownerDied = true;
        break;
    case WAIT_TIMEOUT:
        return Acquired::TimedOut;
    default:
        return unexpected(RegionError::IoError);
    }
    holderWord(m_storage).store(GetCurrentProcessId(), std::memory_order_release);
    return ownerDied ? Acquired::PreviousOwnerDied : Acquired::Normally;
}

// An abandoned mutex is owned by the thread that saw WAIT_ABANDONED and works normally from then on.
void RegionLock::markConsistent() { }

void RegionLock::unlock()
{
    holderWord(m_storage).store(0, std::memory_order_release);
    if (HANDLE mutex = mutexFor(m_storage))
        ReleaseMutex(mutex);
}

// Windows abandons the mutexes of every thread and process that ends, however it ends.
bool RegionLock::holderVanished() const { return false; }

} // namespace commy::shm::platform
