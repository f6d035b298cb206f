#include "free_block_histogram_model.h"

#include "../block_map.h"
#include "../format.h"
#include "roles.h"
#include "row_sync.h"

#include <array>
#include <bit>

namespace commy::monitor {

struct FreeBlockHistogramModel::Sync : TableSignals<FreeBlockHistogramModel> {
    static int key(const Bucket& bucket) { return bucket.exponent; }
    static Bucket make(const Bucket& bucket) { return bucket; }
    static bool update(Bucket& row, const Bucket& bucket)
    {
        if (row == bucket)
            return false;
        row = bucket;
        return true;
    }
};

FreeBlockHistogramModel::FreeBlockHistogramModel(QObject* parent)
    : QAbstractTableModel(parent)
{
}

BlockMap* FreeBlockHistogramModel::blockMap() const { return m_blockMap; }

void FreeBlockHistogramModel::setBlockMap(BlockMap* map)
{
    if (map == m_blockMap)
        return;
    if (m_blockMap)
        disconnect(m_blockMap, nullptr, this, nullptr);
    m_blockMap = map;
    if (m_blockMap)
        connect(m_blockMap, &BlockMap::changed, this, [this] { setBlocks(m_blockMap->blocks()); });
    setBlocks(m_blockMap ? m_blockMap->blocks() : std::vector<BlockSnapshot>());
    emit blockMapChanged();
}

void FreeBlockHistogramModel::setBlocks(const std::vector<BlockSnapshot>& blocks)
{
    std::array<quint64, 64> counts {};
    std::array<quint64, 64> bytes {};
    quint64 freeBlocks = 0;
    quint64 freeBytes = 0;
    for (const BlockSnapshot& block : blocks) {
        if (!block.free || block.size == 0)
            continue;
        const int exponent = int(std::bit_width(block.size)) - 1;
        ++counts[std::size_t(exponent)];
        bytes[std::size_t(exponent)] += block.size;
        ++freeBlocks;
        freeBytes += block.size;
    }
    QList<Bucket> buckets;
    quint64 maxCount = 0;
    if (freeBlocks > 0) {
        int low = 0;
        while (counts[std::size_t(low)] == 0)
            ++low;
        int high = 63;
        while (counts[std::size_t(high)] == 0)
            --high;
        for (int exponent = low; exponent <= high; ++exponent) {
            const auto e = std::size_t(exponent);
            buckets.append(Bucket { exponent, counts[e], bytes[e], double(bytes[e]) / double(freeBytes) });
            maxCount = std::max(maxCount, counts[e]);
        }
    }
    Sync sync { { this } };
    syncRows(m_rows, buckets, sync);
    if (maxCount != m_maxCount || freeBlocks != m_freeBlocks || freeBytes != m_freeBytes) {
        m_maxCount = maxCount;
        m_freeBlocks = freeBlocks;
        m_freeBytes = freeBytes;
        emit totalsChanged();
    }
}

quint64 FreeBlockHistogramModel::maxCount() const { return m_maxCount; }

quint64 FreeBlockHistogramModel::freeBlocks() const { return m_freeBlocks; }

quint64 FreeBlockHistogramModel::freeBytes() const { return m_freeBytes; }

int FreeBlockHistogramModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int FreeBlockHistogramModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant FreeBlockHistogramModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Bucket& bucket = m_rows[std::size_t(index.row())];
    const quint64 low = quint64(1) << bucket.exponent;
    // The top bucket's end, 2^64, does not fit: it is reported as the largest value.
    const quint64 high = bucket.exponent >= 63 ? ~quint64(0) : low << 1;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case RangeColumn:
            return tr("%1 – %2").arg(formatBytes(low), formatBytes(high));
        case CountColumn:
            return QString::number(bucket.count);
        case BytesColumn:
            return formatBytes(bucket.bytes);
        }
        return {};
    case Qt::TextAlignmentRole:
        return index.column() == RangeColumn ? QVariant() : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    case BucketLowRole:
        return low;
    case BucketHighRole:
        return high;
    case CountRole:
        return bucket.count;
    case BytesRole:
        return bucket.bytes;
    case FractionRole:
        return bucket.fraction;
    }
    return {};
}

QVariant FreeBlockHistogramModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case RangeColumn:
        return tr("Free block size");
    case CountColumn:
        return tr("Blocks");
    case BytesColumn:
        return tr("Bytes");
    }
    return {};
}

QHash<int, QByteArray> FreeBlockHistogramModel::roleNames() const
{
    return commy::monitor::roleNames({ BucketLowRole, BucketHighRole, CountRole, BytesRole, FractionRole });
}

} // namespace commy::monitor
