#pragma once

// The events panel: variable changes, process events, operations, connection changes and errors,
// oldest first, at most maxRows (the oldest go first).

#include "../snapshots.h"

#include <QAbstractTableModel>
#include <QUrl>
#include <QtQml/qqmlregistration.h>

#include <deque>

namespace commy::monitor {

class EventModel : public QAbstractTableModel {
    Q_OBJECT
    QML_ELEMENT
    Q_PROPERTY(int maxRows READ maxRows WRITE setMaxRows NOTIFY maxRowsChanged)
    Q_PROPERTY(int count READ count NOTIFY countChanged)
    Q_PROPERTY(QString errorString READ errorString NOTIFY errorOccurred)

public:
    enum Column { TimeColumn, KindColumn, SourceColumn, TextColumn, ColumnCount };
    Q_ENUM(Column)

    explicit EventModel(QObject* parent = nullptr);

    void append(const EventRecord& event);
    void append(const QList<EventRecord>& events);
    Q_INVOKABLE void clear();

    int maxRows() const;
    void setMaxRows(int rows);
    int count() const;

    // Writes every row as CSV (see writeEventsCsv); false + errorOccurred when the file cannot be written.
    Q_INVOKABLE bool exportCsv(const QUrl& file);
    QString errorString() const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

signals:
    void maxRowsChanged();
    void countChanged();
    void errorOccurred(const QString& message);

private:
    void dropOldest(int rows);

    std::deque<EventRecord> m_rows;
    int m_maxRows = 10'000;
    QString m_errorString;
};

} // namespace commy::monitor
