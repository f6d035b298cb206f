#include "conversions.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

namespace commy::monitor {

RegionStats toStats(const protocol::RegionStats& s)
{
    RegionStats stats;
    stats.size = quint64(std::max<qint64>(0, s.size));
    stats.limit = quint64(std::max<qint64>(0, s.limit));
    stats.used = quint64(std::max<qint64>(0, s.used));
    stats.free = quint64(std::max<qint64>(0, s.free));
    stats.largestFree = quint64(std::max<qint64>(0, s.largestFree));
    stats.fragmentation = s.fragmentation;
    stats.usedBlocks = quint64(std::max<qint64>(0, s.usedBlocks));
    stats.freeBlocks = quint64(std::max<qint64>(0, s.freeBlocks));
    stats.generation = quint64(std::max<qint64>(0, s.generation));
    return stats;
}

RootSnapshot toRoot(const protocol::RootSummary& root)
{
    RootSnapshot snapshot;
    snapshot.name = root.name;
    snapshot.kind = protocol::rootKindName(root.kind);
    snapshot.type = root.type;
    snapshot.version = quint64(std::max<qint64>(0, root.version));
    const quint64 size = quint64(std::max<qint64>(0, root.size));
    // The wire's `size` is a plain block's payload bytes, a container's element count, a string's bytes.
    if (root.kind == protocol::RootKind::Bytes) {
        snapshot.size = size;
    } else {
        snapshot.length = size;
        if (root.kind == protocol::RootKind::String)
            snapshot.size = size;
    }
    return snapshot;
}

ProcessSnapshot toProcess(const protocol::ProcessEntry& process)
{
    ProcessSnapshot snapshot;
    snapshot.slot = quint32(process.slot);
    snapshot.pid = process.pid;
    snapshot.name = process.name;
    snapshot.heartbeatAgeMs = process.heartbeatAgeMs;
    switch (process.liveness) {
    case protocol::Liveness::Alive:
        snapshot.liveness = Liveness::Alive;
        break;
    case protocol::Liveness::Stale:
        snapshot.liveness = Liveness::Stale;
        break;
    case protocol::Liveness::Dead:
    case protocol::Liveness::Gone:
        snapshot.liveness = Liveness::Dead;
        break;
    }
    return snapshot;
}

SessionSnapshot toSession(const protocol::SessionEntry& session)
{
    SessionSnapshot snapshot;
    snapshot.peer = session.peer;
    for (const QString& tenant : session.tenants)
        snapshot.tenants.append(tenant);
    snapshot.subscriptions = int(session.subscriptions);
    snapshot.queueBytes = session.queueBytes;
    return snapshot;
}

BlockSnapshot toBlock(const protocol::BlockEntry& block)
{
    return BlockSnapshot { quint64(std::max<qint64>(0, block.offset)), quint64(std::max<qint64>(0, block.size)),
        block.free, block.owner < 0 ? kNoOwner : quint32(block.owner) };
}

QString jsonText(const QJsonValue& value)
{
    switch (value.type()) {
    case QJsonValue::String:
        return value.toString();
    case QJsonValue::Bool:
        return value.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    case QJsonValue::Double: {
        const double number = value.toDouble();
        if (number == double(qint64(number)) && std::abs(number) < 9e15)
            return QString::number(qint64(number));
        return QString::number(number, 'g', 17);
    }
    case QJsonValue::Array:
        return QString::fromUtf8(QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact));
    case QJsonValue::Object:
        return QString::fromUtf8(QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact));
    case QJsonValue::Null:
        return QStringLiteral("null");
    case QJsonValue::Undefined:
        return {};
    }
    return {};
}

ElementSnapshot toElement(const protocol::BrowseElement& element)
{
    ElementSnapshot snapshot;
    snapshot.index = quint64(std::max<qint64>(0, element.index));
    snapshot.hasKey = element.key.has_value();
    if (element.key)
        snapshot.key = jsonText(*element.key);
    snapshot.value = jsonText(element.value);
    return snapshot;
}

QString describeError(const protocol::Error& error)
{
    return protocol::errorCodeName(error.code) + QLatin1String(": ") + error.message;
}

QString valueText(const QByteArray& value, int maxChars)
{
    const QString text = QString::fromUtf8(value);
    const bool printable = text.toUtf8() == value
        && std::all_of(text.begin(), text.end(), [](QChar c) { return c.isPrint() || c == QLatin1Char('\t'); });
    QString shown = printable ? text : QString::fromLatin1(value.toHex(' '));
    if (shown.size() > maxChars)
        shown = shown.left(maxChars) + QChar(0x2026);
    return printable ? QLatin1Char('"') + shown + QLatin1Char('"') : QLatin1String("0x ") + shown;
}

QString hexDump(const QByteArray& bytes)
{
    QString dump;
    for (qsizetype line = 0; line < bytes.size(); line += 16) {
        const QByteArray chunk = bytes.mid(line, 16);
        QString hex = QString::fromLatin1(chunk.toHex(' '));
        hex = hex.leftJustified(16 * 3 - 1, QLatin1Char(' '));
        QString chars;
        for (const char c : chunk)
            chars.append(c >= 0x20 && c < 0x7f ? QLatin1Char(c) : QLatin1Char('.'));
        dump += QStringLiteral("%1  %2  |%3|\n").arg(line, 8, 16, QLatin1Char('0')).arg(hex, chars);
    }
    return dump;
}

std::optional<quint64> parseSize(const QString& text)
{
    static const QRegularExpression pattern(QStringLiteral("^\\s*(\\d+)(?:\\.(\\d+))?\\s*(?:([kmgt])(?:i?b)?|b)?\\s*$"),
        QRegularExpression::CaseInsensitiveOption);
    const QRegularExpressionMatch match = pattern.match(text);
    if (!match.hasMatch())
        return std::nullopt;
    int shift = 0;
    const QString unit = match.captured(3).toLower();
    switch (unit.isEmpty() ? '\0' : unit.front().toLatin1()) {
    case 'k':
        shift = 10;
        break;
    case 'm':
        shift = 20;
        break;
    case 'g':
        shift = 30;
        break;
    case 't':
        shift = 40;
        break;
    default:
        break;
    }
    bool ok = false;
    const quint64 whole = match.captured(1).toULongLong(&ok);
    if (!ok || whole > (quint64(protocol::kMaxWireInteger) >> shift))
        return std::nullopt;
    quint64 bytes = whole << shift;
    if (!match.captured(2).isEmpty()) {
        if (shift == 0)
            return std::nullopt; // a fraction of a byte
        const double fraction = (QLatin1String("0.") + match.captured(2)).toDouble();
        bytes += quint64(fraction * double(quint64(1) << shift));
    }
    if (bytes == 0 || bytes > quint64(protocol::kMaxWireInteger))
        return std::nullopt;
    return bytes;
}

} // namespace commy::monitor
