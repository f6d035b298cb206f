#include "win32_objects.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace commy::shm::platform::win32 {

namespace {

struct MappedView {
    const std::byte* base;
    std::uint64_t length;
    std::wstring fileKey;
};

std::mutex g_viewsMutex;
std::vector<MappedView>& views()
{
    static std::vector<MappedView> all;
    return all;
}

std::mutex g_objectsMutex;
std::unordered_map<std::wstring, HANDLE>& objects()
{
    static std::unordered_map<std::wstring, HANDLE> all;
    return all;
}

template <typename Create> HANDLE namedObject(const std::wstring& name, Create create)
{
    std::lock_guard guard(g_objectsMutex);
    auto& all = objects();
    if (auto found = all.find(name); found != all.end())
        return found->second;
    HANDLE handle = create(name.c_str());
    if (handle)
        all.emplace(name, handle);
    return handle;
}

} // namespace

std::wstring widen(const std::string& utf8)
{
    if (utf8.empty())
        return {};
    const int chars = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
    std::wstring wide(static_cast<std::size_t>(chars), L'\0');
    MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), wide.data(), chars);
    return wide;
}

std::wstring fileKeyOf(HANDLE file)
{
    BY_HANDLE_FILE_INFORMATION info {};
    if (!GetFileInformationByHandle(file, &info))
        return {};
    const std::uint64_t index = (std::uint64_t { info.nFileIndexHigh } << 32) | info.nFileIndexLow;
    return std::to_wstring(info.dwVolumeSerialNumber) + L"-" + std::to_wstring(index);
}

void registerMapping(const std::byte* base, std::uint64_t length, const std::wstring& fileKey)
{
    std::lock_guard guard(g_viewsMutex);
    views().push_back({ base, length, fileKey });
}

void unregisterMapping(const std::byte* base)
{
    std::lock_guard guard(g_viewsMutex);
    auto& all = views();
    all.erase(
        std::remove_if(all.begin(), all.end(), [base](const MappedView& v) { return v.base == base; }), all.end());
}

bool flushMappingsOf(const std::wstring& fileKey)
{
    std::lock_guard guard(g_viewsMutex);
    bool ok = true;
    for (const MappedView& view : views()) {
        if (view.fileKey == fileKey)
            ok = FlushViewOfFile(view.base, static_cast<SIZE_T>(view.length)) && ok;
    }
    return ok;
}

std::wstring objectNameFor(const void* address, const wchar_t* kind)
{
    const auto* byte = static_cast<const std::byte*>(address);
    std::lock_guard guard(g_viewsMutex);
    for (const MappedView& view : views()) {
        if (byte >= view.base && byte < view.base + view.length && !view.fileKey.empty()) {
            const auto offset = static_cast<std::uint64_t>(byte - view.base);
            return L"Local\\commy-" + view.fileKey + L"-" + kind + L"-" + std::to_wstring(offset);
        }
    }
    return {};
}

HANDLE namedMutex(const std::wstring& name)
{
    return namedObject(name, [](const wchar_t* n) { return CreateMutexW(nullptr, FALSE, n); });
}

HANDLE namedEvent(const std::wstring& name)
{
    // Manual reset: one SetEvent releases every process waiting at that moment.
    return namedObject(name, [](const wchar_t* n) { return CreateEventW(nullptr, TRUE, FALSE, n); });
}

} // namespace commy::shm::platform::win32
