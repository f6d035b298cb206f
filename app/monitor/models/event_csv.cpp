#include "event_csv.h"

#include "../snapshots.h"
#include "roles.h"

#include <QAbstractItemModel>
#include <QCoreApplication>
#include <QDateTime>
#include <QSaveFile>

namespace commy::monitor {

namespace {

void appendField(QByteArray& out, const QString& field)
{
    const QByteArray utf8 = field.toUtf8();
    const bool quote = utf8.contains(',') || utf8.contains('"') || utf8.contains('\n') || utf8.contains('\r');
    if (!quote) {
        out += utf8;
        return;
    }
    out += '"';
    for (const char c : utf8) {
        if (c == '"')
            out += '"';
        out += c;
    }
    out += '"';
}

} // namespace

QByteArray eventsToCsv(const QAbstractItemModel& model)
{
    QByteArray out = "time,kind,source,text\r\n";
    const int rows = model.rowCount();
    for (int row = 0; row < rows; ++row) {
        const QModelIndex index = model.index(row, 0);
        appendField(out, index.data(TimeRole).toDateTime().toUTC().toString(Qt::ISODateWithMs));
        out += ',';
        appendField(out, eventKindName(EventKind(index.data(EventKindRole).toInt())));
        out += ',';
        appendField(out, index.data(SourceRole).toString());
        out += ',';
        appendField(out, index.data(TextRole).toString());
        out += "\r\n";
    }
    return out;
}

bool writeEventsCsv(const QAbstractItemModel& model, const QUrl& file, QString* errorString)
{
    const QString path = file.isLocalFile() ? file.toLocalFile() : file.path();
    if (path.isEmpty() || (!file.isLocalFile() && !file.scheme().isEmpty())) {
        *errorString = QCoreApplication::translate("commy::monitor", "Cannot export to %1: not a local file.")
                           .arg(file.toDisplayString());
        return false;
    }
    QSaveFile out(path);
    if (!out.open(QIODevice::WriteOnly)) {
        *errorString
            = QCoreApplication::translate("commy::monitor", "Cannot write %1: %2").arg(path, out.errorString());
        return false;
    }
    const QByteArray csv = eventsToCsv(model);
    if (out.write(csv) != csv.size() || !out.commit()) {
        *errorString
            = QCoreApplication::translate("commy::monitor", "Cannot write %1: %2").arg(path, out.errorString());
        return false;
    }
    return true;
}

} // namespace commy::monitor
