#pragma once

// The connections the monitor remembers across runs, in QSettings: name, URL and whether the user
// asked for the key to be saved. Never the key itself (that goes to the KeyStore).

#include <QList>
#include <QString>

namespace commy::monitor {

struct StoredConnection {
    QString name;
    QString url;
    bool saveKey = false;
    bool operator==(const StoredConnection&) const = default;
};

// In the application's default QSettings (organization and application name as set by main()).
QList<StoredConnection> loadConnections();
void saveConnections(const QList<StoredConnection>& connections);

} // namespace commy::monitor
