#pragma once

// How a container stores its elements. An element is either a trivially copyable value, stored
// as is, or a nested shared type (SharedString, SharedVec<T>), stored as a VecBody of offsets to
// blocks it owns. Every element type has a descriptor ("i64", "string", "vec<f64>", "pod24") that
// is part of its container's root type, so attaching with another element type fails and tools
// can decode elements without the program that wrote them.
//
// The traits read and write elements inside a container transaction; `store` writes into a slot
// that is either fresh or already saved to the journal, `drop` releases the blocks an element owns.

#include <commy/shm/container_format.h>
#include <commy/shm/container_txn.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace commy::shm {

class SharedString;
template <class T> class SharedVec;

// The descriptor name of a trivially copyable element type. Specialise it to name your own
// structs; unnamed ones are "pod<size>" (shown as hex by tools).
template <class T> struct TypeName {
    static std::string name() { return "pod" + std::to_string(sizeof(T)); }
};
#define COMMY_SHM_TYPE_NAME(type, text)                                                                                \
    template <> struct TypeName<type> {                                                                                \
        static std::string name() { return text; }                                                                     \
    };
COMMY_SHM_TYPE_NAME(std::int8_t, "i8")
COMMY_SHM_TYPE_NAME(std::int16_t, "i16")
COMMY_SHM_TYPE_NAME(std::int32_t, "i32")
COMMY_SHM_TYPE_NAME(std::int64_t, "i64")
COMMY_SHM_TYPE_NAME(std::uint8_t, "u8")
COMMY_SHM_TYPE_NAME(std::uint16_t, "u16")
COMMY_SHM_TYPE_NAME(std::uint32_t, "u32")
COMMY_SHM_TYPE_NAME(std::uint64_t, "u64")
COMMY_SHM_TYPE_NAME(float, "f32")
COMMY_SHM_TYPE_NAME(double, "f64")
COMMY_SHM_TYPE_NAME(bool, "bool")
COMMY_SHM_TYPE_NAME(char, "char")
#undef COMMY_SHM_TYPE_NAME

namespace detail {

// Stable across processes and builds: the hash decides where an entry lives in the file.
inline std::uint64_t mixHash(std::uint64_t x)
{
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return x;
}

inline std::uint64_t hashBytes(const void* data, std::uint64_t bytes)
{
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t h = 0xcbf29ce484222325ull ^ bytes;
    std::uint64_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, p + i, 8);
        h = (h ^ word) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < bytes; ++i)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return mixHash(h);
}

template <class T> struct ElementTraits;

template <class T> struct IsSharedType : std::false_type {
};
template <> struct IsSharedType<SharedString> : std::true_type {
};
template <class T> struct IsSharedType<SharedVec<T>> : std::true_type {
};

// Pointers are refused: an address means nothing in another process. The shared types are tested
// first, so that naming SharedString as an element needs only its declaration, not its header.
template <class T>
concept PlainElement = !IsSharedType<T>::value && std::is_trivially_copyable_v<T> && !std::is_pointer_v<T>;

template <PlainElement T> struct ElementTraits<T> {
    using Stored = T;
    using Value = T;
    using Lookup = T;
    static constexpr bool kOwnsBlocks = false;

    static std::string descriptor() { return TypeName<T>::name(); }
    static RegionExpected<void> store(ContainerTxn& txn, std::uint64_t slot, const T& value)
    {
        T* target = txn.at<T>(slot);
        if (!target)
            return unexpected(RegionError::Corrupt);
        std::memcpy(static_cast<void*>(target), &value, sizeof(T));
        return {};
    }
    static T load(const ContainerTxn&, const T& stored) { return stored; }
    static RegionExpected<void> drop(ContainerTxn&, const T&) { return {}; }
    static std::uint64_t hashLookup(const T& value)
    {
        if constexpr (std::is_integral_v<T> || std::is_enum_v<T>)
            return mixHash(static_cast<std::uint64_t>(value));
        else
            return hashBytes(&value, sizeof(T));
    }
    static std::uint64_t hash(const ContainerTxn&, const T& stored) { return hashLookup(stored); }
    static bool equals(const ContainerTxn&, const T& stored, const T& value)
    {
        if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>)
            return stored == value;
        else
            return std::memcmp(&stored, &value, sizeof(T)) == 0;
    }
    static int compare(const ContainerTxn&, const T& stored, const T& value)
    {
        if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>)
            return stored < value ? -1 : (value < stored ? 1 : 0);
        else
            return std::memcmp(&stored, &value, sizeof(T));
    }
};

// Bytes of a nested array, or an empty view when the body is damaged.
template <class S> std::basic_string_view<S> viewOf(const ContainerTxn& txn, const format::VecBody& body)
{
    if (body.length == 0)
        return {};
    const auto* data = static_cast<const S*>(txn.at(body.data, body.length * sizeof(S)));
    return data ? std::basic_string_view<S>(data, body.length) : std::basic_string_view<S>();
}

template <> struct ElementTraits<SharedString> {
    using Stored = format::VecBody;
    using Value = std::string;
    using Lookup = std::string_view;
    static constexpr bool kOwnsBlocks = true;

    static std::string descriptor() { return "string"; }
    static RegionExpected<void> store(ContainerTxn& txn, std::uint64_t slot, std::string_view value)
    {
        format::VecBody body { 0, value.size(), value.size() };
        if (!value.empty()) {
            auto data = txn.allocate(value.size(), 8);
            if (!data)
                return unexpected(data.error());
            std::memcpy(txn.at(*data, value.size()), value.data(), value.size());
            body.data = *data;
        }
        auto* target = txn.at<format::VecBody>(slot);
        if (!target)
            return unexpected(RegionError::Corrupt);
        *target = body;
        return {};
    }
    static std::string load(const ContainerTxn& txn, const format::VecBody& stored)
    {
        return std::string(viewOf<char>(txn, stored));
    }
    static RegionExpected<void> drop(ContainerTxn& txn, const format::VecBody& stored)
    {
        return stored.data ? txn.release(stored.data) : RegionExpected<void>();
    }
    static std::uint64_t hashLookup(std::string_view value) { return hashBytes(value.data(), value.size()); }
    static std::uint64_t hash(const ContainerTxn& txn, const format::VecBody& stored)
    {
        return hashLookup(viewOf<char>(txn, stored));
    }
    static bool equals(const ContainerTxn& txn, const format::VecBody& stored, std::string_view value)
    {
        return stored.length == value.size() && viewOf<char>(txn, stored) == value;
    }
    static int compare(const ContainerTxn& txn, const format::VecBody& stored, std::string_view value)
    {
        return viewOf<char>(txn, stored).compare(value);
    }
};

template <class T> struct ElementTraits<SharedVec<T>> {
    using Inner = ElementTraits<T>;
    using Stored = format::VecBody;
    using Value = std::vector<typename Inner::Value>;
    using Lookup = Value;
    static constexpr bool kOwnsBlocks = true;

    static std::string descriptor() { return "vec<" + Inner::descriptor() + ">"; }
    static RegionExpected<void> store(ContainerTxn& txn, std::uint64_t slot, const Value& value)
    {
        format::VecBody body { 0, value.size(), value.size() };
        if (!value.empty()) {
            auto data = txn.allocate(value.size() * sizeof(typename Inner::Stored), 16);
            if (!data)
                return unexpected(data.error());
            body.data = *data;
            for (std::uint64_t i = 0; i < value.size(); ++i) {
                auto stored = Inner::store(txn, body.data + i * sizeof(typename Inner::Stored), value[i]);
                if (!stored)
                    return stored;
            }
        }
        auto* target = txn.at<format::VecBody>(slot);
        if (!target)
            return unexpected(RegionError::Corrupt);
        *target = body;
        return {};
    }
    static const typename Inner::Stored* elements(const ContainerTxn& txn, const format::VecBody& stored)
    {
        return stored.length == 0 ? nullptr
                                  : static_cast<const typename Inner::Stored*>(
                                      txn.at(stored.data, stored.length * sizeof(typename Inner::Stored)));
    }
    static Value load(const ContainerTxn& txn, const format::VecBody& stored)
    {
        Value result;
        const auto* items = elements(txn, stored);
        if (!items)
            return result;
        result.reserve(stored.length);
        for (std::uint64_t i = 0; i < stored.length; ++i)
            result.push_back(Inner::load(txn, items[i]));
        return result;
    }
    static RegionExpected<void> drop(ContainerTxn& txn, const format::VecBody& stored)
    {
        if (const auto* items = elements(txn, stored); items && Inner::kOwnsBlocks) {
            for (std::uint64_t i = 0; i < stored.length; ++i) {
                const typename Inner::Stored item = elements(txn, stored)[i];
                if (auto dropped = Inner::drop(txn, item); !dropped)
                    return dropped;
            }
        }
        return stored.data ? txn.release(stored.data) : RegionExpected<void>();
    }
    static std::uint64_t hashLookup(const Value& value)
    {
        std::uint64_t h = value.size();
        for (const auto& item : value)
            h = mixHash(h ^ Inner::hashLookup(item));
        return h;
    }
    static std::uint64_t hash(const ContainerTxn& txn, const format::VecBody& stored)
    {
        return hashLookup(load(txn, stored));
    }
    static bool equals(const ContainerTxn& txn, const format::VecBody& stored, const Value& value)
    {
        return stored.length == value.size() && load(txn, stored) == value;
    }
    static int compare(const ContainerTxn& txn, const format::VecBody& stored, const Value& value)
    {
        const Value mine = load(txn, stored);
        return mine < value ? -1 : (value < mine ? 1 : 0);
    }
};

// Stored layout of an element type, recorded in the container header.
template <class T> constexpr std::uint32_t storedSize() { return sizeof(typename ElementTraits<T>::Stored); }
template <class T> constexpr std::uint32_t storedAlign() { return alignof(typename ElementTraits<T>::Stored); }

} // namespace detail
} // namespace commy::shm
