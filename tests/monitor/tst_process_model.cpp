// ProcessModel under QAbstractItemModelTester: snapshots diffed by (slot, pid), ordered by slot, a
// reused slot is a new row, heartbeat history per process (capped), liveness transitions reported.

#include <monitor/models/process_model.h>
#include <monitor/models/roles.h>

#include "monitor_test_support.h"

#include <QAbstractItemModelTester>
#include <QtTest>

using namespace commy::monitor;
using namespace commy::monitor::test;

namespace {

ProcessSnapshot process(quint32 slot, qint64 pid, qint64 age = 10, Liveness liveness = Liveness::Alive)
{
    return ProcessSnapshot { slot, pid, QStringLiteral("worker-%1").arg(slot), age, liveness };
}

QStringList rows(const ProcessModel& model)
{
    QStringList out;
    for (int row = 0; row < model.rowCount(); ++row) {
        const QModelIndex index = model.index(row, 0);
        out.append(QStringLiteral("%1:%2").arg(index.data(SlotRole).toUInt()).arg(index.data(PidRole).toLongLong()));
    }
    return out;
}

} // namespace

Q_DECLARE_METATYPE(commy::monitor::ProcessSnapshot)
Q_DECLARE_METATYPE(commy::monitor::Liveness)

class TestProcessModel : public QObject {
    Q_OBJECT

private slots:
    void rowsFollowSnapshotsBySlot();
    void reusedSlotIsANewRow();
    void historyIsKeptAndCapped();
    void livenessTransitionsAreReported();
    void rolesAndDisplay();
};

void TestProcessModel::rowsFollowSnapshotsBySlot()
{
    ProcessModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    ModelSignals signalCounts(&model);
    QSignalSpy countChanged(&model, &ProcessModel::countChanged);

    model.setProcesses({ process(3, 300), process(1, 100), process(2, 200) });
    QCOMPARE(rows(model), QStringList({ "1:100", "2:200", "3:300" }));
    model.setProcesses({ process(1, 100), process(3, 300), process(4, 400) });
    QCOMPARE(rows(model), QStringList({ "1:100", "3:300", "4:400" }));
    model.setProcesses({});
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(signalCounts.reset.count(), 0);
    QCOMPARE(countChanged.count(), 2);
    model.setProcesses({ process(0, 1) });
    model.clear();
    QCOMPARE(signalCounts.reset.count(), 1);
}

void TestProcessModel::reusedSlotIsANewRow()
{
    ProcessModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setProcesses({ process(1, 100, 5), process(2, 200) });
    model.setProcesses({ process(1, 100, 6), process(2, 200) });
    QCOMPARE(model.index(0, 0).data(HeartbeatHistoryRole).value<QList<qreal>>().size(), 2);
    ModelSignals signalCounts(&model);
    model.setProcesses({ process(1, 111, 7), process(2, 200) });
    QCOMPARE(rows(model), QStringList({ "1:111", "2:200" }));
    QCOMPARE(signalCounts.removed.count(), 1);
    QCOMPARE(signalCounts.inserted.count(), 1);
    // The new process starts a history of its own.
    QCOMPARE(model.index(0, 0).data(HeartbeatHistoryRole).value<QList<qreal>>(), QList<qreal>({ 7 }));
}

void TestProcessModel::historyIsKeptAndCapped()
{
    ProcessModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setHistoryLength(5);
    for (int tick = 0; tick < 8; ++tick)
        model.setProcesses({ process(1, 100, tick * 10) });
    QCOMPARE(model.index(0, 0).data(HeartbeatHistoryRole).value<QList<qreal>>(), QList<qreal>({ 30, 40, 50, 60, 70 }));
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setHistoryLength(2);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(model.index(0, 0).data(HeartbeatHistoryRole).value<QList<qreal>>(), QList<qreal>({ 60, 70 }));
    // Every snapshot is a sample: the row changes even when its values do not.
    changed.clear();
    model.setProcesses({ process(1, 100, 70) });
    QCOMPARE(changed.count(), 1);
}

void TestProcessModel::livenessTransitionsAreReported()
{
    ProcessModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy transitions(&model, &ProcessModel::livenessChanged);
    model.setProcesses({ process(1, 100), process(2, 200, 10, Liveness::Stale) });
    QCOMPARE(transitions.count(), 0); // new rows are not transitions
    model.setProcesses({ process(1, 100, 5000, Liveness::Stale), process(2, 200, 10, Liveness::Stale) });
    model.setProcesses({ process(1, 100, 9000, Liveness::Dead), process(2, 200, 10, Liveness::Alive) });
    QCOMPARE(transitions.count(), 3);
    const auto describe = [&](int i) {
        const auto p = transitions.at(i).at(0).value<ProcessSnapshot>();
        const auto previous = transitions.at(i).at(1).value<Liveness>();
        return QStringLiteral("%1:%2->%3").arg(p.slot).arg(livenessName(previous), livenessName(p.liveness));
    };
    QCOMPARE(describe(0), QStringLiteral("1:alive->stale"));
    QCOMPARE(describe(1), QStringLiteral("1:stale->dead"));
    QCOMPARE(describe(2), QStringLiteral("2:stale->alive"));
}

void TestProcessModel::rolesAndDisplay()
{
    ProcessModel model;
    model.setProcesses({ process(7, 4242, 1500, Liveness::Stale) });
    const QModelIndex index = model.index(0, 0);
    QCOMPARE(index.data(SlotRole).toUInt(), 7u);
    QCOMPARE(index.data(PidRole).toLongLong(), 4242);
    QCOMPARE(index.data(NameRole).toString(), QStringLiteral("worker-7"));
    QCOMPARE(index.data(HeartbeatAgeRole).toLongLong(), 1500);
    QCOMPARE(index.data(LivenessRole).toInt(), int(Liveness::Stale));
    QCOMPARE(model.index(0, ProcessModel::HeartbeatColumn).data().toString(), QStringLiteral("1.5 s"));
    QCOMPARE(model.index(0, ProcessModel::LivenessColumn).data().toString(), QStringLiteral("Stale"));
    QCOMPARE(model.roleNames().value(LivenessRole), QByteArray("liveness"));
    QCOMPARE(model.roleNames().value(HeartbeatHistoryRole), QByteArray("heartbeatHistory"));
}

QTEST_GUILESS_MAIN(TestProcessModel)
#include "tst_process_model.moc"
