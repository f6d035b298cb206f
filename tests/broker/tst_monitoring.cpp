// The monitoring and operations API against an in-process broker: every answer is checked against
// what the region really holds, read through a Region handle of the test's own (and, for processes,
// through a child process that attaches, allocates and is killed). Watch pushes, resize / shrink /
// cleanup and their errors, and the audit log.

#include "broker_test_support.h"

#include <commy/shm/container_reader.h>
#include <commy/shm/region.h>
#include <commy/shm/region_format.h>
#include <commy/shm/shared_btree_map.h>
#include <commy/shm/shared_string.h>
#include <commy/shm/shared_vec.h>

#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>
#include <QProcess>
#include <QScopeGuard>
#include <QtTest>

#include <numeric>

using namespace commy;
using namespace commy::broker;
using namespace commy::broker::testing;

namespace {

QJsonObject dataOf(const QJsonObject& reply) { return reply.value(QStringLiteral("data")).toObject(); }
QString typeOf(const QJsonObject& frame) { return frame.value(QStringLiteral("type")).toString(); }
QString messageOf(const QJsonObject& reply) { return dataOf(reply).value(QStringLiteral("message")).toString(); }

QJsonObject svc(const QString& tenant = QStringLiteral("acme"), const QString& service = QStringLiteral("svc"))
{
    return data({ { "tenant", tenant }, { "service", service } });
}

QJsonObject with(QJsonObject object, const QString& key, const QJsonValue& value)
{
    object.insert(key, value);
    return object;
}

QJsonObject variable(const QString& name, const QByteArray& value)
{
    return data({ { "tenant", "acme" }, { "service", "svc" }, { "variable", name }, { "value", base64(value) } });
}

// The monitoring pushes a session received so far, of one type, oldest first.
std::vector<QJsonObject> pushesOf(const TestSession& session, const char* type)
{
    std::vector<QJsonObject> found;
    for (const QJsonObject& frame : session.replies) {
        if (typeOf(frame) == QLatin1String(type))
            found.push_back(dataOf(frame));
    }
    return found;
}

QJsonObject findByName(const QJsonArray& items, const QString& name)
{
    for (const QJsonValue& item : items)
        if (item.toObject().value(QStringLiteral("name")).toString() == name)
            return item.toObject();
    return {};
}

QJsonObject statsJson(const shm::AllocatorStats& s)
{
    return QJsonObject { { "size", qint64(s.size) }, { "limit", qint64(s.limit) }, { "used", qint64(s.usedBytes) },
        { "free", qint64(s.freeBytes) }, { "largest_free", qint64(s.largestFreeBlock) },
        { "fragmentation", s.fragmentation }, { "used_blocks", qint64(s.usedBlocks) },
        { "free_blocks", qint64(s.freeBlocks) }, { "generation", qint64(s.generation) }, { "grows", qint64(s.grows) },
        { "shrinks", qint64(s.shrinks) }, { "lock_recoveries", qint64(s.lockRecoveries) },
        { "cleanups", qint64(s.cleanups) } };
}

// A child that attaches to the region under `name` and holds `bytes` unpublished until stdin closes.
struct HeldProcess {
    QProcess process;
    std::uint32_t slot = 0;
    std::uint64_t offset = 0;

    bool start(const QString& path, const QString& name, qint64 bytes)
    {
        process.start(qEnvironmentVariable("COMMY_TEST_BIN_DIR") + "/broker_test_child",
            { "hold", path, name, QString::number(bytes) });
        if (!process.waitForStarted(5000))
            return false;
        QDeadlineTimer deadline(10000);
        // Waiting in the event loop keeps the broker's heartbeat timer running.
        while (!process.canReadLine() && !deadline.hasExpired())
            QTest::qWait(5);
        const QList<QByteArray> words = process.readLine().trimmed().split(' ');
        if (words.size() != 3 || words[0] != "ready")
            return false;
        slot = words[1].toUInt();
        offset = words[2].toULongLong();
        return true;
    }
    ~HeldProcess()
    {
        if (process.state() != QProcess::NotRunning) {
            process.kill();
            process.waitForFinished(5000);
        }
    }
};

} // namespace

class TestMonitoring : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    FakeClock m_clock;
    std::unique_ptr<Broker> m_broker;
    QString m_adminKey;
    std::unique_ptr<TestSession> m_root; // server_admin
    QString m_path; // acme/svc's region file
    std::unique_ptr<shm::Region> m_region; // the test's own handle on it

    QString createKey(const QString& tenant, const QStringList& scopes)
    {
        const QJsonObject reply = m_root->request(
            "CreateKey", data({ { "tenant", tenant }, { "scopes", QJsonArray::fromStringList(scopes) } }));
        return dataOf(reply).value(QStringLiteral("key")).toString();
    }

    std::unique_ptr<TestSession> sessionWith(const QStringList& scopes)
    {
        auto session = std::make_unique<TestSession>(*m_broker);
        [&] { QCOMPARE(session->authenticateKey(createKey("acme", scopes), "acme"), QStringLiteral("OK")); }();
        return session;
    }

    QJsonObject ok(TestSession& session, const QString& type, const QJsonObject& request = {})
    {
        const QJsonObject reply = session.request(type, request);
        [&] { QVERIFY2(TestSession::outcome(reply) == "OK", qPrintable(type + ": " + messageOf(reply))); }();
        return dataOf(reply);
    }

    // Every block of acme/svc through GetBlockMap, `pageSize` at a time.
    QJsonArray allBlocks(TestSession& session, qint64 pageSize)
    {
        QJsonArray blocks;
        for (qint64 offset = 0;; offset += pageSize) {
            const QJsonObject page = ok(session, "GetBlockMap",
                with(with(svc(), QStringLiteral("offset"), offset), QStringLiteral("limit"), pageSize));
            const QJsonArray items = page.value(QStringLiteral("blocks")).toArray();
            for (const QJsonValue& item : items)
                blocks.append(item);
            if (items.size() < pageSize)
                return blocks;
        }
    }

private slots:
    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        m_clock = FakeClock();
        m_broker = openBroker(m_dir->path(), &m_clock);
        QVERIFY(m_broker);
        auto admin = m_broker->bootstrapAdminKey();
        QVERIFY(admin && admin->has_value());
        m_adminKey = **admin;
        m_root = std::make_unique<TestSession>(*m_broker);
        QCOMPARE(m_root->authenticateKey(m_adminKey), QStringLiteral("OK"));
        ok(*m_root, "CreateTenant", data({ { "tenant", "acme" } }));
        ok(*m_root, "CreateService", with(with(svc(), "size", 1 << 20), "limit", 4 << 20));
        m_path = ok(*m_root, "GetServiceFilePath", svc()).value(QStringLiteral("path")).toString();
        QVERIFY(QFileInfo::exists(m_path));
        shm::RegionOptions options;
        options.mode = shm::OpenMode::OpenExisting;
        options.localCacheBytes = 0; // every free goes back to the region at once
        auto region = shm::Region::open(m_path.toStdString(), options);
        QVERIFY(region);
        m_region = std::move(*region);
    }

    void cleanup()
    {
        m_region.reset();
        m_root.reset();
        m_broker.reset();
    }

    void brokerInfo()
    {
        auto reader = sessionWith({ "read", "subscribe" });
        ok(*m_root, "AllocateVariable", variable("v", "1"));
        ok(*reader, "Subscribe", svc());
        const QJsonObject info = ok(*m_root, "GetBrokerInfo");
        QCOMPARE(info.value("version").toString(), QStringLiteral(COMMY_VERSION));
        QCOMPARE(info.value("sessions").toInteger(), 2);
        QCOMPARE(info.value("tenants").toInteger(), 1);
        QCOMPARE(info.value("subscriptions").toInteger(), 1);
        const qint64 uptime = info.value("uptime_ms").toInteger();
        QVERIFY(uptime >= 0);
        QTRY_VERIFY(ok(*m_root, "GetBrokerInfo").value("uptime_ms").toInteger() > uptime);
    }

    // Variables, containers and plain blocks all appear, with the kind, type, size and version the
    // region holds; a removed variable disappears.
    void treeShowsWhatTheRegionHolds()
    {
        ok(*m_root, "AllocateVariable", variable("speed", "1234"));
        ok(*m_root, "WriteVariable", variable("speed", "12345"));
        ok(*m_root, "AllocateVariable", variable("gone", "x"));
        ok(*m_root, "DeallocateVariable", data({ { "tenant", "acme" }, { "service", "svc" }, { "variable", "gone" } }));
        QVERIFY(m_region->attach("tester")); // containers are built by an attached process
        std::vector<std::int64_t> numbers(250);
        std::iota(numbers.begin(), numbers.end(), -10);
        QVERIFY(shm::SharedVec<std::int64_t>::fromIterIn(*m_region, "samples", numbers.begin(), numbers.end()));
        auto limits = shm::SharedBTreeMap<std::int64_t, double>::create(*m_region, "limits");
        QVERIFY(limits);
        QVERIFY(limits->insert(7, 6.5));
        QVERIFY(limits->insert(3, -1.25));
        auto raw = m_region->allocate(100);
        QVERIFY(raw);
        QVERIFY(m_region->createRoot("raw block", *raw));

        const QJsonObject tree = ok(*m_root, "GetTree", data({ { "tenant", "acme" } }));
        const QJsonArray tenants = tree.value("tenants").toArray();
        QCOMPARE(tenants.size(), 1);
        const QJsonArray services = tenants[0].toObject().value("services").toArray();
        QCOMPARE(services.size(), 1);
        const QJsonObject service = services[0].toObject();
        auto stats = m_region->stats();
        QVERIFY(stats);
        QCOMPARE(service.value("name").toString(), QStringLiteral("svc"));
        QCOMPARE(service.value("size").toInteger(), qint64(stats->size));
        QCOMPARE(service.value("limit").toInteger(), qint64(4 << 20));
        QCOMPARE(service.value("used").toInteger(), qint64(stats->usedBytes));

        const QJsonArray roots = service.value("roots").toArray();
        QStringList names;
        for (const QJsonValue& root : roots)
            names.append(root.toObject().value("name").toString());
        QCOMPARE(names, (QStringList { "limits", "raw block", "samples", "speed" }));

        const QJsonObject speed = findByName(roots, "speed");
        const QJsonArray listed = ok(*m_root, "ListVariables", svc()).value("variables").toArray();
        QCOMPARE(speed,
            (QJsonObject { { "name", "speed" }, { "kind", "string" }, { "type", "string" }, { "size", 5 },
                { "version", findByName(listed, "speed").value("version") } }));
        QCOMPARE(findByName(roots, "samples"),
            (QJsonObject { { "name", "samples" }, { "kind", "vec" }, { "type", "vec<i64>" }, { "size", 250 },
                { "version", qint64(m_region->findRoot("samples")->version) } }));
        QCOMPARE(findByName(roots, "limits").value("kind").toString(), QStringLiteral("btreemap"));
        QCOMPARE(findByName(roots, "limits").value("type").toString(), QStringLiteral("btreemap<i64,f64>"));
        QCOMPARE(findByName(roots, "limits").value("size").toInteger(), 2);

        // A plain block's size is its payload: its block in the map, less the header.
        const QJsonObject rawRoot = findByName(roots, "raw block");
        QCOMPARE(rawRoot.value("kind").toString(), QStringLiteral("bytes"));
        QCOMPARE(rawRoot.value("type").toString(), QStringLiteral("bytes"));
        qint64 blockSize = 0;
        const QJsonArray blocks = allBlocks(*m_root, 10000);
        for (const QJsonValue& block : blocks)
            if (block.toObject().value("offset").toInteger() == qint64(*raw - shm::format::kBlockHeaderBytes))
                blockSize = block.toObject().value("size").toInteger();
        QVERIFY(rawRoot.value("size").toInteger() >= 100);
        QCOMPARE(rawRoot.value("size").toInteger(), blockSize - qint64(shm::format::kBlockHeaderBytes));

        // Without a tenant: every tenant, for server_admin only.
        ok(*m_root, "CreateTenant", data({ { "tenant", "other" } }));
        ok(*m_root, "CreateService", svc("other", "empty"));
        const QJsonArray all = ok(*m_root, "GetTree").value("tenants").toArray();
        QCOMPARE(all.size(), 2);
        QCOMPARE(findByName(all, "acme").value("services").toArray(), services);
        QCOMPARE(
            findByName(all, "other").value("services").toArray()[0].toObject().value("roots").toArray(), QJsonArray());
        auto reader = sessionWith({ "read" });
        QCOMPARE(reader->call("GetTree"), QStringLiteral("PERMISSION_DENIED"));
        QCOMPARE(reader->call("GetTree", data({ { "tenant", "acme" } })), QStringLiteral("OK"));
        QCOMPARE(m_root->call("GetTree", data({ { "tenant", "ghost" } })), QStringLiteral("NOT_FOUND"));
    }

    void regionStatsMatchTheRegion()
    {
        for (int i = 0; i < 20; ++i)
            ok(*m_root, "AllocateVariable", variable(QStringLiteral("v%1").arg(i), QByteArray(100 + 37 * i, 'x')));
        for (int i = 0; i < 20; i += 3)
            ok(*m_root, "DeallocateVariable",
                data({ { "tenant", "acme" }, { "service", "svc" }, { "variable", QStringLiteral("v%1").arg(i) } }));
        const QJsonObject stats = ok(*m_root, "GetRegionStats", svc());
        auto expected = m_region->stats();
        QVERIFY(expected);
        QCOMPARE(stats, statsJson(*expected));
        QVERIFY(expected->freeBlocks > 1); // the frees left holes: fragmentation is not trivially 0
        QVERIFY(stats.value("fragmentation").toDouble() > 0 && stats.value("fragmentation").toDouble() < 1);
        QCOMPARE(m_root->call("GetRegionStats", svc("acme", "ghost")), QStringLiteral("NOT_FOUND"));
    }

    // Paging through the block map in pages of 7 gives exactly the region's block walk, contiguous,
    // with the owner slot of a block that is allocated but not published.
    void blockMapPagingCoversAllBlocks()
    {
        for (int i = 0; i < 150; ++i)
            ok(*m_root, "AllocateVariable", variable(QStringLiteral("v%1").arg(i), QByteArray(i % 50, 'y')));
        auto slot = m_region->attach("tester");
        QVERIFY(slot);
        auto unpublished = m_region->allocate(512);
        QVERIFY(unpublished);

        auto walk = m_region->blocks();
        QVERIFY(walk);
        QVERIFY(walk->size() > 150);
        const QJsonArray paged = allBlocks(*m_root, 7);
        QCOMPARE(paged.size(), qsizetype(walk->size()));
        bool sawOwned = false;
        for (qsizetype i = 0; i < paged.size(); ++i) {
            const QJsonObject block = paged[i].toObject();
            const shm::BlockInfo& real = (*walk)[std::size_t(i)];
            QCOMPARE(block.value("offset").toInteger(), qint64(real.offset));
            QCOMPARE(block.value("size").toInteger(), qint64(real.size));
            QCOMPARE(block.value("free").toBool(), real.free);
            QCOMPARE(block.value("owner").toInteger(), real.ownerSlot == shm::kNoOwner ? -1 : qint64(real.ownerSlot));
            if (i + 1 < paged.size())
                QCOMPARE(block.value("offset").toInteger() + block.value("size").toInteger(),
                    paged[i + 1].toObject().value("offset").toInteger());
            if (real.offset + shm::format::kBlockHeaderBytes == *unpublished) {
                QCOMPARE(block.value("owner").toInteger(), qint64(*slot));
                sawOwned = true;
            }
        }
        QVERIFY(sawOwned);

        const QJsonObject whole = ok(*m_root, "GetBlockMap", svc());
        QCOMPARE(whole.value("total").toInteger(), qint64(walk->size()));
        QCOMPARE(whole.value("blocks").toArray(), paged); // the default page holds them all
        const QJsonObject past = ok(*m_root, "GetBlockMap", with(svc(), "offset", qint64(walk->size()) + 5));
        QCOMPARE(past.value("blocks").toArray(), QJsonArray());
        QCOMPARE(past.value("total").toInteger(), qint64(walk->size()));
    }

    // A page of 100000 blocks (the largest) in one reply; the time is the broker's walk and encoding
    // plus the test's JSON parse, in this build.
    void largeBlockMapPage()
    {
        ok(*m_root, "CreateService", with(with(svc("acme", "big"), "size", 8 << 20), "limit", 8 << 20));
        const QString path = ok(*m_root, "GetServiceFilePath", svc("acme", "big")).value("path").toString();
        shm::RegionOptions options;
        options.mode = shm::OpenMode::OpenExisting;
        options.localCacheBytes = 0;
        auto big = shm::Region::open(path.toStdString(), options);
        QVERIFY(big);
        QVERIFY((*big)->attach("filler"));
        std::vector<std::uint64_t> allocated;
        for (int i = 0; i < 100000; ++i) {
            auto block = (*big)->allocate(16 + 16 * std::uint64_t(i % 3));
            QVERIFY(block);
            allocated.push_back(*block);
        }
        for (std::size_t i = 0; i < allocated.size(); i += 2) // used and free blocks alternate
            QVERIFY((*big)->deallocate(allocated[i]));
        auto walk = (*big)->blocks();
        QVERIFY(walk);
        QVERIFY(walk->size() >= 100000);
        // The broker's side alone: walk, page and encode, into an output that keeps the bytes.
        struct Bytes : SessionOutput {
            QByteArray last;
            void sendReply(const QByteArray& frame) override { last = frame; }
            void sendPush(const protocol::VariableChanged&, const protocol::PushEncoding&) override { }
        } output;
        const SessionId id = m_broker->openSession({ QHostAddress::LocalHost, 1 }, &output);
        auto close = qScopeGuard([&] { m_broker->closeSession(id); });
        m_broker->handleFrame(id,
            QJsonDocument(QJsonObject { { "type", "Authenticate" }, { "id", 1 },
                              { "data", QJsonObject { { "method", "api_key" }, { "key", m_adminKey } } } })
                .toJson());
        const QByteArray request = QJsonDocument(QJsonObject { { "type", "GetBlockMap" }, { "id", 2 },
                                                     { "data", with(svc("acme", "big"), "limit", 100000) } })
                                       .toJson();
        QElapsedTimer timer;
        timer.start();
        m_broker->handleFrame(id, request);
        const qint64 elapsed = timer.elapsed();
        const QJsonObject page = dataOf(QJsonDocument::fromJson(output.last).object());
        QCOMPARE(page.value("total").toInteger(), qint64(walk->size()));
        const QJsonArray blocks = page.value("blocks").toArray();
        QCOMPARE(blocks.size(), 100000);
        QCOMPARE(blocks.last().toObject().value("offset").toInteger(), qint64((*walk)[99999].offset));
        qInfo("GetBlockMap: a page of 100000 of %zu blocks, %lld bytes, answered in %lld ms", walk->size(),
            qint64(output.last.size()), elapsed);
    }

    // A child attached to the region is listed; killed, it turns dead; cleanup frees its slot and
    // the block it never published.
    void processesFollowAChildUntilCleanup()
    {
        HeldProcess child;
        QVERIFY(child.start(m_path, "worker", 4096));
        const QJsonArray processes = ok(*m_root, "GetProcesses", svc()).value("processes").toArray();
        QCOMPARE(processes.size(), 2);
        QCOMPARE(findByName(processes, "commyd").value("pid").toInteger(), QCoreApplication::applicationPid());
        const QJsonObject worker = findByName(processes, "worker");
        QCOMPARE(worker.value("slot").toInteger(), qint64(child.slot));
        QCOMPARE(worker.value("pid").toInteger(), child.process.processId());
        QCOMPARE(worker.value("liveness").toString(), QStringLiteral("alive"));
        QVERIFY(worker.value("heartbeat_age_ms").toInteger() < 1000);

        bool owned = false;
        for (const QJsonValue& block : allBlocks(*m_root, 10000))
            owned = owned || block.toObject().value("owner").toInteger() == qint64(child.slot);
        QVERIFY(owned);

        const qint64 pid = child.process.processId();
        child.process.kill();
        QVERIFY(child.process.waitForFinished(5000));
        const auto livenessOfWorker = [&] {
            return findByName(ok(*m_root, "GetProcesses", svc()).value("processes").toArray(), "worker")
                .value("liveness")
                .toString();
        };
        QTRY_COMPARE_WITH_TIMEOUT(livenessOfWorker(), QStringLiteral("dead"), 10000);

        const QJsonObject report = ok(*m_root, "CleanupRegion", svc());
        QCOMPARE(report.value("freed_slots").toArray(),
            (QJsonArray { QJsonObject { { "slot", qint64(child.slot) }, { "pid", pid }, { "name", "worker" } } }));
        QVERIFY(report.value("reclaimed_blocks").toInteger() >= 1);
        QVERIFY(report.value("reclaimed_bytes").toInteger() >= 4096);
        QCOMPARE(report.value("lock_recovered").toBool(), false);
        QCOMPARE(report.value("resize_aborted").toBool(), false);

        const QJsonArray after = ok(*m_root, "GetProcesses", svc()).value("processes").toArray();
        QCOMPARE(after.size(), 1);
        QCOMPARE(after[0].toObject().value("name").toString(), QStringLiteral("commyd"));
        for (const QJsonValue& block : allBlocks(*m_root, 10000))
            QVERIFY(block.toObject().value("owner").toInteger() != qint64(child.slot));
        QCOMPARE(ok(*m_root, "GetRegionStats", svc()).value("cleanups").toInteger(), 1);

        // Nothing dead: an empty report, still counted.
        const QJsonObject nothing = ok(*m_root, "CleanupRegion", svc());
        QCOMPARE(nothing.value("freed_slots").toArray(), QJsonArray());
        QCOMPARE(nothing.value("reclaimed_blocks").toInteger(), 0);
        QCOMPARE(ok(*m_root, "GetRegionStats", svc()).value("cleanups").toInteger(), 2);
    }

    void sessionsAreListed()
    {
        TestSession plc(*m_broker, QHostAddress(QStringLiteral("192.0.2.7")), 51544);
        const QString key = createKey("acme", { "read", "subscribe" });
        QCOMPARE(
            plc.call("Authenticate",
                data({ { "tenant", "acme" }, { "method", "api_key" }, { "key", key }, { "client_name", "plc-7" } })),
            QStringLiteral("OK"));
        ok(*m_root, "AllocateVariable", variable("v", "1"));
        ok(plc, "Subscribe", svc());
        TestSession anonymous(*m_broker, QHostAddress(QStringLiteral("::1")), 7);

        const QJsonArray sessions = ok(*m_root, "GetSessions").value("sessions").toArray();
        QCOMPARE(sessions.size(), 3);
        QJsonObject plcEntry;
        QJsonObject anonymousEntry;
        for (const QJsonValue& session : sessions) {
            const QString peer = session.toObject().value("peer").toString();
            if (peer == QStringLiteral("192.0.2.7:51544"))
                plcEntry = session.toObject();
            if (peer == QStringLiteral("[::1]:7"))
                anonymousEntry = session.toObject();
        }
        QCOMPARE(plcEntry.value("client_name").toString(), QStringLiteral("plc-7"));
        QCOMPARE(plcEntry.value("tenants").toArray(), QJsonArray { "acme" });
        QCOMPARE(plcEntry.value("subscriptions").toInteger(), 1);
        QCOMPARE(plcEntry.value("queue_bytes").toInteger(), 0);
        QVERIFY(!anonymousEntry.isEmpty());
        QVERIFY(!anonymousEntry.contains("client_name"));
        QCOMPARE(anonymousEntry.value("tenants").toArray(), QJsonArray());
        QVERIFY(plcEntry.value("id").toInteger() != anonymousEntry.value("id").toInteger());

        // An expired grant no longer counts as a tenant of the session.
        m_clock.now += 2 * 60 * 60 * 1000;
        QCOMPARE(m_root->authenticateKey(m_adminKey), QStringLiteral("OK"));
        const QJsonArray later = ok(*m_root, "GetSessions").value("sessions").toArray();
        for (const QJsonValue& session : later)
            QCOMPARE(session.toObject().value("tenants").toArray(), QJsonArray());
    }

    void browseRootDecodesElements()
    {
        QVERIFY(m_region->attach("tester"));
        std::vector<std::int64_t> numbers(250);
        std::iota(numbers.begin(), numbers.end(), -10);
        QVERIFY(shm::SharedVec<std::int64_t>::fromIterIn(*m_region, "samples", numbers.begin(), numbers.end()));
        auto limits = shm::SharedBTreeMap<std::int64_t, double>::create(*m_region, "limits");
        QVERIFY(limits);
        QVERIFY(limits->insert(7, 6.5));
        QVERIFY(limits->insert(3, -1.25));
        ok(*m_root, "AllocateVariable", variable("greeting", "hello world"));
        auto raw = m_region->allocate(64);
        QVERIFY(raw);
        QVERIFY(m_region->createRoot("raw", *raw));
        auto reader = sessionWith({ "read" });
        const auto browse = [&](const QString& root, std::optional<qint64> offset, std::optional<qint64> limit) {
            QJsonObject request = with(svc(), "root", root);
            if (offset)
                request.insert("offset", *offset);
            if (limit)
                request.insert("limit", *limit);
            return ok(*reader, "BrowseRoot", request);
        };

        const QJsonObject first = browse("samples", {}, {});
        QCOMPARE(first.value("kind").toString(), QStringLiteral("vec"));
        QCOMPARE(first.value("type").toString(), QStringLiteral("vec<i64>"));
        QCOMPARE(first.value("length").toInteger(), 250);
        QCOMPARE(first.value("version").toInteger(), qint64(m_region->findRoot("samples")->version));
        const QJsonArray elements = first.value("elements").toArray();
        QCOMPARE(elements.size(), 100); // the default page
        for (qsizetype i = 0; i < elements.size(); ++i)
            QCOMPARE(elements[i].toObject(), (QJsonObject { { "index", i }, { "value", qint64(numbers[i]) } }));
        const QJsonArray tail = browse("samples", 200, 1000).value("elements").toArray();
        QCOMPARE(tail.size(), 50);
        QCOMPARE(tail[49].toObject().value("value").toInteger(), numbers[249]);
        QCOMPARE(browse("samples", 250, 10).value("elements").toArray(), QJsonArray());

        // The reader's own JSON, element for element.
        auto direct = shm::ContainerReader::open(*m_region, "limits");
        QVERIFY(direct);
        auto json = direct->toJson(0, 100);
        QVERIFY(json);
        const QJsonObject map = browse("limits", {}, {});
        QCOMPARE(map.value("kind").toString(), QStringLiteral("btreemap"));
        QCOMPARE(map.value("elements").toArray(),
            QJsonDocument::fromJson(QByteArray::fromStdString(*json)).object().value("elements").toArray());
        QCOMPARE(map.value("elements").toArray()[0].toObject(),
            (QJsonObject { { "index", 0 }, { "key", 3 }, { "value", -1.25 } }));

        const QJsonObject text = browse("greeting", 6, {});
        QCOMPARE(text.value("kind").toString(), QStringLiteral("string"));
        QCOMPARE(text.value("length").toInteger(), 11);
        QCOMPARE(
            text.value("elements").toArray(), (QJsonArray { QJsonObject { { "index", 6 }, { "value", "world" } } }));

        const QJsonObject plain = reader->request("BrowseRoot", with(svc(), "root", "raw"));
        QCOMPARE(TestSession::outcome(plain), QStringLiteral("INVALID_REQUEST"));
        QVERIFY2(messageOf(plain).contains("not a container"), qPrintable(messageOf(plain)));
        QCOMPARE(reader->call("BrowseRoot", with(svc(), "root", "nothing here")), QStringLiteral("NOT_FOUND"));
        QCOMPARE(reader->call("BrowseRoot", with(svc(), "root", QString(64, QLatin1Char('r')))),
            QStringLiteral("NOT_FOUND"));
        QCOMPARE(
            reader->call("BrowseRoot", with(svc("acme", "ghost"), "root", "samples")), QStringLiteral("NOT_FOUND"));
    }

    // The first tick pushes the stats at once; later ticks push only changes: stats, processes
    // appearing / dying / leaving, roots added and removed. An empty Watch stops it.
    void watchPushesChanges()
    {
        auto watcher = sessionWith({ "read" });
        // The broker's own slot is stale after the slow key derivations above blocked its event loop
        // (and with it, its heartbeat timer); start from a fresh heartbeat.
        QTRY_COMPARE(findByName(ok(*watcher, "GetProcesses", svc()).value("processes").toArray(), "commyd")
                         .value("liveness")
                         .toString(),
            QStringLiteral("alive"));
        QCOMPARE(watcher->call("Watch", data({ { "targets", QJsonArray { svc() } }, { "interval_ms", 100 } })),
            QStringLiteral("OK"));
        QTRY_COMPARE(pushesOf(*watcher, "StatsUpdate").size(), std::size_t(1));
        const QJsonObject firstPush = pushesOf(*watcher, "StatsUpdate")[0];
        QCOMPARE(firstPush.value("tenant").toString(), QStringLiteral("acme"));
        QCOMPARE(firstPush.value("service").toString(), QStringLiteral("svc"));
        QCOMPARE(firstPush.value("stats").toObject(), ok(*watcher, "GetRegionStats", svc()));

        // Nothing changes: nothing is pushed (five intervals).
        QTest::qWait(500);
        QCOMPARE(pushesOf(*watcher, "StatsUpdate").size(), std::size_t(1));
        QCOMPARE(pushesOf(*watcher, "ProcessEvent").size(), std::size_t(0));
        QCOMPARE(pushesOf(*watcher, "TreeChanged").size(), std::size_t(0));

        ok(*m_root, "AllocateVariable", variable("speed", "42"));
        QTRY_COMPARE(pushesOf(*watcher, "TreeChanged").size(), std::size_t(1));
        QTRY_COMPARE(pushesOf(*watcher, "StatsUpdate").size(), std::size_t(2));
        QCOMPARE(pushesOf(*watcher, "StatsUpdate")[1].value("stats").toObject(), ok(*watcher, "GetRegionStats", svc()));
        QCOMPARE(pushesOf(*watcher, "TreeChanged")[0], svc());

        HeldProcess child;
        QVERIFY(child.start(m_path, "worker", 0));
        // Events of one process (the broker's own slot may flap to stale and back while the test
        // blocks the event loop).
        const auto eventsOf = [&](const QString& liveness, const QString& name = QStringLiteral("worker")) {
            std::vector<QJsonObject> found;
            for (const QJsonObject& event : pushesOf(*watcher, "ProcessEvent"))
                if (event.value("name").toString() == name && event.value("liveness").toString() == liveness)
                    found.push_back(event);
            return found;
        };
        QTRY_COMPARE(eventsOf("alive").size(), std::size_t(1));
        QCOMPARE(eventsOf("alive")[0],
            (QJsonObject { { "tenant", "acme" }, { "service", "svc" }, { "slot", qint64(child.slot) },
                { "pid", child.process.processId() }, { "name", "worker" }, { "liveness", "alive" } }));
        child.process.kill();
        QVERIFY(child.process.waitForFinished(5000));
        QTRY_COMPARE_WITH_TIMEOUT(eventsOf("dead").size(), std::size_t(1), 10000);
        ok(*m_root, "CleanupRegion", svc());
        QTRY_COMPARE(eventsOf("gone").size(), std::size_t(1));

        // A process that detaches cleanly leaves as "gone" too.
        HeldProcess polite;
        QVERIFY(polite.start(m_path, "polite", 0));
        const qint64 politePid = polite.process.processId();
        QTRY_COMPARE(eventsOf("alive", "polite").size(), std::size_t(1));
        polite.process.closeWriteChannel();
        QVERIFY(polite.process.waitForFinished(5000));
        QTRY_COMPARE(eventsOf("gone", "polite").size(), std::size_t(1));
        QCOMPARE(eventsOf("gone", "polite")[0],
            (QJsonObject { { "tenant", "acme" }, { "service", "svc" }, { "slot", qint64(polite.slot) },
                { "pid", politePid }, { "name", "polite" }, { "liveness", "gone" } }));
        QCOMPARE(eventsOf("dead", "polite").size(), std::size_t(0));

        ok(*m_root, "DeallocateVariable",
            data({ { "tenant", "acme" }, { "service", "svc" }, { "variable", "speed" } }));
        QTRY_COMPARE(pushesOf(*watcher, "TreeChanged").size(), std::size_t(2));

        // Stopped: changes are no longer pushed.
        QCOMPARE(watcher->call("Watch", data({ { "targets", QJsonArray {} }, { "interval_ms", 100 } })),
            QStringLiteral("OK"));
        const std::size_t frames = watcher->replies.size();
        ok(*m_root, "AllocateVariable", variable("later", "x"));
        QTest::qWait(400);
        QCOMPARE(watcher->replies.size(), frames);

        // Pushes carry no id; replies do.
        for (const QJsonObject& frame : watcher->replies)
            QCOMPARE(frame.contains(QStringLiteral("id")), typeOf(frame) == u"Result" || typeOf(frame) == u"Error");
    }

    // Under constant change a Watch pushes at most once per interval and target.
    void watchIsRateLimitedByItsInterval()
    {
        ok(*m_root, "CreateService", svc("acme", "second"));
        auto watcher = sessionWith({ "admin" });
        QCOMPARE(
            watcher->call("Watch",
                data({ { "targets", QJsonArray { svc(), svc("acme", "second"), svc() } }, { "interval_ms", 250 } })),
            QStringLiteral("OK"));
        ok(*m_root, "AllocateVariable", variable("busy", "0"));
        QElapsedTimer timer;
        timer.start();
        int i = 0;
        while (timer.elapsed() < 1000) {
            ok(*m_root, "WriteVariable", variable("busy", QByteArray(1 + (++i % 300), 'b')));
            QTest::qWait(5);
        }
        const qint64 elapsed = timer.elapsed();
        QTest::qWait(300);
        std::size_t first = 0;
        std::size_t second = 0;
        for (const QJsonObject& push : pushesOf(*watcher, "StatsUpdate"))
            (push.value("service").toString() == "svc" ? first : second) += 1;
        // One tick right after the Watch, then one per 250 ms at most, for the changing service; the
        // duplicate target is watched once; the quiet service gets its first push only.
        QVERIFY2(first >= 3 && first <= std::size_t(2 + (elapsed + 300) / 250), qPrintable(QString::number(first)));
        QCOMPARE(second, std::size_t(1));
        qInfo("%d writes in %lld ms: %zu StatsUpdate pushes at a 250 ms interval", i, elapsed, first);
    }

    void watchNeedsLiveGrantsAndExistingServices()
    {
        auto watcher = sessionWith({ "read" });
        const QJsonObject ghost = watcher->request(
            "Watch", data({ { "targets", QJsonArray { svc(), svc("acme", "ghost") } }, { "interval_ms", 100 } }));
        QCOMPARE(TestSession::outcome(ghost), QStringLiteral("NOT_FOUND"));
        QCOMPARE(
            watcher->call("Watch", data({ { "targets", QJsonArray { svc("other", "svc") } }, { "interval_ms", 100 } })),
            QStringLiteral("UNAUTHORIZED"));
        auto writer = sessionWith({ "write" });
        QCOMPARE(writer->call("Watch", data({ { "targets", QJsonArray { svc() } }, { "interval_ms", 100 } })),
            QStringLiteral("PERMISSION_DENIED"));

        QCOMPARE(watcher->call("Watch", data({ { "targets", QJsonArray { svc() } }, { "interval_ms", 100 } })),
            QStringLiteral("OK"));
        QTRY_COMPARE(pushesOf(*watcher, "StatsUpdate").size(), std::size_t(1));
        // The grant expires: the Watch stays but pushes nothing.
        m_clock.now += 2 * 60 * 60 * 1000;
        QCOMPARE(m_root->authenticateKey(m_adminKey), QStringLiteral("OK"));
        ok(*m_root, "AllocateVariable", variable("after", "x"));
        QTest::qWait(400);
        QCOMPARE(pushesOf(*watcher, "StatsUpdate").size(), std::size_t(1));
        QCOMPARE(pushesOf(*watcher, "TreeChanged").size(), std::size_t(0));

        // A deleted service drops out of every Watch.
        auto admin = std::make_unique<TestSession>(*m_broker);
        QCOMPARE(admin->authenticateKey(m_adminKey), QStringLiteral("OK"));
        QCOMPARE(admin->call("Watch", data({ { "targets", QJsonArray { svc() } }, { "interval_ms", 100 } })),
            QStringLiteral("OK"));
        QTRY_COMPARE(pushesOf(*admin, "StatsUpdate").size(), std::size_t(1));
        m_region.reset();
        ok(*m_root, "DeleteService", svc());
        const std::size_t frames = admin->replies.size();
        QTest::qWait(300);
        QCOMPARE(admin->replies.size(), frames);
    }

    void resizeShrinkAndTheirErrors()
    {
        auto admin = sessionWith({ "admin" });
        ok(*m_root, "AllocateVariable", variable("v", QByteArray(1000, 'v')));

        QCOMPARE(ok(*admin, "ResizeRegion", with(svc(), "size", 2 << 20)).value("size").toInteger(), 2 << 20);
        QCOMPARE(qint64(m_region->size()), qint64(2 << 20));
        QCOMPARE(m_broker->store().getService("acme", "svc")->size, 2 << 20);
        QCOMPARE(ok(*admin, "GetService", svc()).value("size").toInteger(), 2 << 20);
        QCOMPARE(ok(*admin, "GetRegionStats", svc()).value("grows").toInteger(), 1);

        // Up to the limit, not beyond.
        QCOMPARE(ok(*admin, "ResizeRegion", with(svc(), "size", 4 << 20)).value("size").toInteger(), 4 << 20);
        const QJsonObject above = admin->request("ResizeRegion", with(svc(), "size", (4 << 20) + 1));
        QCOMPARE(TestSession::outcome(above), QStringLiteral("INVALID_REQUEST"));
        QVERIFY2(messageOf(above).contains(QString::number((4 << 20) + 1)) && messageOf(above).contains("4194304"),
            qPrintable(messageOf(above)));

        // Down to a size above what is in use: the free tail goes.
        QCOMPARE(ok(*admin, "ResizeRegion", with(svc(), "size", 1536 * 1024)).value("size").toInteger(), 1536 * 1024);
        QCOMPARE(qint64(m_region->size()), qint64(1536 * 1024));
        QCOMPARE(m_broker->store().getService("acme", "svc")->size, 1536 * 1024);

        // Below it: refused, with both numbers, and nothing changes.
        auto walk = m_region->blocks();
        QVERIFY(walk);
        std::uint64_t lastUsedEnd = 0;
        for (const shm::BlockInfo& block : *walk)
            if (!block.free)
                lastUsedEnd = std::max(lastUsedEnd, block.offset + block.size);
        const qint64 inUse = qint64(lastUsedEnd + shm::format::kBlockHeaderBytes);
        const QJsonObject below = admin->request("ResizeRegion", with(svc(), "size", inUse - 1));
        QCOMPARE(TestSession::outcome(below), QStringLiteral("INVALID_REQUEST"));
        QVERIFY2(
            messageOf(below).contains(QString::number(inUse - 1)) && messageOf(below).contains(QString::number(inUse)),
            qPrintable(messageOf(below)));
        QCOMPARE(qint64(m_region->size()), qint64(1536 * 1024));
        QCOMPARE(admin->call("ResizeRegion", with(svc(), "size", 1)), QStringLiteral("INVALID_REQUEST"));

        // Shrink trims everything free at the end; the data is still there.
        const qint64 shrunk = ok(*admin, "ShrinkRegion", svc()).value("size").toInteger();
        QVERIFY(shrunk >= inUse && shrunk < 1536 * 1024);
        QCOMPARE(qint64(m_region->size()), shrunk);
        QCOMPARE(m_broker->store().getService("acme", "svc")->size, shrunk);
        QCOMPARE(ok(*admin, "GetRegionStats", svc()).value("shrinks").toInteger(), 2);
        const QJsonObject kept
            = ok(*m_root, "ReadVariable", data({ { "tenant", "acme" }, { "service", "svc" }, { "variable", "v" } }));
        QCOMPARE(kept.value("value").toString(), base64(QByteArray(1000, 'v')));
        QCOMPARE(ok(*admin, "ShrinkRegion", svc()).value("size").toInteger(), shrunk); // nothing left to trim
        QVERIFY(m_region->checkSanity());

        QCOMPARE(admin->call("ResizeRegion", with(svc("acme", "ghost"), "size", 4096)), QStringLiteral("NOT_FOUND"));
        QCOMPARE(admin->call("ShrinkRegion", svc("acme", "ghost")), QStringLiteral("NOT_FOUND"));
        QCOMPARE(admin->call("CleanupRegion", svc("acme", "ghost")), QStringLiteral("NOT_FOUND"));
        auto reader = sessionWith({ "read" });
        QCOMPARE(reader->call("ResizeRegion", with(svc(), "size", 2 << 20)), QStringLiteral("PERMISSION_DENIED"));
        QCOMPARE(reader->call("ShrinkRegion", svc()), QStringLiteral("PERMISSION_DENIED"));
        QCOMPARE(reader->call("CleanupRegion", svc()), QStringLiteral("PERMISSION_DENIED"));
    }

    // Operations are in the audit log with the acting key and what they did; refused ones are not.
    void operationsAreAudited()
    {
        auto admin = sessionWith({ "admin" });
        ok(*admin, "ResizeRegion", with(svc(), "size", 2 << 20));
        QCOMPARE(admin->call("ResizeRegion", with(svc(), "size", 8 << 20)), QStringLiteral("INVALID_REQUEST"));
        ok(*admin, "ShrinkRegion", svc());
        ok(*m_root, "CleanupRegion", svc());
        auto audit = m_broker->store().listAudit();
        QVERIFY(audit);
        QStringList operations;
        for (const AuditEntry& entry : *audit) {
            if (!entry.action.endsWith("Region"))
                continue;
            operations.append(entry.action);
            QCOMPARE(entry.target, QStringLiteral("acme/svc"));
            QVERIFY2(entry.actor.startsWith("key:") && entry.actor.endsWith("@127.0.0.1"), qPrintable(entry.actor));
            QVERIFY(!entry.detail.isEmpty());
        }
        QCOMPARE(operations, (QStringList { "ResizeRegion", "ShrinkRegion", "CleanupRegion" }));
        QCOMPARE(audit->at(audit->size() - 3).detail, QStringLiteral("size 1048576 -> 2097152 (asked 2097152)"));
    }
};

QTEST_GUILESS_MAIN(TestMonitoring)
#include "tst_monitoring.moc"
