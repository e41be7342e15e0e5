#!/bin/sh
# Builds camrig's fuzz targets (tests/fuzz/) as libFuzzer binaries, with
# clang, AddressSanitizer and UBSan, in build-fuzz/, and runs each over a
# copy of its corpus (tests/fuzz/corpus/TARGET/), with its dictionary
# (tests/fuzz/TARGET.dict) when there is one.
#   scripts/fuzz.sh [--seconds N] [--runs N] [TARGET...]
#     --seconds N  how long each target runs, default 10 (CI); e.g. 600 to benchmark; 0: no limit
#     --runs N     stop a target after N executions (e.g. --seconds 0 --runs 10000000)
#     TARGET       command config http_files http_head http_params json lsl mqtt ntfy sidecar (default: all)
# Prints one line per target: its name, executions, executions per second,
# and crashes: 0, or the file libFuzzer saved the input in
# (build-fuzz/crashes/TARGET/; replay it with
# build-fuzz/tests/fuzz/fuzz_TARGET FILE). A leak, a timeout or running out
# of memory counts as a crash. Inputs libFuzzer finds go to a temporary copy
# of the corpus, never into the tree. Exits 1 when a target crashed, 2 on a
# usage error. Needs clang-14 and libclang-rt-14-dev (scripts/install-deps.sh test).
set -eu
cd "$(dirname "$0")/.."

all="command config http_files http_head http_params json lsl mqtt ntfy sidecar"
seconds=10
runs=
usage() {
	echo "usage: $0 [--seconds N] [--runs N] [TARGET...]; targets: $all" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) [ $# -ge 2 ] || usage; seconds=$2; shift 2 ;;
	--runs) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
	-*) usage ;;
	*) break ;;
	esac
done
case "$seconds${runs:-0}" in *[!0-9]*) usage ;; esac
targets=${*:-$all}
for t in $targets; do
	case " $all " in *" $t "*) ;; *) echo "$0: unknown target $t" >&2; usage ;; esac
done

# The longest input worth trying, per target: a little more than what the
# parser reads at most, so that its limit is tried too.
max_len() {
	case $1 in
	command) echo 1100 ;;     # a command line: 1024 bytes
	config) echo 4096 ;;
	http_files) echo 4200 ;;  # a path: PATH_MAX 4096
	http_params) echo 2048 ;;
	json) echo 1024 ;;
	lsl) echo 4200 ;;         # a UDP datagram and a TCP request: 4096 bytes each
	mqtt) echo 4200 ;;        # a command message: 4096 bytes
	ntfy) echo 8192 ;;
	sidecar) echo 4096 ;;     # sidecar lines: 512 bytes
	esac
}

clang=
for c in "${CC:-}" clang-14 clang; do
	if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && "$c" --version 2>/dev/null | grep -q clang; then
		clang=$c
		break
	fi
done
[ -n "$clang" ] || { echo "$0: no clang found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }
# The C++ adapters (libcamera, OpenCV) make meson link with the C++ compiler:
# clang's too, for -fsanitize=fuzzer.
clangxx=$(echo "$clang" | sed 's/clang/clang++/')
command -v "$clangxx" >/dev/null 2>&1 || { echo "$0: no $clangxx found (Debian: clang-14)" >&2; exit 2; }

# Coverage for camrig itself: every file is instrumented (fuzzer-no-link);
# the targets link libFuzzer (tests/fuzz/meson.build, -Dfuzz=true).
setup() {
	meson setup "$@" build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
		--buildtype=debugoptimized "-Dc_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined" >/dev/null
}
if [ -f build-fuzz/meson-private/coredata.dat ]; then
	setup --reconfigure
else
	rm -rf build-fuzz
	CC=$clang CXX=$clangxx setup
fi
# shellcheck disable=SC2046
if ! ninja -C build-fuzz $(for t in $targets; do printf 'tests/fuzz/fuzz_%s ' "$t"; done) >build-fuzz/ninja.log 2>&1; then
	grep -E 'error|FAILED' build-fuzz/ninja.log | head -20 >&2
	echo "$0: building the fuzz targets failed (build-fuzz/ninja.log)" >&2
	exit 1
fi

# The corpus copies, and the targets' own files (TMPDIR, see tests/fuzz/fuzz.h),
# in memory when /dev/shm is there.
base=${TMPDIR:-/tmp}
[ -n "${TMPDIR:-}" ] || [ ! -w /dev/shm ] || base=/dev/shm
work=$(mktemp -d "$base/camrig-fuzz-corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/tmp"
symbolizer=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0${symbolizer:+:external_symbolizer_path=$symbolizer}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
mkdir -p build-fuzz/logs
status=0
for t in $targets; do
	mkdir -p "$work/$t" "build-fuzz/crashes/$t"
	cp tests/fuzz/corpus/"$t"/* "$work/$t/"
	log=build-fuzz/logs/$t.log
	dict=
	[ -f "tests/fuzz/$t.dict" ] && dict=-dict=tests/fuzz/$t.dict
	rc=0
	# shellcheck disable=SC2086
	TMPDIR=$work/tmp build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$seconds" ${runs:+-runs=$runs} $dict -max_len="$(max_len "$t")" \
		-timeout=30 -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$t/" "$work/$t" >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
	if [ $rc -ne 0 ] && [ -z "$crash" ]; then
		crash="exit status $rc, see $log"
	fi
	[ -z "$crash" ] || status=1
	printf '%-12s %12s executions %8s exec/s  crashes: %s\n' "$t" "${execs:-?}" "${rate:-?}" "${crash:-0}"
done
exit $status
