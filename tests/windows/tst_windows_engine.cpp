// The engine on Windows (run under wine in CI): the allocator conformance essentials, and what only
// several real processes can show: attach and publish, a lock holder killed mid-mutation, liveness of a
// terminated process, online grow with another process attached, the change-journal wake.

#include "harness.h"

#include "platform/platform.h"

#include <commy/shm/fault_injection.h>
#include <commy/shm/region.h>

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <aclapi.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace commy::shm;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;

std::uint8_t patternByte(std::uint64_t i, std::uint64_t seed)
{
    return static_cast<std::uint8_t>(i * 7 + seed * 13 + 1);
}

void fill(void* p, std::uint64_t bytes, std::uint64_t seed)
{
    auto* b = static_cast<std::uint8_t*>(p);
    for (std::uint64_t i = 0; i < bytes; ++i)
        b[i] = patternByte(i, seed);
}

bool holds(const void* p, std::uint64_t bytes, std::uint64_t seed)
{
    const auto* b = static_cast<const std::uint8_t*>(p);
    for (std::uint64_t i = 0; i < bytes; ++i) {
        if (b[i] != patternByte(i, seed))
            return false;
    }
    return true;
}

// A region file in the temporary folder, removed when the case ends.
class TempRegionPath {
public:
    TempRegionPath()
    {
        static int counter = 0;
        m_path = (std::filesystem::temp_directory_path()
            / ("commy-wt-" + std::to_string(GetCurrentProcessId()) + "-" + std::to_string(counter++) + ".region"))
                     .string();
    }
    ~TempRegionPath()
    {
        std::error_code ignored;
        std::filesystem::remove(m_path, ignored);
    }
    const std::string& path() const { return m_path; }

private:
    std::string m_path;
};

RegionExpected<std::unique_ptr<Region>> createRegion(
    const std::string& path, std::uint64_t size, std::uint64_t limit = 0, bool autoGrow = false)
{
    RegionOptions options;
    options.mode = OpenMode::CreateOnly;
    options.size = size;
    options.limit = limit;
    options.autoGrow = autoGrow;
    options.lockTimeout = 10s;
    return Region::open(path, options);
}

RegionExpected<std::unique_ptr<Region>> openRegion(const std::string& path)
{
    RegionOptions options;
    options.mode = OpenMode::OpenExisting;
    options.lockTimeout = 10s;
    return Region::open(path, options);
}

// This test binary started again as "child <command> <args...>"; terminated if still running when the
// object goes, so no case leaves a process behind.
class ChildProcess {
public:
    explicit ChildProcess(const std::vector<std::string>& args)
    {
        wchar_t self[MAX_PATH];
        GetModuleFileNameW(nullptr, self, MAX_PATH);
        std::wstring line = L"\"" + std::wstring(self) + L"\" child";
        for (const std::string& arg : args)
            line += L" \"" + std::wstring(arg.begin(), arg.end()) + L"\"";
        STARTUPINFOW startup {};
        startup.cb = sizeof startup;
        PROCESS_INFORMATION info {};
        if (CreateProcessW(nullptr, line.data(), nullptr, nullptr, FALSE, 0, nullptr, nullptr, &startup, &info)) {
            CloseHandle(info.hThread);
            m_process = info.hProcess;
            m_pid = info.dwProcessId;
        }
    }
    ~ChildProcess()
    {
        if (m_process) {
            if (WaitForSingleObject(m_process, 0) == WAIT_TIMEOUT) {
                TerminateProcess(m_process, 99);
                WaitForSingleObject(m_process, 10'000);
            }
            CloseHandle(m_process);
        }
    }
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    bool started() const { return m_process != nullptr; }
    std::uint64_t pid() const { return m_pid; }
    // The exit code, or -1 when the child did not end in time.
    long waitForExit(std::chrono::milliseconds timeout)
    {
        if (WaitForSingleObject(m_process, static_cast<DWORD>(timeout.count())) != WAIT_OBJECT_0)
            return -1;
        DWORD code = 0;
        GetExitCodeProcess(m_process, &code);
        return static_cast<long>(code);
    }
    void terminate()
    {
        TerminateProcess(m_process, 137);
        WaitForSingleObject(m_process, 10'000);
    }

private:
    HANDLE m_process = nullptr;
    std::uint64_t m_pid = 0;
};

// Waits (bounded) until a process named `name` is attached to the region.
bool waitForAttached(Region& region, const std::string& name, std::chrono::milliseconds timeout = 20s)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (auto list = region.processes(10s)) {
            for (const ProcessInfo& p : *list) {
                if (p.name == name)
                    return true;
            }
        }
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

std::uint64_t number(const std::string& text) { return std::stoull(text); }

} // namespace

// ---- child commands --------------------------------------------------------------------------------

// publish PATH ROOT BYTES: attach, fill a block with ROOT's pattern, make it a named root.
WT_CHILD(publish)
{
    auto region = openRegion(args.at(0));
    if (!region || !(*region)->attach("publisher"))
        return 2;
    const std::uint64_t bytes = number(args.at(2));
    auto block = (*region)->allocate(bytes);
    if (!block)
        return 3;
    fill((*region)->pointer(*block, bytes), bytes, bytes);
    if (!(*region)->createRoot(args.at(1), *block))
        return 4;
    return (*region)->detach() ? 0 : 5;
}

// crash-mid-mutation PATH: TerminateProcess itself after the first journaled write of an allocation,
// holding the region lock.
WT_CHILD(crashMidMutation)
{
    auto region = openRegion(args.at(0));
    if (!region || !(*region)->attach("crasher"))
        return 2;
    testing::killSelfAfterJournalWrites(1);
    for (int i = 0; i < 1000; ++i)
        (void)(*region)->allocate(4 * KiB);
    return 3; // not reached
}

// churn PATH: allocates and frees for ever, so that the parent's TerminateProcess often finds it
// holding the lock.
WT_CHILD(churn)
{
    RegionOptions options;
    options.mode = OpenMode::OpenExisting;
    options.localCacheBytes = 0; // every allocation takes the lock
    auto region = Region::open(args.at(0), options);
    if (!region || !(*region)->attach("churn"))
        return 2;
    for (std::uint64_t i = 0;; ++i) {
        auto block = (*region)->allocate(64 + (i % 64) * 48);
        if (block && i % 3 != 0)
            (void)(*region)->deallocate(*block);
    }
}

// attach-wait PATH NAME MS: attached under NAME for MS milliseconds.
WT_CHILD(attachWait)
{
    auto region = openRegion(args.at(0));
    if (!region || !(*region)->attach(args.at(1)))
        return 2;
    std::this_thread::sleep_for(std::chrono::milliseconds(number(args.at(2))));
    return (*region)->detach() ? 0 : 3;
}

// read-root PATH ROOT BYTES MS: attached, waits up to MS for ROOT, then checks its pattern.
WT_CHILD(readRoot)
{
    auto region = openRegion(args.at(0));
    if (!region || !(*region)->attach("reader"))
        return 2;
    const std::uint64_t bytes = number(args.at(2));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(number(args.at(3)));
    while (std::chrono::steady_clock::now() < deadline) {
        if (auto root = (*region)->findRoot(args.at(1))) {
            const void* p = (*region)->pointer(root->offset, bytes);
            if (!p)
                return 4;
            return holds(p, bytes, bytes) ? 0 : 5;
        }
        std::this_thread::sleep_for(10ms);
    }
    return 3;
}

// wait-change PATH MS: attached as "waiter", sleeps until the change journal moves (exit 0) or MS pass.
WT_CHILD(waitChange)
{
    auto region = openRegion(args.at(0));
    if (!region || !(*region)->attach("waiter"))
        return 2;
    const std::uint64_t before = (*region)->changeSequence();
    const std::uint64_t after = (*region)->waitForChange(before, std::chrono::milliseconds(number(args.at(1))));
    return after > before ? 0 : 1;
}

// ---- cases -----------------------------------------------------------------------------------------

// Every allocation is aligned, holds its own bytes, and after freeing everything (in two orders) the
// free bytes are back where they started, with checkSanity() clean after each phase.
WT_CASE(allocatorConformance)
{
    const std::uint64_t alignments[] = { 8, 16, 64, 512, 4096 };
    struct Mix {
        const char* name;
        std::uint64_t minBytes;
        std::uint64_t maxBytes;
    };
    const Mix mixes[] = { { "tiny", 1, 64 }, { "mixed", 1, 8 * KiB }, { "large", 16 * KiB, 256 * KiB } };
    struct Config {
        std::uint64_t size;
        std::uint64_t limit;
        bool autoGrow;
    };
    const Config configs[] = { { 1 * MiB, 0, false }, { 256 * KiB, 8 * MiB, true } };
    for (const Config& config : configs) {
        for (const Mix& mix : mixes) {
            for (const std::uint64_t alignment : alignments) {
                const std::string label = std::string(mix.name) + "/align" + std::to_string(alignment) + "/size"
                    + std::to_string(config.size);
                TempRegionPath path;
                auto region = createRegion(path.path(), config.size, config.limit, config.autoGrow);
                WT_CHECK_MSG(region, label + ": " + errorMessage(region.error()));
                Region& r = **region;
                WT_CHECK(r.attach("conformance"));
                auto start = r.stats();
                WT_CHECK(start);
                std::mt19937_64 random(alignment * 31 + mix.maxBytes);
                std::vector<std::pair<std::uint64_t, std::uint64_t>> live;
                for (int i = 0; i < 300; ++i) {
                    const std::uint64_t bytes = mix.minBytes + random() % (mix.maxBytes - mix.minBytes + 1);
                    auto block = r.allocate(bytes, alignment);
                    if (!block) {
                        WT_CHECK_MSG(
                            block.error() == RegionError::OutOfMemory, label + ": " + errorMessage(block.error()));
                        break;
                    }
                    void* p = r.pointer(*block, bytes);
                    WT_CHECK_MSG(p, label);
                    WT_CHECK_MSG(reinterpret_cast<std::uintptr_t>(p) % alignment == 0, label);
                    fill(p, bytes, *block);
                    live.emplace_back(*block, bytes);
                    if (i % 5 == 4) {
                        // Free a random live block now and then, so the free lists see mixed traffic.
                        const std::size_t victim = random() % live.size();
                        WT_CHECK_MSG(r.deallocate(live[victim].first), label);
                        live.erase(live.begin() + static_cast<std::ptrdiff_t>(victim));
                    }
                }
                WT_CHECK_MSG(!live.empty(), label);
                for (const auto& [offset, bytes] : live)
                    WT_CHECK_MSG(holds(r.pointer(offset, bytes), bytes, offset), label + ": overlapping blocks");
                WT_CHECK_MSG(r.checkSanity(), label);
                // Odd positions first, then the rest: neighbours coalesce from both sides.
                for (std::size_t i = 1; i < live.size(); i += 2)
                    WT_CHECK_MSG(r.deallocate(live[i].first), label);
                WT_CHECK_MSG(r.checkSanity(), label);
                for (std::size_t i = 0; i < live.size(); i += 2)
                    WT_CHECK_MSG(r.deallocate(live[i].first), label);
                auto sanity = r.checkSanity();
                WT_CHECK_MSG(sanity, label + ": " + (sanity ? std::string() : sanity.error().description));
                auto end = r.stats();
                WT_CHECK(end);
                // A grown region has more arena; everything it manages must be free again.
                WT_CHECK_MSG(end->usedBytes == start->usedBytes, label);
                WT_CHECK_MSG(end->freeBytes == start->freeBytes + (end->arenaBytes - start->arenaBytes), label);
                WT_CHECK_MSG(end->freeBlocks == 1, label);
                WT_CHECK_MSG(!r.deallocate(live[0].first), label + ": double free accepted");
            }
        }
    }
}

WT_CASE(attachAndPublishAcrossProcesses)
{
    TempRegionPath path;
    auto region = createRegion(path.path(), 1 * MiB);
    WT_CHECK(region);
    WT_CHECK((*region)->attach("parent"));
    for (int i = 0; i < 3; ++i) {
        const std::string root = "child-" + std::to_string(i);
        const std::uint64_t bytes = 1000 + 500 * static_cast<std::uint64_t>(i);
        ChildProcess child({ "publish", path.path(), root, std::to_string(bytes) });
        WT_CHECK(child.started());
        WT_CHECK(child.waitForExit(30s) == 0);
        auto found = (*region)->findRoot(root);
        WT_CHECK(found);
        WT_CHECK(holds((*region)->pointer(found->offset, bytes), bytes, bytes));
    }
    auto roots = (*region)->roots();
    WT_CHECK(roots && roots->size() == 3);
    WT_CHECK((*region)->checkSanity());
    // The children detached: only the parent is left.
    auto processes = (*region)->processes();
    WT_CHECK(processes && processes->size() == 1 && processes->front().name == "parent");
}

WT_CASE(lockHolderKilledMidMutation)
{
    TempRegionPath path;
    auto region = createRegion(path.path(), 1 * MiB);
    WT_CHECK(region);
    WT_CHECK((*region)->attach("parent"));
    auto before = (*region)->stats();
    WT_CHECK(before);
    ChildProcess child({ "crashMidMutation", path.path() });
    WT_CHECK(child.started());
    WT_CHECK(child.waitForExit(30s) == 137);
    // The next locker finds the mutex abandoned and rolls the half-done allocation back.
    auto block = (*region)->allocate(100);
    WT_CHECK(block);
    auto after = (*region)->stats();
    WT_CHECK(after && after->lockRecoveries == before->lockRecoveries + 1);
    WT_CHECK((*region)->checkSanity());
    auto cleaned = (*region)->cleanup();
    WT_CHECK(cleaned && cleaned->freedSlots.size() == 1 && cleaned->freedSlots.front().name == "crasher");
    WT_CHECK((*region)->deallocate(*block));
    WT_CHECK((*region)->checkSanity());
}

// Nobody else has the named mutex open when the holder dies, so no abandoned mutex is left: the
// holder word in the file still tells the next locker to recover.
WT_CASE(lockHolderKilledWhileAlone)
{
    TempRegionPath path;
    {
        auto region = createRegion(path.path(), 1 * MiB);
        WT_CHECK(region);
    }
    ChildProcess child({ "crashMidMutation", path.path() });
    WT_CHECK(child.started());
    WT_CHECK(child.waitForExit(30s) == 137);
    auto region = openRegion(path.path());
    WT_CHECK(region);
    WT_CHECK((*region)->attach("parent"));
    auto block = (*region)->allocate(100);
    WT_CHECK(block);
    auto stats = (*region)->stats();
    WT_CHECK(stats && stats->lockRecoveries >= 1);
    WT_CHECK((*region)->checkSanity());
}

WT_CASE(lockHolderTerminatedByParent)
{
    TempRegionPath path;
    auto region = createRegion(path.path(), 4 * MiB);
    WT_CHECK(region);
    WT_CHECK((*region)->attach("parent"));
    auto before = (*region)->stats();
    WT_CHECK(before);
    for (int round = 0; round < 3; ++round) {
        ChildProcess child({ "churn", path.path() });
        WT_CHECK(child.started());
        WT_CHECK(waitForAttached(**region, "churn"));
        std::this_thread::sleep_for(std::chrono::milliseconds(100 + 70 * round));
        child.terminate();
        auto block = (*region)->allocate(256);
        WT_CHECK(block);
        WT_CHECK((*region)->checkSanity());
        auto cleaned = (*region)->cleanup();
        WT_CHECK(cleaned && cleaned->freedSlots.size() == 1);
        WT_CHECK((*region)->deallocate(*block));
        WT_CHECK((*region)->checkSanity());
    }
    auto stats = (*region)->stats();
    // Cleanup gave back every block the killed children held.
    WT_CHECK(stats && stats->usedBytes == before->usedBytes);
}

WT_CASE(terminatedProcessIsDead)
{
    TempRegionPath path;
    auto region = createRegion(path.path(), 1 * MiB);
    WT_CHECK(region);
    ChildProcess child({ "attachWait", path.path(), "sleeper", "60000" });
    WT_CHECK(child.started());
    WT_CHECK(waitForAttached(**region, "sleeper"));
    auto alive = (*region)->processes(60s);
    WT_CHECK(alive && alive->size() == 1 && alive->front().liveness == Liveness::Alive);
    WT_CHECK(alive->front().pid == child.pid());
    child.terminate();
    auto dead = (*region)->processes(60s);
    WT_CHECK(dead && dead->size() == 1 && dead->front().liveness == Liveness::Dead);
    auto cleaned = (*region)->cleanup();
    WT_CHECK(cleaned && cleaned->freedSlots.size() == 1 && cleaned->freedSlots.front().name == "sleeper");
}

// Liveness compares start times, so a reused pid is a different process.
WT_CASE(pidReuseIsDetected)
{
    const std::uint64_t pid = platform::currentPid();
    const std::uint64_t started = platform::processStartTime(pid);
    WT_CHECK(started != 0);
    WT_CHECK(!platform::processGone(pid, started));
    WT_CHECK(platform::processGone(pid, started + 1));
    WT_CHECK(platform::processGone(0, 0));
}

WT_CASE(onlineGrowWithAttachedProcess)
{
    TempRegionPath path;
    auto region = createRegion(path.path(), 256 * KiB, 16 * MiB);
    WT_CHECK(region);
    WT_CHECK((*region)->attach("parent"));
    constexpr std::uint64_t kBig = 3 * MiB;
    ChildProcess child({ "readRoot", path.path(), "big", std::to_string(kBig), "30000" });
    WT_CHECK(child.started());
    WT_CHECK(waitForAttached(**region, "reader"));
    WT_CHECK(!(*region)->allocate(kBig)); // does not fit before the grow
    WT_CHECK((*region)->resizeFile(8 * MiB));
    auto block = (*region)->allocate(kBig);
    WT_CHECK(block);
    fill((*region)->pointer(*block, kBig), kBig, kBig);
    WT_CHECK((*region)->createRoot("big", *block));
    // The reader, mapped at the old size, remaps and sees the block past its old end.
    WT_CHECK(child.waitForExit(30s) == 0);
    WT_CHECK((*region)->size() == 8 * MiB);
    WT_CHECK((*region)->checkSanity());
}

WT_CASE(changeJournalWakesOtherProcess)
{
    TempRegionPath path;
    auto region = createRegion(path.path(), 1 * MiB);
    WT_CHECK(region);
    WT_CHECK((*region)->attach("parent"));
    auto block = (*region)->allocate(64);
    WT_CHECK(block && (*region)->createRoot("watched", *block));
    ChildProcess child({ "waitChange", path.path(), "30000" });
    WT_CHECK(child.started());
    WT_CHECK(waitForAttached(**region, "waiter"));
    std::this_thread::sleep_for(200ms); // let it fall asleep
    const auto woke = std::chrono::steady_clock::now();
    WT_CHECK((*region)->bumpRootVersion("watched"));
    WT_CHECK(child.waitForExit(30s) == 0);
    // Well before its 30 s timeout (timings under wine are loose, so the bound is too).
    WT_CHECK(std::chrono::steady_clock::now() - woke < 10s);
}

// The default mode (0600) gives the file a DACL that grants nothing to everyone else: no entry for
// Everyone, Authenticated Users or Users (wine adds an entry of its own beside the owner's, so the
// case does not count entries).
WT_CASE(newRegionFileIsOwnerOnly)
{
    TempRegionPath path;
    {
        auto region = createRegion(path.path(), 1 * MiB);
        WT_CHECK(region);
    }
    PACL dacl = nullptr;
    PSECURITY_DESCRIPTOR descriptor = nullptr;
    const std::wstring wide(path.path().begin(), path.path().end());
    const DWORD rc = GetNamedSecurityInfoW(
        wide.c_str(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, nullptr, nullptr, &dacl, nullptr, &descriptor);
    WT_CHECK(rc == ERROR_SUCCESS);
    WT_CHECK(dacl != nullptr); // a null DACL would grant everyone everything
    bool others = false;
    for (DWORD i = 0; i < dacl->AceCount; ++i) {
        void* ace = nullptr;
        if (!GetAce(dacl, i, &ace) || static_cast<ACE_HEADER*>(ace)->AceType != ACCESS_ALLOWED_ACE_TYPE)
            continue;
        PSID sid = &static_cast<ACCESS_ALLOWED_ACE*>(ace)->SidStart;
        others = others || IsWellKnownSid(sid, WinWorldSid) || IsWellKnownSid(sid, WinAuthenticatedUserSid)
            || IsWellKnownSid(sid, WinBuiltinUsersSid);
    }
    LocalFree(descriptor);
    WT_CHECK(!others);
}
