#include "hierarchy_filter_model.h"

#include "roles.h"

namespace commy::monitor {

HierarchyFilterModel::HierarchyFilterModel(QObject* parent)
    : QSortFilterProxyModel(parent)
{
    setRecursiveFilteringEnabled(true);
    setAutoAcceptChildRows(true);
    setFilterRole(NameRole);
}

QString HierarchyFilterModel::filterText() const { return m_filterText; }

void HierarchyFilterModel::setFilterText(const QString& text)
{
    if (text == m_filterText)
        return;
    m_filterText = text;
    invalidateRowsFilter();
    emit filterTextChanged();
}

bool HierarchyFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const
{
    if (m_filterText.isEmpty())
        return true;
    const QModelIndex index = sourceModel()->index(sourceRow, 0, sourceParent);
    return index.data(NameRole).toString().contains(m_filterText, Qt::CaseInsensitive);
}

} // namespace commy::monitor
