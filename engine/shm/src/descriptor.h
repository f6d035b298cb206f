#pragma once

// Internal: parsing a container root's type descriptor ("vec<i64>", "string", "map<u64,vec<f64>>")
// into what the container reader needs to decode elements without their C++ types. The root type
// comes from the file, which any process may have written: anything that is not a descriptor the
// element traits produce is rejected with a reason, never guessed at.
//
// Grammar:
//   root     := "string" | name "<" element ("," element)* ">"
//   element  := "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "f32" | "f64"
//             | "bool" | "char" | "pod" digits | "string" | "vec<" element ">"
//   name     := [a-z0-9_]+

#include <commy/shm/expected.h>
#include <commy/shm/region.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace commy::shm::detail {

enum class ElementType : std::uint8_t { I8, I16, I32, I64, U8, U16, U32, U64, F32, F64, Bool, Char, Pod, String, Vec };

// Strings and vectors are stored as a VecBody whose array is a block of their own.
inline bool ownsBlocks(ElementType type) { return type == ElementType::String || type == ElementType::Vec; }

// The container kinds (all but Bytes); a root may record any number.
inline bool knownKind(RootKind kind)
{
    const auto value = static_cast<std::uint32_t>(kind);
    return value >= static_cast<std::uint32_t>(RootKind::Vec)
        && value <= static_cast<std::uint32_t>(RootKind::VecDeque);
}

// A copy of a T stored at `p`, which may be unaligned or hold any bytes.
template <class T> T load(const void* p)
{
    T value;
    std::memcpy(&value, p, sizeof value);
    return value;
}

// One level of an element type; a Vec's items are described by the next node of its chain.
struct TypeNode {
    ElementType type = ElementType::U8;
    std::uint32_t bytes = 0; // stored size: the value itself, or a VecBody for String and Vec
};

// An element type as a chain: "vec<vec<string>>" is [Vec, Vec, String].
struct ElementDescriptor {
    std::vector<TypeNode> chain;
    std::string text; // as written in the descriptor

    std::uint32_t storedBytes() const { return chain.front().bytes; }
};

struct RootDescriptor {
    std::string container; // the name before '<' ("vec", "map", ...), or "string"
    std::vector<ElementDescriptor> arguments; // the element types between the brackets
};

enum class DescriptorError : std::uint8_t {
    Empty,
    TooLong, // longer than a root type field can hold
    UnknownType, // a name that is no element type
    BadPodSize, // "pod" without a size, with leading zeros, 0, or larger than kMaxPodBytes
    TooDeep, // nested deeper than kMaxNesting
    Malformed, // brackets, commas or characters out of place, or text after the end
};

inline constexpr std::uint32_t kMaxPodBytes = 1u << 20;
inline constexpr std::size_t kMaxNesting = 16;
inline constexpr std::size_t kMaxDescriptorBytes = 256;

struct DescriptorFailure {
    DescriptorError error = DescriptorError::Malformed;
    std::size_t position = 0; // byte offset in the descriptor where parsing stopped
};

const char* descriptorErrorMessage(DescriptorError error);

Expected<RootDescriptor, DescriptorFailure> parseRootDescriptor(std::string_view text);

// The element types a container of `kind` stores, checked against the descriptor's shape and the
// header's element sizes: keys (maps and sets) or elements in `key`, map values in `value`.
struct ContainerTypes {
    ElementDescriptor key; // for String: a single Char
    bool hasValue = false;
    ElementDescriptor value;
};
Expected<ContainerTypes, std::string> containerTypes(
    RootKind kind, const RootDescriptor& descriptor, std::uint32_t keySize, std::uint32_t valueSize);

} // namespace commy::shm::detail
