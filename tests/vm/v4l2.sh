#!/bin/sh
# V4L2 device test: boots a QEMU guest with the kernel's vivid driver
# (shared/tools/vm-run, beside the repository) and runs tests/vm/v4l2_guest.py
# in it against the real `camrig run` on /dev/video0: 640x480 YUYV and GREY at
# 25 fps decoded by ffmpeg, `camrig list`, controls and error messages.
#
# Exits 0, 1 (a check failed) or 77 (skipped: no vm-run, no QEMU, or the
# guest could not start). $CAMRIG is the binary (meson sets it); $VM_RUN
# overrides the path of vm-run. The binary and the scripts are copied into a
# scratch directory that vm-run mounts read-write in the guest, so the test
# works wherever the build directory is (the guest's /tmp is its own).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
camrig=${CAMRIG:-$root/build/camrig}
vm_run=${VM_RUN:-$root/../shared/tools/vm-run}

skip() { echo "SKIP: $*"; exit 77; }
[ -x "$camrig" ] || { echo "FAIL: $camrig is not built"; exit 1; }
[ -x "$vm_run" ] || skip "vm-run not found at $vm_run (set VM_RUN)"
command -v qemu-system-x86_64 >/dev/null 2>&1 || [ -w /var/lib/dpkg ] ||
	skip "qemu-system-x86_64 is not installed and cannot be installed by vm-run (not root)"

work=$(mktemp -d "$(dirname "$camrig")/vm-v4l2.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
cp "$camrig" "$work/camrig"
cp "$here/v4l2_guest.py" "$root/tests/integration/camrig_test.py" "$work/"

start=$(date +%s)
(cd "$work" && "$vm_run" "CAMRIG=\$PWD/camrig PYTHONDONTWRITEBYTECODE=1 \
	timeout 480 python3 v4l2_guest.py > guest.log 2>&1") > "$work/vm.log" 2>&1
rc=$?
cat "$work/guest.log" 2>/dev/null
echo "vm-run exited $rc after $(($(date +%s) - start)) s"
case $rc in
0 | 1 | 77) exit $rc ;;
124) echo "FAIL: the guest checks did not finish within 480 s"; exit 1 ;;
esac
if [ ! -s "$work/guest.log" ]; then
	tail -20 "$work/vm.log"
	skip "the vivid guest could not start (vm-run exit $rc)"
fi
echo "FAIL: the guest script exited $rc"
exit 1
