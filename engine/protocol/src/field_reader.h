#pragma once

// Reads the fields of one JSON object with the protocol's validation rules. The first problem is
// kept (naming the field) and every later read is a no-op, so a message's reader is a flat list of
// reads followed by finish(), which also rejects fields the message does not have.

#include <commy/protocol/messages.h>

#include <QJsonArray>
#include <QJsonObject>
#include <QString>
#include <QVarLengthArray>

#include <optional>
#include <vector>

namespace commy::protocol::detail {

inline constexpr qsizetype kMaxSecretLength = 4096; // keys, passwords, tokens
inline constexpr qsizetype kMaxLabelLength = 128; // client and key names, user names

class FieldReader {
public:
    explicit FieldReader(QJsonObject object);

    // Required fields return an empty value after a failure; check failed() at the end.
    QString name(QLatin1StringView key);
    std::optional<QString> optionalName(QLatin1StringView key);
    QString text(QLatin1StringView key, qsizetype maxLength) { return text(key, 1, maxLength); }
    QString text(QLatin1StringView key, qsizetype minLength, qsizetype maxLength);
    std::optional<QString> optionalText(QLatin1StringView key, qsizetype maxLength);
    QByteArray bytes(QLatin1StringView key);
    qint64 integer(QLatin1StringView key, qint64 minimum, qint64 maximum = kMaxWireInteger);
    std::optional<qint64> optionalInteger(QLatin1StringView key, qint64 minimum, qint64 maximum = kMaxWireInteger);
    // A finite JSON number in [minimum, maximum].
    double number(QLatin1StringView key, double minimum, double maximum);
    bool boolean(QLatin1StringView key);
    std::optional<bool> optionalBool(QLatin1StringView key);
    // Any JSON value, null included.
    QJsonValue value(QLatin1StringView key);
    std::optional<QJsonValue> optionalValue(QLatin1StringView key);
    std::vector<QString> nameList(QLatin1StringView key);
    std::optional<std::vector<QString>> optionalNameList(QLatin1StringView key);
    // Non-empty and distinct; server_admin only where a server-level credential may hold it.
    enum class ServerAdmin { Refused, Allowed };
    std::vector<Scope> scopes(QLatin1StringView key, ServerAdmin serverAdmin = ServerAdmin::Refused);
    // A required array of objects, each read by readItem(FieldReader&, T&) and then finish()ed.
    template <class T, class ReadItem> std::vector<T> list(QLatin1StringView key, ReadItem readItem);
    // A required object, read by readItem(FieldReader&, T&) and then finish()ed.
    template <class T, class ReadItem> T object(QLatin1StringView key, ReadItem readItem);

    // Records a problem with `key` unless an earlier one is already recorded.
    void fail(QLatin1StringView key, const QString& problem);
    void finish();
    bool failed() const { return !m_error.isEmpty(); }
    const QString& error() const { return m_error; }

private:
    // The value of `key`, or nothing (and a failure if `required`) when absent.
    std::optional<QJsonValue> take(QLatin1StringView key, bool required);

    QJsonObject m_object;
    // The fields read so far; a message has a handful, so a list beats a hash (decoding a page of
    // 100000 blocks reads 400000 fields).
    QVarLengthArray<QLatin1StringView, 16> m_known;
    QString m_error;
};

template <class T, class ReadItem> std::vector<T> FieldReader::list(QLatin1StringView key, ReadItem readItem)
{
    const auto value = take(key, true);
    if (!value)
        return {};
    if (!value->isArray()) {
        fail(key, QStringLiteral("must be an array of objects"));
        return {};
    }
    const QJsonArray array = value->toArray();
    std::vector<T> items;
    items.reserve(std::size_t(array.size()));
    for (qsizetype i = 0; i < array.size(); ++i) {
        if (!array[i].isObject()) {
            fail(key, QStringLiteral("item %1 is not an object").arg(i));
            return {};
        }
        FieldReader itemReader(array[i].toObject());
        T item {};
        readItem(itemReader, item);
        itemReader.finish();
        if (itemReader.failed()) {
            fail(key, QStringLiteral("item %1: %2").arg(i).arg(itemReader.error()));
            return {};
        }
        items.push_back(std::move(item));
    }
    return items;
}

template <class T, class ReadItem> T FieldReader::object(QLatin1StringView key, ReadItem readItem)
{
    const auto value = take(key, true);
    if (!value)
        return {};
    if (!value->isObject()) {
        fail(key, QStringLiteral("must be an object"));
        return {};
    }
    FieldReader itemReader(value->toObject());
    T item {};
    readItem(itemReader, item);
    itemReader.finish();
    if (itemReader.failed()) {
        fail(key, itemReader.error());
        return {};
    }
    return item;
}

// A JSON number holding an integer in [-kMaxWireInteger, kMaxWireInteger].
std::optional<qint64> wireInteger(const QJsonValue& value);

} // namespace commy::protocol::detail
