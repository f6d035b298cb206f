#include "process_model.h"

#include "../format.h"
#include "roles.h"
#include "row_sync.h"

#include <QPair>

namespace commy::monitor {

struct ProcessModel::Sync : TableSignals<ProcessModel> {
    using Key = QPair<quint32, qint64>;
    std::vector<std::pair<ProcessSnapshot, Liveness>> transitions;

    static Key key(const Row& row) { return { row.process.slot, row.process.pid }; }
    static Key key(const ProcessSnapshot& process) { return { process.slot, process.pid }; }

    Row make(const ProcessSnapshot& process) const { return Row { process, { qreal(process.heartbeatAgeMs) } }; }

    bool update(Row& row, const ProcessSnapshot& process)
    {
        if (row.process.liveness != process.liveness)
            transitions.emplace_back(process, row.process.liveness);
        row.process = process;
        row.history.append(qreal(process.heartbeatAgeMs));
        if (row.history.size() > model->m_historyLength)
            row.history.remove(0, row.history.size() - model->m_historyLength);
        return true; // a new sample, even when the values are the same
    }
};

ProcessModel::ProcessModel(QObject* parent)
    : QAbstractTableModel(parent)
{
}

void ProcessModel::setProcesses(const QList<ProcessSnapshot>& processes)
{
    QList<ProcessSnapshot> sorted = processes;
    std::stable_sort(sorted.begin(), sorted.end(),
        [](const ProcessSnapshot& a, const ProcessSnapshot& b) { return a.slot < b.slot; });
    const int before = count();
    Sync sync { { this }, {} };
    syncRows(m_rows, sorted, sync);
    if (count() != before)
        emit countChanged();
    for (const auto& [process, previous] : sync.transitions)
        emit livenessChanged(process, previous);
}

void ProcessModel::clear()
{
    if (m_rows.empty())
        return;
    beginResetModel();
    m_rows.clear();
    endResetModel();
    emit countChanged();
}

int ProcessModel::historyLength() const { return m_historyLength; }

void ProcessModel::setHistoryLength(int samples)
{
    samples = std::max(samples, 1);
    if (samples == m_historyLength)
        return;
    m_historyLength = samples;
    bool trimmed = false;
    for (Row& row : m_rows) {
        if (row.history.size() > samples) {
            row.history.remove(0, row.history.size() - samples);
            trimmed = true;
        }
    }
    if (trimmed)
        emit dataChanged(index(0, 0), index(count() - 1, ColumnCount - 1), { HeartbeatHistoryRole });
    emit historyLengthChanged();
}

int ProcessModel::count() const { return int(m_rows.size()); }

int ProcessModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : count(); }

int ProcessModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant ProcessModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row& row = m_rows[std::size_t(index.row())];
    const ProcessSnapshot& process = row.process;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case SlotColumn:
            return QString::number(process.slot);
        case PidColumn:
            return QString::number(process.pid);
        case NameColumn:
            return process.name;
        case HeartbeatColumn:
            return formatDuration(process.heartbeatAgeMs);
        case LivenessColumn:
            switch (process.liveness) {
            case Liveness::Alive:
                return tr("Alive");
            case Liveness::Stale:
                return tr("Stale");
            case Liveness::Dead:
                return tr("Dead");
            }
            return {};
        }
        return {};
    case Qt::TextAlignmentRole:
        return index.column() == NameColumn || index.column() == LivenessColumn
            ? QVariant()
            : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    case SlotRole:
        return process.slot;
    case PidRole:
        return process.pid;
    case NameRole:
        return process.name;
    case HeartbeatAgeRole:
        return process.heartbeatAgeMs;
    case LivenessRole:
        return int(process.liveness);
    case HeartbeatHistoryRole:
        return QVariant::fromValue(row.history);
    }
    return {};
}

QVariant ProcessModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case SlotColumn:
        return tr("Slot");
    case PidColumn:
        return tr("PID");
    case NameColumn:
        return tr("Name");
    case HeartbeatColumn:
        return tr("Heartbeat age");
    case LivenessColumn:
        return tr("Liveness");
    case HistoryColumn:
        return tr("Recent ages");
    }
    return {};
}

QHash<int, QByteArray> ProcessModel::roleNames() const
{
    return commy::monitor::roleNames(
        { SlotRole, PidRole, NameRole, HeartbeatAgeRole, LivenessRole, HeartbeatHistoryRole });
}

} // namespace commy::monitor
