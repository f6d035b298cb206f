// SessionModel under QAbstractItemModelTester: sessions diffed by peer, in the snapshot's order.

#include <monitor/models/roles.h>
#include <monitor/models/session_model.h>

#include "monitor_test_support.h"

#include <QAbstractItemModelTester>
#include <QtTest>

using namespace commy::monitor;
using namespace commy::monitor::test;

namespace {

SessionSnapshot session(const QString& peer, int subscriptions = 0, qint64 queue = 0)
{
    return SessionSnapshot { peer, { QStringLiteral("acme") }, subscriptions, queue };
}

QStringList peers(const SessionModel& model)
{
    QStringList out;
    for (int row = 0; row < model.rowCount(); ++row)
        out.append(model.index(row, 0).data(PeerRole).toString());
    return out;
}

} // namespace

class TestSessionModel : public QObject {
    Q_OBJECT

private slots:
    void rowsFollowSnapshots();
    void changesAreInPlace();
    void roles();
};

void TestSessionModel::rowsFollowSnapshots()
{
    SessionModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    ModelSignals signalCounts(&model);
    model.setSessions({ session("a:1"), session("b:2"), session("c:3") });
    QCOMPARE(peers(model), QStringList({ "a:1", "b:2", "c:3" }));
    model.setSessions({ session("c:3"), session("d:4"), session("a:1") });
    QCOMPARE(peers(model), QStringList({ "c:3", "d:4", "a:1" }));
    model.setSessions({});
    QCOMPARE(model.count(), 0);
    QCOMPARE(signalCounts.reset.count(), 0);
}

void TestSessionModel::changesAreInPlace()
{
    SessionModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setSessions({ session("a:1"), session("b:2") });
    ModelSignals signalCounts(&model);
    model.setSessions({ session("a:1"), session("b:2", 3, 4096) });
    QCOMPARE(signalCounts.changed.count(), 1);
    QCOMPARE(signalCounts.changed.at(0).at(0).value<QModelIndex>().row(), 1);
    QCOMPARE(signalCounts.inserted.count() + signalCounts.removed.count() + signalCounts.moved.count(), 0);
    model.setSessions({ session("a:1"), session("b:2", 3, 4096) });
    QCOMPARE(signalCounts.changed.count(), 1);
}

void TestSessionModel::roles()
{
    SessionModel model;
    SessionSnapshot s = session("127.0.0.1:5000", 2, 1536);
    s.tenants = QStringList { "acme", "beta" };
    model.setSessions({ s });
    const QModelIndex index = model.index(0, 0);
    QCOMPARE(index.data(PeerRole).toString(), QStringLiteral("127.0.0.1:5000"));
    QCOMPARE(index.data(TenantsRole).toStringList(), QStringList({ "acme", "beta" }));
    QCOMPARE(index.data(SubscriptionsRole).toInt(), 2);
    QCOMPARE(index.data(QueueBytesRole).toLongLong(), 1536);
    QCOMPARE(model.index(0, SessionModel::TenantsColumn).data().toString(), QStringLiteral("acme, beta"));
    QCOMPARE(model.index(0, SessionModel::QueueColumn).data().toString(), QStringLiteral("1.5 KiB"));
}

QTEST_GUILESS_MAIN(TestSessionModel)
#include "tst_session_model.moc"
