// The demo tests' helper program (the monitor runs the same bodies from its own executable):
//
// monitor_demo_worker --demo-worker <region path> <process name>
//   runDemoWorker in a process of its own.
//
// monitor_demo_worker --demo-parent
//   An EmbeddedBroker and a DemoWorkload (no kills) whose workers are this same program; prints
//   "dir <broker data directory>", then "worker <pid>" for each worker it starts and "ready" once all
//   run, then serves until killed. A test SIGKILLs it to see that its workers do not outlive it (and
//   removes the directory the killed broker leaves behind).

#include <monitor/demo/demo_worker.h>
#include <monitor/demo/demo_workload.h>
#include <monitor/demo/embedded_broker.h>

#include <QCoreApplication>
#include <QStringList>

#include <cstdio>

namespace {

int runDemoParent(int argc, char** argv)
{
    using namespace commy::monitor;
    QCoreApplication app(argc, argv);
    EmbeddedBroker broker;
    if (!broker.start()) {
        std::fprintf(stderr, "%s\n", qPrintable(broker.errorString()));
        return 1;
    }
    std::printf("dir %s\n", qPrintable(broker.dataDir()));
    std::fflush(stdout);
    DemoWorkload::Options options;
    options.killIntervalMin = options.killIntervalMax = std::chrono::milliseconds(0);
    DemoWorkload workload(options);
    int expected = 0;
    for (const auto& service : DemoWorkload::plan())
        expected += service.workers;
    int started = 0;
    QObject::connect(
        &workload, &DemoWorkload::workerStarted, &app, [&](const QString&, const QString&, const QString&, qint64 pid) {
            std::printf("worker %lld\n", static_cast<long long>(pid));
            if (++started == expected)
                std::printf("ready\n");
            std::fflush(stdout);
        });
    QObject::connect(&workload, &DemoWorkload::errorOccurred, &app, [&](const QString& message) {
        std::fprintf(stderr, "%s\n", qPrintable(message));
        app.exit(1);
    });
    workload.start(broker.url(), broker.adminKey(), QCoreApplication::applicationFilePath());
    return app.exec();
}

} // namespace

int main(int argc, char** argv)
{
    if (argc > 1 && QByteArray(argv[1]) == "--demo-parent")
        return runDemoParent(argc, argv);
    QStringList arguments;
    for (int i = 1; i < argc; ++i)
        arguments.append(QString::fromLocal8Bit(argv[i]));
    return commy::monitor::runDemoWorker(arguments);
}
