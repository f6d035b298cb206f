// The fragmentation map: block lookup, the rasteriser's pixels (exact colours, shared pixels mixed by
// bytes, gaps, block edges, a zoomed window), 10^6 blocks rendered into a QImage, and the
// BlockMapView item's zoom, pan and hover hit test.

#include <monitor/block_map.h>
#include <monitor/block_map_item.h>
#include <monitor/block_map_renderer.h>

#include <QElapsedTimer>
#include <QPainter>
#include <QRandomGenerator>
#include <QtTest>

using namespace commy::monitor;

namespace {

const QColor kBackground(0, 0, 0);
const QColor kFree(200, 200, 200);
const QColor kUsed(0, 0, 255);

BlockMapPalette palette() { return BlockMapPalette(kBackground, kFree, kUsed); }

BlockSnapshot used(quint64 offset, quint64 size, quint32 owner = kNoOwner)
{
    return BlockSnapshot { offset, size, false, owner };
}

BlockSnapshot freeBlock(quint64 offset, quint64 size) { return BlockSnapshot { offset, size, true, kNoOwner }; }

QRgb pixel(const QImage& image, int x, int y = 0) { return image.pixel(x, y) | 0xff000000u; }

QString rgb(QRgb c) { return QStringLiteral("%1,%2,%3").arg(qRed(c)).arg(qGreen(c)).arg(qBlue(c)); }

// Tiling blocks from offset 4096, sizes 16..4096 bytes in 16-byte steps, a third free, some owned.
std::vector<BlockSnapshot> randomBlocks(std::size_t count, quint32 seed)
{
    QRandomGenerator random(seed);
    std::vector<BlockSnapshot> blocks;
    blocks.reserve(count);
    quint64 offset = 4096;
    for (std::size_t i = 0; i < count; ++i) {
        const quint64 size = 16 * (1 + random.bounded(256u));
        const quint32 kind = random.bounded(6u);
        blocks.push_back(BlockSnapshot { offset, size, kind < 2, kind == 5 ? random.bounded(8u) : kNoOwner });
        offset += size;
    }
    return blocks;
}

} // namespace

class TestBlockMap : public QObject {
    Q_OBJECT

private slots:
    void lookup();
    void unsortedBlocksAreSorted();
    void renderOneBlockPerPixel();
    void renderMixesSharedPixels();
    void renderGapsShowTheBackground();
    void renderMarksBlockEdges();
    void renderAWindow();
    void ownersHaveTheirOwnColours();
    void renderAMillionBlocks();
    void itemLayoutAndHitTest();
    void itemZoomAndPan();
    void itemPaintsTheRenderedImage();
};

void TestBlockMap::lookup()
{
    BlockMap map;
    QSignalSpy changed(&map, &BlockMap::changed);
    map.setBlocks(QList<BlockSnapshot> { used(100, 50), freeBlock(150, 50), used(300, 100) });
    QCOMPARE(changed.count(), 1);
    QCOMPARE(map.blockCount(), 3);
    QCOMPARE(map.startOffset(), 100u);
    QCOMPARE(map.endOffset(), 400u);
    QCOMPARE(map.usedBytes(), 150u);
    QCOMPARE(map.freeBytes(), 50u);
    QCOMPARE(map.blockAt(99), -1);
    QCOMPARE(map.blockAt(100), 0);
    QCOMPARE(map.blockAt(149), 0);
    QCOMPARE(map.blockAt(150), 1);
    QCOMPARE(map.blockAt(250), -1); // a gap
    QCOMPARE(map.blockAt(399), 2);
    QCOMPARE(map.blockAt(400), -1);
    QCOMPARE(map.firstEndingAfter(0), 0);
    QCOMPARE(map.firstEndingAfter(150), 1);
    QCOMPARE(map.firstEndingAfter(250), 2);
    QCOMPARE(map.firstEndingAfter(400), 3);
    map.clear();
    QCOMPARE(map.blockCount(), 0);
    QCOMPARE(map.blockAt(100), -1);
    QCOMPARE(map.endOffset(), 0u);
}

void TestBlockMap::unsortedBlocksAreSorted()
{
    BlockMap map;
    map.setBlocks(QList<BlockSnapshot> { used(300, 100), used(100, 50), freeBlock(150, 50) });
    QCOMPARE(map.blocks().front().offset, 100u);
    QCOMPARE(map.blocks().back().offset, 300u);
}

void TestBlockMap::renderOneBlockPerPixel()
{
    QImage image;
    const std::vector<BlockSnapshot> blocks { used(0, 100), freeBlock(100, 100), used(200, 100, 3), used(300, 100) };
    renderBlockMap(image, blocks, BlockMapLayout { 4, 1, 0, 100 }, palette());
    QCOMPARE(image.size(), QSize(4, 1));
    QCOMPARE(rgb(pixel(image, 0)), rgb(kUsed.rgb()));
    QCOMPARE(rgb(pixel(image, 1)), rgb(kFree.rgb()));
    QCOMPARE(rgb(pixel(image, 2)), rgb(palette().owner(3)));
    QCOMPARE(rgb(pixel(image, 3)), rgb(kUsed.rgb()));
}

void TestBlockMap::renderMixesSharedPixels()
{
    QImage image;
    // Pixel 0: 25 bytes used, 75 free. Pixel 1: one block.
    const std::vector<BlockSnapshot> blocks { used(0, 25), freeBlock(25, 75), freeBlock(100, 100) };
    renderBlockMap(image, blocks, BlockMapLayout { 2, 1, 0, 100 }, palette());
    QCOMPARE(rgb(pixel(image, 0)), QStringLiteral("150,150,214")); // 0.25 * (0,0,255) + 0.75 * (200,200,200)
    QCOMPARE(rgb(pixel(image, 1)), rgb(kFree.rgb()));
}

void TestBlockMap::renderGapsShowTheBackground()
{
    QImage image;
    const std::vector<BlockSnapshot> blocks { freeBlock(0, 100), freeBlock(200, 50) };
    renderBlockMap(image, blocks, BlockMapLayout { 3, 1, 0, 100 }, palette());
    QCOMPARE(rgb(pixel(image, 0)), rgb(kFree.rgb()));
    QCOMPARE(rgb(pixel(image, 1)), rgb(kBackground.rgb()));
    QCOMPARE(rgb(pixel(image, 2)), QStringLiteral("100,100,100")); // half free, half nothing
}

void TestBlockMap::renderMarksBlockEdges()
{
    QImage image;
    // Two used blocks of 5 pixels each, side by side: their first pixels are darker.
    const std::vector<BlockSnapshot> blocks { used(0, 50), used(50, 50) };
    renderBlockMap(image, blocks, BlockMapLayout { 10, 1, 0, 10 }, palette());
    const QString edge = QStringLiteral("0,0,191");
    QCOMPARE(rgb(pixel(image, 0)), edge);
    QCOMPARE(rgb(pixel(image, 1)), rgb(kUsed.rgb()));
    QCOMPARE(rgb(pixel(image, 5)), edge);
    QCOMPARE(rgb(pixel(image, 9)), rgb(kUsed.rgb()));
}

void TestBlockMap::renderAWindow()
{
    QImage image;
    const std::vector<BlockSnapshot> blocks { used(0, 100), freeBlock(100, 100), used(200, 100, 1) };
    // Bytes 150..270 over 2 rows of 2 pixels, 30 bytes each.
    renderBlockMap(image, blocks, BlockMapLayout { 2, 2, 150, 30 }, palette());
    QCOMPARE(rgb(pixel(image, 0, 0)), rgb(kFree.rgb())); // 150..180
    const QRgb owner = palette().owner(1);
    const QRgb mixed = pixel(image, 1, 0); // 180..210: 20 bytes free, 10 owned
    QCOMPARE(qRed(mixed), int(std::lround((2 * 200 + qRed(owner)) / 3.0)));
    QCOMPARE(qBlue(mixed), int(std::lround((2 * 200 + qBlue(owner)) / 3.0)));
    QCOMPARE(rgb(pixel(image, 0, 1)), rgb(owner)); // 210..240
    QCOMPARE(rgb(pixel(image, 1, 1)), rgb(owner)); // 240..270
}

void TestBlockMap::ownersHaveTheirOwnColours()
{
    const BlockMapPalette colours = palette();
    QSet<QRgb> seen;
    for (quint32 slot = 0; slot < 16; ++slot)
        seen.insert(colours.owner(slot));
    QCOMPARE(seen.size(), 16);
    QCOMPARE(colours.colorOf(freeBlock(0, 1)), kFree.rgb());
    QCOMPARE(colours.colorOf(used(0, 1)), kUsed.rgb());
    QCOMPARE(colours.colorOf(used(0, 1, 5)), colours.owner(5));
}

void TestBlockMap::renderAMillionBlocks()
{
    const std::vector<BlockSnapshot> blocks = randomBlocks(1'000'000, 7);
    const double start = double(blocks.front().offset);
    const double total = double(blocks.back().offset + blocks.back().size) - start;

    // Full HD, the whole region: timed (the benchmark holds the goal; this catches a slow algorithm).
    QImage image;
    const BlockMapLayout full { 1920, 1080, start, total / (1920.0 * 1080.0) };
    QElapsedTimer timer;
    timer.start();
    renderBlockMap(image, blocks, full, palette());
    const double ms = double(timer.nsecsElapsed()) / 1e6;
    qInfo("10^6 blocks into 1920x1080: %.1f ms (this build)", ms);
    QVERIFY2(ms < 2000, qPrintable(QStringLiteral("%1 ms").arg(ms)));
    QCOMPARE(image.size(), QSize(1920, 1080));

    // Smaller than a pixel, every block: each pixel is the byte-weighted mix of its blocks, so the
    // mean colour of the image is the byte-weighted mean colour of the blocks.
    const BlockMapLayout small { 640, 480, start, total / (640.0 * 480.0) };
    renderBlockMap(image, blocks, small, palette());
    double expected[3] = {};
    const BlockMapPalette colours = palette();
    for (const BlockSnapshot& block : blocks) {
        const QRgb c = colours.colorOf(block);
        expected[0] += qRed(c) * double(block.size) / total;
        expected[1] += qGreen(c) * double(block.size) / total;
        expected[2] += qBlue(c) * double(block.size) / total;
    }
    double actual[3] = {};
    for (int y = 0; y < image.height(); ++y) {
        const auto* line = reinterpret_cast<const QRgb*>(image.constScanLine(y));
        for (int x = 0; x < image.width(); ++x) {
            actual[0] += qRed(line[x]);
            actual[1] += qGreen(line[x]);
            actual[2] += qBlue(line[x]);
        }
    }
    const double pixels = 640.0 * 480.0;
    for (int channel = 0; channel < 3; ++channel)
        QVERIFY2(std::abs(actual[channel] / pixels - expected[channel]) < 0.5,
            qPrintable(QStringLiteral("channel %1: %2 vs %3")
                           .arg(channel)
                           .arg(actual[channel] / pixels)
                           .arg(expected[channel])));
}

void TestBlockMap::itemLayoutAndHitTest()
{
    BlockMap map;
    // 4 blocks of 1000 bytes over a 40x1 item: 100 bytes per pixel.
    map.setBlocks(QList<BlockSnapshot> {
        used(1000, 1000), freeBlock(2000, 1000), used(3000, 1000, 2), used(4000, 990), freeBlock(4990, 10) });
    BlockMapItem item;
    item.setSize(QSizeF(40, 1));
    item.setBlockMap(&map);
    const BlockMapLayout layout = item.layout();
    QCOMPARE(layout.width, 40);
    QCOMPARE(layout.firstByte, 1000.0);
    QCOMPARE(layout.bytesPerPixel, 100.0);
    QCOMPARE(item.bytesPerPixel(), 100.0);

    const QVariantMap owned = item.blockAt(25.5, 0.5);
    QCOMPARE(owned.value("valid").toBool(), true);
    QCOMPARE(owned.value("offset").toULongLong(), 3000u);
    QCOMPARE(owned.value("size").toULongLong(), 1000u);
    QCOMPARE(owned.value("free").toBool(), false);
    QCOMPARE(owned.value("ownerSlot").toLongLong(), 2);
    QCOMPARE(owned.value("blocksInPixel").toLongLong(), 1);
    const QVariantMap freeOne = item.blockAt(12, 0);
    QCOMPARE(freeOne.value("free").toBool(), true);
    QCOMPARE(freeOne.value("ownerSlot").toLongLong(), -1);
    // The last pixel holds 90 used bytes and a 10-byte free block.
    const QVariantMap shared = item.blockAt(39, 0);
    QCOMPARE(shared.value("offset").toULongLong(), 4000u);
    QCOMPARE(shared.value("blocksInPixel").toLongLong(), 2);
    QCOMPARE(item.blockAt(-1, 0).value("valid").toBool(), false);
    QCOMPARE(item.blockAt(40, 0).value("valid").toBool(), false);
    QCOMPARE(item.blockAt(5, 3).value("valid").toBool(), false);

    BlockMapItem empty;
    empty.setSize(QSizeF(10, 10));
    QCOMPARE(empty.blockAt(5, 5).value("valid").toBool(), false);
}

void TestBlockMap::itemZoomAndPan()
{
    BlockMap map;
    std::vector<BlockSnapshot> blocks;
    for (quint64 i = 0; i < 1000; ++i)
        blocks.push_back(i % 2 ? freeBlock(i * 100, 100) : used(i * 100, 100));
    map.setBlocks(std::move(blocks)); // 100,000 bytes
    BlockMapItem item;
    item.setSize(QSizeF(100, 10)); // 1000 pixels: 100 bytes each at zoom 1
    item.setBlockMap(&map);
    QSignalSpy viewChanged(&item, &BlockMapItem::viewChanged);

    // Zooming keeps the byte under the cursor in place.
    const double x = 37.5;
    const double y = 4.5;
    const double before = item.layout().byteAt(x, y);
    item.zoomAt(4, x, y);
    QCOMPARE(item.zoom(), 4.0);
    QCOMPARE(item.bytesPerPixel(), 25.0);
    QVERIFY(std::abs(item.layout().byteAt(x, y) - before) < 1e-6);
    QVERIFY(viewChanged.count() >= 1);

    // Panning a row down shows earlier bytes; the view stays inside the region.
    const double offset = item.viewOffset();
    item.panBy(0, 1);
    QCOMPARE(item.viewOffset(), offset - 100 * 25.0);
    item.panBy(0, 10'000);
    QCOMPARE(item.viewOffset(), 0.0);
    item.panBy(0, -10'000);
    QCOMPARE(item.viewOffset(), 100'000.0 - 100'000.0 / 4);

    // Limits: no zooming out past the whole region, nor in past 8 pixels a byte.
    item.setZoom(0.5);
    QCOMPARE(item.zoom(), 1.0);
    QCOMPARE(item.viewOffset(), 0.0);
    QCOMPARE(item.maxZoom(), 800.0);
    item.setZoom(1e9);
    QCOMPARE(item.zoom(), 800.0);
    item.resetView();
    QCOMPARE(item.zoom(), 1.0);
    QCOMPARE(item.viewOffset(), 0.0);
    item.zoomAt(-1, 0, 0);
    QCOMPARE(item.zoom(), 1.0);
}

void TestBlockMap::itemPaintsTheRenderedImage()
{
    BlockMap map;
    map.setBlocks(randomBlocks(10'000, 3));
    BlockMapItem item;
    item.setSize(QSizeF(320, 200));
    item.setBlockMap(&map);
    QSignalSpy rendered(&item, &BlockMapItem::rendered);
    const QImage image = item.render();
    QCOMPARE(rendered.count(), 1);
    QCOMPARE(image.size(), QSize(320, 200));
    QVERIFY(item.renderTimeMs() >= 0);
    item.render();
    QCOMPARE(rendered.count(), 1); // nothing changed: no new render

    QImage painted(320, 200, QImage::Format_RGB32);
    painted.fill(Qt::white);
    QPainter painter(&painted);
    item.paint(&painter);
    painter.end();
    QCOMPARE(painted, image);

    item.setFreeColor(Qt::red);
    QCOMPARE(item.render() == image, false);
    QCOMPARE(rendered.count(), 2);
}

QTEST_MAIN(TestBlockMap)
#include "tst_block_map.moc"
