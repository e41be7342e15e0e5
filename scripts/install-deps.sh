#!/bin/sh
# Installs the Debian packages camrig needs.
#   scripts/install-deps.sh build   what building and running camrig needs
#   scripts/install-deps.sh test    that, plus what the test suite and benchmarks use
# Run as root (or it uses sudo). Safe to run again: apt-get skips what is there.
set -eu
what=${1:-build}
build_pkgs="meson ninja-build pkg-config gcc g++
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  libturbojpeg0-dev libmicrohttpd-dev libgnutls28-dev libcrypt-dev libjansson-dev libcyaml-dev libyaml-dev
  libcurl4-openssl-dev libncurses-dev libsystemd-dev libgpiod-dev
  libaravis-dev libusb-1.0-0-dev"
test_pkgs="libcmocka-dev ffmpeg curl openssl v4l-utils python3 procps psmisc aravis-tools nodejs
  qemu-system-x86 busybox-static kmod cpio ustreamer chromium
  clang-14 libclang-rt-14-dev llvm-14"
case $what in
  build) pkgs=$build_pkgs ;;
  test) pkgs="$build_pkgs $test_pkgs" ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
missing=
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "camrig: installing:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# The tests' MCP client: the official SDK from npm, at the versions
# tests/mcp/package-lock.json pins, into tests/mcp/node_modules (gitignored).
if [ "$what" = test ]; then
  command -v npm >/dev/null || $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
  mcp="$(cd "$(dirname "$0")/../tests/mcp" && pwd)"
  if [ ! -f "$mcp/node_modules/.package-lock.json" ] || ! cmp -s "$mcp/package-lock.json" "$mcp/.installed-lock"; then
    echo "camrig: installing the MCP test client (npm ci in tests/mcp)" >&2
    (cd "$mcp" && npm ci --no-audit --no-fund --silent && cp package-lock.json .installed-lock)
  fi
fi
