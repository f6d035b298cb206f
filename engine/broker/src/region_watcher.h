#pragma once

// Follows one region's change journal from a thread of its own and wakes the broker's thread when
// something changed. The thread opens its own Region object (a Region is used by one thread at a
// time) and only waits: reading the changes happens on the broker's thread (ServiceRegions).
// At most one wake-up is queued at a time, so a burst of writes costs one event, not one per write.
// It starts from the sequence the broker has read up to, not from whatever the journal holds once the
// thread is running: a write made between the two would otherwise never wake anyone.
// The broker's own writes are pushed by the broker as it makes them, so they do not wake the thread
// (`brokerSlot`): waking it costs two thread switches and a journal read per write, for nothing.

#include <QObject>
#include <QString>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

namespace commy::broker {

class RegionWatcher {
public:
    // `onChange` runs on `context`'s thread; `context` must outlive the watcher. A change after
    // `fromSequence` (the journal sequence the caller has read up to) wakes it.
    RegionWatcher(const QString& regionPath, std::uint64_t fromSequence, std::optional<std::uint32_t> brokerSlot,
        QObject* context, std::function<void()> onChange);
    ~RegionWatcher(); // stops and joins the thread (within one wait interval)
    RegionWatcher(const RegionWatcher&) = delete;
    RegionWatcher& operator=(const RegionWatcher&) = delete;

    // Asks the thread to end without waiting for it; the destructor joins.
    void requestStop();

private:
    void run(std::string path, std::uint64_t seen, std::optional<std::uint32_t> brokerSlot);

    QObject* m_context; // outlives the watcher (the broker owns both)
    std::function<void()> m_onChange;
    std::shared_ptr<std::atomic<bool>> m_queued = std::make_shared<std::atomic<bool>>(false);
    std::atomic<bool> m_stop { false };
    std::thread m_thread;
};

} // namespace commy::broker
