#include "event_filter_model.h"

#include "event_csv.h"
#include "roles.h"

namespace commy::monitor {

EventFilterModel::EventFilterModel(QObject* parent)
    : QSortFilterProxyModel(parent)
{
}

int EventFilterModel::kinds() const { return m_kinds; }

void EventFilterModel::setKinds(int kinds)
{
    kinds &= kAllKinds;
    if (kinds == m_kinds)
        return;
    m_kinds = kinds;
    invalidateRowsFilter();
    emit kindsChanged();
}

bool EventFilterModel::isKindShown(EventKind kind) const { return (m_kinds & (1 << int(kind))) != 0; }

void EventFilterModel::setKindShown(EventKind kind, bool shown)
{
    setKinds(shown ? m_kinds | (1 << int(kind)) : m_kinds & ~(1 << int(kind)));
}

QString EventFilterModel::text() const { return m_text; }

void EventFilterModel::setText(const QString& text)
{
    if (text == m_text)
        return;
    m_text = text;
    invalidateRowsFilter();
    emit textChanged();
}

bool EventFilterModel::exportCsv(const QUrl& file)
{
    if (writeEventsCsv(*this, file, &m_errorString))
        return true;
    emit errorOccurred(m_errorString);
    return false;
}

QString EventFilterModel::errorString() const { return m_errorString; }

bool EventFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const
{
    const QModelIndex index = sourceModel()->index(sourceRow, 0, sourceParent);
    const int kind = index.data(EventKindRole).toInt();
    if (kind < 0 || kind > int(EventKind::Error) || (m_kinds & (1 << kind)) == 0)
        return false;
    if (m_text.isEmpty())
        return true;
    return index.data(TextRole).toString().contains(m_text, Qt::CaseInsensitive)
        || index.data(SourceRole).toString().contains(m_text, Qt::CaseInsensitive);
}

} // namespace commy::monitor
