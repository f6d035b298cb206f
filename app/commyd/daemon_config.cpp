#include "daemon_config.h"

namespace commy::commyd {

namespace {

template <class T> std::optional<T> either(const std::optional<T>& first, const std::optional<T>& second)
{
    return first ? first : second;
}

} // namespace

ConfigValues merge(const ConfigValues& commandLine, const ConfigValues& file)
{
    ConfigValues merged;
    merged.listen = either(commandLine.listen, file.listen);
    merged.dataDir = either(commandLine.dataDir, file.dataDir);
    merged.tlsCert = either(commandLine.tlsCert, file.tlsCert);
    merged.tlsKey = either(commandLine.tlsKey, file.tlsKey);
    merged.maxMessageBytes = either(commandLine.maxMessageBytes, file.maxMessageBytes);
    merged.idleTimeoutMs = either(commandLine.idleTimeoutMs, file.idleTimeoutMs);
    merged.tokenTtlS = either(commandLine.tokenTtlS, file.tokenTtlS);
    return merged;
}

Expected<DaemonConfig, QString> toDaemonConfig(const ConfigValues& values)
{
    DaemonConfig config;
    if (!values.listen)
        return unexpected(QStringLiteral("--listen HOST:PORT is required (or \"listen\" in the config file)"));
    auto listen = parseListenAddress(*values.listen);
    if (!listen)
        return unexpected(listen.error());
    config.listen = *listen;

    if (!values.dataDir || values.dataDir->isEmpty())
        return unexpected(QStringLiteral("--data-dir DIR is required (or \"data_dir\" in the config file)"));
    config.dataDir = *values.dataDir;

    config.tlsCert = values.tlsCert.value_or(QString());
    config.tlsKey = values.tlsKey.value_or(QString());
    if (config.tlsCert.isEmpty() != config.tlsKey.isEmpty())
        return unexpected(QStringLiteral("TLS needs both --tls-cert and --tls-key"));

    // The file reader checks ranges; these are for values that did not come through it.
    const qint64 maxMessageBytes = values.maxMessageBytes.value_or(config.maxMessageBytes);
    if (maxMessageBytes < kMinMessageBytes || maxMessageBytes > kMaxMessageBytes)
        return unexpected(QStringLiteral("max_message_bytes is out of range"));
    config.maxMessageBytes = maxMessageBytes;
    const qint64 idleTimeoutMs = values.idleTimeoutMs.value_or(config.idleTimeoutMs);
    if (idleTimeoutMs < 0 || idleTimeoutMs > kMaxIdleTimeoutMs)
        return unexpected(QStringLiteral("idle_timeout_ms is out of range"));
    config.idleTimeoutMs = int(idleTimeoutMs);
    const qint64 tokenTtlS = values.tokenTtlS.value_or(config.tokenTtlS);
    if (tokenTtlS < 1 || tokenTtlS > kMaxTokenTtlS)
        return unexpected(QStringLiteral("token_ttl_s is out of range"));
    config.tokenTtlS = tokenTtlS;
    return config;
}

} // namespace commy::commyd
