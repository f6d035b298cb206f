#include "platform.h"
#include "win32_objects.h"

#include <aclapi.h>

#include <atomic>
#include <memory>
#include <string>
#include <utility>

namespace commy::shm::platform {

namespace {

RegionError fromLastError(DWORD error)
{
    switch (error) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_NAME:
        return RegionError::NotFound;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
        return RegionError::AlreadyExists;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_WRITE_PROTECT:
        return RegionError::PermissionDenied;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        return RegionError::NoSpace;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
        return RegionError::OutOfMemory;
    default:
        return RegionError::IoError;
    }
}

RegionError lastError() { return fromLastError(GetLastError()); }

HANDLE nativeOf(const File& file) { return reinterpret_cast<HANDLE>(file.handle()); }

// Every process may rename or delete a region file it has open (FILE_SHARE_DELETE), as on POSIX.
constexpr DWORD kShareAll = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

// The whole-file lock of lockExclusive() covers one byte far past any region's end: Windows byte-range
// locks are mandatory, and a lock on the header would make other processes' ReadFile of it fail.
constexpr std::uint64_t kLockByte = 0x7fff'ffff'ffff'fff0ull;

// An owner-only DACL (the POSIX 0600 the region's default mode asks for): the current user gets all
// access, inherited entries are blocked, everyone else gets nothing.
class OwnerOnlySecurity {
public:
    bool build()
    {
        HANDLE token = nullptr;
        if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
            return false;
        DWORD bytes = 0;
        GetTokenInformation(token, TokenUser, nullptr, 0, &bytes);
        m_user = std::make_unique<unsigned char[]>(bytes);
        const bool haveUser = GetTokenInformation(token, TokenUser, m_user.get(), bytes, &bytes);
        CloseHandle(token);
        if (!haveUser)
            return false;
        PSID sid = reinterpret_cast<TOKEN_USER*>(m_user.get())->User.Sid;
        const DWORD aclBytes = sizeof(ACL) + sizeof(ACCESS_ALLOWED_ACE) + GetLengthSid(sid);
        m_acl = std::make_unique<unsigned char[]>(aclBytes);
        auto* acl = reinterpret_cast<PACL>(m_acl.get());
        if (!InitializeAcl(acl, aclBytes, ACL_REVISION) || !AddAccessAllowedAce(acl, ACL_REVISION, FILE_ALL_ACCESS, sid)
            || !InitializeSecurityDescriptor(&m_descriptor, SECURITY_DESCRIPTOR_REVISION)
            || !SetSecurityDescriptorDacl(&m_descriptor, TRUE, acl, FALSE)
            || !SetSecurityDescriptorControl(&m_descriptor, SE_DACL_PROTECTED, SE_DACL_PROTECTED))
            return false;
        m_attributes.nLength = sizeof m_attributes;
        m_attributes.lpSecurityDescriptor = &m_descriptor;
        m_attributes.bInheritHandle = FALSE;
        return true;
    }
    SECURITY_ATTRIBUTES* attributes() { return &m_attributes; }

private:
    std::unique_ptr<unsigned char[]> m_user;
    std::unique_ptr<unsigned char[]> m_acl;
    SECURITY_DESCRIPTOR m_descriptor {};
    SECURITY_ATTRIBUTES m_attributes {};
};

std::atomic<unsigned> g_temporaryCounter { 0 };

} // namespace

File::File(File&& other) noexcept
    : m_fd(std::exchange(other.m_fd, kNoHandle))
    , m_temporaryPath(std::move(other.m_temporaryPath))
{
}

File& File::operator=(File&& other) noexcept
{
    if (this != &other) {
        removeTemporary();
        if (m_fd != kNoHandle)
            CloseHandle(nativeOf(*this));
        m_fd = std::exchange(other.m_fd, kNoHandle);
        m_temporaryPath = std::move(other.m_temporaryPath);
    }
    return *this;
}

File::~File()
{
    removeTemporary();
    if (m_fd != kNoHandle)
        CloseHandle(nativeOf(*this));
}

RegionExpected<File> File::openExisting(const std::string& path)
{
    HANDLE handle = CreateFileW(win32::widen(path).c_str(), GENERIC_READ | GENERIC_WRITE, kShareAll, nullptr,
        OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (handle == INVALID_HANDLE_VALUE)
        return unexpected(lastError());
    File file;
    file.m_fd = reinterpret_cast<std::intptr_t>(handle);
    if (GetFileType(handle) != FILE_TYPE_DISK)
        return unexpected(RegionError::InvalidArgument);
    BY_HANDLE_FILE_INFORMATION info {};
    if (!GetFileInformationByHandle(handle, &info))
        return unexpected(lastError());
    if (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
        return unexpected(RegionError::InvalidArgument);
    return file;
}

RegionExpected<File> File::createTemporary(const std::string& finalPath, unsigned mode)
{
    // Group or other permission bits ask for sharing beyond the owner: then the folder's inherited
    // permissions apply. The default (0600) gets an explicit owner-only descriptor.
    OwnerOnlySecurity security;
    SECURITY_ATTRIBUTES* attributes = nullptr;
    if ((mode & 077u) == 0) {
        if (!security.build())
            return unexpected(lastError());
        attributes = security.attributes();
    }
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::string path = finalPath + ".creating-" + std::to_string(GetCurrentProcessId()) + "-"
            + std::to_string(g_temporaryCounter.fetch_add(1)) + "-" + std::to_string(GetTickCount64() % 1000003);
        HANDLE handle = CreateFileW(win32::widen(path).c_str(), GENERIC_READ | GENERIC_WRITE | DELETE, kShareAll,
            attributes, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, nullptr);
        if (handle == INVALID_HANDLE_VALUE) {
            if (GetLastError() == ERROR_FILE_EXISTS)
                continue;
            return unexpected(lastError());
        }
        File file;
        file.m_fd = reinterpret_cast<std::intptr_t>(handle);
        file.m_temporaryPath = path;
        return file;
    }
    return unexpected(RegionError::AlreadyExists);
}

RegionExpected<void> File::publishAs(const std::string& finalPath)
{
    // A rename without MOVEFILE_REPLACE_EXISTING fails when the name exists, so of two processes racing
    // to create the region exactly one wins, and nobody opens a half-initialised file.
    if (!MoveFileExW(win32::widen(m_temporaryPath).c_str(), win32::widen(finalPath).c_str(), MOVEFILE_WRITE_THROUGH))
        return unexpected(lastError());
    m_temporaryPath.clear();
    return {};
}

void File::removeTemporary()
{
    if (!m_temporaryPath.empty()) {
        DeleteFileW(win32::widen(m_temporaryPath).c_str());
        m_temporaryPath.clear();
    }
}

RegionExpected<std::uint64_t> File::size() const
{
    LARGE_INTEGER bytes {};
    if (!GetFileSizeEx(nativeOf(*this), &bytes))
        return unexpected(lastError());
    return static_cast<std::uint64_t>(bytes.QuadPart);
}

RegionExpected<void> File::sync() const
{
    // FlushFileBuffers writes the file's cached data but not pages dirtied through a view: those are
    // flushed view by view first.
    const bool viewsFlushed = win32::flushMappingsOf(win32::fileKeyOf(nativeOf(*this)));
    if (!FlushFileBuffers(nativeOf(*this)) || !viewsFlushed)
        return unexpected(lastError());
    return {};
}

RegionExpected<void> File::resize(std::uint64_t bytes)
{
    auto current = size();
    if (!current)
        return unexpected(current.error());
    if (bytes > *current) {
        // SetEndOfFile is documented to need every view of the file unmapped first, which other
        // attached processes cannot be made to do. A mapping object larger than the file is the
        // documented way to extend a file under live views: the system grows the file to its size.
        HANDLE section = CreateFileMappingW(nativeOf(*this), nullptr, PAGE_READWRITE, static_cast<DWORD>(bytes >> 32),
            static_cast<DWORD>(bytes & 0xffffffffu), nullptr);
        if (!section)
            return unexpected(lastError());
        CloseHandle(section);
        return {};
    }
    if (bytes == *current)
        return {};
    FILE_END_OF_FILE_INFO end {};
    end.EndOfFile.QuadPart = static_cast<LONGLONG>(bytes);
    if (!SetFileInformationByHandle(nativeOf(*this), FileEndOfFileInfo, &end, sizeof end)) {
        // A mapped file cannot be cut on Windows. The region's header says how much of it is in use,
        // so a longer file is harmless; it is cut by whoever resizes it while nobody maps it.
        if (GetLastError() == ERROR_USER_MAPPED_FILE)
            return {};
        return unexpected(lastError());
    }
    return {};
}

RegionExpected<void> File::readAt(void* buffer, std::uint64_t bytes, std::uint64_t offset) const
{
    auto* out = static_cast<char*>(buffer);
    while (bytes > 0) {
        OVERLAPPED at {};
        at.Offset = static_cast<DWORD>(offset & 0xffffffffu);
        at.OffsetHigh = static_cast<DWORD>(offset >> 32);
        const DWORD chunk = bytes > 0x4000'0000u ? 0x4000'0000u : static_cast<DWORD>(bytes);
        DWORD read = 0;
        if (!ReadFile(nativeOf(*this), out, chunk, &read, &at)) {
            if (GetLastError() == ERROR_HANDLE_EOF)
                return unexpected(RegionError::Truncated);
            return unexpected(lastError());
        }
        if (read == 0)
            return unexpected(RegionError::Truncated);
        out += read;
        bytes -= read;
        offset += read;
    }
    return {};
}

void File::lockExclusive()
{
    OVERLAPPED at {};
    at.Offset = static_cast<DWORD>(kLockByte & 0xffffffffu);
    at.OffsetHigh = static_cast<DWORD>(kLockByte >> 32);
    LockFileEx(nativeOf(*this), LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &at);
}

void File::unlockExclusive()
{
    OVERLAPPED at {};
    at.Offset = static_cast<DWORD>(kLockByte & 0xffffffffu);
    at.OffsetHigh = static_cast<DWORD>(kLockByte >> 32);
    UnlockFileEx(nativeOf(*this), 0, 1, 0, &at);
}

Mapping::Mapping(Mapping&& other) noexcept
    : m_base(std::exchange(other.m_base, nullptr))
    , m_length(std::exchange(other.m_length, 0))
{
}

Mapping& Mapping::operator=(Mapping&& other) noexcept
{
    if (this != &other) {
        if (m_base) {
            win32::unregisterMapping(m_base);
            UnmapViewOfFile(m_base);
        }
        m_base = std::exchange(other.m_base, nullptr);
        m_length = std::exchange(other.m_length, 0);
    }
    return *this;
}

Mapping::~Mapping()
{
    if (m_base) {
        win32::unregisterMapping(m_base);
        UnmapViewOfFile(m_base);
    }
}

RegionExpected<Mapping> Mapping::map(const File& file, std::uint64_t length)
{
    // A view cannot reach past the end of its mapping object, and a larger object would grow the
    // file: map what the file holds. The region remaps when its header says the file grew past it.
    auto fileSize = file.size();
    if (!fileSize)
        return unexpected(fileSize.error());
    const std::uint64_t mapped = length < *fileSize ? length : *fileSize;
    if (mapped == 0)
        return unexpected(RegionError::Truncated);
    HANDLE section = CreateFileMappingW(nativeOf(file), nullptr, PAGE_READWRITE, 0, 0, nullptr);
    if (!section)
        return unexpected(lastError());
    // The view keeps the mapping object alive; its handle is not needed any more.
    void* base = MapViewOfFile(section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, static_cast<SIZE_T>(mapped));
    const DWORD error = GetLastError();
    CloseHandle(section);
    if (!base)
        return unexpected(fromLastError(error));
    Mapping mapping;
    mapping.m_base = static_cast<std::byte*>(base);
    mapping.m_length = mapped;
    win32::registerMapping(mapping.m_base, mapped, win32::fileKeyOf(nativeOf(file)));
    return mapping;
}

} // namespace commy::shm::platform
