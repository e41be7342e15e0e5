#!/bin/sh
# Installs what the tests need (Debian packages), builds camrig twice (with
# -Werror, and with AddressSanitizer + UBSan) and runs every test: unit tests,
# the fuzz corpora and integration tests in both builds, device tests (QEMU +
# vivid) in the first; then each libFuzzer target for 10 s (scripts/fuzz.sh,
# a third build in build-fuzz/); then the arm64 cross build's unit tests,
# fuzz corpora and smoke test under qemu-user (scripts/cross-arm64.sh, in
# build-arm64/). Ends with one line "camrig tests: N passed, N failed,
# N skipped".
#   scripts/test.sh [--no-vm]     --no-vm leaves out the device tests
set -eu
cd "$(dirname "$0")/.."
vm=1
[ "${1:-}" = "--no-vm" ] && vm=0
scripts/install-deps.sh test

rm -rf build-test build-asan build-fuzz
meson setup build-test --werror --buildtype=debugoptimized >/dev/null
meson setup build-asan --werror --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-test
ninja -C build-asan

status=0
suites="--suite unit --suite fuzz --suite integration"
[ $vm = 1 ] && suites="$suites --suite vm"
# shellcheck disable=SC2086
meson test -C build-test --print-errorlogs $suites || status=1
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp" \
	meson test -C build-asan --print-errorlogs --suite unit --suite fuzz --suite integration --timeout-multiplier 3 ||
	status=1
scripts/fuzz.sh --seconds 10 || status=1
scripts/cross-arm64.sh --test || status=1

/usr/bin/python3 scripts/test-summary.py build-test/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
	build-arm64/meson-logs/testlog.json
exit $status
