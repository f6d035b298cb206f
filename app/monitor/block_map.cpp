#include "block_map.h"

#include <algorithm>

namespace commy::monitor {

BlockMap::BlockMap(QObject* parent)
    : QObject(parent)
{
}

void BlockMap::setBlocks(std::vector<BlockSnapshot> blocks)
{
    const auto byOffset = [](const BlockSnapshot& a, const BlockSnapshot& b) { return a.offset < b.offset; };
    if (!std::is_sorted(blocks.begin(), blocks.end(), byOffset))
        std::stable_sort(blocks.begin(), blocks.end(), byOffset);
    m_blocks = std::move(blocks);
    m_usedBytes = 0;
    m_freeBytes = 0;
    for (const BlockSnapshot& block : m_blocks)
        (block.free ? m_freeBytes : m_usedBytes) += block.size;
    emit changed();
}

void BlockMap::setBlocks(const QList<BlockSnapshot>& blocks)
{
    setBlocks(std::vector<BlockSnapshot>(blocks.begin(), blocks.end()));
}

void BlockMap::clear() { setBlocks(std::vector<BlockSnapshot>()); }

const std::vector<BlockSnapshot>& BlockMap::blocks() const { return m_blocks; }

int BlockMap::blockCount() const { return int(m_blocks.size()); }

quint64 BlockMap::startOffset() const { return m_blocks.empty() ? 0 : m_blocks.front().offset; }

quint64 BlockMap::endOffset() const { return m_blocks.empty() ? 0 : m_blocks.back().offset + m_blocks.back().size; }

quint64 BlockMap::usedBytes() const { return m_usedBytes; }

quint64 BlockMap::freeBytes() const { return m_freeBytes; }

qsizetype BlockMap::blockAt(quint64 offset) const
{
    // The last block starting at or before `offset`.
    const auto after = std::upper_bound(m_blocks.begin(), m_blocks.end(), offset,
        [](quint64 value, const BlockSnapshot& block) { return value < block.offset; });
    if (after == m_blocks.begin())
        return -1;
    const auto block = std::prev(after);
    return offset - block->offset < block->size ? block - m_blocks.begin() : -1;
}

qsizetype BlockMap::firstEndingAfter(quint64 offset) const
{
    // Blocks are sorted by offset and normally do not overlap, so their ends are sorted too.
    const auto it = std::partition_point(m_blocks.begin(), m_blocks.end(),
        [offset](const BlockSnapshot& block) { return block.offset + block.size <= offset; });
    return it - m_blocks.begin();
}

} // namespace commy::monitor
