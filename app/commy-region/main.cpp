// commy-region: creates, inspects, checks and uses a region file from the command line. Qt-free, so the
// same source builds for Linux and for Windows; CI uses it to move one file between the two builds.

#include <commy/shm/region.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

using namespace commy::shm;

namespace {

int usage()
{
    std::fprintf(stderr,
        "usage: commy-region create PATH SIZE [LIMIT]   create a region (sizes like 4M)\n"
        "       commy-region info PATH                   geometry, usage, roots and processes\n"
        "       commy-region check PATH                  consistency check (exit 1 if corrupt)\n"
        "       commy-region put PATH ROOT TEXT          store TEXT under the named root ROOT\n"
        "       commy-region get PATH ROOT               print the text stored under ROOT\n"
        "       commy-region grow PATH SIZE              grow the file online\n"
        "       commy-region worker PATH NAME SECONDS    stay attached as NAME, printing changes\n");
    return 2;
}

int fail(const char* what, RegionError error)
{
    std::fprintf(stderr, "commy-region: %s: %s\n", what, errorMessage(error));
    return 1;
}

bool parse(const char* text, std::uint64_t& out)
{
    auto parsed = parseSize(text);
    if (!parsed)
        return false;
    out = *parsed;
    return true;
}

RegionExpected<std::unique_ptr<Region>> openExisting(const std::string& path)
{
    RegionOptions options;
    options.mode = OpenMode::OpenExisting;
    options.lockTimeout = std::chrono::seconds(10);
    return Region::open(path, options);
}

int info(Region& region)
{
    auto stats = region.stats();
    if (!stats)
        return fail("stats", stats.error());
    std::printf("size %llu\nlimit %llu\ngeneration %llu\nused %llu\nfree %llu\nlargest-free %llu\n",
        static_cast<unsigned long long>(stats->size), static_cast<unsigned long long>(stats->limit),
        static_cast<unsigned long long>(stats->generation), static_cast<unsigned long long>(stats->usedBytes),
        static_cast<unsigned long long>(stats->freeBytes), static_cast<unsigned long long>(stats->largestFreeBlock));
    if (auto roots = region.roots()) {
        for (const RootInfo& root : *roots)
            std::printf("root %s %s version %llu\n", root.name.c_str(), root.type.c_str(),
                static_cast<unsigned long long>(root.version));
    }
    if (auto processes = region.processes()) {
        for (const ProcessInfo& p : *processes)
            std::printf("process %u pid %llu %s %s\n", p.slot, static_cast<unsigned long long>(p.pid), p.name.c_str(),
                livenessName(p.liveness));
    }
    return 0;
}

int check(Region& region)
{
    auto sane = region.checkSanity();
    if (!sane) {
        std::printf("corrupt at %llu: %s\n", static_cast<unsigned long long>(sane.error().offset),
            sane.error().description.c_str());
        return 1;
    }
    std::printf("ok\n");
    return 0;
}

// A text root is a block holding an 8-byte length and the bytes; putting replaces the old block.
int put(Region& region, const std::string& root, const std::string& text)
{
    if (auto attached = region.attach("commy-region"); !attached)
        return fail("attach", attached.error());
    auto block = region.allocate(8 + text.size());
    if (!block)
        return fail("allocate", block.error());
    auto* p = static_cast<unsigned char*>(region.pointer(*block, 8 + text.size()));
    const std::uint64_t length = text.size();
    std::memcpy(p, &length, 8);
    std::memcpy(p + 8, text.data(), text.size());
    if (auto old = region.takeRoot(root)) {
        (void)region.deallocate(*old);
    }
    if (auto created = region.createRoot(root, *block, RootKind::Bytes, "text"); !created)
        return fail("create root", created.error());
    return region.detach() ? 0 : 1;
}

int get(Region& region, const std::string& root)
{
    auto found = region.findRoot(root);
    if (!found)
        return fail(root.c_str(), found.error());
    const auto* p = static_cast<const unsigned char*>(region.pointer(found->offset, 8));
    std::uint64_t length = 0;
    if (!p)
        return fail(root.c_str(), RegionError::Corrupt);
    std::memcpy(&length, p, 8);
    const auto* text = static_cast<const char*>(region.pointer(found->offset + 8, length));
    if (!text)
        return fail(root.c_str(), RegionError::Corrupt);
    std::printf("%.*s\n", static_cast<int>(length), text);
    return 0;
}

int worker(Region& region, const std::string& name, std::uint64_t seconds)
{
    if (auto attached = region.attach(name); !attached)
        return fail("attach", attached.error());
    region.startHeartbeatThread();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    std::uint64_t seen = region.changeSequence();
    while (std::chrono::steady_clock::now() < deadline) {
        const auto left
            = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        const std::uint64_t now = region.waitForChange(seen, std::max(left, std::chrono::milliseconds(1)));
        if (now == seen)
            continue;
        if (auto batch = region.changesSince(seen)) {
            for (const RootChange& change : batch->changes)
                std::printf("change %llu root %llu version %llu\n", static_cast<unsigned long long>(change.sequence),
                    static_cast<unsigned long long>(change.rootOffset),
                    static_cast<unsigned long long>(change.version));
            std::fflush(stdout);
            seen = batch->sequence;
        } else {
            seen = now;
        }
    }
    region.stopHeartbeatThread();
    return region.detach() ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 3)
        return usage();
    const std::string command = argv[1];
    const std::string path = argv[2];
    if (command == "create") {
        RegionOptions options;
        options.mode = OpenMode::CreateOnly;
        if (argc < 4 || argc > 5 || !parse(argv[3], options.size) || (argc == 5 && !parse(argv[4], options.limit)))
            return usage();
        auto region = Region::open(path, options);
        if (!region)
            return fail(path.c_str(), region.error());
        return info(**region);
    }
    auto region = openExisting(path);
    if (!region)
        return fail(path.c_str(), region.error());
    if (command == "info" && argc == 3)
        return info(**region);
    if (command == "check" && argc == 3)
        return check(**region);
    if (command == "put" && argc == 5)
        return put(**region, argv[3], argv[4]);
    if (command == "get" && argc == 4)
        return get(**region, argv[3]);
    std::uint64_t number = 0;
    if (command == "grow" && argc == 4 && parse(argv[3], number)) {
        if (auto grown = (*region)->resizeFile(number); !grown)
            return fail("grow", grown.error());
        return info(**region);
    }
    if (command == "worker" && argc == 5)
        return worker(**region, argv[3], std::strtoull(argv[4], nullptr, 10));
    return usage();
}
