#include "connection_model.h"

namespace commy::monitor {

ConnectionModel::ConnectionModel(QObject* parent)
    : QAbstractListModel(parent)
{
}

void ConnectionModel::set(const ConnectionInfo& info)
{
    const int row = indexOf(info.name);
    if (row < 0) {
        const int first = count();
        beginInsertRows({}, first, first);
        m_rows.push_back(info);
        endInsertRows();
        emit countChanged();
        return;
    }
    ConnectionInfo& current = m_rows[std::size_t(row)];
    if (current == info)
        return;
    QList<int> roles;
    if (current.url != info.url)
        roles << UrlRole << Qt::ToolTipRole;
    if (current.status != info.status)
        roles << StatusRole;
    if (current.statusText != info.statusText)
        roles << StatusTextRole << Qt::ToolTipRole;
    if (current.rttMs != info.rttMs)
        roles << RttRole;
    if (current.keySaved != info.keySaved)
        roles << KeySavedRole;
    if (current.scopes != info.scopes)
        roles << ScopesRole;
    if (current.remembered != info.remembered)
        roles << RememberedRole;
    current = info;
    emit dataChanged(index(row), index(row), roles);
}

void ConnectionModel::rename(const QString& oldName, const ConnectionInfo& info)
{
    const int row = indexOf(oldName);
    if (row < 0) {
        set(info);
        return;
    }
    m_rows[std::size_t(row)] = info;
    emit dataChanged(index(row), index(row));
}

bool ConnectionModel::remove(const QString& name)
{
    const int row = indexOf(name);
    if (row < 0)
        return false;
    beginRemoveRows({}, row, row);
    m_rows.erase(m_rows.begin() + row);
    endRemoveRows();
    emit countChanged();
    return true;
}

int ConnectionModel::indexOf(const QString& name) const
{
    for (std::size_t i = 0; i < m_rows.size(); ++i)
        if (m_rows[i].name == name)
            return int(i);
    return -1;
}

const ConnectionInfo* ConnectionModel::find(const QString& name) const
{
    const int row = indexOf(name);
    return row < 0 ? nullptr : &m_rows[std::size_t(row)];
}

const std::vector<ConnectionInfo>& ConnectionModel::rows() const { return m_rows; }

int ConnectionModel::count() const { return int(m_rows.size()); }

QVariantMap ConnectionModel::get(int row) const
{
    QVariantMap map;
    if (row < 0 || row >= count())
        return map;
    const QHash<int, QByteArray> names = roleNames();
    for (auto it = names.begin(); it != names.end(); ++it)
        map.insert(QString::fromLatin1(it.value()), data(index(row), it.key()));
    return map;
}

int ConnectionModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : count(); }

QVariant ConnectionModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const ConnectionInfo& info = m_rows[std::size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
    case NameRole:
        return info.name;
    case Qt::ToolTipRole:
        return info.statusText.isEmpty() ? info.url : info.url + QLatin1Char('\n') + info.statusText;
    case UrlRole:
        return info.url;
    case StatusRole:
        return int(info.status);
    case StatusTextRole:
        return info.statusText;
    case RttRole:
        return info.rttMs;
    case KeySavedRole:
        return info.keySaved;
    case ScopesRole:
        return info.scopes;
    case RememberedRole:
        return info.remembered;
    }
    return {};
}

QHash<int, QByteArray> ConnectionModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractListModel::roleNames();
    names.insert(NameRole, "name");
    names.insert(UrlRole, "url");
    names.insert(StatusRole, "status");
    names.insert(StatusTextRole, "statusText");
    names.insert(RttRole, "rttMs");
    names.insert(KeySavedRole, "keySaved");
    names.insert(ScopesRole, "scopes");
    names.insert(RememberedRole, "remembered");
    return names;
}

} // namespace commy::monitor
