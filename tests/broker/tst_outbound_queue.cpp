// A session's send buffer without a socket: frames pass through within the bound, wait beyond it,
// replies are never dropped and keep their order, a waiting push is replaced by a newer one for the
// same variable (the client sees a seq gap flagged `coalesced`), and a session over the bound for
// longer than the grace period is reported.

#include "outbound_queue.h"

#include <commy/protocol/codec.h>

#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

using commy::broker::OutboundQueue;
using commy::broker::OutboundQueueOptions;
using commy::protocol::VariableChanged;

namespace {

constexpr qint64 kBound = 1000;
constexpr qint64 kOver = kBound + 1;

OutboundQueue makeQueue(qint64 bound = kBound, qint64 graceMs = 5000) { return OutboundQueue({ bound, graceMs }); }

VariableChanged push(const QString& variable, qint64 seq, const QString& service = QStringLiteral("line1"))
{
    VariableChanged p;
    p.tenant = QStringLiteral("acme");
    p.service = service;
    p.variable = variable;
    p.value = QByteArray("value-") + QByteArray::number(seq);
    p.version = seq;
    p.seq = seq;
    return p;
}

QByteArray reply(int id) { return QByteArray(R"({"type":"Result","id":)") + QByteArray::number(id) + R"(,"data":{}})"; }

// A frame taken from the queue in a short readable form: "r<id>" for a reply, "<service>/<variable>#<seq>"
// for a push, with a trailing "*" when it is flagged coalesced.
QString describe(const QByteArray& frame)
{
    const QJsonObject object = QJsonDocument::fromJson(frame).object();
    if (object.value(QLatin1String("type")).toString() == QLatin1String("Result"))
        return QStringLiteral("r%1").arg(object.value(QLatin1String("id")).toInt());
    const QJsonObject data = object.value(QLatin1String("data")).toObject();
    QString text
        = QStringLiteral("%1/%2#%3")
              .arg(data.value(QLatin1String("service")).toString(), data.value(QLatin1String("variable")).toString())
              .arg(data.value(QLatin1String("seq")).toInteger());
    if (data.value(QLatin1String("coalesced")).toBool())
        text += u'*';
    return text;
}

QStringList describeAll(const std::vector<QByteArray>& frames)
{
    QStringList result;
    for (const QByteArray& frame : frames)
        result.append(describe(frame));
    return result;
}

// Feeds a script of steps to a queue whose socket is over the bound, then drains it.
// Steps: "r<id>" a reply; "<variable>#<seq>" a push on service line1; "<service>/<variable>#<seq>".
void feed(OutboundQueue& queue, const QStringList& script)
{
    for (const QString& step : script) {
        if (step.startsWith(u'r')) {
            queue.enqueueReply(reply(step.mid(1).toInt()));
            continue;
        }
        const QStringList nameAndSeq = step.split(u'#');
        const QStringList path = nameAndSeq[0].split(u'/');
        const qint64 seq = nameAndSeq[1].toLongLong();
        queue.enqueuePush(path.size() == 2 ? push(path[1], seq, path[0]) : push(path[0], seq));
    }
}

} // namespace

class TestOutboundQueue : public QObject {
    Q_OBJECT

private slots:
    void framesPassThroughWithinTheBound();
    void aFrameSkipsTheQueueOnlyWhenNothingWaits();
    void takeStopsOnceTheBoundIsCrossed_data();
    void takeStopsOnceTheBoundIsCrossed();
    void repliesWaitAndAreNeverDropped();
    void coalescing_data();
    void coalescing();
    void coalescedPushCarriesTheNewestValue();
    void gapAfterAPushAlreadySent();
    void coalescedTotalCounts();
    void enqueuePushReportsReplacement();
    void grace_data();
    void grace();
    void graceRestartsAfterRelief();
    void waitingBytesCountsWhatWaits();
};

void TestOutboundQueue::framesPassThroughWithinTheBound()
{
    OutboundQueue queue = makeQueue();
    queue.enqueueReply(reply(1));
    queue.enqueuePush(push(QStringLiteral("x"), 1));
    queue.enqueueReply(reply(2));
    queue.enqueuePush(push(QStringLiteral("x"), 2)); // replaces #1 (still waiting): the bound was never tested
    const QStringList taken = describeAll(queue.takeSendable(0));
    QCOMPARE(taken, (QStringList { QStringLiteral("r1"), QStringLiteral("r2"), QStringLiteral("line1/x#2*") }));
    QVERIFY(queue.isEmpty());

    // Taken between pushes, nothing is merged and nothing is flagged.
    queue.enqueuePush(push(QStringLiteral("x"), 3));
    QCOMPARE(describeAll(queue.takeSendable(0)), QStringList { QStringLiteral("line1/x#3") });
    queue.enqueuePush(push(QStringLiteral("x"), 4));
    QCOMPARE(describeAll(queue.takeSendable(kBound)), QStringList { QStringLiteral("line1/x#4") });
}

void TestOutboundQueue::aFrameSkipsTheQueueOnlyWhenNothingWaits()
{
    OutboundQueue queue = makeQueue();
    QVERIFY(queue.passesThrough(0));
    QVERIFY(queue.passesThrough(kBound));
    QVERIFY(!queue.passesThrough(kOver)); // the socket is over the bound: frames wait (and merge)

    // Something waits: a new frame behind it must not overtake it, whatever the socket holds.
    queue.enqueuePush(push(QStringLiteral("x"), 1));
    QVERIFY(!queue.passesThrough(0));
    queue.enqueuePush(push(QStringLiteral("x"), 2)); // merged: the subscription owes a gap flag
    QVERIFY(!queue.passesThrough(0));
    QCOMPARE(describeAll(queue.takeSendable(0)), QStringList { QStringLiteral("line1/x#2*") });
    QVERIFY(queue.passesThrough(0)); // the flag went out with #2

    queue.enqueueReply(reply(1));
    QVERIFY(!queue.passesThrough(0));
    QCOMPARE(describeAll(queue.takeSendable(0)), QStringList { QStringLiteral("r1") });
    QVERIFY(queue.passesThrough(0));
}

void TestOutboundQueue::takeStopsOnceTheBoundIsCrossed_data()
{
    QTest::addColumn<qint64>("bound");
    QTest::addColumn<qint64>("unsent");
    QTest::addColumn<int>("frameBytes");
    QTest::addColumn<int>("frames");
    QTest::addColumn<int>("expectedTaken");

    QTest::newRow("empty socket, small frames") << qint64(100) << qint64(0) << 30 << 10 << 4; // 0,30,60,90 -> 120
    QTest::newRow("exactly at the bound still takes one") << qint64(100) << qint64(100) << 30 << 10 << 1;
    QTest::newRow("over the bound takes none") << qint64(100) << qint64(101) << 30 << 10 << 0;
    QTest::newRow("one frame larger than the bound") << qint64(100) << qint64(0) << 500 << 3 << 1;
    QTest::newRow("everything fits") << qint64(1000) << qint64(0) << 30 << 10 << 10;
    QTest::newRow("zero bound sends one at a time") << qint64(0) << qint64(0) << 30 << 10 << 1;
}

void TestOutboundQueue::takeStopsOnceTheBoundIsCrossed()
{
    QFETCH(qint64, bound);
    QFETCH(qint64, unsent);
    QFETCH(int, frameBytes);
    QFETCH(int, frames);
    QFETCH(int, expectedTaken);

    OutboundQueue queue = makeQueue(bound);
    for (int i = 0; i < frames; ++i)
        queue.enqueueReply(QByteArray(frameBytes, char('a' + i)));
    const std::vector<QByteArray> taken = queue.takeSendable(unsent);
    QCOMPARE(int(taken.size()), expectedTaken);
    for (int i = 0; i < expectedTaken; ++i)
        QCOMPARE(taken[size_t(i)], QByteArray(frameBytes, char('a' + i)));
    QCOMPARE(int(queue.waitingFrames()), frames - expectedTaken);
}

void TestOutboundQueue::repliesWaitAndAreNeverDropped()
{
    OutboundQueue queue = makeQueue();
    constexpr int kReplies = 5000; // far beyond the bound in bytes
    for (int id = 0; id < kReplies; ++id)
        queue.enqueueReply(reply(id));
    QVERIFY(queue.takeSendable(kOver).empty());
    QCOMPARE(int(queue.waitingFrames()), kReplies);

    int next = 0;
    while (!queue.isEmpty()) {
        for (const QByteArray& frame : queue.takeSendable(0))
            QCOMPARE(describe(frame), QStringLiteral("r%1").arg(next++));
    }
    QCOMPARE(next, kReplies);
}

void TestOutboundQueue::coalescing_data()
{
    QTest::addColumn<QStringList>("script");
    QTest::addColumn<QStringList>("expected");

    auto list = [](const char* text) { return QString::fromLatin1(text).split(u' ', Qt::SkipEmptyParts); };

    QTest::newRow("distinct variables all kept") << list("x#1 y#2 z#3") << list("line1/x#1 line1/y#2 line1/z#3");
    QTest::newRow("one variable keeps the newest") << list("x#1 x#2 x#3") << list("line1/x#3*");
    QTest::newRow("replacement goes to the back") << list("x#1 y#2 x#3") << list("line1/y#2* line1/x#3");
    QTest::newRow("gap shown once per drop run")
        << list("x#1 y#2 x#3 y#4 z#5") << list("line1/x#3* line1/y#4 line1/z#5");
    QTest::newRow("services are separate subscriptions")
        << list("a/x#1 b/x#1 a/x#2 b/y#2") << list("b/x#1 a/x#2* b/y#2");
    QTest::newRow("replies keep their order around pushes") << list("r1 x#1 r2 x#2 r3") << list("r1 r2 line1/x#2* r3");
    QTest::newRow("replies are never merged") << list("r1 r1 r1") << list("r1 r1 r1");
}

void TestOutboundQueue::coalescing()
{
    QFETCH(QStringList, script);
    QFETCH(QStringList, expected);

    OutboundQueue queue = makeQueue();
    feed(queue, script);
    QVERIFY(queue.takeSendable(kOver).empty());
    QCOMPARE(describeAll(queue.takeSendable(0)), expected);
    QVERIFY(queue.isEmpty());
}

void TestOutboundQueue::coalescedPushCarriesTheNewestValue()
{
    OutboundQueue queue = makeQueue();
    queue.enqueuePush(push(QStringLiteral("x"), 7));
    VariableChanged newest = push(QStringLiteral("x"), 9);
    newest.value = QByteArray("\x00\xff newest", 9);
    newest.version = 42;
    queue.enqueuePush(newest);

    const std::vector<QByteArray> frames = queue.takeSendable(0);
    QCOMPARE(int(frames.size()), 1);
    const QJsonObject data = QJsonDocument::fromJson(frames[0]).object().value(QLatin1String("data")).toObject();
    QCOMPARE(QByteArray::fromBase64(data.value(QLatin1String("value")).toString().toLatin1()), newest.value);
    QCOMPARE(data.value(QLatin1String("version")).toInteger(), 42);
    QCOMPARE(data.value(QLatin1String("seq")).toInteger(), 9);
    QCOMPARE(data.value(QLatin1String("coalesced")).toBool(), true);
}

void TestOutboundQueue::gapAfterAPushAlreadySent()
{
    OutboundQueue queue = makeQueue();
    queue.enqueuePush(push(QStringLiteral("x"), 1));
    QCOMPARE(describeAll(queue.takeSendable(0)), QStringList { QStringLiteral("line1/x#1") });

    // The socket is full now: #2 waits, #3 replaces it, and after the client drains the gap 1 -> 3 is flagged.
    queue.enqueuePush(push(QStringLiteral("x"), 2));
    QVERIFY(queue.takeSendable(kOver).empty());
    queue.enqueuePush(push(QStringLiteral("x"), 3));
    QCOMPARE(describeAll(queue.takeSendable(0)), QStringList { QStringLiteral("line1/x#3*") });

    // The flag is consumed: the next push is contiguous again.
    queue.enqueuePush(push(QStringLiteral("x"), 4));
    QCOMPARE(describeAll(queue.takeSendable(0)), QStringList { QStringLiteral("line1/x#4") });
}

void TestOutboundQueue::coalescedTotalCounts()
{
    OutboundQueue queue = makeQueue();
    for (int seq = 1; seq <= 100; ++seq)
        queue.enqueuePush(push(QStringLiteral("v%1").arg(seq % 4), seq));
    QCOMPARE(queue.coalescedTotal(), 96);
    QCOMPARE(int(queue.waitingFrames()), 4);
    QCOMPARE(describeAll(queue.takeSendable(0)),
        (QStringList { QStringLiteral("line1/v1#97*"), QStringLiteral("line1/v2#98"), QStringLiteral("line1/v3#99"),
            QStringLiteral("line1/v0#100") }));
}

void TestOutboundQueue::enqueuePushReportsReplacement()
{
    OutboundQueue queue = makeQueue();
    QVERIFY(!queue.enqueuePush(push(QStringLiteral("x"), 1)));
    QVERIFY(!queue.enqueuePush(push(QStringLiteral("y"), 2)));
    QVERIFY(queue.enqueuePush(push(QStringLiteral("x"), 3)));
    QVERIFY(!queue.enqueuePush(push(QStringLiteral("x"), 4, QStringLiteral("other"))));
}

void TestOutboundQueue::grace_data()
{
    // Observations (socket unsent bytes, time) with 0 or 1 frame waiting; the grace period is 100 ms.
    QTest::addColumn<QList<qint64>>("unsent");
    QTest::addColumn<QList<qint64>>("times");
    QTest::addColumn<bool>("frameWaiting");
    QTest::addColumn<bool>("expected");

    QTest::newRow("never over") << QList<qint64> { 0, kBound } << QList<qint64> { 0, 1000 } << false << false;
    QTest::newRow("over for exactly the grace")
        << QList<qint64> { kOver, kOver } << QList<qint64> { 10, 110 } << false << false;
    QTest::newRow("over for longer than the grace")
        << QList<qint64> { kOver, kOver } << QList<qint64> { 10, 111 } << false << true;
    QTest::newRow("relief in between restarts the clock")
        << QList<qint64> { kOver, 0, kOver, kOver } << QList<qint64> { 0, 90, 95, 190 } << false << false;
    QTest::newRow("a waiting frame counts as over")
        << QList<qint64> { 0, 0 } << QList<qint64> { 0, 101 } << true << true;
    QTest::newRow("first observation starts the clock")
        << QList<qint64> { kOver } << QList<qint64> { 5000 } << false << false;
}

void TestOutboundQueue::grace()
{
    QFETCH(QList<qint64>, unsent);
    QFETCH(QList<qint64>, times);
    QFETCH(bool, frameWaiting);
    QFETCH(bool, expected);

    OutboundQueue queue = makeQueue(kBound, 100);
    if (frameWaiting)
        queue.enqueueReply(reply(1));
    bool result = false;
    for (qsizetype i = 0; i < unsent.size(); ++i)
        result = queue.overBoundTooLong(unsent[i], times[i]);
    QCOMPARE(result, expected);
}

void TestOutboundQueue::graceRestartsAfterRelief()
{
    OutboundQueue queue = makeQueue(kBound, 100);
    QVERIFY(!queue.overBoundTooLong(kOver, 1000));
    QCOMPARE(queue.overBoundSince(), std::optional<qint64>(1000));
    QVERIFY(!queue.overBoundTooLong(kOver, 1050));
    QCOMPARE(queue.overBoundSince(), std::optional<qint64>(1000));
    QVERIFY(!queue.overBoundTooLong(0, 1060));
    QCOMPARE(queue.overBoundSince(), std::nullopt);
    QVERIFY(!queue.overBoundTooLong(kOver, 1070));
    QCOMPARE(queue.overBoundSince(), std::optional<qint64>(1070));
    QVERIFY(queue.overBoundTooLong(kOver, 1171));
}

// What GetSessions reports as a session's backlog: replies as they are, pushes as encoded, and only
// what is still waiting here.
void TestOutboundQueue::waitingBytesCountsWhatWaits()
{
    OutboundQueue queue = makeQueue();
    QCOMPARE(queue.waitingBytes(), 0);
    queue.enqueueReply(reply(1));
    queue.enqueuePush(push(QStringLiteral("a"), 1));
    queue.enqueuePush(push(QStringLiteral("a"), 2)); // replaces the first
    QCOMPARE(queue.waitingBytes(), reply(1).size() + commy::protocol::encodePush(push(QStringLiteral("a"), 2)).size());
    QCOMPARE(queue.takeSendable(kOver).size(), std::size_t(0));
    QCOMPARE(queue.takeSendable(0).size(), std::size_t(2));
    QCOMPARE(queue.waitingBytes(), 0);
}

QTEST_APPLESS_MAIN(TestOutboundQueue)
#include "tst_outbound_queue.moc"
