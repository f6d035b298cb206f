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
//   fill PATH BYTES                          allocate BYTES-sized blocks until an error, then wait
//   crash-at PATH N PREFIX                   arm killSelfAfterJournalWrites(N), run a mixed workload
//   resize-crash PATH NEWSIZE N              arm killSelfAfterJournalWrites(N), resizeFile(NEWSIZE)
//   open-or-create PATH SIZE INDEX           wait for "go", then OpenOrCreate, attach, publish a root
//   lock-probe PATH                          open and take the lock once (stats())

#include "shm_pattern.h"

#include <commy/shm/fault_injection.h>
#include <commy/shm/region.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
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

[[noreturn]] void fail(const std::string& what, RegionError error)
{
    std::printf("error %s %s\n", what.c_str(), toString(error));
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

int allocPublish(const std::string& path, const std::string& root, std::uint64_t bytes)
{
    auto region = openExisting(path);
    attachOrDie(*region, "alloc-publish");
    auto offset = region->allocate(bytes);
    if (!offset)
        fail("allocate", offset.error());
    void* p = region->pointer(*offset, bytes);
    if (!p)
        fail("pointer", RegionError::InvalidArgument);
    fillPattern(p, bytes, seedForName(root.c_str()));
    if (auto created = region->createRoot(root, *offset); !created)
        fail("createRoot", created.error());
    say("offset " + std::to_string(*offset));
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
            (void)region.release();
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
            (void)region.release();
            std::exit(0);
        }
        if (command == "eof")
            return 0;
    }
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
    say("filled " + std::to_string(count) + " " + toString(error) + " size=" + std::to_string(region->size()));
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
    for (std::uint64_t i = 0; i < 12; ++i) {
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
    say(std::string("stats ") + (stats ? "ok" : toString(stats.error())));
    return 0;
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
    if (command == "open-or-create") {
        need(2);
        return openOrCreate(path, number(argv[3]), argv[4]);
    }
    if (command == "lock-probe") {
        need(0);
        return lockProbe(path);
    }
    usage(argv[1]);
}
