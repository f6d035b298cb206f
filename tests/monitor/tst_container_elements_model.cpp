// ContainerElementsModel with a fake fetcher (answering at once or when told): nothing is read until a
// view asks, pages arrive as it scrolls, one read per page at a time, a version bump re-reads only the
// rows a view asks for again, shrink and growth, errors, resets and late answers - and all of it under
// QAbstractItemModelTester.

#include <monitor/models/container_elements_model.h>
#include <monitor/models/roles.h>

#include "monitor_test_support.h"

#include <QAbstractItemModelTester>
#include <QtTest>

using namespace commy::monitor;
using namespace commy::monitor::test;

namespace {

// A container root behind a fetcher. Values carry the version, so a re-read shows.
class FakeRoot {
public:
    struct Request {
        quint64 offset;
        quint64 limit;
        ContainerElementsModel::PageCallback done;
    };

    quint64 length = 0;
    quint64 version = 1;
    bool deferred = false;
    bool maps = false;
    QString failWith;
    QList<QPair<quint64, quint64>> log; // every read: (offset, limit)
    QList<Request> pending;

    ContainerElementsModel::Fetcher fetcher()
    {
        return [this](quint64 offset, quint64 limit, ContainerElementsModel::PageCallback done) {
            log.append({ offset, limit });
            if (deferred)
                pending.append(Request { offset, limit, std::move(done) });
            else
                done(page(offset, limit));
        };
    }

    ElementPage page(quint64 offset, quint64 limit) const
    {
        ElementPage page;
        page.offset = offset;
        page.length = length;
        page.version = version;
        if (!failWith.isEmpty()) {
            page.error = failWith;
            return page;
        }
        for (quint64 i = offset; i < std::min(offset + limit, length); ++i)
            page.elements.append(element(i));
        return page;
    }

    ElementSnapshot element(quint64 i) const
    {
        return ElementSnapshot { i, maps, maps ? QStringLiteral("k%1").arg(i) : QString(),
            QStringLiteral("v%1@%2").arg(i).arg(version) };
    }

    void answerAll()
    {
        const QList<Request> requests = std::exchange(pending, {});
        for (const Request& request : requests)
            request.done(page(request.offset, request.limit));
    }
};

void fetchAll(ContainerElementsModel& model)
{
    for (int guard = 0; guard < 1000 && model.canFetchMore({}); ++guard)
        model.fetchMore({});
}

// What a view does when it paints rows [first, last]: reads them.
void show(const ContainerElementsModel& model, int first, int last)
{
    for (int row = first; row <= last; ++row)
        model.index(row, ContainerElementsModel::ValueColumn).data();
}

bool isStale(const ContainerElementsModel& model, int row) { return model.index(row, 0).data(StaleRole).toBool(); }

using Reads = QList<QPair<quint64, quint64>>;

} // namespace

class TestContainerElementsModel : public QObject {
    Q_OBJECT

private slots:
    void nothingIsReadUntilAsked();
    void pagesArriveAsTheViewScrolls();
    void oneReadPerPageInFlight();
    void versionBumpRereadsOnlyWhatIsShown();
    void olderVersionsAreIgnored();
    void shrinkRemovesRows();
    void growthAfterTheEndIsFetched();
    void newerReadIsAdopted();
    void errorsAreReportedAndNotRetriedBlindly();
    void resetDropsLateAnswers();
    void answerAfterTheModelIsGone();
    void pageSizeChangeResets();
    void rolesAndDisplay();
    void flowsUnderTheTester();
};

void TestContainerElementsModel::nothingIsReadUntilAsked()
{
    FakeRoot root;
    root.length = 250;
    ContainerElementsModel model;
    model.setSource(root.fetcher(), root.length, root.version);
    QCOMPARE(model.rowCount(), 0);
    QVERIFY(model.canFetchMore({}));
    QCOMPARE(model.length(), 250u);
    QCoreApplication::processEvents();
    QVERIFY(root.log.isEmpty());
}

void TestContainerElementsModel::pagesArriveAsTheViewScrolls()
{
    FakeRoot root;
    root.length = 250;
    ContainerElementsModel model;
    model.setSource(root.fetcher(), root.length, root.version);
    model.fetchMore({});
    QCOMPARE(model.rowCount(), 100);
    QCOMPARE(root.log, Reads({ { 0, 100 } }));
    fetchAll(model);
    QCOMPARE(model.rowCount(), 250);
    QCOMPARE(root.log, Reads({ { 0, 100 }, { 100, 100 }, { 200, 100 } }));
    QVERIFY(!model.canFetchMore({}));
    QCOMPARE(model.index(249, ContainerElementsModel::ValueColumn).data().toString(), QStringLiteral("v249@1"));
    QCoreApplication::processEvents();
    QCOMPARE(root.log.size(), 3);
}

void TestContainerElementsModel::oneReadPerPageInFlight()
{
    FakeRoot root;
    root.length = 250;
    root.deferred = true;
    ContainerElementsModel model;
    QSignalSpy loading(&model, &ContainerElementsModel::loadingChanged);
    model.setSource(root.fetcher(), root.length, root.version);
    model.fetchMore({});
    model.fetchMore({});
    QCOMPARE(root.log.size(), 1);
    QVERIFY(model.isLoading());
    root.answerAll();
    QVERIFY(!model.isLoading());
    QCOMPARE(loading.count(), 2);
    QCOMPARE(model.rowCount(), 100);
}

void TestContainerElementsModel::versionBumpRereadsOnlyWhatIsShown()
{
    FakeRoot root;
    root.length = 1000;
    ContainerElementsModel model;
    model.setSource(root.fetcher(), root.length, root.version);
    for (int i = 0; i < 3; ++i)
        model.fetchMore({});
    QCOMPARE(model.rowCount(), 300);
    root.log.clear();

    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    root.version = 2;
    model.setVersion(2, 1000);
    QCOMPARE(model.version(), 2u);
    // One signal for every loaded row, so views ask again for what they show.
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(1).value<QModelIndex>().row(), 299);
    QCOMPARE(changed.at(0).at(2).value<QList<int>>(), QList<int>({ StaleRole }));
    QVERIFY(root.log.isEmpty());

    // A view shows rows 120..130: only their page is read again, on the next turn of the event loop.
    changed.clear();
    show(model, 120, 130);
    QVERIFY(root.log.isEmpty());
    QTRY_COMPARE(root.log, Reads({ { 100, 100 } }));
    QCOMPARE(model.index(125, ContainerElementsModel::ValueColumn).data().toString(), QStringLiteral("v125@2"));
    QVERIFY(!isStale(model, 150));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).value<QModelIndex>().row(), 100);
    QCOMPARE(changed.at(0).at(1).value<QModelIndex>().row(), 199);
    // The rows nobody looked at still hold the old values, marked stale.
    QVERIFY(isStale(model, 0));
    QVERIFY(isStale(model, 250));
}

void TestContainerElementsModel::olderVersionsAreIgnored()
{
    FakeRoot root;
    root.length = 10;
    root.version = 5;
    ContainerElementsModel model;
    model.setSource(root.fetcher(), root.length, root.version);
    model.fetchMore({});
    QSignalSpy versionChanged(&model, &ContainerElementsModel::versionChanged);
    model.setVersion(4, 3);
    QCOMPARE(model.version(), 5u);
    QCOMPARE(model.rowCount(), 10);
    QCOMPARE(versionChanged.count(), 0);
}

void TestContainerElementsModel::shrinkRemovesRows()
{
    FakeRoot root;
    root.length = 250;
    ContainerElementsModel model;
    model.setSource(root.fetcher(), root.length, root.version);
    fetchAll(model);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    root.length = 150;
    root.version = 2;
    model.setVersion(2, 150);
    QCOMPARE(model.rowCount(), 150);
    QCOMPARE(removed.count(), 1);
    QCOMPARE(model.length(), 150u);
    QVERIFY(!model.canFetchMore({}));
}

void TestContainerElementsModel::growthAfterTheEndIsFetched()
{
    FakeRoot root;
    root.length = 50;
    ContainerElementsModel model;
    model.setSource(root.fetcher(), root.length, root.version);
    model.fetchMore({});
    QCOMPARE(model.rowCount(), 50);
    root.log.clear();
    // Everything was on screen and the container grew (a log being appended to): the new tail comes.
    root.length = 80;
    root.version = 2;
    model.setVersion(2, 80);
    QTRY_COMPARE(model.rowCount(), 80);
    QCOMPARE(root.log, Reads({ { 50, 50 } }));
    QCOMPARE(model.index(79, ContainerElementsModel::ValueColumn).data().toString(), QStringLiteral("v79@2"));
}

void TestContainerElementsModel::newerReadIsAdopted()
{
    FakeRoot root;
    root.length = 30;
    root.version = 9;
    ContainerElementsModel model;
    QSignalSpy lengthChanged(&model, &ContainerElementsModel::lengthChanged);
    model.setSource(root.fetcher(), 20, 3);
    lengthChanged.clear();
    model.fetchMore({});
    QCOMPARE(model.version(), 9u);
    QCOMPARE(model.length(), 30u);
    QCOMPARE(lengthChanged.count(), 1);
    QCOMPARE(model.rowCount(), 30);
}

void TestContainerElementsModel::errorsAreReportedAndNotRetriedBlindly()
{
    FakeRoot root;
    root.length = 300;
    ContainerElementsModel model;
    QSignalSpy errors(&model, &ContainerElementsModel::errorOccurred);
    model.setSource(root.fetcher(), root.length, root.version);
    model.fetchMore({});
    QCOMPARE(model.rowCount(), 100);

    root.failWith = QStringLiteral("NOT_FOUND: root is gone");
    model.fetchMore({});
    QCOMPARE(errors.count(), 1);
    QCOMPARE(model.errorString(), QStringLiteral("NOT_FOUND: root is gone"));
    QCOMPARE(model.rowCount(), 100);
    QVERIFY(!model.isLoading());

    // A stale page whose re-read failed is not read again on every paint.
    root.version = 2;
    model.setVersion(2, 300);
    root.log.clear();
    show(model, 0, 5);
    QTRY_COMPARE(root.log.size(), 1);
    QCOMPARE(errors.count(), 2);
    show(model, 0, 5);
    QCoreApplication::processEvents();
    QCOMPARE(root.log.size(), 1);
    // An explicit fetch (a scroll) tries again, and a recovered source answers.
    root.failWith.clear();
    model.fetchMore({});
    QCOMPARE(model.rowCount(), 200);
}

void TestContainerElementsModel::resetDropsLateAnswers()
{
    FakeRoot first;
    first.length = 100;
    first.deferred = true;
    FakeRoot second;
    second.length = 5;
    ContainerElementsModel model;
    model.setSource(first.fetcher(), first.length, first.version);
    model.fetchMore({});
    QVERIFY(model.isLoading());
    model.setSource(second.fetcher(), second.length, second.version);
    QVERIFY(!model.isLoading());
    first.answerAll();
    QCOMPARE(model.rowCount(), 0);
    model.fetchMore({});
    QCOMPARE(model.rowCount(), 5);
    model.clear();
    QCOMPARE(model.rowCount(), 0);
    QVERIFY(!model.canFetchMore({}));
}

void TestContainerElementsModel::answerAfterTheModelIsGone()
{
    FakeRoot root;
    root.length = 100;
    root.deferred = true;
    auto model = std::make_unique<ContainerElementsModel>();
    model->setSource(root.fetcher(), root.length, root.version);
    model->fetchMore({});
    model.reset();
    root.answerAll(); // must not touch the destroyed model
    QVERIFY(root.pending.isEmpty());
}

void TestContainerElementsModel::pageSizeChangeResets()
{
    FakeRoot root;
    root.length = 100;
    ContainerElementsModel model;
    model.setSource(root.fetcher(), root.length, root.version);
    model.fetchMore({});
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    model.setPageSize(10);
    QCOMPARE(reset.count(), 1);
    QCOMPARE(model.rowCount(), 0);
    model.fetchMore({});
    QCOMPARE(model.rowCount(), 10);
    QCOMPARE(root.log.last(), (QPair<quint64, quint64>(0, 10)));
}

void TestContainerElementsModel::rolesAndDisplay()
{
    FakeRoot root;
    root.length = 3;
    root.maps = true;
    ContainerElementsModel model;
    model.setSource(root.fetcher(), root.length, root.version);
    model.fetchMore({});
    const QModelIndex index = model.index(2, 0);
    QCOMPARE(index.data(IndexRole).toULongLong(), 2u);
    QCOMPARE(index.data(HasKeyRole).toBool(), true);
    QCOMPARE(index.data(KeyRole).toString(), QStringLiteral("k2"));
    QCOMPARE(index.data(ValueRole).toString(), QStringLiteral("v2@1"));
    QCOMPARE(index.data(StaleRole).toBool(), false);
    QCOMPARE(model.index(2, ContainerElementsModel::IndexColumn).data().toString(), QStringLiteral("2"));
    QCOMPARE(model.index(2, ContainerElementsModel::KeyColumn).data().toString(), QStringLiteral("k2"));
    QCOMPARE(model.roleNames().value(StaleRole), QByteArray("stale"));
}

void TestContainerElementsModel::flowsUnderTheTester()
{
    FakeRoot root;
    root.length = 420;
    root.deferred = true;
    ContainerElementsModel model;
    model.setPageSize(50);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setSource(root.fetcher(), root.length, root.version);
    for (int step = 0; step < 40; ++step) {
        switch (step % 5) {
        case 0:
            model.fetchMore({});
            break;
        case 1:
            root.answerAll();
            break;
        case 2:
            root.version += 1;
            root.length = 420 + quint64((step * 37) % 200) - 100;
            model.setVersion(root.version, root.length);
            break;
        case 3:
            show(model, 0, std::min(model.rowCount(), 60) - 1);
            QCoreApplication::processEvents();
            break;
        case 4:
            root.answerAll();
            QCoreApplication::processEvents();
            root.answerAll();
            break;
        }
        QVERIFY(quint64(model.rowCount()) <= model.length());
    }
    root.answerAll();
    fetchAll(model);
    root.answerAll();
    QVERIFY(model.rowCount() > 0);
    model.setSource(root.fetcher(), 10, root.version);
    QCOMPARE(model.rowCount(), 0);
}

QTEST_GUILESS_MAIN(TestContainerElementsModel)
#include "tst_container_elements_model.moc"
