#include "service_regions.h"

#include <commy/shm/container_txn.h>
#include <commy/shm/shared_string.h>

#include <QDir>
#include <QFile>

#include <string>

namespace commy::broker {

using protocol::ErrorCode;
using shm::BatchGuard;
using shm::Region;
using shm::RegionError;
using shm::SharedString;

namespace {

std::string utf8(const QString& text) { return text.toStdString(); }

QString variableLabel(const QString& variable) { return QStringLiteral("variable '%1'").arg(variable); }

// Reads value and version under the variable's lock, so the pair belongs together.
BrokerExpected<VariableValue> readLocked(const SharedString& string, const QString& variable)
{
    auto guard = BatchGuard::lock(string);
    if (!guard)
        return regionFailure(guard.error(), variableLabel(variable));
    auto text = string.toStd();
    if (!text)
        return regionFailure(text.error(), variableLabel(variable));
    return VariableValue { variable, QByteArray(text->data(), qsizetype(text->size())), qint64(string.version()) };
}

} // namespace

struct ServiceRegions::Open {
    std::unique_ptr<Region> region;
    std::uint64_t cursor = 0; // change-journal sequence read up to
    std::map<std::uint64_t, QString> rootNames; // root offset -> variable name
    // Root offset -> newest version already pushed (by takeChanges() or by a broker write), so a
    // change the broker itself made, or one already read, costs no second read. A variable destroyed
    // and re-created by a local process at the same offset with a lower version would be missed
    // until it passes the old version; the broker's own DeallocateVariable forgets the entry.
    std::map<std::uint64_t, std::uint64_t> reported;
};

ServiceRegions::ServiceRegions(QString dataDir)
    : m_dataDir(std::move(dataDir))
{
}

ServiceRegions::~ServiceRegions() = default;

QString ServiceRegions::regionPath(const ServiceKey& key) const
{
    return QDir(m_dataDir).absoluteFilePath(QStringLiteral("tenants/%1/%2.region").arg(key.tenant, key.service));
}

BrokerExpected<void> ServiceRegions::create(const ServiceKey& key, qint64 size, qint64 limit)
{
    const QString path = regionPath(key);
    if (!QDir().mkpath(QFileInfo(path).absolutePath()))
        return fail(ErrorCode::InternalError, QStringLiteral("cannot create the directory of %1").arg(key.text()));
    QFile::setPermissions(QFileInfo(path).absolutePath(), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    shm::RegionOptions options;
    options.mode = shm::OpenMode::CreateOnly;
    options.size = std::uint64_t(size);
    options.limit = std::uint64_t(qMax(size, limit));
    options.autoGrow = limit > size;
    auto region = Region::open(utf8(path), options);
    if (!region)
        return regionFailure(region.error(), QStringLiteral("service '%1'").arg(key.text()));
    return {};
}

void ServiceRegions::remove(const ServiceKey& key)
{
    m_open.erase(key);
    QFile::remove(regionPath(key));
    QDir(m_dataDir).rmdir(QStringLiteral("tenants/%1").arg(key.tenant)); // only when empty
}

void ServiceRegions::removeTenant(const QString& tenant)
{
    for (auto it = m_open.begin(); it != m_open.end();)
        it = it->first.tenant == tenant ? m_open.erase(it) : std::next(it);
    QDir(QDir(m_dataDir).absoluteFilePath(QStringLiteral("tenants/%1").arg(tenant))).removeRecursively();
}

BrokerExpected<ServiceRegions::Open*> ServiceRegions::openRegion(const ServiceKey& key)
{
    if (auto it = m_open.find(key); it != m_open.end())
        return it->second.get();
    shm::RegionOptions options;
    options.mode = shm::OpenMode::OpenExisting;
    auto region = Region::open(utf8(regionPath(key)), options);
    if (!region)
        return regionFailure(region.error(), QStringLiteral("region of service '%1'").arg(key.text()));
    if (auto attached = (*region)->attach("commyd"); !attached)
        return regionFailure(attached.error(), QStringLiteral("region of service '%1'").arg(key.text()));
    auto open = std::make_unique<Open>();
    open->region = std::move(*region);
    open->cursor = open->region->changeSequence();
    Open* raw = open.get();
    m_open.emplace(key, std::move(open));
    return raw;
}

BrokerExpected<Region*> ServiceRegions::region(const ServiceKey& key)
{
    auto open = openRegion(key);
    if (!open)
        return unexpected(open.error());
    return (*open)->region.get();
}

bool ServiceRegions::isOpen(const ServiceKey& key) const { return m_open.count(key) != 0; }

std::uint64_t ServiceRegions::changeCursor(const ServiceKey& key) const
{
    const auto it = m_open.find(key);
    return it == m_open.end() ? 0 : it->second->cursor;
}

std::optional<std::uint32_t> ServiceRegions::writerSlot(const ServiceKey& key) const
{
    const auto it = m_open.find(key);
    if (it == m_open.end() || !it->second->region->attached())
        return std::nullopt;
    return it->second->region->slot();
}

std::vector<ServiceKey> ServiceRegions::openKeys() const
{
    std::vector<ServiceKey> keys;
    for (const auto& [key, open] : m_open)
        keys.push_back(key);
    return keys;
}

BrokerExpected<qint64> ServiceRegions::allocate(const ServiceKey& key, const QString& variable, const QByteArray& value)
{
    auto region = this->region(key);
    if (!region)
        return unexpected(region.error());
    auto string = SharedString::fromStrIn(**region, utf8(variable), std::string_view(value.data(), value.size()));
    if (!string)
        return regionFailure(string.error(), variableLabel(variable));
    const std::uint64_t version = string->version();
    m_open.at(key)->reported[string->handle().ref().offset()] = version;
    return qint64(version);
}

BrokerExpected<qint64> ServiceRegions::write(
    const ServiceKey& key, const QString& variable, const QByteArray& value, std::optional<qint64> expectedVersion)
{
    auto region = this->region(key);
    if (!region)
        return unexpected(region.error());
    auto string = SharedString::attach(**region, utf8(variable));
    if (!string)
        return regionFailure(string.error(), variableLabel(variable));
    auto guard = BatchGuard::lock(*string);
    if (!guard)
        return regionFailure(guard.error(), variableLabel(variable));
    if (expectedVersion && qint64(string->version()) != *expectedVersion)
        return fail(ErrorCode::InvalidRequest,
            QStringLiteral("%1 has version %2, not the expected %3")
                .arg(variableLabel(variable))
                .arg(string->version())
                .arg(*expectedVersion));
    if (auto assigned = string->assign(std::string_view(value.data(), value.size())); !assigned)
        return regionFailure(assigned.error(), variableLabel(variable));
    const std::uint64_t version = string->version();
    m_open.at(key)->reported[string->handle().ref().offset()] = version;
    return qint64(version);
}

BrokerExpected<VariableValue> ServiceRegions::read(const ServiceKey& key, const QString& variable)
{
    auto region = this->region(key);
    if (!region)
        return unexpected(region.error());
    auto string = SharedString::attach(**region, utf8(variable));
    if (!string)
        return regionFailure(string.error(), variableLabel(variable));
    return readLocked(*string, variable);
}

BrokerExpected<void> ServiceRegions::deallocate(const ServiceKey& key, const QString& variable)
{
    auto region = this->region(key);
    if (!region)
        return unexpected(region.error());
    auto root = (*region)->findRoot(utf8(variable));
    if (auto destroyed = SharedString::destroy(**region, utf8(variable)); !destroyed)
        return regionFailure(destroyed.error(), variableLabel(variable));
    if (root)
        m_open.at(key)->reported.erase(root->offset);
    return {};
}

BrokerExpected<bool> ServiceRegions::exists(const ServiceKey& key, const QString& variable)
{
    auto region = this->region(key);
    if (!region)
        return unexpected(region.error());
    auto root = (*region)->findRoot(utf8(variable));
    if (!root && root.error() == RegionError::RootNotFound)
        return false;
    if (!root)
        return regionFailure(root.error(), variableLabel(variable));
    return root->kind == SharedString::kKind;
}

BrokerExpected<std::vector<protocol::VariableInfo>> ServiceRegions::list(const ServiceKey& key)
{
    auto region = this->region(key);
    if (!region)
        return unexpected(region.error());
    auto roots = (*region)->roots();
    if (!roots)
        return regionFailure(roots.error(), QStringLiteral("service '%1'").arg(key.text()));
    std::vector<protocol::VariableInfo> variables;
    for (const shm::RootInfo& root : *roots) {
        // Other roots (a local program's own containers) live beside the variables; list only ours.
        if (root.kind != SharedString::kKind)
            continue;
        const QString name = QString::fromStdString(root.name);
        auto string = SharedString::attach(**region, root.name);
        if (!string)
            continue; // destroyed by a local process since roots() was read
        auto size = string->size();
        variables.push_back({ name, size ? qint64(*size) : 0, qint64(string->version()) });
    }
    return variables;
}

std::optional<QString> ServiceRegions::nameOfRoot(Open& open, std::uint64_t rootOffset)
{
    if (auto it = open.rootNames.find(rootOffset); it != open.rootNames.end())
        return it->second;
    auto roots = open.region->roots();
    if (!roots)
        return std::nullopt;
    open.rootNames.clear();
    for (const shm::RootInfo& root : *roots)
        if (root.kind == SharedString::kKind)
            open.rootNames.emplace(root.offset, QString::fromStdString(root.name));
    if (auto it = open.rootNames.find(rootOffset); it != open.rootNames.end())
        return it->second;
    return std::nullopt;
}

BrokerExpected<std::vector<VariableValue>> ServiceRegions::takeChanges(const ServiceKey& key)
{
    auto found = openRegion(key);
    if (!found)
        return unexpected(found.error());
    Open& open = **found;
    auto batch = open.region->changesSince(open.cursor);
    if (!batch)
        return regionFailure(batch.error(), QStringLiteral("change journal of '%1'").arg(key.text()));
    open.cursor = batch->sequence;

    // Names to read, each with the root offset its change named.
    std::vector<std::pair<QString, std::uint64_t>> toRead;
    auto wanted = [&](std::uint64_t offset, std::uint64_t version) {
        auto known = open.reported.find(offset);
        return known == open.reported.end() || known->second < version;
    };
    if (batch->missed) {
        auto roots = open.region->roots();
        if (!roots)
            return regionFailure(roots.error(), QStringLiteral("service '%1'").arg(key.text()));
        for (const shm::RootInfo& root : *roots)
            if (root.kind == SharedString::kKind && wanted(root.offset, root.version))
                toRead.emplace_back(QString::fromStdString(root.name), root.offset);
    } else {
        for (const shm::RootChange& change : batch->changes) {
            if (!wanted(change.rootOffset, change.version))
                continue;
            const std::optional<QString> name = nameOfRoot(open, change.rootOffset);
            const bool listed = std::any_of(
                toRead.begin(), toRead.end(), [&](const auto& entry) { return entry.second == change.rootOffset; });
            if (name && !listed)
                toRead.emplace_back(*name, change.rootOffset);
        }
    }

    std::vector<VariableValue> values;
    for (const auto& [name, offset] : toRead) {
        auto string = SharedString::attach(*open.region, utf8(name));
        if (!string || string->handle().ref().offset() != offset) {
            open.rootNames.clear(); // destroyed (and perhaps re-created elsewhere) since
            continue;
        }
        auto value = readLocked(*string, name);
        if (!value || !wanted(offset, std::uint64_t(value->version)))
            continue;
        open.reported[offset] = std::uint64_t(value->version);
        values.push_back(std::move(*value));
    }
    return values;
}

void ServiceRegions::flush()
{
    for (auto& [key, open] : m_open)
        (void)open->region->flush();
}

} // namespace commy::broker
