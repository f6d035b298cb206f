// The monitor's models at scale, driven with synthetic snapshots the way its controllers will drive
// them on the GUI thread: 1,000 tenants x 10 services (x 4 roots) on one broker, every service's
// region stats changing 10 times a second.
//
// A tick is the work the GUI thread does for one batch of pushes. Two tick lengths:
//   frame (16 ms): the stats updates that arrive within one frame (1,667 services, random ones);
//   100 ms:        every service once (10,000 updates).
// Each tick also applies one region's process table (32 processes), the broker's sessions (20) and
// 50 events. Timed: the model calls and everything their signals cause - a HierarchyFilterModel over
// the tree and a view probe that reads, like a view's delegates, the display and usage of the changed
// rows that are on screen (the top-level rows and the first 20 tenants, expanded). Building the
// synthetic snapshots is not timed.
//
// Also: the whole tree diffed in each tick (setBroker; what a GetTree every tick would cost), with a
// tenant added and one removed every 10th tick; peak RSS; and the fragmentation map of 10^6 blocks.
//
// Usage: bench_monitor_models [--tenants N] [--services N] [--roots N] [--ticks N] [--blocks N]
//                             [--only load|frame|tick|filtered|tree|map]
// Results: docs/benchmarks.md ("Monitor").

#include <monitor/block_map.h>
#include <monitor/block_map_item.h>
#include <monitor/block_map_renderer.h>
#include <monitor/models/event_model.h>
#include <monitor/models/free_block_histogram_model.h>
#include <monitor/models/hierarchy_filter_model.h>
#include <monitor/models/hierarchy_model.h>
#include <monitor/models/process_model.h>
#include <monitor/models/roles.h>
#include <monitor/models/session_model.h>

#include <QElapsedTimer>
#include <QGuiApplication>
#include <QRandomGenerator>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include <sys/resource.h>
#include <time.h>

using namespace commy::monitor;

namespace {

struct Options {
    int tenants = 1000;
    int services = 10;
    int roots = 4;
    int ticks = 300;
    int blocks = 1'000'000;
    QString only; // run one part: load, frame, tick, filtered, tree, map
};

double peakRssMb()
{
    rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0; // KiB on Linux
}

double currentRssMb()
{
    FILE* statm = std::fopen("/proc/self/statm", "r");
    if (!statm)
        return 0;
    long pages = 0;
    long resident = 0;
    const int read = std::fscanf(statm, "%ld %ld", &pages, &resident);
    std::fclose(statm);
    return read == 2 ? double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0) : 0;
}

// GUI-thread work: the CPU time of this thread (what the work costs, whatever else the machine runs)
// beside the wall time (what it took here, other processes included).
class Stopwatch {
public:
    Stopwatch()
    {
        m_wall.start();
        m_cpu = threadCpuNs();
    }
    double cpuMs() const { return double(threadCpuNs() - m_cpu) / 1e6; }
    double wallMs() const { return double(m_wall.nsecsElapsed()) / 1e6; }

private:
    static qint64 threadCpuNs()
    {
        timespec ts {};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return qint64(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    }
    QElapsedTimer m_wall;
    qint64 m_cpu = 0;
};

struct Percentiles {
    double p50 = 0;
    double p99 = 0;
    double max = 0;
    double mean = 0;
};

Percentiles percentiles(std::vector<double> samples)
{
    Percentiles p;
    if (samples.empty())
        return p;
    std::sort(samples.begin(), samples.end());
    const auto at
        = [&](double q) { return samples[std::min(samples.size() - 1, std::size_t(q * double(samples.size())))]; };
    p.p50 = at(0.50);
    p.p99 = at(0.99);
    p.max = samples.back();
    double sum = 0;
    for (const double s : samples)
        sum += s;
    p.mean = sum / double(samples.size());
    return p;
}

struct Timing {
    Percentiles cpu;
    Percentiles wall;
};

void printRow(const char* name, const Timing& t)
{
    std::printf("%-46s cpu p50 %7.2f p99 %7.2f max %7.2f | wall p50 %7.2f p99 %7.2f ms\n", name, t.cpu.p50, t.cpu.p99,
        t.cpu.max, t.wall.p50, t.wall.p99);
}

QString tenantName(int t) { return QStringLiteral("tenant-%1").arg(t, 4, 10, QLatin1Char('0')); }

RegionStats randomStats(QRandomGenerator& random)
{
    RegionStats stats;
    stats.size = 64ull << 20;
    stats.limit = 256ull << 20;
    stats.used = (1ull << 20) + random.bounded(60u << 20);
    stats.free = stats.size - stats.used - 4096;
    stats.largestFree = stats.free / (1 + random.bounded(8u));
    stats.fragmentation = 1.0 - double(stats.largestFree) / double(stats.free);
    stats.usedBlocks = stats.used / 256;
    stats.freeBlocks = 1 + random.bounded(500u);
    stats.generation = 1;
    return stats;
}

BrokerSnapshot buildBroker(const Options& options, QRandomGenerator& random, int firstTenant = 0)
{
    BrokerSnapshot broker;
    broker.id = QStringLiteral("bench");
    broker.url = QStringLiteral("ws://127.0.0.1:7000");
    broker.version = QStringLiteral("0.1.0");
    broker.tenants.reserve(options.tenants);
    for (int t = firstTenant; t < firstTenant + options.tenants; ++t) {
        TenantSnapshot tenant;
        tenant.name = tenantName(t);
        for (int s = 0; s < options.services; ++s) {
            ServiceSnapshot service;
            service.name = QStringLiteral("service-%1").arg(s);
            service.stats = randomStats(random);
            for (int r = 0; r < options.roots; ++r) {
                RootSnapshot root;
                root.name = QStringLiteral("root-%1").arg(r);
                root.kind = QStringLiteral("vec");
                root.type = QStringLiteral("vec<i64>");
                root.size = 4096;
                root.length = 512;
                root.version = 1;
                service.roots.append(root);
            }
            tenant.services.append(service);
        }
        broker.tenants.append(tenant);
    }
    return broker;
}

// Reads what a view's delegates would for the changed rows inside a viewport of about 50 rows: the
// broker, its first 4 tenants, and their services (those tenants expanded).
class ViewProbe : public QObject {
public:
    explicit ViewProbe(QAbstractItemModel* model)
        : m_model(model)
    {
        m_broker = model->index(0, 0);
        for (int t = 0; t < std::min(kExpandedTenants, model->rowCount(m_broker)); ++t) {
            const QModelIndex tenant = model->index(t, 0, m_broker);
            m_expanded.append(tenant);
            for (int s = 0; s < model->rowCount(tenant); ++s)
                read(model->index(s, 0, tenant));
        }
        connect(model, &QAbstractItemModel::dataChanged, this,
            [this](const QModelIndex& topLeft, const QModelIndex& bottomRight) { changed(topLeft, bottomRight); });
    }

    quint64 reads() const { return m_reads; }

private:
    static constexpr int kExpandedTenants = 4;

    void changed(const QModelIndex& topLeft, const QModelIndex& bottomRight)
    {
        const QModelIndex parent = topLeft.parent();
        int lastVisible = -1;
        if (!parent.isValid())
            lastVisible = 0;
        else if (parent == m_broker)
            lastVisible = kExpandedTenants - 1;
        else if (m_expanded.contains(parent))
            lastVisible = m_model->rowCount(parent) - 1;
        for (int row = topLeft.row(); row <= std::min(bottomRight.row(), lastVisible); ++row)
            read(m_model->index(row, 0, parent));
    }

    void read(const QModelIndex& index)
    {
        for (int column = 0; column < HierarchyModel::ColumnCount; ++column)
            index.siblingAtColumn(column).data();
        index.data(UsageRole);
        index.data(NameRole);
        ++m_reads;
    }

    QAbstractItemModel* m_model;
    QPersistentModelIndex m_broker;
    QList<QPersistentModelIndex> m_expanded;
    quint64 m_reads = 0;
};

QList<ProcessSnapshot> processes(int tick)
{
    QList<ProcessSnapshot> list;
    for (quint32 slot = 0; slot < 32; ++slot) {
        const qint64 age = qint64((slot * 37 + quint32(tick) * 13) % 900);
        list.append(ProcessSnapshot { slot, 1000 + slot, QStringLiteral("worker-%1").arg(slot), age,
            age > 800 ? Liveness::Stale : Liveness::Alive });
    }
    return list;
}

QList<SessionSnapshot> sessions(int tick)
{
    QList<SessionSnapshot> list;
    for (int i = 0; i < 20; ++i)
        list.append(SessionSnapshot { QStringLiteral("10.0.0.%1:5%2").arg(i).arg(i, 3, 10, QLatin1Char('0')),
            { tenantName(i) }, i % 4, qint64((tick * 31 + i * 7) % 4096) });
    return list;
}

QList<EventRecord> events(int tick)
{
    QList<EventRecord> list;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (int i = 0; i < 50; ++i)
        list.append(
            EventRecord { now, EventKind::Variable, QStringLiteral("%1/service-%2").arg(tenantName(i)).arg(i % 10),
                QStringLiteral("root-%1 changed to version %2").arg(i % 4).arg(tick) });
    return list;
}

struct TickResult {
    Timing ms;
    quint64 reads = 0;
};

// Delta ticks: `perTick` stats updates per tick (services picked at random, or all of them in order).
TickResult runDeltaTicks(const Options& options, int perTick, const QString& filterText)
{
    QRandomGenerator random(42);
    HierarchyModel model;
    HierarchyFilterModel filter;
    filter.setSourceModel(&model);
    filter.setFilterText(filterText);
    ProcessModel processModel;
    SessionModel sessionModel;
    EventModel eventModel;
    model.setBroker(buildBroker(options, random));
    ViewProbe probe(&filter);

    const int services = options.tenants * options.services;
    std::vector<double> cpu;
    std::vector<double> wall;
    QList<QString> tenantNames;
    for (int t = 0; t < options.tenants; ++t)
        tenantNames.append(tenantName(t));
    QList<QString> serviceNames;
    for (int s = 0; s < options.services; ++s)
        serviceNames.append(QStringLiteral("service-%1").arg(s));

    for (int tick = 0; tick < options.ticks; ++tick) {
        QList<ServiceStatsUpdate> updates;
        updates.reserve(perTick);
        for (int i = 0; i < perTick; ++i) {
            const int service = perTick >= services ? i : int(random.bounded(services));
            updates.append(ServiceStatsUpdate { tenantNames[service / options.services],
                serviceNames[service % options.services], randomStats(random) });
        }
        const QList<ProcessSnapshot> processList = processes(tick);
        const QList<SessionSnapshot> sessionList = sessions(tick);
        const QList<EventRecord> eventList = events(tick);

        const Stopwatch watch;
        model.applyStats(QStringLiteral("bench"), updates);
        processModel.setProcesses(processList);
        sessionModel.setSessions(sessionList);
        eventModel.append(eventList);
        cpu.push_back(watch.cpuMs());
        wall.push_back(watch.wallMs());
    }
    return TickResult { { percentiles(cpu), percentiles(wall) }, probe.reads() };
}

// Whole-tree ticks: the broker's entire tree diffed in every tick.
TickResult runSnapshotTicks(const Options& options)
{
    QRandomGenerator random(43);
    HierarchyModel model;
    HierarchyFilterModel filter;
    filter.setSourceModel(&model);
    BrokerSnapshot snapshot = buildBroker(options, random);
    model.setBroker(snapshot);
    ViewProbe probe(&filter);
    std::vector<double> cpu;
    std::vector<double> wall;
    int nextTenant = options.tenants;
    const BrokerSnapshot spare = buildBroker(Options { 1, options.services, options.roots, 0, 0, {} }, random);
    for (int tick = 0; tick < options.ticks; ++tick) {
        for (TenantSnapshot& tenant : snapshot.tenants) {
            for (ServiceSnapshot& service : tenant.services) {
                service.stats = randomStats(random);
                if (random.bounded(20) == 0)
                    ++service.roots[random.bounded(service.roots.size())].version;
            }
        }
        if (tick % 10 == 9) {
            snapshot.tenants.removeAt(random.bounded(snapshot.tenants.size()));
            TenantSnapshot added = spare.tenants.front();
            added.name = tenantName(nextTenant++);
            snapshot.tenants.insert(random.bounded(snapshot.tenants.size() + 1), added);
        }
        const Stopwatch watch;
        model.setBroker(snapshot);
        // The filter takes in structural changes on the next turn of the event loop: part of the tick.
        QCoreApplication::processEvents();
        cpu.push_back(watch.cpuMs());
        wall.push_back(watch.wallMs());
    }
    return TickResult { { percentiles(cpu), percentiles(wall) }, probe.reads() };
}

std::vector<BlockSnapshot> randomBlocks(int count)
{
    QRandomGenerator random(7);
    std::vector<BlockSnapshot> blocks;
    blocks.reserve(std::size_t(count));
    quint64 offset = 4096;
    for (int i = 0; i < count; ++i) {
        const quint64 size = 16 * (1 + random.bounded(256u));
        const quint32 kind = random.bounded(6u);
        blocks.push_back(BlockSnapshot { offset, size, kind < 2, kind == 5 ? random.bounded(16u) : kNoOwner });
        offset += size;
    }
    return blocks;
}

Timing timeRepeated(int runs, const std::function<void()>& work)
{
    std::vector<double> cpu;
    std::vector<double> wall;
    for (int i = 0; i < runs; ++i) {
        const Stopwatch watch;
        work();
        cpu.push_back(watch.cpuMs());
        wall.push_back(watch.wallMs());
    }
    return { percentiles(cpu), percentiles(wall) };
}

bool parse(int argc, char** argv, Options& options)
{
    for (int i = 1; i < argc; ++i) {
        const auto value = [&](int& target) {
            if (i + 1 >= argc)
                return false;
            target = std::atoi(argv[++i]);
            return target > 0;
        };
        bool ok = false;
        if (!std::strcmp(argv[i], "--tenants"))
            ok = value(options.tenants);
        else if (!std::strcmp(argv[i], "--services"))
            ok = value(options.services);
        else if (!std::strcmp(argv[i], "--roots"))
            ok = value(options.roots);
        else if (!std::strcmp(argv[i], "--ticks"))
            ok = value(options.ticks);
        else if (!std::strcmp(argv[i], "--blocks"))
            ok = value(options.blocks);
        else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) {
            options.only = QString::fromLocal8Bit(argv[++i]);
            ok = QStringList({ "load", "frame", "tick", "filtered", "tree", "map" }).contains(options.only);
        }
        if (!ok) {
            std::fprintf(stderr,
                "usage: bench_monitor_models [--tenants N] [--services N] [--roots N] [--ticks N] [--blocks N]\n"
                "                            [--only load|frame|tick|filtered|tree|map]\n");
            return false;
        }
    }
    return true;
}

} // namespace

int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QGuiApplication app(argc, argv);
    Options options;
    if (!parse(argc, argv, options))
        return 2;

    const int services = options.tenants * options.services;
    std::printf("monitor models: %d tenants x %d services x %d roots (%d rows), %d ticks per run\n", options.tenants,
        options.services, options.roots, 1 + options.tenants * (1 + options.services * (1 + options.roots)),
        options.ticks);
    std::printf("rss at start: %.1f MB\n\n", currentRssMb());

    const auto want = [&](const char* part) { return options.only.isEmpty() || options.only == QLatin1String(part); };
    char label[96];

    if (want("load")) {
        QRandomGenerator random(1);
        HierarchyModel model;
        const BrokerSnapshot snapshot = buildBroker(options, random);
        const Stopwatch watch;
        model.setBroker(snapshot);
        std::printf("%-46s cpu %7.2f | wall %7.2f ms (rss %.1f MB with the tree loaded)\n",
            "first load (setBroker into an empty model)", watch.cpuMs(), watch.wallMs(), currentRssMb());
    }
    const auto report = [&](const char* name, const TickResult& result) {
        printRow(name, result.ms);
        std::printf("%-46s view probe: %.0f row reads per tick\n", "", double(result.reads) / options.ticks);
    };
    const int perFrame = (services * 10 * 16 + 999) / 1000; // 10 updates/s per service, in 16 ms
    if (want("frame")) {
        std::snprintf(label, sizeof label, "tick 16 ms (%d stats updates)", perFrame);
        report(label, runDeltaTicks(options, perFrame, {}));
    }
    if (want("tick")) {
        std::snprintf(label, sizeof label, "tick 100 ms (%d stats updates)", services);
        report(label, runDeltaTicks(options, services, {}));
    }
    if (want("filtered"))
        report(
            "tick 100 ms, filter \"tenant-00\" active", runDeltaTicks(options, services, QStringLiteral("tenant-00")));
    if (want("tree"))
        report("whole tree diffed per tick (setBroker)", runSnapshotTicks(options));
    std::printf("peak rss after the model runs: %.1f MB\n\n", peakRssMb());
    if (!want("map"))
        return 0;

    // The fragmentation map: 10^6 blocks.
    std::vector<BlockSnapshot> blocks = randomBlocks(options.blocks);
    BlockMap map;
    const Timing load = timeRepeated(5, [&] { map.setBlocks(std::vector<BlockSnapshot>(blocks)); });
    printRow("BlockMap::setBlocks (copy + sort check)", load);
    FreeBlockHistogramModel histogram;
    const Timing histogramTime = timeRepeated(10, [&] { histogram.setBlocks(map.blocks()); });
    printRow("free-block histogram of the map", histogramTime);

    const BlockMapPalette palette(QColor(0x20, 0x22, 0x26), QColor(0x3a, 0x3f, 0x47), QColor(0x5b, 0x8d, 0xd9));
    const double start = double(map.startOffset());
    const double total = double(map.endOffset()) - start;
    QImage image;
    for (const QSize size : { QSize(1920, 1080), QSize(3840, 2160) }) {
        const BlockMapLayout layout { size.width(), size.height(), start,
            total / (double(size.width()) * double(size.height())) };
        const Timing render = timeRepeated(20, [&] { renderBlockMap(image, map.blocks(), layout, palette); });
        std::snprintf(
            label, sizeof label, "render %d blocks, whole map, %dx%d", options.blocks, size.width(), size.height());
        printRow(label, render);
    }
    BlockMapItem item;
    item.setSize(QSizeF(1280, 720));
    item.setBlockMap(&map);
    item.setZoom(64);
    item.setViewOffset(total / 3);
    const Timing zoomed = timeRepeated(20, [&] {
        item.setFreeColor(item.freeColor() == Qt::black ? QColor(Qt::darkGray) : QColor(Qt::black));
        item.render();
    });
    printRow("BlockMapView 1280x720 at zoom 64 (render)", zoomed);
    std::printf("peak rss at the end: %.1f MB\n", peakRssMb());
    return 0;
}
