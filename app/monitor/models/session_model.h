#pragma once

// A broker's WebSocket sessions (GetSessions), fed by snapshots; a row is a peer.

#include "../snapshots.h"

#include <QAbstractTableModel>
#include <QtQml/qqmlregistration.h>

#include <vector>

namespace commy::monitor {

template <typename Model> struct TableSignals;

class SessionModel : public QAbstractTableModel {
    Q_OBJECT
    QML_ELEMENT
    Q_PROPERTY(int count READ count NOTIFY countChanged)

public:
    enum Column { PeerColumn, TenantsColumn, SubscriptionsColumn, QueueColumn, ColumnCount };
    Q_ENUM(Column)

    explicit SessionModel(QObject* parent = nullptr);

    // Rows follow the snapshot and its order.
    void setSessions(const QList<SessionSnapshot>& sessions);
    void clear();
    int count() const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

signals:
    void countChanged();

private:
    friend struct TableSignals<SessionModel>;
    struct Sync;

    std::vector<SessionSnapshot> m_rows;
};

} // namespace commy::monitor
