// A local program that maps a service's region directly, as GetServiceFilePath allows.
// Usage: broker_test_child map-writer <region path> <variable>
// It attaches, prints "ready", then for each line on stdin assigns the line to the variable (a
// SharedString root the broker created) and prints "wrote <CLOCK_REALTIME ns>" taken just before the
// write, so the test can measure how long the broker took to push it. Ends at end of input.

#include <commy/shm/region.h>
#include <commy/shm/shared_string.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

using namespace commy::shm;

int main(int argc, char** argv)
{
    if (argc != 4 || std::string(argv[1]) != "map-writer") {
        std::fprintf(stderr, "usage: broker_test_child map-writer <region path> <variable>\n");
        return 2;
    }
    RegionOptions options;
    options.mode = OpenMode::OpenExisting;
    auto region = Region::open(argv[2], options);
    if (!region || !(*region)->attach("map-writer")) {
        std::fprintf(stderr, "cannot open or attach %s\n", argv[2]);
        return 1;
    }
    auto variable = SharedString::attach(**region, argv[3]);
    if (!variable) {
        std::fprintf(stderr, "cannot attach variable %s: %s\n", argv[3], errorMessage(variable.error()));
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
    (void)(*region)->detach();
    return 0;
}
