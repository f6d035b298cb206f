// EventModel and EventFilterModel under QAbstractItemModelTester: appends, the row cap dropping the
// oldest rows, filtering by kind and text while events flow, and the CSV export (quoting, UTC times,
// only the filtered rows, an unwritable file).

#include <monitor/models/event_csv.h>
#include <monitor/models/event_filter_model.h>
#include <monitor/models/event_model.h>
#include <monitor/models/roles.h>

#include "monitor_test_support.h"

#include <QAbstractItemModelTester>
#include <QTemporaryDir>
#include <QtTest>

using namespace commy::monitor;
using namespace commy::monitor::test;

namespace {

const QDateTime kStart = QDateTime(QDate(2024, 5, 1), QTime(10, 0), Qt::UTC);

EventRecord makeEvent(int n, EventKind kind = EventKind::Variable, const QString& text = {})
{
    return EventRecord { kStart.addMSecs(n), kind, QStringLiteral("acme/orders"),
        text.isEmpty() ? QStringLiteral("event %1").arg(n) : text };
}

QStringList texts(const QAbstractItemModel& model)
{
    QStringList out;
    for (int row = 0; row < model.rowCount(); ++row)
        out.append(model.index(row, 0).data(TextRole).toString());
    return out;
}

} // namespace

class TestEventModel : public QObject {
    Q_OBJECT

private slots:
    void appendKeepsOrder();
    void capDropsTheOldest();
    void batchLargerThanTheCap();
    void loweringTheCapTrims();
    void filterByKindAndText();
    void filterFollowsAppends();
    void csvQuotingAndTimes();
    void exportWritesTheFilteredRows();
    void exportToAnUnwritablePlace();
    void rolesAndDisplay();
};

void TestEventModel::appendKeepsOrder()
{
    EventModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.append(makeEvent(1));
    model.append({ makeEvent(2), makeEvent(3) });
    QCOMPARE(texts(model), QStringList({ "event 1", "event 2", "event 3" }));
    model.append(QList<EventRecord> {});
    QCOMPARE(model.count(), 3);
    ModelSignals signalCounts(&model);
    model.clear();
    QCOMPARE(signalCounts.reset.count(), 1);
}

void TestEventModel::capDropsTheOldest()
{
    EventModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setMaxRows(3);
    ModelSignals signalCounts(&model);
    for (int n = 1; n <= 5; ++n)
        model.append(makeEvent(n));
    QCOMPARE(texts(model), QStringList({ "event 3", "event 4", "event 5" }));
    QCOMPARE(signalCounts.removed.count(), 2);
    QCOMPARE(signalCounts.reset.count(), 0);
}

void TestEventModel::batchLargerThanTheCap()
{
    EventModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setMaxRows(3);
    model.append({ makeEvent(1), makeEvent(2) });
    ModelSignals signalCounts(&model);
    model.append({ makeEvent(3), makeEvent(4), makeEvent(5), makeEvent(6), makeEvent(7) });
    QCOMPARE(texts(model), QStringList({ "event 5", "event 6", "event 7" }));
    QCOMPARE(signalCounts.inserted.count(), 1);
    QCOMPARE(signalCounts.inserted.at(0).at(2).toInt() - signalCounts.inserted.at(0).at(1).toInt() + 1, 3);
}

void TestEventModel::loweringTheCapTrims()
{
    EventModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    for (int n = 1; n <= 10; ++n)
        model.append(makeEvent(n));
    QSignalSpy countChanged(&model, &EventModel::countChanged);
    model.setMaxRows(4);
    QCOMPARE(texts(model), QStringList({ "event 7", "event 8", "event 9", "event 10" }));
    QCOMPARE(countChanged.count(), 1);
    model.setMaxRows(0);
    QCOMPARE(model.maxRows(), 1);
    QCOMPARE(model.count(), 1);
}

void TestEventModel::filterByKindAndText()
{
    EventModel model;
    EventFilterModel filter;
    filter.setSourceModel(&model);
    QAbstractItemModelTester tester(&filter, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.append(
        { makeEvent(1, EventKind::Variable, "orders changed"), makeEvent(2, EventKind::Process, "worker-3 is dead"),
            makeEvent(3, EventKind::Error, "resize failed: below usage"),
            makeEvent(4, EventKind::Operation, "resize ok"), makeEvent(5, EventKind::Connection, "connected") });

    filter.setKindShown(EventKind::Variable, false);
    filter.setKindShown(EventKind::Connection, false);
    QCOMPARE(texts(filter), QStringList({ "worker-3 is dead", "resize failed: below usage", "resize ok" }));
    QVERIFY(!filter.isKindShown(EventKind::Variable));
    QVERIFY(filter.isKindShown(EventKind::Error));

    filter.setText("RESIZE");
    QCOMPARE(texts(filter), QStringList({ "resize failed: below usage", "resize ok" }));
    // The source column matches too.
    filter.setText("acme/");
    QCOMPARE(filter.rowCount(), 3);

    filter.setText({});
    filter.setKinds(1 << int(EventKind::Error));
    QCOMPARE(texts(filter), QStringList({ "resize failed: below usage" }));
    filter.setKinds(EventFilterModel::kAllKinds);
    QCOMPARE(filter.rowCount(), 5);
}

void TestEventModel::filterFollowsAppends()
{
    EventModel model;
    model.setMaxRows(4);
    EventFilterModel filter;
    filter.setSourceModel(&model);
    QAbstractItemModelTester sourceTester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester tester(&filter, QAbstractItemModelTester::FailureReportingMode::QtTest);
    filter.setKinds(1 << int(EventKind::Process));
    for (int n = 0; n < 12; ++n)
        model.append(makeEvent(n, n % 3 == 0 ? EventKind::Process : EventKind::Variable));
    // Rows 8..11 are left; of those only 9 is a process event.
    QCOMPARE(texts(filter), QStringList({ "event 9" }));
}

void TestEventModel::csvQuotingAndTimes()
{
    EventModel model;
    model.append(EventRecord { kStart.addMSecs(123), EventKind::Process, QStringLiteral("acme/orders"),
        QStringLiteral("worker \"w3\", pid 42\nis dead") });
    model.append(EventRecord { QDateTime(QDate(2024, 5, 1), QTime(12, 0), QTimeZone(7200)), EventKind::Operation,
        QStringLiteral("acme, beta"), QStringLiteral("plain") });
    const QByteArray csv = eventsToCsv(model);
    QCOMPARE(csv,
        QByteArray("time,kind,source,text\r\n"
                   "2024-05-01T10:00:00.123Z,process,acme/orders,\"worker \"\"w3\"\", pid 42\nis dead\"\r\n"
                   "2024-05-01T10:00:00.000Z,operation,\"acme, beta\",plain\r\n"));
}

void TestEventModel::exportWritesTheFilteredRows()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    EventModel model;
    EventFilterModel filter;
    filter.setSourceModel(&model);
    model.append({ makeEvent(1, EventKind::Variable), makeEvent(2, EventKind::Error, "bad"),
        makeEvent(3, EventKind::Variable) });
    filter.setKinds(1 << int(EventKind::Error));

    const QString filtered = dir.filePath("filtered.csv");
    QVERIFY(filter.exportCsv(QUrl::fromLocalFile(filtered)));
    QFile file(filtered);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll(), QByteArray("time,kind,source,text\r\n2024-05-01T10:00:00.002Z,error,acme/orders,bad\r\n"));

    const QString all = dir.filePath("all.csv");
    QVERIFY(model.exportCsv(QUrl::fromLocalFile(all)));
    QFile allFile(all);
    QVERIFY(allFile.open(QIODevice::ReadOnly));
    QCOMPARE(allFile.readAll().count("\r\n"), 4);
}

void TestEventModel::exportToAnUnwritablePlace()
{
    QTemporaryDir dir;
    EventModel model;
    model.append(makeEvent(1));
    QSignalSpy failed(&model, &EventModel::errorOccurred);
    QVERIFY(!model.exportCsv(QUrl::fromLocalFile(dir.filePath("no/such/dir/events.csv"))));
    QCOMPARE(failed.count(), 1);
    QVERIFY(model.errorString().contains("events.csv"));
    QVERIFY(!model.exportCsv(QUrl("https://example.invalid/events.csv")));
    QCOMPARE(failed.count(), 2);
    QVERIFY(model.errorString().contains("not a local file"));
}

void TestEventModel::rolesAndDisplay()
{
    EventModel model;
    model.append(makeEvent(5, EventKind::Error, "boom"));
    const QModelIndex index = model.index(0, 0);
    QCOMPARE(index.data(TimeRole).toDateTime(), kStart.addMSecs(5));
    QCOMPARE(index.data(EventKindRole).toInt(), int(EventKind::Error));
    QCOMPARE(index.data(SourceRole).toString(), QStringLiteral("acme/orders"));
    QCOMPARE(index.data(TextRole).toString(), QStringLiteral("boom"));
    QCOMPARE(model.index(0, EventModel::KindColumn).data().toString(), QStringLiteral("Error"));
    QCOMPARE(model.index(0, EventModel::TimeColumn).data().toString(),
        kStart.addMSecs(5).toLocalTime().toString("HH:mm:ss.zzz"));
    QCOMPARE(model.roleNames().value(EventKindRole), QByteArray("eventKind"));
}

QTEST_GUILESS_MAIN(TestEventModel)
#include "tst_event_model.moc"
