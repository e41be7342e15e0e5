#!/bin/sh
# Recording CPU cost: the same input encoded by camrig and by the ffmpeg CLI
# with the same encoder settings, in CPU ms per frame, and the ratio
# camrig / ffmpeg (target: at most 1.05).
#
# Input: GREY 900x600 at 50 fps (lossless ffv1), written once into a file.
# camrig reads it through its file source (file:, paced at the clip's rate)
# and records it (libx264, pre_trigger 0 so only the recording encodes);
# its cost is the CPU time of the encoder and recorder threads (venc:*,
# rec:*, and the x264 threads they start), from /proc/PID/task/*/stat.
# ffmpeg reads the same file at the same rate (-re, as a camera delivers
# frames: paced encoding costs more per frame than encoding flat out) with
# the same libx264 settings; its cost is its CPU time minus that of the same
# command decoding only. (This libx264 has no GRAY8 input: ffmpeg converts to
# yuvj420p, camrig passes the luma plane with constant chroma.) Rounds
# alternate between the two and the medians are printed, since a shared
# machine is noisy. Prints numbers; never fails on timing.
#   bench/record_vs_ffmpeg.sh [CAMRIG] [SECONDS] [ROUNDS]
set -eu
camrig=${1:-build/camrig}
secs=${2:-20}
rounds=${3:-3}
fps=50
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
frames=$((secs * fps))
preset=ultrafast crf=23
tck=$(getconf CLK_TCK)
ffmpeg -v error -f lavfi -i "testsrc2=size=900x600:rate=$fps" -frames:v $((frames + 5 * fps)) -pix_fmt gray \
	-c:v ffv1 "$work/in.mkv"

# CPU ticks of camrig's threads whose name starts with venc: or rec:.
enc_ticks() {
	for t in /proc/$1/task/*; do
		case $(cat "$t/comm") in venc:* | rec:*) awk '{print $14 + $15}' "$t/stat" ;; esac
	done | awk '{s += $1} END {print s + 0}'
}
t() { { /usr/bin/time -f '%U %S' "$@" ; } 2>&1 | tail -1 | awk '{print $1 + $2}'; }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

: > "$work/camrig.ms"
: > "$work/ffmpeg.ms"
for round in $(seq "$rounds"); do
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$camrig" run --source "file:$work/in.mkv" --listen 127.0.0.1:$port --log-level warn \
		-o camera.recording.pre_trigger=0 -o camera.recording.codec=h264 -o camera.recording.preset=$preset \
		-o camera.recording.crf=$crf -o camera.recording.gop=1 -o camera.recording.gray=true \
		-o camera.recording.root="$work/rec$round" -o camera.recording.min_free_mb=0 &
	pid=$!
	sleep 2
	"$camrig" record start --duration "$secs" --listen 127.0.0.1:$port >/dev/null
	while curl -s "127.0.0.1:$port/api/record" | grep -q '"state": "recording"\|"state": "stopping"'; do sleep 0.5; done
	ticks=$(enc_ticks $pid)
	kill $pid; wait $pid || true
	pid=
	file=$(find "$work/rec$round" -name '*.mkv' | head -1)
	n=$(grep -c ',recorded,' "${file%.mkv}.csv")
	gaps=$(grep -c ',dropped,\|,lost,' "${file%.mkv}.csv" || true)
	echo "$ticks $tck $n" | awk '{printf "%.4f\n", $1 / $2 * 1000 / $3}' >> "$work/camrig.ms"

	enc=$(t ffmpeg -v error -re -i "$work/in.mkv" -frames:v $n -c:v libx264 -preset $preset -crf $crf -g $fps \
		-bf 0 -pix_fmt gray -y "$work/ff.mkv")
	dec=$(t ffmpeg -v error -re -i "$work/in.mkv" -frames:v $n -f null -)
	echo "$enc $dec $n" | awk '{printf "%.4f\n", ($1 - $2) * 1000 / $3}' >> "$work/ffmpeg.ms"
	printf 'round %d: camrig %s ms/frame (%d frames, %d gap rows), ffmpeg -re %s ms/frame\n' "$round" \
		"$(tail -1 "$work/camrig.ms")" "$n" "$gaps" "$(tail -1 "$work/ffmpeg.ms")"
done
c=$(median < "$work/camrig.ms")
f=$(median < "$work/ffmpeg.ms")
printf 'median: camrig %s ms CPU per frame, ffmpeg %s ms CPU per frame\n' "$c" "$f"
printf 'ratio camrig / ffmpeg: %.3f (target <= 1.05)\n' "$(echo "$c / $f" | bc -l)"
