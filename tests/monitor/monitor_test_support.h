#pragma once

// Helpers for the monitor model tests: trees written as short specs, a model dumped back into the same
// notation, and a recorder of a model's structural signals.
//
// Spec: tenants separated by commas; a tenant's services in {}, a service's roots in [].
//   "acme{orders=300[queue@2,config],billing},beta"
// "=N" gives a service's used bytes (size 1 MiB, the rest free); "@N" a root's version (default 1).

#include <monitor/snapshots.h>

#include <QAbstractItemModel>
#include <QSignalSpy>
#include <QStringList>

#include <functional>

namespace commy::monitor::test {

class SpecParser {
public:
    explicit SpecParser(const QString& spec)
        : m_spec(spec)
    {
    }

    QList<TenantSnapshot> tenants()
    {
        QList<TenantSnapshot> tenants;
        while (!atEnd()) {
            TenantSnapshot tenant;
            tenant.name = name();
            if (accept(QLatin1Char('{'))) {
                while (!accept(QLatin1Char('}'))) {
                    tenant.services.append(service());
                    accept(QLatin1Char(','));
                }
            }
            tenants.append(tenant);
            accept(QLatin1Char(','));
        }
        return tenants;
    }

private:
    ServiceSnapshot service()
    {
        ServiceSnapshot service;
        service.name = name();
        quint64 used = 4096;
        if (accept(QLatin1Char('=')))
            used = number();
        service.stats.size = 1 << 20;
        service.stats.used = used;
        service.stats.free = service.stats.size - used;
        service.stats.largestFree = service.stats.free;
        service.stats.usedBlocks = used / 64;
        service.stats.freeBlocks = 1;
        if (accept(QLatin1Char('['))) {
            while (!accept(QLatin1Char(']'))) {
                RootSnapshot root;
                root.name = name();
                root.kind = QStringLiteral("vec");
                root.type = QStringLiteral("vec<i64>");
                root.size = 128;
                root.length = 4;
                root.version = accept(QLatin1Char('@')) ? number() : 1;
                service.roots.append(root);
                accept(QLatin1Char(','));
            }
        }
        return service;
    }

    bool atEnd() const { return m_pos >= m_spec.size(); }
    bool accept(QChar c)
    {
        if (!atEnd() && m_spec[m_pos] == c) {
            ++m_pos;
            return true;
        }
        return false;
    }
    QString name()
    {
        const qsizetype start = m_pos;
        while (!atEnd() && (m_spec[m_pos].isLetterOrNumber() || m_spec[m_pos] == QLatin1Char('-')))
            ++m_pos;
        return m_spec.mid(start, m_pos - start);
    }
    quint64 number() { return name().toULongLong(); }

    QString m_spec;
    qsizetype m_pos = 0;
};

inline BrokerSnapshot broker(const QString& spec, const QString& id = QStringLiteral("local"))
{
    BrokerSnapshot broker;
    broker.id = id;
    broker.url = QStringLiteral("ws://127.0.0.1:1/") + id;
    broker.version = QStringLiteral("0.1.0");
    broker.tenants = SpecParser(spec).tenants();
    return broker;
}

// The tree of a snapshot in spec notation with every attribute spelled out, duplicates dropped the
// way the model drops them (first one wins).
inline QString canonical(const QList<TenantSnapshot>& tenants)
{
    QStringList tenantParts;
    QStringList seenTenants;
    for (const TenantSnapshot& tenant : tenants) {
        if (seenTenants.contains(tenant.name))
            continue;
        seenTenants.append(tenant.name);
        QStringList serviceParts;
        QStringList seenServices;
        for (const ServiceSnapshot& service : tenant.services) {
            if (seenServices.contains(service.name))
                continue;
            seenServices.append(service.name);
            QStringList rootParts;
            QStringList seenRoots;
            for (const RootSnapshot& root : service.roots) {
                if (seenRoots.contains(root.name))
                    continue;
                seenRoots.append(root.name);
                rootParts.append(QStringLiteral("%1@%2").arg(root.name).arg(root.version));
            }
            serviceParts.append(
                QStringLiteral("%1=%2[%3]").arg(service.name).arg(service.stats.used).arg(rootParts.join(',')));
        }
        tenantParts.append(QStringLiteral("%1{%2}").arg(tenant.name, serviceParts.join(',')));
    }
    return tenantParts.join(',');
}

// A broker's subtree in a model, in the same notation (roles: NameRole, UsedRole, VersionRole).
inline QString dumpTenants(
    const QAbstractItemModel& model, const QModelIndex& broker, int nameRole, int usedRole, int versionRole)
{
    QStringList tenantParts;
    for (int t = 0; t < model.rowCount(broker); ++t) {
        const QModelIndex tenant = model.index(t, 0, broker);
        QStringList serviceParts;
        for (int s = 0; s < model.rowCount(tenant); ++s) {
            const QModelIndex service = model.index(s, 0, tenant);
            QStringList rootParts;
            for (int r = 0; r < model.rowCount(service); ++r) {
                const QModelIndex root = model.index(r, 0, service);
                rootParts.append(QStringLiteral("%1@%2")
                                     .arg(root.data(nameRole).toString())
                                     .arg(root.data(versionRole).toULongLong()));
            }
            serviceParts.append(QStringLiteral("%1=%2[%3]")
                                    .arg(service.data(nameRole).toString())
                                    .arg(service.data(usedRole).toULongLong())
                                    .arg(rootParts.join(',')));
        }
        tenantParts.append(QStringLiteral("%1{%2}").arg(tenant.data(nameRole).toString(), serviceParts.join(',')));
    }
    return tenantParts.join(',');
}

// Counts a model's change signals.
class ModelSignals {
public:
    explicit ModelSignals(QAbstractItemModel* model)
        : inserted(model, &QAbstractItemModel::rowsInserted)
        , removed(model, &QAbstractItemModel::rowsRemoved)
        , moved(model, &QAbstractItemModel::rowsMoved)
        , changed(model, &QAbstractItemModel::dataChanged)
        , reset(model, &QAbstractItemModel::modelReset)
        , layout(model, &QAbstractItemModel::layoutChanged)
    {
    }

    void clear()
    {
        inserted.clear();
        removed.clear();
        moved.clear();
        changed.clear();
        reset.clear();
        layout.clear();
    }

    QSignalSpy inserted;
    QSignalSpy removed;
    QSignalSpy moved;
    QSignalSpy changed;
    QSignalSpy reset;
    QSignalSpy layout;
};

} // namespace commy::monitor::test
