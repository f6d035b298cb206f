// HierarchyFilterModel over a live HierarchyModel, both under QAbstractItemModelTester: matches keep
// their ancestors and descendants, the filter is case-insensitive, and snapshot updates flow through
// the filter (rows appear and disappear as names start or stop matching).

#include <monitor/models/hierarchy_filter_model.h>
#include <monitor/models/hierarchy_model.h>
#include <monitor/models/roles.h>

#include "monitor_test_support.h"

#include <QAbstractItemModelTester>
#include <QRandomGenerator>
#include <QtTest>

#include <functional>

using namespace commy::monitor;
using namespace commy::monitor::test;

namespace {

// The visible tree as "broker/tenant/service/root" paths, depth first.
QStringList visiblePaths(const QAbstractItemModel& model, const QModelIndex& parent = {})
{
    QStringList paths;
    for (int row = 0; row < model.rowCount(parent); ++row) {
        const QModelIndex index = model.index(row, 0, parent);
        paths.append(index.data(PathRole).toStringList().join('/'));
        paths.append(visiblePaths(model, index));
    }
    return paths;
}

} // namespace

class TestHierarchyFilterModel : public QObject {
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void emptyFilterShowsEverything();
    void filter_data();
    void filter();
    void updatesFlowThroughTheFilter();
    void statsChangesPassThrough();
    void filterTextProperty();
    void randomSnapshotsUnderTheFilter();

private:
    HierarchyModel* m_source = nullptr;
    HierarchyFilterModel* m_filter = nullptr;
    QAbstractItemModelTester* m_sourceTester = nullptr;
    QAbstractItemModelTester* m_filterTester = nullptr;
};

void TestHierarchyFilterModel::init()
{
    m_source = new HierarchyModel(this);
    m_filter = new HierarchyFilterModel(this);
    m_filter->setSourceModel(m_source);
    m_sourceTester
        = new QAbstractItemModelTester(m_source, QAbstractItemModelTester::FailureReportingMode::QtTest, this);
    m_filterTester
        = new QAbstractItemModelTester(m_filter, QAbstractItemModelTester::FailureReportingMode::QtTest, this);
    m_source->setBroker(broker("acme{orders[queue,config],billing[ledger]},beta{Orders-eu[q]},gamma{misc[x]}"));
}

void TestHierarchyFilterModel::cleanup()
{
    delete m_filterTester;
    delete m_sourceTester;
    delete m_filter;
    delete m_source;
}

void TestHierarchyFilterModel::emptyFilterShowsEverything()
{
    QCOMPARE(visiblePaths(*m_filter), visiblePaths(*m_source));
    QCOMPARE(visiblePaths(*m_filter).size(), 13);
}

void TestHierarchyFilterModel::filter_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QStringList>("visible");

    QTest::newRow("service in two tenants, any case")
        << "orders"
        << QStringList { "local", "local/acme", "local/acme/orders", "local/acme/orders/queue",
               "local/acme/orders/config", "local/beta", "local/beta/Orders-eu", "local/beta/Orders-eu/q" };
    QTest::newRow("a root keeps its ancestors only")
        << "ledger" << QStringList { "local", "local/acme", "local/acme/billing", "local/acme/billing/ledger" };
    QTest::newRow("a tenant shows its subtree")
        << "GAMMA" << QStringList { "local", "local/gamma", "local/gamma/misc", "local/gamma/misc/x" };
    QTest::newRow("no match") << "nothing-like-it" << QStringList {};
}

void TestHierarchyFilterModel::filter()
{
    QFETCH(QString, text);
    QFETCH(QStringList, visible);
    m_filter->setFilterText(text);
    QCOMPARE(visiblePaths(*m_filter), visible);
    m_filter->setFilterText({});
    QCOMPARE(visiblePaths(*m_filter), visiblePaths(*m_source));
}

void TestHierarchyFilterModel::updatesFlowThroughTheFilter()
{
    m_filter->setFilterText("orders");
    // A matching service appears in a tenant that was hidden; a match is renamed away; a tenant goes.
    m_source->setBroker(broker("acme{orders-v2[queue],billing[ledger]},gamma{misc[x],orders[y]}"));
    QTRY_COMPARE(visiblePaths(*m_filter),
        QStringList({ "local", "local/acme", "local/acme/orders-v2", "local/acme/orders-v2/queue", "local/gamma",
            "local/gamma/orders", "local/gamma/orders/y" }));
    // A reorder under the filter.
    m_source->setBroker(broker("gamma{orders[y],misc[x]},acme{billing[ledger],orders-v2[queue]}"));
    QTRY_COMPARE(visiblePaths(*m_filter),
        QStringList({ "local", "local/gamma", "local/gamma/orders", "local/gamma/orders/y", "local/acme",
            "local/acme/orders-v2", "local/acme/orders-v2/queue" }));
    m_source->setBroker(broker("gamma{misc[x]}"));
    QTRY_COMPARE(visiblePaths(*m_filter), QStringList {});
}

void TestHierarchyFilterModel::statsChangesPassThrough()
{
    m_filter->setFilterText("orders");
    QSignalSpy changed(m_filter, &QAbstractItemModel::dataChanged);
    RegionStats stats;
    stats.size = 1 << 20;
    stats.used = 777;
    QCOMPARE(m_source->applyStats("local", { { "acme", "orders", stats }, { "gamma", "misc", stats } }), 2);
    QVERIFY(changed.count() >= 1);
    const QModelIndex orders = m_filter->mapFromSource(m_source->indexOf({ "local", "acme", "orders" }));
    QVERIFY(orders.isValid());
    QCOMPARE(orders.data(UsedRole).toULongLong(), 777u);
}

void TestHierarchyFilterModel::filterTextProperty()
{
    QSignalSpy textChanged(m_filter, &HierarchyFilterModel::filterTextChanged);
    m_filter->setProperty("filterText", QStringLiteral("misc"));
    QCOMPARE(m_filter->filterText(), QStringLiteral("misc"));
    m_filter->setFilterText(QStringLiteral("misc"));
    QCOMPARE(textChanged.count(), 1);
}

void TestHierarchyFilterModel::randomSnapshotsUnderTheFilter()
{
    // Names drawn from a small set so that matches come and go; after every snapshot the visible tree
    // is what the rule says, worked out here by brute force.
    QRandomGenerator random(77);
    const QStringList names { "orders", "billing", "misc", "queue", "ledger", "OrdersX", "cfg", "x", "y" };
    const auto pick = [&] { return names[random.bounded(names.size())]; };
    m_filter->setFilterText("order");
    for (int step = 0; step < 120; ++step) {
        QList<TenantSnapshot> tenants;
        for (int t = 0, tenantCount = random.bounded(5); t < tenantCount; ++t) {
            TenantSnapshot tenant { pick() + QString::number(random.bounded(3)), {} };
            for (int s = 0, serviceCount = random.bounded(4); s < serviceCount; ++s) {
                ServiceSnapshot service { pick(), {}, {} };
                for (int r = 0, rootCount = random.bounded(3); r < rootCount; ++r)
                    service.roots.append(RootSnapshot { pick(), "vec", "vec<i64>", 1, 1, 1 });
                tenant.services.append(service);
            }
            tenants.append(tenant);
        }
        BrokerSnapshot snapshot;
        snapshot.id = "local";
        snapshot.tenants = tenants;
        m_source->setBroker(snapshot);
        // Apply the rule to the full tree.
        QStringList expected;
        const std::function<bool(const QModelIndex&, bool, QStringList&)> walk
            = [&](const QModelIndex& parent, bool ancestorMatches, QStringList& out) {
                  bool any = false;
                  for (int row = 0; row < m_source->rowCount(parent); ++row) {
                      const QModelIndex index = m_source->index(row, 0, parent);
                      const bool matches = index.data(NameRole).toString().contains("order", Qt::CaseInsensitive);
                      QStringList below;
                      const bool descendant = walk(index, ancestorMatches || matches, below);
                      if (ancestorMatches || matches || descendant) {
                          out.append(index.data(PathRole).toStringList().join('/'));
                          out.append(below);
                      }
                      any = any || matches || descendant;
                  }
                  return any;
              };
        walk({}, false, expected);
        QTRY_COMPARE(visiblePaths(*m_filter), expected);
    }
}

QTEST_GUILESS_MAIN(TestHierarchyFilterModel)
#include "tst_hierarchy_filter_model.moc"
