#pragma once

// Wire messages to the models' snapshot values, and the few texts the controllers build from them.

#include "../snapshots.h"

#include <commy/protocol/messages.h>

#include <QByteArray>
#include <QString>

#include <optional>

namespace commy::monitor {

RegionStats toStats(const protocol::RegionStats& stats);
RootSnapshot toRoot(const protocol::RootSummary& root);
ProcessSnapshot toProcess(const protocol::ProcessEntry& process);
SessionSnapshot toSession(const protocol::SessionEntry& session);
BlockSnapshot toBlock(const protocol::BlockEntry& block);
ElementSnapshot toElement(const protocol::BrowseElement& element);
// A decoded key or value as one line of text: strings as they are, the rest as compact JSON.
QString jsonText(const QJsonValue& value);

// "PERMISSION_DENIED: this request needs the admin scope"
QString describeError(const protocol::Error& error);
// A variable's value for the events panel: its text when it is printable UTF-8, else hex; cut after
// `maxChars` characters.
QString valueText(const QByteArray& value, int maxChars = 80);
// A hex dump: offset, 16 bytes in hex, and their printable characters.
QString hexDump(const QByteArray& bytes);

// "64M", "1G", "512 KiB", "4096": binary units (K, M, G, T, with an optional "iB" or "B"),
// case-insensitive. Empty when the text is not a size (or is zero, or does not fit a wire integer).
std::optional<quint64> parseSize(const QString& text);

} // namespace commy::monitor
