#pragma once

namespace commy::commyd {

enum ExitCode : int {
    ExitOk = 0,
    ExitFailed = 1, // a runtime failure: the port is busy, the data directory or a TLS file is unusable
    ExitUsage = 2, // bad command line or configuration file
};

} // namespace commy::commyd
