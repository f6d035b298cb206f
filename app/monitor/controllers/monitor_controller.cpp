#include "monitor_controller.h"

#include "broker_connection.h"
#include "client_broker_source.h"
#include "connection_model.h"
#include "connection_store.h"
#include "container_controller.h"
#include "key_store.h"
#include "operations_controller.h"
#include "region_controller.h"

#include "../models/event_filter_model.h"
#include "../models/event_model.h"
#include "../models/hierarchy_filter_model.h"
#include "../models/hierarchy_model.h"

#include <QPointer>

namespace commy::monitor {

namespace {

QString keyEntry(const QString& name) { return QStringLiteral("connection/") + name; }

} // namespace

struct MonitorController::Entry {
    std::unique_ptr<BrokerConnection> connection;
    bool remembered = true;
    bool saveKey = false; // the user asked for the key to be saved
    bool keySaved = false; // ... and it is in the keychain
};

MonitorController::MonitorController(SourceFactory factory, std::unique_ptr<KeyStore> keyStore, QObject* parent)
    : QObject(parent)
    , m_factory(std::move(factory))
    , m_keyStore(std::move(keyStore))
    , m_hierarchy(new HierarchyModel(this))
    , m_hierarchyFilter(new HierarchyFilterModel(this))
    , m_connections(new ConnectionModel(this))
    , m_events(new EventModel(this))
    , m_eventFilter(new EventFilterModel(this))
    , m_region(new RegionController(this))
    , m_container(new ContainerController(this))
    , m_operations(new OperationsController(m_region, this))
{
    if (!m_factory)
        m_factory = [] { return std::make_unique<ClientBrokerSource>(); };
    if (!m_keyStore)
        m_keyStore = std::make_unique<QtKeychainStore>();
    m_hierarchyFilter->setSourceModel(m_hierarchy);
    m_eventFilter->setSourceModel(m_events);

    QPointer<MonitorController> self(this);
    m_keyStore->probe([self](bool available, const QString& reason) {
        if (!self)
            return;
        self->setKeychain(available,
            available ? QString()
                      : tr("No keychain service is available (%1): keys are kept for this session only.").arg(reason));
    });

    for (const StoredConnection& stored : loadConnections()) {
        if (entry(stored.name))
            continue;
        BrokerConnection* connection = create(stored.name, stored.url, true);
        Entry* e = entry(stored.name);
        e->saveKey = stored.saveKey;
        if (!stored.saveKey) {
            connection->open({});
            continue;
        }
        connection->waitForKey();
        const QString name = stored.name;
        m_keyStore->read(keyEntry(name), [self, name](const std::optional<QString>& key, const QString& error) {
            if (!self)
                return;
            Entry* found = self->entry(name);
            if (!found)
                return;
            found->keySaved = key.has_value();
            if (key) {
                found->connection->open(*key);
            } else {
                found->connection->open({},
                    error.isEmpty()
                        ? tr("no saved key: edit the connection to enter it")
                        : tr("the saved key cannot be read (%1): edit the connection to enter it").arg(error));
            }
            self->publish(name);
        });
    }
    updateLoaded();
}

MonitorController::~MonitorController()
{
    // The controllers let go of the connections before they go.
    m_region->clear();
    m_container->clear();
    m_entries.clear();
}

HierarchyModel* MonitorController::hierarchy() const { return m_hierarchy; }

HierarchyFilterModel* MonitorController::hierarchyFilter() const { return m_hierarchyFilter; }

ConnectionModel* MonitorController::connections() const { return m_connections; }

bool MonitorController::isKeychainAvailable() const { return m_keychainAvailable; }

QString MonitorController::keychainMessage() const { return m_keychainMessage; }

EventModel* MonitorController::events() const { return m_events; }

EventFilterModel* MonitorController::eventFilter() const { return m_eventFilter; }

QStringList MonitorController::selectedPath() const { return m_selectedPath; }

NodeType MonitorController::selectedType() const
{
    switch (m_selectedPath.size()) {
    case 2:
        return NodeType::Tenant;
    case 3:
        return NodeType::Service;
    case 4:
        return NodeType::Root;
    default:
        return NodeType::Broker;
    }
}

QString MonitorController::selectedTitle() const { return m_selectedPath.join(QLatin1String(" / ")); }

RegionController* MonitorController::region() const { return m_region; }

ContainerController* MonitorController::container() const { return m_container; }

OperationsController* MonitorController::operations() const { return m_operations; }

bool MonitorController::isLoaded() const { return m_loaded; }

BrokerConnection* MonitorController::connection(const QString& name) const
{
    Entry* e = entry(name);
    return e ? e->connection.get() : nullptr;
}

MonitorController::Entry* MonitorController::entry(const QString& name) const
{
    for (const auto& e : m_entries)
        if (e->connection->name() == name)
            return e.get();
    return nullptr;
}

QString MonitorController::validate(
    const QString& name, const QString& url, const QString& key, const QString& except) const
{
    if (name.trimmed().isEmpty())
        return tr("Enter a name for the connection.");
    if (name != name.trimmed() || name.contains(QLatin1Char('/')))
        return tr("A connection's name cannot contain '/' or start or end with spaces.");
    if (name != except && entry(name))
        return tr("There is already a connection named '%1'.").arg(name);
    const QUrl parsed(url.trimmed(), QUrl::StrictMode);
    if (!parsed.isValid() || (parsed.scheme() != u"ws" && parsed.scheme() != u"wss") || parsed.host().isEmpty())
        return tr("The URL must be ws://HOST:PORT or wss://HOST:PORT.");
    if (except.isEmpty() && key.isEmpty())
        return tr("Enter the key: a server_admin key, or <tenant>:<key> for a tenant's key.");
    return {};
}

BrokerConnection* MonitorController::create(const QString& name, const QString& url, bool remembered)
{
    auto e = std::make_unique<Entry>();
    e->remembered = remembered;
    e->connection = std::make_unique<BrokerConnection>(name, QUrl(url.trimmed()), m_factory(), m_hierarchy, m_events);
    BrokerConnection* connection = e->connection.get();
    connect(connection, &BrokerConnection::stateChanged, this, [this, connection] {
        publish(connection->name());
        updateLoaded();
    });
    connect(connection, &BrokerConnection::loadedChanged, this, &MonitorController::updateLoaded);
    m_entries.push_back(std::move(e));
    publish(name);
    updateLoaded();
    return connection;
}

void MonitorController::publish(const QString& name)
{
    const Entry* e = entry(name);
    if (!e)
        return;
    const BrokerConnection& c = *e->connection;
    ConnectionInfo info;
    info.name = c.name();
    info.url = c.url().toString();
    info.status = c.status();
    info.statusText = c.statusText();
    info.rttMs = c.rttMs();
    info.keySaved = e->keySaved;
    info.remembered = e->remembered;
    info.scopes = c.status() == ConnectionStatus::Connected ? c.source()->scopes() : QStringList();
    m_connections->set(info);
}

void MonitorController::persist() const
{
    QList<StoredConnection> stored;
    for (const auto& e : m_entries)
        if (e->remembered)
            stored.append({ e->connection->name(), e->connection->url().toString(), e->saveKey });
    saveConnections(stored);
}

void MonitorController::setKeychain(bool available, const QString& message)
{
    if (available == m_keychainAvailable && message == m_keychainMessage)
        return;
    m_keychainAvailable = available;
    m_keychainMessage = message;
    emit keychainChanged();
}

void MonitorController::saveKey(const QString& name, const QString& key)
{
    QPointer<MonitorController> self(this);
    m_keyStore->write(keyEntry(name), key, [self, name](const QString& error) {
        if (!self)
            return;
        if (Entry* e = self->entry(name)) {
            e->keySaved = error.isEmpty();
            self->publish(name);
        }
        if (!error.isEmpty())
            self->setKeychain(false,
                tr("The key of '%1' cannot be saved in the keychain (%2): it is kept for this session only.")
                    .arg(name, error));
    });
}

void MonitorController::forgetKey(const QString& name)
{
    m_keyStore->remove(keyEntry(name), [](const QString&) {});
}

QString MonitorController::addConnection(const QString& name, const QString& url, const QString& key, bool saveKey)
{
    const QString invalid = validate(name, url, key, {});
    if (!invalid.isEmpty())
        return invalid;
    BrokerConnection* connection = create(name, url, true);
    Entry* e = entry(name);
    e->saveKey = saveKey;
    persist();
    if (saveKey)
        this->saveKey(name, key);
    connection->open(key);
    return {};
}

QString MonitorController::updateConnection(
    const QString& oldName, const QString& name, const QString& url, const QString& key, bool saveKey)
{
    Entry* e = entry(oldName);
    if (!e)
        return tr("There is no connection named '%1'.").arg(oldName);
    const QString invalid = validate(name, url, key, oldName);
    if (!invalid.isEmpty())
        return invalid;
    const QString effectiveKey = key.isEmpty() ? e->connection->key() : key;
    const bool wasSaved = e->keySaved;
    const QStringList selection = m_selectedPath;
    const bool selected = !selection.isEmpty() && selection.first() == oldName;
    if (selected)
        select({});

    // A new connection in the same place: another name or URL is another broker row.
    m_hierarchy->removeBroker(oldName);
    e->connection.reset();
    e->keySaved = false;
    e->saveKey = e->remembered && saveKey;
    auto next = std::make_unique<BrokerConnection>(name, QUrl(url.trimmed()), m_factory(), m_hierarchy, m_events);
    BrokerConnection* connection = next.get();
    connect(connection, &BrokerConnection::stateChanged, this, [this, connection] {
        publish(connection->name());
        updateLoaded();
    });
    connect(connection, &BrokerConnection::loadedChanged, this, &MonitorController::updateLoaded);
    e->connection = std::move(next);
    ConnectionInfo info;
    info.name = name;
    info.url = connection->url().toString();
    info.remembered = e->remembered;
    m_connections->rename(oldName, info);

    if (e->remembered) {
        persist();
        if (wasSaved && (name != oldName || !e->saveKey))
            forgetKey(oldName);
        if (e->saveKey && !effectiveKey.isEmpty())
            this->saveKey(name, effectiveKey);
    }
    connection->open(effectiveKey);
    publish(name);
    if (selected && name == oldName)
        select(selection);
    updateLoaded();
    return {};
}

void MonitorController::removeConnection(const QString& name)
{
    Entry* e = entry(name);
    if (!e)
        return;
    if (!m_selectedPath.isEmpty() && m_selectedPath.first() == name)
        select({});
    const bool remembered = e->remembered;
    if (e->keySaved || e->saveKey)
        forgetKey(name);
    m_hierarchy->removeBroker(name);
    m_connections->remove(name);
    m_entries.erase(std::find_if(
        m_entries.begin(), m_entries.end(), [e](const std::unique_ptr<Entry>& item) { return item.get() == e; }));
    if (remembered)
        persist();
    updateLoaded();
}

void MonitorController::reconnect(const QString& name)
{
    if (Entry* e = entry(name))
        e->connection->open(e->connection->key());
}

void MonitorController::addSessionConnection(const QString& name, const QString& url, const QString& key)
{
    if (entry(name))
        removeConnection(name);
    BrokerConnection* connection = create(name, url, false);
    connection->open(key);
}

void MonitorController::select(const QStringList& path)
{
    BrokerConnection* connection = path.isEmpty() ? nullptr : this->connection(path.first());
    const QStringList selected = connection ? path.mid(0, 4) : QStringList();
    if (connection && selected.size() >= 3)
        m_region->setTarget(connection, selected[1], selected[2]);
    else
        m_region->clear();
    if (connection && selected.size() == 4)
        m_container->setTarget(connection, selected[1], selected[2], selected[3]);
    else
        m_container->clear();
    if (selected == m_selectedPath)
        return;
    m_selectedPath = selected;
    emit selectionChanged();
}

void MonitorController::updateLoaded()
{
    bool loaded = true;
    for (const auto& e : m_entries)
        loaded = loaded && e->connection && e->connection->isSettled();
    if (loaded == m_loaded)
        return;
    m_loaded = loaded;
    emit loadedChanged();
}

} // namespace commy::monitor
