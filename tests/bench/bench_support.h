#pragma once

// Helpers shared by the benchmarks: a fixed pseudo-random sequence, the private directory for
// region files, a region created and attached in it, and the end of main() that runs Google
// Benchmark.

#include <commy/shm/region.h>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include <unistd.h>

namespace commy::bench {

// SplitMix64: a fixed sequence for a seed, the same on every machine and run.
class SplitMix64 {
public:
    explicit SplitMix64(std::uint64_t seed)
        : m_state(seed)
    {
    }
    std::uint64_t next()
    {
        std::uint64_t z = (m_state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }

private:
    std::uint64_t m_state;
};

// A private directory for region files (under COMMY_BENCH_DIR, else /dev/shm, else the system temp
// dir), removed with its contents when it goes out of scope.
class BenchDir {
public:
    BenchDir()
    {
        std::filesystem::path base;
        if (const char* env = std::getenv("COMMY_BENCH_DIR"); env && *env)
            base = env;
        else if (access("/dev/shm", W_OK) == 0)
            base = "/dev/shm";
        else
            base = std::filesystem::temp_directory_path();
        std::string pattern = (base / "commy-bench-XXXXXX").string();
        if (mkdtemp(pattern.data()))
            m_path = pattern;
    }
    ~BenchDir()
    {
        if (!m_path.empty()) {
            std::error_code ignored;
            std::filesystem::remove_all(m_path, ignored);
        }
    }
    BenchDir(const BenchDir&) = delete;
    BenchDir& operator=(const BenchDir&) = delete;

    bool ok() const { return !m_path.empty(); }
    const std::string& path() const { return m_path; }
    std::string nextFile() { return m_path + "/region-" + std::to_string(++m_files); }

private:
    std::string m_path;
    unsigned m_files = 0;
};

// A new region of `bytes` in `dir`, attached as `process`; nullptr with the reason in `error` on
// failure. Its file is unlinked at once: the mapping keeps it alive, and nothing is left behind.
inline std::unique_ptr<commy::shm::Region> createBenchRegion(
    BenchDir& dir, std::uint64_t bytes, const char* process, std::string& error)
{
    commy::shm::RegionOptions options;
    options.mode = commy::shm::OpenMode::CreateOnly;
    options.size = bytes;
    const std::string path = dir.nextFile();
    auto region = commy::shm::Region::open(path, options);
    if (!region) {
        error = std::string("Region::open: ") + commy::shm::errorMessage(region.error());
        return nullptr;
    }
    if (auto slot = (*region)->attach(process); !slot) {
        error = std::string("Region::attach: ") + commy::shm::errorMessage(slot.error());
        return nullptr;
    }
    ::unlink(path.c_str());
    return std::move(*region);
}

// Runs the registered benchmarks with the command line's options; 1 for an option it does not know.
inline int runBenchmarks(int argc, char** argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

} // namespace commy::bench
