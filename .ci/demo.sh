#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, and runs the live engine demo
# (worker processes hammering one region while some are SIGKILLed; Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target commyctl
exec ./build/release/bin/commyctl region demo "$@"
