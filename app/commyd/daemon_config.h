#pragma once

// commyd's settings: what one source (the command line or the configuration file) says, and the
// checked result of both, where the command line wins.

#include "listen_address.h"

#include <commy/shm/expected.h>

#include <QString>

#include <optional>

namespace commy::commyd {

struct ConfigValues {
    std::optional<QString> listen; // HOST:PORT
    std::optional<QString> dataDir;
    std::optional<QString> tlsCert;
    std::optional<QString> tlsKey;
    std::optional<qint64> maxMessageBytes;
    std::optional<qint64> idleTimeoutMs; // 0: never
    std::optional<qint64> tokenTtlS;
};

// The accepted ranges, shared by the file reader and the checks.
inline constexpr qint64 kMinMessageBytes = 1024;
inline constexpr qint64 kMaxMessageBytes = qint64(1) << 30;
inline constexpr qint64 kMaxIdleTimeoutMs = 24LL * 60 * 60 * 1000;
inline constexpr qint64 kMaxTokenTtlS = 365LL * 24 * 60 * 60;

struct DaemonConfig {
    ListenAddress listen;
    QString dataDir;
    QString tlsCert; // both set, or both empty
    QString tlsKey;
    qint64 maxMessageBytes = 1 << 20;
    int idleTimeoutMs = 60'000;
    qint64 tokenTtlS = 60 * 60;
};

// Each field from `commandLine` if set there, else from `file`.
ConfigValues merge(const ConfigValues& commandLine, const ConfigValues& file);

// Checks the merged values: listen and data_dir are required, TLS files come in pairs.
Expected<DaemonConfig, QString> toDaemonConfig(const ConfigValues& values);

} // namespace commy::commyd
