// FreeBlockHistogramModel under QAbstractItemModelTester: power-of-two buckets of free blocks (empty
// buckets between kept), totals, and updates from a BlockMap diffed in without a reset.

#include <monitor/block_map.h>
#include <monitor/models/free_block_histogram_model.h>
#include <monitor/models/roles.h>

#include "monitor_test_support.h"

#include <QAbstractItemModelTester>
#include <QtTest>

using namespace commy::monitor;
using namespace commy::monitor::test;

namespace {

QList<BlockSnapshot> freeSizes(std::initializer_list<quint64> sizes)
{
    QList<BlockSnapshot> blocks;
    quint64 offset = 0;
    for (const quint64 size : sizes) {
        blocks.append(BlockSnapshot { offset, size, true, kNoOwner });
        offset += size;
        blocks.append(BlockSnapshot { offset, 4096, false, kNoOwner }); // used blocks are not counted
        offset += 4096;
    }
    return blocks;
}

QStringList buckets(const QAbstractItemModel& model)
{
    QStringList out;
    for (int row = 0; row < model.rowCount(); ++row) {
        const QModelIndex index = model.index(row, 0);
        out.append(QStringLiteral("%1-%2:%3")
                       .arg(index.data(BucketLowRole).toULongLong())
                       .arg(index.data(BucketHighRole).toULongLong())
                       .arg(index.data(CountRole).toULongLong()));
    }
    return out;
}

} // namespace

class TestFreeBlockHistogramModel : public QObject {
    Q_OBJECT

private slots:
    void bucketsAndTotals();
    void followsTheBlockMap();
    void rolesAndDisplay();
};

void TestFreeBlockHistogramModel::bucketsAndTotals()
{
    BlockMap map;
    FreeBlockHistogramModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setBlockMap(&map);
    QCOMPARE(model.rowCount(), 0);
    map.setBlocks(freeSizes({ 16, 17, 31, 64, 100 }));
    QCOMPARE(buckets(model), QStringList({ "16-32:3", "32-64:0", "64-128:2" }));
    QCOMPARE(model.freeBlocks(), 5u);
    QCOMPARE(model.freeBytes(), 228u);
    QCOMPARE(model.maxCount(), 3u);
    QCOMPARE(model.index(2, 0).data(BytesRole).toULongLong(), 164u);
    QCOMPARE(model.index(2, 0).data(FractionRole).toDouble(), 164.0 / 228.0);
}

void TestFreeBlockHistogramModel::followsTheBlockMap()
{
    BlockMap map;
    FreeBlockHistogramModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setBlockMap(&map);
    map.setBlocks(freeSizes({ 64, 100 }));
    ModelSignals signalCounts(&model);
    QSignalSpy totals(&model, &FreeBlockHistogramModel::totalsChanged);

    map.setBlocks(freeSizes({ 16, 64, 100, 1000 }));
    QCOMPARE(buckets(model), QStringList({ "16-32:1", "32-64:0", "64-128:2", "128-256:0", "256-512:0", "512-1024:1" }));
    QCOMPARE(totals.count(), 1);
    map.setBlocks(freeSizes({ 300 }));
    QCOMPARE(buckets(model), QStringList({ "256-512:1" }));
    map.clear();
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(model.maxCount(), 0u);
    QCOMPARE(signalCounts.reset.count(), 0);

    model.setBlockMap(nullptr);
    map.setBlocks(freeSizes({ 16 }));
    QCOMPARE(model.rowCount(), 0);
}

void TestFreeBlockHistogramModel::rolesAndDisplay()
{
    FreeBlockHistogramModel model;
    const QList<BlockSnapshot> blocks = freeSizes({ 2048, 3000 });
    model.setBlocks(std::vector<BlockSnapshot>(blocks.begin(), blocks.end()));
    QCOMPARE(
        model.index(0, FreeBlockHistogramModel::RangeColumn).data().toString(), QStringLiteral("2.0 KiB – 4.0 KiB"));
    QCOMPARE(model.index(0, FreeBlockHistogramModel::CountColumn).data().toString(), QStringLiteral("2"));
    QCOMPARE(model.index(0, FreeBlockHistogramModel::BytesColumn).data().toString(), QStringLiteral("4.9 KiB"));
    QCOMPARE(model.roleNames().value(BucketLowRole), QByteArray("bucketLow"));
}

QTEST_GUILESS_MAIN(TestFreeBlockHistogramModel)
#include "tst_free_block_histogram_model.moc"
