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
  libcurl4-openssl-dev libncurses-dev libsystemd-dev libgpiod-dev libcamera-dev libcamera-ipa"
test_pkgs="libcmocka-dev ffmpeg curl openssl v4l-utils libcamera-tools python3 procps psmisc
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
[ -n "$missing" ] || exit 0
echo "camrig: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
