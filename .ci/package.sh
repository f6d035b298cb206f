#!/usr/bin/env bash
# The package stage: packs the dev build (build/dev, made by `.ci/test.sh dev`; nothing is compiled
# again) into a .deb and a .tar.gz, installs the .deb on this machine and tries what was installed:
# commyd serves one authenticated commyctl request and stops on SIGTERM; commy-monitor renders a
# screenshot offscreen; a consumer program builds against the installed package with CMake and with
# pkg-config and runs; the man pages cover every option of each program's --help. Then it purges the
# package and checks that nothing it installed is left. Runs as root, or uses sudo.
# Usage: bash .ci/package.sh            (packages land in build/dev/packages)
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$PWD
build_dir=$source_dir/build/dev
package_dir=$build_dir/packages

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive

[ -f "$build_dir/CMakeCache.txt" ] || { echo "package: no dev build; run 'bash .ci/test.sh dev' first" >&2; exit 1; }
bash .ci/install-deps.sh

work=$(mktemp -d)
commyd_pid=""
cleanup() {
    local status=$?
    if [ -n "$commyd_pid" ] && kill -0 "$commyd_pid" 2>/dev/null; then
        kill -KILL "$commyd_pid" 2>/dev/null || true
        wait "$commyd_pid" 2>/dev/null || true
    fi
    if dpkg-query -W -f='${Status}' commy 2>/dev/null | grep -q 'installed'; then
        "${sudo_cmd[@]}" apt-get purge -y -qq commy >/dev/null || true
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

fail() {
    echo "package: FAILED: $*" >&2
    exit 1
}

# Polls a command once a second up to a number of seconds.
wait_for() {
    local seconds=$1
    shift
    for ((i = 0; i < seconds; i++)); do
        "$@" && return 0
        sleep 1
    done
    "$@"
}

# A run before this one may have stopped half-way: start from a machine without the package.
if dpkg-query -W -f='${Status}' commy 2>/dev/null | grep -q 'installed'; then
    echo "package: purging a commy package left installed"
    "${sudo_cmd[@]}" apt-get purge -y -qq commy >/dev/null
fi

# --- Pack ----------------------------------------------------------------------------------------
# The package's paths are /usr, /etc and /lib/systemd. The install prefix changes only install rules,
# so after the dev stage the build has nothing to compile; it is run to be sure the tree is complete.
cmake -S . -B "$build_dir" -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
compiled=$(cmake --build "$build_dir" | grep -c 'Building CXX' || true)
[ "$compiled" -eq 0 ] || echo "package: note: the dev build was not up to date ($compiled files compiled)"
rm -rf "$package_dir"
cpack --config "$build_dir/CPackConfig.cmake" -B "$package_dir" -G "DEB;TGZ" >/dev/null
deb=$(ls "$package_dir"/commy_*.deb)
tgz=$(ls "$package_dir"/commy-*.tar.gz)
echo "package: $(basename "$deb") $(du -k "$deb" | cut -f1) KiB, $(basename "$tgz") $(du -k "$tgz" | cut -f1) KiB"
dpkg-deb --field "$deb" Package Version Depends
# Listed to a file first: grep -q closing the pipe early would fail tar under pipefail.
tar -tzf "$tgz" >"$work/tarball.txt"
grep -q '/usr/bin/commyd$' "$work/tarball.txt" || fail "the tarball has no usr/bin/commyd"

# --- Install -------------------------------------------------------------------------------------
"${sudo_cmd[@]}" apt-get install -y -qq "$deb" >/dev/null
dpkg -L commy | grep -v '^/\.$' >"$work/installed.txt"
echo "package: installed $(wc -l <"$work/installed.txt") paths"
for path in /usr/bin/commyd /usr/bin/commyctl /usr/bin/commy-monitor /etc/commy/commyd.conf \
    /lib/systemd/system/commyd.service /usr/share/applications/commy-monitor.desktop \
    /usr/share/icons/hicolor/scalable/apps/commy-monitor.svg /usr/share/icons/hicolor/48x48/apps/commy-monitor.png \
    /usr/share/metainfo/io.github.commy.Monitor.metainfo.xml /usr/share/man/man1/commyd.1.gz \
    /usr/include/commy/shm/region.h /usr/lib/x86_64-linux-gnu/pkgconfig/commy.pc \
    /usr/lib/x86_64-linux-gnu/cmake/Commy/CommyConfig.cmake; do
    [ -e "$path" ] || fail "$path is not installed"
done
getent passwd commy >/dev/null || fail "postinst made no commy user"
grep -qx /etc/commy/commyd.conf <(dpkg-query --control-show commy conffiles | cut -d' ' -f1) \
    || fail "/etc/commy/commyd.conf is not a conffile"

# --- Metadata ------------------------------------------------------------------------------------
appstreamcli validate --no-net /usr/share/metainfo/io.github.commy.Monitor.metainfo.xml
desktop-file-validate /usr/share/applications/commy-monitor.desktop
# --man=no: a CI machine has no man-db; the pages themselves are checked below.
systemd-analyze verify --man=no /lib/systemd/system/commyd.service
bash .ci/check-man-pages.sh /usr/bin /usr/share/man/man1

# --- commyd: ready line, one authenticated request, SIGTERM -> exit 0 -----------------------------
admin_key="ci.0123456789abcdefPACKAGE"
: >"$work/commyd.out"
COMMY_BOOTSTRAP_ADMIN_KEY=$admin_key /usr/bin/commyd --listen 127.0.0.1:0 --data-dir "$work/data" \
    >"$work/commyd.out" 2>"$work/commyd.err" &
commyd_pid=$!
ready() { grep -q '^commyd listening on ' "$work/commyd.out" || ! kill -0 "$commyd_pid" 2>/dev/null; }
wait_for 30 ready || fail "commyd printed no ready line in 30 s: $(cat "$work/commyd.err")"
url=$(sed -n 's/^commyd listening on \(ws:\/\/[^ ]*\)$/\1/p' "$work/commyd.out")
[ -n "$url" ] || fail "commyd exited: $(cat "$work/commyd.out" "$work/commyd.err")"
commyctl --url "$url" --key "$admin_key" tenant create packaged
commyctl --url "$url" --key "$admin_key" tenant list | tee "$work/tenants.txt"
grep -q packaged "$work/tenants.txt" || fail "tenant list does not show the tenant just created"
kill -TERM "$commyd_pid"
stopped() { ! kill -0 "$commyd_pid" 2>/dev/null; }
wait_for 30 stopped || fail "commyd did not stop within 30 s of SIGTERM"
commyd_status=0
wait "$commyd_pid" || commyd_status=$?
commyd_pid=""
[ "$commyd_status" -eq 0 ] || fail "commyd exited $commyd_status after SIGTERM: $(cat "$work/commyd.err")"
echo "package: commyd served, answered commyctl and exited 0 on SIGTERM"

# --- commy-monitor: a screenshot offscreen, from the installed files -------------------------------
mkdir -p "$work/home" "$work/runtime"
chmod 700 "$work/runtime"
# A private HOME: the monitor's remembered settings must not outlive the check.
HOME=$work/home XDG_RUNTIME_DIR=$work/runtime QT_QPA_PLATFORM=offscreen \
    timeout 120 /usr/bin/commy-monitor --demo --screenshot "$work/monitor.png" --timeout 60
shot_bytes=$(stat -c %s "$work/monitor.png" 2>/dev/null || echo 0)
[ "$shot_bytes" -gt 20000 ] || fail "the screenshot is missing or nearly empty ($shot_bytes bytes)"
file "$work/monitor.png" | grep -q 'PNG image data' || fail "the screenshot is not a PNG"
echo "package: commy-monitor rendered a $shot_bytes-byte screenshot"

# --- A consumer of the installed package: CMake (find_package) and pkg-config ----------------------
cmake -S installer/consumer -B "$work/consumer-cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/consumer-cmake" >/dev/null
mkdir -p "$work/run-cmake" "$work/run-pc"
"$work/consumer-cmake/commy_consumer" "$work/run-cmake"
# shellcheck disable=SC2046 # pkg-config's flags are meant to split into words
g++ -std=c++20 installer/consumer/main.cpp $(pkg-config --cflags --libs commy) -o "$work/consumer-pc"
"$work/consumer-pc" "$work/run-pc"
echo "package: the consumer built with find_package(Commy) and with pkg-config, and ran"

# --- Purge: nothing left behind -----------------------------------------------------------------
"${sudo_cmd[@]}" apt-get purge -y -qq commy >/dev/null
left=0
while IFS= read -r path; do
    [ -e "$path" ] || [ -L "$path" ] || continue
    # A folder may stay when another package owns it too (/usr/bin, /lib/systemd/system, ...).
    if [ -d "$path" ] && dpkg-query -S "$path" >/dev/null 2>&1; then
        continue
    fi
    echo "package: left behind: $path" >&2
    left=1
done <"$work/installed.txt"
[ "$left" -eq 0 ] || fail "the purge left files behind"
[ ! -e /etc/commy ] || fail "/etc/commy is left"
[ ! -e /var/lib/commy ] || fail "/var/lib/commy is left"
! getent passwd commy >/dev/null || fail "the commy user is left"
for exe in /proc/[0-9]*/exe; do
    case "$(readlink "$exe" 2>/dev/null)" in
    /usr/bin/commyd | "/usr/bin/commyd (deleted)") fail "a commyd process is left: ${exe%/exe}" ;;
    esac
done
echo "package: purged; nothing left behind"
