#pragma once

// The envelope {"type", "id", "data"} shared by requests and server frames: parsing the JSON object
// and reading the id, with the same rules in both directions.

#include <commy/protocol/messages.h>
#include <commy/shm/expected.h>

#include <QByteArrayView>
#include <QJsonObject>
#include <QJsonValue>

#include <initializer_list>
#include <optional>

namespace commy::protocol::detail {

inline constexpr qsizetype kMaxIdLength = 128; // string request ids

// The frame as a JSON object, or why it is not one.
Expected<QJsonObject, QString> parseEnvelope(QByteArrayView frame);

// A string of 1 to kMaxIdLength characters or a wire integer; anything else is no id.
std::optional<RequestId> requestId(const QJsonValue& value);
QString idProblem(const QJsonValue& value);

// The first field of `envelope` not in `allowed`, if any.
std::optional<QString> unknownField(const QJsonObject& envelope, std::initializer_list<QLatin1StringView> allowed);

QJsonValue idValue(const RequestId& id);

} // namespace commy::protocol::detail
