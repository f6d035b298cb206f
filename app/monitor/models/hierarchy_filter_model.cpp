#include "hierarchy_filter_model.h"

#include "roles.h"

namespace commy::monitor {

HierarchyFilterModel::HierarchyFilterModel(QObject* parent)
    : QSortFilterProxyModel(parent)
{
    setFilterRole(NameRole);
    m_refilter.setSingleShot(true);
    m_refilter.setInterval(0);
    connect(&m_refilter, &QTimer::timeout, this, [this] {
        if (!m_filterText.isEmpty())
            invalidateRowsFilter();
    });
}

QString HierarchyFilterModel::filterText() const { return m_filterText; }

void HierarchyFilterModel::setFilterText(const QString& text)
{
    if (text == m_filterText)
        return;
    m_filterText = text;
    m_stale = true;
    m_refilter.stop();
    invalidateRowsFilter();
    emit filterTextChanged();
}

void HierarchyFilterModel::setSourceModel(QAbstractItemModel* model)
{
    if (QAbstractItemModel* old = sourceModel())
        disconnect(old, nullptr, this, nullptr);
    m_stale = true;
    // Connected after the base class's own handlers, so they run after the proxy has taken the change in.
    QSortFilterProxyModel::setSourceModel(model);
    if (!model)
        return;
    for (const auto signal : { &QAbstractItemModel::rowsAboutToBeInserted, &QAbstractItemModel::rowsAboutToBeRemoved })
        connect(model, signal, this, &HierarchyFilterModel::shapeChanging);
    connect(model, &QAbstractItemModel::rowsAboutToBeMoved, this, &HierarchyFilterModel::shapeChanging);
    connect(model, &QAbstractItemModel::modelAboutToBeReset, this, &HierarchyFilterModel::shapeChanging);
    connect(model, &QAbstractItemModel::layoutAboutToBeChanged, this, &HierarchyFilterModel::shapeChanging);
    for (const auto signal : { &QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved })
        connect(model, signal, this, &HierarchyFilterModel::shapeChanged);
}

void HierarchyFilterModel::shapeChanging() { m_stale = true; }

void HierarchyFilterModel::shapeChanged()
{
    // Rows that came or went may change whether their ancestors pass; several changes in a row (one
    // snapshot's diff) are taken in together.
    if (!m_filterText.isEmpty())
        m_refilter.start();
}

bool HierarchyFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const
{
    if (m_filterText.isEmpty())
        return true;
    if (m_stale) {
        m_accepted.clear();
        bool anyMatch = false;
        collect({}, false, anyMatch);
        m_stale = false;
    }
    const QModelIndex index = sourceModel()->index(sourceRow, 0, sourceParent);
    return m_accepted.contains({ index.internalId(), sourceRow });
}

// Records the rows under `parent` that pass; sets anyMatch when one of them, or a descendant, matches.
void HierarchyFilterModel::collect(const QModelIndex& parent, bool ancestorMatches, bool& anyMatch) const
{
    const QAbstractItemModel* model = sourceModel();
    const int rows = model->rowCount(parent);
    for (int row = 0; row < rows; ++row) {
        const QModelIndex index = model->index(row, 0, parent);
        const bool matches = index.data(NameRole).toString().contains(m_filterText, Qt::CaseInsensitive);
        bool descendantMatches = false;
        collect(index, ancestorMatches || matches, descendantMatches);
        if (ancestorMatches || matches || descendantMatches)
            m_accepted.insert({ index.internalId(), row });
        anyMatch = anyMatch || matches || descendantMatches;
    }
}

} // namespace commy::monitor
