#!/bin/sh
# Recording at a high frame rate: 900x600 GREY at 100 fps from the test
# source, recorded for SECONDS (default 60) with h264 (libx264 ultrafast) and
# with mjpeg. Prints, per codec, the frames in the file, the frames missing
# (sidecar "dropped" + "lost" rows; target 0), the camera's own drops, and the
# daemon's CPU use while recording (% of one core; the test pattern's own
# drawing is a good part of it), and that of the encoder and recorder
# threads alone. "lost" rows here are frame periods the test pattern's thread
# missed (a busy machine), "dropped" rows frames camrig's queues dropped.
# Never fails on numbers.
#   bench/record_grey100.sh [CAMRIG] [SECONDS]
set -eu
camrig=${1:-build/camrig}
secs=${2:-60}
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
tck=$(getconf CLK_TCK)
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# CPU ticks of the encoder and recorder threads (venc:*, rec:*, and the
# encoder's own threads, which inherit the name).
enc_ticks() {
	for t in /proc/$1/task/*; do
		case $(cat "$t/comm") in venc:* | rec:*) awk '{print $14 + $15}' "$t/stat" ;; esac
	done | awk '{s += $1} END {print s + 0}'
}

for codec in h264 mjpeg; do
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$camrig" run --source test --size 900x600 --fps 100 --format GREY --listen 127.0.0.1:$port --log-level warn \
		-o camera.recording.codec=$codec -o camera.recording.preset=ultrafast -o camera.recording.gray=true \
		-o camera.recording.pre_trigger=0 -o camera.recording.root="$work/$codec" \
		-o camera.recording.min_free_mb=0 &
	pid=$!
	sleep 2
	"$camrig" record start --duration "$secs" --listen 127.0.0.1:$port >/dev/null
	a=$(cpu_of $pid); ea=$(enc_ticks $pid); t0=$(date +%s.%N)
	while curl -s "127.0.0.1:$port/api/record" | grep -q '"state": "recording"\|"state": "stopping"'; do sleep 0.5; done
	b=$(cpu_of $pid); eb=$(enc_ticks $pid); t1=$(date +%s.%N)
	status=$(curl -s "127.0.0.1:$port/status")
	kill $pid; wait $pid || true
	pid=
	file=$(find "$work/$codec" -name '*.mkv' | head -1)
	csv=${file%.mkv}.csv
	n=$(grep -c ',recorded,' "$csv")
	missing=$(grep -c ',dropped,\|,lost,' "$csv" || true)
	pool=$(echo "$status" | /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin)["cameras"][0]; print(s["frames"]["dropped_pool"], s["recording"]["encoder"]["dropped"], round(s["recording"]["encoder"]["encode_ms"], 2))')
	cpu=$(echo "($b - $a) / $tck / ($t1 - $t0) * 100" | bc -l)
	enc=$(echo "($eb - $ea) / $tck / ($t1 - $t0) * 100" | bc -l)
	size=$(stat -c %s "$file")
	printf '%-5s: %d frames in %.1f s, %d missing (sidecar gap rows); pool drops, encoder-queue drops, encode ms: %s; CPU %.0f%% of one core (encoder + recorder %.0f%%); %.1f MB/s\n' \
		"$codec" "$n" "$(echo "$t1 - $t0" | bc -l)" "$missing" "$pool" "$cpu" "$enc" "$(echo "$size / $secs / 1000000" | bc -l)"
	"$camrig" verify "$file" | tail -1
done
