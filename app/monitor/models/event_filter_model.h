#pragma once

// The events panel's filter: by kind (a set of EventKind) and by text (case-insensitive, in the source or
// the event's text). Exports what it shows.

#include "../snapshots.h"

#include <QSortFilterProxyModel>
#include <QUrl>
#include <QtQml/qqmlregistration.h>

namespace commy::monitor {

class EventFilterModel : public QSortFilterProxyModel {
    Q_OBJECT
    QML_ELEMENT
    // Bit (1 << int(EventKind)) set = that kind is shown. All kinds by default.
    Q_PROPERTY(int kinds READ kinds WRITE setKinds NOTIFY kindsChanged)
    Q_PROPERTY(QString text READ text WRITE setText NOTIFY textChanged)
    Q_PROPERTY(QString errorString READ errorString NOTIFY errorOccurred)

public:
    static constexpr int kAllKinds = (1 << (int(EventKind::Error) + 1)) - 1;

    explicit EventFilterModel(QObject* parent = nullptr);

    int kinds() const;
    void setKinds(int kinds);
    Q_INVOKABLE bool isKindShown(commy::monitor::EventKind kind) const;
    Q_INVOKABLE void setKindShown(commy::monitor::EventKind kind, bool shown);
    QString text() const;
    void setText(const QString& text);

    // Writes the rows that pass the filter as CSV (see writeEventsCsv).
    Q_INVOKABLE bool exportCsv(const QUrl& file);
    QString errorString() const;

signals:
    void kindsChanged();
    void textChanged();
    void errorOccurred(const QString& message);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    int m_kinds = kAllKinds;
    QString m_text;
    QString m_errorString;
};

} // namespace commy::monitor
