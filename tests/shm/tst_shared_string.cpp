// SharedString against std::string: the same random edits applied to both, contents compared after
// every step (strings long enough that inserts and removes take both the journaled shift and the
// rebuild path); fromStrIn / toStd; full regions; attach checks; destroy; the kind's walker.

#include "container_test_support.h"

#include "container_walk_linear.h"

#include <commy/shm/shared_string.h>
#include <commy/shm/shared_vec.h>

#include <QtTest>

#include <random>
#include <string>
#include <vector>

using namespace commy::shm;
using namespace commy::shmtest;

namespace {

std::string randomText(std::mt19937_64& rng, std::size_t length)
{
    std::string s(length, ' ');
    for (char& c : s)
        c = static_cast<char>(rng() % 256); // any byte, NUL included
    return s;
}

} // namespace

class TestSharedString : public ContainerTest {
    Q_OBJECT

private slots:
    void init() { openTestRegion(QStringLiteral("s"), 4 << 20); }
    void cleanup() { m_region.reset(); }

    void matchesStdString_data()
    {
        QTest::addColumn<int>("steps");
        QTest::addColumn<int>("seed");
        QTest::newRow("seed 1") << 3000 << 1;
        QTest::newRow("seed 2") << 3000 << 2;
    }
    void matchesStdString()
    {
        QFETCH(int, steps);
        QFETCH(int, seed);
        auto created = SharedString::create(*m_region, "model");
        QVERIFY(created);
        SharedString& text = *created;
        std::string model;
        std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
        int shiftedInPlace = 0, rebuilt = 0; // inserts and removes by path taken
        for (int step = 0; step < steps; ++step) {
            const unsigned op = rng() % 1000;
            if (op < 200) {
                const std::string piece = randomText(rng, rng() % 120);
                QVERIFY(text.append(piece));
                model += piece;
            } else if (op < 330) {
                const char c = static_cast<char>(rng());
                QVERIFY(text.push(c));
                model.push_back(c);
            } else if (op < 430) {
                auto popped = text.pop();
                QVERIFY(popped);
                QCOMPARE(popped->has_value(), !model.empty());
                if (!model.empty()) {
                    QCOMPARE(**popped, model.back());
                    model.pop_back();
                }
            } else if (op < 540) {
                const std::uint64_t at = rng() % (model.size() + 1);
                const char c = static_cast<char>(rng());
                (model.size() - at > detail::kInPlaceShiftBytes ? rebuilt : shiftedInPlace) += 1;
                QVERIFY(text.insert(at, c));
                model.insert(model.begin() + static_cast<std::ptrdiff_t>(at), c);
            } else if (op < 650 && !model.empty()) {
                const std::uint64_t at = rng() % model.size();
                (model.size() - at - 1 > detail::kInPlaceShiftBytes ? rebuilt : shiftedInPlace) += 1;
                auto removed = text.remove(at);
                QVERIFY(removed);
                QCOMPARE(*removed, model[at]);
                model.erase(model.begin() + static_cast<std::ptrdiff_t>(at));
            } else if (op < 760 && !model.empty()) {
                const std::uint64_t at = rng() % model.size();
                const char c = static_cast<char>(rng());
                QVERIFY(text.set(at, c));
                model[at] = c;
            } else if (op < 800) {
                const std::uint64_t at = model.size() + rng() % 3;
                auto past = text.get(at);
                QVERIFY(!past);
                COMPARE_ERROR(past.error(), RegionError::OutOfRange);
                auto badSet = text.set(at, 'x');
                QVERIFY(!badSet);
                COMPARE_ERROR(badSet.error(), RegionError::OutOfRange);
                auto badInsert = text.insert(model.size() + 1, 'x');
                QVERIFY(!badInsert);
                COMPARE_ERROR(badInsert.error(), RegionError::OutOfRange);
            } else if (op < 830) {
                QVERIFY(text.reserve(rng() % 300));
            } else if (op < 860) {
                QVERIFY(text.shrinkToFit());
            } else if (op < 865) {
                QVERIFY(text.clear());
                model.clear();
            } else if (op < 880) {
                const std::string replacement = randomText(rng, rng() % 3000);
                QVERIFY(text.assign(replacement));
                model = replacement;
            } else if (!model.empty()) {
                const std::uint64_t at = rng() % model.size();
                auto got = text.get(at);
                QVERIFY(got);
                QCOMPARE(*got, model[at]);
            }
            auto all = text.toStd();
            QVERIFY(all);
            QVERIFY2(*all == model, qPrintable(QStringLiteral("step %1").arg(step)));
            auto n = text.size();
            QVERIFY(n && *n == model.size());
            auto empty = text.empty();
            QVERIFY(empty && *empty == model.empty());
        }
        // Some inserts and removes moved more than an in-place shift journals (so they rebuilt).
        QVERIFY2(
            shiftedInPlace > 0 && rebuilt > 0, qPrintable(QStringLiteral("%1 %2").arg(shiftedInPlace).arg(rebuilt)));
        QVERIFY(m_region->checkSanity());
        QVERIFY(SharedString::destroy(*m_region, "model"));
        auto stats = m_region->stats();
        QVERIFY(stats);
        QCOMPARE(stats->usedBlocks, 1u); // the root table
    }

    void editsAtTheFrontOfALongString()
    {
        std::mt19937_64 rng(9);
        std::string model = randomText(rng, 20000);
        auto text = SharedString::fromStrIn(*m_region, "long", model);
        QVERIFY(text);
        for (int i = 0; i < 50; ++i) {
            QVERIFY(text->insert(0, static_cast<char>('a' + i % 26)));
            model.insert(model.begin(), static_cast<char>('a' + i % 26));
            auto removed = text->remove(7);
            QVERIFY(removed && *removed == model[7]);
            model.erase(7, 1);
        }
        auto all = text->toStd();
        QVERIFY(all && *all == model);
    }

    void capacityFollowsReserveAndShrink()
    {
        auto text = SharedString::fromStrIn(*m_region, "cap", "abc");
        QVERIFY(text);
        QVERIFY(text->reserve(100));
        QVERIFY(text->append("def"));
        QVERIFY(text->shrinkToFit());
        auto all = text->toStd();
        QVERIFY(all && *all == "abcdef");
        QVERIFY(text->clear());
        QVERIFY(text->shrinkToFit());
        auto before = m_region->stats();
        QVERIFY(before);
        // Empty and shrunk: the text owns no block any more.
        QVERIFY(text->append("x"));
        auto after = m_region->stats();
        QVERIFY(after);
        QCOMPARE(after->usedBlocks, before->usedBlocks + 1);
    }

    void fromStrInAndToStd()
    {
        const std::string bytes("with\0nul and more", 17);
        auto text = SharedString::fromStrIn(*m_region, "greeting", bytes);
        QVERIFY(text);
        auto all = text->toStd();
        QVERIFY(all && *all == bytes);
        auto empty = SharedString::fromStrIn(*m_region, "empty", "");
        QVERIFY(empty);
        all = empty->toStd();
        QVERIFY(all && all->empty());
        auto popped = empty->pop();
        QVERIFY(popped && !popped->has_value());
        auto again = SharedString::fromStrIn(*m_region, "greeting", "other");
        QVERIFY(!again);
        COMPARE_ERROR(again.error(), RegionError::RootExists);
        auto attached = SharedString::attach(*m_region, "greeting");
        QVERIFY(attached);
        all = attached->toStd();
        QVERIFY(all && *all == bytes);
        auto root = m_region->findRoot("greeting");
        QVERIFY(root && root->kind == RootKind::String && root->type == "string");
    }

    void fullRegionFailsAndLeavesTheStringUnchanged()
    {
        auto text = SharedString::fromStrIn(*m_region, "full", "keep me");
        QVERIFY(text);
        const std::string huge(8 << 20, 'h');
        auto appended = text->append(huge);
        QVERIFY(!appended);
        COMPARE_ERROR(appended.error(), RegionError::OutOfMemory);
        auto assigned = text->assign(huge);
        QVERIFY(!assigned);
        COMPARE_ERROR(assigned.error(), RegionError::OutOfMemory);
        auto reserved = text->reserve(huge.size());
        QVERIFY(!reserved);
        COMPARE_ERROR(reserved.error(), RegionError::OutOfMemory);
        auto all = text->toStd();
        QVERIFY(all && *all == "keep me");
        // Full to the last byte: even the smallest growth fails.
        QVERIFY(text->shrinkToFit());
        std::vector<std::uint64_t> fillers;
        for (const std::uint64_t bytes : { 4096, 64, 8 }) {
            while (auto block = m_region->allocate(bytes))
                fillers.push_back(*block);
        }
        auto pushed = text->push('!');
        QVERIFY(!pushed);
        COMPARE_ERROR(pushed.error(), RegionError::OutOfMemory);
        auto inserted = text->insert(0, '!');
        QVERIFY(!inserted);
        all = text->toStd();
        QVERIFY(all && *all == "keep me");
        // In-place edits need no memory.
        QVERIFY(text->set(0, 'K'));
        auto removed = text->remove(6);
        QVERIFY(removed && *removed == 'e');
        all = text->toStd();
        QVERIFY(all && *all == "Keep m");
        for (const std::uint64_t block : fillers)
            QVERIFY(m_region->deallocate(block));
        QVERIFY(m_region->checkSanity());
    }

    void attachWithAnotherTypeIsTypeMismatch()
    {
        QVERIFY(SharedString::fromStrIn(*m_region, "typed", "text"));
        auto asBytes = SharedVec<char>::attach(*m_region, "typed");
        QVERIFY(!asBytes);
        COMPARE_ERROR(asBytes.error(), RegionError::TypeMismatch);
        QVERIFY(SharedVec<std::uint8_t>::create(*m_region, "bytes"));
        auto asString = SharedString::attach(*m_region, "bytes");
        QVERIFY(!asString);
        COMPARE_ERROR(asString.error(), RegionError::TypeMismatch);
    }

    void walkerVisitsEveryCharacter()
    {
        auto text = SharedString::fromStrIn(*m_region, "walked", "walker");
        QVERIFY(text);
        QVERIFY(text->reserve(10));
        auto txn = detail::ContainerTxn::begin(text->ref());
        QVERIFY(txn);
        auto length = detail::kStringWalker.length(*txn);
        QVERIFY(length && *length == 6);
        std::string seen;
        std::uint64_t previous = 0;
        QVERIFY(detail::kStringWalker.visit(*txn, 1, 4, [&](std::uint64_t keyAt, std::uint64_t valueAt) {
            QCOMPARE(valueAt, std::uint64_t(0));
            if (previous != 0)
                QCOMPARE(keyAt, previous + 1); // contiguous
            previous = keyAt;
            seen.push_back(*static_cast<const char*>(txn->at(keyAt, 1)));
        }));
        QCOMPARE(seen, std::string("alke"));
        QVERIFY(!detail::kStringWalker.check(*txn));
        // The counts are checked: a length past the capacity is reported.
        auto& body = txn->body<format::VecBody>();
        const std::uint64_t capacity = body.capacity;
        body.length = capacity + 1;
        auto problem = detail::kStringWalker.check(*txn);
        QVERIFY(problem);
        QVERIFY2(problem->find("capacity") != std::string::npos, problem->c_str());
        QVERIFY(!detail::kStringWalker.length(*txn));
        body.length = 6;
        QVERIFY(!detail::kStringWalker.check(*txn));
    }
};

QTEST_GUILESS_MAIN(TestSharedString)
#include "tst_shared_string.moc"
