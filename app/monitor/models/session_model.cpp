#include "session_model.h"

#include "../format.h"
#include "roles.h"
#include "row_sync.h"

namespace commy::monitor {

struct SessionModel::Sync : TableSignals<SessionModel> {
    static const QString& key(const SessionSnapshot& session) { return session.peer; }
    static SessionSnapshot make(const SessionSnapshot& session) { return session; }
    static bool update(SessionSnapshot& row, const SessionSnapshot& session)
    {
        if (row == session)
            return false;
        row = session;
        return true;
    }
};

SessionModel::SessionModel(QObject* parent)
    : QAbstractTableModel(parent)
{
}

void SessionModel::setSessions(const QList<SessionSnapshot>& sessions)
{
    const int before = count();
    Sync sync { { this } };
    syncRows(m_rows, sessions, sync);
    if (count() != before)
        emit countChanged();
}

void SessionModel::clear()
{
    if (m_rows.empty())
        return;
    beginResetModel();
    m_rows.clear();
    endResetModel();
    emit countChanged();
}

int SessionModel::count() const { return int(m_rows.size()); }

int SessionModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : count(); }

int SessionModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant SessionModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const SessionSnapshot& session = m_rows[std::size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case PeerColumn:
            return session.peer;
        case TenantsColumn:
            return session.tenants.join(QLatin1String(", "));
        case SubscriptionsColumn:
            return QString::number(session.subscriptions);
        case QueueColumn:
            return formatBytes(quint64(std::max<qint64>(session.queueBytes, 0)));
        }
        return {};
    case Qt::TextAlignmentRole:
        return index.column() >= SubscriptionsColumn ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
    case PeerRole:
        return session.peer;
    case TenantsRole:
        return session.tenants;
    case SubscriptionsRole:
        return session.subscriptions;
    case QueueBytesRole:
        return session.queueBytes;
    }
    return {};
}

QVariant SessionModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case PeerColumn:
        return tr("Peer");
    case TenantsColumn:
        return tr("Tenants");
    case SubscriptionsColumn:
        return tr("Subscriptions");
    case QueueColumn:
        return tr("Queued");
    }
    return {};
}

QHash<int, QByteArray> SessionModel::roleNames() const
{
    return commy::monitor::roleNames({ PeerRole, TenantsRole, SubscriptionsRole, QueueBytesRole });
}

} // namespace commy::monitor
