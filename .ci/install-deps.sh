#!/usr/bin/env bash
# Installs the Debian packages Commy needs to build, test, benchmark and package; only what is missing.
# Usage: bash .ci/install-deps.sh [package...]   (packages given: only those, e.g. the Windows stage's)
# appstream, desktop-file-utils and systemd (systemd-analyze) validate the package's metadata.
set -euo pipefail

packages=(
  cmake ninja-build g++ dpkg-dev file pkg-config
  qt6-base-dev qt6-websockets-dev qt6-declarative-dev qt6-charts-dev qt6-qpa-plugins libqt6svg6
  qtkeychain-qt6-dev
  libqt6sql6-sqlite
  qml6-module-qtqml qml6-module-qtqml-models qml6-module-qtqml-workerscript
  qml6-module-qtquick qml6-module-qtquick-window qml6-module-qtquick-controls
  qml6-module-qtquick-templates qml6-module-qtquick-layouts qml6-module-qtquick-dialogs
  qml6-module-qt-labs-folderlistmodel qml6-module-qt-labs-settings qml6-module-qtcharts qml6-module-qttest
  libbenchmark-dev libboost-dev redis-server
  clang openssl libssl-dev
  xvfb xauth imagemagick x11-apps
  appstream desktop-file-utils systemd
)

if [ $# -gt 0 ]; then
  packages=("$@")
fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
