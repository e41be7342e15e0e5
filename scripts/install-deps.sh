#!/bin/sh
# Installs the Debian packages camrig needs.
#   scripts/install-deps.sh build   what building and running camrig needs
#   scripts/install-deps.sh test    that, plus what the test suite and benchmarks use,
#                                   and puppeteer-core from npm (the version pinned in
#                                   tests/browser/package-lock.json) into tests/browser/node_modules
#   scripts/install-deps.sh arm64   what cross-building for arm64 needs (scripts/cross-arm64.sh):
#                                   the cross compiler, qemu-user, and the arm64 (multiarch) -dev
#                                   package of each library, except OpenCV's, which cannot be
#                                   installed beside the host's (it is not Multi-Arch: same), so
#                                   the cross build has no analysis; a build on the Pi itself has.
# Run as root (or it uses sudo). Safe to run again: apt-get skips what is there, and
# npm runs only when the lock file changed.
set -eu
what=${1:-build}
build_pkgs="meson ninja-build pkg-config gcc g++
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  libturbojpeg0-dev libjpeg62-turbo-dev libmicrohttpd-dev libgnutls28-dev libcrypt-dev libjansson-dev libcyaml-dev libyaml-dev
  libcurl4-openssl-dev libncurses-dev libsystemd-dev libgpiod-dev libmosquitto-dev libcamera-dev libcamera-ipa
  libaravis-dev libusb-1.0-0-dev libopencv-dev opencv-data"
test_pkgs="libcmocka-dev ffmpeg curl openssl v4l-utils libcamera-tools libcamera-v4l2 python3 procps psmisc systemd stress-ng prometheus
  tmux aravis-tools
  qemu-system-x86 busybox-static kmod cpio ustreamer chromium
  clang-14 libclang-rt-14-dev llvm-14
  opencv-doc python3-opencv motion mosquitto mosquitto-clients janus iproute2 util-linux"
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
case $what in
  build) pkgs=$build_pkgs ;;
  test) pkgs="$build_pkgs $test_pkgs" ;;
  arm64)
    pkgs="meson ninja-build pkg-config crossbuild-essential-arm64 qemu-user libcmocka-dev:arm64"
    for p in $build_pkgs; do
      case $p in libopencv-dev) ;; *-dev) pkgs="$pkgs $p:arm64" ;; esac
    done
    dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64 ;;
  *) echo "usage: $0 build|test|arm64" >&2; exit 2 ;;
esac
missing=
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
# Node and npm for the browser tests, unless some other package already
# provides the commands (a nodejs that bundles npm conflicts with Debian's npm).
if [ "$what" = test ]; then
  command -v node >/dev/null || missing="$missing nodejs"
  command -v npm >/dev/null || missing="$missing npm"
fi
if [ -n "$missing" ]; then
  echo "camrig: installing:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# The tests' npm packages, at the versions each package-lock.json pins, into
# node_modules beside it (gitignored): puppeteer-core for the browser tests,
# the official MCP SDK for the MCP client tests.
if [ "$what" = test ]; then
  for dir in browser mcp; do
    d=$(cd "$(dirname "$0")/../tests/$dir" && pwd)
    if ! cmp -s "$d/package-lock.json" "$d/node_modules/.camrig-installed-lock"; then
      echo "camrig: installing the $dir tests' npm packages (npm ci in tests/$dir)" >&2
      (cd "$d" && npm ci --no-audit --no-fund --loglevel=error) >&2
      cp "$d/package-lock.json" "$d/node_modules/.camrig-installed-lock"
    fi
  done
fi
