#pragma once

// A region's blocks (GetBlockMap), sorted by offset, shared by the fragmentation map and the free-block
// histogram. Holds 10^6 blocks in 24 MB.

#include "snapshots.h"

#include <QObject>
#include <QtQml/qqmlregistration.h>

#include <vector>

namespace commy::monitor {

class BlockMap : public QObject {
    Q_OBJECT
    QML_ELEMENT
    Q_PROPERTY(int blockCount READ blockCount NOTIFY changed)
    Q_PROPERTY(quint64 startOffset READ startOffset NOTIFY changed)
    Q_PROPERTY(quint64 endOffset READ endOffset NOTIFY changed)
    Q_PROPERTY(quint64 usedBytes READ usedBytes NOTIFY changed)
    Q_PROPERTY(quint64 freeBytes READ freeBytes NOTIFY changed)

public:
    explicit BlockMap(QObject* parent = nullptr);

    // Blocks in any order (they are sorted by offset); overlapping blocks are kept as given.
    void setBlocks(std::vector<BlockSnapshot> blocks);
    void setBlocks(const QList<BlockSnapshot>& blocks);
    Q_INVOKABLE void clear();

    const std::vector<BlockSnapshot>& blocks() const;
    int blockCount() const;
    quint64 startOffset() const; // of the first block; 0 when empty
    quint64 endOffset() const; // end of the last block; 0 when empty
    quint64 usedBytes() const;
    quint64 freeBytes() const;

    // Index of the block holding byte `offset`; -1 before the first, after the last, or in a gap.
    qsizetype blockAt(quint64 offset) const;
    // Index of the first block that ends after `offset` (blocks().size() when none does).
    qsizetype firstEndingAfter(quint64 offset) const;

signals:
    void changed();

private:
    std::vector<BlockSnapshot> m_blocks;
    quint64 m_usedBytes = 0;
    quint64 m_freeBytes = 0;
};

} // namespace commy::monitor
