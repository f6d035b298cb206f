#include "roles.h"

#include <QtCore/qnamespace.h>

namespace commy::monitor {

static_assert(NameRole == Qt::UserRole + 1);

QByteArray roleName(int role)
{
    switch (static_cast<Role>(role)) {
    case NameRole:
        return "name";
    case PathRole:
        return "path";
    case SizeRole:
        return "size";
    case VersionRole:
        return "version";
    case CountRole:
        return "count";
    case NodeTypeRole:
        return "nodeType";
    case TenantCountRole:
        return "tenantCount";
    case ServiceCountRole:
        return "serviceCount";
    case RootCountRole:
        return "rootCount";
    case LimitRole:
        return "limit";
    case UsedRole:
        return "used";
    case FreeRole:
        return "free";
    case UsageRole:
        return "usage";
    case LargestFreeRole:
        return "largestFree";
    case FragmentationRole:
        return "fragmentation";
    case UsedBlocksRole:
        return "usedBlocks";
    case FreeBlocksRole:
        return "freeBlocks";
    case GenerationRole:
        return "generation";
    case KindRole:
        return "kind";
    case TypeRole:
        return "type";
    case LengthRole:
        return "length";
    case UrlRole:
        return "url";
    case BrokerVersionRole:
        return "brokerVersion";
    case UptimeRole:
        return "uptime";
    case SessionCountRole:
        return "sessionCount";
    case SlotRole:
        return "slot";
    case PidRole:
        return "pid";
    case HeartbeatAgeRole:
        return "heartbeatAge";
    case LivenessRole:
        return "liveness";
    case HeartbeatHistoryRole:
        return "heartbeatHistory";
    case PeerRole:
        return "peer";
    case TenantsRole:
        return "tenants";
    case SubscriptionsRole:
        return "subscriptions";
    case QueueBytesRole:
        return "queueBytes";
    case TimeRole:
        return "time";
    case EventKindRole:
        return "eventKind";
    case SourceRole:
        return "source";
    case TextRole:
        return "text";
    case IndexRole:
        return "elementIndex";
    case HasKeyRole:
        return "hasKey";
    case KeyRole:
        return "key";
    case ValueRole:
        return "value";
    case StaleRole:
        return "stale";
    case BucketLowRole:
        return "bucketLow";
    case BucketHighRole:
        return "bucketHigh";
    case BytesRole:
        return "bytes";
    case FractionRole:
        return "fraction";
    }
    return {};
}

QHash<int, QByteArray> roleNames(std::initializer_list<int> roles)
{
    // The names QAbstractItemModel::roleNames() gives Qt's own roles.
    QHash<int, QByteArray> names {
        { Qt::DisplayRole, "display" },
        { Qt::DecorationRole, "decoration" },
        { Qt::EditRole, "edit" },
        { Qt::ToolTipRole, "toolTip" },
        { Qt::StatusTipRole, "statusTip" },
        { Qt::WhatsThisRole, "whatsThis" },
    };
    for (const int role : roles)
        names.insert(role, roleName(role));
    return names;
}

} // namespace commy::monitor
