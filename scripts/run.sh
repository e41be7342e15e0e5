#!/bin/sh
# Installs what camrig needs (Debian packages), builds it, and runs
# `camrig run` with any arguments given; with none, the built-in default
# (the first camera, else the test pattern) on http://127.0.0.1:8080/.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
[ $# -gt 0 ] || set -- run
exec build/camrig "$@"
