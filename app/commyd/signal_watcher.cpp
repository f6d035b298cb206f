#include "signal_watcher.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace commy::commyd {

namespace {

int g_pipe[2] = { -1, -1 };

void onSignal(int signalNumber)
{
    // Only async-signal-safe calls here.
    const int savedErrno = errno;
    const auto byte = static_cast<unsigned char>(signalNumber);
    [[maybe_unused]] const ssize_t written = ::write(g_pipe[1], &byte, 1);
    errno = savedErrno;
}

constexpr int kSignals[] = { SIGTERM, SIGINT };

} // namespace

SignalWatcher::SignalWatcher(QObject* parent)
    : QObject(parent)
{
}

Expected<std::unique_ptr<SignalWatcher>, QString> SignalWatcher::install(QObject* parent)
{
    if (g_pipe[0] >= 0)
        return unexpected(QStringLiteral("signal watcher already installed"));
    if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return unexpected(
            QStringLiteral("cannot create the signal pipe: %1").arg(QString::fromLocal8Bit(strerror(errno))));

    std::unique_ptr<SignalWatcher> watcher(new SignalWatcher(parent));
    watcher->m_notifier = std::make_unique<QSocketNotifier>(g_pipe[0], QSocketNotifier::Read);
    connect(watcher->m_notifier.get(), &QSocketNotifier::activated, watcher.get(), &SignalWatcher::readPipe);

    struct sigaction action { };
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (const int signalNumber : kSignals) {
        if (::sigaction(signalNumber, &action, nullptr) != 0)
            return unexpected(
                QStringLiteral("cannot install a signal handler: %1").arg(QString::fromLocal8Bit(strerror(errno))));
    }
    return watcher;
}

SignalWatcher::~SignalWatcher()
{
    struct sigaction action { };
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    for (const int signalNumber : kSignals)
        ::sigaction(signalNumber, &action, nullptr);
    m_notifier.reset();
    ::close(g_pipe[0]);
    ::close(g_pipe[1]);
    g_pipe[0] = g_pipe[1] = -1;
}

void SignalWatcher::readPipe()
{
    unsigned char byte = 0;
    while (::read(g_pipe[0], &byte, 1) == 1)
        emit terminationRequested(int(byte));
}

} // namespace commy::commyd
