// SharedVec and SharedBox benchmarks, one process.
//
//   vec/push/*      append kPushRun uint64_t values to an emptied vector (capacity kept, as
//                   std::vector::clear keeps it): SharedVec::push per call (lock, journal, commit
//                   and change-journal record each), SharedVec::push inside one BatchGuard per run
//                   (one lock, still one commit per push), std::vector::push_back.
//   vec/iterate/*   sum kIterateLength uint64_t values: SharedVec::forEach, SharedVec::toStd then a
//                   loop, std::vector.
//   box/read/*      read a 64-byte value: SharedBox::load() (seqlock, no lock), SharedBox::get()
//                   (container lock), and a copy under a std::mutex as an in-process reference.
//
// Vec benchmarks report items_per_second (elements pushed or summed, per CPU second); the box reads
// are one read per iteration, so Time and CPU are the time of one read. The region file lives in
// a private temporary directory (COMMY_BENCH_DIR, else /dev/shm, else the system temp dir) that is
// removed at exit.

#include "bench_support.h"

#include <commy/shm/shared_box.h>
#include <commy/shm/shared_vec.h>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace commy::shm;

constexpr std::uint64_t kPushRun = 4096;
constexpr std::uint64_t kIterateLength = std::uint64_t { 1 } << 16;
constexpr std::uint64_t kRegionBytes = std::uint64_t { 64 } << 20;

struct Words64 {
    std::uint64_t words[8];
};
static_assert(sizeof(Words64) == 64);

// The one attached region of the whole run.
Region* g_region = nullptr;
int g_names = 0;

std::string uniqueName(const char* base) { return std::string(base) + "-" + std::to_string(++g_names); }

// ---- vec push ----

void vecPushCommy(benchmark::State& state, bool batched)
{
    auto vec = SharedVec<std::uint64_t>::create(*g_region, uniqueName("push"));
    if (!vec) {
        state.SkipWithError("create failed");
        return;
    }
    if (!vec->reserve(kPushRun)) {
        state.SkipWithError("reserve failed");
        return;
    }
    for (auto _ : state) {
        std::optional<BatchGuard> batch;
        if (batched) {
            auto locked = BatchGuard::lock(*vec);
            if (!locked) {
                state.SkipWithError("batch failed");
                return;
            }
            batch.emplace(std::move(*locked));
        }
        if (!vec->clear()) {
            state.SkipWithError("clear failed");
            return;
        }
        for (std::uint64_t i = 0; i < kPushRun; ++i) {
            if (!vec->push(i)) {
                state.SkipWithError("push failed");
                return;
            }
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kPushRun));
}

void vecPushStd(benchmark::State& state)
{
    std::vector<std::uint64_t> vec;
    vec.reserve(kPushRun);
    for (auto _ : state) {
        vec.clear();
        for (std::uint64_t i = 0; i < kPushRun; ++i)
            vec.push_back(i);
        benchmark::DoNotOptimize(vec.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kPushRun));
}

// ---- vec iteration ----

std::optional<SharedVec<std::uint64_t>> filledVec()
{
    std::vector<std::uint64_t> values(kIterateLength);
    std::iota(values.begin(), values.end(), std::uint64_t { 1 });
    auto vec = SharedVec<std::uint64_t>::fromIterIn(*g_region, uniqueName("iterate"), values.begin(), values.end());
    if (!vec)
        return std::nullopt;
    return *vec;
}

void vecIterateForEach(benchmark::State& state)
{
    auto vec = filledVec();
    if (!vec) {
        state.SkipWithError("fill failed");
        return;
    }
    for (auto _ : state) {
        std::uint64_t sum = 0;
        if (!vec->forEach([&](std::uint64_t, std::uint64_t value) { sum += value; })) {
            state.SkipWithError("forEach failed");
            return;
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kIterateLength));
}

void vecIterateToStd(benchmark::State& state)
{
    auto vec = filledVec();
    if (!vec) {
        state.SkipWithError("fill failed");
        return;
    }
    for (auto _ : state) {
        auto copy = vec->toStd();
        if (!copy) {
            state.SkipWithError("toStd failed");
            return;
        }
        std::uint64_t sum = 0;
        for (const std::uint64_t value : *copy)
            sum += value;
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kIterateLength));
}

void vecIterateStd(benchmark::State& state)
{
    std::vector<std::uint64_t> values(kIterateLength);
    std::iota(values.begin(), values.end(), std::uint64_t { 1 });
    for (auto _ : state) {
        benchmark::DoNotOptimize(values.data());
        std::uint64_t sum = 0;
        for (const std::uint64_t value : values)
            sum += value;
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kIterateLength));
}

// ---- box reads ----

Words64 wordsOf(std::uint64_t value)
{
    Words64 w;
    for (std::uint64_t& word : w.words)
        word = value;
    return w;
}

std::optional<SharedBox<Words64>> makeBox()
{
    auto box = SharedBox<Words64>::create(*g_region, uniqueName("box"), wordsOf(42));
    if (!box)
        return std::nullopt;
    return *box;
}

void boxLoad(benchmark::State& state)
{
    auto box = makeBox();
    if (!box) {
        state.SkipWithError("create failed");
        return;
    }
    for (auto _ : state) {
        auto value = box->load();
        if (!value) {
            state.SkipWithError("load failed");
            return;
        }
        benchmark::DoNotOptimize(*value);
    }
}

void boxGet(benchmark::State& state)
{
    auto box = makeBox();
    if (!box) {
        state.SkipWithError("create failed");
        return;
    }
    for (auto _ : state) {
        auto value = box->get();
        if (!value) {
            state.SkipWithError("get failed");
            return;
        }
        benchmark::DoNotOptimize(*value);
    }
}

void boxStdMutex(benchmark::State& state)
{
    std::mutex mutex;
    const Words64 shared = wordsOf(42);
    for (auto _ : state) {
        Words64 copy;
        {
            std::lock_guard<std::mutex> lock(mutex);
            copy = shared;
        }
        benchmark::DoNotOptimize(copy);
    }
}

} // namespace

int main(int argc, char** argv)
{
    commy::bench::BenchDir dir;
    if (!dir.ok()) {
        std::fprintf(stderr, "bench_vec_box: cannot create a temporary directory\n");
        return 1;
    }
    std::string error;
    const auto region = commy::bench::createBenchRegion(dir, kRegionBytes, "bench_vec_box", error);
    if (!region) {
        std::fprintf(stderr, "bench_vec_box: cannot create the region: %s\n", error.c_str());
        return 1;
    }
    g_region = region.get();

    benchmark::RegisterBenchmark("vec/push/commy", [](benchmark::State& s) { vecPushCommy(s, false); });
    benchmark::RegisterBenchmark("vec/push/commy-batch", [](benchmark::State& s) { vecPushCommy(s, true); });
    benchmark::RegisterBenchmark("vec/push/std", vecPushStd);
    benchmark::RegisterBenchmark("vec/iterate/commy-forEach", vecIterateForEach);
    benchmark::RegisterBenchmark("vec/iterate/commy-toStd", vecIterateToStd);
    benchmark::RegisterBenchmark("vec/iterate/std", vecIterateStd);
    benchmark::RegisterBenchmark("box/read/commy-load-seqlock", boxLoad);
    benchmark::RegisterBenchmark("box/read/commy-get-locked", boxGet);
    benchmark::RegisterBenchmark("box/read/std-mutex-copy", boxStdMutex);

    benchmark::AddCustomContext("push_run", std::to_string(kPushRun));
    benchmark::AddCustomContext("iterate_length", std::to_string(kIterateLength));
    return commy::bench::runBenchmarks(argc, argv);
}
