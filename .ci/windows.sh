#!/usr/bin/env bash
# The engine on Windows: cross-builds engine_shm, its Qt-free tests and commy-region with MinGW-w64, runs
# the tests under wine, then moves one region file between the Linux and the Windows commy-region
# (.ci/windows-compat.sh). Only the engine is built, at -O1 without debug information, to keep the
# stage short.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
build=build/windows

bash .ci/install-deps.sh g++-mingw-w64-x86-64-posix wine64 wine

cmake --preset windows -DCMAKE_CXX_FLAGS_RELEASE=-O1 -DCOMMY_WERROR="${COMMY_WERROR:-OFF}" >/dev/null
cmake --build "$build" -j "$(nproc)"

# A private wine prefix, its server started before ctest and stopped at the end: without it every test
# waits for wine to start, or ctest hangs on a server that outlives the last test.
export WINEPREFIX="$PWD/$build/wineprefix"
export WINEDEBUG=-all
export WINEDLLOVERRIDES=winedbg.exe=d
wine=/usr/lib/wine/wine64
mkdir -p "$WINEPREFIX"
stop_wine() { wineserver -k 2>/dev/null || true; }
trap stop_wine EXIT
wineserver -p
"$wine" wineboot -i >/dev/null 2>&1

ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
bash .ci/windows-compat.sh "$build/bin/commy-region.exe"
echo "windows: finished in $(($(date +%s) - started)) s"
