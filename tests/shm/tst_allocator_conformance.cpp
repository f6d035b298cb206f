// The allocator conformance suite: one data-driven test run against every configuration (alignment,
// size mix, region size, auto-grow, limit). Each case runs a seeded random allocate/free sequence in
// which every block carries a content pattern, and checks alignment, that no two live blocks overlap,
// that blocks() and stats() agree with what the test holds, checkSanity() along the way and at the end,
// and that freeing everything gives back exactly the free bytes the region started with.

#include "shm_pattern.h"
#include "shm_test_support.h"

#include <commy/shm/region.h>
#include <commy/shm/region_format.h>

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <vector>

using namespace commy::shm;
using namespace commy::shmtest;

namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;

enum class SizeMix { Tiny, Mixed, Large, BinBoundary };

const char* mixName(SizeMix mix)
{
    switch (mix) {
    case SizeMix::Tiny:
        return "tiny";
    case SizeMix::Mixed:
        return "mixed";
    case SizeMix::Large:
        return "large";
    case SizeMix::BinBoundary:
        return "bins";
    }
    return "?";
}

// Payload sizes whose blocks land exactly on, or one granule either side of, the allocator's bin
// boundaries: the last exact-size bin (1008-byte blocks), the first power-of-two bin (1024), and the
// power-of-two steps above, plus the smallest blocks.
const std::uint64_t kBoundarySizes[] = { 1, 16, 17, 32, 976, 992, 993, 1008, 1009, 1024, 1040, 2032, 2033, 2048, 2064,
    4080, 4096, 4112, 8176, 8192, 8208 };

std::uint64_t drawSize(SizeMix mix, std::mt19937_64& rng)
{
    switch (mix) {
    case SizeMix::Tiny:
        return 1 + rng() % 64;
    case SizeMix::Mixed:
        // Log-uniform over 16 B .. 64 KiB so small and large blocks are both common.
        return std::max<std::uint64_t>(16, std::uint64_t { 1 } << (4 + rng() % 13)) + rng() % 64;
    case SizeMix::Large:
        return 64 * KiB + rng() % (MiB - 64 * KiB + 1);
    case SizeMix::BinBoundary:
        return kBoundarySizes[rng() % std::size(kBoundarySizes)];
    }
    return 1;
}

struct LiveBlock {
    std::uint64_t bytes = 0;
    std::uint64_t seed = 0;
};
using LiveMap = std::map<std::uint64_t, LiveBlock>; // payload offset -> block

std::uint64_t blockBytesFor(std::uint64_t bytes)
{
    // What the allocator needs for a request with 16-byte alignment (header included, granule rounded).
    return std::max<std::uint64_t>(format::kMinBlockBytes, (bytes + format::kBlockHeaderBytes + 15) / 16 * 16);
}

bool sameBlocks(const std::vector<BlockInfo>& a, const std::vector<BlockInfo>& b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].offset != b[i].offset || a[i].size != b[i].size || a[i].free != b[i].free
            || a[i].published != b[i].published || a[i].ownerSlot != b[i].ownerSlot)
            return false;
    }
    return true;
}

// Everything the allocator's stats promise except the counters a failed call is allowed to bump.
bool sameAllocatorState(const AllocatorStats& a, const AllocatorStats& b)
{
    return a.size == b.size && a.limit == b.limit && a.arenaBytes == b.arenaBytes && a.usedBytes == b.usedBytes
        && a.freeBytes == b.freeBytes && a.usedBlocks == b.usedBlocks && a.freeBlocks == b.freeBlocks
        && a.largestFreeBlock == b.largestFreeBlock && a.generation == b.generation && a.allocations == b.allocations
        && a.deallocations == b.deallocations;
}

QByteArray describe(const CorruptionReport& report)
{
    return QByteArray::fromStdString(report.description) + " at offset " + QByteArray::number(report.offset);
}

// Checks the region against what the test believes is live: checkSanity(), the block walk (contiguous,
// covering the arena, exactly the live blocks used, all owned by `slot`), stats() against the walk,
// and optionally every live block's content. Failures are recorded with QVERIFY; callers test
// QTest::currentTestFailed().
void expectConsistent(Region& region, const LiveMap& live, std::uint32_t slot, bool checkPatterns)
{
    auto sane = region.checkSanity();
    QVERIFY2(sane, sane ? "" : describe(sane.error()).constData());
    auto stats = region.stats();
    QVERIFY(stats);
    auto blocks = region.blocks();
    QVERIFY(blocks);

    std::uint64_t expectedOffset = format::kArenaOffset;
    std::uint64_t usedBytes = 0, usedBlocks = 0, freeBytes = 0, freeBlocks = 0, largest = 0;
    auto liveIt = live.begin();
    for (const BlockInfo& b : *blocks) {
        QCOMPARE(b.offset, expectedOffset);
        QVERIFY(b.size >= format::kMinBlockBytes && b.size % format::kGranule == 0);
        expectedOffset += b.size;
        if (b.free) {
            freeBytes += b.size;
            ++freeBlocks;
            largest = std::max(largest, b.size);
            QCOMPARE(b.ownerSlot, kNoOwner);
            continue;
        }
        usedBytes += b.size;
        ++usedBlocks;
        QVERIFY2(liveIt != live.end(),
            qPrintable(QStringLiteral("used block at %1 the test never allocated").arg(b.offset)));
        QCOMPARE(b.offset + format::kBlockHeaderBytes, liveIt->first);
        QVERIFY(b.size >= liveIt->second.bytes + format::kBlockHeaderBytes);
        QVERIFY(!b.published);
        QCOMPARE(b.ownerSlot, slot);
        ++liveIt;
    }
    QVERIFY2(liveIt == live.end(), "a live block is missing from blocks()");
    QCOMPARE(expectedOffset + format::kBlockHeaderBytes, format::kArenaOffset + stats->arenaBytes);

    QCOMPARE(stats->usedBytes, usedBytes);
    QCOMPARE(stats->usedBlocks, usedBlocks);
    QCOMPARE(stats->freeBytes, freeBytes);
    QCOMPARE(stats->freeBlocks, freeBlocks);
    QCOMPARE(stats->largestFreeBlock, largest);
    const double fragmentation = freeBytes == 0 ? 0.0 : 1.0 - double(largest) / double(freeBytes);
    QVERIFY(qAbs(stats->fragmentation - fragmentation) < 1e-12);
    QVERIFY(stats->fragmentation >= 0.0 && stats->fragmentation < 1.0);
    QCOMPARE(stats->usedBytes + stats->freeBytes + format::kBlockHeaderBytes, stats->arenaBytes);
    QVERIFY(stats->arenaBytes + format::kArenaOffset <= stats->size);

    if (checkPatterns) {
        for (const auto& [offset, block] : live) {
            const void* p = region.pointer(offset, block.bytes);
            QVERIFY(p);
            const std::int64_t bad = verifyPattern(p, block.bytes, block.seed);
            QVERIFY2(bad < 0, qPrintable(QStringLiteral("block %1 damaged at byte %2").arg(offset).arg(bad)));
        }
    }
}

struct RegionConfig {
    const char* name;
    std::uint64_t size; // 0 = Region::minRegionSize()
    bool autoGrow;
    std::uint64_t limit;
    std::uint64_t liveBudget; // stop allocating above this many live bytes (bounds unlimited auto-grow)
};

const RegionConfig kRegionConfigs[] = {
    { "min", 0, false, 0, 0 },
    { "min+grow", 0, true, 0, 4 * MiB },
    { "min+grow+limit1M", 0, true, 1 * MiB, 0 },
    { "1M", 1 * MiB, false, 0, 0 },
    { "1M+grow+limit4M", 1 * MiB, true, 4 * MiB, 0 },
    { "64M", 64 * MiB, false, 0, 0 },
};

} // namespace

Q_DECLARE_METATYPE(SizeMix)

class TestAllocatorConformance : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();

    void randomSequences_data();
    void randomSequences();

    void outOfMemoryLeavesRegionUnchanged_data();
    void outOfMemoryLeavesRegionUnchanged();
    void deallocateInvalidOffset_data();
    void deallocateInvalidOffset();
    void doubleFree_data();
    void doubleFree();
    void invalidArguments_data();
    void invalidArguments();
    void allocateRequiresAttach();
    void statsAndBlocksAgree();

private:
    RegionTempDir m_dir;
    int m_file = 0;
    QString nextPath() { return m_dir.filePath(QStringLiteral("region-%1").arg(++m_file)); }
};

void TestAllocatorConformance::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QVERIFY(Region::minRegionSize() >= format::kMinRegionBytes);
}

void TestAllocatorConformance::randomSequences_data()
{
    QTest::addColumn<std::uint64_t>("alignment");
    QTest::addColumn<SizeMix>("mix");
    QTest::addColumn<std::uint64_t>("regionSize");
    QTest::addColumn<bool>("autoGrow");
    QTest::addColumn<std::uint64_t>("limit");
    QTest::addColumn<std::uint64_t>("liveBudget");

    const std::uint64_t alignments[] = { 8, 16, 64, 512, 4096 };
    const SizeMix mixes[] = { SizeMix::Tiny, SizeMix::Mixed, SizeMix::Large, SizeMix::BinBoundary };
    const std::uint64_t minArena = Region::minRegionSize() - format::kArenaOffset;
    for (const RegionConfig& config : kRegionConfigs) {
        const std::uint64_t size = config.size ? config.size : Region::minRegionSize();
        for (const SizeMix mix : mixes) {
            for (const std::uint64_t alignment : alignments) {
                // Without growth a minimum region cannot hold a single large or 4096-aligned block;
                // that case is outOfMemoryLeavesRegionUnchanged's business, not a random sequence's.
                if (!config.autoGrow && size == Region::minRegionSize()
                    && (mix == SizeMix::Large || alignment + 2 * format::kMinBlockBytes > minArena))
                    continue;
                QTest::addRow("%s/%s/align%llu", config.name, mixName(mix), static_cast<unsigned long long>(alignment))
                    << alignment << mix << size << config.autoGrow << config.limit << config.liveBudget;
            }
        }
    }
}

void TestAllocatorConformance::randomSequences()
{
    QFETCH(std::uint64_t, alignment);
    QFETCH(SizeMix, mix);
    QFETCH(std::uint64_t, regionSize);
    QFETCH(bool, autoGrow);
    QFETCH(std::uint64_t, limit);
    QFETCH(std::uint64_t, liveBudget);

    auto region = createRegion(nextPath(), regionSize, autoGrow, limit);
    QVERIFY2(region, region ? "" : errorName(region.error()));
    Region& r = **region;
    auto slot = r.attach("conformance");
    QVERIFY(slot);

    auto start = r.stats();
    QVERIFY(start);
    QCOMPARE(start->usedBlocks, 0u);
    QCOMPARE(start->freeBlocks, 1u);
    QCOMPARE(start->freeBytes + format::kBlockHeaderBytes, start->arenaBytes);

    const std::uint64_t seed = seedForName(QTest::currentDataTag());
    std::mt19937_64 rng(seed);
    const int operations = mix == SizeMix::Large ? 250 : mix == SizeMix::Tiny ? 2500 : 1500;
    LiveMap live;
    std::uint64_t nextSeed = seed;
    std::uint64_t liveBytes = 0, peakBlockBytes = 0, blockBytes = 0;
    int allocations = 0, frees = 0, outOfMemory = 0, doubleFreeChecks = 0;

    auto freeOne = [&](LiveMap::iterator it) {
        const void* p = r.pointer(it->first, it->second.bytes);
        QVERIFY(p);
        const std::int64_t bad = verifyPattern(p, it->second.bytes, it->second.seed);
        QVERIFY2(bad < 0, qPrintable(QStringLiteral("block %1 damaged at byte %2").arg(it->first).arg(bad)));
        auto freed = r.deallocate(it->first);
        QVERIFY2(freed, freed ? "" : errorName(freed.error()));
        const std::uint64_t offset = it->first;
        liveBytes -= it->second.bytes;
        blockBytes -= blockBytesFor(it->second.bytes);
        live.erase(it);
        ++frees;
        if (frees % 4 == 0) {
            // Freeing it again must be refused without touching anything.
            auto again = r.deallocate(offset);
            QVERIFY(!again);
            COMPARE_ERROR(again.error(), RegionError::NotAllocated);
            ++doubleFreeChecks;
        }
    };

    for (int op = 0; op < operations; ++op) {
        const bool wantAllocate = live.empty() || rng() % 100 < 60;
        const bool overBudget = liveBudget != 0 && liveBytes > liveBudget;
        if (wantAllocate && !overBudget) {
            const std::uint64_t bytes = drawSize(mix, rng);
            auto offset = r.allocate(bytes, alignment);
            if (!offset) {
                QVERIFY2(offset.error() == RegionError::OutOfMemory, errorName(offset.error()));
                ++outOfMemory;
                if (!live.empty()) {
                    freeOne(std::next(live.begin(), static_cast<long>(rng() % live.size())));
                    if (QTest::currentTestFailed())
                        return;
                }
                continue;
            }
            const std::uint64_t off = *offset;
            QVERIFY2(
                off % alignment == 0, qPrintable(QStringLiteral("offset %1 alignment %2").arg(off).arg(alignment)));
            QVERIFY(off % format::kGranule == 0);
            void* p = r.pointer(off, bytes);
            QVERIFY(p);
            QVERIFY(reinterpret_cast<std::uintptr_t>(p) % alignment == 0);
            // No overlap with the neighbours, headers included.
            auto next = live.lower_bound(off);
            QVERIFY2(next == live.end() || off + bytes + format::kBlockHeaderBytes <= next->first,
                qPrintable(QStringLiteral("block %1+%2 overlaps the next one").arg(off).arg(bytes)));
            if (next != live.begin()) {
                auto prev = std::prev(next);
                QVERIFY2(prev->first + prev->second.bytes + format::kBlockHeaderBytes <= off,
                    qPrintable(QStringLiteral("block %1 overlaps the previous one").arg(off)));
            }
            fillPattern(p, bytes, ++nextSeed);
            live.emplace(off, LiveBlock { bytes, nextSeed });
            liveBytes += bytes;
            blockBytes += blockBytesFor(bytes);
            peakBlockBytes = std::max(peakBlockBytes, blockBytes);
            ++allocations;
        } else if (!live.empty()) {
            freeOne(std::next(live.begin(), static_cast<long>(rng() % live.size())));
            if (QTest::currentTestFailed())
                return;
        }
        if (op % 128 == 127) {
            expectConsistent(r, live, *slot, true);
            if (QTest::currentTestFailed())
                return;
        }
    }
    expectConsistent(r, live, *slot, true);
    if (QTest::currentTestFailed())
        return;

    // The case must have exercised the allocator, not just collected OutOfMemory.
    QVERIFY2(allocations >= 50, qPrintable(QStringLiteral("only %1 allocations succeeded").arg(allocations)));
    QVERIFY(frees > 0 && doubleFreeChecks > 0);

    while (!live.empty()) {
        freeOne(live.begin());
        if (QTest::currentTestFailed())
            return;
    }
    expectConsistent(r, live, *slot, false);
    if (QTest::currentTestFailed())
        return;

    auto end = r.stats();
    QVERIFY(end);
    QCOMPARE(end->usedBlocks, 0u);
    QCOMPARE(end->usedBytes, 0u);
    QCOMPARE(end->freeBlocks, 1u); // everything coalesced back into one block
    QCOMPARE(end->fragmentation, 0.0);
    QCOMPARE(end->allocations - start->allocations, std::uint64_t(allocations));
    QCOMPARE(end->deallocations - start->deallocations, std::uint64_t(frees));
    // Free bytes are back at their start value, plus whatever the arena grew by.
    QCOMPARE(end->freeBytes, start->freeBytes + (end->arenaBytes - start->arenaBytes));
    if (!autoGrow) {
        QCOMPARE(end->size, start->size);
        QCOMPARE(end->freeBytes, start->freeBytes);
        QVERIFY(peakBlockBytes <= start->freeBytes);
    } else {
        if (limit != 0) {
            QVERIFY(end->size <= limit);
        }
        // A workload whose blocks could not all fit at once must have made the region grow.
        if (peakBlockBytes > start->freeBytes) {
            QVERIFY(end->grows > 0);
            QVERIFY(end->size > start->size);
        }
        if (end->grows > 0) {
            QVERIFY(end->generation > start->generation);
        }
    }
}

void TestAllocatorConformance::outOfMemoryLeavesRegionUnchanged_data()
{
    QTest::addColumn<std::uint64_t>("regionSize");
    QTest::addColumn<bool>("autoGrow");
    QTest::addColumn<std::uint64_t>("limit");
    QTest::newRow("min") << Region::minRegionSize() << false << std::uint64_t { 0 };
    QTest::newRow("1M") << 1 * MiB << false << std::uint64_t { 0 };
    QTest::newRow("256K+grow+limit2M") << 256 * KiB << true << 2 * MiB;
}

void TestAllocatorConformance::outOfMemoryLeavesRegionUnchanged()
{
    QFETCH(std::uint64_t, regionSize);
    QFETCH(bool, autoGrow);
    QFETCH(std::uint64_t, limit);

    auto region = createRegion(nextPath(), regionSize, autoGrow, limit);
    QVERIFY(region);
    Region& r = **region;
    auto slot = r.attach("oom");
    QVERIFY(slot);

    // Fill the region: large requests first, smaller ones once they stop fitting, until even the
    // smallest block is refused.
    std::mt19937_64 rng(42);
    LiveMap live;
    std::uint64_t maxBytes = 64 * KiB;
    int outOfMemory = 0;
    while (maxBytes >= 1) {
        const std::uint64_t bytes = 1 + rng() % maxBytes;
        auto offset = r.allocate(bytes);
        if (!offset) {
            COMPARE_ERROR(offset.error(), RegionError::OutOfMemory);
            ++outOfMemory;
            maxBytes /= 2;
            continue;
        }
        fillPattern(r.pointer(*offset, bytes), bytes, *offset);
        live.emplace(*offset, LiveBlock { bytes, *offset });
    }
    QVERIFY(!live.empty());
    QVERIFY(outOfMemory > 0);
    expectConsistent(r, live, *slot, true);
    if (QTest::currentTestFailed())
        return;

    auto before = r.stats();
    QVERIFY(before);
    auto blocksBefore = r.blocks();
    QVERIFY(blocksBefore);
    if (autoGrow) {
        QCOMPARE(before->size, limit); // grew as far as it may
        QVERIFY(before->grows > 0);
    }

    // Requests that cannot be served, each refused without any change.
    const std::uint64_t tooLarge[] = { std::max<std::uint64_t>(1, before->largestFreeBlock),
        before->largestFreeBlock + 1, before->arenaBytes, 64 * MiB, std::uint64_t { 1 } << 40 };
    std::uint64_t failures = 0;
    for (const std::uint64_t bytes : tooLarge) {
        for (const std::uint64_t alignment : { 16, 4096 }) {
            auto offset = r.allocate(bytes, alignment);
            QVERIFY(!offset);
            COMPARE_ERROR(offset.error(), RegionError::OutOfMemory);
            ++failures;
            auto after = r.stats();
            QVERIFY(after);
            QVERIFY(sameAllocatorState(*before, *after));
            QCOMPARE(after->failedAllocations, before->failedAllocations + failures);
            auto blocksAfter = r.blocks();
            QVERIFY(blocksAfter);
            QVERIFY(sameBlocks(*blocksBefore, *blocksAfter));
        }
    }
    expectConsistent(r, live, *slot, true);
    if (QTest::currentTestFailed())
        return;
    QFileInfo file(QString::fromStdString(r.path()));
    QCOMPARE(std::uint64_t(file.size()), before->size);

    // The largest free block is still usable to the byte.
    if (before->largestFreeBlock >= format::kMinBlockBytes) {
        const std::uint64_t bytes = before->largestFreeBlock - format::kBlockHeaderBytes;
        auto offset = r.allocate(bytes);
        QVERIFY2(offset, offset ? "" : errorName(offset.error()));
        fillPattern(r.pointer(*offset, bytes), bytes, 7);
        live.emplace(*offset, LiveBlock { bytes, 7 });
        expectConsistent(r, live, *slot, true);
        if (QTest::currentTestFailed())
            return;
    }
    for (const auto& [offset, block] : live)
        QVERIFY(r.deallocate(offset));
    auto empty = r.stats();
    QVERIFY(empty);
    QCOMPARE(empty->usedBlocks, 0u);
    QCOMPARE(empty->freeBlocks, 1u);
}

void TestAllocatorConformance::deallocateInvalidOffset_data()
{
    // Offsets are computed in the test from the layout it builds: A (used), B (freed), C (used).
    QTest::addColumn<QString>("where");
    QTest::addColumn<std::int64_t>("delta");
    QTest::newRow("zero") << "zero" << std::int64_t { 0 };
    QTest::newRow("one") << "zero" << std::int64_t { 1 };
    QTest::newRow("fifteen") << "zero" << std::int64_t { 15 };
    QTest::newRow("sixteen") << "zero" << std::int64_t { 16 };
    QTest::newRow("inside the header") << "zero" << std::int64_t { 4096 };
    QTest::newRow("arena start") << "arena" << std::int64_t { 0 };
    QTest::newRow("payload of A + 1") << "A" << std::int64_t { 1 };
    QTest::newRow("payload of A + 8") << "A" << std::int64_t { 8 };
    QTest::newRow("payload of A + 16") << "A" << std::int64_t { 16 };
    QTest::newRow("payload of A + 64") << "A" << std::int64_t { 64 };
    QTest::newRow("payload of A - 16") << "A" << std::int64_t { -16 };
    QTest::newRow("freed B") << "B" << std::int64_t { 0 };
    QTest::newRow("inside freed B") << "B" << std::int64_t { 32 };
    QTest::newRow("end sentinel") << "arenaEnd" << std::int64_t { 0 };
    QTest::newRow("past the arena") << "arenaEnd" << std::int64_t { 16 };
    QTest::newRow("file end") << "fileEnd" << std::int64_t { 0 };
    QTest::newRow("far past the file") << "fileEnd" << std::int64_t { 1 << 20 };
    QTest::newRow("max") << "max" << std::int64_t { 0 };
    QTest::newRow("max - 15") << "max" << std::int64_t { -15 };
    QTest::newRow("max - 16") << "max" << std::int64_t { -16 };
    QTest::newRow("2^63") << "2^63" << std::int64_t { 0 };
    QTest::newRow("size mask + 16") << "sizeMask" << std::int64_t { 16 };
}

void TestAllocatorConformance::deallocateInvalidOffset()
{
    QFETCH(QString, where);
    QFETCH(std::int64_t, delta);

    auto region = createRegion(nextPath(), 1 * MiB);
    QVERIFY(region);
    Region& r = **region;
    auto slot = r.attach("wild");
    QVERIFY(slot);
    LiveMap live;
    auto a = r.allocate(100);
    auto b = r.allocate(5000);
    auto c = r.allocate(100);
    QVERIFY(a && b && c);
    // A's payload is a constant byte pattern that does not look like a used block header.
    std::memset(r.pointer(*a, 100), 0xAB, 100);
    fillPattern(r.pointer(*c, 100), 100, 3);
    live.emplace(*c, LiveBlock { 100, 3 });
    QVERIFY(r.deallocate(*b));
    auto stats = r.stats();
    QVERIFY(stats);

    std::uint64_t base = 0;
    if (where == "arena")
        base = format::kArenaOffset;
    else if (where == "A")
        base = *a;
    else if (where == "B")
        base = *b;
    else if (where == "arenaEnd")
        base = format::kArenaOffset + stats->arenaBytes;
    else if (where == "fileEnd")
        base = stats->size;
    else if (where == "max")
        base = std::numeric_limits<std::uint64_t>::max();
    else if (where == "2^63")
        base = std::uint64_t { 1 } << 63;
    else if (where == "sizeMask")
        base = format::kSizeMask;
    const std::uint64_t offset = base + static_cast<std::uint64_t>(delta);

    auto blocksBefore = r.blocks();
    QVERIFY(blocksBefore);
    auto freed = r.deallocate(offset);
    QVERIFY2(!freed, qPrintable(QStringLiteral("deallocate(%1) succeeded").arg(offset)));
    COMPARE_ERROR(freed.error(), RegionError::NotAllocated);
    auto after = r.stats();
    QVERIFY(after);
    QVERIFY(sameAllocatorState(*stats, *after));
    auto blocksAfter = r.blocks();
    QVERIFY(blocksAfter);
    QVERIFY(sameBlocks(*blocksBefore, *blocksAfter));
    // publish() validates the same way.
    auto published = r.publish(offset);
    QVERIFY(!published);
    COMPARE_ERROR(published.error(), RegionError::NotAllocated);

    for (int i = 0; i < 100; ++i)
        QCOMPARE(static_cast<const unsigned char*>(r.pointer(*a, 100))[i], 0xAB);
    live.emplace(*a, LiveBlock { 100, 0 });
    auto sane = r.checkSanity();
    QVERIFY2(sane, sane ? "" : describe(sane.error()).constData());
    QVERIFY(r.deallocate(*a));
    QVERIFY(r.deallocate(*c));
}

void TestAllocatorConformance::doubleFree_data()
{
    // Five neighbouring blocks P0..P4; the target is P2. `before` says which neighbours are freed
    // before the target, `after` which are freed after it (coalescing over the target's old header).
    QTest::addColumn<QList<int>>("before");
    QTest::addColumn<QList<int>>("after");
    QTest::newRow("alone") << QList<int> {} << QList<int> {};
    QTest::newRow("previous free") << QList<int> { 1 } << QList<int> {};
    QTest::newRow("next free") << QList<int> { 3 } << QList<int> {};
    QTest::newRow("both free") << QList<int> { 1, 3 } << QList<int> {};
    QTest::newRow("previous freed after") << QList<int> {} << QList<int> { 1 };
    QTest::newRow("next freed after") << QList<int> {} << QList<int> { 3 };
    QTest::newRow("both freed after") << QList<int> {} << QList<int> { 1, 3 };
    QTest::newRow("previous before, next after") << QList<int> { 1 } << QList<int> { 3 };
    QTest::newRow("next before, previous after") << QList<int> { 3 } << QList<int> { 1 };
    QTest::newRow("first block") << QList<int> { -2 } << QList<int> {};
}

void TestAllocatorConformance::doubleFree()
{
    QFETCH(QList<int>, before);
    QFETCH(QList<int>, after);

    auto region = createRegion(nextPath(), 1 * MiB);
    QVERIFY(region);
    Region& r = **region;
    auto slot = r.attach("double-free");
    QVERIFY(slot);
    // "first block": the target is P0, the first block of the arena, with P1 freed before it.
    const bool firstBlock = before == QList<int> { -2 };
    const int target = firstBlock ? 0 : 2;
    if (firstBlock)
        before = { 1 };

    std::vector<std::uint64_t> offsets;
    const std::uint64_t sizes[] = { 48, 700, 3000, 96, 20000 };
    for (const std::uint64_t bytes : sizes) {
        auto offset = r.allocate(bytes);
        QVERIFY(offset);
        offsets.push_back(*offset);
    }
    LiveMap live;
    for (int i = 0; i < 5; ++i) {
        fillPattern(r.pointer(offsets[i], sizes[i]), sizes[i], 100 + i);
        live.emplace(offsets[i], LiveBlock { sizes[i], std::uint64_t(100 + i) });
    }
    auto release = [&](int i) {
        QVERIFY(r.deallocate(offsets[i]));
        live.erase(offsets[i]);
    };
    for (int i : before)
        release(i);
    release(target);
    for (int i : after)
        release(i);
    expectConsistent(r, live, *slot, true);
    if (QTest::currentTestFailed())
        return;

    auto stats = r.stats();
    QVERIFY(stats);
    auto blocksBefore = r.blocks();
    QVERIFY(blocksBefore);
    auto again = r.deallocate(offsets[target]);
    QVERIFY(!again);
    COMPARE_ERROR(again.error(), RegionError::NotAllocated);
    auto statsAfter = r.stats();
    QVERIFY(statsAfter);
    QVERIFY(sameAllocatorState(*stats, *statsAfter));
    auto blocksAfter = r.blocks();
    QVERIFY(blocksAfter);
    QVERIFY(sameBlocks(*blocksBefore, *blocksAfter));
    // The freed neighbours are refused too.
    for (int i : before + after) {
        auto neighbour = r.deallocate(offsets[i]);
        QVERIFY(!neighbour);
        COMPARE_ERROR(neighbour.error(), RegionError::NotAllocated);
    }
    expectConsistent(r, live, *slot, true);
}

void TestAllocatorConformance::invalidArguments_data()
{
    QTest::addColumn<std::uint64_t>("bytes");
    QTest::addColumn<std::uint64_t>("alignment");
    QTest::newRow("zero bytes") << std::uint64_t { 0 } << std::uint64_t { 16 };
    QTest::newRow("alignment 0") << std::uint64_t { 64 } << std::uint64_t { 0 };
    QTest::newRow("alignment 3") << std::uint64_t { 64 } << std::uint64_t { 3 };
    QTest::newRow("alignment 24") << std::uint64_t { 64 } << std::uint64_t { 24 };
    QTest::newRow("alignment 8192") << std::uint64_t { 64 } << std::uint64_t { 8192 };
    QTest::newRow("alignment 2^63") << std::uint64_t { 64 } << (std::uint64_t { 1 } << 63);
    QTest::newRow("bytes above the size field") << (format::kSizeMask >> 1) + 1 << std::uint64_t { 16 };
    QTest::newRow("bytes max") << std::numeric_limits<std::uint64_t>::max() << std::uint64_t { 16 };
}

void TestAllocatorConformance::invalidArguments()
{
    QFETCH(std::uint64_t, bytes);
    QFETCH(std::uint64_t, alignment);
    // Auto-grow is on, so a request that were merely too large would grow the file instead.
    auto region = createRegion(nextPath(), 256 * KiB, true, 1 * MiB);
    QVERIFY(region);
    Region& r = **region;
    QVERIFY(r.attach("invalid"));
    auto before = r.stats();
    QVERIFY(before);
    auto offset = r.allocate(bytes, alignment);
    QVERIFY(!offset);
    COMPARE_ERROR(offset.error(), RegionError::InvalidArgument);
    auto after = r.stats();
    QVERIFY(after);
    QVERIFY(sameAllocatorState(*before, *after));
    QCOMPARE(after->grows, before->grows);
    QVERIFY(r.checkSanity());
}

void TestAllocatorConformance::allocateRequiresAttach()
{
    auto region = createRegion(nextPath(), 256 * KiB);
    QVERIFY(region);
    Region& r = **region;
    QVERIFY(!r.attached());
    auto before = r.stats();
    QVERIFY(before);
    auto offset = r.allocate(64);
    QVERIFY(!offset);
    COMPARE_ERROR(offset.error(), RegionError::NotAttached);
    auto after = r.stats();
    QVERIFY(after);
    QVERIFY(sameAllocatorState(*before, *after));

    QVERIFY(r.attach("now attached"));
    QVERIFY(r.attached());
    auto second = r.attach("twice");
    QVERIFY(!second);
    COMPARE_ERROR(second.error(), RegionError::AlreadyAttached);
    QVERIFY(r.allocate(64));
    QVERIFY(r.detach());
    QVERIFY(!r.attached());
    auto afterDetach = r.allocate(64);
    QVERIFY(!afterDetach);
    COMPARE_ERROR(afterDetach.error(), RegionError::NotAttached);
    auto detachAgain = r.detach();
    QVERIFY(!detachAgain);
    COMPARE_ERROR(detachAgain.error(), RegionError::NotAttached);
}

void TestAllocatorConformance::statsAndBlocksAgree()
{
    auto region = createRegion(nextPath(), 1 * MiB);
    QVERIFY(region);
    Region& r = **region;
    auto slot = r.attach("stats");
    QVERIFY(slot);

    // Nothing allocated: one free block, no fragmentation.
    auto empty = r.stats();
    QVERIFY(empty);
    QCOMPARE(empty->largestFreeBlock, empty->freeBytes);
    QCOMPARE(empty->fragmentation, 0.0);

    // Ten equal blocks, every other one freed: five equal holes and the free tail.
    std::vector<std::uint64_t> offsets;
    for (int i = 0; i < 10; ++i) {
        auto offset = r.allocate(1000);
        QVERIFY(offset);
        offsets.push_back(*offset);
    }
    for (int i = 0; i < 10; i += 2)
        QVERIFY(r.deallocate(offsets[i]));
    // Publish two of the survivors.
    QVERIFY(r.publish(offsets[1]));
    QVERIFY(r.publish(offsets[9]));

    auto stats = r.stats();
    QVERIFY(stats);
    auto blocks = r.blocks();
    QVERIFY(blocks);
    std::uint64_t freeBytes = 0, largest = 0, freeBlocks = 0, used = 0, published = 0, owned = 0;
    for (const BlockInfo& b : *blocks) {
        if (b.free) {
            freeBytes += b.size;
            largest = std::max(largest, b.size);
            ++freeBlocks;
        } else {
            ++used;
            if (b.published) {
                ++published;
                QCOMPARE(b.ownerSlot, kNoOwner);
                QVERIFY(b.offset + format::kBlockHeaderBytes == offsets[1]
                    || b.offset + format::kBlockHeaderBytes == offsets[9]);
            } else {
                ++owned;
                QCOMPARE(b.ownerSlot, *slot);
            }
        }
    }
    QCOMPARE(used, 5u);
    QCOMPARE(published, 2u);
    QCOMPARE(owned, 3u);
    QCOMPARE(freeBlocks, 6u); // five 1024-byte holes and the tail
    QCOMPARE(stats->freeBlocks, freeBlocks);
    QCOMPARE(stats->freeBytes, freeBytes);
    QCOMPARE(stats->largestFreeBlock, largest);
    QCOMPARE(stats->usedBlocks, used);
    QCOMPARE(stats->usedBytes, 5 * blockBytesFor(1000));
    const double expected = 1.0 - double(largest) / double(freeBytes);
    QVERIFY(expected > 0.0);
    QVERIFY(qAbs(stats->fragmentation - expected) < 1e-12);
    QCOMPARE(stats->fragmentation, 1.0 - double(stats->largestFreeBlock) / double(stats->freeBytes));

    // Take the tail: now the five holes are all that is free, fragmentation is 1 - 1/5.
    auto tail = r.allocate(largest - format::kBlockHeaderBytes);
    QVERIFY(tail);
    auto holes = r.stats();
    QVERIFY(holes);
    QCOMPARE(holes->freeBlocks, 5u);
    QCOMPARE(holes->largestFreeBlock, blockBytesFor(1000));
    QCOMPARE(holes->freeBytes, 5 * blockBytesFor(1000));
    QVERIFY(qAbs(holes->fragmentation - 0.8) < 1e-12);

    // A completely full region: nothing free, fragmentation 0 by definition.
    for (int i = 0; i < 10; i += 2)
        QVERIFY(r.allocate(1000));
    auto full = r.stats();
    QVERIFY(full);
    QCOMPARE(full->freeBytes, 0u);
    QCOMPARE(full->freeBlocks, 0u);
    QCOMPARE(full->largestFreeBlock, 0u);
    QCOMPARE(full->fragmentation, 0.0);
    QVERIFY(r.checkSanity());

    // Published blocks survive detach(); the process's own blocks do not.
    QVERIFY(r.detach());
    auto detached = r.stats();
    QVERIFY(detached);
    QCOMPARE(detached->usedBlocks, 2u);
    QCOMPARE(detached->usedBytes, 2 * blockBytesFor(1000));
    auto remaining = r.blocks();
    QVERIFY(remaining);
    for (const BlockInfo& b : *remaining)
        QVERIFY(b.free || b.published);
    QVERIFY(r.checkSanity());
}

QTEST_GUILESS_MAIN(TestAllocatorConformance)
#include "tst_allocator_conformance.moc"
