#include "block_map_item.h"

#include <QElapsedTimer>
#include <QPainter>
#include <QQuickWindow>

#include <algorithm>
#include <cmath>

namespace commy::monitor {

namespace {

constexpr double kMaxPixelsPerByte = 8;

} // namespace

BlockMapItem::BlockMapItem(QQuickItem* parent)
    : QQuickPaintedItem(parent)
{
    setOpaquePainting(true);
}

BlockMap* BlockMapItem::blockMap() const { return m_blockMap; }

void BlockMapItem::setBlockMap(BlockMap* map)
{
    if (map == m_blockMap)
        return;
    if (m_blockMap)
        disconnect(m_blockMap, nullptr, this, nullptr);
    m_blockMap = map;
    if (m_blockMap) {
        connect(m_blockMap, &BlockMap::changed, this, [this] {
            clampView();
            invalidate();
            emit viewChanged();
        });
    }
    clampView();
    invalidate();
    emit blockMapChanged();
}

double BlockMapItem::zoom() const { return m_zoom; }

void BlockMapItem::setZoom(double zoom)
{
    if (!std::isfinite(zoom))
        return;
    const double clamped = std::clamp(zoom, 1.0, maxZoom());
    if (clamped == m_zoom)
        return;
    m_zoom = clamped;
    clampView();
    invalidate();
    emit viewChanged();
}

double BlockMapItem::maxZoom() const { return std::max(1.0, totalBytes() / layout().pixelCount() * kMaxPixelsPerByte); }

double BlockMapItem::viewOffset() const { return m_viewOffset; }

void BlockMapItem::setViewOffset(double bytes)
{
    if (!std::isfinite(bytes) || bytes == m_viewOffset)
        return;
    m_viewOffset = bytes;
    clampView();
    invalidate();
    emit viewChanged();
}

double BlockMapItem::bytesPerPixel() const { return layout().bytesPerPixel; }

QColor BlockMapItem::backgroundColor() const { return m_background; }

void BlockMapItem::setBackgroundColor(const QColor& color)
{
    if (color == m_background)
        return;
    m_background = color;
    invalidate();
    emit colorsChanged();
}

QColor BlockMapItem::freeColor() const { return m_free; }

void BlockMapItem::setFreeColor(const QColor& color)
{
    if (color == m_free)
        return;
    m_free = color;
    invalidate();
    emit colorsChanged();
}

QColor BlockMapItem::usedColor() const { return m_used; }

void BlockMapItem::setUsedColor(const QColor& color)
{
    if (color == m_used)
        return;
    m_used = color;
    invalidate();
    emit colorsChanged();
}

double BlockMapItem::renderTimeMs() const { return m_renderTimeMs; }

QVariantMap BlockMapItem::blockAt(double x, double y) const
{
    const BlockMapLayout view = layout();
    const double ratio = devicePixelRatio();
    const double px = std::floor(x * ratio);
    const double py = std::floor(y * ratio);
    if (!m_blockMap || px < 0 || py < 0 || px >= view.width || py >= view.height)
        return { { QStringLiteral("valid"), false } };
    const double pixelStart = view.byteAt(px, py);
    const double pixelEnd = pixelStart + view.bytesPerPixel;
    const double centre = view.byteAt(px + 0.5, py);
    if (centre < 0)
        return { { QStringLiteral("valid"), false } };
    const qsizetype index = m_blockMap->blockAt(quint64(centre));
    if (index < 0)
        return { { QStringLiteral("valid"), false } };
    const std::vector<BlockSnapshot>& blocks = m_blockMap->blocks();
    const BlockSnapshot& block = blocks[std::size_t(index)];
    // Blocks sharing the pixel: those that end after its first byte and start before its last.
    const qsizetype first = m_blockMap->firstEndingAfter(quint64(std::max(0.0, pixelStart)));
    qsizetype last = first;
    while (last < qsizetype(blocks.size()) && double(blocks[std::size_t(last)].offset) < pixelEnd)
        ++last;
    return {
        { QStringLiteral("valid"), true },
        { QStringLiteral("index"), qint64(index) },
        { QStringLiteral("offset"), block.offset },
        { QStringLiteral("size"), block.size },
        { QStringLiteral("free"), block.free },
        { QStringLiteral("ownerSlot"), block.ownerSlot == kNoOwner ? qint64(-1) : qint64(block.ownerSlot) },
        { QStringLiteral("blocksInPixel"), qint64(std::max<qsizetype>(last - first, 1)) },
    };
}

void BlockMapItem::zoomAt(double factor, double x, double y)
{
    if (!(factor > 0) || !std::isfinite(factor))
        return;
    const double ratio = devicePixelRatio();
    const BlockMapLayout before = layout();
    const double pinned = before.byteAt(x * ratio, y * ratio);
    const double zoom = std::clamp(m_zoom * factor, 1.0, maxZoom());
    if (zoom == m_zoom)
        return;
    m_zoom = zoom;
    const BlockMapLayout after = layout();
    const double start = m_blockMap ? double(m_blockMap->startOffset()) : 0.0;
    m_viewOffset = pinned - start - (std::floor(y * ratio) * after.width + x * ratio) * after.bytesPerPixel;
    clampView();
    invalidate();
    emit viewChanged();
}

void BlockMapItem::panBy(double dx, double dy)
{
    const double ratio = devicePixelRatio();
    const BlockMapLayout view = layout();
    setViewOffset(m_viewOffset - (std::round(dy * ratio) * view.width + dx * ratio) * view.bytesPerPixel);
}

void BlockMapItem::resetView()
{
    if (m_zoom == 1 && m_viewOffset == 0)
        return;
    m_zoom = 1;
    m_viewOffset = 0;
    invalidate();
    emit viewChanged();
}

BlockMapLayout BlockMapItem::layout() const
{
    const double ratio = devicePixelRatio();
    BlockMapLayout view;
    view.width = std::max(1, int(std::ceil(width() * ratio)));
    view.height = std::max(1, int(std::ceil(height() * ratio)));
    view.bytesPerPixel = totalBytes() / m_zoom / view.pixelCount();
    if (!(view.bytesPerPixel > 0))
        view.bytesPerPixel = 1;
    view.firstByte = (m_blockMap ? double(m_blockMap->startOffset()) : 0.0) + m_viewOffset;
    return view;
}

const QImage& BlockMapItem::render()
{
    if (renderImage())
        emit rendered();
    return m_image;
}

void BlockMapItem::paint(QPainter* painter)
{
    // Normally rendered on the GUI thread in updatePolish(); this catches a size change in between.
    // paint() runs on the render thread: no signals from here.
    renderImage();
    painter->drawImage(QRectF(0, 0, width(), height()), m_image);
}

void BlockMapItem::geometryChange(const QRectF& newGeometry, const QRectF& oldGeometry)
{
    QQuickPaintedItem::geometryChange(newGeometry, oldGeometry);
    if (newGeometry.size() != oldGeometry.size()) {
        clampView();
        invalidate();
        emit viewChanged();
    }
}

void BlockMapItem::updatePolish() { render(); }

double BlockMapItem::devicePixelRatio() const { return window() ? window()->effectiveDevicePixelRatio() : 1.0; }

double BlockMapItem::totalBytes() const
{
    return m_blockMap ? double(m_blockMap->endOffset() - m_blockMap->startOffset()) : 0.0;
}

void BlockMapItem::clampView()
{
    m_zoom = std::clamp(m_zoom, 1.0, maxZoom());
    const double visible = totalBytes() / m_zoom;
    m_viewOffset = std::clamp(m_viewOffset, 0.0, std::max(0.0, totalBytes() - visible));
}

void BlockMapItem::invalidate()
{
    m_dirty = true;
    polish();
    update();
}

bool BlockMapItem::renderImage()
{
    const BlockMapLayout view = layout();
    if (!m_dirty && m_image.width() == view.width && m_image.height() == view.height)
        return false;
    QElapsedTimer timer;
    timer.start();
    static const std::vector<BlockSnapshot> none;
    renderBlockMap(
        m_image, m_blockMap ? m_blockMap->blocks() : none, view, BlockMapPalette(m_background, m_free, m_used));
    m_image.setDevicePixelRatio(devicePixelRatio());
    m_renderTimeMs = double(timer.nsecsElapsed()) / 1e6;
    m_dirty = false;
    return true;
}

} // namespace commy::monitor
