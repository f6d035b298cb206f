// The backend as QML sees it: the static module Commy.Monitor imports, every type is creatable (or
// usable as a property), the enums of the Monitor namespace resolve, and nothing warns.

#include <QQmlComponent>
#include <QQmlEngine>
#include <QtQml/QQmlExtensionPlugin>
#include <QtTest>

Q_IMPORT_QML_PLUGIN(Commy_MonitorPlugin)

class TestQmlModule : public QObject {
    Q_OBJECT

private slots:
    void everyTypeLoads();
};

void TestQmlModule::everyTypeLoads()
{
    QTest::failOnWarning(QRegularExpression(QStringLiteral(".*")));
    QQmlEngine engine;
    // Qt 6.4 has no default qrc:/qt/qml import path; the module's qmldir sits at qrc:/Commy/Monitor.
    engine.addImportPath(QStringLiteral("qrc:/"));
    QQmlComponent component(&engine);
    component.setData(R"(
import QtQuick
import Commy.Monitor

Item {
    width: 200
    height: 100

    property int dead: Monitor.Dead
    property int processKind: Monitor.Process
    property int serviceNode: Monitor.Service

    HierarchyModel { id: hierarchy }
    HierarchyFilterModel { id: filter; sourceModel: hierarchy; filterText: "orders" }
    ProcessModel { id: processes; historyLength: 30 }
    SessionModel { id: sessions }
    EventModel { id: events; maxRows: 500 }
    EventFilterModel { id: eventFilter; sourceModel: events; text: "dead" }
    ContainerElementsModel { id: elements; pageSize: 64 }
    BlockMap { id: blocks }
    FreeBlockHistogramModel { id: histogram; blockMap: blocks }
    BlockMapView { id: view; width: 100; height: 50; blockMap: blocks; freeColor: "#444" }

    property bool wired: filter.sourceModel === hierarchy && eventFilter.sourceModel === events
        && histogram.blockMap === blocks && view.blockMap === blocks
    property int processHistory: processes.historyLength
    property int pageSize: elements.pageSize
    property bool hoverMissesOnEmpty: !view.blockAt(1, 1).valid
}
)",
        QUrl(QStringLiteral("qrc:/tst_qml_module.qml")));
    std::unique_ptr<QObject> root(component.create());
    QVERIFY2(root, qPrintable(component.errorString()));
    QCOMPARE(root->property("dead").toInt(), 2);
    QCOMPARE(root->property("processKind").toInt(), 1);
    QCOMPARE(root->property("serviceNode").toInt(), 2);
    QCOMPARE(root->property("wired").toBool(), true);
    QCOMPARE(root->property("processHistory").toInt(), 30);
    QCOMPARE(root->property("pageSize").toInt(), 64);
    QCOMPARE(root->property("hoverMissesOnEmpty").toBool(), true);
}

QTEST_MAIN(TestQmlModule)
#include "tst_qml_module.moc"
