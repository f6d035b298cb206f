#include "process_table.h"

#include "platform/platform.h"

#include <atomic>
#include <cstring>

namespace commy::shm::process_table {

using namespace format;

namespace {

ProcessSlot& slotAt(const RegionView& view, std::uint32_t slot) { return view.header().processes[slot]; }

std::uint64_t loadRelaxed(std::uint64_t& word)
{
    return std::atomic_ref<std::uint64_t>(word).load(std::memory_order_relaxed);
}

} // namespace

std::optional<std::uint32_t> claim(const RegionView& view, std::string_view name, Transaction& txn)
{
    for (std::uint32_t i = 0; i < kMaxProcesses; ++i) {
        ProcessSlot& slot = slotAt(view, i);
        if (slot.state != static_cast<std::uint64_t>(SlotState::Free))
            continue;
        // The fields only mean something once `state` says Attached, and only that word is
        // journaled: if we die before it is set, the slot is still free.
        const std::uint64_t pid = platform::currentPid();
        slot.pid = pid;
        slot.startTime = platform::processStartTime(pid);
        slot.attachedAtNs = platform::wallClockNs();
        std::atomic_ref<std::uint64_t>(slot.lastHeartbeatNs).store(slot.attachedAtNs, std::memory_order_relaxed);
        std::memset(slot.name, 0, sizeof slot.name);
        std::memcpy(slot.name, name.data(), std::min<std::size_t>(name.size(), sizeof slot.name - 1));
        txn.set(slot.state, static_cast<std::uint64_t>(SlotState::Attached));
        return i;
    }
    return std::nullopt;
}

void release(const RegionView& view, std::uint32_t slot, Transaction& txn)
{
    txn.set(slotAt(view, slot).state, static_cast<std::uint64_t>(SlotState::Free));
}

void heartbeat(const RegionView& view, std::uint32_t slot)
{
    std::atomic_ref<std::uint64_t>(slotAt(view, slot).lastHeartbeatNs)
        .store(platform::wallClockNs(), std::memory_order_relaxed);
}

bool isAttached(const RegionView& view, std::uint32_t slot)
{
    return slot < kMaxProcesses && slotAt(view, slot).state == static_cast<std::uint64_t>(SlotState::Attached);
}

bool isDead(const RegionView& view, std::uint32_t slot)
{
    const ProcessSlot& s = slotAt(view, slot);
    return isAttached(view, slot) && platform::processGone(s.pid, s.startTime);
}

ProcessInfo describe(const RegionView& view, std::uint32_t slot, std::chrono::milliseconds staleAfter)
{
    ProcessSlot& s = slotAt(view, slot);
    ProcessInfo info;
    info.slot = slot;
    info.pid = s.pid;
    info.startTime = s.startTime;
    info.name.assign(s.name, strnlen(s.name, sizeof s.name));
    info.attachedAtNs = s.attachedAtNs;
    info.lastHeartbeatNs = loadRelaxed(s.lastHeartbeatNs);
    const std::uint64_t now = platform::wallClockNs();
    const auto staleNs = static_cast<std::uint64_t>(std::chrono::nanoseconds(staleAfter).count());
    // Dead is the OS's verdict only; a silent heartbeat makes a process Stale, never Dead.
    if (platform::processGone(s.pid, s.startTime))
        info.liveness = Liveness::Dead;
    else if (now > info.lastHeartbeatNs && now - info.lastHeartbeatNs > staleNs)
        info.liveness = Liveness::Stale;
    else
        info.liveness = Liveness::Alive;
    return info;
}

std::vector<ProcessInfo> list(const RegionView& view, std::chrono::milliseconds staleAfter)
{
    std::vector<ProcessInfo> result;
    for (std::uint32_t i = 0; i < kMaxProcesses; ++i) {
        if (isAttached(view, i))
            result.push_back(describe(view, i, staleAfter));
    }
    return result;
}

} // namespace commy::shm::process_table
