#pragma once

// Free blocks by size: one row per power-of-two bucket [2^k, 2^(k+1)) from the smallest free block's
// bucket to the largest's (empty buckets included, so a chart's axis has no holes).

#include "../snapshots.h"

#include <QAbstractTableModel>
#include <QPointer>
#include <QtQml/qqmlregistration.h>

#include <vector>

namespace commy::monitor {

class BlockMap;
template <typename Model> struct TableSignals;

class FreeBlockHistogramModel : public QAbstractTableModel {
    Q_OBJECT
    QML_ELEMENT
    Q_PROPERTY(commy::monitor::BlockMap* blockMap READ blockMap WRITE setBlockMap NOTIFY blockMapChanged)
    Q_PROPERTY(quint64 maxCount READ maxCount NOTIFY totalsChanged)
    Q_PROPERTY(quint64 freeBlocks READ freeBlocks NOTIFY totalsChanged)
    Q_PROPERTY(quint64 freeBytes READ freeBytes NOTIFY totalsChanged)

public:
    enum Column { RangeColumn, CountColumn, BytesColumn, ColumnCount };
    Q_ENUM(Column)

    explicit FreeBlockHistogramModel(QObject* parent = nullptr);

    // Follows a block map (recomputed whenever it changes).
    BlockMap* blockMap() const;
    void setBlockMap(BlockMap* map);
    void setBlocks(const std::vector<BlockSnapshot>& blocks);

    quint64 maxCount() const;
    quint64 freeBlocks() const;
    quint64 freeBytes() const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

signals:
    void blockMapChanged();
    void totalsChanged();

private:
    friend struct TableSignals<FreeBlockHistogramModel>;
    struct Bucket {
        int exponent = 0; // sizes [2^exponent, 2^(exponent + 1))
        quint64 count = 0;
        quint64 bytes = 0;
        double fraction = 0; // of all free bytes
        bool operator==(const Bucket&) const = default;
    };
    struct Sync;

    QPointer<BlockMap> m_blockMap;
    std::vector<Bucket> m_rows;
    quint64 m_maxCount = 0;
    quint64 m_freeBlocks = 0;
    quint64 m_freeBytes = 0;
};

} // namespace commy::monitor
