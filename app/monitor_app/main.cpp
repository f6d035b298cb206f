// commy-monitor: the desktop monitor. Parses the command line, starts the embedded demo broker when no
// broker is configured, builds the controller that feeds the models, and loads the QML window.

#include "command_line.h"
#include "showcase.h"
#include "window_capture.h"

#include <monitor/block_map.h>
#include <monitor/controllers/client_broker_source.h>
#include <monitor/controllers/connection_model.h>
#include <monitor/controllers/container_controller.h>
#include <monitor/controllers/monitor_controller.h>
#include <monitor/controllers/region_controller.h>
#include <monitor/demo/demo_worker.h>
#include <monitor/demo/demo_workload.h>
#include <monitor/demo/embedded_broker.h>
#include <monitor/models/container_elements_model.h>
#include <monitor/models/event_model.h>
#include <monitor/models/hierarchy_model.h>
#include <monitor/models/process_model.h>

#include <QApplication>
#include <QIcon>
#include <QQmlApplicationEngine>
#include <QQuickWindow>
#include <QtQml/qqmlextensionplugin.h>

#include <cstdio>
#include <memory>

Q_IMPORT_QML_PLUGIN(Commy_MonitorPlugin)
Q_IMPORT_QML_PLUGIN(Commy_Monitor_ViewsPlugin)

using namespace commy::monitor;

namespace {

constexpr int kHistoryForScreenshot = 3;

// What `view` still waits for before --screenshot may render it; empty once its data has arrived.
QString missingFor(const MonitorController& monitor, const QString& view)
{
    if (!monitor.isLoaded())
        return QStringLiteral("the brokers' trees");
    // The showcase selection is made once a service with roots is in the tree; a few seconds of history
    // after it, the rest of a starting broker's tree (the demo creates it while the window opens) is in.
    const RegionController& region = *monitor.region();
    if (monitor.selectedPath().isEmpty() || region.history().size() < kHistoryForScreenshot)
        return QStringLiteral("a selected service and its first stats");
    if (view == u"region" && !(region.isActive() && !region.isBlockMapLoading() && region.blockMap()->blockCount() > 0))
        return QStringLiteral("the selected region's block map");
    if (view == u"heartbeats" && !(region.isActive() && region.processes()->rowCount() > 0))
        return QStringLiteral("the selected region's processes");
    if (view == u"container" && !(monitor.container()->isActive() && monitor.container()->elements()->rowCount() > 0))
        return QStringLiteral("the selected root's elements");
    if (view == u"events" && monitor.events()->rowCount() == 0)
        return QStringLiteral("events");
    if (monitor.hierarchy()->rowCount() == 0)
        return QStringLiteral("a broker in the tree");
    return {};
}

int printAndExit(const QString& text, int code)
{
    std::fputs(qPrintable(text), code == 0 ? stdout : stderr);
    return code;
}

} // namespace

int main(int argc, char* argv[])
{
    // The demo's worker processes are this program started again: no window, no Qt GUI.
    if (argc >= 2 && qstrcmp(argv[1], "--demo-worker") == 0) {
        QCoreApplication worker(argc, argv);
        return runDemoWorker(worker.arguments());
    }

    QStringList rawArguments;
    for (int i = 0; i < argc; ++i)
        rawArguments.append(QString::fromLocal8Bit(argv[i]));
    auto commandLine = parseMonitorCommandLine(rawArguments, qEnvironmentVariable("COMMY_KEY"));
    if (!commandLine)
        return printAndExit(
            QStringLiteral("commy-monitor: %1\nTry 'commy-monitor --help'.\n").arg(commandLine.error()), 2);
    if (commandLine->action != MonitorCommandLine::Action::Run)
        return printAndExit(commandLine->text, 0);
    // A screenshot needs no display: render offscreen unless the caller chose a platform.
    if (!commandLine->screenshotFile.isEmpty() && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");

    // Charts (QtCharts' ChartView) are widgets underneath and need a QApplication.
    QApplication app(argc, argv);
    app.setOrganizationName(QStringLiteral("Commy"));
    app.setApplicationName(QStringLiteral("commy-monitor"));
    app.setApplicationVersion(QStringLiteral(COMMY_VERSION));
    app.setWindowIcon(QIcon(QStringLiteral(":/commy-monitor/commy-monitor.svg")));
    // Wayland compositors match the window to the installed desktop entry (its name and icon) by this.
    QGuiApplication::setDesktopFileName(QStringLiteral("commy-monitor"));

    MonitorController monitor([] { return std::make_unique<ClientBrokerSource>(); });

    std::unique_ptr<EmbeddedBroker> embedded;
    std::unique_ptr<DemoWorkload> workload;
    if (commandLine->connectUrl.isValid()) {
        monitor.addSessionConnection(
            commandLine->connectUrl.host(), commandLine->connectUrl.toString(), commandLine->key);
    } else if (commandLine->demo || monitor.connections()->rowCount() == 0) {
        embedded = std::make_unique<EmbeddedBroker>();
        if (!embedded->start())
            return printAndExit(
                QStringLiteral("commy-monitor: cannot start the embedded broker: %1\n").arg(embedded->errorString()),
                1);
        workload = std::make_unique<DemoWorkload>();
        workload->start(embedded->url(), embedded->adminKey(), QCoreApplication::applicationFilePath());
        monitor.addSessionConnection(QStringLiteral("demo"), embedded->url().toString(), embedded->adminKey());
    }

    // Open on something worth seeing as the trees come in, unless the user chooses first.
    ShowcaseSelector showcase(monitor, commandLine->view);

    QQmlApplicationEngine engine;
    // Qt 6.4 has no default qrc:/qt/qml import path; the modules' qmldir files sit under qrc:/.
    engine.addImportPath(QStringLiteral("qrc:/"));
    QVariantMap initial { { QStringLiteral("monitor"), QVariant::fromValue(&monitor) } };
    if (!commandLine->view.isEmpty())
        initial.insert(QStringLiteral("currentView"), commandLine->view);
    engine.setInitialProperties(initial);
    engine.load(QUrl(QStringLiteral("qrc:/Commy/Monitor/Views/Main.qml")));
    if (engine.rootObjects().isEmpty())
        return printAndExit(QStringLiteral("commy-monitor: the window did not load (see the QML errors above)\n"), 1);
    auto* window = qobject_cast<QQuickWindow*>(engine.rootObjects().constFirst());
    // Selecting a node opens the view that fits it; a view asked for on the command line stays.
    if (!commandLine->view.isEmpty())
        QObject::connect(&showcase, &ShowcaseSelector::picked, window,
            [window, view = commandLine->view] { window->setProperty("currentView", view); });

    std::unique_ptr<WindowCapture> capture;
    if (!commandLine->screenshotFile.isEmpty()) {
        capture = std::make_unique<WindowCapture>(
            window, [&monitor, view = commandLine->view] { return missingFor(monitor, view); },
            commandLine->screenshotFile, commandLine->screenshotTimeoutSeconds * 1000);
        QObject::connect(capture.get(), &WindowCapture::finished, &app, [](int code, const QString& message) {
            std::fprintf(code == 0 ? stdout : stderr, "commy-monitor: %s\n", qPrintable(message));
            std::fflush(nullptr); // before exit handlers (a sanitizer's) may end the process without stdio's flush
            QCoreApplication::exit(code);
        });
        capture->start();
    }
    const int code = app.exec();
    // Workers and the embedded broker go before the window's models they feed.
    workload.reset();
    embedded.reset();
    return code;
}
