#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, and opens commy-monitor on its embedded
# broker with the live demo workload (tenants, services, worker processes that allocate, heartbeat and
# sometimes die). Without a display it renders the window to build/commy-monitor-demo.png instead.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target commy-monitor
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "demo: no display; rendering the monitor offscreen instead"
  exec ./build/release/bin/commy-monitor --demo --view region --screenshot build/commy-monitor-demo.png "$@"
fi
exec ./build/release/bin/commy-monitor --demo "$@"
