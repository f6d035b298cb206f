// The local cache: small blocks a process frees stay owned by it and are handed back to its own next
// allocations of that size without the lock; the rest of the region sees them as the process's
// unpublished blocks, so a crash loses nothing, and they are given back when free space matters.

#include "shm_test_support.h"

#include <commy/shm/region.h>

#include <QtTest>

#include <algorithm>
#include <csignal>
#include <vector>

using namespace commy::shm;
using namespace commy::shmtest;

namespace {

constexpr std::uint64_t kRegionBytes = 1 << 20;

const BlockInfo* blockAt(const std::vector<BlockInfo>& blocks, std::uint64_t payloadOffset)
{
    const auto it = std::find_if(blocks.begin(), blocks.end(),
        [&](const BlockInfo& b) { return b.offset + 16 <= payloadOffset && payloadOffset < b.offset + b.size; });
    return it == blocks.end() ? nullptr : &*it;
}

std::unique_ptr<Region> openWithCache(const QString& path, std::uint64_t cacheBytes)
{
    RegionOptions options;
    options.mode = OpenMode::OpenExisting;
    options.localCacheBytes = cacheBytes;
    auto region = Region::open(path.toStdString(), options);
    return region ? std::move(*region) : nullptr;
}

} // namespace

class TestLocalCache : public QObject {
    Q_OBJECT

private slots:
    void init()
    {
        QVERIFY(m_dir.isValid());
        m_path = m_dir.filePath(QStringLiteral("c%1.region").arg(++m_counter));
        auto created = createRegion(m_path, kRegionBytes);
        QVERIFY(created);
    }

    void freedBlockIsReusedWithoutTheLockAndStaysOwned()
    {
        auto mine = openWithCache(m_path, 64 * 1024);
        auto other = openWithCache(m_path, 0);
        QVERIFY(mine && other);
        QVERIFY(mine->attach("mine"));
        QVERIFY(other->attach("other"));

        auto first = mine->allocate(100);
        QVERIFY(first);
        QVERIFY(mine->deallocate(*first));
        // Another process (handle) still sees the block as used by `mine`, unpublished.
        auto seen = other->blocks();
        QVERIFY(seen);
        const BlockInfo* block = blockAt(*seen, *first);
        QVERIFY(block);
        QVERIFY(!block->free);
        QCOMPARE(block->ownerSlot, mine->slot());

        // The next allocation of the same size gets it back.
        auto again = mine->allocate(100);
        QVERIFY(again);
        QCOMPARE(*again, *first);
        QVERIFY(mine->deallocate(*again));

        // stats() gives the stash back: the block is free for everybody.
        auto stats = mine->stats();
        QVERIFY(stats);
        QCOMPARE(stats->usedBlocks, 0u);
        auto after = other->blocks();
        QVERIFY(after);
        block = blockAt(*after, *first);
        QVERIFY(block && block->free);
    }

    void doubleFreeOfAStashedBlockIsRefused()
    {
        auto region = openWithCache(m_path, 64 * 1024);
        QVERIFY(region && region->attach("double"));
        auto offset = region->allocate(48);
        QVERIFY(offset);
        QVERIFY(region->deallocate(*offset));
        auto twice = region->deallocate(*offset);
        QVERIFY(!twice);
        COMPARE_ERROR(twice.error(), RegionError::NotAllocated);
        // Handed out once only.
        auto a = region->allocate(48);
        auto b = region->allocate(48);
        QVERIFY(a && b);
        QVERIFY(*a != *b);
        QVERIFY(region->checkSanity());
    }

    void cacheIsBoundedInBytes()
    {
        auto region = openWithCache(m_path, 1024);
        auto observer = openWithCache(m_path, 0);
        QVERIFY(region && observer && region->attach("bounded"));
        std::vector<std::uint64_t> offsets;
        for (int i = 0; i < 40; ++i) {
            auto offset = region->allocate(100); // 128-byte blocks
            QVERIFY(offset);
            offsets.push_back(*offset);
        }
        for (const std::uint64_t offset : offsets)
            QVERIFY(region->deallocate(offset));
        auto blocks = observer->blocks();
        QVERIFY(blocks);
        const auto held = std::count_if(blocks->begin(), blocks->end(),
            [&](const BlockInfo& b) { return !b.free && b.ownerSlot == region->slot(); });
        QCOMPARE(held, 1024 / 128);
    }

    void runningOutOfMemoryGivesTheCacheBack()
    {
        auto region = openWithCache(m_path, 64 * 1024);
        QVERIFY(region && region->attach("full"));
        // Fill the region with small blocks, then free most of them into the cache...
        std::vector<std::uint64_t> offsets;
        for (;;) {
            auto offset = region->allocate(1000);
            if (!offset)
                break;
            offsets.push_back(*offset);
        }
        QVERIFY(offsets.size() > 100);
        for (std::size_t i = 0; i < 64; ++i)
            QVERIFY(region->deallocate(offsets[offsets.size() - 1 - i]));
        // ...a large request can only be served from those stashed blocks coalesced together.
        auto large = region->allocate(32 * 1024);
        QVERIFY2(large, large ? "" : errorName(large.error()));
        QVERIFY(region->checkSanity());
    }

    void killedProcessesStashIsReclaimedByCleanup()
    {
        auto region = openWithCache(m_path, 0);
        QVERIFY(region && region->attach("cleaner"));
        auto before = region->stats();
        QVERIFY(before);

        ChildProcess child;
        QVERIFY(child.start({ QStringLiteral("stash"), m_path, QStringLiteral("20"), QStringLiteral("200") }));
        QVERIFY(!child.waitForLine(QStringLiteral("attached")).isNull());
        ::kill(static_cast<pid_t>(child.pid()), SIGKILL);
        QVERIFY(child.waitForExit());

        auto report = region->cleanup();
        QVERIFY(report);
        QCOMPARE(report->freedSlots.size(), std::size_t(1));
        QCOMPARE(report->reclaimedBlocks, 20u);
        auto after = region->stats();
        QVERIFY(after);
        QCOMPARE(after->freeBytes, before->freeBytes);
        QVERIFY(region->checkSanity());
    }

    void disabledCacheFreesAtOnce()
    {
        auto region = openWithCache(m_path, 0);
        auto observer = openWithCache(m_path, 0);
        QVERIFY(region && observer && region->attach("nocache"));
        auto offset = region->allocate(64);
        QVERIFY(offset);
        QVERIFY(region->deallocate(*offset));
        auto blocks = observer->blocks();
        QVERIFY(blocks);
        const BlockInfo* block = blockAt(*blocks, *offset);
        QVERIFY(block && block->free);
    }

private:
    RegionTempDir m_dir;
    QString m_path;
    int m_counter = 0;
};

QTEST_GUILESS_MAIN(TestLocalCache)
#include "tst_local_cache.moc"
