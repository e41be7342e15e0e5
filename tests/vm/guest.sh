#!/bin/sh
# Device tests: boots a QEMU guest with the kernel's vivid V4L2 driver and
# vimc, the media-controller camera libcamera drives (shared/tools/vm-run,
# beside the repository), and runs one guest script in it against the real
# camrig:
#   tests/vm/guest.sh tests/vm/v4l2_guest.py     formats, list, controls, errors
#   tests/vm/guest.sh tests/vm/record_guest.py   20 s of recording without gaps
#   tests/vm/guest.sh tests/vm/resume_guest.py   unplugged and plugged in again while recording
#   tests/vm/guest.sh tests/vm/libcamera_guest.py  the libcamera source on vimc (auto, sizes, controls, recording)
#   tests/vm/guest.sh tests/vm/raw_guest.py    vimc's raw Bayer node, its sensor set through the sub-device API
#   tests/vm/guest.sh tests/vm/sensors_guest.py  an iio_dummy channel as a sensor
#   tests/vm/guest.sh tests/vm/gpio_guest.py     the button and LEDs on a gpio-sim chip (skips without it)
#
# Exits 0, 1 (a check failed) or 77 (skipped: no vm-run, no QEMU, or the
# guest could not start). $CAMRIG is the binary (meson sets it); $VM_RUN
# overrides the path of vm-run. The binary and the scripts are copied into a
# scratch directory that vm-run mounts read-write in the guest, so the test
# works wherever the build directory is (the guest's /tmp is its own).
set -u
[ $# -eq 1 ] || { echo "usage: $0 GUEST_SCRIPT.py"; exit 2; }
script=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
camrig=${CAMRIG:-$root/build/camrig}
vm_run=${VM_RUN:-$root/../shared/tools/vm-run}

skip() { echo "SKIP: $*"; exit 77; }
[ -x "$camrig" ] || { echo "FAIL: $camrig is not built"; exit 1; }
[ -f "$script" ] || { echo "FAIL: no guest script $script"; exit 1; }
[ -x "$vm_run" ] || skip "vm-run not found at $vm_run (set VM_RUN)"
command -v qemu-system-x86_64 >/dev/null 2>&1 || [ -w /var/lib/dpkg ] ||
	skip "qemu-system-x86_64 is not installed and cannot be installed by vm-run (not root)"

work=$(mktemp -d "$(dirname "$camrig")/vm-$(basename "$script" .py).XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
cp "$camrig" "$work/camrig"
# camrig's modules (camrig-libcamera.so, camrig-opencv.so) go beside it.
for module in "$(dirname "$camrig")"/camrig-*.so; do
	[ -e "$module" ] && cp "$module" "$work/"
done
cp "$script" "$root/tests/integration/camrig_test.py" "$root/tests/integration/record_util.py" "$work/"

start=$(date +%s)
(cd "$work" && "$vm_run" "CAMRIG=\$PWD/camrig PYTHONDONTWRITEBYTECODE=1 CAMRIG_TEST_SLOW=6 \
	timeout 900 python3 $(basename "$script") > guest.log 2>&1") > "$work/vm.log" 2>&1
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
