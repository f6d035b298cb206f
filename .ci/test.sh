#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs the whole test suite.
# Usage: bash .ci/test.sh [preset]   (dev by default; asan runs the suite under ASan + UBSan)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-dev}"

bash .ci/install-deps.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
export QT_QPA_PLATFORM=offscreen
# Line tables only (-g1): sanitizer reports and backtraces keep file:line, and the build is faster than
# with full debug information.
cmake --preset "$preset" -DCMAKE_CXX_FLAGS_DEBUG=-g1
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)"
