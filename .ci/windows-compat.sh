#!/usr/bin/env bash
# One region file, used in turn by the Linux commy-region and the Windows commy-region.exe under wine:
# each opens, checks, reads what the other wrote, writes and grows it. Both builds have the same ABI
# fingerprint on x86-64, so neither may refuse the other's file.
# Usage: bash .ci/windows-compat.sh path/to/commy-region.exe   (wine's server and prefix already up)
set -euo pipefail
cd "$(dirname "$0")/.."
windows_tool="$1"
wine=/usr/lib/wine/wine64

# The Linux tool: from the dev build when there is one, else an engine-only build of its own.
linux_tool=build/dev/bin/commy-region
if [ ! -x "$linux_tool" ]; then
  cmake -S . -B build/engine-linux -G Ninja -DCOMMY_ENGINE_ONLY=ON -DCOMMY_BUILD_TESTS=OFF \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 >/dev/null
  cmake --build build/engine-linux --target commy-region -j "$(nproc)"
  linux_tool=build/engine-linux/bin/commy-region
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
file="$dir/compat.region"
winfile=$(winepath -w "$file" 2>/dev/null)

linux() { "$linux_tool" "$@"; }
windows() { "$wine" "$windows_tool" "$@" | tr -d '\r'; }
expect() { # expect WANT GOT WHAT
  if [ "$1" != "$2" ]; then
    echo "windows-compat: $3: expected '$1', got '$2'" >&2
    exit 1
  fi
}

linux create "$file" 1M 8M >/dev/null
linux put "$file" from-linux "written on Linux"
linux check "$file" >/dev/null

expect ok "$(windows check "$winfile")" "Windows checks the Linux file"
expect "written on Linux" "$(windows get "$winfile" from-linux)" "Windows reads Linux's root"
windows put "$winfile" from-windows "written on Windows"
windows grow "$winfile" 2M >/dev/null
expect ok "$(windows check "$winfile")" "Windows checks after its changes"

expect ok "$(linux check "$file")" "Linux checks the file Windows changed"
expect "written on Windows" "$(linux get "$file" from-windows)" "Linux reads Windows's root"
expect "size 2097152" "$(linux info "$file" | grep '^size ')" "Linux sees Windows's grow"
linux put "$file" from-linux "rewritten on Linux"
linux grow "$file" 4M >/dev/null

expect "rewritten on Linux" "$(windows get "$winfile" from-linux)" "Windows reads the rewritten root"
expect "size 4194304" "$(windows info "$winfile" | grep '^size ')" "Windows sees Linux's grow"
expect ok "$(windows check "$winfile")" "Windows checks the file at the end"
echo "windows-compat: one region file moved Linux -> Windows -> Linux -> Windows intact"
