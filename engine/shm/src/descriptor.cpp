#include "descriptor.h"

#include <commy/shm/container_format.h>

#include <array>

namespace commy::shm::detail {

namespace {

struct Scalar {
    std::string_view name;
    ElementType type;
    std::uint32_t bytes;
};

constexpr std::array<Scalar, 13> kScalars { {
    { "i8", ElementType::I8, 1 },
    { "i16", ElementType::I16, 2 },
    { "i32", ElementType::I32, 4 },
    { "i64", ElementType::I64, 8 },
    { "u8", ElementType::U8, 1 },
    { "u16", ElementType::U16, 2 },
    { "u32", ElementType::U32, 4 },
    { "u64", ElementType::U64, 8 },
    { "f32", ElementType::F32, 4 },
    { "f64", ElementType::F64, 8 },
    { "bool", ElementType::Bool, 1 },
    { "char", ElementType::Char, 1 },
    { "string", ElementType::String, sizeof(format::VecBody) },
} };

bool isNameChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

class Parser {
public:
    explicit Parser(std::string_view text)
        : m_text(text)
    {
    }

    Expected<RootDescriptor, DescriptorFailure> root()
    {
        RootDescriptor result;
        result.container = std::string(name());
        if (result.container.empty())
            return fail(DescriptorError::Malformed);
        if (atEnd()) {
            if (result.container != "string")
                return fail(DescriptorError::Malformed);
            return result;
        }
        if (!take('<'))
            return fail(DescriptorError::Malformed);
        for (;;) {
            const std::size_t begin = m_at;
            ElementDescriptor element;
            if (!this->element(element.chain, 1))
                return unexpected(m_failure);
            element.text = std::string(m_text.substr(begin, m_at - begin));
            result.arguments.push_back(std::move(element));
            if (take(','))
                continue;
            if (!take('>'))
                return fail(DescriptorError::Malformed);
            break;
        }
        if (!atEnd())
            return fail(DescriptorError::Malformed);
        return result;
    }

private:
    bool atEnd() const { return m_at == m_text.size(); }
    bool take(char c)
    {
        if (atEnd() || m_text[m_at] != c)
            return false;
        ++m_at;
        return true;
    }
    std::string_view name()
    {
        const std::size_t begin = m_at;
        while (!atEnd() && isNameChar(m_text[m_at]))
            ++m_at;
        return m_text.substr(begin, m_at - begin);
    }
    Unexpected<DescriptorFailure> fail(DescriptorError error) const
    {
        return unexpected(DescriptorFailure { error, m_at });
    }
    bool failWith(DescriptorError error)
    {
        m_failure = { error, m_at };
        return false;
    }

    bool element(std::vector<TypeNode>& chain, std::size_t depth)
    {
        if (depth > kMaxNesting)
            return failWith(DescriptorError::TooDeep);
        const std::size_t begin = m_at;
        const std::string_view word = name();
        if (word.empty())
            return failWith(DescriptorError::Malformed);
        if (word == "vec") {
            chain.push_back({ ElementType::Vec, sizeof(format::VecBody) });
            if (!take('<'))
                return failWith(DescriptorError::Malformed);
            if (!element(chain, depth + 1))
                return false;
            return take('>') || failWith(DescriptorError::Malformed);
        }
        for (const Scalar& scalar : kScalars) {
            if (word == scalar.name) {
                chain.push_back({ scalar.type, scalar.bytes });
                return true;
            }
        }
        if (word.size() > 3 && word.substr(0, 3) == "pod") {
            const std::string_view digits = word.substr(3);
            std::uint64_t bytes = 0;
            for (const char c : digits) {
                if (c < '0' || c > '9' || bytes > kMaxPodBytes) {
                    m_at = begin;
                    return failWith(DescriptorError::BadPodSize);
                }
                bytes = bytes * 10 + static_cast<std::uint64_t>(c - '0');
            }
            if (digits[0] == '0' || bytes == 0 || bytes > kMaxPodBytes) {
                m_at = begin;
                return failWith(DescriptorError::BadPodSize);
            }
            chain.push_back({ ElementType::Pod, static_cast<std::uint32_t>(bytes) });
            return true;
        }
        m_at = begin;
        return failWith(word == "pod" ? DescriptorError::BadPodSize : DescriptorError::UnknownType);
    }

    std::string_view m_text;
    std::size_t m_at = 0;
    DescriptorFailure m_failure;
};

bool kindHasValues(RootKind kind) { return kind == RootKind::HashMap || kind == RootKind::BTreeMap; }

} // namespace

const char* descriptorErrorMessage(DescriptorError error)
{
    switch (error) {
    case DescriptorError::Empty:
        return "empty type descriptor";
    case DescriptorError::TooLong:
        return "type descriptor too long";
    case DescriptorError::UnknownType:
        return "unknown element type";
    case DescriptorError::BadPodSize:
        return "bad pod size";
    case DescriptorError::TooDeep:
        return "element types nested too deep";
    case DescriptorError::Malformed:
        return "malformed type descriptor";
    }
    return "bad type descriptor";
}

Expected<RootDescriptor, DescriptorFailure> parseRootDescriptor(std::string_view text)
{
    if (text.empty())
        return unexpected(DescriptorFailure { DescriptorError::Empty, 0 });
    if (text.size() > kMaxDescriptorBytes)
        return unexpected(DescriptorFailure { DescriptorError::TooLong, kMaxDescriptorBytes });
    return Parser(text).root();
}

Expected<ContainerTypes, std::string> containerTypes(
    RootKind kind, const RootDescriptor& descriptor, std::uint32_t keySize, std::uint32_t valueSize)
{
    ContainerTypes types;
    if (kind == RootKind::String) {
        if (descriptor.container != "string" || !descriptor.arguments.empty())
            return unexpected(std::string("a string root must have the type \"string\""));
        types.key.chain.push_back({ ElementType::Char, 1 });
        types.key.text = "char";
    } else {
        if (kind == RootKind::Vec && descriptor.container != "vec")
            return unexpected("a vector root's type must start with \"vec<\", not \"" + descriptor.container + "<\"");
        const std::size_t wanted = kindHasValues(kind) ? 2 : 1;
        if (descriptor.arguments.size() != wanted)
            return unexpected("the type names " + std::to_string(descriptor.arguments.size())
                + " element types, the kind needs " + std::to_string(wanted));
        types.key = descriptor.arguments[0];
        if (wanted == 2) {
            types.hasValue = true;
            types.value = descriptor.arguments[1];
        }
    }
    if (types.key.storedBytes() != keySize)
        return unexpected("the header's key size " + std::to_string(keySize) + " does not match " + types.key.text
            + " (" + std::to_string(types.key.storedBytes()) + " bytes)");
    const std::uint32_t expectedValue = types.hasValue ? types.value.storedBytes() : 0;
    if (expectedValue != valueSize)
        return unexpected("the header's value size " + std::to_string(valueSize) + " does not match "
            + (types.hasValue ? types.value.text : std::string("no value")) + " (" + std::to_string(expectedValue)
            + " bytes)");
    return types;
}

} // namespace commy::shm::detail
