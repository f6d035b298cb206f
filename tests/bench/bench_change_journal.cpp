// How long a change made by one process takes to wake another that waits in waitForChange().
//
// Ping-pong between two processes on one region: the parent changes "ping" and waits for the
// child's "pong"; the child wakes on the ping and changes "pong". One iteration is a round trip, i.e.
// two wake-ups; the counters report half of it (one change -> other-process wake) as p50/p99.
// Two kinds of change: a root version bump (bumpRootVersion) and a container write (SharedBox::set,
// which commits through the container's journal and appends to the change journal lock-free).

#include <commy/shm/region.h>
#include <commy/shm/shared_box.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace commy::shm;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::unique_ptr<Region> openAttached(const std::string& path, OpenMode mode, const char* name)
{
    RegionOptions options;
    options.mode = mode;
    options.size = 1 << 20;
    auto region = Region::open(path, options);
    if (!region || !(*region)->attach(name))
        return nullptr;
    return std::move(*region);
}

enum class Change { RootBump, ContainerWrite };
Change g_change = Change::RootBump; // set before fork(), so both processes use the same kind

bool createRoot(Region& region, const char* name)
{
    if (g_change == Change::ContainerWrite)
        return SharedBox<std::uint64_t>::create(region, name, 0).hasValue();
    auto offset = region.allocate(16);
    return offset && region.createRoot(name, *offset);
}

bool makeChange(Region& region, const char* name)
{
    if (g_change == Change::RootBump)
        return region.bumpRootVersion(name).hasValue();
    auto box = SharedBox<std::uint64_t>::attach(region, name);
    return box && box->modify([](std::uint64_t& v) { ++v; });
}

// Waits until a change to `root` arrives after `seen`; false on a 2 s silence.
bool waitForRoot(Region& region, std::uint64_t rootOffset, std::uint64_t& seen)
{
    for (;;) {
        if (region.waitForChange(seen, 2000ms) == seen)
            return false;
        auto batch = region.changesSince(seen);
        if (!batch)
            return false;
        seen = batch->sequence;
        for (const RootChange& change : batch->changes) {
            if (change.rootOffset == rootOffset)
                return true;
        }
    }
}

[[noreturn]] void ponger(const std::string& path)
{
    // A region object of its own: the parent's, copied by fork(), is never touched here.
    auto region = openAttached(path, OpenMode::OpenExisting, "ponger");
    auto ping = region ? region->findRoot("ping") : RegionExpected<RootInfo>(commy::unexpected(RegionError::NotFound));
    auto stop = region ? region->findRoot("stop") : RegionExpected<RootInfo>(commy::unexpected(RegionError::NotFound));
    if (!ping || !stop)
        std::_Exit(2);
    std::uint64_t seen = region->changeSequence();
    if (!makeChange(*region, "pong")) // ready: pings from now on are seen
        std::_Exit(5);
    for (;;) {
        if (region->waitForChange(seen, 10000ms) == seen)
            std::_Exit(3);
        auto batch = region->changesSince(seen);
        if (!batch)
            std::_Exit(4);
        seen = batch->sequence;
        for (const RootChange& change : batch->changes) {
            if (change.rootOffset == stop->offset) {
                (void)region->detach();
                std::_Exit(0);
            }
            if (change.rootOffset == ping->offset && !makeChange(*region, "pong"))
                std::_Exit(5);
        }
    }
}

void wakeLatency(benchmark::State& state)
{
    g_change = state.range(0) == 0 ? Change::RootBump : Change::ContainerWrite;
    state.SetLabel(g_change == Change::RootBump ? "bumpRootVersion" : "SharedBox::modify");
    const std::filesystem::path dir
        = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    const std::string path = (dir / ("commy-bench-wake-" + std::to_string(::getpid()) + ".region")).string();
    std::filesystem::remove(path);
    auto region = openAttached(path, OpenMode::CreateOnly, "pinger");
    if (!region || !createRoot(*region, "ping") || !createRoot(*region, "pong") || !createRoot(*region, "stop")) {
        state.SkipWithError("cannot set up the region");
        return;
    }
    const std::uint64_t pongOffset = region->findRoot("pong")->offset;
    const pid_t child = ::fork();
    if (child == 0)
        ponger(path);

    std::vector<double> halfTripsNs;
    std::uint64_t seen = 0;
    if (!waitForRoot(*region, pongOffset, seen)) {
        state.SkipWithError("the other process did not start");
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
        return;
    }
    for (auto _ : state) {
        const auto start = Clock::now();
        if (!makeChange(*region, "ping") || !waitForRoot(*region, pongOffset, seen)) {
            state.SkipWithError("the other process did not answer");
            break;
        }
        halfTripsNs.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count() / 2);
    }
    (void)makeChange(*region, "stop");
    int status = 0;
    ::waitpid(child, &status, 0);
    region.reset();
    std::filesystem::remove(path);
    if (halfTripsNs.empty())
        return;
    std::sort(halfTripsNs.begin(), halfTripsNs.end());
    state.counters["p50_us"] = halfTripsNs[halfTripsNs.size() / 2] / 1000;
    state.counters["p99_us"] = halfTripsNs[halfTripsNs.size() * 99 / 100] / 1000;
}

} // namespace

BENCHMARK(wakeLatency)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond)->MinTime(2.0);
BENCHMARK_MAIN();
