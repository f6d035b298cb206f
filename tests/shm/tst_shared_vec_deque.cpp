// SharedVecDeque<T> against std::deque: the same random operations at both ends applied to both,
// contents compared after every step (the ring wraps around constantly), for plain and nested
// element types; growth while wrapped; full regions; attach checks; destroy; the kind's walker.

#include "container_test_support.h"

#include "container_walk_linear.h"

#include <commy/shm/shared_string.h>
#include <commy/shm/shared_vec.h>
#include <commy/shm/shared_vec_deque.h>

#include <QtTest>

#include <deque>
#include <random>
#include <string>
#include <vector>

using namespace commy::shm;
using namespace commy::shmtest;

namespace {

// The walker's view: the payload offsets of the elements, front to back.
std::vector<std::uint64_t> walkedOffsets(const detail::ContainerRef& ref)
{
    std::vector<std::uint64_t> offsets;
    auto txn = detail::ContainerTxn::begin(ref);
    if (!txn)
        return offsets;
    (void)detail::kDequeWalker.visit(
        *txn, 0, ~std::uint64_t { 0 }, [&](std::uint64_t keyAt, std::uint64_t) { offsets.push_back(keyAt); });
    return offsets;
}

std::optional<std::string> walkerCheck(const detail::ContainerRef& ref)
{
    auto txn = detail::ContainerTxn::begin(ref);
    if (!txn)
        return std::string("cannot lock");
    return detail::kDequeWalker.check(*txn);
}

} // namespace

class TestSharedVecDeque : public ContainerTest {
    Q_OBJECT

private slots:
    void init() { openTestRegion(QStringLiteral("d"), 8 << 20); }
    void cleanup() { m_region.reset(); }

    void matchesStdDequeForPlainElements() { runModel<std::int64_t>(4000, 1); }
    void matchesStdDequeForStrings() { runModel<SharedString>(2500, 2); }
    void matchesStdDequeForNestedVectors() { runModel<SharedVec<std::int32_t>>(1200, 3); }

    void ringWrapsWithoutGrowing()
    {
        auto deque = SharedVecDeque<std::int64_t>::create(*m_region, "ring");
        QVERIFY(deque);
        QVERIFY(deque->reserve(8));
        auto cap = deque->capacity();
        QVERIFY(cap && *cap == 8);
        std::deque<std::int64_t> model;
        // A queue that never holds more than 6: head and tail chase each other round the ring.
        for (std::int64_t i = 0; i < 200; ++i) {
            if (i % 2 == 0) {
                QVERIFY(deque->pushBack(i));
                model.push_back(i);
            } else {
                QVERIFY(deque->pushFront(-i));
                model.push_front(-i);
            }
            while (model.size() > 6) {
                auto popped = (i % 3 == 0) ? deque->popFront() : deque->popBack();
                QVERIFY(popped && popped->has_value());
                QCOMPARE(**popped, (i % 3 == 0) ? model.front() : model.back());
                if (i % 3 == 0)
                    model.pop_front();
                else
                    model.pop_back();
            }
            auto all = deque->toStd();
            QVERIFY(all && *all == model);
        }
        cap = deque->capacity();
        QVERIFY(cap && *cap == 8);
    }

    void growthIsOneAndAHalfAndKeepsOrderWhenWrapped()
    {
        auto deque = SharedVecDeque<std::int64_t>::create(*m_region, "growth");
        QVERIFY(deque);
        std::deque<std::int64_t> model;
        std::vector<std::uint64_t> capacities;
        for (std::int64_t i = 0; i < 60; ++i) {
            // Mostly at the front, so the ring is wrapped whenever it grows.
            if (i % 4 == 3) {
                QVERIFY(deque->pushBack(i));
                model.push_back(i);
            } else {
                QVERIFY(deque->pushFront(i));
                model.push_front(i);
            }
            auto cap = deque->capacity();
            QVERIFY(cap);
            if (capacities.empty() || capacities.back() != *cap)
                capacities.push_back(*cap);
            auto all = deque->toStd();
            QVERIFY(all && *all == model);
        }
        const std::vector<std::uint64_t> expected { 4, 6, 9, 13, 19, 28, 42, 63 };
        QCOMPARE(capacities, expected);
    }

    void frontBackAndEmptyEnds()
    {
        auto deque = SharedVecDeque<SharedString>::create(*m_region, "ends");
        QVERIFY(deque);
        auto front = deque->front();
        QVERIFY(front && !front->has_value());
        auto popped = deque->popFront();
        QVERIFY(popped && !popped->has_value());
        popped = deque->popBack();
        QVERIFY(popped && !popped->has_value());
        auto empty = deque->empty();
        QVERIFY(empty && *empty);
        QVERIFY(deque->pushBack("middle"));
        QVERIFY(deque->pushFront("first"));
        QVERIFY(deque->pushBack("last"));
        front = deque->front();
        QVERIFY(front && front->has_value() && **front == "first");
        auto back = deque->back();
        QVERIFY(back && back->has_value() && **back == "last");
        QVERIFY(deque->modify(1, [](std::string& s) { s += "!"; }));
        auto got = deque->get(1);
        QVERIFY(got && *got == "middle!");
        auto past = deque->get(3);
        QVERIFY(!past);
        COMPARE_ERROR(past.error(), RegionError::OutOfRange);
        auto badSet = deque->set(3, "x");
        QVERIFY(!badSet);
        COMPARE_ERROR(badSet.error(), RegionError::OutOfRange);
        std::vector<std::string> seen;
        QVERIFY(deque->forEach([&](std::uint64_t i, const std::string& s) {
            QCOMPARE(i, seen.size());
            seen.push_back(s);
        }));
        QCOMPARE(seen, (std::vector<std::string> { "first", "middle!", "last" }));
        empty = deque->empty();
        QVERIFY(empty && !*empty);
    }

    void fromIterInKeepsOrder()
    {
        const std::vector<std::string> words { "alpha", "", "gamma", std::string(300, 'd') };
        auto deque = SharedVecDeque<SharedString>::fromIterIn(*m_region, "words", words.begin(), words.end());
        QVERIFY(deque);
        auto all = deque->toStd();
        QVERIFY(all);
        QCOMPARE(std::vector<std::string>(all->begin(), all->end()), words);
        // Many elements that own blocks: appended in committed steps.
        std::vector<std::string> many;
        for (int i = 0; i < 100; ++i)
            many.push_back("w" + std::to_string(i));
        QVERIFY(deque->extend(many.begin(), many.end()));
        auto n = deque->size();
        QVERIFY(n && *n == words.size() + many.size());
        auto last = deque->back();
        QVERIFY(last && **last == "w99");
    }

    void fullRegionFailsAndLeavesTheDequeUnchanged()
    {
        auto deque = SharedVecDeque<SharedString>::create(*m_region, "full");
        QVERIFY(deque);
        std::deque<std::string> model;
        const std::string big(64 * 1024, 'x');
        RegionExpected<void> pushed;
        for (int i = 0; i < 1000; ++i) {
            const std::string value = big + std::to_string(i);
            pushed = (i % 2) ? deque->pushFront(value) : deque->pushBack(value);
            if (!pushed)
                break;
            if (i % 2)
                model.push_front(value);
            else
                model.push_back(value);
        }
        QVERIFY(!pushed);
        COMPARE_ERROR(pushed.error(), RegionError::OutOfMemory);
        auto all = deque->toStd();
        QVERIFY(all && *all == model);
        QVERIFY(m_region->checkSanity());
        // Neither end takes another one; setting an element to a big value fails the same way.
        QVERIFY(!deque->pushFront(big));
        QVERIFY(!deque->pushBack(big));
        auto setBig = deque->set(0, big + big);
        QVERIFY(!setBig);
        COMPARE_ERROR(setBig.error(), RegionError::OutOfMemory);
        auto again = deque->toStd();
        QVERIFY(again && *again == model);
        QVERIFY(!walkerCheck(deque->ref()));

        // A plain deque whose array cannot grow is unchanged too, whether the ring is wrapped or not.
        QVERIFY(deque->clear());
        auto plain = SharedVecDeque<std::int64_t>::create(*m_region, "plain");
        QVERIFY(plain);
        std::deque<std::int64_t> plainModel;
        for (std::int64_t i = 0; i < 10; ++i) {
            QVERIFY(plain->pushFront(i));
            plainModel.push_front(i);
        }
        auto reserved = plain->reserve(std::uint64_t { 1 } << 40);
        QVERIFY(!reserved);
        COMPARE_ERROR(reserved.error(), RegionError::OutOfMemory);
        auto plainAll = plain->toStd();
        QVERIFY(plainAll && *plainAll == plainModel);
        auto cap = plain->capacity();
        QVERIFY(cap && *cap == 13);
        QVERIFY(m_region->checkSanity());
    }

    void attachWithAnotherTypeIsTypeMismatch()
    {
        QVERIFY(SharedVecDeque<std::int64_t>::create(*m_region, "typed"));
        auto wrongElement = SharedVecDeque<std::int32_t>::attach(*m_region, "typed");
        QVERIFY(!wrongElement);
        COMPARE_ERROR(wrongElement.error(), RegionError::TypeMismatch);
        auto wrongKind = SharedVec<std::int64_t>::attach(*m_region, "typed");
        QVERIFY(!wrongKind);
        COMPARE_ERROR(wrongKind.error(), RegionError::TypeMismatch);
        auto nested = SharedVecDeque<SharedString>::attach(*m_region, "typed");
        QVERIFY(!nested);
        COMPARE_ERROR(nested.error(), RegionError::TypeMismatch);
        auto right = SharedVecDeque<std::int64_t>::attach(*m_region, "typed");
        QVERIFY(right);
        auto root = m_region->findRoot("typed");
        QVERIFY(root);
        QCOMPARE(QByteArray::fromStdString(root->type), QByteArray("deque<i64>"));
        QVERIFY(root->kind == RootKind::VecDeque);
        auto strings = SharedVecDeque<SharedString>::create(*m_region, "strings");
        QVERIFY(strings);
        root = m_region->findRoot("strings");
        QVERIFY(root);
        QCOMPARE(QByteArray::fromStdString(root->type), QByteArray("deque<string>"));
    }

    void destroyFreesEverything()
    {
        auto deque = SharedVecDeque<SharedString>::create(*m_region, "doomed");
        QVERIFY(deque);
        std::mt19937_64 rng(7);
        for (int i = 0; i < 300; ++i) {
            const std::string value = Sample<SharedString>::value(rng) + "!";
            QVERIFY(i % 3 ? deque->pushBack(value) : deque->pushFront(value));
        }
        QVERIFY(SharedVecDeque<SharedString>::destroy(*m_region, "doomed"));
        QVERIFY(!m_region->findRoot("doomed"));
        auto stats = m_region->stats();
        QVERIFY(stats);
        // Everything but the root table the first root created is free again.
        QCOMPARE(stats->usedBlocks, 1u);
        QVERIFY(m_region->checkSanity());
    }

    void clearOfStringsFreesTheirBlocks()
    {
        auto deque = SharedVecDeque<SharedString>::create(*m_region, "cleared");
        QVERIFY(deque);
        auto before = m_region->stats();
        QVERIFY(before);
        for (int i = 0; i < 100; ++i)
            QVERIFY(deque->pushFront("string number " + std::to_string(i)));
        QVERIFY(deque->clear());
        QVERIFY(deque->shrinkToFit());
        auto n = deque->size();
        QVERIFY(n && *n == 0);
        auto after = m_region->stats();
        QVERIFY(after);
        QCOMPARE(after->usedBlocks, before->usedBlocks);
    }

    void elementsOwningManyBlocksStayWithinTheJournal()
    {
        // Each element owns 61 blocks: a fixed 32 elements per committed step would journal
        // about 2000 records, far beyond the 16 KiB journal.
        using Nested = SharedVec<SharedString>;
        std::vector<std::vector<std::string>> values(40, std::vector<std::string>(60, "a string"));
        auto deque = SharedVecDeque<Nested>::fromIterIn(*m_region, "nested", values.begin(), values.end());
        QVERIFY2(deque, deque ? "" : errorName(deque.error()));
        auto n = deque->size();
        QVERIFY(n && *n == values.size());
        auto got = deque->get(39);
        QVERIFY(got && *got == values[39]);
        auto cleared = deque->clear();
        QVERIFY2(cleared, cleared ? "" : errorName(cleared.error()));
        n = deque->size();
        QVERIFY(n && *n == 0);
        QVERIFY(SharedVecDeque<Nested>::destroy(*m_region, "nested"));
        auto stats = m_region->stats();
        QVERIFY(stats);
        QCOMPARE(stats->usedBlocks, 1u); // the root table
    }

    void walkerVisitsFrontToBackAndChecksTheRing()
    {
        auto deque = SharedVecDeque<std::int64_t>::create(*m_region, "walked");
        QVERIFY(deque);
        QVERIFY(deque->reserve(6));
        for (std::int64_t i = 0; i < 4; ++i)
            QVERIFY(deque->pushFront(i)); // head wraps to the end of the array
        QVERIFY(deque->pushBack(100));
        const std::vector<std::uint64_t> offsets = walkedOffsets(deque->ref());
        QCOMPARE(offsets.size(), std::size_t(5));
        const std::vector<std::int64_t> expected { 3, 2, 1, 0, 100 };
        for (std::size_t i = 0; i < offsets.size(); ++i)
            QCOMPARE(*static_cast<std::int64_t*>(m_region->pointer(offsets[i], 8)), expected[i]);
        QVERIFY(offsets.front() > offsets.back()); // wrapped
        {
            auto txn = detail::ContainerTxn::begin(deque->ref());
            QVERIFY(txn);
            auto length = detail::kDequeWalker.length(*txn);
            QVERIFY(length && *length == 5);
            std::vector<std::uint64_t> page;
            QVERIFY(detail::kDequeWalker.visit(*txn, 3, 10, [&](std::uint64_t keyAt, std::uint64_t valueAt) {
                QCOMPARE(valueAt, std::uint64_t(0));
                page.push_back(keyAt);
            }));
            QCOMPARE(page, std::vector<std::uint64_t>(offsets.begin() + 3, offsets.end()));
            page.clear();
            QVERIFY(detail::kDequeWalker.visit(
                *txn, 9, 2, [&](std::uint64_t keyAt, std::uint64_t) { page.push_back(keyAt); }));
            QVERIFY(page.empty());
            QVERIFY(!detail::kDequeWalker.check(*txn));
        }
        // A damaged head is reported, and refused by the operations.
        auto* header = deque->ref().header();
        auto* body = reinterpret_cast<format::DequeBody*>(header->body);
        const std::uint64_t head = body->head;
        body->head = body->capacity + 3;
        auto problem = walkerCheck(deque->ref());
        QVERIFY(problem);
        QVERIFY2(problem->find("head") != std::string::npos, problem->c_str());
        auto got = deque->get(0);
        QVERIFY(!got);
        COMPARE_ERROR(got.error(), RegionError::Corrupt);
        body = reinterpret_cast<format::DequeBody*>(deque->ref().header()->body);
        body->head = head;
        QVERIFY(!walkerCheck(deque->ref()));
    }

private:
    template <class T> void runModel(int steps, std::uint64_t seed)
    {
        using Value = typename detail::ElementTraits<T>::Value;
        auto created = SharedVecDeque<T>::create(*m_region, "model");
        QVERIFY(created);
        SharedVecDeque<T>& deque = *created;
        std::deque<Value> model;
        std::mt19937_64 rng(seed);
        for (int step = 0; step < steps; ++step) {
            const unsigned op = rng() % 100;
            if (op < 24) {
                Value v = Sample<T>::value(rng);
                QVERIFY(deque.pushBack(v));
                model.push_back(v);
            } else if (op < 46) {
                Value v = Sample<T>::value(rng);
                QVERIFY(deque.pushFront(v));
                model.push_front(v);
            } else if (op < 60) {
                auto popped = deque.popBack();
                QVERIFY(popped);
                QCOMPARE(popped->has_value(), !model.empty());
                if (!model.empty()) {
                    QVERIFY(**popped == model.back());
                    model.pop_back();
                }
            } else if (op < 74) {
                auto popped = deque.popFront();
                QVERIFY(popped);
                QCOMPARE(popped->has_value(), !model.empty());
                if (!model.empty()) {
                    QVERIFY(**popped == model.front());
                    model.pop_front();
                }
            } else if (op < 82 && !model.empty()) {
                const std::uint64_t at = rng() % model.size();
                Value v = Sample<T>::value(rng);
                QVERIFY(deque.set(at, v));
                model[at] = v;
            } else if (op < 86) {
                auto past = deque.get(model.size() + rng() % 3);
                QVERIFY(!past);
                COMPARE_ERROR(past.error(), RegionError::OutOfRange);
            } else if (op < 88) {
                QVERIFY(deque.reserve(rng() % 50));
                auto cap = deque.capacity();
                QVERIFY(cap && *cap >= model.size());
            } else if (op < 90) {
                QVERIFY(deque.shrinkToFit());
                auto cap = deque.capacity();
                QVERIFY(cap && *cap == model.size());
            } else if (op < 91) {
                QVERIFY(deque.clear());
                model.clear();
            } else if (op < 94) {
                auto front = deque.front();
                auto back = deque.back();
                QVERIFY(front && back);
                QCOMPARE(front->has_value(), !model.empty());
                QCOMPARE(back->has_value(), !model.empty());
                if (!model.empty()) {
                    QVERIFY(**front == model.front());
                    QVERIFY(**back == model.back());
                }
            } else if (!model.empty()) {
                const std::uint64_t at = rng() % model.size();
                auto got = deque.get(at);
                QVERIFY(got);
                QVERIFY(*got == model[at]);
            }
            auto all = deque.toStd();
            QVERIFY(all);
            QVERIFY2(*all == model, qPrintable(QStringLiteral("step %1").arg(step)));
            auto n = deque.size();
            QVERIFY(n && *n == model.size());
            if (step % 64 == 0) {
                const auto problem = walkerCheck(deque.ref());
                QVERIFY2(!problem, problem ? problem->c_str() : "");
            }
        }
        QVERIFY(m_region->checkSanity());
        QVERIFY(SharedVecDeque<T>::destroy(*m_region, "model"));
        auto stats = m_region->stats();
        QVERIFY(stats);
        QCOMPARE(stats->usedBlocks, 1u); // the root table
    }
};

QTEST_GUILESS_MAIN(TestSharedVecDeque)
#include "tst_shared_vec_deque.moc"
