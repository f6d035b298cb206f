#include "views_fixture.h"

#include <QDateTime>
#include <QDir>
#include <QImage>
#include <QQuickItem>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSet>
#include <QTest>
#include <QTimer>

#include <cmath>

namespace commy::monitor::test {

namespace {

constexpr quint64 kMiB = 1024 * 1024;

RegionStats statsOf(quint64 size, double usage, double fragmentation, quint64 blocks)
{
    RegionStats stats;
    stats.size = size;
    stats.limit = size * 4;
    stats.used = quint64(double(size) * usage);
    stats.free = size - stats.used;
    stats.largestFree = quint64(double(stats.free) * (1 - fragmentation));
    stats.fragmentation = fragmentation;
    stats.usedBlocks = blocks;
    stats.freeBlocks = blocks / 5;
    stats.generation = 3;
    return stats;
}

RootSnapshot root(const QString& name, const QString& kind, const QString& type, quint64 length, quint64 version)
{
    return RootSnapshot { name, kind, type, length * 16 + 64, length, version };
}

BrokerSnapshot localBroker()
{
    BrokerSnapshot broker;
    broker.id = QStringLiteral("local");
    broker.url = QStringLiteral("ws://127.0.0.1:7700");
    broker.version = QStringLiteral("0.1.0");
    broker.uptimeMs = 3 * 3600 * 1000 + 17 * 60 * 1000;
    broker.sessionCount = 5;
    broker.tenants = {
        { QStringLiteral("acme"),
            {
                { QStringLiteral("orders"), statsOf(64 * kMiB, 0.62, 0.38, 4210),
                    { root(QStringLiteral("prices"), QStringLiteral("hashmap"), QStringLiteral("hashmap<string,f64>"),
                          5000, 42),
                        root(QStringLiteral("queue"), QStringLiteral("vec"), QStringLiteral("vec<i64>"), 1200, 977),
                        root(QStringLiteral("status"), QStringLiteral("string"), QStringLiteral("string"), 24, 8) } },
                { QStringLiteral("billing"), statsOf(16 * kMiB, 0.81, 0.12, 880),
                    { root(
                        QStringLiteral("invoices"), QStringLiteral("vec"), QStringLiteral("vec<bytes>"), 310, 55) } },
                { QStringLiteral("inventory"), statsOf(32 * kMiB, 0.35, 0.05, 1500), {} },
            } },
        { QStringLiteral("globex"),
            {
                { QStringLiteral("telemetry"), statsOf(256 * kMiB, 0.93, 0.61, 18000),
                    { root(QStringLiteral("samples"), QStringLiteral("vec"), QStringLiteral("vec<f32>"), 250000,
                        10233) } },
                { QStringLiteral("search"), statsOf(8 * kMiB, 0.18, 0.0, 90), {} },
            } },
        { QStringLiteral("initech"), { { QStringLiteral("reports"), statsOf(4 * kMiB, 0.5, 0.2, 64), {} } } },
    };
    return broker;
}

BrokerSnapshot stagingBroker()
{
    BrokerSnapshot broker;
    broker.id = QStringLiteral("staging");
    broker.url = QStringLiteral("wss://staging.example:7700");
    broker.version = QStringLiteral("0.1.0");
    broker.uptimeMs = 5 * 24 * 3600 * 1000LL;
    broker.sessionCount = 2;
    broker.tenants
        = { { QStringLiteral("qa"), { { QStringLiteral("smoke"), statsOf(2 * kMiB, 0.72, 0.3, 40), {} } } } };
    return broker;
}

// A region that has seen allocations and frees: used runs (some still owned by their process) with
// free holes of assorted sizes between them.
std::vector<BlockSnapshot> sampleBlocks()
{
    QRandomGenerator random(7);
    std::vector<BlockSnapshot> result;
    quint64 offset = 4096;
    const quint64 end = 64 * kMiB;
    while (offset < end) {
        BlockSnapshot block;
        block.offset = offset;
        const bool free = random.bounded(100) < 22;
        const int exponent = free ? 6 + int(random.bounded(14)) : 6 + int(random.bounded(12));
        block.size = std::min<quint64>((quint64(1) << exponent) + random.bounded(64) * 16, end - offset);
        block.free = free;
        if (!free && random.bounded(100) < 25)
            block.ownerSlot = random.bounded(6);
        result.push_back(block);
        offset += block.size;
    }
    return result;
}

QList<ProcessSnapshot> processTable(int tick)
{
    const auto age = [tick](int base, int jitter) { return qint64(base + (tick * 37 + jitter * 11) % jitter); };
    return {
        { 0, 41217, QStringLiteral("order-router"), age(120, 180), Liveness::Alive },
        { 1, 41230, QStringLiteral("pricing-engine"), age(90, 240), Liveness::Alive },
        { 2, 41288, QStringLiteral("fulfilment-worker-1"), age(200, 300), Liveness::Alive },
        { 3, 41302, QStringLiteral("fulfilment-worker-2"), tick > 20 ? 2400 + tick * 150 : age(150, 200),
            tick > 20 ? Liveness::Stale : Liveness::Alive },
        { 4, 39811, QStringLiteral("audit-exporter"), tick > 10 ? 9000 + tick * 1000 : age(100, 200),
            tick > 30       ? Liveness::Dead
                : tick > 10 ? Liveness::Stale
                            : Liveness::Alive },
        { 5, 41377, QStringLiteral("cache-warmer"), age(300, 500), Liveness::Alive },
    };
}

} // namespace

void FakeConnectionModel::add(const Connection& connection)
{
    beginInsertRows({}, int(m_rows.size()), int(m_rows.size()));
    m_rows.append(connection);
    endInsertRows();
    emit countChanged();
}

int FakeConnectionModel::find(const QString& name) const
{
    for (int i = 0; i < m_rows.size(); ++i) {
        if (m_rows[i].name == name)
            return i;
    }
    return -1;
}

bool FakeConnectionModel::remove(const QString& name)
{
    const int row = find(name);
    if (row < 0)
        return false;
    beginRemoveRows({}, row, row);
    m_rows.removeAt(row);
    endRemoveRows();
    emit countChanged();
    return true;
}

bool FakeConnectionModel::update(const QString& oldName, const Connection& connection)
{
    const int row = find(oldName);
    if (row < 0)
        return false;
    m_rows[row] = connection;
    emit dataChanged(index(row), index(row));
    return true;
}

int FakeConnectionModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_rows.size()); }

QVariant FakeConnectionModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Connection& c = m_rows[index.row()];
    switch (role) {
    case Qt::DisplayRole:
    case NameRole:
        return c.name;
    case UrlRole:
        return c.url;
    case StatusRole:
        return c.status;
    case StatusTextRole:
        return c.statusText;
    case RttRole:
        return c.rttMs;
    case KeySavedRole:
        return c.keySaved;
    case ScopesRole:
        return c.scopes;
    }
    return {};
}

QHash<int, QByteArray> FakeConnectionModel::roleNames() const
{
    return { { NameRole, "name" }, { UrlRole, "url" }, { StatusRole, "status" }, { StatusTextRole, "statusText" },
        { RttRole, "rttMs" }, { KeySavedRole, "keySaved" }, { ScopesRole, "scopes" } };
}

FakeRegion::FakeRegion(QObject* parent)
    : QObject(parent)
{
    const RegionStats stats = statsOf(64 * kMiB, 0.62, 0.38, 4210);
    m_stats = {
        { QStringLiteral("size"), double(stats.size) },
        { QStringLiteral("limit"), double(stats.limit) },
        { QStringLiteral("used"), double(stats.used) },
        { QStringLiteral("free"), double(stats.free) },
        { QStringLiteral("largestFree"), double(stats.largestFree) },
        { QStringLiteral("usedBlocks"), double(stats.usedBlocks) },
        { QStringLiteral("freeBlocks"), double(stats.freeBlocks) },
        { QStringLiteral("generation"), double(stats.generation) },
        { QStringLiteral("fragmentation"), stats.fragmentation },
        { QStringLiteral("usage"), stats.usage() },
    };
    // Five minutes at one sample a second: usage creeping up with the workload, fragmentation
    // following the frees.
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (int i = 0; i < 300; ++i) {
        const double t = i / 300.0;
        m_history.append(QVariantMap {
            { QStringLiteral("time"), double(now - (299 - i) * 1000) },
            { QStringLiteral("usage"), 0.48 + 0.14 * t + 0.03 * std::sin(i / 9.0) },
            { QStringLiteral("fragmentation"), 0.22 + 0.16 * t + 0.06 * std::sin(i / 23.0 + 1) },
        });
    }
    m_histogram.setBlockMap(&m_blockMap);
    m_blockMap.setBlocks(sampleBlocks());
    m_processes.setHistoryLength(40);
    for (int tick = 0; tick < 40; ++tick)
        m_processes.setProcesses(processTable(tick));
    m_sessions.setSessions({
        { QStringLiteral("127.0.0.1:52114"), { QStringLiteral("acme") }, 3, 0 },
        { QStringLiteral("127.0.0.1:52120"), { QStringLiteral("acme"), QStringLiteral("globex") }, 12, 2048 },
        { QStringLiteral("10.0.4.17:40022"), { QStringLiteral("globex") }, 48, 3 * qint64(kMiB) },
        { QStringLiteral("10.0.4.18:40510"), {}, 1, 0 },
        { QStringLiteral("127.0.0.1:52311"), { QStringLiteral("initech") }, 2, 512 },
    });
}

void FakeRegion::refreshBlockMap()
{
    ++m_refreshCount;
    emit changed();
}

FakeContainer::FakeContainer(QObject* parent)
    : QObject(parent)
{
    m_elements.setPageSize(50);
    m_elements.setSource(
        [this](quint64 offset, quint64 limit, const ContainerElementsModel::PageCallback& done) {
            ++m_fetches;
            emit changed();
            ElementPage page;
            page.offset = offset;
            page.length = m_length;
            page.version = m_version;
            for (quint64 i = offset; i < std::min(offset + limit, m_length); ++i) {
                const QString symbol = QStringLiteral("SYM%1").arg(i, 4, 10, QLatin1Char('0'));
                page.elements.append({ i, true, symbol, QString::number(100 + double(i % 997) * 0.25, 'f', 2) });
            }
            done(page);
        },
        m_length, m_version);
}

QString FakeContainer::hexOf(const QString& value) const
{
    const QByteArray bytes = value.toUtf8();
    QStringList lines;
    for (qsizetype at = 0; at < bytes.size(); at += 16) {
        const QByteArray chunk = bytes.mid(at, 16);
        lines.append(
            QStringLiteral("%1  %2").arg(at, 8, 16, QLatin1Char('0')).arg(QString::fromLatin1(chunk.toHex(' '))));
    }
    return lines.join(QLatin1Char('\n'));
}

QString FakeOperations::validateSize(const QString& text) const
{
    static const QRegularExpression size(QStringLiteral("^\\d+[KMG]?$"));
    return size.match(text.trimmed()).hasMatch() ? QString() : QStringLiteral("not a size: %1").arg(text);
}

QString FakeOperations::describe(const QString& operation, const QString& sizeText) const
{
    if (operation == QLatin1String("resize"))
        return QStringLiteral("Grow acme/orders from 64 MiB to %1.").arg(sizeText);
    if (operation == QLatin1String("shrink"))
        return QStringLiteral("Shrink acme/orders to its used size.");
    return QStringLiteral("Reclaim the blocks of dead processes in acme/orders.");
}

void FakeOperations::resize(const QString& sizeText)
{
    run(QStringLiteral("resize ") + sizeText, QStringLiteral("resized to ") + sizeText);
}

void FakeOperations::shrink() { run(QStringLiteral("shrink"), QStringLiteral("shrunk by 12.0 MiB")); }

void FakeOperations::cleanup()
{
    run(QStringLiteral("cleanup"), QStringLiteral("reclaimed 3 blocks (1.2 KiB) of 1 dead process"));
}

void FakeOperations::run(const QString& call, const QString& report)
{
    m_lastCall = call;
    m_busy = true;
    m_lastReport.clear();
    m_lastError.clear();
    emit changed();
    QTimer::singleShot(30, this, [this, report] {
        m_busy = false;
        const bool ok = m_failWith.isEmpty();
        if (ok)
            m_lastReport = report;
        else
            m_lastError = m_failWith;
        m_failWith.clear();
        emit changed();
        emit finished(ok);
    });
}

FakeMonitor::FakeMonitor(QObject* parent)
    : QObject(parent)
{
    m_hierarchy.setBroker(localBroker());
    m_hierarchy.setBroker(stagingBroker());
    m_hierarchyFilter.setSourceModel(&m_hierarchy);
    m_eventFilter.setSourceModel(&m_events);
    m_connections.add({ QStringLiteral("local"), QStringLiteral("ws://127.0.0.1:7700"), 2, QStringLiteral("Connected"),
        2, false, { QStringLiteral("server_admin") } });
    m_connections.add({ QStringLiteral("staging"), QStringLiteral("wss://staging.example:7700"), 5,
        QStringLiteral("Reconnecting in 4 s (connection refused)"), -1, true, { QStringLiteral("read") } });
    m_connections.add({ QStringLiteral("prod-eu"), QStringLiteral("wss://prod-eu.example:7700"), 3,
        QStringLiteral("Authentication failed: unknown key"), -1, false, {} });
    m_keychainMessage = QStringLiteral("No keychain service is running: keys are kept for this session only.");

    const QDateTime start = QDateTime::currentDateTime().addSecs(-120);
    const QList<EventRecord> events {
        { start, EventKind::Connection, QStringLiteral("local"), QStringLiteral("connected to ws://127.0.0.1:7700") },
        { start.addMSecs(800), EventKind::Connection, QStringLiteral("prod-eu"),
            QStringLiteral("authentication failed: unknown key") },
        { start.addSecs(3), EventKind::Variable, QStringLiteral("local/acme/orders/prices"),
            QStringLiteral("version 41 → 42, 5000 elements") },
        { start.addSecs(5), EventKind::Variable, QStringLiteral("local/acme/orders/queue"),
            QStringLiteral("version 976 → 977, 1200 elements") },
        { start.addSecs(9), EventKind::Process, QStringLiteral("local/acme/orders"),
            QStringLiteral("audit-exporter (pid 39811) is stale: no heartbeat for 9.0 s") },
        { start.addSecs(14), EventKind::Operation, QStringLiteral("local/acme/billing"),
            QStringLiteral("resize to 16 MiB: ok") },
        { start.addSecs(20), EventKind::Variable, QStringLiteral("local/globex/telemetry/samples"),
            QStringLiteral("version 10232 → 10233") },
        { start.addSecs(31), EventKind::Process, QStringLiteral("local/acme/orders"),
            QStringLiteral("audit-exporter (pid 39811) is dead") },
        { start.addSecs(33), EventKind::Error, QStringLiteral("staging"),
            QStringLiteral("connection refused; reconnecting in 4 s") },
        { start.addSecs(40), EventKind::Variable, QStringLiteral("local/acme/orders/status"),
            QStringLiteral("version 7 → 8") },
        { start.addSecs(52), EventKind::Process, QStringLiteral("local/acme/orders"),
            QStringLiteral("fulfilment-worker-2 (pid 41302) is stale") },
        { start.addSecs(60), EventKind::Operation, QStringLiteral("local/acme/orders"),
            QStringLiteral("cleanup: reclaimed 3 blocks of 1 dead process") },
    };
    m_events.append(events);
    m_selectedPath = { QStringLiteral("local"), QStringLiteral("acme"), QStringLiteral("orders") };
}

QString FakeMonitor::addConnection(const QString& name, const QString& url, const QString& key, bool saveKey)
{
    m_lastCall = QStringLiteral("add %1 %2 %3 %4")
                     .arg(name, url, key, saveKey ? QStringLiteral("save") : QStringLiteral("session"));
    emit changed();
    if (m_connections.find(name) >= 0)
        return QStringLiteral("a broker named %1 exists").arg(name);
    if (!url.startsWith(QLatin1String("ws://")) && !url.startsWith(QLatin1String("wss://")))
        return QStringLiteral("not a ws:// or wss:// URL: %1").arg(url);
    m_connections.add({ name, url, 1, QStringLiteral("Connecting"), -1, saveKey, {} });
    return {};
}

QString FakeMonitor::updateConnection(
    const QString& oldName, const QString& name, const QString& url, const QString& key, bool saveKey)
{
    m_lastCall = QStringLiteral("update %1 %2 %3 %4").arg(oldName, name, url, key);
    emit changed();
    return m_connections.update(oldName, { name, url, 1, QStringLiteral("Connecting"), -1, saveKey, {} })
        ? QString()
        : QStringLiteral("no broker named %1").arg(oldName);
}

void FakeMonitor::removeConnection(const QString& name)
{
    m_lastCall = QStringLiteral("remove ") + name;
    m_connections.remove(name);
    emit changed();
}

void FakeMonitor::reconnect(const QString& name)
{
    m_lastCall = QStringLiteral("reconnect ") + name;
    emit changed();
}

void FakeMonitor::select(const QStringList& path)
{
    m_lastCall = QStringLiteral("select ") + path.join(QLatin1Char('/'));
    m_selectedPath = path;
    emit changed();
    emit selectedPathChanged();
}

void FakeMonitor::addBroker(const QString& id, int tenants, int services)
{
    BrokerSnapshot broker;
    broker.id = id;
    broker.url = QStringLiteral("ws://127.0.0.1:1/") + id;
    broker.version = QStringLiteral("0.1.0");
    for (int t = 0; t < tenants; ++t) {
        TenantSnapshot tenant { QStringLiteral("t%1").arg(t), {} };
        for (int s = 0; s < services; ++s) {
            tenant.services.append({ QStringLiteral("s%1").arg(s),
                statsOf(kMiB, double((t * 7 + s * 13) % 100) / 100, double((t + s) % 50) / 100, 64), {} });
        }
        broker.tenants.append(tenant);
    }
    m_hierarchy.setBroker(broker);
}

void FakeMonitor::removeBroker(const QString& id) { m_hierarchy.removeBroker(id); }

ViewsFixture::ViewsFixture(QString screenshotDir, QObject* parent)
    : QObject(parent)
    , m_screenshotDir(std::move(screenshotDir))
{
}

QVariantMap ViewsFixture::grab(QObject* windowOrItem, const QString& name) const
{
    QQuickWindow* window = qobject_cast<QQuickWindow*>(windowOrItem);
    if (!window) {
        if (auto* item = qobject_cast<QQuickItem*>(windowOrItem))
            window = item->window();
    }
    if (!window)
        return {};
    const QImage image = window->grabWindow();
    if (image.isNull() || !QDir().mkpath(m_screenshotDir))
        return {};
    const QString path = QDir(m_screenshotDir).filePath(name + QStringLiteral(".png"));
    if (!image.save(path))
        return {};
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 7) {
        for (int x = 0; x < image.width(); x += 7)
            colours.insert(image.pixel(x, y));
    }
    return { { QStringLiteral("path"), path }, { QStringLiteral("width"), image.width() },
        { QStringLiteral("height"), image.height() }, { QStringLiteral("colours"), int(colours.size()) } };
}

bool ViewsFixture::keyClick(QObject* window, int key, int modifiers) const
{
    auto* quickWindow = qobject_cast<QQuickWindow*>(window);
    if (!quickWindow)
        return false;
    quickWindow->requestActivate();
    if (!QTest::qWaitForWindowActive(quickWindow))
        return false;
    QTest::keyClick(quickWindow, Qt::Key(key), Qt::KeyboardModifiers(modifiers));
    return true;
}

} // namespace commy::monitor::test
