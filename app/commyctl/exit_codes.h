#pragma once

namespace commy::ctl {

// Distinct codes so scripts and tests can tell "the region is damaged" from "we could not even read it".
enum ExitCode : int {
    ExitOk = 0,
    ExitFailed = 1, // the region is inconsistent, or the operation was refused
    ExitCannotOpen = 2, // the file could not be opened or created as a region
    ExitVerifyFailed = 3, // a worker found a block whose contents were not what it wrote
    ExitUsage = 64, // bad command line (as sysexits' EX_USAGE)
};

} // namespace commy::ctl
