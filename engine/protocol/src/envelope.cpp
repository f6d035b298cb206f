#include "envelope.h"

#include "field_reader.h"

#include <QJsonDocument>
#include <QJsonParseError>

#include <algorithm>

namespace commy::protocol::detail {

Expected<QJsonObject, QString> parseEnvelope(QByteArrayView frame)
{
    QJsonParseError parseError {};
    const QJsonDocument document = QJsonDocument::fromJson(frame.toByteArray(), &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return unexpected(QStringLiteral("frame is not valid JSON: %1").arg(parseError.errorString()));
    if (!document.isObject())
        return unexpected(QStringLiteral("frame is not a JSON object"));
    return document.object();
}

std::optional<RequestId> requestId(const QJsonValue& value)
{
    if (value.isString() && !value.toString().isEmpty() && value.toString().size() <= kMaxIdLength)
        return RequestId(value.toString());
    if (const auto number = wireInteger(value))
        return RequestId(*number);
    return std::nullopt;
}

QString idProblem(const QJsonValue& value)
{
    if (value.isUndefined())
        return QStringLiteral("field 'id' is missing");
    return QStringLiteral("field 'id' must be a string of 1 to %1 characters or an integer").arg(kMaxIdLength);
}

std::optional<QString> unknownField(const QJsonObject& envelope, std::initializer_list<QLatin1StringView> allowed)
{
    for (auto it = envelope.constBegin(); it != envelope.constEnd(); ++it) {
        const QString name = it.key();
        if (std::none_of(allowed.begin(), allowed.end(), [&name](QLatin1StringView known) { return name == known; }))
            return name;
    }
    return std::nullopt;
}

QJsonValue idValue(const RequestId& id)
{
    return std::visit([](const auto& value) { return QJsonValue(value); }, id);
}

} // namespace commy::protocol::detail
