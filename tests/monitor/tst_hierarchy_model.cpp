// HierarchyModel under QAbstractItemModelTester: whole-broker snapshots diffed into inserts, removes,
// moves and in-place changes (never a reset for an update), the stats and roots deltas, aggregates and
// roles, and a long seeded run of random snapshots.

#include <monitor/models/hierarchy_model.h>
#include <monitor/models/roles.h>

#include "monitor_test_support.h"

#include <QAbstractItemModelTester>
#include <QRandomGenerator>
#include <QtTest>

using namespace commy::monitor;
using namespace commy::monitor::test;

namespace {

QString dump(const HierarchyModel& model, const QString& brokerId = QStringLiteral("local"))
{
    return dumpTenants(model, model.indexOf({ brokerId }), NameRole, UsedRole, VersionRole);
}

QString canonicalSpec(const QString& spec) { return canonical(SpecParser(spec).tenants()); }

} // namespace

class TestHierarchyModel : public QObject {
    Q_OBJECT

private slots:
    void snapshotDiff_data();
    void snapshotDiff();
    void persistentIndexesFollowTheirRows();
    void newBrokersAppendAndRemove();
    void clearResets();
    void statsDeltaCoalescesRows();
    void statsDeltaSkipsUnknownServices();
    void unchangedStatsEmitNothing();
    void rootsDelta();
    void tenantDelta();
    void newTenantsGoInNameOrder();
    void brokerInfoLeavesTheSubtree();
    void serviceStatsAreTheLastApplied();
    void aggregatesAndRawRoles();
    void displayRoleIsFormatted();
    void roleNamesAreTheSharedOnes();
    void indexOfPaths();
    void randomSnapshots();
};

void TestHierarchyModel::snapshotDiff_data()
{
    QTest::addColumn<QString>("before");
    QTest::addColumn<QString>("after");
    // Expected signal counts; -1 = not checked.
    QTest::addColumn<int>("inserts");
    QTest::addColumn<int>("removes");
    QTest::addColumn<int>("moves");

    QTest::newRow("no change") << "a{s[x]}"
                               << "a{s[x]}" << 0 << 0 << 0;
    QTest::newRow("add tenant at end") << "a{s}"
                                       << "a{s},b{t[y]}" << 1 << 0 << 0;
    QTest::newRow("add tenant at front") << "a{s}"
                                         << "b{t},a{s}" << 1 << 0 << 0;
    QTest::newRow("add tenants in a run") << "a,d"
                                          << "a,b,c,d" << 1 << 0 << 0;
    QTest::newRow("add tenants in two places") << "b,d"
                                               << "a,b,c,d,e" << 3 << 0 << 0;
    QTest::newRow("remove tenant") << "a{s},b{t},c"
                                   << "a{s},c" << 0 << 1 << 0;
    QTest::newRow("remove tenants in a run") << "a,b,c,d"
                                             << "a,d" << 0 << 1 << 0;
    QTest::newRow("remove every tenant") << "a{s[x]},b"
                                         << "" << 0 << 1 << 0;
    QTest::newRow("from empty") << ""
                                << "a{s[x,y]},b{t}" << 1 << 0 << 0;
    QTest::newRow("add service") << "a{s}"
                                 << "a{s,t[z]}" << 1 << 0 << 0;
    QTest::newRow("remove service") << "a{s,t}"
                                    << "a{t}" << 0 << 1 << 0;
    QTest::newRow("add root") << "a{s[x]}"
                              << "a{s[w,x,y]}" << 2 << 0 << 0;
    QTest::newRow("remove root") << "a{s[x,y,z]}"
                                 << "a{s[y]}" << 0 << 2 << 0;
    QTest::newRow("reverse tenants") << "a,b,c,d"
                                     << "d,c,b,a" << 0 << 0 << 3;
    QTest::newRow("rotate tenants") << "a,b,c,d"
                                    << "d,a,b,c" << 0 << 0 << 1;
    QTest::newRow("swap services") << "a{s,t}"
                                   << "a{t,s}" << 0 << 0 << 1;
    QTest::newRow("reorder roots") << "a{s[x,y,z]}"
                                   << "a{s[z,x,y]}" << 0 << 0 << 1;
    QTest::newRow("rename tenant") << "a{s[x]},b"
                                   << "c{s[x]},b" << 1 << 1 << 0;
    QTest::newRow("rename service") << "a{s[x]}"
                                    << "a{t[x]}" << 1 << 1 << 0;
    QTest::newRow("rename root") << "a{s[x,y]}"
                                 << "a{s[x,q]}" << 1 << 1 << 0;
    QTest::newRow("stats change") << "a{s=100,t=200}"
                                  << "a{s=150,t=200}" << 0 << 0 << 0;
    QTest::newRow("version bump") << "a{s[x@1,y@1]}"
                                  << "a{s[x@1,y@2]}" << 0 << 0 << 0;
    QTest::newRow("duplicates in the snapshot") << "a"
                                                << "a{s[x,x]},b,a{t}" << 2 << 0 << 0;
    QTest::newRow("everything at once") << "a{s[x,y],t},b{u},c{v[z]},d"
                                        << "d{w},c{v[z@5,n]},e,a{t,s=9[y]}" << -1 << -1 << -1;
}

void TestHierarchyModel::snapshotDiff()
{
    QFETCH(QString, before);
    QFETCH(QString, after);
    QFETCH(int, inserts);
    QFETCH(int, removes);
    QFETCH(int, moves);

    HierarchyModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setBroker(broker(before));
    QCOMPARE(dump(model), canonicalSpec(before));

    ModelSignals signalCounts(&model);
    model.setBroker(broker(after));
    QCOMPARE(dump(model), canonicalSpec(after));
    QCOMPARE(signalCounts.reset.count(), 0);
    QCOMPARE(signalCounts.layout.count(), 0);
    if (inserts >= 0)
        QCOMPARE(signalCounts.inserted.count(), inserts);
    if (removes >= 0)
        QCOMPARE(signalCounts.removed.count(), removes);
    if (moves >= 0)
        QCOMPARE(signalCounts.moved.count(), moves);
    if (before == after)
        QCOMPARE(signalCounts.changed.count(), 0);
}

void TestHierarchyModel::persistentIndexesFollowTheirRows()
{
    HierarchyModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setBroker(broker("a{s[x]},b{t[y,z]},c"));
    const QPersistentModelIndex z = model.indexOf({ "local", "b", "t", "z" });
    const QPersistentModelIndex b = model.indexOf({ "local", "b" });
    QVERIFY(z.isValid());

    // Tenants inserted before it, moved around it, a sibling root removed: still the same rows.
    model.setBroker(broker("n,c,b{t[z]},a{s[x]}"));
    QVERIFY(z.isValid());
    QCOMPARE(z.data(NameRole).toString(), QStringLiteral("z"));
    QCOMPARE(z.row(), 0);
    QCOMPARE(b.data(NameRole).toString(), QStringLiteral("b"));
    QCOMPARE(b.row(), 2);
    QCOMPARE(z.parent().parent(), QModelIndex(b));

    model.setBroker(broker("n,c,a{s[x]}"));
    QVERIFY(!z.isValid());
    QVERIFY(!b.isValid());
}

void TestHierarchyModel::newBrokersAppendAndRemove()
{
    HierarchyModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy countChanged(&model, &HierarchyModel::brokerCountChanged);
    model.setBroker(broker("a{s}", "one"));
    model.setBroker(broker("b{t}", "two"));
    QCOMPARE(model.brokerCount(), 2);
    QCOMPARE(countChanged.count(), 2);
    QCOMPARE(model.index(1, 0).data(NameRole).toString(), QStringLiteral("two"));
    QCOMPARE(model.index(1, 0).data(UrlRole).toString(), QStringLiteral("ws://127.0.0.1:1/two"));
    QCOMPARE(dump(model, "one"), canonicalSpec("a{s}"));
    QCOMPARE(dump(model, "two"), canonicalSpec("b{t}"));

    // Updating one broker leaves the other alone.
    ModelSignals signalCounts(&model);
    model.setBroker(broker("a{s},c", "one"));
    QCOMPARE(signalCounts.inserted.count(), 1);
    QCOMPARE(dump(model, "two"), canonicalSpec("b{t}"));

    QVERIFY(model.removeBroker("one"));
    QVERIFY(!model.removeBroker("one"));
    QCOMPARE(model.brokerCount(), 1);
    QCOMPARE(model.index(0, 0).data(NameRole).toString(), QStringLiteral("two"));
    QCOMPARE(signalCounts.reset.count(), 0);
}

void TestHierarchyModel::clearResets()
{
    HierarchyModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setBroker(broker("a{s[x]}"));
    ModelSignals signalCounts(&model);
    model.clear();
    QCOMPARE(signalCounts.reset.count(), 1);
    QCOMPARE(model.rowCount(), 0);
    model.clear();
    QCOMPARE(signalCounts.reset.count(), 1);
    model.setBroker(broker("b"));
    QCOMPARE(model.rowCount(), 1);
}

void TestHierarchyModel::statsDeltaCoalescesRows()
{
    HierarchyModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setBroker(broker("a{s0,s1,s2,s3,s4},b{t0,t1},c{u0}"));
    ModelSignals signalCounts(&model);

    QList<ServiceStatsUpdate> updates;
    for (const char* service : { "s1", "s2", "s4" }) {
        ServiceStatsUpdate update { "a", service, {} };
        update.stats.size = 1 << 20;
        update.stats.used = 1000;
        update.stats.free = (1 << 20) - 1000;
        updates.append(update);
    }
    ServiceStatsUpdate other { "c", "u0", {} };
    other.stats.size = 2 << 20;
    other.stats.used = 5;
    updates.append(other);

    QCOMPARE(model.applyStats("local", updates), 4);
    QCOMPARE(signalCounts.inserted.count() + signalCounts.removed.count() + signalCounts.reset.count(), 0);
    // s1..s2 (one run), s4, u0, the tenants a and c (two runs: b sits between them), the broker.
    QCOMPARE(signalCounts.changed.count(), 6);
    const auto changedRange = [&](int i) {
        const auto args = signalCounts.changed.at(i);
        const auto topLeft = args.at(0).value<QModelIndex>();
        const auto bottomRight = args.at(1).value<QModelIndex>();
        return QStringLiteral("%1:%2-%3")
            .arg(topLeft.data(NameRole).toString())
            .arg(topLeft.row())
            .arg(bottomRight.row());
    };
    QCOMPARE(changedRange(0), QStringLiteral("s1:1-2"));
    QCOMPARE(changedRange(1), QStringLiteral("s4:4-4"));
    QCOMPARE(changedRange(2), QStringLiteral("u0:0-0"));
    QCOMPARE(changedRange(3), QStringLiteral("a:0-0"));
    QCOMPARE(changedRange(4), QStringLiteral("c:2-2"));
    QCOMPARE(changedRange(5), QStringLiteral("local:0-0"));
    // The roles say what changed (no name), so a proxy filtering by name can skip the rows.
    const auto roles = signalCounts.changed.at(0).at(2).value<QList<int>>();
    QVERIFY(roles.contains(UsedRole));
    QVERIFY(!roles.contains(NameRole));

    QCOMPARE(model.indexOf({ "local", "a", "s1" }).data(UsedRole).toULongLong(), 1000u);
    QCOMPARE(model.indexOf({ "local", "c" }).data(SizeRole).toULongLong(), quint64(2 << 20));
}

void TestHierarchyModel::statsDeltaSkipsUnknownServices()
{
    HierarchyModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setBroker(broker("a{s}"));
    ModelSignals signalCounts(&model);
    QCOMPARE(model.applyStats("local", { { "a", "nope", {} }, { "zz", "s", {} } }), 0);
    QCOMPARE(model.applyStats("other-broker", { { "a", "s", {} } }), 0);
    QCOMPARE(signalCounts.changed.count(), 0);
}

void TestHierarchyModel::unchangedStatsEmitNothing()
{
    HierarchyModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    const BrokerSnapshot snapshot = broker("a{s=100,t=200}");
    model.setBroker(snapshot);
    ModelSignals signalCounts(&model);
    const ServiceSnapshot& s = snapshot.tenants[0].services[0];
    QCOMPARE(model.applyStats("local", { { "a", "s", s.stats } }), 1);
    QCOMPARE(signalCounts.changed.count(), 0);
}

void TestHierarchyModel::rootsDelta()
{
    HierarchyModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setBroker(broker("a{s[x]},b{t}"));
    ModelSignals signalCounts(&model);

    const QList<RootSnapshot> roots = SpecParser("a{s[x@3,y,z]}").tenants()[0].services[0].roots;
    QVERIFY(model.setRoots("local", "a", "s", roots));
    QCOMPARE(dump(model), canonicalSpec("a{s[x@3,y,z]},b{t}"));
    QCOMPARE(signalCounts.inserted.count(), 1);
    QCOMPARE(model.indexOf({ "local", "a", "s" }).data(RootCountRole).toInt(), 3);
    QCOMPARE(model.indexOf({ "local", "a" }).data(RootCountRole).toInt(), 3);
    QCOMPARE(model.indexOf({ "local" }).data(RootCountRole).toInt(), 3);
    QVERIFY(!model.setRoots("local", "a", "missing", roots));
    QVERIFY(!model.setRoots("local", "missing", "s", roots));
}

void TestHierarchyModel::tenantDelta()
{
    HierarchyModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setBroker(broker("a{s[x]},b{t}"));
    ModelSignals signalCounts(&model);

    QVERIFY(model.setTenant("local", SpecParser("a{s[x@2],u=10}").tenants()[0]));
    QCOMPARE(dump(model), canonicalSpec("a{s[x@2],u=10},b{t}"));
    QVERIFY(model.setTenant("local", SpecParser("c{v[z]}").tenants()[0]));
    QCOMPARE(dump(model), canonicalSpec("a{s[x@2],u=10},b{t},c{v[z]}"));
    QCOMPARE(model.indexOf({ "local" }).data(TenantCountRole).toInt(), 3);
    QCOMPARE(model.indexOf({ "local" }).data(ServiceCountRole).toInt(), 4);
    QVERIFY(model.removeTenant("local", "b"));
    QVERIFY(!model.removeTenant("local", "b"));
    QCOMPARE(dump(model), canonicalSpec("a{s[x@2],u=10},c{v[z]}"));
    QCOMPARE(model.indexOf({ "local" }).data(TenantCountRole).toInt(), 2);
    QVERIFY(!model.setTenant("nope", SpecParser("a").tenants()[0]));
    QCOMPARE(signalCounts.reset.count(), 0);
}

void TestHierarchyModel::newTenantsGoInNameOrder()
{
    HierarchyModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setBroker(broker("b{s},d{t}"));
    QPersistentModelIndex d = model.indexOf({ "local", "d" });
    ModelSignals signalCounts(&model);

    QVERIFY(model.setTenant("local", SpecParser("c{u}").tenants()[0]));
    QVERIFY(model.setTenant("local", SpecParser("a{v}").tenants()[0]));
    QVERIFY(model.setTenant("local", SpecParser("e{w}").tenants()[0]));
    QCOMPARE(dump(model), canonicalSpec("a{v},b{s},c{u},d{t},e{w}"));
    QCOMPARE(model.indexOf({ "local", "c" }).row(), 2);
    QCOMPARE(d.row(), 3); // rows after an insertion are renumbered
    QCOMPARE(model.indexOf({ "local", "d", "t" }).parent(), QModelIndex(d));
    QCOMPARE(signalCounts.inserted.count(), 3);
    QCOMPARE(signalCounts.moved.count(), 0);
}

void TestHierarchyModel::brokerInfoLeavesTheSubtree()
{
    HierarchyModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setBroker(broker("a{s[x]},b{t}"));
    ModelSignals signalCounts(&model);

    BrokerSnapshot info = broker(""); // no tenants: setBrokerInfo must not remove any
    info.version = QStringLiteral("9.9.9");
    info.uptimeMs = 42'000;
    info.sessionCount = 7;
    QVERIFY(model.setBrokerInfo(info));
    QCOMPARE(dump(model), canonicalSpec("a{s[x]},b{t}"));
    const QModelIndex row = model.indexOf({ "local" });
    QCOMPARE(row.data(BrokerVersionRole).toString(), QStringLiteral("9.9.9"));
    QCOMPARE(row.data(UptimeRole).toLongLong(), 42'000);
    QCOMPARE(row.data(SessionCountRole).toInt(), 7);
    QCOMPARE(signalCounts.changed.count(), 1);
    QCOMPARE(signalCounts.changed.at(0).at(0).value<QModelIndex>(), row);
    QCOMPARE(signalCounts.removed.count(), 0);

    QVERIFY(model.setBrokerInfo(info)); // the same again: nothing to tell
    QCOMPARE(signalCounts.changed.count(), 1);
    info.id = QStringLiteral("elsewhere");
    QVERIFY(!model.setBrokerInfo(info));
}

void TestHierarchyModel::serviceStatsAreTheLastApplied()
{
    HierarchyModel model;
    model.setBroker(broker("a{s=100,t=200}"));
    QCOMPARE(model.serviceStats("local", "a", "t")->used, quint64(200));
    RegionStats pushed;
    pushed.used = 300;
    pushed.fragmentation = 0.5;
    QCOMPARE(model.applyStats("local", { { "a", "t", pushed } }), 1);
    QVERIFY(model.serviceStats("local", "a", "t") == pushed);
    QVERIFY(!model.serviceStats("local", "a", "nope"));
    QVERIFY(!model.serviceStats("local", "nope", "t"));
    QVERIFY(!model.serviceStats("other", "a", "t"));
}

void TestHierarchyModel::aggregatesAndRawRoles()
{
    HierarchyModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    BrokerSnapshot snapshot = broker("a{s=1024[x,y],t=3072[z]},b{u}");
    snapshot.tenants[0].services[0].stats.limit = 4 << 20;
    snapshot.tenants[0].services[0].stats.fragmentation = 0.25;
    snapshot.tenants[0].services[0].stats.generation = 7;
    snapshot.tenants[0].services[1].stats.largestFree = 999'999;
    snapshot.uptimeMs = 12345;
    snapshot.sessionCount = 3;
    model.setBroker(snapshot);

    const QModelIndex brokerIndex = model.indexOf({ "local" });
    const QModelIndex tenant = model.indexOf({ "local", "a" });
    const QModelIndex service = model.indexOf({ "local", "a", "s" });
    const QModelIndex root = model.indexOf({ "local", "a", "s", "x" });

    QCOMPARE(brokerIndex.data(NodeTypeRole).toInt(), int(NodeType::Broker));
    QCOMPARE(brokerIndex.data(TenantCountRole).toInt(), 2);
    QCOMPARE(brokerIndex.data(ServiceCountRole).toInt(), 3);
    QCOMPARE(brokerIndex.data(RootCountRole).toInt(), 3);
    QCOMPARE(brokerIndex.data(SizeRole).toULongLong(), quint64(3 << 20));
    QCOMPARE(brokerIndex.data(UsedRole).toULongLong(), quint64(1024 + 3072 + 4096));
    QCOMPARE(brokerIndex.data(UptimeRole).toLongLong(), 12345);
    QCOMPARE(brokerIndex.data(SessionCountRole).toInt(), 3);
    QCOMPARE(brokerIndex.data(BrokerVersionRole).toString(), QStringLiteral("0.1.0"));

    QCOMPARE(tenant.data(NodeTypeRole).toInt(), int(NodeType::Tenant));
    QCOMPARE(tenant.data(ServiceCountRole).toInt(), 2);
    QCOMPARE(tenant.data(RootCountRole).toInt(), 3);
    QCOMPARE(tenant.data(UsedRole).toULongLong(), quint64(4096));
    QCOMPARE(tenant.data(FreeRole).toULongLong(), quint64((2 << 20) - 4096));
    QCOMPARE(tenant.data(UsageRole).toDouble(), 4096.0 / double(2 << 20));
    QCOMPARE(tenant.data(LargestFreeRole).toULongLong(), quint64((1 << 20) - 1024));
    QCOMPARE(tenant.data(LimitRole).toULongLong(), quint64(4 << 20));
    QVERIFY(!tenant.data(FragmentationRole).isValid());
    QCOMPARE(tenant.data(PathRole).toStringList(), QStringList({ "local", "a" }));

    QCOMPARE(service.data(NodeTypeRole).toInt(), int(NodeType::Service));
    QCOMPARE(service.data(FragmentationRole).toDouble(), 0.25);
    QCOMPARE(service.data(GenerationRole).toULongLong(), 7u);
    QCOMPARE(service.data(UsageRole).toDouble(), 1024.0 / double(1 << 20));
    QCOMPARE(service.data(RootCountRole).toInt(), 2);
    QCOMPARE(service.data(SizeRole).metaType(), QMetaType::fromType<quint64>());

    QCOMPARE(root.data(NodeTypeRole).toInt(), int(NodeType::Root));
    QCOMPARE(root.data(KindRole).toString(), QStringLiteral("vec"));
    QCOMPARE(root.data(TypeRole).toString(), QStringLiteral("vec<i64>"));
    QCOMPARE(root.data(LengthRole).toULongLong(), 4u);
    QCOMPARE(root.data(SizeRole).toULongLong(), 128u);
    QVERIFY(!root.data(UsageRole).isValid());
    QCOMPARE(root.data(PathRole).toStringList(), QStringList({ "local", "a", "s", "x" }));
}

void TestHierarchyModel::displayRoleIsFormatted()
{
    HierarchyModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    BrokerSnapshot snapshot = broker("a{s=524288[x]}");
    snapshot.tenants[0].services[0].stats.fragmentation = 0.5;
    model.setBroker(snapshot);
    const QModelIndex service = model.indexOf({ "local", "a", "s" });
    const auto display = [&](int column) { return service.siblingAtColumn(column).data().toString(); };
    QCOMPARE(display(HierarchyModel::NameColumn), QStringLiteral("s"));
    QCOMPARE(display(HierarchyModel::DetailColumn), QStringLiteral("1 root(s)"));
    QCOMPARE(display(HierarchyModel::SizeColumn), QStringLiteral("1.0 MiB"));
    QCOMPARE(display(HierarchyModel::UsedColumn), QStringLiteral("512.0 KiB"));
    QCOMPARE(display(HierarchyModel::UsageColumn), QStringLiteral("50.0 %"));
    QCOMPARE(display(HierarchyModel::FragmentationColumn), QStringLiteral("50.0 %"));
    QCOMPARE(model.indexOf({ "local", "a", "s", "x" }).siblingAtColumn(HierarchyModel::DetailColumn).data().toString(),
        QStringLiteral("vec<i64>"));
    QCOMPARE(model.headerData(HierarchyModel::UsageColumn, Qt::Horizontal).toString(), QStringLiteral("Usage"));
}

void TestHierarchyModel::roleNamesAreTheSharedOnes()
{
    HierarchyModel model;
    const auto names = model.roleNames();
    QCOMPARE(names.value(NameRole), QByteArray("name"));
    QCOMPARE(names.value(UsageRole), QByteArray("usage"));
    QCOMPARE(names.value(Qt::DisplayRole), QByteArray("display"));
    // Every name is unique.
    const QList<QByteArray> values = names.values();
    QCOMPARE(QSet<QByteArray>(values.begin(), values.end()).size(), values.size());
}

void TestHierarchyModel::indexOfPaths()
{
    HierarchyModel model;
    model.setBroker(broker("a{s[x]}"));
    QVERIFY(model.indexOf({ "local", "a", "s", "x" }).isValid());
    QVERIFY(!model.indexOf({ "local", "a", "s", "nope" }).isValid());
    QVERIFY(!model.indexOf({ "nope" }).isValid());
    QVERIFY(!model.indexOf({}).isValid());
}

void TestHierarchyModel::randomSnapshots()
{
    // Seeded mutations of a tree - add, remove, rename, reorder, stats, versions - each diffed in,
    // the tester checking every signal and the model matching the snapshot after each step.
    QRandomGenerator random(20240501);
    HierarchyModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    ModelSignals signalCounts(&model);
    QList<TenantSnapshot> tenants = SpecParser("a{s[x,y]},b{t}").tenants();
    int nameCounter = 0;
    const auto freshName = [&] { return QStringLiteral("n%1").arg(++nameCounter); };

    for (int step = 0; step < 300; ++step) {
        const auto mutate = [&](auto& list, auto makeItem) {
            const int choice = int(random.bounded(6));
            if (choice == 0 || list.isEmpty()) {
                list.insert(random.bounded(list.size() + 1), makeItem());
            } else if (choice == 1) {
                list.removeAt(random.bounded(list.size()));
            } else if (choice == 2) {
                list[random.bounded(list.size())].name = freshName();
            } else if (choice == 3 && list.size() > 1) {
                list.move(random.bounded(list.size()), random.bounded(list.size()));
            } else if (choice == 4) {
                std::shuffle(list.begin(), list.end(), random);
            }
        };
        const auto makeRoot = [&] {
            RootSnapshot root;
            root.name = freshName();
            root.version = random.bounded(5u);
            return root;
        };
        const auto makeService = [&] {
            ServiceSnapshot service;
            service.name = freshName();
            service.roots.append(makeRoot());
            return service;
        };
        const auto makeTenant = [&] {
            TenantSnapshot tenant;
            tenant.name = freshName();
            tenant.services.append(makeService());
            return tenant;
        };
        mutate(tenants, makeTenant);
        for (TenantSnapshot& tenant : tenants) {
            if (random.bounded(3) == 0)
                mutate(tenant.services, makeService);
            for (ServiceSnapshot& service : tenant.services) {
                if (random.bounded(4) == 0)
                    mutate(service.roots, makeRoot);
                if (random.bounded(3) == 0)
                    service.stats.used = random.bounded(1000u);
                for (RootSnapshot& root : service.roots) {
                    if (random.bounded(5) == 0)
                        ++root.version;
                }
            }
        }
        if (tenants.size() > 12)
            tenants.resize(12);
        BrokerSnapshot snapshot;
        snapshot.id = QStringLiteral("local");
        snapshot.tenants = tenants;
        model.setBroker(snapshot);
        QCOMPARE(dump(model), canonical(tenants));
    }
    QCOMPARE(signalCounts.reset.count(), 0);
    QVERIFY(signalCounts.inserted.count() > 50);
    QVERIFY(signalCounts.removed.count() > 50);
    QVERIFY(signalCounts.moved.count() > 50);
}

QTEST_GUILESS_MAIN(TestHierarchyModel)
#include "tst_hierarchy_model.moc"
