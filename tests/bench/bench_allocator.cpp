// Allocator benchmarks: Commy's region allocator side by side with Boost.Interprocess
// (managed_mapped_file, default rbtree_best_fit + interprocess_mutex) and glibc malloc/free.
//
// Patterns
//   pair64  allocate(64) then free it, over and over.
//   mixed   a working set of kLiveBlocks blocks; each step frees one block picked by a fixed
//           pseudo-random sequence and allocates a replacement of a pseudo-random size, 16 B..64 KiB,
//           log-uniform (every power-of-two octave equally likely). One step = one allocate+free pair.
// Contention
//   1proc   the benchmark process alone.
//   2proc   a forked second process opens the same region file (Commy: open + attach; Boost: open
//           the same managed_mapped_file) and runs the same pattern on it with its own blocks for the
//           whole measurement; it is stopped and reaped afterwards (killed after 10 s at the latest).
//   2thr    malloc only: a second thread runs the pattern in the same process. glibc gives that
//           thread its own arena, so this is not a shared heap; it is the closest in-process analogue.
//
// Timing: Google Benchmark's time column is the mean wall time per allocate+free pair (iterations
// are counted in batches of kBatch pairs). For percentiles every batch of kBatch pairs is timed with
// steady_clock and divided by kBatch, which amortises the clock reads (see the steady_clock_ns
// context entry) over 64 pairs; p50_ns and p99_ns are percentiles of those per-batch means per pair.
// A failed allocation or free aborts the benchmark with SkipWithError: it is never counted.
//
// Region files live in a private temporary directory (COMMY_BENCH_DIR, else /dev/shm, else the
// system temp dir) and are unlinked as soon as every process has them open.

#include "bench_support.h"

#include <commy/shm/region.h>

#include <benchmark/benchmark.h>
#include <boost/interprocess/managed_mapped_file.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using commy::bench::BenchDir;
using commy::bench::SplitMix64;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kBatch = 64; // pairs per timed sample
constexpr std::size_t kLiveBlocks = 1000; // working set of the mixed pattern
constexpr std::size_t kSequenceLength = std::size_t { 1 } << 16; // steps before the mixed sequence repeats
constexpr std::size_t kMixedWarmUpSteps = kSequenceLength; // untimed steps after the initial fill
constexpr std::size_t kPairWarmUp = 1024;
constexpr std::uint64_t kRegionBytes = std::uint64_t { 256 } << 20; // far more than 2 x the mixed working set
constexpr std::uint64_t kParentSeed = 0x636f6d6d79ull;
constexpr std::uint64_t kPeerSeed = 0x70656572ull;
constexpr auto kPeerStartTimeout = std::chrono::seconds(30);
constexpr auto kPeerStopTimeout = std::chrono::seconds(10);
constexpr auto kPeerMaxLifetime = std::chrono::seconds(300);

// ---- the fixed pseudo-random sequence ----

// 16 B .. 64 KiB, log-uniform: an octave [2^e, 2^(e+1)] for e in 4..15, then uniform inside it.
std::uint32_t mixedSize(SplitMix64& rng)
{
    const unsigned octave = 4 + static_cast<unsigned>(rng.next() % 12);
    const std::uint64_t low = std::uint64_t { 1 } << octave;
    return static_cast<std::uint32_t>(low + rng.next() % (low + 1));
}

struct MixedStep {
    std::uint32_t victim; // index into the working set
    std::uint32_t bytes; // size of the replacement
};

struct MixedSequence {
    std::vector<std::uint32_t> initial; // sizes of the initial working set
    std::vector<MixedStep> steps;
};

MixedSequence makeMixedSequence(std::uint64_t seed)
{
    SplitMix64 rng(seed);
    MixedSequence s;
    s.initial.reserve(kLiveBlocks);
    for (std::size_t i = 0; i < kLiveBlocks; ++i)
        s.initial.push_back(mixedSize(rng));
    s.steps.reserve(kSequenceLength);
    for (std::size_t i = 0; i < kSequenceLength; ++i) {
        const auto victim = static_cast<std::uint32_t>(rng.next() % kLiveBlocks);
        s.steps.push_back({ victim, mixedSize(rng) });
    }
    return s;
}

// ---- the three allocators behind one interface ----
//
// open(path, createBytes, name): createBytes != 0 creates the backing file, 0 opens an existing one.
// Returns an empty string on success, otherwise what went wrong.

// CacheBytes: RegionOptions::localCacheBytes. The default keeps small freed blocks for this process;
// 0 makes every call take the region lock, which is what a call that misses the cache costs.
template <std::uint64_t CacheBytes> class CommyPeerT {
public:
    using Handle = std::uint64_t;
    static constexpr Handle kNull = 0; // offset 0 is the region header, never a block
    static constexpr bool kShared = true;

    std::string open(const std::string& path, std::uint64_t createBytes, const char* name)
    {
        commy::shm::RegionOptions options;
        options.mode = createBytes != 0 ? commy::shm::OpenMode::CreateOnly : commy::shm::OpenMode::OpenExisting;
        options.size = createBytes;
        options.localCacheBytes = CacheBytes;
        auto region = commy::shm::Region::open(path, options);
        if (!region)
            return std::string("Region::open: ") + commy::shm::errorMessage(region.error());
        if (auto slot = (*region)->attach(name); !slot)
            return std::string("Region::attach: ") + commy::shm::errorMessage(slot.error());
        m_region = std::move(*region);
        return {};
    }
    Handle allocate(std::size_t bytes)
    {
        auto offset = m_region->allocate(bytes);
        if (offset)
            return *offset;
        m_lastError
            = std::string("allocate(") + std::to_string(bytes) + "): " + commy::shm::errorMessage(offset.error());
        return kNull;
    }
    bool deallocate(Handle offset)
    {
        auto freed = m_region->deallocate(offset);
        if (!freed)
            m_lastError = std::string("deallocate: ") + commy::shm::errorMessage(freed.error());
        return freed.hasValue();
    }
    const std::string& lastError() const { return m_lastError; }

private:
    std::unique_ptr<commy::shm::Region> m_region;
    std::string m_lastError;
};

using CommyPeer = CommyPeerT<commy::shm::RegionOptions {}.localCacheBytes>;
using CommyLockedPeer = CommyPeerT<0>;

class BoostPeer {
public:
    using Handle = void*;
    static constexpr Handle kNull = nullptr;
    static constexpr bool kShared = true;

    std::string open(const std::string& path, std::uint64_t createBytes, const char* /*name*/)
    {
        namespace bip = boost::interprocess;
        try {
            if (createBytes != 0)
                m_file.emplace(bip::create_only, path.c_str(), createBytes);
            else
                m_file.emplace(bip::open_only, path.c_str());
        } catch (const std::exception& e) {
            return std::string("managed_mapped_file: ") + e.what();
        }
        return {};
    }
    Handle allocate(std::size_t bytes) { return m_file->allocate(bytes, std::nothrow); }
    bool deallocate(Handle p)
    {
        m_file->deallocate(p);
        return true;
    }
    std::string lastError() const { return "allocate: out of memory"; }

private:
    std::optional<boost::interprocess::managed_mapped_file> m_file;
};

class MallocPeer {
public:
    using Handle = void*;
    static constexpr Handle kNull = nullptr;
    static constexpr bool kShared = false;

    std::string open(const std::string& /*path*/, std::uint64_t /*createBytes*/, const char* /*name*/) { return {}; }
    Handle allocate(std::size_t bytes) { return std::malloc(bytes); }
    bool deallocate(Handle p)
    {
        std::free(p);
        return true;
    }
    std::string lastError() const { return "malloc: out of memory"; }
};

// ---- the two patterns ----

template <class Peer> class Pair64Workload {
public:
    Pair64Workload(Peer& peer, std::uint64_t /*seed*/)
        : m_peer(peer)
    {
    }
    bool setUp()
    {
        for (std::size_t i = 0; i < kPairWarmUp; ++i) {
            if (!step())
                return false;
        }
        return true;
    }
    bool step()
    {
        typename Peer::Handle h = m_peer.allocate(64);
        if (h == Peer::kNull)
            return false;
        benchmark::DoNotOptimize(h); // keeps the compiler from eliding a malloc/free pair
        return m_peer.deallocate(h);
    }
    bool tearDown() { return true; }

private:
    Peer& m_peer;
};

template <class Peer> class MixedWorkload {
public:
    MixedWorkload(Peer& peer, std::uint64_t seed)
        : m_peer(peer)
        , m_sequence(makeMixedSequence(seed))
        , m_live(kLiveBlocks, Peer::kNull)
    {
    }
    bool setUp()
    {
        for (std::size_t i = 0; i < kLiveBlocks; ++i) {
            m_live[i] = m_peer.allocate(m_sequence.initial[i]);
            if (m_live[i] == Peer::kNull)
                return false;
        }
        for (std::size_t i = 0; i < kMixedWarmUpSteps; ++i) {
            if (!step())
                return false;
        }
        return true;
    }
    bool step()
    {
        const MixedStep s = m_sequence.steps[m_next];
        m_next = (m_next + 1) & (kSequenceLength - 1);
        typename Peer::Handle& slot = m_live[s.victim];
        const bool freed = m_peer.deallocate(slot);
        slot = Peer::kNull;
        if (!freed)
            return false;
        slot = m_peer.allocate(s.bytes);
        benchmark::DoNotOptimize(slot);
        return slot != Peer::kNull;
    }
    bool tearDown()
    {
        bool ok = true;
        for (typename Peer::Handle& h : m_live) {
            if (h != Peer::kNull)
                ok = m_peer.deallocate(h) && ok;
            h = Peer::kNull;
        }
        return ok;
    }

private:
    Peer& m_peer;
    MixedSequence m_sequence;
    std::vector<typename Peer::Handle> m_live;
    std::size_t m_next = 0;
};

// ---- the contending peer: a forked process or a thread ----

enum class Phase : int { Starting, Running, Failed, Done };

// Shared between the benchmark and its peer (an anonymous MAP_SHARED page survives fork).
struct Control {
    std::atomic<Phase> phase { Phase::Starting };
    std::atomic<bool> stop { false };
    std::atomic<std::uint64_t> pairs { 0 };
    char error[256] = {};
};
static_assert(std::atomic<Phase>::is_always_lock_free && std::atomic<std::uint64_t>::is_always_lock_free,
    "the control block is used across processes");

void fail(Control& control, const std::string& what)
{
    std::snprintf(control.error, sizeof control.error, "peer: %s", what.c_str());
    control.phase.store(Phase::Failed);
}

// The peer's body: opens the same backing file, runs the pattern until told to stop.
template <class Peer, template <class> class Workload> void hammer(Control& control, const std::string& path)
{
    Peer peer;
    if (std::string error = peer.open(path, 0, "bench-peer"); !error.empty())
        return fail(control, error);
    Workload<Peer> work(peer, kPeerSeed);
    if (!work.setUp())
        return fail(control, "set-up: " + peer.lastError());
    control.phase.store(Phase::Running);
    const auto deadline = Clock::now() + kPeerMaxLifetime;
    while (!control.stop.load(std::memory_order_relaxed)) {
        for (std::size_t i = 0; i < kBatch; ++i) {
            if (!work.step())
                return fail(control, peer.lastError());
        }
        control.pairs.fetch_add(kBatch, std::memory_order_relaxed);
        if (Clock::now() > deadline)
            return fail(control, "ran past its maximum lifetime");
    }
    if (!work.tearDown())
        return fail(control, "tear-down: " + peer.lastError());
    control.phase.store(Phase::Done);
}

// For the signal handler: the peer to kill, the file and the directory to remove.
volatile pid_t g_childPid = 0;
char g_fileForSignal[4096] = {};
char g_dirForSignal[4096] = {};

class Contender {
public:
    enum class Kind { Process, Thread };

    Contender() = default;
    Contender(const Contender&) = delete;
    Contender& operator=(const Contender&) = delete;
    ~Contender() { (void)stop(); }

    // Starts the peer and waits until it runs its pattern. Returns an error text or "".
    template <class Body> std::string start(Kind kind, Body body)
    {
        void* memory = mmap(nullptr, sizeof(Control), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED)
            return std::string("mmap: ") + std::strerror(errno);
        m_control = new (memory) Control {};
        if (kind == Kind::Thread) {
            m_thread = std::thread([control = m_control, body] { body(*control); });
        } else {
            const pid_t parent = getpid();
            std::fflush(nullptr); // the child must not flush the parent's buffered output again
            const pid_t pid = fork();
            if (pid < 0)
                return std::string("fork: ") + std::strerror(errno);
            if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL); // never outlive the benchmark
                if (getppid() != parent)
                    _exit(2);
                // The parent owns the clean-up of the directory and the file.
                std::signal(SIGINT, SIG_DFL);
                std::signal(SIGTERM, SIG_DFL);
                std::signal(SIGHUP, SIG_DFL);
                g_fileForSignal[0] = '\0';
                g_dirForSignal[0] = '\0';
                body(*m_control);
                _exit(m_control->phase.load() == Phase::Done ? 0 : 1);
            }
            m_pid = pid;
            g_childPid = pid;
        }
        const auto deadline = Clock::now() + kPeerStartTimeout;
        for (;;) {
            const Phase phase = m_control->phase.load();
            if (phase == Phase::Running)
                return {};
            if (phase == Phase::Failed)
                return m_control->error;
            if (m_pid > 0 && waitpid(m_pid, nullptr, WNOHANG) == m_pid) {
                m_pid = -1;
                g_childPid = 0;
                return "peer exited during set-up";
            }
            if (Clock::now() > deadline)
                return "peer did not start in time";
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }

    std::uint64_t pairs() const { return m_control ? m_control->pairs.load(std::memory_order_relaxed) : 0; }
    bool killed() const { return m_killed; }

    // Stops the peer and reaps it (a process that does not stop in time is killed). Returns an
    // error text or "".
    std::string stop()
    {
        if (!m_control)
            return {};
        std::string error;
        m_control->stop.store(true);
        if (m_thread.joinable())
            m_thread.join();
        if (m_pid > 0) {
            int status = 0;
            bool reaped = false;
            const auto deadline = Clock::now() + kPeerStopTimeout;
            while (!reaped && Clock::now() < deadline) {
                const pid_t r = waitpid(m_pid, &status, WNOHANG);
                if (r == m_pid)
                    reaped = true;
                else
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            if (!reaped) {
                kill(m_pid, SIGKILL);
                waitpid(m_pid, &status, 0);
                m_killed = true;
                error = "peer did not stop in time and was killed";
            } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                error = "peer exited abnormally";
            }
            m_pid = -1;
            g_childPid = 0;
        }
        if (m_control->phase.load() == Phase::Failed)
            error = m_control->error;
        m_control->~Control();
        munmap(m_control, sizeof(Control));
        m_control = nullptr;
        return error;
    }

private:
    Control* m_control = nullptr;
    pid_t m_pid = -1;
    std::thread m_thread;
    bool m_killed = false;
};

// ---- the private directory for region files ----

BenchDir* g_dir = nullptr;

// Names the directory for the signal handler while it exists (declared after the BenchDir, so it
// is forgotten before the directory is removed).
class DirForSignal {
public:
    explicit DirForSignal(const std::string& path)
    {
        std::snprintf(g_dirForSignal, sizeof g_dirForSignal, "%s", path.c_str());
    }
    ~DirForSignal() { g_dirForSignal[0] = '\0'; }
    DirForSignal(const DirForSignal&) = delete;
    DirForSignal& operator=(const DirForSignal&) = delete;
};

// Removes a backing file when the benchmark ends, however it ends (it is normally unlinked earlier,
// as soon as every process has it open).
class FileGuard {
public:
    explicit FileGuard(std::string path)
        : m_path(std::move(path))
    {
        std::snprintf(g_fileForSignal, sizeof g_fileForSignal, "%s", m_path.c_str());
    }
    ~FileGuard() { unlinkNow(); }
    FileGuard(const FileGuard&) = delete;
    FileGuard& operator=(const FileGuard&) = delete;
    const std::string& path() const { return m_path; }
    void unlinkNow()
    {
        g_fileForSignal[0] = '\0';
        if (!m_path.empty())
            ::unlink(m_path.c_str());
        m_path.clear();
    }

private:
    std::string m_path;
};

extern "C" void onFatalSignal(int sig)
{
    // Async-signal-safe clean-up only: kill and reap the peer, remove our file and directory.
    if (g_childPid > 0) {
        kill(g_childPid, SIGKILL);
        waitpid(g_childPid, nullptr, 0);
    }
    if (g_fileForSignal[0] != '\0')
        ::unlink(g_fileForSignal);
    if (g_dirForSignal[0] != '\0')
        ::rmdir(g_dirForSignal);
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

// ---- measurement ----

double percentile(std::vector<double>& samples, double q)
{
    if (samples.empty())
        return 0;
    const auto k = static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1) + 0.5);
    const auto nth = samples.begin() + static_cast<std::ptrdiff_t>(k);
    std::nth_element(samples.begin(), nth, samples.end());
    return *nth;
}

// Skips the benchmark without timing anything (the state loop must still be entered and left).
void skip(benchmark::State& state, const std::string& why)
{
    state.SkipWithError(why.c_str());
    while (state.KeepRunningBatch(kBatch)) { }
}

enum class Contention { None, Process, Thread };

template <class Peer, template <class> class Workload>
void benchAllocator(benchmark::State& state, Contention contention)
{
    FileGuard file(Peer::kShared ? g_dir->nextFile() : std::string());
    const std::string regionPath = file.path();

    Peer peer;
    if (std::string error = peer.open(regionPath, kRegionBytes, "bench"); !error.empty())
        return skip(state, error);
    auto work = std::make_unique<Workload<Peer>>(peer, kParentSeed);
    if (!work->setUp())
        return skip(state, "set-up: " + peer.lastError());

    Contender contender;
    if (contention != Contention::None) {
        const auto kind = contention == Contention::Process ? Contender::Kind::Process : Contender::Kind::Thread;
        std::string error = contender.start(kind, [regionPath](Control& c) { hammer<Peer, Workload>(c, regionPath); });
        if (!error.empty())
            return skip(state, error);
    }
    file.unlinkNow(); // every process has it open (or mapped) by now

    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(state.max_iterations) / kBatch + 2);
    const std::uint64_t peerPairsBefore = contender.pairs();
    const auto begin = Clock::now();
    bool failed = false;
    while (state.KeepRunningBatch(kBatch)) {
        if (failed)
            continue; // SkipWithError has been called: the next KeepRunningBatch() returns false
        const auto t0 = Clock::now();
        for (std::size_t i = 0; i < kBatch; ++i) {
            if (!work->step()) {
                failed = true;
                break;
            }
        }
        const auto t1 = Clock::now();
        if (failed) {
            state.SkipWithError(peer.lastError().c_str());
            continue;
        }
        samples.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / kBatch);
    }
    const auto end = Clock::now();
    const std::uint64_t peerPairs = contender.pairs() - peerPairsBefore;

    const std::string peerError = contender.stop();
    if (!peerError.empty() && !failed) {
        state.SkipWithError(peerError.c_str());
        failed = true;
    }
    // A peer killed while it held Boost's (non-robust) mutex would block our frees: then drop the
    // blocks with the file instead of freeing them one by one.
    if (!contender.killed() && !work->tearDown() && !failed) {
        state.SkipWithError(("tear-down: " + peer.lastError()).c_str());
        failed = true;
    }
    if (failed)
        return;

    state.counters["p50_ns"] = percentile(samples, 0.50);
    state.counters["p99_ns"] = percentile(samples, 0.99);
    if (contention != Contention::None && peerPairs > 0) {
        // The peer's own mean time per pair while the benchmark ran.
        state.counters["peer_ns"]
            = std::chrono::duration<double, std::nano>(end - begin).count() / static_cast<double>(peerPairs);
    }
}

template <class Peer, template <class> class Workload> void add(const std::string& name, Contention contention)
{
    benchmark::RegisterBenchmark(name.c_str(), [contention](benchmark::State& state) {
        benchAllocator<Peer, Workload>(state, contention);
    })->UseRealTime();
}

// ---- cost floors: what one allocate+free pair of a locked allocator pays at the least ----
//
// Each iteration does what one pair does twice (one lock round trip per allocate and per free).

void floorGetpid(benchmark::State& state)
{
    while (state.KeepRunningBatch(kBatch)) {
        for (std::size_t i = 0; i < kBatch; ++i) {
            benchmark::DoNotOptimize(::getpid());
            benchmark::DoNotOptimize(::getpid());
        }
    }
}

void floorMutex(benchmark::State& state, bool robust)
{
    void* memory = mmap(nullptr, sizeof(pthread_mutex_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        return skip(state, "mmap failed");
    auto* mutex = static_cast<pthread_mutex_t*>(memory);
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (robust)
        pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    const int initialised = pthread_mutex_init(mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    if (initialised != 0) {
        munmap(memory, sizeof(pthread_mutex_t));
        return skip(state, "pthread_mutex_init failed");
    }
    bool failed = false;
    while (state.KeepRunningBatch(kBatch)) {
        if (failed)
            continue; // SkipWithError has been called: the next KeepRunningBatch() returns false
        for (std::size_t i = 0; i < 2 * kBatch; ++i) {
            if (pthread_mutex_lock(mutex) != 0) {
                failed = true;
                state.SkipWithError("pthread_mutex_lock failed");
                break;
            }
            pthread_mutex_unlock(mutex);
        }
    }
    pthread_mutex_destroy(mutex);
    munmap(memory, sizeof(pthread_mutex_t));
}

double steadyClockCostNs()
{
    constexpr int kReads = 1 << 20;
    Clock::time_point last {};
    const auto t0 = Clock::now();
    for (int i = 0; i < kReads; ++i) {
        last = Clock::now();
        benchmark::DoNotOptimize(last);
    }
    return std::chrono::duration<double, std::nano>(last - t0).count() / kReads;
}

} // namespace

int main(int argc, char** argv)
{
    BenchDir dir;
    if (!dir.ok()) {
        std::fprintf(stderr, "bench_allocator: cannot create a temporary directory\n");
        return 1;
    }
    g_dir = &dir;
    const DirForSignal dirForSignal(dir.path());
    std::signal(SIGINT, onFatalSignal);
    std::signal(SIGTERM, onFatalSignal);
    std::signal(SIGHUP, onFatalSignal);

    add<CommyPeer, Pair64Workload>("pair64/1proc/commy", Contention::None);
    add<CommyLockedPeer, Pair64Workload>("pair64/1proc/commy-nocache", Contention::None);
    add<BoostPeer, Pair64Workload>("pair64/1proc/boost", Contention::None);
    add<MallocPeer, Pair64Workload>("pair64/1proc/malloc", Contention::None);
    add<CommyPeer, MixedWorkload>("mixed/1proc/commy", Contention::None);
    add<CommyLockedPeer, MixedWorkload>("mixed/1proc/commy-nocache", Contention::None);
    add<BoostPeer, MixedWorkload>("mixed/1proc/boost", Contention::None);
    add<MallocPeer, MixedWorkload>("mixed/1proc/malloc", Contention::None);
    add<CommyPeer, Pair64Workload>("pair64/2proc/commy", Contention::Process);
    add<CommyLockedPeer, Pair64Workload>("pair64/2proc/commy-nocache", Contention::Process);
    add<BoostPeer, Pair64Workload>("pair64/2proc/boost", Contention::Process);
    add<MallocPeer, Pair64Workload>("pair64/2thr/malloc", Contention::Thread);
    add<CommyPeer, MixedWorkload>("mixed/2proc/commy", Contention::Process);
    add<CommyLockedPeer, MixedWorkload>("mixed/2proc/commy-nocache", Contention::Process);
    add<BoostPeer, MixedWorkload>("mixed/2proc/boost", Contention::Process);
    add<MallocPeer, MixedWorkload>("mixed/2thr/malloc", Contention::Thread);

    benchmark::RegisterBenchmark("floor/getpid_x2", floorGetpid)->UseRealTime();
    benchmark::RegisterBenchmark("floor/robust_pshared_mutex_x2", [](benchmark::State& state) {
        floorMutex(state, true);
    })->UseRealTime();
    benchmark::RegisterBenchmark("floor/pshared_mutex_x2", [](benchmark::State& state) {
        floorMutex(state, false);
    })->UseRealTime();

    benchmark::AddCustomContext("region_dir", dir.path());
    benchmark::AddCustomContext("region_bytes", std::to_string(kRegionBytes));
    benchmark::AddCustomContext("pairs_per_sample", std::to_string(kBatch));
    char clockCost[32];
    std::snprintf(clockCost, sizeof clockCost, "%.1f", steadyClockCostNs());
    benchmark::AddCustomContext("steady_clock_ns", clockCost);

    return commy::bench::runBenchmarks(argc, argv);
}
