#pragma once

// The configuration file: one JSON object with the keys listen, data_dir, tls_cert, tls_key,
// max_message_bytes, idle_timeout_ms and token_ttl_s (all optional). Any other key is an error, so a
// misspelt setting is never silently ignored. Relative paths are taken from the file's folder.

#include "daemon_config.h"

namespace commy::commyd {

Expected<ConfigValues, QString> readConfigFile(const QString& path);

} // namespace commy::commyd
