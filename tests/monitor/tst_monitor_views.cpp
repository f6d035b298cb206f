// Qt Quick Test smoke tests of the monitor's views (tests/monitor/views/tst_*.qml): each view loads
// with a fake monitor (the real models filled with snapshots, stand-ins for the controllers), shows
// its data, warns about nothing, and is rendered to a PNG under <build>/tests/monitor/screenshots.

#include "views_fixture.h"

#include <QApplication>
#include <QDir>
#include <QQmlContext>
#include <QQmlEngine>
#include <QSettings>
#include <QTemporaryDir>
#include <QtQml/QQmlExtensionPlugin>
#include <QtQuickTest>

Q_IMPORT_QML_PLUGIN(Commy_MonitorPlugin)
Q_IMPORT_QML_PLUGIN(Commy_Monitor_ViewsPlugin)

class Setup : public QObject {
    Q_OBJECT

public slots:
    void qmlEngineAvailable(QQmlEngine* engine)
    {
        // Qt 6.4 has no default qrc:/qt/qml import path; the modules' qmldirs sit under qrc:/Commy.
        engine->addImportPath(QStringLiteral("qrc:/"));
        auto* fixture = new commy::monitor::test::ViewsFixture(QStringLiteral(COMMY_SCREENSHOT_DIR), engine);
        engine->rootContext()->setContextProperty(QStringLiteral("fixture"), fixture);
    }
};

int main(int argc, char** argv)
{
    // The window-state settings of Main.qml go to a directory of this run, not the user's.
    QTemporaryDir home;
    if (qEnvironmentVariableIsEmpty("XDG_RUNTIME_DIR")) {
        QDir(home.path()).mkdir(QStringLiteral("runtime"));
        QFile::setPermissions(
            home.filePath(QStringLiteral("runtime")), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
        qputenv("XDG_RUNTIME_DIR", home.filePath(QStringLiteral("runtime")).toLocal8Bit());
    }
    // QtCharts draws through QGraphicsScene: it needs a QApplication, created before quick_test_main.
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("commy-tests"));
    QApplication::setApplicationName(QStringLiteral("tst_monitor_views"));
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, home.path());
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, home.path());
    Setup setup;
    return quick_test_main_with_setup(argc, argv, "monitor_views", QUICK_TEST_SOURCE_DIR, &setup);
}

#include "tst_monitor_views.moc"
