#pragma once

// Helpers shared by the container tests: random element values for the model tests, and
// ContainerTest, the fixture that gives every test function a region of its own.

#include "shm_test_support.h"

#include <commy/shm/region.h>
#include <commy/shm/shared_string.h>
#include <commy/shm/shared_vec.h>

#include <QObject>
#include <QString>
#include <QTest>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace commy::shmtest {

// Sample<T>::value(rng): a random value of what a container of T holds (its std counterpart for
// the nested shared types). A model test draws from one seeded generator, so the same seed gives
// the same operations every run.
template <class T> struct Sample;
template <> struct Sample<std::uint64_t> {
    static std::uint64_t value(std::mt19937_64& rng) { return rng(); }
};
template <> struct Sample<std::int64_t> {
    static std::int64_t value(std::mt19937_64& rng) { return static_cast<std::int64_t>(rng()); }
};
template <> struct Sample<std::int32_t> {
    static std::int32_t value(std::mt19937_64& rng) { return static_cast<std::int32_t>(rng()); }
};
template <> struct Sample<commy::shm::SharedString> {
    // 0 to 39 lowercase letters.
    static std::string value(std::mt19937_64& rng)
    {
        std::string s(rng() % 40, 'a');
        for (char& c : s)
            c = static_cast<char>('a' + rng() % 26);
        return s;
    }
};
template <> struct Sample<commy::shm::SharedVec<std::int32_t>> {
    // 0 to 11 elements.
    static std::vector<std::int32_t> value(std::mt19937_64& rng)
    {
        std::vector<std::int32_t> v(rng() % 12);
        for (auto& x : v)
            x = static_cast<std::int32_t>(rng());
        return v;
    }
};

// The base of a container test class: a temporary directory, and in it a fresh region per test
// function, opened by init() through openTestRegion() and closed by cleanup().
class ContainerTest : public QObject {
protected:
    // Creates the next region file (`prefix` + a counter) of `size` bytes and attaches to it as
    // "test". A failed check here fails init(), so the test function does not run.
    void openTestRegion(const QString& prefix, std::uint64_t size)
    {
        QVERIFY(m_dir.isValid());
        m_path = m_dir.filePath(QStringLiteral("%1%2.region").arg(prefix).arg(++m_counter));
        auto created = createRegion(m_path, size);
        QVERIFY(created);
        m_region = std::move(*created);
        QVERIFY(m_region->attach("test"));
    }

    RegionTempDir m_dir;
    QString m_path; // the current test function's region file
    std::unique_ptr<commy::shm::Region> m_region;

private:
    int m_counter = 0;
};

} // namespace commy::shmtest
