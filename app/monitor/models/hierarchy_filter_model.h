#pragma once

// The hierarchy filtered by name: a row stays when its name contains the filter text (case-insensitive),
// when one of its descendants does (so a match is always reachable from the top), or when one of its
// ancestors does (so a matching tenant still shows its services).
//
// Which rows pass is worked out once per tree shape and filter text (one walk of the source), not per
// row and signal: QSortFilterProxyModel's own recursive filtering re-walks every changed row's subtree
// on each dataChanged, which at 1,000 tenants x 10 services is most of an update tick. A structural
// change in the source (rows inserted, removed, moved) makes the walk run again; the ancestors whose
// fate it changed are shown or hidden on the next turn of the event loop.

#include <QPair>
#include <QSet>
#include <QSortFilterProxyModel>
#include <QTimer>
#include <QtQml/qqmlregistration.h>

namespace commy::monitor {

class HierarchyFilterModel : public QSortFilterProxyModel {
    Q_OBJECT
    QML_ELEMENT
    Q_PROPERTY(QString filterText READ filterText WRITE setFilterText NOTIFY filterTextChanged)

public:
    explicit HierarchyFilterModel(QObject* parent = nullptr);

    QString filterText() const;
    void setFilterText(const QString& text);

    void setSourceModel(QAbstractItemModel* model) override;

signals:
    void filterTextChanged();

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    using Key = QPair<quintptr, int>; // a source row's internal id and row: unique while the shape holds
    void shapeChanging();
    void shapeChanged();
    void collect(const QModelIndex& parent, bool ancestorMatches, bool& anyMatch) const;

    QString m_filterText;
    mutable QSet<Key> m_accepted;
    mutable bool m_stale = true;
    QTimer m_refilter;
};

} // namespace commy::monitor
