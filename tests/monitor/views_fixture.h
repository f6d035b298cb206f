#pragma once

// The fake `monitor` the Quick tests give the views: the real models of Commy.Monitor filled with
// snapshots, and stand-ins for the controllers (MonitorController, RegionController,
// ContainerController, OperationsController, ConnectionModel) carrying the controllers' property and
// method names, so every view loads and shows data without a broker.

#include <monitor/block_map.h>
#include <monitor/models/container_elements_model.h>
#include <monitor/models/event_filter_model.h>
#include <monitor/models/event_model.h>
#include <monitor/models/free_block_histogram_model.h>
#include <monitor/models/hierarchy_filter_model.h>
#include <monitor/models/hierarchy_model.h>
#include <monitor/models/process_model.h>
#include <monitor/models/session_model.h>
#include <monitor/snapshots.h>

#include <QAbstractListModel>
#include <QObject>
#include <QQuickWindow>
#include <QVariantList>
#include <QVariantMap>

namespace commy::monitor::test {

class FakeConnectionModel : public QAbstractListModel {
    Q_OBJECT
    Q_PROPERTY(int count READ rowCount NOTIFY countChanged)

public:
    struct Connection {
        QString name;
        QString url;
        int status = 0; // ConnectionStatus in declaration order; 2 = Connected
        QString statusText;
        int rttMs = -1;
        bool keySaved = false;
        QStringList scopes;
    };
    enum Role { NameRole = Qt::UserRole + 1, UrlRole, StatusRole, StatusTextRole, RttRole, KeySavedRole, ScopesRole };

    using QAbstractListModel::QAbstractListModel;

    void add(const Connection& connection);
    int find(const QString& name) const;
    bool remove(const QString& name);
    bool update(const QString& oldName, const Connection& connection);

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

signals:
    void countChanged();

private:
    QList<Connection> m_rows;
};

class FakeRegion : public QObject {
    Q_OBJECT
    Q_PROPERTY(QString brokerName MEMBER m_brokerName NOTIFY changed)
    Q_PROPERTY(QString tenant MEMBER m_tenant NOTIFY changed)
    Q_PROPERTY(QString service MEMBER m_service NOTIFY changed)
    Q_PROPERTY(bool active MEMBER m_active NOTIFY changed)
    Q_PROPERTY(QVariantMap stats MEMBER m_stats NOTIFY statsChanged)
    Q_PROPERTY(QVariantList history MEMBER m_history NOTIFY historyChanged)
    Q_PROPERTY(commy::monitor::BlockMap* blockMap READ blockMap CONSTANT)
    Q_PROPERTY(commy::monitor::FreeBlockHistogramModel* histogram READ histogram CONSTANT)
    Q_PROPERTY(bool blockMapLoading MEMBER m_blockMapLoading NOTIFY changed)
    Q_PROPERTY(QString blockMapError MEMBER m_blockMapError NOTIFY changed)
    Q_PROPERTY(commy::monitor::ProcessModel* processes READ processes CONSTANT)
    Q_PROPERTY(commy::monitor::SessionModel* sessions READ sessions CONSTANT)
    Q_PROPERTY(int refreshCount MEMBER m_refreshCount NOTIFY changed)

public:
    explicit FakeRegion(QObject* parent = nullptr);

    BlockMap* blockMap() { return &m_blockMap; }
    FreeBlockHistogramModel* histogram() { return &m_histogram; }
    ProcessModel* processes() { return &m_processes; }
    SessionModel* sessions() { return &m_sessions; }

    Q_INVOKABLE void refreshBlockMap();

signals:
    void changed();
    void statsChanged();
    void historyChanged();

private:
    QString m_brokerName = QStringLiteral("local");
    QString m_tenant = QStringLiteral("acme");
    QString m_service = QStringLiteral("orders");
    bool m_active = true;
    QVariantMap m_stats;
    QVariantList m_history;
    BlockMap m_blockMap;
    FreeBlockHistogramModel m_histogram;
    bool m_blockMapLoading = false;
    QString m_blockMapError;
    ProcessModel m_processes;
    SessionModel m_sessions;
    int m_refreshCount = 0;
};

class FakeContainer : public QObject {
    Q_OBJECT
    Q_PROPERTY(QString root MEMBER m_root NOTIFY changed)
    Q_PROPERTY(QString kind MEMBER m_kind NOTIFY changed)
    Q_PROPERTY(QString type MEMBER m_type NOTIFY changed)
    Q_PROPERTY(quint64 length MEMBER m_length NOTIFY changed)
    Q_PROPERTY(quint64 version MEMBER m_version NOTIFY changed)
    Q_PROPERTY(commy::monitor::ContainerElementsModel* elements READ elements CONSTANT)
    Q_PROPERTY(bool active MEMBER m_active NOTIFY changed)
    // Pages the fetcher was asked for (lazy loading: only what the list shows).
    Q_PROPERTY(int fetches MEMBER m_fetches NOTIFY changed)

public:
    explicit FakeContainer(QObject* parent = nullptr);

    ContainerElementsModel* elements() { return &m_elements; }
    Q_INVOKABLE QString hexOf(const QString& value) const;

signals:
    void changed();

private:
    QString m_root = QStringLiteral("prices");
    QString m_kind = QStringLiteral("hashmap");
    QString m_type = QStringLiteral("hashmap<string,f64>");
    quint64 m_length = 5000;
    quint64 m_version = 42;
    bool m_active = true;
    int m_fetches = 0;
    ContainerElementsModel m_elements;
};

class FakeOperations : public QObject {
    Q_OBJECT
    Q_PROPERTY(bool canOperate MEMBER m_canOperate NOTIFY changed)
    Q_PROPERTY(QString disabledReason MEMBER m_disabledReason NOTIFY changed)
    Q_PROPERTY(bool busy MEMBER m_busy NOTIFY changed)
    Q_PROPERTY(QString lastReport MEMBER m_lastReport NOTIFY changed)
    Q_PROPERTY(QString lastError MEMBER m_lastError NOTIFY changed)
    Q_PROPERTY(QString lastCall MEMBER m_lastCall NOTIFY changed)
    // When set, the next operation fails with this error.
    Q_PROPERTY(QString failWith MEMBER m_failWith NOTIFY changed)

public:
    using QObject::QObject;

    Q_INVOKABLE QString validateSize(const QString& text) const;
    Q_INVOKABLE QString describe(const QString& operation, const QString& sizeText) const;
    Q_INVOKABLE void resize(const QString& sizeText);
    Q_INVOKABLE void shrink();
    Q_INVOKABLE void cleanup();

signals:
    void changed();
    void finished(bool ok);

private:
    void run(const QString& call, const QString& report);

    bool m_canOperate = true;
    QString m_disabledReason;
    bool m_busy = false;
    QString m_lastReport;
    QString m_lastError;
    QString m_lastCall;
    QString m_failWith;
};

class FakeMonitor : public QObject {
    Q_OBJECT
    Q_PROPERTY(commy::monitor::HierarchyModel* hierarchy READ hierarchy CONSTANT)
    Q_PROPERTY(commy::monitor::HierarchyFilterModel* hierarchyFilter READ hierarchyFilter CONSTANT)
    Q_PROPERTY(QObject* connections READ connections CONSTANT)
    Q_PROPERTY(bool keychainAvailable MEMBER m_keychainAvailable NOTIFY changed)
    Q_PROPERTY(QString keychainMessage MEMBER m_keychainMessage NOTIFY changed)
    Q_PROPERTY(commy::monitor::EventModel* events READ events CONSTANT)
    Q_PROPERTY(commy::monitor::EventFilterModel* eventFilter READ eventFilter CONSTANT)
    Q_PROPERTY(QStringList selectedPath READ selectedPath NOTIFY selectedPathChanged)
    Q_PROPERTY(int selectedType READ selectedType NOTIFY selectedPathChanged)
    Q_PROPERTY(QString selectedTitle READ selectedTitle NOTIFY selectedPathChanged)
    Q_PROPERTY(QObject* region READ region CONSTANT)
    Q_PROPERTY(QObject* container READ container CONSTANT)
    Q_PROPERTY(QObject* operations READ operations CONSTANT)
    Q_PROPERTY(bool loaded MEMBER m_loaded NOTIFY changed)
    Q_PROPERTY(QString lastCall MEMBER m_lastCall NOTIFY changed)

public:
    explicit FakeMonitor(QObject* parent = nullptr);

    HierarchyModel* hierarchy() { return &m_hierarchy; }
    HierarchyFilterModel* hierarchyFilter() { return &m_hierarchyFilter; }
    QObject* connections() { return &m_connections; }
    EventModel* events() { return &m_events; }
    EventFilterModel* eventFilter() { return &m_eventFilter; }
    using QObject::eventFilter; // the property shares the name; QObject's overload stays visible
    QStringList selectedPath() const { return m_selectedPath; }
    int selectedType() const { return int(m_selectedPath.size()) - 1; }
    QString selectedTitle() const { return m_selectedPath.join(QLatin1String(" / ")); }
    QObject* region() { return &m_region; }
    QObject* container() { return &m_container; }
    QObject* operations() { return &m_operations; }

    Q_INVOKABLE QString addConnection(const QString& name, const QString& url, const QString& key, bool saveKey);
    Q_INVOKABLE QString updateConnection(
        const QString& oldName, const QString& name, const QString& url, const QString& key, bool saveKey);
    Q_INVOKABLE void removeConnection(const QString& name);
    Q_INVOKABLE void reconnect(const QString& name);
    Q_INVOKABLE void select(const QStringList& path);
    // Test hooks: a broker of `tenants` x `services` (named t0.., s0..) appears or goes.
    Q_INVOKABLE void addBroker(const QString& id, int tenants, int services);
    Q_INVOKABLE void removeBroker(const QString& id);

signals:
    void changed();
    void selectedPathChanged();

private:
    HierarchyModel m_hierarchy;
    HierarchyFilterModel m_hierarchyFilter;
    FakeConnectionModel m_connections;
    EventModel m_events;
    EventFilterModel m_eventFilter;
    FakeRegion m_region;
    FakeContainer m_container;
    FakeOperations m_operations;
    QStringList m_selectedPath;
    bool m_keychainAvailable = false;
    QString m_keychainMessage;
    bool m_loaded = true;
    QString m_lastCall;
};

// What a test file sees as `fixture`: the fake monitor and a camera.
class ViewsFixture : public QObject {
    Q_OBJECT
    Q_PROPERTY(QObject* monitor READ monitor CONSTANT)

public:
    explicit ViewsFixture(QString screenshotDir, QObject* parent = nullptr);

    QObject* monitor() { return &m_monitor; }

    // Renders the window of `windowOrItem` to <screenshot dir>/<name>.png. Returns {path, width, height,
    // colours (distinct colours in a sample grid)}; {} when it cannot.
    Q_INVOKABLE QVariantMap grab(QObject* windowOrItem, const QString& name) const;
    // Activates `window` and types a key into it (a TestCase's keyClick goes to the test's own window).
    Q_INVOKABLE bool keyClick(QObject* window, int key, int modifiers) const;

private:
    FakeMonitor m_monitor;
    QString m_screenshotDir;
};

} // namespace commy::monitor::test
