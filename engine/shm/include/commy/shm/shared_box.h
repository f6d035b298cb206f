#pragma once

// SharedBox<T>: one value in a region, in a block of its own. get(), set() and modify() take the
// container's lock (or run in a BatchGuard's) and either happen completely or not at all, even if
// the process is killed. T is a trivially copyable value or a nested shared type (SharedString,
// SharedVec<U>), read and written as its std counterpart.
//
// For a trivially copyable T, load() reads without the lock (a seqlock): it copies the value between
// two reads of the header's sequence word, which every writer makes odd before it saves or changes
// anything and even again when it commits or rolls back, and retries while the word is odd or has
// moved. A writer killed mid-write leaves the word odd until the next locker repairs the box, so
// after a bounded number of retries load() takes the lock (get()), which runs that repair. The
// value is copied with acquire loads of its words (the second read of the sequence word cannot move
// before them, and one that reads a word a writer stored sees that writer's odd word: no fence,
// which ThreadSanitizer does not model) and written with relaxed atomic stores, so the race the
// sequence word resolves is a race between atomics. On x86 these are plain moves.
//
// A box made by the plain TypedContainer::create() path, or whose creator died before storing the
// initial value, has no value block yet and reads as a zero value (all bytes zero; an empty string
// or vector).

#include <commy/shm/container_format.h>
#include <commy/shm/detail/typed_container.h>
#include <commy/shm/element_traits.h>

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace commy::shm {

namespace detail {

// Word-wise atomic copies for the seqlock (acquire loads, relaxed stores); `shared` is 8-aligned (a
// block payload).
inline void atomicCopyOut(void* to, const void* shared, std::size_t bytes)
{
    auto* out = static_cast<unsigned char*>(to);
    auto* in = static_cast<unsigned char*>(const_cast<void*>(shared));
    std::size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        const std::uint64_t word
            = std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(in + i)).load(std::memory_order_acquire);
        std::memcpy(out + i, &word, 8);
    }
    for (; i < bytes; ++i)
        out[i] = std::atomic_ref<unsigned char>(in[i]).load(std::memory_order_acquire);
}

inline void atomicCopyIn(void* shared, const void* from, std::size_t bytes)
{
    auto* out = static_cast<unsigned char*>(shared);
    const auto* in = static_cast<const unsigned char*>(from);
    std::size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, in + i, 8);
        std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(out + i))
            .store(word, std::memory_order_relaxed);
    }
    for (; i < bytes; ++i)
        std::atomic_ref<unsigned char>(out[i]).store(in[i], std::memory_order_relaxed);
}

// Seqlock retries before load() takes the lock instead. A write holds the word odd for a few
// hundred nanoseconds; many more retries mean a writer that was descheduled or killed.
inline constexpr int kSeqlockSpins = 256;

inline void spinPause()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

} // namespace detail

template <class T> class SharedBox : public detail::TypedContainer<SharedBox<T>> {
    using Base = detail::TypedContainer<SharedBox<T>>;
    using Traits = detail::ElementTraits<T>;
    using Stored = typename Traits::Stored;
    friend Base;

public:
    using Value = typename Traits::Value;
    static constexpr RootKind kKind = RootKind::Box;
    static constexpr bool kLockFreeReads = detail::PlainElement<T>;

    SharedBox() = default;
    static std::string descriptor() { return "box<" + Traits::descriptor() + ">"; }
    static detail::ElementLayout layout() { return { detail::storedSize<T>(), detail::storedAlign<T>(), 0, 0 }; }

    // Creates `name` holding `initial`. On failure nothing named `name` is left.
    static RegionExpected<SharedBox> create(Region& region, std::string_view name, const Value& initial = Value {})
    {
        auto box = Base::create(region, name);
        if (!box)
            return box;
        if (auto stored = box->set(initial); !stored) {
            (void)Base::destroy(region, name);
            return unexpected(stored.error());
        }
        return box;
    }

    // The value, under the lock.
    RegionExpected<Value> get() const
    {
        return this->run([&](detail::ContainerTxn& txn) { return getIn(txn); });
    }
    RegionExpected<void> set(const Value& value)
    {
        return this->run([&](detail::ContainerTxn& txn) { return setIn(txn, value); });
    }
    // Reads the value, lets `change(Value&)` edit the copy and stores it back, under one lock.
    template <class Change> RegionExpected<void> modify(Change&& change)
    {
        return this->run([&](detail::ContainerTxn& txn) -> RegionExpected<void> {
            auto value = getIn(txn);
            if (!value)
                return unexpected(value.error());
            change(*value);
            return setIn(txn, *value);
        });
    }

    // The value, read without the lock (see the top of this file). Falls back to get() when a
    // writer holds the sequence word odd for too long, or when the box looks damaged (get() then
    // reports it). Like every call on a Region, not for two threads on one Region object at once.
    RegionExpected<T> load() const requires detail::PlainElement<T>
    {
        Region& region = this->ref().region();
        auto* h = static_cast<format::ContainerHeader*>(
            region.pointer(this->ref().offset(), sizeof(format::ContainerHeader)));
        if (!h || std::atomic_ref<std::uint32_t>(h->magic).load(std::memory_order_relaxed) != format::kContainerMagic)
            return get(); // reports what is wrong
        auto* body = reinterpret_cast<format::BoxBody*>(h->body);
        std::atomic_ref<std::uint64_t> sequence(h->sequence);
        std::uint64_t resolvedFor = 0;
        const void* value = nullptr;
        for (int spin = 0; spin < detail::kSeqlockSpins; ++spin) {
            const std::uint64_t before = sequence.load(std::memory_order_acquire);
            if (before & 1) {
                detail::spinPause();
                continue;
            }
            const std::uint64_t data = std::atomic_ref<std::uint64_t>(body->data).load(std::memory_order_acquire);
            const std::uint64_t bytes = std::atomic_ref<std::uint64_t>(body->bytes).load(std::memory_order_acquire);
            std::array<unsigned char, sizeof(T)> copy;
            if (data == 0) {
                copy.fill(0);
            } else {
                if (data != resolvedFor) {
                    // Once per call: a box's block never moves once it has one.
                    value = region.pointer(data, sizeof(T));
                    resolvedFor = data;
                }
                if (!value || bytes != sizeof(T))
                    return get();
                detail::atomicCopyOut(copy.data(), value, sizeof(T));
            }
            if (sequence.load(std::memory_order_relaxed) == before)
                return std::bit_cast<T>(copy);
        }
        return get();
    }

private:
    static constexpr std::uint64_t kSize = sizeof(Stored);
    static constexpr std::uint64_t kAlign = alignof(Stored) > 16 ? alignof(Stored) : 16;

    explicit SharedBox(const detail::ContainerRef& ref)
        : Base(ref)
    {
    }

    static format::BoxBody* body(const detail::ContainerTxn& txn, std::uint64_t bodyAt)
    {
        return txn.at<format::BoxBody>(bodyAt);
    }

    // The value's block (0 when there is none yet), once checked to be in bounds.
    static RegionExpected<std::uint64_t> block(const detail::ContainerTxn& txn, std::uint64_t bodyAt)
    {
        const format::BoxBody* b = body(txn, bodyAt);
        if (!b)
            return unexpected(RegionError::Corrupt);
        if (b->data == 0)
            return b->bytes == 0 ? RegionExpected<std::uint64_t>(0) : unexpected(RegionError::Corrupt);
        if (b->bytes != kSize || !txn.at(b->data, kSize))
            return unexpected(RegionError::Corrupt);
        return b->data;
    }

    RegionExpected<Value> getIn(const detail::ContainerTxn& txn) const
    {
        auto data = block(txn, this->bodyAt());
        if (!data)
            return unexpected(data.error());
        Stored stored;
        if (*data == 0)
            std::memset(static_cast<void*>(&stored), 0, kSize);
        else
            std::memcpy(static_cast<void*>(&stored), txn.at(*data, kSize), kSize);
        return Traits::load(txn, stored);
    }

    // Writes `value` into a block that is fresh or already saved.
    static RegionExpected<void> store(detail::ContainerTxn& txn, std::uint64_t slot, const Value& value)
    {
        if constexpr (kLockFreeReads) {
            void* target = txn.at(slot, kSize);
            if (!target)
                return unexpected(RegionError::Corrupt);
            detail::atomicCopyIn(target, &value, kSize);
            return {};
        } else {
            return Traits::store(txn, slot, value);
        }
    }

    RegionExpected<void> setIn(detail::ContainerTxn& txn, const Value& value) const
    {
        const std::uint64_t bodyAt = this->bodyAt();
        auto data = block(txn, bodyAt);
        if (!data)
            return unexpected(data.error());
        if (*data == 0) {
            auto fresh = txn.allocate(kSize, kAlign);
            if (!fresh)
                return unexpected(fresh.error());
            if (auto stored = store(txn, *fresh, value); !stored)
                return stored;
            if (auto saved = txn.save(bodyAt, sizeof(format::BoxBody)); !saved)
                return saved;
            format::BoxBody* b = body(txn, bodyAt);
            std::atomic_ref<std::uint64_t>(b->bytes).store(kSize, std::memory_order_relaxed);
            std::atomic_ref<std::uint64_t>(b->data).store(*fresh, std::memory_order_relaxed);
            return {};
        }
        // Saving first also makes the sequence word odd, before any byte of the value changes.
        Stored old;
        std::memcpy(static_cast<void*>(&old), txn.at(*data, kSize), kSize);
        if (auto saved = txn.save(*data, kSize); !saved)
            return saved;
        if (auto dropped = Traits::drop(txn, old); !dropped)
            return dropped;
        return store(txn, *data, value);
    }

    static RegionExpected<void> dropContents(detail::ContainerTxn& txn, std::uint64_t bodyAt)
    {
        auto data = block(txn, bodyAt);
        if (!data)
            return unexpected(data.error());
        if (*data == 0)
            return {};
        Stored old;
        std::memcpy(static_cast<void*>(&old), txn.at(*data, kSize), kSize);
        if (auto dropped = Traits::drop(txn, old); !dropped)
            return dropped;
        return txn.release(*data);
    }
};

} // namespace commy::shm
