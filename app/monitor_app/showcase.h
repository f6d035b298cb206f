#pragma once

// Which node the window opens on when the user has not chosen one: the first service with container
// roots (its region view has blocks, processes and a browsable root), and for the container view a
// root whose elements read well (a map or a vector rather than a string).

#include <QAbstractItemModel>
#include <QObject>
#include <QStringList>

namespace commy::monitor {

class MonitorController;

// The path of the node to select for `view` in a HierarchyModel; empty when the tree has no service.
QStringList showcasePath(const QAbstractItemModel& hierarchy, const QString& view);

// Selects showcasePath() as the tree fills in (a broker's tree arrives in steps, and the demo creates
// its services while the window opens) until it has found a node with roots or the user selects something else.
class ShowcaseSelector : public QObject {
    Q_OBJECT

public:
    ShowcaseSelector(MonitorController& monitor, QString view, QObject* parent = nullptr);

signals:
    // The selector selected `path` (the window may have switched views for it).
    void picked(const QStringList& path);

private:
    void pick();

    MonitorController& m_monitor;
    QString m_view;
    QStringList m_picked; // what this selector selected last
    bool m_userChose = false;
};

} // namespace commy::monitor
