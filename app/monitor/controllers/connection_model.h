#pragma once

// The brokers the monitor connects to, one row each, in the order they were added: what the brokers
// dialog and the status bar show. Fed by MonitorController.

#include "connection_status.h"

#include "../models/roles.h"

#include <QAbstractListModel>
#include <QStringList>
#include <QtQml/qqmlregistration.h>

#include <vector>

namespace commy::monitor {

struct ConnectionInfo {
    QString name;
    QString url;
    ConnectionStatus status = ConnectionStatus::Disconnected;
    QString statusText;
    qint64 rttMs = -1; // -1: not measured yet
    bool keySaved = false; // the key is in the keychain
    bool remembered = true; // kept in the settings (false: --connect, the demo)
    QStringList scopes;
    bool operator==(const ConnectionInfo&) const = default;
};

class ConnectionModel : public QAbstractListModel {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("MonitorController.connections")
    Q_PROPERTY(int count READ count NOTIFY countChanged)

public:
    // NameRole and UrlRole as in roles.h; the rest are this model's own.
    enum ConnectionRole : int {
        StatusRole = Qt::UserRole + 0x200, // int (ConnectionStatus)
        StatusTextRole, // QString
        RttRole, // qint64 ms, -1 unknown
        KeySavedRole, // bool
        ScopesRole, // QStringList
        RememberedRole, // bool
    };

    explicit ConnectionModel(QObject* parent = nullptr);

    // Adds the connection after the others, or updates the row with its name.
    void set(const ConnectionInfo& info);
    // Renames a row in place (its other fields from `info`).
    void rename(const QString& oldName, const ConnectionInfo& info);
    bool remove(const QString& name);
    int indexOf(const QString& name) const;
    const ConnectionInfo* find(const QString& name) const;
    const std::vector<ConnectionInfo>& rows() const;
    int count() const;
    Q_INVOKABLE QVariantMap get(int row) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

signals:
    void countChanged();

private:
    std::vector<ConnectionInfo> m_rows;
};

} // namespace commy::monitor
