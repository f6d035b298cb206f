// Local programs that map a service's region directly, as GetServiceFilePath allows.
//
// broker_test_child map-writer <region path> <variable>
//   Attaches, prints "ready", then for each line on stdin assigns the line to the variable (a
//   SharedString root the broker created) and prints "wrote <CLOCK_REALTIME ns>" taken just before the
//   write, so the test can measure how long the broker took to push it. Ends at end of input.
//
// broker_test_child hold <region path> <process name> <bytes>
//   Attaches under <process name>, heartbeats every 100 ms, allocates <bytes> (0: nothing) without
//   publishing them, prints "ready <slot> <payload offset>", then waits for end of input and detaches.
//   Killed instead, it leaves a dead slot and an unpublished block for the broker's cleanup.

#include <commy/shm/region.h>
#include <commy/shm/shared_string.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

using namespace commy::shm;

namespace {

std::unique_ptr<Region> attachTo(const char* path, const char* name)
{
    RegionOptions options;
    options.mode = OpenMode::OpenExisting;
    auto region = Region::open(path, options);
    if (!region || !(*region)->attach(name)) {
        std::fprintf(stderr, "cannot open or attach %s\n", path);
        return nullptr;
    }
    return std::move(*region);
}

int mapWriter(const char* path, const char* name)
{
    auto region = attachTo(path, "map-writer");
    if (!region)
        return 1;
    auto variable = SharedString::attach(*region, name);
    if (!variable) {
        std::fprintf(stderr, "cannot attach variable %s: %s\n", name, errorMessage(variable.error()));
        return 1;
    }
    std::printf("ready\n");
    std::fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {
        const auto now = std::chrono::system_clock::now().time_since_epoch();
        if (!variable->assign(line)) {
            std::fprintf(stderr, "write failed\n");
            return 1;
        }
        std::printf(
            "wrote %lld\n", static_cast<long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()));
        std::fflush(stdout);
    }
    (void)region->detach();
    return 0;
}

int hold(const char* path, const char* name, const char* bytesText)
{
    auto region = attachTo(path, name);
    if (!region)
        return 1;
    region->startHeartbeatThread(std::chrono::milliseconds(100));
    const std::uint64_t bytes = std::strtoull(bytesText, nullptr, 10);
    std::uint64_t offset = 0;
    if (bytes > 0) {
        auto allocated = region->allocate(bytes);
        if (!allocated) {
            std::fprintf(stderr, "cannot allocate %llu bytes: %s\n", static_cast<unsigned long long>(bytes),
                errorMessage(allocated.error()));
            return 1;
        }
        offset = *allocated;
    }
    std::printf("ready %u %llu\n", region->slot(), static_cast<unsigned long long>(offset));
    std::fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) { }
    region->stopHeartbeatThread();
    if (offset != 0)
        (void)region->deallocate(offset);
    (void)region->detach();
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc == 4 && std::string(argv[1]) == "map-writer")
        return mapWriter(argv[2], argv[3]);
    if (argc == 5 && std::string(argv[1]) == "hold")
        return hold(argv[2], argv[3], argv[4]);
    std::fprintf(stderr,
        "usage: broker_test_child map-writer <region path> <variable>\n"
        "       broker_test_child hold <region path> <process name> <bytes>\n");
    return 2;
}
