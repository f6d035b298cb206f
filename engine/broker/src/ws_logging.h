#pragma once

// The WebSocket transport's logging category, "commy.broker.ws".

#include <QLoggingCategory>

namespace commy::broker {

Q_DECLARE_LOGGING_CATEGORY(lcWebSocket)

} // namespace commy::broker
