#include "worker.h"

#include "block_stamp.h"
#include "command_line.h"
#include "console.h"
#include "exit_codes.h"
#include "region_commands.h"

#include <commy/shm/region.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>
#ifdef __linux__
#include <csignal>
#include <sys/prctl.h>
#endif

namespace {

using namespace commy::ctl;
namespace shm = commy::shm;

constexpr std::size_t kMaxLiveBlocks = 200;
constexpr std::size_t kMaxOwnRoots = 16;
constexpr std::uint32_t kMaxBlockBytes = 64 * 1024;

struct LiveBlock {
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
    std::uint32_t key = 0;
};

struct OwnRoot {
    std::string name;
    LiveBlock block;
};

// The pid in a worker root name "w<pid>-<n>", or 0 when the name is not a worker's.
std::uint64_t workerPidOf(const std::string& name)
{
    if (name.size() < 4 || name[0] != 'w')
        return 0;
    const std::size_t dash = name.find('-');
    if (dash == std::string::npos)
        return 0;
    std::uint64_t pid = 0;
    const auto [end, ec] = std::from_chars(name.data() + 1, name.data() + dash, pid);
    return ec == std::errc() && end == name.data() + dash ? pid : 0;
}

class Worker {
public:
    Worker(shm::Region& region, std::uint64_t seed)
        : m_region(region)
        , m_random(seed)
        , m_pid(static_cast<std::uint64_t>(::getpid()))
    {
    }

    int run(std::uint64_t maxOps)
    {
        if (!adoptOrphanRoots())
            return m_exitCode;
        for (std::uint64_t ops = 0; maxOps == 0 || ops < maxOps; ++ops) {
            if (!step())
                return m_exitCode;
        }
        return releaseEverything() ? ExitOk : m_exitCode;
    }

private:
    bool fail(int code, const QString& message)
    {
        printErr(QStringLiteral("worker %1: %2").arg(m_pid).arg(message));
        m_exitCode = code;
        return false;
    }

    bool failOn(const QString& what, shm::RegionError error)
    {
        return fail(ExitFailed, QStringLiteral("%1: %2").arg(what, QLatin1String(shm::errorMessage(error))));
    }

    std::uint64_t uniform(std::uint64_t low, std::uint64_t high) // inclusive
    {
        return std::uniform_int_distribution<std::uint64_t>(low, high)(m_random);
    }

    std::uint32_t randomLength()
    {
        // Mostly small blocks (they keep the lock busy, which is where kills hurt), some up to 64 KiB.
        const std::uint64_t bucket = uniform(0, 99);
        if (bucket < 80)
            return static_cast<std::uint32_t>(uniform(kMinStampedLength, 256));
        if (bucket < 95)
            return static_cast<std::uint32_t>(uniform(257, 4096));
        return static_cast<std::uint32_t>(uniform(4097, kMaxBlockBytes));
    }

    std::uint64_t randomAlignment() { return uniform(0, 99) < 70 ? 8u << uniform(0, 1) : 8u << uniform(2, 9); }

    bool step()
    {
        const std::uint64_t dice = uniform(0, 99);
        if (m_live.empty() || (m_live.size() < kMaxLiveBlocks && dice < 50))
            return allocateOne();
        if (dice < 94 || m_live.size() >= kMaxLiveBlocks)
            return freeLive(uniform(0, m_live.size() - 1));
        // Publishing a little more often than taking back keeps most workers holding roots when they
        // are killed, so their successors always have orphans to adopt.
        if (dice < 97 && m_roots.size() < kMaxOwnRoots)
            return publishOne();
        if (dice < 99 && !m_roots.empty())
            return takeBackRoot(uniform(0, m_roots.size() - 1));
        return freeLive(uniform(0, m_live.size() - 1));
    }

    bool allocateOne()
    {
        const std::uint32_t length = randomLength();
        auto offset = m_region.allocate(length, randomAlignment());
        if (!offset) {
            if (offset.error() == shm::RegionError::OutOfMemory)
                return makeRoom();
            return failOn(QStringLiteral("allocate(%1)").arg(length), offset.error());
        }
        void* payload = m_region.pointer(*offset, length);
        if (!payload)
            return fail(ExitFailed, QStringLiteral("allocate returned offset %1, outside the arena").arg(*offset));
        const auto key = static_cast<std::uint32_t>(m_random());
        writeStampedBlock(payload, length, key);
        m_live.push_back({ *offset, length, key });
        return true;
    }

    // A full region is normal under this load: give something back and carry on.
    bool makeRoom()
    {
        if (!m_live.empty())
            return freeLive(uniform(0, m_live.size() - 1));
        if (!m_roots.empty())
            return takeBackRoot(uniform(0, m_roots.size() - 1));
        return true;
    }

    bool verify(const LiveBlock& block, const QString& context)
    {
        const void* payload = m_region.pointer(block.offset, block.length);
        if (!payload)
            return fail(ExitVerifyFailed,
                QStringLiteral("%1: block at offset %2 is outside the arena").arg(context).arg(block.offset));
        const QString problem = verifyStampedBlock(payload, block.length, block.key);
        if (!problem.isEmpty())
            return fail(ExitVerifyFailed,
                QStringLiteral("%1: block at offset %2: %3").arg(context).arg(block.offset).arg(problem));
        return true;
    }

    bool verifyAndFree(const LiveBlock& block, const QString& context)
    {
        if (!verify(block, context))
            return false;
        if (auto freed = m_region.deallocate(block.offset); !freed)
            return failOn(QStringLiteral("%1: deallocate(%2)").arg(context).arg(block.offset), freed.error());
        return true;
    }

    bool freeLive(std::size_t index)
    {
        const LiveBlock block = m_live[index];
        m_live[index] = m_live.back();
        m_live.pop_back();
        return verifyAndFree(block, QStringLiteral("free"));
    }

    bool publishOne()
    {
        const std::size_t index = uniform(0, m_live.size() - 1);
        const LiveBlock block = m_live[index];
        const std::string name = "w" + std::to_string(m_pid) + "-" + std::to_string(m_nextRoot++);
        auto created = m_region.createRoot(name, block.offset);
        if (!created) {
            // A full region (the root table may need to grow) or a name left by an earlier process
            // with our pid: keep the block as it is and move on.
            if (created.error() == shm::RegionError::OutOfMemory || created.error() == shm::RegionError::RootExists)
                return true;
            return failOn(QStringLiteral("createRoot(%1)").arg(QString::fromStdString(name)), created.error());
        }
        m_live[index] = m_live.back();
        m_live.pop_back();
        m_roots.push_back({ name, block });
        return true;
    }

    bool takeBackRoot(std::size_t index)
    {
        const OwnRoot root = m_roots[index];
        m_roots[index] = m_roots.back();
        m_roots.pop_back();
        auto taken = m_region.takeRoot(root.name);
        if (!taken) {
            if (taken.error() == shm::RegionError::RootNotFound)
                return fail(ExitVerifyFailed,
                    QStringLiteral("root %1 of this live worker was taken by someone else")
                        .arg(QString::fromStdString(root.name)));
            return failOn(QStringLiteral("takeRoot(%1)").arg(QString::fromStdString(root.name)), taken.error());
        }
        if (*taken != root.block.offset)
            return fail(ExitVerifyFailed,
                QStringLiteral("root %1 points to offset %2, published as %3")
                    .arg(QString::fromStdString(root.name))
                    .arg(*taken)
                    .arg(root.block.offset));
        return verifyAndFree(root.block, QStringLiteral("take back %1").arg(QString::fromStdString(root.name)));
    }

    // Roots of workers that were killed would pile up over hundreds of kills. takeRoot() is atomic,
    // so when two new workers race for the same orphan exactly one gets it.
    bool adoptOrphanRoots()
    {
        // Roots first, processes second: a root's creator attached before creating it, so it is in
        // the later process list unless it has died. The other order would miss a worker that
        // attached and published in between, and steal a live worker's root.
        auto roots = m_region.roots();
        if (!roots)
            return failOn(QStringLiteral("roots()"), roots.error());
        auto processes = m_region.processes();
        if (!processes)
            return failOn(QStringLiteral("processes()"), processes.error());
        std::set<std::uint64_t> livePids;
        for (const shm::ProcessInfo& process : *processes) {
            if (process.liveness != shm::Liveness::Dead)
                livePids.insert(process.pid);
        }
        for (const shm::RootInfo& root : *roots) {
            const std::uint64_t owner = workerPidOf(root.name);
            // Our own pid here means an earlier process that had it: we have created nothing yet.
            if (owner == 0 || (owner != m_pid && livePids.count(owner) != 0))
                continue;
            auto taken = m_region.takeRoot(root.name);
            if (!taken) {
                if (taken.error() == shm::RegionError::RootNotFound)
                    continue;
                return failOn(QStringLiteral("takeRoot(%1)").arg(QString::fromStdString(root.name)), taken.error());
            }
            if (!adoptBlock(root.name, *taken))
                return false;
        }
        return true;
    }

    bool adoptBlock(const std::string& name, std::uint64_t offset)
    {
        const QString context = QStringLiteral("adopt %1").arg(QString::fromStdString(name));
        const void* head = m_region.pointer(offset, sizeof(BlockStamp));
        const auto stamp = head ? readStamp(head) : std::nullopt;
        if (!stamp || stamp->length < kMinStampedLength || stamp->length > kMaxBlockBytes)
            return fail(
                ExitVerifyFailed, QStringLiteral("%1: block at offset %2 has no valid stamp").arg(context).arg(offset));
        return verifyAndFree({ offset, stamp->length, stamp->key }, context);
    }

    bool releaseEverything()
    {
        while (!m_roots.empty()) {
            if (!takeBackRoot(m_roots.size() - 1))
                return false;
        }
        while (!m_live.empty()) {
            if (!freeLive(m_live.size() - 1))
                return false;
        }
        return true;
    }

    shm::Region& m_region;
    std::mt19937_64 m_random;
    std::uint64_t m_pid;
    std::uint64_t m_nextRoot = 0;
    std::vector<LiveBlock> m_live;
    std::vector<OwnRoot> m_roots;
    int m_exitCode = ExitOk;
};

// A worker must not outlive the supervisor that would kill it: that would leave a process hammering
// the region forever after a crashed test.
bool dieWithParent(std::int64_t parentPid)
{
#ifdef __linux__
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    return ::getppid() == parentPid;
}

} // namespace

namespace commy::ctl {

int runWorker(const QStringList& args)
{
    CommandParser parser(QStringLiteral("region worker"), QStringLiteral("PATH --seed N [--name NAME] [--ops N]"),
        QStringLiteral("Runs a self-verifying random allocate/free load until killed (or for --ops operations)."));
    parser.addPositional(QStringLiteral("PATH"), QStringLiteral("An existing region file."));
    parser.addOption(
        QCommandLineOption(QStringLiteral("seed"), QStringLiteral("Seed of the random load."), QStringLiteral("N")));
    parser.addOption(QCommandLineOption(
        QStringLiteral("name"), QStringLiteral("Name in the process table."), QStringLiteral("NAME")));
    parser.addOption(QCommandLineOption(QStringLiteral("ops"),
        QStringLiteral("Stop after N operations (default: run until killed)."), QStringLiteral("N")));
    QCommandLineOption parentOption(
        QStringLiteral("parent"), QStringLiteral("Exit when this process dies."), QStringLiteral("PID"));
    parentOption.setFlags(QCommandLineOption::HiddenFromHelp);
    parser.addOption(parentOption);
    if (!parser.parse(args))
        return ExitOk;
    if (!parser.isSet(QStringLiteral("seed")))
        parser.fail(QStringLiteral("--seed is required"));
    const std::uint64_t seed = parser.number(QStringLiteral("seed"), 0, ~std::uint64_t { 0 });
    const std::uint64_t ops
        = parser.isSet(QStringLiteral("ops")) ? parser.number(QStringLiteral("ops"), 1, ~std::uint64_t { 0 }) : 0;
    const QString name = parser.isSet(QStringLiteral("name")) ? parser.value(QStringLiteral("name"))
                                                              : QStringLiteral("worker-%1").arg(seed);
    if (parser.isSet(QStringLiteral("parent"))) {
        const auto parent = static_cast<std::int64_t>(parser.number(QStringLiteral("parent"), 1, 0x7fffffff));
        if (!dieWithParent(parent))
            return ExitFailed;
    }

    // Odd seeds keep the local cache on, even seeds take the lock for every call: a torture run
    // kills processes in the middle of both paths.
    auto region = openExistingOrReport(parser.positional(0), seed % 2 == 1 ? 64 * 1024 : 0);
    if (!region)
        return ExitCannotOpen;
    if (auto slot = region->attach(name.toStdString()); !slot) {
        printErr(QStringLiteral("worker %1: cannot attach: %2")
                     .arg(::getpid())
                     .arg(QLatin1String(shm::errorMessage(slot.error()))));
        return ExitFailed;
    }
    region->startHeartbeatThread();
    return Worker(*region, seed).run(ops);
}

} // namespace commy::ctl
