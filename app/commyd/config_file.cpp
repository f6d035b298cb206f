#include "config_file.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cmath>

namespace commy::commyd {

namespace {

struct Reader {
    QString path;
    QJsonObject object;
    QString error; // the first problem found

    void fail(const QString& message)
    {
        if (error.isEmpty())
            error = QStringLiteral("config file %1: %2").arg(path, message);
    }

    std::optional<QString> text(const char* key)
    {
        const QJsonValue value = object.value(QLatin1String(key));
        if (value.isUndefined())
            return std::nullopt;
        if (!value.isString() || value.toString().isEmpty()) {
            fail(QStringLiteral("\"%1\" must be a non-empty string").arg(QLatin1String(key)));
            return std::nullopt;
        }
        return value.toString();
    }

    // A path relative to the file's folder.
    std::optional<QString> filePath(const char* key)
    {
        const std::optional<QString> value = text(key);
        if (!value)
            return std::nullopt;
        return QDir(QFileInfo(path).absolutePath()).filePath(*value);
    }

    std::optional<qint64> integer(const char* key, qint64 min, qint64 max)
    {
        const QJsonValue value = object.value(QLatin1String(key));
        if (value.isUndefined())
            return std::nullopt;
        const double number = value.toDouble(std::nan(""));
        // Compared as doubles first: a huge number must not be converted to an integer at all.
        if (!value.isDouble() || std::floor(number) != number || number < double(min) || number > double(max)) {
            fail(QStringLiteral("\"%1\" must be an integer from %2 to %3").arg(QLatin1String(key)).arg(min).arg(max));
            return std::nullopt;
        }
        return qint64(number);
    }
};

const char* const kKeys[]
    = { "listen", "data_dir", "tls_cert", "tls_key", "max_message_bytes", "idle_timeout_ms", "token_ttl_s" };

} // namespace

Expected<ConfigValues, QString> readConfigFile(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return unexpected(QStringLiteral("cannot read config file %1: %2").arg(path, file.errorString()));
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(file.readAll(), &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return unexpected(QStringLiteral("config file %1 is not valid JSON: %2 at offset %3")
                              .arg(path, parseError.errorString())
                              .arg(parseError.offset));
    if (!document.isObject())
        return unexpected(QStringLiteral("config file %1 must hold a JSON object").arg(path));

    Reader reader { path, document.object(), {} };
    for (auto it = reader.object.constBegin(); it != reader.object.constEnd(); ++it) {
        if (std::find_if(
                std::begin(kKeys), std::end(kKeys), [&](const char* key) { return it.key() == QLatin1String(key); })
            == std::end(kKeys))
            reader.fail(QStringLiteral("unknown key \"%1\"").arg(it.key()));
    }

    ConfigValues values;
    values.listen = reader.text("listen");
    values.dataDir = reader.filePath("data_dir");
    values.tlsCert = reader.filePath("tls_cert");
    values.tlsKey = reader.filePath("tls_key");
    values.maxMessageBytes = reader.integer("max_message_bytes", kMinMessageBytes, kMaxMessageBytes);
    values.idleTimeoutMs = reader.integer("idle_timeout_ms", 0, kMaxIdleTimeoutMs);
    values.tokenTtlS = reader.integer("token_ttl_s", 1, kMaxTokenTtlS);
    if (!reader.error.isEmpty())
        return unexpected(reader.error);
    return values;
}

} // namespace commy::commyd
