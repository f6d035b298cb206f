#include "showcase.h"

#include <monitor/controllers/monitor_controller.h>
#include <monitor/models/hierarchy_model.h>
#include <monitor/models/roles.h>

namespace commy::monitor {

namespace {

QStringList pathOf(const QModelIndex& index) { return index.data(PathRole).toStringList(); }

// Higher is a better root to show in the container browser.
int rootScore(const QModelIndex& root)
{
    const QString kind = root.data(KindRole).toString();
    const int elements = root.data(LengthRole).toULongLong() > 0 ? 1 : 0;
    if (kind.contains(QLatin1String("map")))
        return 4 + elements;
    if (kind == u"string" || kind == u"bytes")
        return elements;
    return 2 + elements;
}

} // namespace

QStringList showcasePath(const QAbstractItemModel& model, const QString& view)
{
    QModelIndex firstService;
    QModelIndex bestRoot;
    int bestScore = -1;
    for (int b = 0; b < model.rowCount(); ++b) {
        const QModelIndex broker = model.index(b, 0);
        for (int t = 0; t < model.rowCount(broker); ++t) {
            const QModelIndex tenant = model.index(t, 0, broker);
            for (int s = 0; s < model.rowCount(tenant); ++s) {
                const QModelIndex service = model.index(s, 0, tenant);
                if (!firstService.isValid())
                    firstService = service;
                for (int r = 0; r < model.rowCount(service); ++r) {
                    const QModelIndex root = model.index(r, 0, service);
                    if (const int score = rootScore(root); score > bestScore) {
                        bestScore = score;
                        bestRoot = root;
                    }
                }
            }
        }
    }
    if (view == u"container" && bestRoot.isValid())
        return pathOf(bestRoot);
    if (bestRoot.isValid())
        return pathOf(bestRoot.parent());
    return firstService.isValid() ? pathOf(firstService) : QStringList();
}

ShowcaseSelector::ShowcaseSelector(MonitorController& monitor, QString view, QObject* parent)
    : QObject(parent)
    , m_monitor(monitor)
    , m_view(std::move(view))
{
    HierarchyModel* hierarchy = monitor.hierarchy();
    connect(hierarchy, &QAbstractItemModel::rowsInserted, this, &ShowcaseSelector::pick);
    connect(hierarchy, &QAbstractItemModel::modelReset, this, &ShowcaseSelector::pick);
    connect(&monitor, &MonitorController::selectionChanged, this, [this] {
        const QStringList path = m_monitor.selectedPath();
        if (!path.isEmpty() && path != m_picked) {
            m_userChose = true;
            disconnect(m_monitor.hierarchy(), nullptr, this, nullptr);
        }
    });
}

void ShowcaseSelector::pick()
{
    if (m_userChose)
        return;
    const QStringList path = showcasePath(*m_monitor.hierarchy(), m_view);
    if (path.isEmpty() || path == m_picked)
        return;
    m_picked = path;
    m_monitor.select(path);
    emit picked(path);
    // A node with roots (or a root itself) is as good as it gets: stop walking the tree on every change.
    const QModelIndex node = m_monitor.hierarchy()->indexOf(path);
    if (path.size() == 4 || m_monitor.hierarchy()->rowCount(node) > 0)
        disconnect(m_monitor.hierarchy(), nullptr, this, nullptr);
}

} // namespace commy::monitor
