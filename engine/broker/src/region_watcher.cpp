#include "region_watcher.h"

#include <commy/shm/region.h>

#include <QMetaObject>

#include <chrono>

namespace commy::broker {

namespace {
// How long one wait lasts: the longest a stop request waits for the thread.
constexpr std::chrono::milliseconds kWaitSlice { 200 };
} // namespace

RegionWatcher::RegionWatcher(const QString& regionPath, std::uint64_t fromSequence,
    std::optional<std::uint32_t> brokerSlot, QObject* context, std::function<void()> onChange)
    : m_context(context)
    , m_onChange(std::move(onChange))
{
    m_thread = std::thread(
        [this, path = regionPath.toStdString(), fromSequence, brokerSlot] { run(path, fromSequence, brokerSlot); });
}

RegionWatcher::~RegionWatcher()
{
    requestStop();
    if (m_thread.joinable())
        m_thread.join();
}

void RegionWatcher::requestStop() { m_stop.store(true, std::memory_order_relaxed); }

void RegionWatcher::run(std::string path, std::uint64_t seen, std::optional<std::uint32_t> brokerSlot)
{
    shm::RegionOptions options;
    options.mode = shm::OpenMode::OpenExisting;
    auto region = shm::Region::open(path, options);
    if (!region)
        return; // the broker's own handle reports problems with the file
    while (!m_stop.load(std::memory_order_relaxed)) {
        const std::uint64_t now = (*region)->waitForChange(seen, kWaitSlice, brokerSlot);
        if (now == seen)
            continue;
        seen = now;
        if (m_queued->exchange(true))
            continue; // the broker has not handled the previous wake-up yet; it will read this too
        QMetaObject::invokeMethod(
            m_context,
            [queued = m_queued, onChange = m_onChange] {
                queued->store(false);
                onChange();
            },
            Qt::QueuedConnection);
    }
}

} // namespace commy::broker
