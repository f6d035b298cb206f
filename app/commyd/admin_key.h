#pragma once

// The first start's server admin key: created from COMMY_BOOTSTRAP_ADMIN_KEY when set (never logged),
// otherwise generated and written to DATA_DIR/admin.key with mode 0600.

#include <commy/broker/broker.h>

namespace commy::commyd {

Expected<void, QString> bootstrapAdminKey(broker::Broker& broker, const QString& presetKey);

// Writes `content` to `path` readable by the owner only, replacing it atomically (temporary file +
// rename), so the key is never visible with wider permissions, nor half written.
Expected<void, QString> writePrivateFile(const QString& path, const QByteArray& content);

} // namespace commy::commyd
