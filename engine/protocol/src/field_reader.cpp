#include "field_reader.h"

#include <commy/protocol/names.h>

#include <QJsonArray>

#include <algorithm>
#include <cmath>

namespace commy::protocol::detail {

FieldReader::FieldReader(QJsonObject object)
    : m_object(std::move(object))
{
}

std::optional<QJsonValue> FieldReader::take(QLatin1StringView key, bool required)
{
    if (failed())
        return std::nullopt;
    m_known.append(key);
    const auto it = m_object.constFind(key);
    if (it == m_object.constEnd()) {
        if (required)
            fail(key, QStringLiteral("is missing"));
        return std::nullopt;
    }
    return it.value();
}

void FieldReader::fail(QLatin1StringView key, const QString& problem)
{
    if (!failed())
        m_error = QStringLiteral("field '%1' %2").arg(key, problem);
}

QString FieldReader::name(QLatin1StringView key)
{
    const auto value = take(key, true);
    if (!value)
        return {};
    if (!value->isString()) {
        fail(key, QStringLiteral("must be a string"));
        return {};
    }
    QString text = value->toString();
    if (!isValidName(text)) {
        fail(key, QStringLiteral("is not a valid name ([A-Za-z0-9_.-]{1,64}, not . or ..)"));
        return {};
    }
    return text;
}

std::optional<QString> FieldReader::optionalName(QLatin1StringView key)
{
    if (failed() || !m_object.contains(key)) {
        m_known.append(key);
        return std::nullopt;
    }
    QString text = name(key);
    return failed() ? std::nullopt : std::optional<QString>(std::move(text));
}

QString FieldReader::text(QLatin1StringView key, qsizetype minLength, qsizetype maxLength)
{
    const auto value = take(key, true);
    if (!value)
        return {};
    if (!value->isString()) {
        fail(key, QStringLiteral("must be a string"));
        return {};
    }
    QString result = value->toString();
    if (result.size() < minLength || result.size() > maxLength) {
        fail(key, QStringLiteral("must be %1 to %2 characters long").arg(minLength).arg(maxLength));
        return {};
    }
    return result;
}

std::optional<QString> FieldReader::optionalText(QLatin1StringView key, qsizetype maxLength)
{
    if (failed() || !m_object.contains(key)) {
        m_known.append(key);
        return std::nullopt;
    }
    QString result = text(key, maxLength);
    return failed() ? std::nullopt : std::optional<QString>(std::move(result));
}

QByteArray FieldReader::bytes(QLatin1StringView key)
{
    const auto value = take(key, true);
    if (!value)
        return {};
    if (!value->isString()) {
        fail(key, QStringLiteral("must be a base64 string"));
        return {};
    }
    // Strict: the standard alphabet with padding, nothing else (no whitespace, no URL alphabet).
    const QString text = value->toString();
    bool ascii = text.size() % 4 == 0;
    for (const QChar c : text)
        ascii = ascii && c.unicode() < 0x80;
    if (!ascii) {
        fail(key, QStringLiteral("is not valid base64"));
        return {};
    }
    auto decoded = QByteArray::fromBase64Encoding(text.toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded) {
        fail(key, QStringLiteral("is not valid base64"));
        return {};
    }
    return *std::move(decoded);
}

std::optional<qint64> wireInteger(const QJsonValue& value)
{
    if (!value.isDouble())
        return std::nullopt;
    const double d = value.toDouble();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > double(kMaxWireInteger))
        return std::nullopt;
    return value.toInteger();
}

qint64 FieldReader::integer(QLatin1StringView key, qint64 minimum, qint64 maximum)
{
    if (!failed() && !m_object.contains(key)) {
        fail(key, QStringLiteral("is missing"));
        return 0;
    }
    return optionalInteger(key, minimum, maximum).value_or(0);
}

double FieldReader::number(QLatin1StringView key, double minimum, double maximum)
{
    const auto value = take(key, true);
    if (!value)
        return 0;
    const double d = value->isDouble() ? value->toDouble() : std::nan("");
    if (!std::isfinite(d) || d < minimum || d > maximum) {
        fail(key, QStringLiteral("must be a number from %1 to %2").arg(minimum).arg(maximum));
        return 0;
    }
    return d;
}

bool FieldReader::boolean(QLatin1StringView key)
{
    if (!failed() && !m_object.contains(key)) {
        fail(key, QStringLiteral("is missing"));
        return false;
    }
    return optionalBool(key).value_or(false);
}

std::optional<bool> FieldReader::optionalBool(QLatin1StringView key)
{
    const auto value = take(key, false);
    if (!value)
        return std::nullopt;
    if (!value->isBool()) {
        fail(key, QStringLiteral("must be true or false"));
        return std::nullopt;
    }
    return value->toBool();
}

QJsonValue FieldReader::value(QLatin1StringView key) { return take(key, true).value_or(QJsonValue()); }

std::optional<QJsonValue> FieldReader::optionalValue(QLatin1StringView key) { return take(key, false); }

std::optional<qint64> FieldReader::optionalInteger(QLatin1StringView key, qint64 minimum, qint64 maximum)
{
    const auto value = take(key, false);
    if (!value)
        return std::nullopt;
    const auto number = wireInteger(*value);
    if (!number || *number < minimum || *number > maximum) {
        fail(key, QStringLiteral("must be an integer from %1 to %2").arg(minimum).arg(maximum));
        return std::nullopt;
    }
    return number;
}

std::vector<QString> FieldReader::nameList(QLatin1StringView key)
{
    if (!failed() && !m_object.contains(key)) {
        fail(key, QStringLiteral("is missing"));
        return {};
    }
    return optionalNameList(key).value_or(std::vector<QString>());
}

std::optional<std::vector<QString>> FieldReader::optionalNameList(QLatin1StringView key)
{
    const auto value = take(key, false);
    if (!value)
        return std::nullopt;
    if (!value->isArray()) {
        fail(key, QStringLiteral("must be an array of names"));
        return std::nullopt;
    }
    std::vector<QString> names;
    const QJsonArray array = value->toArray();
    for (const QJsonValue& item : array) {
        if (!item.isString() || !isValidName(item.toString())) {
            fail(key, QStringLiteral("must be an array of valid names ([A-Za-z0-9_.-]{1,64}, not . or ..)"));
            return std::nullopt;
        }
        names.push_back(item.toString());
    }
    return names;
}

std::vector<Scope> FieldReader::scopes(QLatin1StringView key, ServerAdmin serverAdmin)
{
    const auto value = take(key, true);
    if (!value)
        return {};
    const QString expected = serverAdmin == ServerAdmin::Allowed
        ? QStringLiteral("must be a non-empty array of distinct scopes (read, write, subscribe, map, admin, "
                         "server_admin)")
        : QStringLiteral("must be a non-empty array of distinct scopes (read, write, subscribe, map, admin)");
    if (!value->isArray() || value->toArray().isEmpty()) {
        fail(key, expected);
        return {};
    }
    std::vector<Scope> result;
    const QJsonArray array = value->toArray();
    for (const QJsonValue& item : array) {
        const auto scope = item.isString() ? scopeFromName(item.toString()) : std::nullopt;
        // server_admin belongs to server-level keys, never to a tenant's key.
        const bool refused = scope == Scope::ServerAdmin && serverAdmin == ServerAdmin::Refused;
        if (!scope || refused || std::find(result.begin(), result.end(), *scope) != result.end()) {
            fail(key, expected);
            return {};
        }
        result.push_back(*scope);
    }
    return result;
}

void FieldReader::finish()
{
    if (failed())
        return;
    for (auto it = m_object.constBegin(); it != m_object.constEnd(); ++it) {
        if (std::find(m_known.cbegin(), m_known.cend(), it.key()) == m_known.cend()) {
            m_error = QStringLiteral("field '%1' is not part of this message").arg(it.key().left(64));
            return;
        }
    }
}

} // namespace commy::protocol::detail
