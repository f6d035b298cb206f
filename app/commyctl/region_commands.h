#pragma once

#include <commy/shm/region.h>

#include <QString>
#include <QStringList>

#include <memory>

namespace commy::ctl {

// `commyctl region <command>`: each takes its arguments (args[0] is the command's own name) and
// returns the process exit code (see exit_codes.h).
int runCreate(const QStringList& args);
int runInfo(const QStringList& args);
int runCheck(const QStringList& args);
int runBlocks(const QStringList& args);
int runResize(const QStringList& args);
int runShrink(const QStringList& args);
int runCleanup(const QStringList& args);
int runDump(const QStringList& args);

// Opens an existing region, or prints why not and returns null. `localCacheBytes` as RegionOptions.
std::unique_ptr<shm::Region> openExistingOrReport(
    const QString& path, std::uint64_t localCacheBytes = shm::RegionOptions {}.localCacheBytes);

} // namespace commy::ctl
