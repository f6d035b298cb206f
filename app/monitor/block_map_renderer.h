#pragma once

// Draws a region's blocks to scale into an image: the bytes of the region run through the pixels row by
// row (left to right, top to bottom), every pixel covering the same number of bytes. A pixel that
// several blocks share gets their colours mixed by how many of its bytes each one covers, so a run of
// tiny blocks reads as the mix it really is; bytes no block covers show the background. Linear in
// blocks plus pixels: no per-block drawing calls.

#include "snapshots.h"

#include <QColor>
#include <QImage>

#include <array>
#include <vector>

namespace commy::monitor {

// Which bytes the pixels show: pixel i (i = y * width + x) covers
// [firstByte + i * bytesPerPixel, firstByte + (i + 1) * bytesPerPixel).
struct BlockMapLayout {
    int width = 0;
    int height = 0;
    double firstByte = 0;
    double bytesPerPixel = 1;

    double pixelCount() const { return double(width) * double(height); }
    double endByte() const { return firstByte + pixelCount() * bytesPerPixel; }
    // The byte at point (x, y) of the image (x may be fractional; y picks a pixel row).
    double byteAt(double x, double y) const;
};

class BlockMapPalette {
public:
    BlockMapPalette(QColor background, QColor free, QColor used);

    QRgb background() const { return m_background; }
    QRgb free() const { return m_free; }
    QRgb used() const { return m_used; } // used and published (no owner)
    // Used and still owned by the process in `slot`: a hue of its own (hues repeat every 256 slots).
    QRgb owner(quint32 slot) const { return m_owners[slot % m_owners.size()]; }
    QRgb colorOf(const BlockSnapshot& block) const
    {
        return block.free ? m_free : block.ownerSlot == kNoOwner ? m_used : owner(block.ownerSlot);
    }

private:
    QRgb m_background;
    QRgb m_free;
    QRgb m_used;
    std::array<QRgb, 256> m_owners {};
};

// Renders into `image`, which is (re)allocated to layout's size if it has another size or format.
void renderBlockMap(QImage& image, const std::vector<BlockSnapshot>& blocks, const BlockMapLayout& layout,
    const BlockMapPalette& palette);

} // namespace commy::monitor
