#pragma once

// Events as CSV (RFC 4180: comma-separated, CRLF line ends, a field quoted when it holds a comma, a
// quote or a line break, quotes doubled), UTF-8, with a header line:
//
//   time,kind,source,text
//   2024-05-01T10:00:00.123Z,process,acme/orders,worker-3 (pid 4242) is dead
//
// Times are UTC, ISO 8601 with milliseconds; kinds are eventKindName(). Rows are read from any model
// with the event roles (the EventModel or a filter over it), so an export holds what the view shows.

#include <QByteArray>
#include <QString>
#include <QUrl>

class QAbstractItemModel;

namespace commy::monitor {

QByteArray eventsToCsv(const QAbstractItemModel& model);
// Replaces `file` (a local file URL, or a plain path) atomically. On failure returns false and sets
// *errorString.
bool writeEventsCsv(const QAbstractItemModel& model, const QUrl& file, QString* errorString);

} // namespace commy::monitor
