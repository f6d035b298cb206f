#include <commy/shm/container_reader.h>

#include "container_kinds.h"
#include "descriptor.h"

#include <commy/shm/container_format.h>
#include <commy/shm/container_txn.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <optional>

namespace commy::shm {

namespace detail {

// One decoded value, rendered to text or JSON afterwards.
struct Value {
    enum class Type : std::uint8_t { Signed, Unsigned, Float, Bool, Char, Hex, Text, List };
    Type type = Type::Unsigned;
    std::int64_t signedValue = 0;
    std::uint64_t unsignedValue = 0; // also Bool
    double floatValue = 0;
    bool single = false; // an f32: printed in its own shortest form
    std::string bytes; // Char, Hex, Text
    std::vector<Value> items; // List
    bool truncated = false; // a list or text cut short
};

struct ReadElement {
    std::uint64_t index = 0;
    bool hasKey = false;
    Value key;
    Value value;
};

struct ReadResult {
    ContainerSummary summary;
    std::vector<ReadElement> elements;
};

} // namespace detail

namespace {

using detail::ContainerTxn;
using detail::ElementType;
using detail::knownKind;
using detail::load;
using detail::TypeNode;
using detail::Value;
using format::ContainerHeader;
using format::VecBody;

// ---- decoding ----

RegionExpected<Value> decodeValue(
    const ContainerTxn& txn, const std::vector<TypeNode>& chain, std::size_t level, std::uint64_t at)
{
    const TypeNode& node = chain[level];
    const void* p = txn.at(at, node.bytes);
    if (!p)
        return unexpected(RegionError::Corrupt);
    Value v;
    switch (node.type) {
    case ElementType::I8:
        v.type = Value::Type::Signed;
        v.signedValue = load<std::int8_t>(p);
        break;
    case ElementType::I16:
        v.type = Value::Type::Signed;
        v.signedValue = load<std::int16_t>(p);
        break;
    case ElementType::I32:
        v.type = Value::Type::Signed;
        v.signedValue = load<std::int32_t>(p);
        break;
    case ElementType::I64:
        v.type = Value::Type::Signed;
        v.signedValue = load<std::int64_t>(p);
        break;
    case ElementType::U8:
        v.unsignedValue = load<std::uint8_t>(p);
        break;
    case ElementType::U16:
        v.unsignedValue = load<std::uint16_t>(p);
        break;
    case ElementType::U32:
        v.unsignedValue = load<std::uint32_t>(p);
        break;
    case ElementType::U64:
        v.unsignedValue = load<std::uint64_t>(p);
        break;
    case ElementType::F32:
        v.type = Value::Type::Float;
        v.floatValue = load<float>(p);
        v.single = true;
        break;
    case ElementType::F64:
        v.type = Value::Type::Float;
        v.floatValue = load<double>(p);
        break;
    case ElementType::Bool:
        // Read as a byte: a stored bool other than 0 or 1 must not be undefined behaviour here.
        v.type = Value::Type::Bool;
        v.unsignedValue = load<std::uint8_t>(p) != 0 ? 1 : 0;
        break;
    case ElementType::Char:
        v.type = Value::Type::Char;
        v.bytes.assign(static_cast<const char*>(p), 1);
        break;
    case ElementType::Pod: {
        v.type = Value::Type::Hex;
        const std::uint64_t shown = std::min<std::uint64_t>(node.bytes, kMaxTextBytes);
        v.bytes.assign(static_cast<const char*>(p), shown);
        v.truncated = shown < node.bytes;
        break;
    }
    case ElementType::String: {
        v.type = Value::Type::Text;
        const auto body = load<VecBody>(p);
        if (body.length > body.capacity)
            return unexpected(RegionError::Corrupt);
        const std::uint64_t shown = std::min(body.length, kMaxTextBytes);
        if (shown > 0) {
            const void* text = txn.at(body.data, shown);
            if (!text)
                return unexpected(RegionError::Corrupt);
            v.bytes.assign(static_cast<const char*>(text), shown);
        }
        v.truncated = shown < body.length;
        break;
    }
    case ElementType::Vec: {
        v.type = Value::Type::List;
        const auto body = load<VecBody>(p);
        if (body.length > body.capacity)
            return unexpected(RegionError::Corrupt);
        const std::uint64_t itemBytes = chain[level + 1].bytes;
        const std::uint64_t shown = std::min(body.length, kMaxListItems);
        if (shown > 0 && body.data > ~std::uint64_t { 0 } - shown * itemBytes)
            return unexpected(RegionError::Corrupt);
        for (std::uint64_t i = 0; i < shown; ++i) {
            auto item = decodeValue(txn, chain, level + 1, body.data + i * itemBytes);
            if (!item)
                return item;
            v.items.push_back(std::move(*item));
        }
        v.truncated = shown < body.length;
        break;
    }
    }
    return v;
}

// ---- rendering ----

const char* const kEllipsis = "\xe2\x80\xa6"; // "…"

// Length of the valid UTF-8 sequence starting at `at` (a byte >= 0x80), or 0 when there is none.
std::size_t utf8SequenceLength(std::string_view bytes, std::size_t at)
{
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
    const unsigned char c = byte(at);
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xbf; // the allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
        length = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        length = 3;
        if (c == 0xe0)
            low = 0xa0; // no overlong forms
        if (c == 0xed)
            high = 0x9f; // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
        length = 4;
        if (c == 0xf0)
            low = 0x90;
        if (c == 0xf4)
            high = 0x8f; // nothing above U+10FFFF
    } else {
        return 0;
    }
    if (bytes.size() - at < length || byte(at + 1) < low || byte(at + 1) > high)
        return 0;
    for (std::size_t i = 2; i < length; ++i) {
        if (byte(at + i) < 0x80 || byte(at + i) > 0xbf)
            return 0;
    }
    return length;
}

void appendHexByte(std::string& out, unsigned char c)
{
    static const char digits[] = "0123456789abcdef";
    out += digits[c >> 4];
    out += digits[c & 15];
}

enum class Escapes { Text, Json };

// Appends `bytes` escaped for a string quoted by `quote`: backslash escapes for the quote, the
// backslash, \n, \t and \r; printable ASCII and valid UTF-8 as they are. Other control bytes
// become \xNN in text and \u00NN in JSON; bytes that are not UTF-8 become \xNN in text and
// U+FFFD in JSON (JSON text must be Unicode).
void appendEscaped(std::string& out, std::string_view bytes, char quote, Escapes escapes)
{
    const bool json = escapes == Escapes::Json;
    for (std::size_t i = 0; i < bytes.size();) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c == '\\' || c == static_cast<unsigned char>(quote)) {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c < 0x20 || c == 0x7f) {
            out += json ? "\\u00" : "\\x";
            appendHexByte(out, c);
        } else if (c < 0x80) {
            out += static_cast<char>(c);
        } else if (const std::size_t length = utf8SequenceLength(bytes, i); length > 0) {
            out.append(bytes.substr(i, length));
            i += length;
            continue;
        } else if (json) {
            out += "\xef\xbf\xbd"; // U+FFFD
        } else {
            out += "\\x";
            appendHexByte(out, c);
        }
        ++i;
    }
}

void appendQuoted(std::string& out, std::string_view bytes, char quote)
{
    out += quote;
    appendEscaped(out, bytes, quote, Escapes::Text);
    out += quote;
}

void appendJsonString(std::string& out, std::string_view bytes, bool truncated = false)
{
    out += '"';
    appendEscaped(out, bytes, '"', Escapes::Json);
    if (truncated)
        out += kEllipsis;
    out += '"';
}

void appendFloat(std::string& out, const Value& v)
{
    if (std::isnan(v.floatValue)) {
        out += "nan";
        return;
    }
    if (std::isinf(v.floatValue)) {
        out += v.floatValue < 0 ? "-inf" : "inf";
        return;
    }
    char buffer[64];
    const auto result = v.single ? std::to_chars(buffer, buffer + sizeof buffer, static_cast<float>(v.floatValue))
                                 : std::to_chars(buffer, buffer + sizeof buffer, v.floatValue);
    out.append(buffer, result.ptr);
}

void appendHex(std::string& out, std::string_view bytes)
{
    for (const char c : bytes)
        appendHexByte(out, static_cast<unsigned char>(c));
}

void renderText(std::string& out, const Value& v)
{
    switch (v.type) {
    case Value::Type::Signed:
        out += std::to_string(v.signedValue);
        break;
    case Value::Type::Unsigned:
        out += std::to_string(v.unsignedValue);
        break;
    case Value::Type::Float:
        appendFloat(out, v);
        break;
    case Value::Type::Bool:
        out += v.unsignedValue ? "true" : "false";
        break;
    case Value::Type::Char:
        appendQuoted(out, v.bytes, '\'');
        break;
    case Value::Type::Hex:
        appendHex(out, v.bytes);
        if (v.truncated)
            out += kEllipsis;
        break;
    case Value::Type::Text:
        appendQuoted(out, v.bytes, '"');
        if (v.truncated)
            out += kEllipsis;
        break;
    case Value::Type::List:
        out += '[';
        for (std::size_t i = 0; i < v.items.size(); ++i) {
            if (i > 0)
                out += ", ";
            renderText(out, v.items[i]);
        }
        if (v.truncated)
            out += v.items.empty() ? kEllipsis : std::string(", ") + kEllipsis;
        out += ']';
        break;
    }
}

void renderJson(std::string& out, const Value& v)
{
    switch (v.type) {
    case Value::Type::Signed:
        out += std::to_string(v.signedValue);
        break;
    case Value::Type::Unsigned:
        out += std::to_string(v.unsignedValue);
        break;
    case Value::Type::Float:
        if (std::isfinite(v.floatValue)) {
            appendFloat(out, v);
        } else {
            out += '"';
            appendFloat(out, v);
            out += '"';
        }
        break;
    case Value::Type::Bool:
        out += v.unsignedValue ? "true" : "false";
        break;
    case Value::Type::Char:
    case Value::Type::Text:
        appendJsonString(out, v.bytes, v.truncated);
        break;
    case Value::Type::Hex: {
        std::string hex;
        appendHex(hex, v.bytes);
        appendJsonString(out, hex, v.truncated);
        break;
    }
    case Value::Type::List:
        out += '[';
        for (std::size_t i = 0; i < v.items.size(); ++i) {
            if (i > 0)
                out += ',';
            renderJson(out, v.items[i]);
        }
        if (v.truncated) {
            if (!v.items.empty())
                out += ',';
            appendJsonString(out, kEllipsis);
        }
        out += ']';
        break;
    }
}

std::string textOf(const Value& v)
{
    std::string out;
    renderText(out, v);
    return out;
}

} // namespace

const char* rootKindName(RootKind kind)
{
    switch (kind) {
    case RootKind::Bytes:
        return "bytes";
    case RootKind::Vec:
        return "vec";
    case RootKind::String:
        return "string";
    case RootKind::Box:
        return "box";
    case RootKind::HashMap:
        return "hashmap";
    case RootKind::HashSet:
        return "hashset";
    case RootKind::BTreeMap:
        return "btreemap";
    case RootKind::BTreeSet:
        return "btreeset";
    case RootKind::VecDeque:
        return "vecdeque";
    }
    return "unknown";
}

// ---- ContainerReader ----

RegionExpected<ContainerReader> ContainerReader::open(Region& region, std::string_view rootName)
{
    auto root = region.findRoot(rootName);
    if (!root)
        return unexpected(root.error());
    if (root->kind == RootKind::Bytes)
        return unexpected(RegionError::TypeMismatch);
    if (!knownKind(root->kind))
        return unexpected(RegionError::Corrupt);
    auto ref = detail::ContainerRef::attachAny(region, rootName);
    if (!ref)
        return unexpected(ref.error());
    auto parsed = detail::parseRootDescriptor(root->type);
    if (!parsed)
        return unexpected(RegionError::Corrupt);
    const ContainerHeader* h = ref->header();
    if (!h)
        return unexpected(RegionError::Corrupt);
    auto types = detail::containerTypes(root->kind, *parsed, h->keySize, h->valueSize);
    if (!types)
        return unexpected(RegionError::Corrupt);
    if (!detail::walkerFor(root->kind))
        return unexpected(RegionError::TypeMismatch);
    ContainerReader reader;
    reader.m_region = &region;
    reader.m_name = std::string(rootName);
    reader.m_descriptor = root->type;
    reader.m_kind = root->kind;
    reader.m_offset = root->offset;
    reader.m_types = std::make_shared<const detail::ContainerTypes>(std::move(*types));
    return reader;
}

RegionExpected<void> ContainerReader::read(std::uint64_t offset, std::uint64_t limit, detail::ReadResult& result) const
{
    Region& region = *m_region;
    // The root may have been destroyed, or replaced by another container, since open().
    auto root = region.findRoot(m_name);
    if (!root)
        return unexpected(root.error());
    if (root->offset != m_offset || root->kind != m_kind || root->type != m_descriptor)
        return unexpected(RegionError::RootNotFound);
    const detail::ContainerRef ref(region, m_offset);
    ContainerHeader* unlocked = ref.header();
    if (!unlocked)
        return unexpected(RegionError::Corrupt);
    // Read before taking the lock, which makes this process the holder.
    const std::uint64_t holder = std::atomic_ref<std::uint64_t>(unlocked->holderPid).load(std::memory_order_relaxed);

    auto txn = ContainerTxn::begin(ref);
    if (!txn)
        return unexpected(txn.error());
    const detail::ContainerTypes& types = *m_types;
    const ContainerHeader& h = txn->header();
    if (h.magic != format::kContainerMagic || h.kind != static_cast<std::uint32_t>(m_kind)
        || h.keySize != types.key.storedBytes() || h.valueSize != (types.hasValue ? types.value.storedBytes() : 0))
        return unexpected(RegionError::Corrupt);
    const detail::KindWalker* walker = detail::walkerFor(m_kind);
    auto length = walker->length(*txn);
    if (!length)
        return unexpected(length.error());

    ContainerSummary& s = result.summary;
    s.name = m_name;
    s.kind = m_kind;
    s.kindName = rootKindName(m_kind);
    s.descriptor = m_descriptor;
    s.keyType = types.hasValue ? types.key.text : std::string();
    s.valueType = m_kind == RootKind::String ? std::string("string")
        : types.hasValue                     ? types.value.text
                                             : types.key.text;
    s.offset = m_offset;
    s.length = *length;
    s.version = h.version;
    s.recoveries = h.recoveries;
    s.lockHolderPid = holder;
    if (limit == 0 || offset >= *length)
        return {};
    const std::uint64_t count = std::min(limit, *length - offset);

    std::optional<RegionError> failure;
    if (m_kind == RootKind::String) {
        // One value: the bytes [offset, offset + count) as text.
        Value text;
        text.type = Value::Type::Text;
        auto walked = walker->visit(*txn, offset, count, [&](std::uint64_t byteAt, std::uint64_t) {
            const auto* c = static_cast<const char*>(txn->at(byteAt, 1));
            if (!c)
                failure = RegionError::Corrupt;
            else if (!failure)
                text.bytes += *c;
        });
        if (!walked)
            return unexpected(walked.error());
        if (failure)
            return unexpected(*failure);
        result.elements.push_back({ offset, false, {}, std::move(text) });
        return {};
    }
    std::uint64_t index = offset;
    auto walked = walker->visit(*txn, offset, count, [&](std::uint64_t keyAt, std::uint64_t valueAt) {
        if (failure)
            return;
        detail::ReadElement element;
        element.index = index++;
        auto key = decodeValue(*txn, types.key.chain, 0, keyAt);
        if (!key) {
            failure = key.error();
            return;
        }
        if (types.hasValue) {
            auto value = decodeValue(*txn, types.value.chain, 0, valueAt);
            if (!value) {
                failure = value.error();
                return;
            }
            element.hasKey = true;
            element.key = std::move(*key);
            element.value = std::move(*value);
        } else {
            element.value = std::move(*key);
        }
        result.elements.push_back(std::move(element));
    });
    if (!walked)
        return unexpected(walked.error());
    if (failure)
        return unexpected(*failure);
    return {};
}

RegionExpected<ContainerSummary> ContainerReader::summary() const
{
    detail::ReadResult result;
    if (auto read = this->read(0, 0, result); !read)
        return unexpected(read.error());
    return std::move(result.summary);
}

RegionExpected<std::vector<DecodedElement>> ContainerReader::elements(std::uint64_t offset, std::uint64_t limit) const
{
    detail::ReadResult result;
    if (auto read = this->read(offset, limit, result); !read)
        return unexpected(read.error());
    std::vector<DecodedElement> decoded;
    decoded.reserve(result.elements.size());
    for (const detail::ReadElement& element : result.elements)
        decoded.push_back({ element.index, element.hasKey, element.hasKey ? textOf(element.key) : std::string(),
            textOf(element.value) });
    return decoded;
}

RegionExpected<std::string> ContainerReader::toJson(std::uint64_t offset, std::uint64_t limit) const
{
    detail::ReadResult result;
    if (auto read = this->read(offset, limit, result); !read)
        return unexpected(read.error());
    const ContainerSummary& s = result.summary;
    std::string out = "{\"name\":";
    appendJsonString(out, s.name);
    out += ",\"kind\":";
    appendJsonString(out, s.kindName);
    out += ",\"descriptor\":";
    appendJsonString(out, s.descriptor);
    out += ",\"keyType\":";
    if (s.keyType.empty())
        out += "null";
    else
        appendJsonString(out, s.keyType);
    out += ",\"valueType\":";
    appendJsonString(out, s.valueType);
    out += ",\"length\":" + std::to_string(s.length);
    out += ",\"version\":" + std::to_string(s.version);
    out += ",\"offset\":" + std::to_string(offset);
    out += ",\"limit\":" + std::to_string(limit);
    out += ",\"elements\":[";
    for (std::size_t i = 0; i < result.elements.size(); ++i) {
        const detail::ReadElement& element = result.elements[i];
        if (i > 0)
            out += ',';
        out += "{\"index\":" + std::to_string(element.index);
        if (element.hasKey) {
            out += ",\"key\":";
            renderJson(out, element.key);
        }
        out += ",\"value\":";
        renderJson(out, element.value);
        out += '}';
    }
    out += "]}";
    return out;
}

} // namespace commy::shm
