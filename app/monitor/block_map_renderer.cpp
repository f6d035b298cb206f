#include "block_map_renderer.h"

#include <algorithm>
#include <cmath>

namespace commy::monitor {

namespace {

// Accumulates the colour of the one pixel that blocks share at the moment (blocks arrive in offset
// order, so at most one pixel is open at a time).
class PixelMixer {
public:
    PixelMixer(quint32* pixels, QRgb background)
        : m_pixels(pixels)
        , m_background(background)
    {
    }

    void add(qint64 pixel, QRgb color, double weight)
    {
        if (pixel != m_open) {
            flush();
            m_open = pixel;
        }
        m_red += qRed(color) * weight;
        m_green += qGreen(color) * weight;
        m_blue += qBlue(color) * weight;
        m_weight += weight;
    }

    void flush()
    {
        if (m_open < 0)
            return;
        const double rest = m_weight < 1.0 ? 1.0 - m_weight : 0.0; // bytes of the pixel no block covers
        // Sums of non-negative terms: +0.5 and truncation round them (std::lround was a fifth of the time).
        const auto channel
            = [rest](double sum, int background) { return std::min(int(sum + background * rest + 0.5), 255); };
        m_pixels[m_open] = qRgb(channel(m_red, qRed(m_background)), channel(m_green, qGreen(m_background)),
            channel(m_blue, qBlue(m_background)));
        m_open = -1;
        m_red = m_green = m_blue = m_weight = 0;
    }

private:
    quint32* m_pixels;
    QRgb m_background;
    qint64 m_open = -1;
    double m_red = 0;
    double m_green = 0;
    double m_blue = 0;
    double m_weight = 0;
};

QRgb darker(QRgb color) { return qRgb(qRed(color) * 3 / 4, qGreen(color) * 3 / 4, qBlue(color) * 3 / 4); }

// Blocks at least this many pixels wide get a darker first pixel, so neighbours of one colour stay apart.
constexpr double kEdgeMinPixels = 4;

} // namespace

double BlockMapLayout::byteAt(double x, double y) const
{
    return firstByte + (std::floor(y) * double(width) + x) * bytesPerPixel;
}

BlockMapPalette::BlockMapPalette(QColor background, QColor free, QColor used)
    : m_background(background.rgb())
    , m_free(free.rgb())
    , m_used(used.rgb())
{
    // Golden-ratio steps around the hue circle: consecutive slots get clearly different hues.
    for (std::size_t slot = 0; slot < m_owners.size(); ++slot) {
        const double hue = std::fmod(0.07 + double(slot) * 0.6180339887498949, 1.0);
        m_owners[slot] = QColor::fromHsvF(float(hue), 0.65f, 0.9f).rgb();
    }
}

void renderBlockMap(QImage& image, const std::vector<BlockSnapshot>& blocks, const BlockMapLayout& layout,
    const BlockMapPalette& palette)
{
    const int width = std::max(layout.width, 0);
    const int height = std::max(layout.height, 0);
    if (image.width() != width || image.height() != height || image.format() != QImage::Format_RGB32)
        image = QImage(width, height, QImage::Format_RGB32);
    if (image.isNull())
        return;
    image.fill(palette.background());
    if (blocks.empty() || !(layout.bytesPerPixel > 0))
        return;

    // RGB32 rows are 4-byte aligned, so the image is one run of width * height pixels.
    auto* pixels = reinterpret_cast<quint32*>(image.bits());
    const qint64 pixelCount = qint64(width) * qint64(height);
    const double pixelEnd = double(pixelCount);
    const double firstByte = layout.firstByte;
    const double endByte = layout.endByte();
    const double pixelsPerByte = 1.0 / layout.bytesPerPixel;
    PixelMixer mixer(pixels, palette.background());

    auto it = std::partition_point(blocks.begin(), blocks.end(),
        [firstByte](const BlockSnapshot& block) { return double(block.offset + block.size) <= firstByte; });
    for (; it != blocks.end(); ++it) {
        const BlockSnapshot& block = *it;
        if (double(block.offset) >= endByte)
            break;
        const double p0 = std::max((double(block.offset) - firstByte) * pixelsPerByte, 0.0);
        const double p1 = std::min((double(block.offset + block.size) - firstByte) * pixelsPerByte, pixelEnd);
        if (!(p1 > p0))
            continue;
        const QRgb color = palette.colorOf(block);
        const auto first = qint64(p0);
        const auto last = std::min(qint64(p1), pixelCount); // the pixel where the block ends (may be past the end)
        if (first == last) {
            mixer.add(first, color, p1 - p0);
            continue;
        }
        mixer.add(first, p1 - p0 >= kEdgeMinPixels ? darker(color) : color, double(first + 1) - p0);
        mixer.flush();
        if (last > first + 1)
            std::fill(pixels + first + 1, pixels + last, color);
        if (last < pixelCount && p1 > double(last))
            mixer.add(last, color, p1 - double(last));
    }
    mixer.flush();
}

} // namespace commy::monitor
