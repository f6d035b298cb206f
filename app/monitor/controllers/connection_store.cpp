#include "connection_store.h"

#include <QSettings>

namespace commy::monitor {

namespace {
const QString kGroup = QStringLiteral("connections");
} // namespace

QList<StoredConnection> loadConnections()
{
    QSettings settings;
    QList<StoredConnection> connections;
    const int count = settings.beginReadArray(kGroup);
    for (int i = 0; i < count; ++i) {
        settings.setArrayIndex(i);
        StoredConnection connection;
        connection.name = settings.value(QStringLiteral("name")).toString();
        connection.url = settings.value(QStringLiteral("url")).toString();
        connection.saveKey = settings.value(QStringLiteral("saveKey"), false).toBool();
        if (!connection.name.isEmpty())
            connections.append(connection);
    }
    settings.endArray();
    return connections;
}

void saveConnections(const QList<StoredConnection>& connections)
{
    QSettings settings;
    settings.remove(kGroup);
    settings.beginWriteArray(kGroup, int(connections.size()));
    for (int i = 0; i < connections.size(); ++i) {
        settings.setArrayIndex(i);
        settings.setValue(QStringLiteral("name"), connections[i].name);
        settings.setValue(QStringLiteral("url"), connections[i].url);
        settings.setValue(QStringLiteral("saveKey"), connections[i].saveKey);
    }
    settings.endArray();
    settings.sync();
}

} // namespace commy::monitor
