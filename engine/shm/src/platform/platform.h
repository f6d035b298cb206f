#pragma once

// The OS seam of engine_shm: files, mappings, the cross-process lock and process identity. One
// implementation per OS, chosen by CMake (posix_*.cpp or win32_*.cpp); nothing above this header knows
// the OS.

#include <commy/shm/region_error.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace commy::shm::platform {

std::uint64_t currentPid();
std::uint64_t wallClockNs();
// OS start time of a process (opaque ticks), 0 when the process does not exist.
std::uint64_t processStartTime(std::uint64_t pid);
// True when the process is gone: no such pid, a zombie, or the pid now belongs to another process
// (its start time differs). A process that is merely busy is never gone.
bool processGone(std::uint64_t pid, std::uint64_t startTime);
// Identifies the current boot of the machine; differs after every reboot.
std::uint64_t bootId();
// Sleeps while the 32-bit word in a shared mapping still holds `expected`, at most `timeout`; other
// processes wake it with wakeAllOnWord(). May return early (spuriously): callers re-check.
// A wake reaches a sleeper only when the waker's `wakeBits` share a bit with the sleeper's
// `listenBits`; a system that cannot filter wakes every sleeper, which is always correct.
inline constexpr std::uint32_t kAllWakeBits = 0xFFFFFFFFu;
void waitOnWord(std::uint32_t* word, std::uint32_t expected, std::chrono::nanoseconds timeout,
    std::uint32_t listenBits = kAllWakeBits);
void wakeAllOnWord(std::uint32_t* word, std::uint32_t wakeBits = kAllWakeBits);
// Ends this process at once, as a crash would (no destructors, no atexit).
[[noreturn]] void killSelf();

class File {
public:
    File() = default;
    File(File&& other) noexcept;
    File& operator=(File&& other) noexcept;
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    ~File();

    static RegionExpected<File> openExisting(const std::string& path);
    // Creates a new uniquely named file beside `finalPath`, to be initialised and then published.
    static RegionExpected<File> createTemporary(const std::string& finalPath, unsigned mode);
    // Gives the temporary file its final name, failing with AlreadyExists if that name is taken.
    RegionExpected<void> publishAs(const std::string& finalPath);
    void removeTemporary();

    RegionExpected<std::uint64_t> size() const;
    RegionExpected<void> resize(std::uint64_t bytes);
    RegionExpected<void> readAt(void* buffer, std::uint64_t bytes, std::uint64_t offset) const;
    // Writes the file's data to storage, including pages changed through a shared mapping.
    RegionExpected<void> sync() const;
    // An advisory whole-file lock between processes, for rare one-time repairs on open.
    void lockExclusive();
    void unlockExclusive();
    bool isOpen() const { return m_fd != kNoHandle; }
    // A file descriptor on POSIX, a HANDLE on Windows (where -1 is INVALID_HANDLE_VALUE).
    std::intptr_t handle() const { return m_fd; }

private:
    static constexpr std::intptr_t kNoHandle = -1;
    std::intptr_t m_fd = kNoHandle;
    std::string m_temporaryPath;
};

class Mapping {
public:
    Mapping() = default;
    Mapping(Mapping&& other) noexcept;
    Mapping& operator=(Mapping&& other) noexcept;
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping();

    // Maps `length` bytes of the file, which may be more than the file holds now: on Linux the
    // pages beyond the end become usable as soon as the file grows, so growing rarely needs a remap.
    // Windows cannot map past the end without growing the file, so there length() is the file's size
    // when that is smaller, and the region remaps once the file has grown past it.
    static RegionExpected<Mapping> map(const File& file, std::uint64_t length);
    std::byte* base() const { return m_base; }
    std::uint64_t length() const { return m_length; }

private:
    std::byte* m_base = nullptr;
    std::uint64_t m_length = 0;
};

// The region's cross-process lock. On Linux a robust process-shared pthread mutex living in the
// header's lock area; on Windows a named mutex whose name comes from the file's identity and the lock
// area's offset in it. When the holder dies the next lock() reports PreviousOwnerDied and the caller
// repairs the region before markConsistent(). Waits are bounded so that a lock whose holder vanished
// without the kernel noticing (a damaged file) can be detected and renewed instead of hanging.
class RegionLock {
public:
    enum class Acquired { Normally, PreviousOwnerDied, TimedOut };

    static RegionExpected<void> initialize(void* storage);
    explicit RegionLock(void* storage = nullptr)
        : m_storage(storage)
    {
    }
    void rebind(void* storage) { m_storage = storage; }
    RegionExpected<Acquired> lockFor(std::chrono::milliseconds patience);
    void markConsistent();
    void unlock();
    // True when the lock is held by a thread that no longer exists and the kernel has not marked
    // it (which it always does for a process that died normally or was killed).
    bool holderVanished() const;

private:
    void* m_storage;
};

} // namespace commy::shm::platform
