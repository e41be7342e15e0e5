#!/bin/sh
# Builds camrig for arm64 (a Raspberry Pi with a 64-bit OS) on an x86-64
# Debian machine, in build-arm64/, with the cross file cross/arm64-linux-gnu.ini
# and Debian's multiarch arm64 libraries (scripts/install-deps.sh arm64
# installs them). With --test it then runs, under qemu-user, the unit tests,
# the fuzz corpora and the smoke test (tests/integration/test_smoke.py: the
# test pattern as /snapshot.jpg, a 3 s recording `camrig verify` accepts).
#   scripts/cross-arm64.sh [--test]
# The binary is build-arm64/camrig, with its modules camrig-libcamera.so and
# camrig-aravis.so beside it (camrig looks there, then in LIBDIR/camrig);
# copy them all to the Pi,
# which needs the same
# libraries (scripts/install-deps.sh build there installs them), or build
# there natively (README, Raspberry Pi).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh arm64
rm -rf build-arm64
meson setup build-arm64 --cross-file cross/arm64-linux-gnu.ini --werror --buildtype=debugoptimized >/dev/null
ninja -C build-arm64
if [ "${1:-}" = --test ]; then
  meson test -C build-arm64 --print-errorlogs --suite unit --suite fuzz --suite integration
fi
