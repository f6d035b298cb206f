#pragma once

#include <QString>

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace commy::ctl {

// A worker that ended without being killed by us.
struct WorkerExit {
    pid_t pid = 0;
    int status = 0; // as from waitpid()
    QString describe() const;
};

// The worker processes of a torture run: this same binary running `region worker`, each in a
// process group of its own so that a Ctrl-C in the terminal reaches only the supervisor.
class WorkerPool {
public:
    WorkerPool(QString program, QString regionPath, std::uint64_t baseSeed);
    ~WorkerPool(); // kills and reaps whatever is left
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Starts one more worker; false (with a message printed) when the OS refuses.
    bool spawn();
    std::size_t size() const { return m_pids.size(); }
    std::uint64_t spawned() const { return m_spawned; }

    // SIGKILLs the worker at `index` and waits for it to be gone.
    void killAndReap(std::size_t index);
    void killAll();
    // Reaps workers that have ended on their own; they are failures of the run.
    std::vector<WorkerExit> reapUnexpected();

private:
    QString m_program;
    QString m_regionPath;
    std::uint64_t m_baseSeed;
    std::uint64_t m_spawned = 0;
    std::vector<pid_t> m_pids;
};

} // namespace commy::ctl
