#include "snapshots.h"

namespace commy::monitor {

QString livenessName(Liveness liveness)
{
    switch (liveness) {
    case Liveness::Alive:
        return QStringLiteral("alive");
    case Liveness::Stale:
        return QStringLiteral("stale");
    case Liveness::Dead:
        return QStringLiteral("dead");
    }
    return QStringLiteral("unknown");
}

QString eventKindName(EventKind kind)
{
    switch (kind) {
    case EventKind::Variable:
        return QStringLiteral("variable");
    case EventKind::Process:
        return QStringLiteral("process");
    case EventKind::Operation:
        return QStringLiteral("operation");
    case EventKind::Connection:
        return QStringLiteral("connection");
    case EventKind::Error:
        return QStringLiteral("error");
    }
    return QStringLiteral("unknown");
}

} // namespace commy::monitor
