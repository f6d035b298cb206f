#pragma once

// The process table of one region (GetProcesses), fed by snapshots. A row is a process: its slot and
// pid (a slot reused by a new process is a new row). Each snapshot is also a sample of every process's
// heartbeat age, kept for a sparkline.

#include "../snapshots.h"

#include <QAbstractTableModel>
#include <QtQml/qqmlregistration.h>

#include <vector>

namespace commy::monitor {

template <typename Model> struct TableSignals;

class ProcessModel : public QAbstractTableModel {
    Q_OBJECT
    QML_ELEMENT
    Q_PROPERTY(int historyLength READ historyLength WRITE setHistoryLength NOTIFY historyLengthChanged)
    Q_PROPERTY(int count READ count NOTIFY countChanged)

public:
    enum Column { SlotColumn, PidColumn, NameColumn, HeartbeatColumn, LivenessColumn, HistoryColumn, ColumnCount };
    Q_ENUM(Column)

    explicit ProcessModel(QObject* parent = nullptr);

    // Rows follow the snapshot, ordered by slot.
    void setProcesses(const QList<ProcessSnapshot>& processes);
    void clear();

    int historyLength() const;
    void setHistoryLength(int samples);
    int count() const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

signals:
    // A process already in the table changed its liveness (not emitted for new rows).
    void livenessChanged(const commy::monitor::ProcessSnapshot& process, commy::monitor::Liveness previous);
    void historyLengthChanged();
    void countChanged();

private:
    friend struct TableSignals<ProcessModel>;
    struct Row {
        ProcessSnapshot process;
        QList<qreal> history; // heartbeat ages in ms, oldest first
    };
    struct Sync;

    std::vector<Row> m_rows;
    int m_historyLength = 60;
};

} // namespace commy::monitor
