#pragma once

// The monitor's root object, handed to the QML root as `monitor`: the brokers it connects to (kept
// across runs in QSettings, keys in the OS keychain when asked and available), the models every view
// shares, the selection, and the controllers of the selected region, root and operations.

#include "connection_status.h"
#include "key_store.h"

#include "../snapshots.h"

#include <QObject>
#include <QStringList>
#include <QtQml/qqmlregistration.h>

#include <functional>
#include <memory>
#include <vector>

// The property types, complete for moc's metatypes.
Q_MOC_INCLUDE("connection_model.h")
Q_MOC_INCLUDE("container_controller.h")
Q_MOC_INCLUDE("operations_controller.h")
Q_MOC_INCLUDE("region_controller.h")
Q_MOC_INCLUDE("../models/event_filter_model.h")
Q_MOC_INCLUDE("../models/event_model.h")
Q_MOC_INCLUDE("../models/hierarchy_filter_model.h")
Q_MOC_INCLUDE("../models/hierarchy_model.h")

namespace commy::monitor {

class BrokerConnection;
class BrokerSource;
class ConnectionModel;
class ContainerController;
class EventFilterModel;
class EventModel;
class HierarchyFilterModel;
class HierarchyModel;
class OperationsController;
class RegionController;

class MonitorController : public QObject {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("created by the application")
    Q_PROPERTY(commy::monitor::HierarchyModel* hierarchy READ hierarchy CONSTANT)
    Q_PROPERTY(commy::monitor::HierarchyFilterModel* hierarchyFilter READ hierarchyFilter CONSTANT)
    Q_PROPERTY(commy::monitor::ConnectionModel* connections READ connections CONSTANT)
    Q_PROPERTY(bool keychainAvailable READ isKeychainAvailable NOTIFY keychainChanged)
    Q_PROPERTY(QString keychainMessage READ keychainMessage NOTIFY keychainChanged)
    Q_PROPERTY(commy::monitor::EventModel* events READ events CONSTANT)
    Q_PROPERTY(commy::monitor::EventFilterModel* eventFilter READ eventFilter CONSTANT)
    Q_PROPERTY(QStringList selectedPath READ selectedPath NOTIFY selectionChanged)
    Q_PROPERTY(commy::monitor::NodeType selectedType READ selectedType NOTIFY selectionChanged)
    Q_PROPERTY(QString selectedTitle READ selectedTitle NOTIFY selectionChanged)
    Q_PROPERTY(commy::monitor::RegionController* region READ region CONSTANT)
    Q_PROPERTY(commy::monitor::ContainerController* container READ container CONSTANT)
    Q_PROPERTY(commy::monitor::OperationsController* operations READ operations CONSTANT)
    Q_PROPERTY(bool loaded READ isLoaded NOTIFY loadedChanged)

public:
    using SourceFactory = std::function<std::unique_ptr<BrokerSource>()>;

    // `factory` makes one source per connection (default: a ClientBrokerSource); `keyStore` keeps saved
    // keys (default: the OS keychain through QtKeychain). The remembered connections are loaded and
    // opened at once.
    explicit MonitorController(
        SourceFactory factory = {}, std::unique_ptr<KeyStore> keyStore = {}, QObject* parent = nullptr);
    ~MonitorController() override;

    HierarchyModel* hierarchy() const;
    HierarchyFilterModel* hierarchyFilter() const;
    ConnectionModel* connections() const;
    bool isKeychainAvailable() const;
    QString keychainMessage() const;
    EventModel* events() const;
    EventFilterModel* eventFilter() const;
    using QObject::eventFilter; // the property above shares the name; QObject's overload stays visible
    QStringList selectedPath() const;
    NodeType selectedType() const;
    QString selectedTitle() const;
    RegionController* region() const;
    ContainerController* container() const;
    OperationsController* operations() const;
    // Every connection has its first tree, or has stopped for good (key or certificate refused, no
    // key); true with no connections.
    bool isLoaded() const;

    // "" on success, else what is wrong (for the dialog). `key`: "<tenant>:<key>" for a tenant key.
    Q_INVOKABLE QString addConnection(const QString& name, const QString& url, const QString& key, bool saveKey);
    // An empty `key` keeps the connection's current key.
    Q_INVOKABLE QString updateConnection(
        const QString& oldName, const QString& name, const QString& url, const QString& key, bool saveKey);
    Q_INVOKABLE void removeConnection(const QString& name);
    Q_INVOKABLE void reconnect(const QString& name);
    Q_INVOKABLE void select(const QStringList& path);
    // A connection for this run only (--connect, the demo): not remembered, its key never saved.
    void addSessionConnection(const QString& name, const QString& url, const QString& key);

    BrokerConnection* connection(const QString& name) const;

signals:
    void keychainChanged();
    void selectionChanged();
    void loadedChanged();

private:
    struct Entry;

    QString validate(const QString& name, const QString& url, const QString& key, const QString& except) const;
    Entry* entry(const QString& name) const;
    BrokerConnection* create(const QString& name, const QString& url, bool remembered);
    void publish(const QString& name);
    void persist() const;
    void saveKey(const QString& name, const QString& key);
    void forgetKey(const QString& name);
    void setKeychain(bool available, const QString& message);
    void updateLoaded();

    SourceFactory m_factory;
    std::unique_ptr<KeyStore> m_keyStore;
    HierarchyModel* m_hierarchy;
    HierarchyFilterModel* m_hierarchyFilter;
    ConnectionModel* m_connections;
    EventModel* m_events;
    EventFilterModel* m_eventFilter;
    RegionController* m_region;
    ContainerController* m_container;
    OperationsController* m_operations;
    std::vector<std::unique_ptr<Entry>> m_entries;
    bool m_keychainAvailable = false;
    QString m_keychainMessage;
    QStringList m_selectedPath;
    bool m_loaded = true;
};

} // namespace commy::monitor
