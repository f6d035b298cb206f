// SharedBox<T>: locked get / set / modify for plain and nested values, the lock-free load() of
// plain values while another process (or thread) writes, and after a writer was killed mid-write;
// full regions; attach checks; destroy; the kind's walker.

#include "container_test_support.h"
#include "shm_box_value.h"

#include "container_walk_linear.h"

#include <commy/shm/shared_box.h>
#include <commy/shm/shared_string.h>
#include <commy/shm/shared_vec.h>

#include <QElapsedTimer>
#include <QtTest>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace commy::shm;
using namespace commy::shmtest;

// Lock-free reads exist for trivially copyable values only.
template <class Box>
concept HasLoad = requires(const Box& box)
{
    box.load();
};
static_assert(HasLoad<SharedBox<BoxWords>>);
static_assert(HasLoad<SharedBox<std::int64_t>>);
static_assert(!HasLoad<SharedBox<SharedString>>);
static_assert(!HasLoad<SharedBox<SharedVec<std::int32_t>>>);

class TestSharedBox : public ContainerTest {
    Q_OBJECT

private slots:
    void init() { openTestRegion(QStringLiteral("b"), 4 << 20); }
    void cleanup() { m_region.reset(); }

    void getSetModifyAndLoad()
    {
        auto box = SharedBox<std::int64_t>::create(*m_region, "counter", 5);
        QVERIFY(box);
        auto got = box->get();
        QVERIFY(got && *got == 5);
        auto loaded = box->load();
        QVERIFY(loaded && *loaded == 5);
        const std::uint64_t start = box->version();
        QVERIFY(box->set(-9));
        QVERIFY(box->modify([](std::int64_t& v) { v *= 3; }));
        QCOMPARE(box->version(), start + 2);
        loaded = box->load();
        QVERIFY(loaded && *loaded == -27);
        got = box->get();
        QVERIFY(got && *got == -27);
        // A second handle reads the same value.
        auto other = SharedBox<std::int64_t>::attach(*m_region, "counter");
        QVERIFY(other);
        loaded = other->load();
        QVERIFY(loaded && *loaded == -27);
        // Reads change nothing.
        QCOMPARE(box->version(), start + 2);
    }

    void createWithoutAValueReadsZero()
    {
        auto box = SharedBox<std::int64_t>::create(*m_region, "defaulted");
        QVERIFY(box);
        auto got = box->get();
        QVERIFY(got && *got == 0);
        // The plain TypedContainer path makes a box with no value block at all.
        auto bare = detail::TypedContainer<SharedBox<BoxWords>>::create(*m_region, "bare");
        QVERIFY(bare);
        auto loaded = bare->load();
        QVERIFY(loaded);
        for (const std::uint64_t word : loaded->words)
            QCOMPARE(word, std::uint64_t(0));
        QCOMPARE(walkedLength(bare->ref()), std::uint64_t(0));
        QVERIFY(bare->set(boxWords(4)));
        loaded = bare->load();
        QVERIFY(loaded && isWhole(*loaded) && loaded->words[0] == 4);
        QCOMPARE(walkedLength(bare->ref()), std::uint64_t(1));
    }

    void sixtyFourByteStruct()
    {
        auto box = SharedBox<BoxWords>::create(*m_region, "words", boxWords(11));
        QVERIFY(box);
        auto loaded = box->load();
        QVERIFY(loaded && isWhole(*loaded) && loaded->words[0] == 11);
        QVERIFY(box->modify([](BoxWords& b) {
            for (std::uint64_t& word : b.words)
                word += 1;
        }));
        auto got = box->get();
        QVERIFY(got && isWhole(*got) && got->words[0] == 12);
        auto root = m_region->findRoot("words");
        QVERIFY(root);
        QCOMPARE(QByteArray::fromStdString(root->type), QByteArray("box<pod64>"));
        QVERIFY(root->kind == RootKind::Box);
        // Inside a batch the lock is this process's: load() does not need it.
        {
            auto batch = BatchGuard::lock(*box);
            QVERIFY(batch);
            QVERIFY(box->set(boxWords(13)));
            loaded = box->load();
            QVERIFY(loaded && loaded->words[0] == 13);
        }
    }

    void nestedValuesUseTheLockedApi()
    {
        auto text = SharedBox<SharedString>::create(*m_region, "text", "hello");
        QVERIFY(text);
        auto got = text->get();
        QVERIFY(got && *got == "hello");
        QVERIFY(text->set(std::string(500, 'z')));
        QVERIFY(text->modify([](std::string& s) { s = "short " + s.substr(0, 3); }));
        got = text->get();
        QVERIFY(got && *got == "short zzz");
        auto root = m_region->findRoot("text");
        QVERIFY(root && root->type == "box<string>");

        auto list = SharedBox<SharedVec<std::int32_t>>::create(*m_region, "list", { 1, 2, 3 });
        QVERIFY(list);
        QVERIFY(list->modify([](std::vector<std::int32_t>& v) { v.push_back(4); }));
        auto values = list->get();
        QVERIFY(values && *values == (std::vector<std::int32_t> { 1, 2, 3, 4 }));
        root = m_region->findRoot("list");
        QVERIFY(root && root->type == "box<vec<i32>>");
        QVERIFY(m_region->checkSanity());
    }

    void attachWithAnotherTypeIsTypeMismatch()
    {
        QVERIFY(SharedBox<std::int64_t>::create(*m_region, "typed", 1));
        auto wrongValue = SharedBox<std::uint64_t>::attach(*m_region, "typed");
        QVERIFY(!wrongValue);
        COMPARE_ERROR(wrongValue.error(), RegionError::TypeMismatch);
        auto wrongKind = SharedVec<std::int64_t>::attach(*m_region, "typed");
        QVERIFY(!wrongKind);
        COMPARE_ERROR(wrongKind.error(), RegionError::TypeMismatch);
        auto nested = SharedBox<SharedString>::attach(*m_region, "typed");
        QVERIFY(!nested);
        COMPARE_ERROR(nested.error(), RegionError::TypeMismatch);
        auto again = SharedBox<std::int64_t>::create(*m_region, "typed", 2);
        QVERIFY(!again);
        COMPARE_ERROR(again.error(), RegionError::RootExists);
    }

    void fullRegionFailsAndLeavesTheBoxUnchanged()
    {
        auto text = SharedBox<SharedString>::create(*m_region, "text", "small");
        QVERIFY(text);
        auto set = text->set(std::string(8 << 20, 'x'));
        QVERIFY(!set);
        COMPARE_ERROR(set.error(), RegionError::OutOfMemory);
        auto got = text->get();
        QVERIFY(got && *got == "small");
        auto modified = text->modify([](std::string& s) { s.resize(8 << 20, 'y'); });
        QVERIFY(!modified);
        got = text->get();
        QVERIFY(got && *got == "small");
        // A box whose initial value does not fit is not left behind half made.
        auto big = SharedBox<SharedString>::create(*m_region, "big", std::string(8 << 20, 'x'));
        QVERIFY(!big);
        COMPARE_ERROR(big.error(), RegionError::OutOfMemory);
        QVERIFY(!m_region->findRoot("big"));
        QVERIFY(m_region->checkSanity());
    }

    void destroyFreesEverything()
    {
        auto stats = m_region->stats();
        QVERIFY(stats);
        QVERIFY(SharedBox<std::int64_t>::create(*m_region, "keep", 1)); // the root table stays
        auto before = m_region->stats();
        QVERIFY(before);
        QVERIFY(SharedBox<SharedVec<SharedString>>::create(*m_region, "doomed", { "a", "bb", "", "dddd" }));
        QVERIFY(SharedBox<BoxWords>::create(*m_region, "doomed2", boxWords(3)));
        QVERIFY(SharedBox<SharedVec<SharedString>>::destroy(*m_region, "doomed"));
        QVERIFY(SharedBox<BoxWords>::destroy(*m_region, "doomed2"));
        QVERIFY(!m_region->findRoot("doomed"));
        auto after = m_region->stats();
        QVERIFY(after);
        QCOMPARE(after->usedBlocks, before->usedBlocks);
        QCOMPARE(after->freeBytes, before->freeBytes);
        QVERIFY(m_region->checkSanity());
    }

    // Before any test that starts a child process: ThreadSanitizer refuses new threads in a
    // process that has forked while it had threads.
    void loadSeesOnlyWholeValuesWhileAnotherThreadWrites()
    {
        auto box = SharedBox<BoxWords>::create(*m_region, "threaded", boxWords(0));
        QVERIFY(box);
        // A Region object is for one thread at a time: the writer opens its own.
        auto writerRegion = openRegion(m_path);
        QVERIFY(writerRegion);
        QVERIFY((*writerRegion)->attach("writer-thread"));
        auto writerBox = SharedBox<BoxWords>::attach(**writerRegion, "threaded");
        QVERIFY(writerBox);
        constexpr std::uint64_t kWrites = 50000;
        std::atomic<bool> failed { false };
        std::atomic<bool> done { false };
        std::thread writer([&] {
            for (std::uint64_t i = 1; i <= kWrites && !failed; ++i) {
                if (!writerBox->set(boxWords(i)))
                    failed = true;
            }
            done = true;
        });
        std::uint64_t last = 0, loads = 0;
        bool loadFailed = false, torn = false, backwards = false;
        while (!done && !loadFailed && !torn && !backwards) {
            auto loaded = box->load();
            ++loads;
            if (!loaded)
                loadFailed = true;
            else if (!isWhole(*loaded))
                torn = true;
            else if (loaded->words[0] < last)
                backwards = true;
            else
                last = loaded->words[0];
        }
        const bool writerFailed = failed.exchange(true); // also stops the writer early on a finding
        writer.join();
        QVERIFY(!loadFailed);
        QVERIFY2(!torn, qPrintable(QStringLiteral("torn value after %1 loads").arg(loads)));
        QVERIFY(!backwards);
        QVERIFY(!writerFailed);
        auto loaded = box->load();
        QVERIFY(loaded && loaded->words[0] == kWrites);
    }

    void loadSeesOnlyWholeValuesWhileAnotherProcessWrites()
    {
        auto box = SharedBox<BoxWords>::create(*m_region, "shared", boxWords(0));
        QVERIFY(box);
        ChildProcess writer;
        QVERIFY2(
            writer.start({ QStringLiteral("box-writer"), m_path, QStringLiteral("shared"), QStringLiteral("200000") }),
            qPrintable(writer.errorString()));
        QVERIFY2(!writer.waitForLine(QStringLiteral("writing")).isNull(), qPrintable(writer.transcript()));
        std::uint64_t loads = 0, last = 0, changes = 0;
        QElapsedTimer timer;
        timer.start();
        // Until the writer is done (bounded: 60 s), and at least a few thousand reads.
        while ((writer.process().state() != QProcess::NotRunning || loads < 5000) && timer.elapsed() < 60000) {
            auto loaded = box->load();
            QVERIFY(loaded);
            QVERIFY2(isWhole(*loaded), qPrintable(QStringLiteral("torn value after %1 loads").arg(loads)));
            // One writer, one value at a time: a reader never goes back.
            QVERIFY(loaded->words[0] >= last);
            changes += loaded->words[0] != last;
            last = loaded->words[0];
            ++loads;
            if (loads % 1024 == 0)
                writer.process().waitForReadyRead(0); // lets QProcess notice the exit
        }
        QVERIFY2(writer.waitForExit(), qPrintable(writer.transcript()));
        QVERIFY2(writer.exitedNormally() && writer.exitCode() == 0, qPrintable(writer.transcript()));
        auto loaded = box->load();
        QVERIFY(loaded && isWhole(*loaded) && loaded->words[0] == 200000);
        // The reads overlapped the writes (or the test proved nothing).
        QVERIFY2(changes > 1, qPrintable(QStringLiteral("%1 loads saw %2 changes").arg(loads).arg(changes)));
    }

    void loadAfterAWriterDiedMidWriteReturnsTheOldValue_data()
    {
        QTest::addColumn<int>("steps");
        QTest::addColumn<bool>("newBytesInPlace");
        // Step 1: the value range is saved (the sequence word is odd), nothing is written yet.
        QTest::newRow("after saving the value") << 1 << false;
        // Step 2: the new value is in place, the commit has only saved the version word.
        QTest::newRow("after writing the value") << 2 << true;
    }
    void loadAfterAWriterDiedMidWriteReturnsTheOldValue()
    {
        QFETCH(int, steps);
        QFETCH(bool, newBytesInPlace);
        auto box = SharedBox<BoxWords>::create(*m_region, "victim", boxWords(7));
        QVERIFY(box);
        const std::uint64_t version = box->version();
        ChildProcess crasher;
        QVERIFY2(
            crasher.start({ QStringLiteral("box-crash"), m_path, QStringLiteral("victim"), QString::number(steps) }),
            qPrintable(crasher.errorString()));
        QVERIFY2(crasher.waitForExit(), qPrintable(crasher.transcript()));
        QVERIFY2(!crasher.exitedNormally(), qPrintable(crasher.transcript())); // SIGKILLed itself
        // The box really is mid-write: the sequence word is odd, the journal holds the old value.
        format::ContainerHeader* header = box->ref().header();
        QVERIFY(header);
        QCOMPARE(header->sequence & 1, std::uint64_t(1));
        QVERIFY(header->journalUsed != 0);
        const auto* body = reinterpret_cast<const format::BoxBody*>(header->body);
        const auto* inPlace = static_cast<const BoxWords*>(m_region->pointer(body->data, sizeof(BoxWords)));
        QVERIFY(inPlace);
        QCOMPARE(inPlace->words[0], newBytesInPlace ? std::uint64_t(0xdead) : std::uint64_t(7));

        QElapsedTimer timer;
        timer.start();
        auto loaded = box->load(); // gives up on the seqlock, then get() repairs the box
        QVERIFY(timer.elapsed() < 5000);
        QVERIFY(loaded && isWhole(*loaded));
        QCOMPARE(loaded->words[0], std::uint64_t(7));
        header = box->ref().header();
        QCOMPARE(header->sequence & 1, std::uint64_t(0));
        QCOMPARE(header->journalUsed, std::uint64_t(0));
        QCOMPARE(header->recoveries, std::uint64_t(1));
        QCOMPARE(box->version(), version);
        // And the seqlock path works again.
        QVERIFY(box->set(boxWords(8)));
        loaded = box->load();
        QVERIFY(loaded && loaded->words[0] == 8);
        QVERIFY(m_region->checkSanity());
    }

    void walkerVisitsTheValue()
    {
        auto box = SharedBox<std::int64_t>::create(*m_region, "walked", 42);
        QVERIFY(box);
        auto txn = detail::ContainerTxn::begin(box->ref());
        QVERIFY(txn);
        auto length = detail::kBoxWalker.length(*txn);
        QVERIFY(length && *length == 1);
        std::vector<std::uint64_t> seen;
        QVERIFY(detail::kBoxWalker.visit(*txn, 0, 10, [&](std::uint64_t keyAt, std::uint64_t valueAt) {
            QCOMPARE(valueAt, std::uint64_t(0));
            seen.push_back(keyAt);
        }));
        QCOMPARE(seen.size(), std::size_t(1));
        QCOMPARE(*static_cast<std::int64_t*>(txn->at(seen[0], 8)), std::int64_t(42));
        seen.clear();
        QVERIFY(
            detail::kBoxWalker.visit(*txn, 1, 10, [&](std::uint64_t keyAt, std::uint64_t) { seen.push_back(keyAt); }));
        QVERIFY(seen.empty());
        QVERIFY(!detail::kBoxWalker.check(*txn));
        // A value size that disagrees with the type is reported.
        auto& body = txn->body<format::BoxBody>();
        body.bytes = 4;
        auto problem = detail::kBoxWalker.check(*txn);
        QVERIFY(problem);
        QVERIFY(!detail::kBoxWalker.length(*txn));
        body.bytes = 8;
        QVERIFY(!detail::kBoxWalker.check(*txn));
    }

private:
    static std::uint64_t walkedLength(const detail::ContainerRef& ref)
    {
        auto txn = detail::ContainerTxn::begin(ref);
        if (!txn)
            return ~std::uint64_t { 0 };
        auto length = detail::kBoxWalker.length(*txn);
        return length ? *length : ~std::uint64_t { 0 };
    }
};

QTEST_GUILESS_MAIN(TestSharedBox)
#include "tst_shared_box.moc"
