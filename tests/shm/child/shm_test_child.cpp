// shm_test_child: the "other process" of the shm tests. Qt-free; links engine_shm only.
//
// Usage: shm_test_child <command> <args...>. Lines on stdout tell the test what happened ("attached",
// "running", "done ..."); commands that wait read their instructions from stdin. Exit codes:
//   0 success, 1 data mismatch, 2 engine or usage error, 3 a crash point was armed but never reached.
//
//   alloc-publish PATH ROOT BYTES            allocate, fill with ROOT's pattern, createRoot(ROOT)
//   read-root PATH ROOT BYTES                verify ROOT's block holds ROOT's pattern (exit 1 if not)
//   allocate-loop PATH MAX_MS SEED MAXBYTES  random allocate/verify/free until stdin says stop
//   attach-and-wait PATH NAME [HEARTBEAT_MS] attach, then obey stdin: "exit" (no detach), "detach"
//   busy PATH MAX_MS                         attach, then burn CPU without any heartbeat
//   heartbeat-busy PATH MAX_MS INTERVAL_MS   attach, heartbeat thread on, main thread burns CPU
//   alloc-unpublished PATH COUNT BYTES EVERY allocate COUNT blocks, publish every EVERY-th, then wait
//   stash PATH COUNT BYTES                   allocate COUNT blocks and free them all (they stay in the
//                                            local cache), then wait like alloc-unpublished
//   wait-change PATH AFTER MAX_MS [IGNORED]  print "waiting", block in waitForChange(AFTER, MAX_MS[, IGNORED
//                                            writer slot]), then print "woke SEQUENCE MONOTONIC_NS" (steady
//                                            clock when it woke)
//   fill PATH BYTES                          allocate BYTES-sized blocks until an error, then wait
//   crash-at PATH N PREFIX                   arm killSelfAfterJournalWrites(N), run a mixed workload
//   resize-crash PATH NEWSIZE N              arm killSelfAfterJournalWrites(N), resizeFile(NEWSIZE)
//   grow-publish PATH NEWSIZE FILLER ROOT BYTES  resizeFile(NEWSIZE), allocate FILLER bytes, then
//                                            BYTES with ROOT's pattern as root ROOT; print its offset
//   open-or-create PATH SIZE INDEX           wait for "go", then OpenOrCreate, attach, publish a root
//   lock-probe PATH                          open and take the lock once (stats())
//   ops PATH [OFFSET...]                     open, run every API call once (deallocate/publish the
//                                            OFFSETs), print each result; for damaged files
//   fuzz PRISTINE WORK SEED COUNT [FIRST]    COUNT times: copy PRISTINE to WORK with a few seeded
//                                            byte changes, open it and run the same calls; the
//                                            changes of iteration i depend on SEED and i only
//   box-writer PATH NAME COUNT               set SharedBox<BoxWords> NAME to boxWords(1..COUNT)
//   box-crash PATH NAME STEPS                arm killSelfAfterContainerSteps(STEPS), set NAME

#include "container_workload.h"
#include "shm_box_value.h"
#include "shm_pattern.h"

#include <commy/shm/fault_injection.h>
#include <commy/shm/region.h>
#include <commy/shm/shared_box.h>

#include <commy/shm/region_format.h>
#include <commy/shm/shared_btree_map.h>
#include <commy/shm/shared_btree_set.h>
#include <commy/shm/shared_hash_map.h>
#include <commy/shm/shared_hash_set.h>
#include <commy/shm/shared_string.h>
#include <commy/shm/shared_vec.h>
#include <commy/shm/shared_vec_deque.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <poll.h>
#include <random>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

using namespace commy::shm;
using namespace commy::shmtest;
using Clock = std::chrono::steady_clock;

namespace {

// Where a Region goes that must never detach: reachable, so LeakSanitizer does not fail the exit.
Region* g_neverDetached = nullptr;

[[noreturn]] void fail(const std::string& what, RegionError error)
{
    std::printf("error %s %s\n", what.c_str(), errorMessage(error));
    std::fflush(stdout);
    std::_Exit(2);
}

[[noreturn]] void usage(const char* message)
{
    std::printf("error usage %s\n", message);
    std::fflush(stdout);
    std::_Exit(2);
}

void say(const std::string& line)
{
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

std::uint64_t number(const char* text)
{
    std::uint64_t value = 0;
    const std::string_view view(text);
    const auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), value);
    if (ec != std::errc() || end != view.data() + view.size())
        usage(text);
    return value;
}

std::unique_ptr<Region> openExisting(const std::string& path)
{
    RegionOptions options;
    options.mode = OpenMode::OpenExisting;
    auto region = Region::open(path, options);
    if (!region)
        fail("open", region.error());
    return std::move(*region);
}

std::uint32_t attachOrDie(Region& region, std::string_view name)
{
    auto slot = region.attach(name);
    if (!slot)
        fail("attach", slot.error());
    return *slot;
}

void announceAttached(std::uint32_t slot)
{
    say("attached " + std::to_string(slot) + " " + std::to_string(::getpid()));
}

// True when the parent wrote something to stdin or closed it.
bool stdinReadable()
{
    pollfd fd { 0, POLLIN, 0 };
    return ::poll(&fd, 1, 0) > 0;
}

std::string readCommand()
{
    std::string line;
    if (!std::getline(std::cin, line))
        return "eof";
    return line;
}

void burnCpuUntil(Clock::time_point deadline, bool stopOnStdin)
{
    volatile std::uint64_t sink = 0;
    for (;;) {
        for (int i = 0; i < 100000; ++i)
            sink = sink + static_cast<std::uint64_t>(i);
        if (Clock::now() >= deadline || (stopOnStdin && stdinReadable()))
            return;
    }
}

// Allocates BYTES filled with ROOT's pattern, publishes them as ROOT and prints the offset.
void publishPatternRoot(Region& region, const std::string& root, std::uint64_t bytes)
{
    auto offset = region.allocate(bytes);
    if (!offset)
        fail("allocate", offset.error());
    void* p = region.pointer(*offset, bytes);
    if (!p)
        fail("pointer", RegionError::InvalidArgument);
    fillPattern(p, bytes, seedForName(root.c_str()));
    if (auto created = region.createRoot(root, *offset); !created)
        fail("createRoot", created.error());
    say("offset " + std::to_string(*offset));
}

int allocPublish(const std::string& path, const std::string& root, std::uint64_t bytes)
{
    auto region = openExisting(path);
    attachOrDie(*region, "alloc-publish");
    publishPatternRoot(*region, root, bytes);
    return 0;
}

int readRoot(const std::string& path, const std::string& root, std::uint64_t bytes)
{
    auto region = openExisting(path);
    auto info = region->findRoot(root);
    if (!info)
        fail("findRoot", info.error());
    const void* p = region->pointer(info->offset, bytes);
    if (!p)
        fail("pointer", RegionError::InvalidArgument);
    const std::int64_t bad = verifyPattern(p, bytes, seedForName(root.c_str()));
    if (bad >= 0) {
        say("mismatch at " + std::to_string(bad));
        return 1;
    }
    say("match " + std::to_string(info->offset));
    return 0;
}

int allocateLoop(const std::string& path, std::uint64_t maxMs, std::uint64_t seed, std::uint64_t maxBytes)
{
    auto region = openExisting(path);
    attachOrDie(*region, "allocate-loop");
    std::mt19937_64 rng(seed);
    struct Live {
        std::uint64_t bytes;
        std::uint64_t seed;
    };
    std::map<std::uint64_t, Live> live;
    std::uint64_t ops = 0, allocations = 0, outOfMemory = 0, maxEnd = 0, nextSeed = seed << 20;
    bool announced = false;
    const auto deadline = Clock::now() + std::chrono::milliseconds(maxMs);

    auto verifyAndFree = [&](std::map<std::uint64_t, Live>::iterator it) {
        const void* p = region->pointer(it->first, it->second.bytes);
        if (!p || verifyPattern(p, it->second.bytes, it->second.seed) >= 0) {
            say("mismatch at offset " + std::to_string(it->first));
            std::_Exit(1);
        }
        if (auto freed = region->deallocate(it->first); !freed)
            fail("deallocate", freed.error());
        return live.erase(it);
    };

    while (Clock::now() < deadline && !(ops % 32 == 0 && stdinReadable())) {
        ++ops;
        if (live.empty() || rng() % 100 < 55) {
            const std::uint64_t bytes = 1 + rng() % maxBytes;
            auto offset = region->allocate(bytes, std::uint64_t { 16 } << (rng() % 4));
            if (!offset) {
                if (offset.error() != RegionError::OutOfMemory)
                    fail("allocate", offset.error());
                ++outOfMemory;
                if (!live.empty())
                    verifyAndFree(live.begin());
                continue;
            }
            void* p = region->pointer(*offset, bytes);
            if (!p)
                fail("pointer", RegionError::InvalidArgument);
            fillPattern(p, bytes, ++nextSeed);
            live[*offset] = { bytes, nextSeed };
            ++allocations;
            maxEnd = std::max(maxEnd, *offset + bytes);
            if (!announced) {
                say("running");
                announced = true;
            }
        } else {
            auto it = live.lower_bound(rng() % (maxEnd + 1));
            verifyAndFree(it == live.end() ? live.begin() : it);
        }
    }
    for (auto it = live.begin(); it != live.end();)
        it = verifyAndFree(it);
    // One more call so this process has certainly looked at the region after the last resize.
    auto stats = region->stats();
    if (!stats)
        fail("stats", stats.error());
    say("done ops=" + std::to_string(ops) + " allocations=" + std::to_string(allocations)
        + " oom=" + std::to_string(outOfMemory) + " maxend=" + std::to_string(maxEnd)
        + " size=" + std::to_string(region->size()) + " generation=" + std::to_string(region->generation()));
    return 0;
}

int attachAndWait(const std::string& path, const std::string& name, std::uint64_t heartbeatMs)
{
    auto region = openExisting(path);
    announceAttached(attachOrDie(*region, name));
    if (heartbeatMs > 0)
        region->startHeartbeatThread(std::chrono::milliseconds(heartbeatMs));
    for (;;) {
        const std::string command = readCommand();
        if (command == "exit") {
            // A normal exit (status 0, atexit handlers run) that never detaches.
            region->stopHeartbeatThread();
            g_neverDetached = region.release();
            std::exit(0);
        }
        if (command == "detach" || command == "eof") {
            region.reset();
            say("detached");
            return 0;
        }
    }
}

int busy(const std::string& path, std::uint64_t maxMs)
{
    auto region = openExisting(path);
    announceAttached(attachOrDie(*region, "busy"));
    burnCpuUntil(Clock::now() + std::chrono::milliseconds(maxMs), false);
    std::_Exit(0);
}

int heartbeatBusy(const std::string& path, std::uint64_t maxMs, std::uint64_t intervalMs)
{
    auto region = openExisting(path);
    const std::uint32_t slot = attachOrDie(*region, "heartbeat-busy");
    region->startHeartbeatThread(std::chrono::milliseconds(intervalMs));
    announceAttached(slot);
    burnCpuUntil(Clock::now() + std::chrono::milliseconds(maxMs), true);
    region.reset();
    say("detached");
    return 0;
}

int allocUnpublished(const std::string& path, std::uint64_t count, std::uint64_t bytes, std::uint64_t every)
{
    auto region = openExisting(path);
    const std::uint32_t slot = attachOrDie(*region, "alloc-unpublished");
    for (std::uint64_t i = 0; i < count; ++i) {
        auto offset = region->allocate(bytes + 8 * i);
        if (!offset)
            fail("allocate", offset.error());
        const bool publish = every != 0 && i % every == 0;
        if (publish) {
            if (auto published = region->publish(*offset); !published)
                fail("publish", published.error());
        }
        say("block " + std::to_string(*offset) + " " + (publish ? "1" : "0"));
    }
    announceAttached(slot);
    for (;;) {
        const std::string command = readCommand();
        if (command == "exit") {
            g_neverDetached = region.release();
            std::exit(0);
        }
        if (command == "eof")
            return 0;
    }
}

int stash(const std::string& path, std::uint64_t count, std::uint64_t bytes)
{
    auto region = openExisting(path);
    const std::uint32_t slot = attachOrDie(*region, "stash");
    std::vector<std::uint64_t> offsets;
    for (std::uint64_t i = 0; i < count; ++i) {
        auto offset = region->allocate(bytes);
        if (!offset)
            fail("allocate", offset.error());
        offsets.push_back(*offset);
    }
    for (const std::uint64_t offset : offsets) {
        if (auto freed = region->deallocate(offset); !freed)
            fail("deallocate", freed.error());
    }
    say("stashed " + std::to_string(count));
    announceAttached(slot);
    for (;;) {
        const std::string command = readCommand();
        if (command == "eof")
            return 0;
    }
}

int waitChange(
    const std::string& path, std::uint64_t after, std::uint64_t maxMs, std::optional<std::uint32_t> ignoredWriter)
{
    auto region = openExisting(path);
    say("waiting");
    const std::uint64_t sequence = region->waitForChange(after, std::chrono::milliseconds(maxMs), ignoredWriter);
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
    say("woke " + std::to_string(sequence) + " " + std::to_string(now));
    return 0;
}

int fill(const std::string& path, std::uint64_t bytes)
{
    auto region = openExisting(path);
    attachOrDie(*region, "fill");
    std::uint64_t count = 0;
    RegionError error {};
    for (;;) {
        auto offset = region->allocate(bytes);
        if (!offset) {
            error = offset.error();
            break;
        }
        void* p = region->pointer(*offset, bytes);
        if (!p)
            fail("pointer", RegionError::InvalidArgument);
        fillPattern(p, bytes, *offset);
        ++count;
    }
    say("filled " + std::to_string(count) + " " + errorMessage(error) + " size=" + std::to_string(region->size()));
    (void)readCommand();
    return 0;
}

// A workload that touches every kind of locked mutation: slot claim, aligned and unaligned
// allocations, frees with coalescing, root creation (with root-table rehashes as tombstones pile up),
// takeRoot, removeRoot. It leaves nothing behind when it completes, so whatever it leaves after a
// crash is the crash's doing.
int crashAt(const std::string& path, int n, const std::string& prefix)
{
    auto region = openExisting(path);
    testing::killSelfAfterJournalWrites(n);
    attachOrDie(*region, "crash-at");
    for (std::uint64_t i = 0; i < 20; ++i) {
        auto a = region->allocate(24 + 40 * i);
        auto b = region->allocate(1500 + 100 * i, 64);
        auto c = region->allocate(200);
        if (!a || !b || !c)
            fail("allocate", !a ? a.error() : !b ? b.error() : c.error());
        if (auto freed = region->deallocate(*b); !freed)
            fail("deallocate", freed.error());
        const std::string name = prefix + "-" + std::to_string(i);
        if (auto created = region->createRoot(name, *a); !created)
            fail("createRoot", created.error());
        auto taken = region->takeRoot(name);
        if (!taken)
            fail("takeRoot", taken.error());
        if (auto created = region->createRoot(name + "x", *c, RootKind::Vec, "vec<u8>"); !created)
            fail("createRoot", created.error());
        if (auto freed = region->deallocate(*taken); !freed)
            fail("deallocate", freed.error());
        if (auto removed = region->removeRoot(name + "x"); !removed)
            fail("removeRoot", removed.error());
    }
    testing::killSelfAfterJournalWrites(0);
    say("survived");
    return 3;
}

int resizeCrash(const std::string& path, std::uint64_t newSize, int n)
{
    auto region = openExisting(path);
    testing::killSelfAfterJournalWrites(n);
    if (auto resized = region->resizeFile(newSize); !resized)
        fail("resizeFile", resized.error());
    testing::killSelfAfterJournalWrites(0);
    say("survived");
    return 3;
}

int growPublish(
    const std::string& path, std::uint64_t newSize, std::uint64_t filler, const std::string& root, std::uint64_t bytes)
{
    auto region = openExisting(path);
    if (auto resized = region->resizeFile(newSize); !resized)
        fail("resizeFile", resized.error());
    attachOrDie(*region, "grow-publish");
    // The filler is never touched, so it costs address space only.
    auto skipped = region->allocate(filler);
    if (!skipped)
        fail("allocate", skipped.error());
    if (auto published = region->publish(*skipped); !published)
        fail("publish", published.error());
    publishPatternRoot(*region, root, bytes);
    return 0;
}

int openOrCreate(const std::string& path, std::uint64_t size, const std::string& index)
{
    say("ready");
    if (readCommand() != "go")
        usage("expected go");
    RegionOptions options;
    options.mode = OpenMode::OpenOrCreate;
    options.size = size;
    auto region = Region::open(path, options);
    if (!region)
        fail("open", region.error());
    attachOrDie(**region, "open-or-create");
    const std::string root = "proc-" + index;
    auto offset = (*region)->allocate(256);
    if (!offset)
        fail("allocate", offset.error());
    fillPattern((*region)->pointer(*offset, 256), 256, seedForName(root.c_str()));
    if (auto created = (*region)->createRoot(root, *offset); !created)
        fail("createRoot", created.error());
    say("ok");
    return 0;
}

int lockProbe(const std::string& path)
{
    auto region = openExisting(path);
    auto stats = region->stats();
    say(std::string("stats ") + (stats ? "ok" : errorMessage(stats.error())));
    return 0;
}

// ---- damaged files: every call must return (a value or an error), never crash or hang ----

struct OpsTally {
    int calls = 0;
    int errors = 0;
    bool saneBefore = false;
};

template <class T>
bool note(OpsTally& tally, bool verbose, const char* op, std::uint64_t arg, const RegionExpected<T>& result)
{
    ++tally.calls;
    if (!result)
        ++tally.errors;
    if (verbose)
        std::printf("op %s %llu -> %s\n", op, static_cast<unsigned long long>(arg),
            result ? "ok" : errorMessage(result.error()));
    return result.hasValue();
}

// Reads every byte of [p, p + bytes): on a bad pointer this is where a crash would happen.
std::uint64_t touch(const void* p, std::uint64_t bytes)
{
    std::uint64_t sum = 0;
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::uint64_t i = 0; i < bytes; ++i)
        sum += b[i];
    return sum;
}

OpsTally runOps(Region& region, const std::vector<std::uint64_t>& offsets, bool verbose)
{
    OpsTally tally;
    auto sanity = [&](const char* op) {
        auto sane = region.checkSanity();
        ++tally.calls;
        if (verbose)
            std::printf("op %s 0 -> %s\n", op, sane ? "ok" : sane.error().description.c_str());
        return sane.hasValue();
    };
    tally.saneBefore = sanity("checkSanity");
    std::uint64_t sink = 0;
    auto stats = region.stats();
    note(tally, verbose, "stats", 0, stats);
    auto blocks = region.blocks();
    if (note(tally, verbose, "blocks", 0, blocks)) {
        int n = 0;
        for (const BlockInfo& b : *blocks) {
            if (b.free || b.size <= format::kBlockHeaderBytes || ++n > 64)
                continue;
            const std::uint64_t bytes = std::min<std::uint64_t>(b.size - format::kBlockHeaderBytes, 256);
            if (const void* p = region.pointer(b.offset + format::kBlockHeaderBytes, bytes))
                sink += touch(p, bytes);
        }
    }
    auto roots = region.roots();
    std::vector<std::string> rootNames;
    if (note(tally, verbose, "roots", 0, roots)) {
        for (const RootInfo& root : *roots) {
            rootNames.push_back(root.name);
            note(tally, verbose, "findRoot", root.offset, region.findRoot(root.name));
            if (const void* p = region.pointer(root.offset, 16))
                sink += touch(p, 16);
        }
    }
    note(tally, verbose, "processes", 0, region.processes(std::chrono::milliseconds(0)));
    note(tally, verbose, "processes", 1000, region.processes(std::chrono::milliseconds(1000)));
    for (const std::uint64_t offset : offsets) {
        note(tally, verbose, "publish", offset, region.publish(offset));
        note(tally, verbose, "deallocate", offset, region.deallocate(offset));
    }
    if (note(tally, verbose, "attach", 0, region.attach("ops"))) {
        std::vector<std::uint64_t> mine;
        for (const std::uint64_t bytes : { 1, 100, 1000, 5000, 70000 }) {
            for (const std::uint64_t alignment : { 16, 256, 4096 }) {
                auto offset = region.allocate(bytes, alignment);
                if (!note(tally, verbose, "allocate", bytes, offset))
                    continue;
                if (void* p = region.pointer(*offset, bytes)) {
                    std::memset(p, 0x5A, bytes);
                    mine.push_back(*offset);
                }
            }
        }
        if (!mine.empty()) {
            note(tally, verbose, "createRoot", mine.front(), region.createRoot("ops-root", mine.front()));
            note(tally, verbose, "bumpRootVersion", 0, region.bumpRootVersion("ops-root"));
            auto taken = region.takeRoot("ops-root");
            if (note(tally, verbose, "takeRoot", 0, taken) && *taken != mine.front())
                mine.push_back(*taken);
            note(tally, verbose, "createRoot", mine.front(), region.createRoot("ops-root", mine.front()));
            note(tally, verbose, "removeRoot", 0, region.removeRoot("ops-root"));
            mine.erase(mine.begin());
        }
        for (const std::uint64_t offset : mine)
            note(tally, verbose, "deallocate", offset, region.deallocate(offset));
        for (std::size_t i = 0; i < rootNames.size() && i < 4; ++i) {
            auto taken = region.takeRoot(rootNames[i]);
            if (note(tally, verbose, "takeRoot", i, taken))
                note(tally, verbose, "deallocate", *taken, region.deallocate(*taken));
        }
        region.heartbeat();
    }
    note(tally, verbose, "resizeFile", region.size() + 65536, region.resizeFile(region.size() + 65536));
    note(tally, verbose, "shrinkToUsage", 0, region.shrinkToUsage());
    note(tally, verbose, "cleanup", 0, region.cleanup());
    note(tally, verbose, "checkOperationTimeout", 0, region.checkOperationTimeout(std::chrono::milliseconds(0)));
    note(tally, verbose, "cleanupFailedResize", 0, region.cleanupFailedResize(std::chrono::milliseconds(0)));
    if (region.attached())
        note(tally, verbose, "detach", 0, region.detach());
    sanity("checkSanity");
    if (verbose)
        std::printf("sink %llu\n", static_cast<unsigned long long>(sink % 7));
    return tally;
}

int ops(const std::string& path, const std::vector<std::uint64_t>& offsets)
{
    // Unbuffered: every line must be out before a call that might hang or crash.
    std::setvbuf(stdout, nullptr, _IONBF, 0);
    RegionOptions options;
    options.mode = OpenMode::OpenExisting;
    auto region = Region::open(path, options);
    if (!region) {
        say(std::string("open -> ") + errorMessage(region.error()));
        say("done");
        return 0;
    }
    say("open -> ok");
    runOps(**region, offsets, true);
    region->reset();
    say("done");
    return 0;
}

std::vector<unsigned char> readAll(const std::string& path)
{
    std::vector<unsigned char> bytes;
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
        usage("cannot read the pristine file");
    unsigned char buffer[65536];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;)
        bytes.insert(bytes.end(), buffer, buffer + n);
    std::fclose(f);
    return bytes;
}

void writeAll(const std::string& path, const std::vector<unsigned char>& bytes)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        usage("cannot write the work file");
    for (std::size_t done = 0; done < bytes.size();) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n <= 0)
            usage("short write");
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

int fuzz(const std::string& pristinePath, const std::string& work, std::uint64_t seed, std::uint64_t count,
    std::uint64_t first)
{
    const std::vector<unsigned char> pristine = readAll(pristinePath);
    if (pristine.size() < format::kArenaOffset + format::kMinBlockBytes)
        usage("pristine file too small");
    format::RegionHeader header;
    std::memcpy(&header, pristine.data(), sizeof header);

    // Where the interesting bytes are: the header's structures (identity to the first process
    // slots), every block header with its free-list links, and the root table.
    const std::uint64_t headerHot = offsetof(format::RegionHeader, processes) + 2 * sizeof(format::ProcessSlot);
    std::vector<std::uint64_t> blockHeaders, usedPayloads;
    for (std::uint64_t at = format::kArenaOffset; at + sizeof(format::BlockHeader) <= header.geometry.arenaEnd;) {
        format::BlockHeader b;
        std::memcpy(&b, pristine.data() + at, sizeof b);
        blockHeaders.push_back(at);
        const std::uint64_t size = b.bits & format::kSizeMask;
        if (size == 0)
            break;
        if (b.bits & format::kUsedBit)
            usedPayloads.push_back(at + format::kBlockHeaderBytes);
        at += size;
    }
    const std::uint64_t tableBegin = header.roots.tableOffset;
    const std::uint64_t tableBytes = header.roots.capacity * sizeof(format::RootEntry);
    // The futex word of the lock: a value there names a thread as the holder, and a holder that
    // exists is waited for by design, so changing it can only hang; the suite tests that word apart.
    const std::uint64_t futexWord = offsetof(format::RegionHeader, lock);

    std::uint64_t opened = 0, rejected = 0, sane = 0, insane = 0, calls = 0, errors = 0;
    for (std::uint64_t i = first; i < first + count; ++i) {
        std::mt19937_64 rng(seed * 1000003 + i);
        std::vector<unsigned char> bytes = pristine;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) {
            std::uint64_t at = 0;
            do {
                const std::uint64_t where = rng() % 100;
                if (where < 35)
                    at = rng() % bytes.size();
                else if (where < 60)
                    at = rng() % headerHot;
                else if (where < 90 || tableBytes == 0)
                    at = blockHeaders[rng() % blockHeaders.size()] + rng() % 32;
                else
                    at = tableBegin + rng() % tableBytes;
            } while (at >= bytes.size() || (at >= futexWord && at < futexWord + 4));
            switch (rng() % 8) {
            case 0:
                bytes[at] = 0;
                break;
            case 1:
                bytes[at] = 0xff;
                break;
            case 2:
            case 3:
                bytes[at] = static_cast<unsigned char>(rng());
                break;
            default:
                bytes[at] ^= static_cast<unsigned char>(1u << (rng() % 8));
                break;
            }
        }
        writeAll(work, bytes);
        say("iter " + std::to_string(i));
        RegionOptions options;
        options.mode = OpenMode::OpenExisting;
        auto region = Region::open(work, options);
        if (!region) {
            if (std::string(errorMessage(region.error())) == "unknown region error")
                usage("open returned an error outside the enum");
            ++rejected;
            continue;
        }
        ++opened;
        std::vector<std::uint64_t> offsets;
        for (int k = 0; k < 6 && !usedPayloads.empty(); ++k)
            offsets.push_back(usedPayloads[rng() % usedPayloads.size()]);
        offsets.push_back(rng() % (bytes.size() + 4096));
        const OpsTally tally = runOps(**region, offsets, false);
        (tally.saneBefore ? sane : insane) += 1;
        calls += static_cast<std::uint64_t>(tally.calls);
        errors += static_cast<std::uint64_t>(tally.errors);
    }
    say("fuzzed " + std::to_string(count) + " opened=" + std::to_string(opened) + " rejected="
        + std::to_string(rejected) + " sane=" + std::to_string(sane) + " insane=" + std::to_string(insane)
        + " calls=" + std::to_string(calls) + " errors=" + std::to_string(errors));
    return 0;
}

// ---- SharedBox (tst_shared_box) ----

SharedBox<BoxWords> attachBox(Region& region, const std::string& name)
{
    auto box = SharedBox<BoxWords>::attach(region, name);
    if (!box)
        fail("attach box", box.error());
    return *box;
}

// Writes values whose words are all equal, 1 .. COUNT, one locked set() each.
int boxWriter(const std::string& path, const std::string& name, std::uint64_t count)
{
    auto region = openExisting(path);
    attachOrDie(*region, "box-writer");
    auto box = attachBox(*region, name);
    say("writing");
    for (std::uint64_t i = 1; i <= count; ++i) {
        if (auto set = box.set(boxWords(i)); !set)
            fail("set", set.error());
    }
    say("done " + std::to_string(count));
    return 0;
}

// Dies inside a set(): after its STEPS-th container journal step.
int boxCrash(const std::string& path, const std::string& name, int steps)
{
    auto region = openExisting(path);
    attachOrDie(*region, "box-crash");
    auto box = attachBox(*region, name);
    testing::killSelfAfterContainerSteps(steps);
    if (auto set = box.set(boxWords(0xdead)); !set)
        fail("set", set.error());
    testing::killSelfAfterContainerSteps(0);
    say("survived");
    return 3;
}

// ---- containers: the other processes of tst_container_processes ----
//
//   container-writer PATH N             for i = 1..N: numbers.push(i), words.push("w<i>"), text.append("<i>,");
//                                       then print "done N"
//   container-reader PATH N MAX_MS      print "ready", then read the three containers whenever their versions
//                                       change until each holds all N; every state read must be a prefix of
//                                       the writer's and numbers' version must count its pushes. Prints
//                                       "observed STATES" (exit 0), "violation ..." or "timeout ..." (exit 1)
//   container-push PATH ROOT VALUE      push VALUE onto the SharedVec<int64_t> ROOT, print "pushed SLOT VERSION"
//   container-waiter PATH AFTER MAX_MS  print "waiting", block in waitForChange(AFTER, MAX_MS), print "woke SEQ",
//                                       then "change ROOT_OFFSET VERSION SLOT" per change since AFTER, then "end"
//   container-crash PATH SEED OPS N     run workload operations 0..OPS-1 (container_workload.h), printing
//                                       "op I" after each, with killSelfAfterContainerSteps(N) armed (0: not)
//   container-churn PATH SEED OPS       print "ready", then run workload operations 0..OPS-1 silently and
//                                       print "done" (the test SIGKILLs it somewhere in between)

struct WorkloadContainers {
    SharedVec<std::int64_t> numbers;
    SharedVec<SharedString> words;
    SharedString text;
    SharedHashMap<std::int64_t, SharedString> labels;
    SharedHashSet<std::int64_t> tags;
    SharedBTreeMap<std::int64_t, std::int64_t> index;
    SharedBTreeSet<SharedString> names;
    SharedVecDeque<std::int64_t> queue;
    SharedBox<WorkloadBox> box;
};

template <class T> T attachOrFail(Region& region, const char* name)
{
    auto container = T::attach(region, name);
    if (!container)
        fail(std::string("attach ") + name, container.error());
    return *container;
}

WorkloadContainers attachWorkload(Region& region)
{
    return { attachOrFail<SharedVec<std::int64_t>>(region, "numbers"),
        attachOrFail<SharedVec<SharedString>>(region, "words"), attachOrFail<SharedString>(region, "text"),
        attachOrFail<SharedHashMap<std::int64_t, SharedString>>(region, "labels"),
        attachOrFail<SharedHashSet<std::int64_t>>(region, "tags"),
        attachOrFail<SharedBTreeMap<std::int64_t, std::int64_t>>(region, "index"),
        attachOrFail<SharedBTreeSet<SharedString>>(region, "names"),
        attachOrFail<SharedVecDeque<std::int64_t>>(region, "queue"),
        attachOrFail<SharedBox<WorkloadBox>>(region, "box") };
}

template <class T> void must(const RegionExpected<T>& result, const char* what)
{
    if (!result)
        fail(what, result.error());
}

// Fails unless a remove found what the model says is there.
template <class T> void mustFind(const RegionExpected<T>& result, const char* what)
{
    must(result, what);
    if (!*result) {
        std::printf("error %s: not found\n", what);
        std::fflush(stdout);
        std::_Exit(1);
    }
}

void runWorkloadOp(WorkloadContainers& c, const WorkloadOp& op)
{
    switch (op.kind) {
    case WorkloadOpKind::PushNumber:
        return must(c.numbers.push(op.number), "push");
    case WorkloadOpKind::PopNumber:
        return must(c.numbers.pop(), "pop");
    case WorkloadOpKind::InsertNumber:
        return must(c.numbers.insert(op.index, op.number), "insert");
    case WorkloadOpKind::RemoveNumber:
        return must(c.numbers.remove(op.index), "remove");
    case WorkloadOpKind::SetNumber:
        return must(c.numbers.set(op.index, op.number), "set");
    case WorkloadOpKind::ExtendNumbers: {
        std::vector<std::int64_t> values;
        for (std::uint64_t j = 0; j < op.count; ++j)
            values.push_back(workloadExtendValue(op, j));
        return must(c.numbers.extend(values.begin(), values.end()), "extend");
    }
    case WorkloadOpKind::ClearNumbers:
        return must(c.numbers.clear(), "clear");
    case WorkloadOpKind::ShrinkNumbers:
        return must(c.numbers.shrinkToFit(), "shrinkToFit");
    case WorkloadOpKind::PushWord:
        return must(c.words.push(op.word), "push word");
    case WorkloadOpKind::PopWord:
        return must(c.words.pop(), "pop word");
    case WorkloadOpKind::InsertWord:
        return must(c.words.insert(op.index, op.word), "insert word");
    case WorkloadOpKind::RemoveWord:
        return must(c.words.remove(op.index), "remove word");
    case WorkloadOpKind::SetWord:
        return must(c.words.set(op.index, op.word), "set word");
    case WorkloadOpKind::ClearWords:
        return must(c.words.clear(), "clear words");
    case WorkloadOpKind::ShrinkWords:
        return must(c.words.shrinkToFit(), "shrinkToFit words");
    case WorkloadOpKind::AppendText:
        return must(c.text.append(op.word), "append");
    case WorkloadOpKind::AssignText:
        return must(c.text.assign(op.word), "assign");
    case WorkloadOpKind::PopText:
        return must(c.text.pop(), "pop text");
    case WorkloadOpKind::PutLabel:
        return must(c.labels.insert(op.number, op.word), "put label");
    case WorkloadOpKind::RemoveLabel:
        return mustFind(c.labels.remove(op.number), "remove label");
    case WorkloadOpKind::ClearLabels:
        return must(c.labels.clear(), "clear labels");
    case WorkloadOpKind::ShrinkLabels:
        return must(c.labels.shrinkToFit(), "shrinkToFit labels");
    case WorkloadOpKind::InsertTag:
        return must(c.tags.insert(op.number), "insert tag");
    case WorkloadOpKind::RemoveTag:
        return mustFind(c.tags.remove(op.number), "remove tag");
    case WorkloadOpKind::ClearTags:
        return must(c.tags.clear(), "clear tags");
    case WorkloadOpKind::ShrinkTags:
        return must(c.tags.shrinkToFit(), "shrinkToFit tags");
    case WorkloadOpKind::PutIndex:
        return must(c.index.insert(op.number, op.value), "put index");
    case WorkloadOpKind::RemoveIndex:
        return mustFind(c.index.remove(op.number), "remove index");
    case WorkloadOpKind::InsertName:
        return must(c.names.insert(op.word), "insert name");
    case WorkloadOpKind::RemoveName:
        return mustFind(c.names.remove(op.word), "remove name");
    case WorkloadOpKind::PushQueueBack:
        return must(c.queue.pushBack(op.number), "push back");
    case WorkloadOpKind::PushQueueFront:
        return must(c.queue.pushFront(op.number), "push front");
    case WorkloadOpKind::PopQueueBack:
        return mustFind(c.queue.popBack(), "pop back");
    case WorkloadOpKind::PopQueueFront:
        return mustFind(c.queue.popFront(), "pop front");
    case WorkloadOpKind::SetQueue:
        return must(c.queue.set(op.index, op.number), "set queue");
    case WorkloadOpKind::ExtendQueue: {
        std::vector<std::int64_t> values;
        for (std::uint64_t j = 0; j < op.count; ++j)
            values.push_back(workloadExtendValue(op, j));
        return must(c.queue.extend(values.begin(), values.end()), "extend queue");
    }
    case WorkloadOpKind::ClearQueue:
        return must(c.queue.clear(), "clear queue");
    case WorkloadOpKind::ShrinkQueue:
        return must(c.queue.shrinkToFit(), "shrinkToFit queue");
    case WorkloadOpKind::SetBox:
        return must(c.box.set(workloadBoxValue(op)), "set box");
    case WorkloadOpKind::ModifyBox:
        return must(c.box.modify([&](WorkloadBox& box) { workloadModifyBox(op, box); }), "modify box");
    }
}

int containerWriter(const std::string& path, std::uint64_t n)
{
    auto region = openExisting(path);
    attachOrDie(*region, "container-writer");
    WorkloadContainers c = attachWorkload(*region);
    for (std::uint64_t i = 1; i <= n; ++i) {
        must(c.numbers.push(static_cast<std::int64_t>(i)), "push");
        must(c.words.push("w" + std::to_string(i)), "push word");
        must(c.text.append(std::to_string(i) + ","), "append");
    }
    say("done " + std::to_string(n));
    return 0;
}

int containerReader(const std::string& path, std::uint64_t n, std::uint64_t maxMs)
{
    auto region = openExisting(path);
    attachOrDie(*region, "container-reader");
    WorkloadContainers c = attachWorkload(*region);
    std::string fullText;
    for (std::uint64_t i = 1; i <= n; ++i)
        fullText += std::to_string(i) + ",";
    const std::uint64_t firstVersion = c.numbers.version();
    std::uint64_t seenNumbers = 0, seenWords = 0, seenText = 0, states = 0, lastVersions = ~std::uint64_t { 0 };
    const auto violation = [](const std::string& what) {
        say("violation " + what);
        std::_Exit(1);
    };
    say("ready");
    const auto deadline = Clock::now() + std::chrono::milliseconds(maxMs);
    for (;;) {
        const std::uint64_t sequence = region->changeSequence();
        const std::uint64_t versions = c.numbers.version() + c.words.version() + c.text.version();
        if (versions != lastVersions) {
            lastVersions = versions;
            ++states;
            {
                // The contents and the version under one lock: the version counts the pushes.
                auto batch = BatchGuard::lock(c.numbers);
                must(batch, "lock numbers");
                auto numbers = c.numbers.toStd();
                must(numbers, "read numbers");
                if (c.numbers.version() - firstVersion != numbers->size())
                    violation("numbers version " + std::to_string(c.numbers.version() - firstVersion) + " for "
                        + std::to_string(numbers->size()) + " pushes");
                for (std::size_t i = 0; i < numbers->size(); ++i) {
                    if ((*numbers)[i] != static_cast<std::int64_t>(i + 1))
                        violation("numbers[" + std::to_string(i) + "] = " + std::to_string((*numbers)[i]));
                }
                if (numbers->size() < seenNumbers)
                    violation("numbers shrank");
                seenNumbers = numbers->size();
            }
            auto words = c.words.toStd();
            must(words, "read words");
            for (std::size_t i = 0; i < words->size(); ++i) {
                if ((*words)[i] != "w" + std::to_string(i + 1))
                    violation("words[" + std::to_string(i) + "] = " + (*words)[i]);
            }
            if (words->size() < seenWords)
                violation("words shrank");
            seenWords = words->size();
            auto text = c.text.toStd();
            must(text, "read text");
            if (fullText.compare(0, text->size(), *text) != 0 || (!text->empty() && text->back() != ','))
                violation("text is not a prefix: " + *text);
            if (text->size() < seenText)
                violation("text shrank");
            seenText = text->size();
            if (seenNumbers == n && seenWords == n && seenText == fullText.size()) {
                say("observed " + std::to_string(states));
                return 0;
            }
        }
        if (Clock::now() >= deadline) {
            say("timeout numbers=" + std::to_string(seenNumbers) + " words=" + std::to_string(seenWords)
                + " text=" + std::to_string(seenText));
            return 1;
        }
        (void)region->waitForChange(sequence, std::chrono::milliseconds(100));
    }
}

int containerPush(const std::string& path, const std::string& root, std::int64_t value)
{
    auto region = openExisting(path);
    const std::uint32_t slot = attachOrDie(*region, "container-push");
    auto vec = SharedVec<std::int64_t>::attach(*region, root);
    must(vec, "attach");
    must(vec->push(value), "push");
    say("pushed " + std::to_string(slot) + " " + std::to_string(vec->version()));
    return 0;
}

int containerWaiter(const std::string& path, std::uint64_t after, std::uint64_t maxMs)
{
    auto region = openExisting(path);
    say("waiting");
    const std::uint64_t sequence = region->waitForChange(after, std::chrono::milliseconds(maxMs));
    say("woke " + std::to_string(sequence));
    auto batch = region->changesSince(after);
    must(batch, "changesSince");
    for (const RootChange& change : batch->changes)
        say("change " + std::to_string(change.rootOffset) + " " + std::to_string(change.version) + " "
            + std::to_string(change.writerSlot));
    say("end");
    return 0;
}

int containerCrash(const std::string& path, std::uint64_t seed, std::uint64_t ops, int n)
{
    auto region = openExisting(path);
    attachOrDie(*region, "container-crash");
    WorkloadContainers c = attachWorkload(*region);
    WorkloadState state;
    testing::killSelfAfterContainerSteps(n);
    for (std::uint64_t i = 0; i < ops; ++i) {
        const WorkloadOp op = workloadOp(seed, i, state);
        runWorkloadOp(c, op);
        applyWorkloadOp(op, state);
        say("op " + std::to_string(i));
    }
    testing::killSelfAfterContainerSteps(0);
    region.reset();
    return n > 0 ? 3 : 0;
}

int containerChurn(const std::string& path, std::uint64_t seed, std::uint64_t ops)
{
    auto region = openExisting(path);
    attachOrDie(*region, "container-churn");
    WorkloadContainers c = attachWorkload(*region);
    WorkloadState state;
    say("ready");
    for (std::uint64_t i = 0; i < ops; ++i) {
        const WorkloadOp op = workloadOp(seed, i, state);
        runWorkloadOp(c, op);
        applyWorkloadOp(op, state);
    }
    say("done " + std::to_string(ops));
    return 0;
}

// Runs the container commands above; false when `command` is none of them.
bool runContainerCommand(const std::string& command, int argc, char** argv, int& exitCode)
{
    const std::string path = argv[2];
    auto need = [&](int count) {
        if (argc != count + 3)
            usage(argv[1]);
    };
    if (command == "container-writer") {
        need(1);
        exitCode = containerWriter(path, number(argv[3]));
    } else if (command == "container-reader") {
        need(2);
        exitCode = containerReader(path, number(argv[3]), number(argv[4]));
    } else if (command == "container-push") {
        need(2);
        exitCode = containerPush(path, argv[3], static_cast<std::int64_t>(number(argv[4])));
    } else if (command == "container-waiter") {
        need(2);
        exitCode = containerWaiter(path, number(argv[3]), number(argv[4]));
    } else if (command == "container-crash") {
        need(3);
        exitCode = containerCrash(path, number(argv[3]), number(argv[4]), static_cast<int>(number(argv[5])));
    } else if (command == "container-churn") {
        need(2);
        exitCode = containerChurn(path, number(argv[3]), number(argv[4]));
    } else {
        return false;
    }
    return true;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 3)
        usage("shm_test_child <command> <path> ...");
    const std::string command = argv[1];
    const std::string path = argv[2];
    auto need = [&](int count) {
        if (argc != count + 3)
            usage(argv[1]);
    };
    if (command == "alloc-publish") {
        need(2);
        return allocPublish(path, argv[3], number(argv[4]));
    }
    if (command == "read-root") {
        need(2);
        return readRoot(path, argv[3], number(argv[4]));
    }
    if (command == "allocate-loop") {
        need(3);
        return allocateLoop(path, number(argv[3]), number(argv[4]), number(argv[5]));
    }
    if (command == "attach-and-wait") {
        if (argc != 4 && argc != 5)
            usage(argv[1]);
        return attachAndWait(path, argv[3], argc == 5 ? number(argv[4]) : 0);
    }
    if (command == "busy") {
        need(1);
        return busy(path, number(argv[3]));
    }
    if (command == "heartbeat-busy") {
        need(2);
        return heartbeatBusy(path, number(argv[3]), number(argv[4]));
    }
    if (command == "alloc-unpublished") {
        need(3);
        return allocUnpublished(path, number(argv[3]), number(argv[4]), number(argv[5]));
    }
    if (command == "stash") {
        need(2);
        return stash(path, number(argv[3]), number(argv[4]));
    }
    if (command == "wait-change") {
        std::optional<std::uint32_t> ignored;
        if (argc == 6)
            ignored = std::uint32_t(number(argv[5]));
        else
            need(2);
        return waitChange(path, number(argv[3]), number(argv[4]), ignored);
    }
    if (command == "fill") {
        need(1);
        return fill(path, number(argv[3]));
    }
    if (command == "crash-at") {
        need(2);
        return crashAt(path, static_cast<int>(number(argv[3])), argv[4]);
    }
    if (command == "resize-crash") {
        need(2);
        return resizeCrash(path, number(argv[3]), static_cast<int>(number(argv[4])));
    }
    if (command == "grow-publish") {
        need(4);
        return growPublish(path, number(argv[3]), number(argv[4]), argv[5], number(argv[6]));
    }
    if (command == "open-or-create") {
        need(2);
        return openOrCreate(path, number(argv[3]), argv[4]);
    }
    if (command == "ops") {
        std::vector<std::uint64_t> offsets;
        for (int i = 3; i < argc; ++i)
            offsets.push_back(number(argv[i]));
        return ops(path, offsets);
    }
    if (command == "fuzz") {
        if (argc != 6 && argc != 7)
            usage(argv[1]);
        return fuzz(path, argv[3], number(argv[4]), number(argv[5]), argc == 7 ? number(argv[6]) : 0);
    }
    if (command == "box-writer") {
        need(2);
        return boxWriter(path, argv[3], number(argv[4]));
    }
    if (command == "box-crash") {
        need(2);
        return boxCrash(path, argv[3], static_cast<int>(number(argv[4])));
    }
    if (command == "lock-probe") {
        need(0);
        return lockProbe(path);
    }
    if (int exitCode = 0; runContainerCommand(command, argc, argv, exitCode))
        return exitCode;
    usage(argv[1]);
}
