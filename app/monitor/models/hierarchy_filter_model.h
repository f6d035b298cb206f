#pragma once

// The hierarchy filtered by name: a row stays when its name contains the filter text (case-insensitive),
// when one of its descendants does (so a match is always reachable from the top), or when one of its
// ancestors does (so a matching tenant still shows its services).

#include <QSortFilterProxyModel>
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

signals:
    void filterTextChanged();

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    QString m_filterText;
};

} // namespace commy::monitor
