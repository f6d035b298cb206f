#include "canonical_write.h"

#include "envelope.h"

#include <commy/protocol/names.h>

namespace commy::protocol::detail {

namespace {

// A cursor over the frame; every step either matches and advances or fails the whole read.
class Cursor {
public:
    explicit Cursor(QByteArrayView text)
        : m_text(text)
    {
    }

    bool literal(QByteArrayView expected)
    {
        if (!m_text.sliced(m_at).startsWith(expected))
            return false;
        m_at += expected.size();
        return true;
    }

    bool atEnd() const { return m_at == m_text.size(); }

    // The characters up to the next '"', each accepted by `allowed`; the quote is consumed.
    template <class Allowed> std::optional<QByteArrayView> until(Allowed allowed)
    {
        const qsizetype start = m_at;
        while (m_at < m_text.size() && m_text[m_at] != '"') {
            if (!allowed(m_text[m_at]))
                return std::nullopt;
            ++m_at;
        }
        if (m_at == m_text.size())
            return std::nullopt;
        return m_text.sliced(start, m_at++ - start);
    }

    // A JSON integer without sign, exponent or fraction, within the wire range.
    std::optional<qint64> integer(bool allowNegative)
    {
        const bool negative = allowNegative && m_at < m_text.size() && m_text[m_at] == '-';
        if (negative)
            ++m_at;
        const qsizetype start = m_at;
        qint64 value = 0;
        while (m_at < m_text.size() && m_text[m_at] >= '0' && m_text[m_at] <= '9' && m_at - start < 17) {
            value = value * 10 + (m_text[m_at] - '0');
            ++m_at;
        }
        const qsizetype digits = m_at - start;
        // No digits, a leading zero ("007", "-0"), or a number the general reader would see as a double.
        if (digits == 0 || (m_text[start] == '0' && (digits > 1 || negative)) || value > kMaxWireInteger)
            return std::nullopt;
        if (m_at < m_text.size() && (m_text[m_at] == '.' || m_text[m_at] == 'e' || m_text[m_at] == 'E'))
            return std::nullopt;
        return negative ? -value : value;
    }

private:
    QByteArrayView m_text;
    qsizetype m_at = 0;
};

bool isNameChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'
        || c == '-';
}

bool isBase64Char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/'
        || c == '=';
}

std::optional<QString> name(Cursor& cursor)
{
    const auto text = cursor.until(isNameChar);
    if (!text)
        return std::nullopt;
    QString result = QString::fromLatin1(*text);
    if (!isValidName(result))
        return std::nullopt;
    return result;
}

} // namespace

std::optional<RequestFrame> decodeCanonicalWrite(QByteArrayView frame)
{
    Cursor cursor(frame);
    WriteVariable write;
    if (!cursor.literal(R"({"data":{)"))
        return std::nullopt;
    if (cursor.literal(R"("expected_version":)")) {
        const auto version = cursor.integer(false);
        if (!version || !cursor.literal(","))
            return std::nullopt;
        write.expectedVersion = *version;
    }
    if (!cursor.literal(R"("service":")"))
        return std::nullopt;
    auto service = name(cursor);
    if (!service || !cursor.literal(R"(,"tenant":")"))
        return std::nullopt;
    auto tenant = name(cursor);
    if (!tenant || !cursor.literal(R"(,"value":")"))
        return std::nullopt;
    const auto base64 = cursor.until(isBase64Char);
    if (!base64 || base64->size() % 4 != 0 || !cursor.literal(R"(,"variable":")"))
        return std::nullopt;
    auto variable = name(cursor);
    if (!variable || !cursor.literal(R"(},"id":)"))
        return std::nullopt;

    std::optional<RequestId> id;
    if (cursor.literal("\"")) {
        const auto text = cursor.until(isNameChar);
        if (!text || text->isEmpty() || text->size() > kMaxIdLength)
            return std::nullopt;
        id = RequestId(QString::fromLatin1(*text));
    } else if (const auto number = cursor.integer(true)) {
        id = RequestId(*number);
    } else {
        return std::nullopt;
    }
    if (!cursor.literal(R"(,"type":"WriteVariable"})") || !cursor.atEnd())
        return std::nullopt;

    auto decoded = QByteArray::fromBase64Encoding(base64->toByteArray(), QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded)
        return std::nullopt;
    write.tenant = std::move(*tenant);
    write.service = std::move(*service);
    write.variable = std::move(*variable);
    write.value = std::move(decoded.decoded);
    return RequestFrame { std::move(*id), Request(std::move(write)) };
}

} // namespace commy::protocol::detail
