#include "container_controller.h"

#include "broker_connection.h"
#include "conversions.h"

#include "../models/container_elements_model.h"

namespace commy::monitor {

ContainerController::ContainerController(QObject* parent)
    : QObject(parent)
    , m_elements(new ContainerElementsModel(this))
{
    m_poll.setInterval(kPollIntervalMs);
    connect(&m_poll, &QTimer::timeout, this, &ContainerController::poll);
}

ContainerController::~ContainerController() = default;

void ContainerController::setTarget(
    BrokerConnection* connection, const QString& tenant, const QString& service, const QString& root)
{
    if (m_connection)
        m_connection->disconnect(this);
    ++m_target;
    m_pollInFlight = false;
    m_poll.stop();
    m_connection = connection;
    m_tenant = connection ? tenant : QString();
    m_service = connection ? service : QString();
    const RootSnapshot* cached = connection ? connection->root(tenant, service, root) : nullptr;
    m_root = cached ? *cached : RootSnapshot {};
    if (connection && !cached)
        m_root.name = root;
    if (connection) {
        connect(connection, &BrokerConnection::rootsChanged, this, &ContainerController::onRootsChanged);
        connect(connection, &BrokerConnection::tenantChanged, this,
            [this](const QString& changed) { onRootsChanged(changed, m_service); });
        connect(connection, &QObject::destroyed, this, &ContainerController::clear);
    }
    if (browsable()) {
        const quint64 target = m_target;
        m_elements->setSource(
            [this, target](quint64 offset, quint64 limit, ContainerElementsModel::PageCallback done) {
                if (target != m_target) {
                    done(ElementPage { offset, 0, 0, {}, tr("the root is no longer selected") });
                    return;
                }
                fetch(offset, limit, done);
            },
            rowsFor(m_root.length), m_root.version);
        m_poll.start();
    } else {
        m_elements->clear();
        if (connection)
            m_poll.start(); // a plain block has no elements, but its version still shows
    }
    emit changed();
}

void ContainerController::clear() { setTarget(nullptr, {}, {}, {}); }

QString ContainerController::root() const { return m_root.name; }

QString ContainerController::kind() const { return m_root.kind; }

QString ContainerController::type() const { return m_root.type; }

quint64 ContainerController::length() const { return m_root.length; }

quint64 ContainerController::version() const { return m_root.version; }

bool ContainerController::isActive() const { return !m_connection.isNull(); }

ContainerElementsModel* ContainerController::elements() const { return m_elements; }

QString ContainerController::hexOf(const QString& value) const { return hexDump(value.toUtf8()); }

bool ContainerController::browsable() const
{
    return m_connection && !m_root.kind.isEmpty() && m_root.kind != QLatin1String("bytes");
}

quint64 ContainerController::rowsFor(quint64 length) const
{
    if (m_root.kind == QLatin1String("string"))
        return length > 0 ? 1 : 0;
    return length;
}

void ContainerController::fetch(quint64 offset, quint64 limit, const std::function<void(const ElementPage&)>& done)
{
    if (!m_connection) {
        done(ElementPage { offset, 0, 0, {}, tr("not connected") });
        return;
    }
    const bool isString = m_root.kind == QLatin1String("string");
    protocol::BrowseRoot request { m_tenant, m_service, m_root.name, isString ? 0 : qint64(offset),
        qint64(std::min<quint64>(std::max<quint64>(limit, 1), quint64(protocol::kMaxBrowseLimit))) };
    QPointer<ContainerController> self(this);
    m_connection->source()->send(std::move(request), [self, offset, isString, done](const BrokerSource::Reply& reply) {
        // One read of the guard: to GCC -O2 every QPointer access may be null, and it warns
        // (-Wnull-dereference) on each one after the first.
        ContainerController* const that = self.data();
        ElementPage page;
        page.offset = offset;
        if (!reply) {
            page.error = describeError(reply.error());
            done(page);
            return;
        }
        const auto& result = std::get<protocol::BrowseResult>(*reply);
        page.version = quint64(std::max<qint64>(0, result.version));
        page.length = isString ? (result.length > 0 ? 1 : 0) : quint64(std::max<qint64>(0, result.length));
        for (const protocol::BrowseElement& element : result.elements)
            page.elements.append(toElement(element));
        if (that && that->m_root.version <= page.version) {
            RootSnapshot next = that->m_root;
            next.version = page.version;
            next.length = quint64(std::max<qint64>(0, result.length));
            that->follow(next);
        }
        done(page);
    });
}

void ContainerController::poll()
{
    if (!m_connection || m_pollInFlight || m_connection->status() != ConnectionStatus::Connected
        || m_root.kind.isEmpty() || m_root.kind == QLatin1String("bytes"))
        return;
    m_pollInFlight = true;
    QPointer<ContainerController> self(this);
    const quint64 target = m_target;
    m_connection->source()->send(protocol::BrowseRoot { m_tenant, m_service, m_root.name, 0, 1 },
        [self, target](const BrokerSource::Reply& reply) {
            ContainerController* const that = self.data();
            if (!that || target != that->m_target)
                return;
            that->m_pollInFlight = false;
            if (!reply)
                return;
            const auto& result = std::get<protocol::BrowseResult>(*reply);
            RootSnapshot next = that->m_root;
            next.version = quint64(std::max<qint64>(0, result.version));
            next.length = quint64(std::max<qint64>(0, result.length));
            if (next.kind == QLatin1String("string"))
                next.size = next.length;
            that->follow(next);
        });
}

void ContainerController::follow(const RootSnapshot& root)
{
    if (root.version < m_root.version || root == m_root)
        return;
    m_root = root;
    m_elements->setVersion(root.version, rowsFor(root.length));
    if (m_connection)
        m_connection->updateRoot(m_tenant, m_service, root);
    emit changed();
}

void ContainerController::onRootsChanged(const QString& tenant, const QString& service)
{
    if (!m_connection || tenant != m_tenant || service != m_service)
        return;
    const RootSnapshot* current = m_connection->root(tenant, service, m_root.name);
    if (!current) {
        if (!m_connection->service(tenant, service) || !m_root.kind.isEmpty()) {
            // The root (or its service) is gone: nothing left to browse.
            m_root = RootSnapshot { m_root.name, {}, {}, 0, 0, 0 };
            m_elements->clear();
            m_poll.stop();
            emit changed();
        }
        return;
    }
    if (m_root.kind.isEmpty() && !current->kind.isEmpty()) {
        // The root appeared after it was selected.
        setTarget(m_connection, m_tenant, m_service, m_root.name);
        return;
    }
    follow(*current);
}

} // namespace commy::monitor
