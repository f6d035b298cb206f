#pragma once

// Reads the fields of one JSON object with the protocol's validation rules. The first problem is
// kept (naming the field) and every later read is a no-op, so a message's reader is a flat list of
// reads followed by finish(), which also rejects fields the message does not have.

#include <commy/protocol/messages.h>

#include <QJsonObject>
#include <QSet>
#include <QString>

#include <optional>
#include <vector>

namespace commy::protocol::detail {

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
    std::optional<qint64> optionalInteger(QLatin1StringView key, qint64 minimum);
    std::optional<std::vector<QString>> optionalNameList(QLatin1StringView key);
    std::vector<Scope> scopes(QLatin1StringView key);

    // Records a problem with `key` unless an earlier one is already recorded.
    void fail(QLatin1StringView key, const QString& problem);
    void finish();
    bool failed() const { return !m_error.isEmpty(); }
    const QString& error() const { return m_error; }

private:
    // The value of `key`, or nothing (and a failure if `required`) when absent.
    std::optional<QJsonValue> take(QLatin1StringView key, bool required);

    QJsonObject m_object;
    QSet<QString> m_known;
    QString m_error;
};

// A JSON number holding an integer in [-kMaxWireInteger, kMaxWireInteger].
std::optional<qint64> wireInteger(const QJsonValue& value);

} // namespace commy::protocol::detail
