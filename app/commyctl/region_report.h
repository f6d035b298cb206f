#pragma once

#include <commy/shm/container_reader.h>
#include <commy/shm/region.h>

#include <QJsonObject>
#include <QStringList>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace commy::ctl {

// Everything `region info` shows, read in one go so text and JSON describe the same moment.
struct RegionSnapshot {
    QString path;
    shm::AllocatorStats stats;
    std::vector<shm::RootInfo> roots;
    // The containers among the roots whose summary could be read, by root name.
    std::map<std::string, shm::ContainerSummary> containers;
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

// `region dump` as text: the container's summary, then one line per element shown.
QStringList dumpToText(const shm::ContainerSummary& summary, const std::vector<shm::DecodedElement>& elements,
    std::uint64_t offset, std::uint64_t limit);

std::uint64_t wallClockNs();

} // namespace commy::ctl
