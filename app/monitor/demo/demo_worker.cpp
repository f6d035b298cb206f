#include <monitor/demo/demo_worker.h>

#include <commy/shm/region.h>
#include <commy/shm/shared_box.h>
#include <commy/shm/shared_btree_map.h>
#include <commy/shm/shared_btree_set.h>
#include <commy/shm/shared_hash_map.h>
#include <commy/shm/shared_hash_set.h>
#include <commy/shm/shared_string.h>
#include <commy/shm/shared_vec.h>
#include <commy/shm/shared_vec_deque.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <poll.h>
#include <signal.h>
#include <unistd.h>

namespace commy::monitor {

namespace {

using shm::Region;
using shm::RegionError;

// Set by SIGTERM / SIGINT. The main loop checks it between ticks; poll() returns early with EINTR
// when the signal lands on the main thread, otherwise the tick's wait (well under a second) ends first.
volatile std::sig_atomic_t g_stopRequested = 0;

void onStopSignal(int) { g_stopRequested = 1; }

// Installs the stop handlers for the worker's lifetime and puts the previous ones back.
class StopSignals {
public:
    StopSignals()
    {
        g_stopRequested = 0;
        struct sigaction action = {};
        action.sa_handler = onStopSignal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0; // no SA_RESTART: a waiting poll() returns at once
        sigaction(SIGTERM, &action, &m_previousTerm);
        sigaction(SIGINT, &action, &m_previousInt);
        // The "attached" line goes to a pipe whose reader may be gone: that must not kill us
        // before we have detached.
        struct sigaction ignore = {};
        ignore.sa_handler = SIG_IGN;
        sigemptyset(&ignore.sa_mask);
        sigaction(SIGPIPE, &ignore, &m_previousPipe);
    }
    ~StopSignals()
    {
        sigaction(SIGTERM, &m_previousTerm, nullptr);
        sigaction(SIGINT, &m_previousInt, nullptr);
        sigaction(SIGPIPE, &m_previousPipe, nullptr);
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

private:
    struct sigaction m_previousTerm = {};
    struct sigaction m_previousInt = {};
    struct sigaction m_previousPipe = {};
};

// Waits up to `timeoutMs` for input on stdin and drains it; true once stdin is at end of file (or
// unusable: without a parent's pipe to watch, a worker would have no way to notice its parent is gone).
bool stdinClosed(int timeoutMs)
{
    pollfd input = { STDIN_FILENO, POLLIN, 0 };
    const int ready = ::poll(&input, 1, timeoutMs);
    if (ready < 0)
        return errno != EINTR;
    if (ready == 0)
        return false;
    if (input.revents & POLLNVAL)
        return true;
    char buffer[256];
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n == 0)
        return true;
    if (n < 0)
        return errno != EINTR && errno != EAGAIN;
    return false;
}

std::string clockText()
{
    const std::time_t now = std::time(nullptr);
    std::tm local = {};
    localtime_r(&now, &local);
    char text[16];
    std::strftime(text, sizeof text, "%H:%M:%S", &local);
    return text;
}

constexpr std::array<const char*, 8> kItems
    = { "bolts", "nuts", "washers", "brackets", "gaskets", "bearings", "springs", "rivets" };
constexpr std::array<const char*, 5> kAlarms = { "overtemp", "low-pressure", "door-open", "belt-slip", "e-stop" };
constexpr std::array<const char*, 4> kDocks = { "dock 1", "dock 2", "dock 3", "dock 4" };

// Bounds that keep a service's region far from full however long the demo runs.
constexpr std::size_t kMaxReadings = 120;
constexpr std::size_t kMaxEvents = 40;
constexpr std::size_t kMaxOrders = 60;
constexpr std::size_t kMaxTickets = 30;
constexpr std::size_t kMaxBlocks = 64;
constexpr std::uint64_t kMaxBlockBudget = 512 * 1024;

class DemoWorker {
public:
    DemoWorker(Region& region, std::string name)
        : m_region(region)
        , m_name(std::move(name))
        , m_random(std::random_device {}() ^ static_cast<std::uint64_t>(::getpid()))
        // A sixteenth of the region per worker: a service's workers, and those killed but not yet
        // cleaned up, fit several times over.
        , m_budget(std::min<std::uint64_t>(kMaxBlockBudget, region.size() / 16))
        , m_phase(uniform(0.0, 6.28))
    {
    }

    void tick()
    {
        churnBlocks();
        updateContainers();
    }

    // Frees every block this worker holds (a clean exit leaves nothing for cleanup).
    void releaseBlocks()
    {
        for (const Block& block : m_blocks)
            (void)m_region.deallocate(block.offset);
        m_blocks.clear();
        m_heldBytes = 0;
    }

private:
    struct Block {
        std::uint64_t offset = 0;
        std::uint64_t bytes = 0;
    };

    double uniform(double low, double high) { return std::uniform_real_distribution<double>(low, high)(m_random); }
    std::uint64_t below(std::uint64_t bound)
    {
        return std::uniform_int_distribution<std::uint64_t>(0, bound - 1)(m_random);
    }
    bool chance(double p) { return uniform(0.0, 1.0) < p; }

    // Mostly small blocks, some pages, a few large ones: the mix that shows holes in the block map.
    std::uint64_t pickSize()
    {
        const double r = uniform(0.0, 1.0);
        if (r < 0.6)
            return 24 + below(500);
        if (r < 0.9)
            return 1024 + below(7 * 1024);
        return 16 * 1024 + below(48 * 1024);
    }

    void freeRandomBlock()
    {
        if (m_blocks.empty())
            return;
        const std::size_t index = below(m_blocks.size());
        (void)m_region.deallocate(m_blocks[index].offset);
        m_heldBytes -= m_blocks[index].bytes;
        m_blocks[index] = m_blocks.back();
        m_blocks.pop_back();
    }

    // A full region (or one nearly so) is answered by giving memory back, never by failing.
    void relieve()
    {
        for (std::size_t i = 0, n = (m_blocks.size() + 1) / 2; i < n; ++i)
            freeRandomBlock();
    }

    void churnBlocks()
    {
        const std::uint64_t steps = 1 + below(3);
        for (std::uint64_t step = 0; step < steps; ++step) {
            // A random walk that hovers around half the budget.
            const bool grow = m_blocks.empty() || chance(m_heldBytes < m_budget / 2 ? 0.7 : 0.35);
            if (!grow) {
                freeRandomBlock();
                continue;
            }
            const std::uint64_t bytes = pickSize();
            if (m_heldBytes + bytes > m_budget || m_blocks.size() >= kMaxBlocks) {
                freeRandomBlock();
                continue;
            }
            auto offset = m_region.allocate(bytes);
            if (!offset) {
                relieve();
                continue;
            }
            m_blocks.push_back({ *offset, bytes });
            m_heldBytes += bytes;
        }
    }

    // Finds the shared root `name`, creating it when no worker has yet.
    template <class C> C* ensure(std::optional<C>& container, const char* name)
    {
        if (container)
            return &*container;
        auto attached = C::attach(m_region, name);
        if (attached) {
            container.emplace(std::move(*attached));
            return &*container;
        }
        if (attached.error() != RegionError::RootNotFound)
            return nullptr;
        auto created = C::create(m_region, name);
        if (created) {
            container.emplace(std::move(*created));
            return &*container;
        }
        if (created.error() == RegionError::OutOfMemory)
            relieve();
        return nullptr; // another worker created it meanwhile: attach on the next tick
    }

    // Whether an operation succeeded. A full region frees blocks; any other failure (the root was
    // removed, say) drops the handle so that the next tick attaches again.
    template <class C, class Result> bool succeeded(std::optional<C>& container, const Result& result)
    {
        if (result)
            return true;
        if (result.error() == RegionError::OutOfMemory || result.error() == RegionError::LimitExceeded)
            relieve();
        else
            container.reset();
        return false;
    }

    void updateContainers()
    {
        ++m_cycle;
        m_phase += 0.15;
        const double temperature = 60.0 + 8.0 * std::sin(m_phase) + uniform(-0.6, 0.6);

        if (auto* readings = ensure(m_readings, "readings")) {
            if (succeeded(m_readings, readings->push(std::round(temperature * 10.0) / 10.0))) {
                auto n = readings->size();
                if (n && *n > kMaxReadings)
                    (void)succeeded(m_readings, readings->remove(0));
            }
        }
        if (auto* cycles = ensure(m_cycles, "cycles"))
            (void)succeeded(m_cycles, cycles->modify([](std::int64_t& value) { ++value; }));

        if (chance(0.5)) {
            if (auto* status = ensure(m_status, "status")) {
                char text[192];
                std::snprintf(text, sizeof text,
                    "{\"worker\":\"%s\",\"state\":\"%s\",\"cycle\":%lld,\"temperature\":%.1f,\"blocks\":%zu}",
                    m_name.c_str(), temperature > 66.0 ? "hot" : "running", static_cast<long long>(m_cycle),
                    temperature, m_blocks.size());
                (void)succeeded(m_status, status->assign(text));
            }
        }
        if (chance(0.4)) {
            if (auto* events = ensure(m_events, "events")) {
                const bool ok = chance(0.9);
                const std::string line
                    = clockText() + " " + m_name + ": cycle " + std::to_string(m_cycle) + (ok ? " ok" : " retried");
                if (succeeded(m_events, events->pushBack(line))) {
                    auto n = events->size();
                    if (n && *n > kMaxEvents)
                        (void)succeeded(m_events, events->popFront());
                }
            }
        }
        if (chance(0.5)) {
            if (auto* inventory = ensure(m_inventory, "inventory")) {
                const char* item = kItems[below(kItems.size())];
                const std::int64_t delta = static_cast<std::int64_t>(below(41)) - 18;
                auto changed = inventory->modify(
                    item, [delta](std::int64_t& count) { count = std::max<std::int64_t>(0, count + delta); });
                if (succeeded(m_inventory, changed) && !*changed)
                    (void)succeeded(m_inventory, inventory->insert(item, 100 + static_cast<std::int64_t>(below(400))));
            }
        }
        if (chance(0.3)) {
            if (auto* orders = ensure(m_orders, "orders")) {
                const auto id = static_cast<std::int64_t>(100000 + below(900000));
                const std::string text = std::to_string(1 + below(40)) + " x " + kItems[below(kItems.size())] + " -> "
                    + kDocks[below(kDocks.size())];
                if (succeeded(m_orders, orders->insert(id, text))) {
                    auto n = orders->size();
                    if (n && *n > kMaxOrders) {
                        auto oldest = orders->first();
                        if (succeeded(m_orders, oldest) && oldest->has_value())
                            (void)succeeded(m_orders, orders->remove((*oldest)->first));
                    }
                }
            }
        }
        if (chance(0.2)) {
            if (auto* alarms = ensure(m_alarms, "alarms")) {
                const char* alarm = kAlarms[below(kAlarms.size())];
                // Raised more rarely than cleared: most of the time only a few are active.
                if (chance(0.35))
                    (void)succeeded(m_alarms, alarms->insert(alarm));
                else
                    (void)succeeded(m_alarms, alarms->remove(alarm));
            }
        }
        if (chance(0.25)) {
            if (auto* tickets = ensure(m_tickets, "tickets")) {
                if (succeeded(m_tickets, tickets->insert(static_cast<std::int64_t>(4000 + below(6000))))) {
                    auto n = tickets->size();
                    if (n && *n > kMaxTickets) {
                        auto oldest = tickets->first();
                        if (succeeded(m_tickets, oldest) && oldest->has_value())
                            (void)succeeded(m_tickets, tickets->remove(**oldest));
                    }
                }
            }
        }
    }

    Region& m_region;
    std::string m_name;
    std::mt19937_64 m_random;
    std::uint64_t m_budget;
    double m_phase;
    std::int64_t m_cycle = 0;
    std::vector<Block> m_blocks;
    std::uint64_t m_heldBytes = 0;

    std::optional<shm::SharedVec<double>> m_readings;
    std::optional<shm::SharedBox<std::int64_t>> m_cycles;
    std::optional<shm::SharedString> m_status;
    std::optional<shm::SharedVecDeque<shm::SharedString>> m_events;
    std::optional<shm::SharedHashMap<shm::SharedString, std::int64_t>> m_inventory;
    std::optional<shm::SharedBTreeMap<std::int64_t, shm::SharedString>> m_orders;
    std::optional<shm::SharedHashSet<shm::SharedString>> m_alarms;
    std::optional<shm::SharedBTreeSet<std::int64_t>> m_tickets;
};

} // namespace

int runDemoWorker(const QStringList& arguments)
{
    const qsizetype flag = arguments.indexOf(QStringLiteral("--demo-worker"));
    const qsizetype first = flag < 0 ? 0 : flag + 1;
    if (arguments.size() < first + 2) {
        std::fprintf(stderr, "usage: --demo-worker <region path> <process name>\n");
        return 2;
    }
    const std::string path = arguments.at(first).toStdString();
    const std::string name = arguments.at(first + 1).toStdString();

    StopSignals stopSignals;
    shm::RegionOptions options;
    options.mode = shm::OpenMode::OpenExisting;
    // Freed blocks go straight back to the region, so the block map shows the holes they leave.
    options.localCacheBytes = 0;
    auto opened = Region::open(path, options);
    if (!opened) {
        std::fprintf(stderr, "demo worker %s: cannot open %s: %s\n", name.c_str(), path.c_str(),
            shm::errorMessage(opened.error()));
        return 1;
    }
    Region& region = **opened;
    auto slot = region.attach(name);
    if (!slot) {
        std::fprintf(stderr, "demo worker %s: cannot attach: %s\n", name.c_str(), shm::errorMessage(slot.error()));
        return 1;
    }
    region.startHeartbeatThread(std::chrono::milliseconds(200));
    std::printf("attached %u\n", *slot);
    std::fflush(stdout);

    DemoWorker worker(region, name);
    std::mt19937 pace(std::random_device {}());
    while (!g_stopRequested) {
        worker.tick();
        // A few ticks a second, not in step with the other workers.
        if (stdinClosed(150 + static_cast<int>(pace() % 200)))
            break;
    }
    worker.releaseBlocks();
    region.stopHeartbeatThread();
    (void)region.detach();
    return 0;
}

} // namespace commy::monitor
