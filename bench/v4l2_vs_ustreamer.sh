#!/bin/sh
# camrig against Debian's ustreamer on the same V4L2 device and settings,
# inside a QEMU guest with the kernel's vivid driver (shared/tools/vm-run):
# 640x480 YUYV 25 fps, JPEG quality 80, 2 stream clients for 20 s each.
# Prints delivered fps per client, CPU time per delivered frame and peak RSS
# for each (bench/v4l2_vs_ustreamer.py says how each is measured).
#
# Usage: bench/v4l2_vs_ustreamer.sh [CAMRIG_BINARY]   (default build/camrig)
# Environment: VM_RUN (path of vm-run), BENCH_SECONDS, BENCH_CLIENTS,
# VM_RUN_CPUS (guest CPUs, default 2).
# The guest runs code 10-20x slower than the host: compare the two servers
# with each other, not with numbers from real hardware. Not a test: it never
# fails on timing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
camrig=$(cd "$(dirname "${1:-$root/build/camrig}")" && pwd)/$(basename "${1:-$root/build/camrig}")
vm_run=${VM_RUN:-$root/../shared/tools/vm-run}
[ -x "$camrig" ] || { echo "no camrig binary at $camrig (build it, or pass its path)" >&2; exit 1; }
[ -x "$vm_run" ] || { echo "vm-run not found at $vm_run (set VM_RUN)" >&2; exit 1; }
command -v ustreamer >/dev/null || { echo "ustreamer is not installed (apt-get install ustreamer)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/camrig-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cp "$camrig" "$work/camrig"
cp "$here/v4l2_vs_ustreamer.py" "$work/"
cd "$work"
"$vm_run" "CAMRIG=\$PWD/camrig BENCH_SECONDS=${BENCH_SECONDS:-20} BENCH_CLIENTS=${BENCH_CLIENTS:-2} \
	python3 v4l2_vs_ustreamer.py > bench.log 2>&1" > vm.log 2>&1 || rc=$?
cat bench.log 2>/dev/null || tail -20 vm.log
exit "${rc:-0}"
