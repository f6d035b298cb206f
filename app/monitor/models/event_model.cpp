#include "event_model.h"

#include "event_csv.h"
#include "roles.h"

namespace commy::monitor {

EventModel::EventModel(QObject* parent)
    : QAbstractTableModel(parent)
{
}

void EventModel::append(const EventRecord& event) { append(QList<EventRecord> { event }); }

void EventModel::append(const QList<EventRecord>& events)
{
    if (events.isEmpty())
        return;
    // Of a batch larger than the cap only its newest rows would survive: insert just those.
    const qsizetype skip = std::max<qsizetype>(0, events.size() - m_maxRows);
    const int adding = int(events.size() - skip);
    dropOldest(count() + adding - m_maxRows);
    const int first = count();
    beginInsertRows({}, first, first + adding - 1);
    m_rows.insert(m_rows.end(), events.begin() + skip, events.end());
    endInsertRows();
    emit countChanged();
}

void EventModel::clear()
{
    if (m_rows.empty())
        return;
    beginResetModel();
    m_rows.clear();
    endResetModel();
    emit countChanged();
}

int EventModel::maxRows() const { return m_maxRows; }

void EventModel::setMaxRows(int rows)
{
    rows = std::max(rows, 1);
    if (rows == m_maxRows)
        return;
    m_maxRows = rows;
    if (count() > rows) {
        dropOldest(count() - rows);
        emit countChanged();
    }
    emit maxRowsChanged();
}

int EventModel::count() const { return int(m_rows.size()); }

bool EventModel::exportCsv(const QUrl& file)
{
    if (writeEventsCsv(*this, file, &m_errorString))
        return true;
    emit errorOccurred(m_errorString);
    return false;
}

QString EventModel::errorString() const { return m_errorString; }

int EventModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : count(); }

int EventModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant EventModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const EventRecord& event = m_rows[std::size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case TimeColumn:
            return event.time.toLocalTime().toString(QStringLiteral("HH:mm:ss.zzz"));
        case KindColumn:
            switch (event.kind) {
            case EventKind::Variable:
                return tr("Variable");
            case EventKind::Process:
                return tr("Process");
            case EventKind::Operation:
                return tr("Operation");
            case EventKind::Connection:
                return tr("Connection");
            case EventKind::Error:
                return tr("Error");
            }
            return {};
        case SourceColumn:
            return event.source;
        case TextColumn:
            return event.text;
        }
        return {};
    case Qt::ToolTipRole:
        return index.column() == TimeColumn ? QVariant(event.time.toLocalTime().toString(Qt::ISODateWithMs))
                                            : QVariant();
    case TimeRole:
        return event.time;
    case EventKindRole:
        return int(event.kind);
    case SourceRole:
        return event.source;
    case TextRole:
        return event.text;
    }
    return {};
}

QVariant EventModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case TimeColumn:
        return tr("Time");
    case KindColumn:
        return tr("Kind");
    case SourceColumn:
        return tr("Source");
    case TextColumn:
        return tr("Event");
    }
    return {};
}

QHash<int, QByteArray> EventModel::roleNames() const
{
    return commy::monitor::roleNames({ TimeRole, EventKindRole, SourceRole, TextRole });
}

void EventModel::dropOldest(int rows)
{
    rows = std::min(rows, count());
    if (rows <= 0)
        return;
    beginRemoveRows({}, 0, rows - 1);
    m_rows.erase(m_rows.begin(), m_rows.begin() + rows);
    endRemoveRows();
}

} // namespace commy::monitor
