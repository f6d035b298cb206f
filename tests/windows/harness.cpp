#include "harness.h"

#include <cstring>

namespace commy::wintest {

int runMain(int argc, char** argv)
{
    if (argc >= 3 && std::strcmp(argv[1], "child") == 0) {
        for (const Child& child : children()) {
            if (child.name == std::string(argv[2]))
                return child.run(std::vector<std::string>(argv + 3, argv + argc));
        }
        std::fprintf(stderr, "unknown child command %s\n", argv[2]);
        return 2;
    }
    if (argc == 2 && std::strcmp(argv[1], "--list") == 0) {
        for (const Case& c : cases())
            std::printf("%s\n", c.name);
        return 0;
    }
    int ran = 0;
    for (const Case& c : cases()) {
        if (argc >= 2 && c.name != std::string(argv[1]))
            continue;
        const int before = failures();
        std::printf("RUN  %s\n", c.name);
        std::fflush(stdout);
        c.run();
        std::printf("%s %s\n", failures() == before ? "PASS" : "FAIL", c.name);
        std::fflush(stdout);
        ++ran;
    }
    if (ran == 0) {
        std::fprintf(stderr, "no case named %s\n", argc >= 2 ? argv[1] : "");
        return 2;
    }
    return failures() == 0 ? 0 : 1;
}

} // namespace commy::wintest

int main(int argc, char** argv) { return commy::wintest::runMain(argc, argv); }
