#include "worker_pool.h"

#include "console.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

pid_t waitFor(pid_t pid, int* status, int flags)
{
    for (;;) {
        const pid_t result = ::waitpid(pid, status, flags);
        if (result >= 0 || errno != EINTR)
            return result;
    }
}

} // namespace

namespace commy::ctl {

QString WorkerExit::describe() const
{
    if (WIFEXITED(status))
        return QStringLiteral("worker %1 exited with code %2").arg(pid).arg(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return QStringLiteral("worker %1 was killed by signal %2 (%3), not by us")
            .arg(pid)
            .arg(WTERMSIG(status))
            .arg(QLatin1String(::strsignal(WTERMSIG(status))));
    return QStringLiteral("worker %1 ended with status %2").arg(pid).arg(status);
}

WorkerPool::WorkerPool(QString program, QString regionPath, std::uint64_t baseSeed)
    : m_program(std::move(program))
    , m_regionPath(std::move(regionPath))
    , m_baseSeed(baseSeed)
{
}

WorkerPool::~WorkerPool() { killAll(); }

bool WorkerPool::spawn()
{
    const std::uint64_t index = m_spawned;
    const std::string program = m_program.toStdString();
    std::vector<std::string> args { program, "region", "worker", m_regionPath.toStdString(), "--seed",
        std::to_string(m_baseSeed + index), "--name", "torture-" + std::to_string(index), "--parent",
        std::to_string(::getpid()) };
    std::vector<char*> argv;
    for (std::string& arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);

    // The supervisor blocks the signals it waits for; a worker must start with none blocked and
    // default dispositions, or a SIGTERM from a user would not stop it.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGCHLD);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(
        &attributes, static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP));
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, program.c_str(), nullptr, &attributes, argv.data(), environ);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0) {
        printErr(QStringLiteral("commyctl: cannot start a worker (%1): %2")
                     .arg(m_program, QLatin1String(std::strerror(rc))));
        return false;
    }
    m_pids.push_back(pid);
    ++m_spawned;
    return true;
}

void WorkerPool::killAndReap(std::size_t index)
{
    const pid_t pid = m_pids[index];
    m_pids.erase(m_pids.begin() + static_cast<std::ptrdiff_t>(index));
    ::kill(pid, SIGKILL);
    int status = 0;
    waitFor(pid, &status, 0);
}

void WorkerPool::killAll()
{
    // Signal them all first, then wait: they die in parallel instead of one after another.
    for (pid_t pid : m_pids)
        ::kill(pid, SIGKILL);
    for (pid_t pid : m_pids) {
        int status = 0;
        waitFor(pid, &status, 0);
    }
    m_pids.clear();
}

std::vector<WorkerExit> WorkerPool::reapUnexpected()
{
    std::vector<WorkerExit> exits;
    for (;;) {
        int status = 0;
        const pid_t pid = waitFor(-1, &status, WNOHANG);
        if (pid <= 0)
            break;
        const auto it = std::find(m_pids.begin(), m_pids.end(), pid);
        if (it == m_pids.end())
            continue; // not one of ours (e.g. a child some library started)
        m_pids.erase(it);
        exits.push_back({ pid, status });
    }
    return exits;
}

} // namespace commy::ctl
