#pragma once

#include <commy/shm/region.h>

#include <QJsonObject>
#include <QStringList>

#include <cstdint>
#include <vector>

namespace commy::ctl {

// Everything `region info` shows, read in one go so text and JSON describe the same moment.
struct RegionSnapshot {
    QString path;
    shm::AllocatorStats stats;
    std::vector<shm::RootInfo> roots;
    std::vector<shm::ProcessInfo> processes;
    std::uint64_t takenAtNs = 0; // wall clock, to turn heartbeats into ages
};

shm::RegionExpected<RegionSnapshot> takeSnapshot(shm::Region& region);

QJsonObject snapshotToJson(const RegionSnapshot& snapshot);
QStringList snapshotToText(const RegionSnapshot& snapshot);

QJsonObject blocksToJson(const QString& path, const std::vector<shm::BlockInfo>& blocks);
QStringList blocksToText(const std::vector<shm::BlockInfo>& blocks);

QJsonObject cleanupToJson(const shm::CleanupReport& report);
QStringList cleanupToText(const shm::CleanupReport& report);

const char* rootKindName(shm::RootKind kind);
std::uint64_t wallClockNs();

} // namespace commy::ctl
