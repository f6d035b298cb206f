#pragma once

// Reading any container without its C++ type: tools (commyctl, the monitor) open a container root
// by name and decode its elements from the root's type descriptor alone. Every read takes the
// container's lock, so it sees a committed state; taking the lock first undoes an operation that a
// killed process left half done. Nothing a reader does is committed.
//
// Values decode as: integers and floats as numbers, bool, char, "podN" as hex bytes, strings as
// text and nested vectors as lists. Nested lists and strings are cut after kMaxListItems items and
// kMaxTextBytes bytes, marked with "…". A string root is one value (its bytes [offset,
// offset + limit)); its length is its size in bytes.
//
// In text, strings are quoted with C-style escapes (control characters, DEL and bytes that are not
// UTF-8 become \n, \t, \xNN, ...). In JSON they are JSON strings; bytes that are not UTF-8 become
// U+FFFD. Floats that are not finite are the JSON strings "nan", "inf" and "-inf".

#include <commy/shm/region.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace commy::shm {

namespace detail {
struct ContainerTypes;
struct ReadResult;
}

inline constexpr std::uint64_t kMaxListItems = 32;
inline constexpr std::uint64_t kMaxTextBytes = 1024;

// The kind as tools name it: "bytes", "vec", "string", "box", "hashmap", "hashset", "btreemap",
// "btreeset", "vecdeque"; "unknown" for any other value.
const char* rootKindName(RootKind kind);

struct ContainerSummary {
    std::string name;
    RootKind kind = RootKind::Bytes;
    std::string kindName;
    std::string descriptor; // the root's type, e.g. "vec<i64>"
    std::string keyType; // maps: the key's type; empty otherwise
    std::string valueType; // maps: the value's type; other kinds: the element's type ("string" for a string root)
    std::uint64_t offset = 0; // payload offset of the container's header block
    std::uint64_t length = 0; // elements; bytes for a string root
    std::uint64_t version = 0;
    std::uint64_t recoveries = 0; // operations undone after their process died
    std::uint64_t lockHolderPid = 0; // who held the lock just before this read; 0 when nobody
};

struct DecodedElement {
    std::uint64_t index = 0; // position in the container's order; for a string root, the first byte's
    bool hasKey = false; // maps only
    std::string key; // as text
    std::string value; // as text
};

class ContainerReader {
public:
    // RootNotFound; TypeMismatch when the root is not a container, or a kind this build cannot read;
    // Corrupt when its header or type descriptor is damaged (the descriptor must be one the element
    // traits write, with the element sizes the header records).
    static RegionExpected<ContainerReader> open(Region& region, std::string_view rootName);

    RegionExpected<ContainerSummary> summary() const;
    // Elements [offset, offset + limit) in the container's order; fewer at the end.
    RegionExpected<std::vector<DecodedElement>> elements(std::uint64_t offset, std::uint64_t limit) const;
    // {"name","kind","descriptor","keyType","valueType","length","version","offset","limit",
    //  "elements":[{"index","key","value"}]} with keys and values as JSON values ("key" for maps only).
    RegionExpected<std::string> toJson(std::uint64_t offset, std::uint64_t limit) const;

private:
    ContainerReader() = default;
    RegionExpected<void> read(std::uint64_t offset, std::uint64_t limit, detail::ReadResult& result) const;

    Region* m_region = nullptr;
    std::string m_name;
    std::string m_descriptor;
    RootKind m_kind = RootKind::Bytes;
    std::uint64_t m_offset = 0;
    std::shared_ptr<const detail::ContainerTypes> m_types;
};

// A container-level consistency check: the header (magic, kind, element sizes against the type
// descriptor), the undo journal's bounds, the kind's structure (counts, bounds, order, balance),
// and every block the container owns, nested strings and vectors included: each must be a live,
// published block large enough for what refers to it, and owned only once. Taking the lock first
// recovers an operation a killed process left half done (that is a write). The report's error is
// Corrupt for an inconsistency, or RootNotFound / TypeMismatch / LockTimeout when the check could
// not run.
Expected<void, CorruptionReport> checkContainer(Region& region, std::string_view name);

// Payload offsets of every block the container owns, in ascending order: its header, its undo
// journal, its arrays / table / nodes, and the blocks of nested strings and vectors. Freeing the
// container frees exactly these. Corrupt when the check above would fail on a block.
RegionExpected<std::vector<std::uint64_t>> containerBlocks(Region& region, std::string_view name);

} // namespace commy::shm
