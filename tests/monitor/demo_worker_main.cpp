// monitor_demo_worker <region path> <process name>, or with --demo-worker first: runDemoWorker in a
// process of its own, for the demo tests (the monitor runs the same body from its own executable).

#include <monitor/demo/demo_worker.h>

#include <QStringList>

int main(int argc, char** argv)
{
    QStringList arguments;
    for (int i = 0; i < argc; ++i)
        arguments.append(QString::fromLocal8Bit(argv[i]));
    return commy::monitor::runDemoWorker(arguments.mid(1));
}
