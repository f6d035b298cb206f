// Container benchmarks: Commy's shared containers side by side with their std peers and, where
// one exists, Boost.Interprocess's in a managed_mapped_file.
//
// The file is in sections, one per container; each section has its own namespace and one
// register function that main() calls. Shared helpers (the key sequence) come first; the
// directory for region files comes from bench_support.h.
//
// Region files live in a private temporary directory (COMMY_BENCH_DIR, else /dev/shm, else the
// system temp dir), removed when the benchmark exits normally.

#include "bench_support.h"

#include <commy/shm/region.h>
#include <commy/shm/shared_hash_map.h>

#include <benchmark/benchmark.h>
#include <boost/interprocess/allocators/allocator.hpp>
#include <boost/interprocess/containers/map.hpp>
#include <boost/interprocess/managed_mapped_file.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <unistd.h>

namespace {

using commy::bench::BenchDir;
using commy::bench::SplitMix64;

// ---- shared helpers ----

// `count` distinct pseudo-random 64-bit keys (SplitMix64 is a bijection of its counter, so the
// first 2^64 outputs are distinct).
std::vector<std::uint64_t> distinctKeys(std::size_t count, std::uint64_t seed)
{
    SplitMix64 rng(seed);
    std::vector<std::uint64_t> keys(count);
    for (auto& key : keys)
        key = rng.next();
    return keys;
}

BenchDir* g_dir = nullptr;

// ---- hash map: SharedHashMap<uint64_t, uint64_t> vs std::unordered_map vs boost::interprocess::map ----
//
// lookup/<n>/<peer>  get() of present keys, in a fixed pseudo-random order, from a map of n entries
//                    built once (by inserts, no reserve) and kept for every run of that benchmark.
// insert/<n>/<peer>  n inserts of distinct keys into an empty map (no reserve), so the time includes
//                    every growth; the map is rebuilt between batches outside the timing. Time per insert.
// Peers
//   shared         SharedHashMap, one call per operation: lookups read lock-free (seqlock), inserts
//                  take the container lock and journal, commit and record the change each time.
//   shared-batch   the same calls inside one BatchGuard (the lock taken once for the whole run).
//   shared-locked  lookups only: a BatchGuard per lookup, i.e. lock + lookup + unlock each time.
//   std            std::unordered_map<uint64_t, uint64_t> (process-local, no lock).
//   boost          boost::interprocess::map (a red-black tree) in a managed_mapped_file, no lock:
//                  only correct while no other process writes.
//   boost-locked   the same with an interprocess_mutex taken per call, which sharing needs.
namespace hashmap {

namespace bip = boost::interprocess;
using SharedMap = commy::shm::SharedHashMap<std::uint64_t, std::uint64_t>;
using BoostAllocator
    = bip::allocator<std::pair<const std::uint64_t, std::uint64_t>, bip::managed_mapped_file::segment_manager>;
using BoostMap = bip::map<std::uint64_t, std::uint64_t, std::less<std::uint64_t>, BoostAllocator>;

constexpr std::uint64_t kRegionBytes = std::uint64_t { 512 } << 20;
constexpr std::size_t kProbes = std::size_t { 1 } << 16; // lookup keys per cycle, a power of two
constexpr std::uint64_t kKeySeed = 0x68617368ull;

struct SharedPeer {
    std::unique_ptr<commy::shm::Region> region;
    std::optional<SharedMap> map;
    unsigned generation = 0;

    std::string open()
    {
        std::string error;
        region = commy::bench::createBenchRegion(*g_dir, kRegionBytes, "bench", error);
        return region ? reset() : error;
    }
    // A fresh, empty map.
    std::string reset()
    {
        if (map) {
            map.reset();
            if (auto destroyed = SharedMap::destroy(*region, "map" + std::to_string(generation)); !destroyed)
                return std::string("destroy: ") + commy::shm::errorMessage(destroyed.error());
        }
        auto created = SharedMap::create(*region, "map" + std::to_string(++generation));
        if (!created)
            return std::string("create: ") + commy::shm::errorMessage(created.error());
        map = std::move(*created);
        return {};
    }
    bool insert(std::uint64_t key, std::uint64_t value) { return map->insert(key, value).hasValue(); }
    // Reads the result in place, as a caller would: `if (got && *got) use(**got)`.
    bool find(std::uint64_t key, std::uint64_t& value) const
    {
        auto got = map->get(key);
        if (!got || !got->has_value())
            return false;
        value = **got;
        return true;
    }
};

struct StdPeer {
    std::unordered_map<std::uint64_t, std::uint64_t> map;

    std::string open() { return reset(); }
    std::string reset()
    {
        map = {}; // a fresh bucket array too, as the other peers start from nothing
        return {};
    }
    bool insert(std::uint64_t key, std::uint64_t value)
    {
        map[key] = value;
        return true;
    }
    bool find(std::uint64_t key, std::uint64_t& value) const
    {
        auto it = map.find(key);
        if (it == map.end())
            return false;
        value = it->second;
        return true;
    }
};

template <bool Locked> struct BoostPeerT {
    std::optional<bip::managed_mapped_file> file;
    BoostMap* map = nullptr;
    bip::interprocess_mutex* mutex = nullptr;

    std::string open()
    {
        const std::string path = g_dir->nextFile();
        try {
            file.emplace(bip::create_only, path.c_str(), kRegionBytes);
            mutex = file->construct<bip::interprocess_mutex>("lock")();
        } catch (const std::exception& e) {
            return std::string("managed_mapped_file: ") + e.what();
        }
        ::unlink(path.c_str());
        return reset();
    }
    std::string reset()
    {
        try {
            if (map)
                file->destroy_ptr(map);
            map = file->construct<BoostMap>("map")(std::less<std::uint64_t>(), file->get_segment_manager());
        } catch (const std::exception& e) {
            return std::string("construct: ") + e.what();
        }
        return {};
    }
    bool insert(std::uint64_t key, std::uint64_t value)
    {
        try {
            if constexpr (Locked) {
                bip::scoped_lock<bip::interprocess_mutex> lock(*mutex);
                (*map)[key] = value;
            } else {
                (*map)[key] = value;
            }
        } catch (const std::exception&) {
            return false;
        }
        return true;
    }
    bool find(std::uint64_t key, std::uint64_t& value) const
    {
        std::optional<bip::scoped_lock<bip::interprocess_mutex>> lock;
        if constexpr (Locked)
            lock.emplace(*mutex);
        auto it = map->find(key);
        if (it == map->end())
            return false;
        value = it->second;
        return true;
    }
};
using BoostPeer = BoostPeerT<false>;
using BoostLockedPeer = BoostPeerT<true>;

enum class Mode { PerCall, Batch, LockPerCall };

// Maps built once per (peer, size) and kept for every run of the lookup benchmarks.
template <class Peer> Peer* filled(std::size_t n, std::string& error)
{
    static std::map<std::size_t, std::unique_ptr<Peer>> cache;
    if (auto it = cache.find(n); it != cache.end())
        return it->second.get();
    auto peer = std::make_unique<Peer>();
    error = peer->open();
    if (!error.empty())
        return nullptr;
    for (const std::uint64_t key : distinctKeys(n, kKeySeed)) {
        if (!peer->insert(key, key ^ 0x5555)) {
            error = "insert failed while filling";
            return nullptr;
        }
    }
    return cache.emplace(n, std::move(peer)).first->second.get();
}

std::vector<std::uint64_t> probeKeys(std::size_t n)
{
    const std::vector<std::uint64_t> keys = distinctKeys(n, kKeySeed);
    SplitMix64 rng(0x70726f6265ull);
    std::vector<std::uint64_t> probes(kProbes);
    for (auto& probe : probes)
        probe = keys[rng.next() % n];
    return probes;
}

template <class Peer, Mode M> void lookup(benchmark::State& state, std::size_t n)
{
    std::string error;
    Peer* peer = filled<Peer>(n, error);
    if (!peer) {
        state.SkipWithError(error.c_str());
        return;
    }
    const std::vector<std::uint64_t> probes = probeKeys(n);
    std::optional<commy::shm::BatchGuard> batch;
    if constexpr (M == Mode::Batch) {
        auto locked = commy::shm::BatchGuard::lock(*peer->map);
        if (!locked) {
            state.SkipWithError("BatchGuard::lock failed");
            return;
        }
        batch.emplace(std::move(*locked));
    }
    std::size_t i = 0;
    std::uint64_t misses = 0;
    std::uint64_t sum = 0;
    for (auto _ : state) {
        const std::uint64_t key = probes[i];
        i = (i + 1) & (kProbes - 1);
        std::uint64_t value = 0;
        bool found = false;
        if constexpr (M == Mode::LockPerCall) {
            auto locked = commy::shm::BatchGuard::lock(*peer->map);
            found = locked && peer->find(key, value);
        } else {
            found = peer->find(key, value);
        }
        if (!found || value != (key ^ 0x5555))
            ++misses;
        sum += value;
    }
    benchmark::DoNotOptimize(sum);
    if (misses != 0)
        state.SkipWithError("a present key was not found");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

template <class Peer, Mode M> void insert(benchmark::State& state, std::size_t n)
{
    Peer peer;
    if (std::string error = peer.open(); !error.empty()) {
        state.SkipWithError(error.c_str());
        return;
    }
    const std::vector<std::uint64_t> keys = distinctKeys(n, kKeySeed ^ 1);
    bool failed = false;
    while (state.KeepRunningBatch(static_cast<benchmark::IterationCount>(n))) {
        if (failed)
            continue;
        state.PauseTiming();
        std::string error = peer.reset();
        state.ResumeTiming();
        if (!error.empty()) {
            failed = true;
            state.SkipWithError(error.c_str());
            continue;
        }
        std::optional<commy::shm::BatchGuard> batch;
        if constexpr (M == Mode::Batch) {
            auto locked = commy::shm::BatchGuard::lock(*peer.map);
            if (locked)
                batch.emplace(std::move(*locked));
        }
        for (const std::uint64_t key : keys)
            failed |= !peer.insert(key, key);
        if (failed)
            state.SkipWithError("insert failed");
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// The fastest repetition beside the median: on a shared, busy machine it is the one least
// disturbed by other processes.
void addMin(benchmark::internal::Benchmark* b)
{
    b->ComputeStatistics("min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); });
}

void registerAll()
{
    const std::vector<std::pair<std::size_t, const char*>> lookupSizes { { 1000, "1K" }, { 100000, "100K" },
        { 1000000, "1M" } };
    for (const auto& [n, label] : lookupSizes) {
        const std::string prefix = std::string("hashmap/lookup/") + label + "/";
        const std::size_t size = n;
        addMin(benchmark::RegisterBenchmark(
            (prefix + "shared").c_str(), [size](benchmark::State& s) { lookup<SharedPeer, Mode::PerCall>(s, size); }));
        addMin(benchmark::RegisterBenchmark((prefix + "shared-batch").c_str(),
            [size](benchmark::State& s) { lookup<SharedPeer, Mode::Batch>(s, size); }));
        addMin(benchmark::RegisterBenchmark((prefix + "shared-locked").c_str(),
            [size](benchmark::State& s) { lookup<SharedPeer, Mode::LockPerCall>(s, size); }));
        addMin(benchmark::RegisterBenchmark(
            (prefix + "std").c_str(), [size](benchmark::State& s) { lookup<StdPeer, Mode::PerCall>(s, size); }));
        addMin(benchmark::RegisterBenchmark(
            (prefix + "boost").c_str(), [size](benchmark::State& s) { lookup<BoostPeer, Mode::PerCall>(s, size); }));
        addMin(benchmark::RegisterBenchmark((prefix + "boost-locked").c_str(),
            [size](benchmark::State& s) { lookup<BoostLockedPeer, Mode::PerCall>(s, size); }));
    }
    const std::vector<std::pair<std::size_t, const char*>> insertSizes { { 1000, "1K" }, { 100000, "100K" } };
    for (const auto& [n, label] : insertSizes) {
        const std::string prefix = std::string("hashmap/insert/") + label + "/";
        const std::size_t size = n;
        addMin(benchmark::RegisterBenchmark(
            (prefix + "shared").c_str(), [size](benchmark::State& s) { insert<SharedPeer, Mode::PerCall>(s, size); }));
        addMin(benchmark::RegisterBenchmark((prefix + "shared-batch").c_str(),
            [size](benchmark::State& s) { insert<SharedPeer, Mode::Batch>(s, size); }));
        addMin(benchmark::RegisterBenchmark(
            (prefix + "std").c_str(), [size](benchmark::State& s) { insert<StdPeer, Mode::PerCall>(s, size); }));
        addMin(benchmark::RegisterBenchmark(
            (prefix + "boost").c_str(), [size](benchmark::State& s) { insert<BoostPeer, Mode::PerCall>(s, size); }));
        addMin(benchmark::RegisterBenchmark((prefix + "boost-locked").c_str(),
            [size](benchmark::State& s) { insert<BoostLockedPeer, Mode::PerCall>(s, size); }));
    }
}

} // namespace hashmap

} // namespace

int main(int argc, char** argv)
{
    BenchDir dir;
    if (!dir.ok()) {
        std::fprintf(stderr, "bench_containers: cannot create a temporary directory\n");
        return 1;
    }
    g_dir = &dir;

    hashmap::registerAll();

    benchmark::AddCustomContext("region_dir", dir.path());
    return commy::bench::runBenchmarks(argc, argv);
}
