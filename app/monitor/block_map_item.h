#pragma once

// The free-list fragmentation map: every block of a region to scale (see block_map_renderer.h), free vs
// used, used blocks coloured by the process that still owns them. Zoom 1 shows the whole region; a zoom
// of z shows 1/z of it starting viewOffset bytes after the first block. blockAt() is the hover hit test.

#include "block_map.h"
#include "block_map_renderer.h"

#include <QColor>
#include <QImage>
#include <QPointer>
#include <QQuickPaintedItem>
#include <QVariantMap>
#include <QtQml/qqmlregistration.h>

namespace commy::monitor {

class BlockMapItem : public QQuickPaintedItem {
    Q_OBJECT
    QML_NAMED_ELEMENT(BlockMapView)
    Q_PROPERTY(commy::monitor::BlockMap* blockMap READ blockMap WRITE setBlockMap NOTIFY blockMapChanged)
    Q_PROPERTY(double zoom READ zoom WRITE setZoom NOTIFY viewChanged)
    Q_PROPERTY(double maxZoom READ maxZoom NOTIFY viewChanged)
    Q_PROPERTY(double viewOffset READ viewOffset WRITE setViewOffset NOTIFY viewChanged)
    Q_PROPERTY(double bytesPerPixel READ bytesPerPixel NOTIFY viewChanged)
    Q_PROPERTY(QColor backgroundColor READ backgroundColor WRITE setBackgroundColor NOTIFY colorsChanged)
    Q_PROPERTY(QColor freeColor READ freeColor WRITE setFreeColor NOTIFY colorsChanged)
    Q_PROPERTY(QColor usedColor READ usedColor WRITE setUsedColor NOTIFY colorsChanged)
    Q_PROPERTY(double renderTimeMs READ renderTimeMs NOTIFY rendered)

public:
    explicit BlockMapItem(QQuickItem* parent = nullptr);

    BlockMap* blockMap() const;
    void setBlockMap(BlockMap* map);
    double zoom() const;
    void setZoom(double zoom);
    // Zoom at which one byte takes 8 pixels: no point going further.
    double maxZoom() const;
    double viewOffset() const;
    void setViewOffset(double bytes);
    double bytesPerPixel() const;
    QColor backgroundColor() const;
    void setBackgroundColor(const QColor& color);
    QColor freeColor() const;
    void setFreeColor(const QColor& color);
    QColor usedColor() const;
    void setUsedColor(const QColor& color);
    double renderTimeMs() const;

    // The block under item point (x, y): {valid, index, offset, size, free, ownerSlot (-1 = none),
    // blocksInPixel (how many blocks share that pixel)}; {valid: false} over no block.
    Q_INVOKABLE QVariantMap blockAt(double x, double y) const;
    // Multiplies the zoom by `factor`, keeping the byte under (x, y) where it is.
    Q_INVOKABLE void zoomAt(double factor, double x, double y);
    // Moves the view as a drag by (dx, dy) item pixels would.
    Q_INVOKABLE void panBy(double dx, double dy);
    Q_INVOKABLE void resetView();

    // Which bytes each pixel of the image shows, for the item's current size, zoom and offset.
    BlockMapLayout layout() const;
    // Renders now (the GUI thread does this before each frame that needs it) and returns the image.
    const QImage& render();
    void paint(QPainter* painter) override;

signals:
    void blockMapChanged();
    void viewChanged();
    void colorsChanged();
    void rendered();

protected:
    void geometryChange(const QRectF& newGeometry, const QRectF& oldGeometry) override;
    void updatePolish() override;

private:
    double devicePixelRatio() const;
    double totalBytes() const;
    void clampView();
    void invalidate();
    bool renderImage();

    QPointer<BlockMap> m_blockMap;
    double m_zoom = 1;
    double m_viewOffset = 0;
    QColor m_background { 0x20, 0x22, 0x26 };
    QColor m_free { 0x3a, 0x3f, 0x47 };
    QColor m_used { 0x5b, 0x8d, 0xd9 };
    QImage m_image;
    bool m_dirty = true;
    double m_renderTimeMs = 0;
};

} // namespace commy::monitor
