#include "ws_logging.h"

namespace commy::broker {

Q_LOGGING_CATEGORY(lcWebSocket, "commy.broker.ws")

} // namespace commy::broker
