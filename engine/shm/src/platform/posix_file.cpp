#include "platform.h"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace commy::shm::platform {

namespace {

RegionError fromErrno(int error)
{
    switch (error) {
    case ENOENT:
    case ENOTDIR:
        return RegionError::NotFound;
    case EEXIST:
        return RegionError::AlreadyExists;
    case EACCES:
    case EPERM:
    case EROFS:
        return RegionError::PermissionDenied;
    case ENOSPC:
    case EDQUOT:
        return RegionError::NoSpace;
    case ENOMEM:
    case EFBIG:
        return RegionError::OutOfMemory;
    default:
        return RegionError::IoError;
    }
}

int fdOf(const File& file) { return static_cast<int>(file.handle()); }

} // namespace

File::File(File&& other) noexcept
    : m_fd(std::exchange(other.m_fd, kNoHandle))
    , m_temporaryPath(std::move(other.m_temporaryPath))
{
}

File& File::operator=(File&& other) noexcept
{
    if (this != &other) {
        if (m_fd != kNoHandle)
            ::close(static_cast<int>(m_fd));
        m_fd = std::exchange(other.m_fd, kNoHandle);
        m_temporaryPath = std::move(other.m_temporaryPath);
    }
    return *this;
}

File::~File()
{
    removeTemporary();
    if (m_fd != kNoHandle)
        ::close(static_cast<int>(m_fd));
}

RegionExpected<File> File::openExisting(const std::string& path)
{
    File file;
    file.m_fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (file.m_fd == kNoHandle)
        return unexpected(fromErrno(errno));
    struct stat st { };
    if (::fstat(fdOf(file), &st) != 0)
        return unexpected(fromErrno(errno));
    if (!S_ISREG(st.st_mode))
        return unexpected(RegionError::InvalidArgument);
    return file;
}

RegionExpected<File> File::createTemporary(const std::string& finalPath, unsigned mode)
{
    std::string pattern = finalPath + ".creating-XXXXXX";
    File file;
    file.m_fd = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (file.m_fd == kNoHandle)
        return unexpected(fromErrno(errno));
    file.m_temporaryPath = pattern;
    if (::fchmod(fdOf(file), static_cast<mode_t>(mode)) != 0)
        return unexpected(fromErrno(errno));
    return file;
}

RegionExpected<void> File::publishAs(const std::string& finalPath)
{
    // link() fails if the name exists, so two processes racing to create the same region cannot
    // both win, and nobody ever opens a half-initialised file.
    if (::link(m_temporaryPath.c_str(), finalPath.c_str()) != 0)
        return unexpected(fromErrno(errno));
    removeTemporary();
    return {};
}

void File::removeTemporary()
{
    if (!m_temporaryPath.empty()) {
        ::unlink(m_temporaryPath.c_str());
        m_temporaryPath.clear();
    }
}

RegionExpected<std::uint64_t> File::size() const
{
    struct stat st { };
    if (::fstat(fdOf(*this), &st) != 0)
        return unexpected(fromErrno(errno));
    return static_cast<std::uint64_t>(st.st_size);
}

RegionExpected<void> File::sync() const
{
    // On Linux the page cache is what a shared mapping writes to, so fsync() of the descriptor
    // also writes back the pages dirtied through the mapping.
    if (::fsync(fdOf(*this)) != 0)
        return unexpected(fromErrno(errno));
    return {};
}

RegionExpected<void> File::resize(std::uint64_t bytes)
{
    // Growing reserves the storage now: a sparse file on a full file system (or a small tmpfs)
    // would instead kill every process that touches the missing pages with SIGBUS.
    auto current = size();
    if (current && bytes > *current) {
        const int rc = ::posix_fallocate(fdOf(*this), 0, static_cast<off_t>(bytes));
        if (rc == 0)
            return {};
        if (rc != EOPNOTSUPP && rc != EINVAL)
            return unexpected(fromErrno(rc));
        // The file system cannot reserve: fall back to a sparse extension.
    }
    if (::ftruncate(fdOf(*this), static_cast<off_t>(bytes)) != 0)
        return unexpected(fromErrno(errno));
    return {};
}

RegionExpected<void> File::readAt(void* buffer, std::uint64_t bytes, std::uint64_t offset) const
{
    auto* out = static_cast<char*>(buffer);
    while (bytes > 0) {
        const ssize_t n = ::pread(fdOf(*this), out, bytes, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return unexpected(fromErrno(errno));
        if (n == 0)
            return unexpected(RegionError::Truncated);
        out += n;
        bytes -= static_cast<std::uint64_t>(n);
        offset += static_cast<std::uint64_t>(n);
    }
    return {};
}

void File::lockExclusive()
{
    while (::flock(fdOf(*this), LOCK_EX) != 0 && errno == EINTR) { }
}

void File::unlockExclusive() { ::flock(fdOf(*this), LOCK_UN); }

Mapping::Mapping(Mapping&& other) noexcept
    : m_base(std::exchange(other.m_base, nullptr))
    , m_length(std::exchange(other.m_length, 0))
{
}

Mapping& Mapping::operator=(Mapping&& other) noexcept
{
    if (this != &other) {
        if (m_base)
            ::munmap(m_base, m_length);
        m_base = std::exchange(other.m_base, nullptr);
        m_length = std::exchange(other.m_length, 0);
    }
    return *this;
}

Mapping::~Mapping()
{
    if (m_base)
        ::munmap(m_base, m_length);
}

RegionExpected<Mapping> Mapping::map(const File& file, std::uint64_t length)
{
    void* base = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fdOf(file), 0);
    if (base == MAP_FAILED)
        return unexpected(fromErrno(errno));
    Mapping mapping;
    mapping.m_base = static_cast<std::byte*>(base);
    mapping.m_length = length;
    return mapping;
}

} // namespace commy::shm::platform
