#pragma once

// A small self-contained test harness for the Windows engine tests: Qt is not available for MinGW, and
// a harness of a hundred lines builds in a second where GoogleTest would add its own build to every CI
// run. Each case is a ctest test of its own (the binary runs the case named on its command line); the
// binary re-invoked with "child <command> ..." is the helper process of the multi-process cases.

#include <cstdio>
#include <string>
#include <vector>

namespace commy::wintest {

using CaseFunction = void (*)();
using ChildFunction = int (*)(const std::vector<std::string>& args);

struct Case {
    const char* name;
    CaseFunction run;
};
struct Child {
    const char* name;
    ChildFunction run;
};

inline std::vector<Case>& cases()
{
    static std::vector<Case> all;
    return all;
}
inline std::vector<Child>& children()
{
    static std::vector<Child> all;
    return all;
}
inline int& failures()
{
    static int count = 0;
    return count;
}

struct RegisterCase {
    RegisterCase(const char* name, CaseFunction run) { cases().push_back({ name, run }); }
};
struct RegisterChild {
    RegisterChild(const char* name, ChildFunction run) { children().push_back({ name, run }); }
};

inline void fail(const char* file, int line, const std::string& what)
{
    ++failures();
    std::fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what.c_str());
    std::fflush(stderr);
}

int runMain(int argc, char** argv);

} // namespace commy::wintest

#define WT_CASE(name)                                                                                                  \
    static void name();                                                                                                \
    static const ::commy::wintest::RegisterCase name##Registration(#name, name);                                       \
    static void name()

#define WT_CHILD(name)                                                                                                 \
    static int name(const std::vector<std::string>& args);                                                             \
    static const ::commy::wintest::RegisterChild name##Registration(#name, name);                                      \
    static int name([[maybe_unused]] const std::vector<std::string>& args)

// Ends the case on the first failure, so later steps never run on a broken state.
#define WT_CHECK(condition)                                                                                            \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            ::commy::wintest::fail(__FILE__, __LINE__, #condition);                                                    \
            return;                                                                                                    \
        }                                                                                                              \
    } while (false)

#define WT_CHECK_MSG(condition, message)                                                                               \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            ::commy::wintest::fail(__FILE__, __LINE__, std::string(#condition) + ": " + (message));                    \
            return;                                                                                                    \
        }                                                                                                              \
    } while (false)
