#pragma once

// The broker's regions: one file per service, DATA_DIR/tenants/<tenant>/<service>.region, opened on
// first use and attached as "commyd". A variable is a SharedString root (bytes plus the container's
// version), so a write is one crash-safe container operation and lands in the region's change
// journal, exactly like a write a local process makes through its own mapping.

#include "broker_error.h"

#include <commy/protocol/messages.h>
#include <commy/shm/region.h>

#include <QString>

#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace commy::broker {

// A service's region, named the way the broker keys everything: "<tenant>/<service>".
struct ServiceKey {
    QString tenant;
    QString service;
    QString text() const { return tenant + QLatin1Char('/') + service; }
    bool operator==(const ServiceKey&) const = default;
    bool operator<(const ServiceKey& other) const
    {
        return tenant != other.tenant ? tenant < other.tenant : service < other.service;
    }
};

struct VariableValue {
    QString name;
    QByteArray value;
    qint64 version = 0;
};

class ServiceRegions {
public:
    explicit ServiceRegions(QString dataDir);
    ~ServiceRegions();
    ServiceRegions(const ServiceRegions&) = delete;
    ServiceRegions& operator=(const ServiceRegions&) = delete;

    QString regionPath(const ServiceKey& key) const;

    // Creates the region file; it grows on demand up to `limit` when that is above `size`.
    BrokerExpected<void> create(const ServiceKey& key, qint64 size, qint64 limit);
    // Closes and deletes the file (and the tenant's directory once it is empty).
    void remove(const ServiceKey& key);
    void removeTenant(const QString& tenant);
    BrokerExpected<shm::Region*> region(const ServiceKey& key);
    bool isOpen(const ServiceKey& key) const;
    std::vector<ServiceKey> openKeys() const;

    // allocate() and write() count the version they wrote as reported: the broker pushes it itself,
    // so takeChanges() does not report it again.
    BrokerExpected<qint64> allocate(const ServiceKey& key, const QString& variable, const QByteArray& value);
    // With `expectedVersion`, writes only if the variable still has that version.
    BrokerExpected<qint64> write(
        const ServiceKey& key, const QString& variable, const QByteArray& value, std::optional<qint64> expectedVersion);
    BrokerExpected<VariableValue> read(const ServiceKey& key, const QString& variable);
    BrokerExpected<void> deallocate(const ServiceKey& key, const QString& variable);
    BrokerExpected<std::vector<protocol::VariableInfo>> list(const ServiceKey& key);
    BrokerExpected<bool> exists(const ServiceKey& key, const QString& variable);

    // The variables changed since the last call for this service (newest value of each), read from
    // the region's change journal. When the journal overwrote changes before they were read, every
    // variable whose version moved is reported instead, so nothing is lost.
    BrokerExpected<std::vector<VariableValue>> takeChanges(const ServiceKey& key);
    // The change-journal sequence takeChanges() has read up to (0 when the region is not open).
    std::uint64_t changeCursor(const ServiceKey& key) const;
    // The process slot the broker writes this service's region from (nullopt when it is not open).
    std::optional<std::uint32_t> writerSlot(const ServiceKey& key) const;

    void flush();

private:
    struct Open;
    BrokerExpected<Open*> openRegion(const ServiceKey& key);
    std::optional<QString> nameOfRoot(Open& open, std::uint64_t rootOffset);

    QString m_dataDir;
    std::map<ServiceKey, std::unique_ptr<Open>> m_open;
};

} // namespace commy::broker
