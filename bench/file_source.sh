#!/bin/sh
# The file source's own cost: CPU per frame of `camrig run --source file:IN`
# with no client and no recording, beside the ffmpeg CLI decoding the same
# input at the same pace (`ffmpeg -re -i IN -f null -`), and beside camrig
# asked for another format (--format NV12: every picture converted with
# libswscale, as the file source did for every format before it handed the
# decoder's pictures on).
#
# Input: 1280x720 30 fps H.264 yuv420p (testsrc2, libx264 veryfast, 2 s
# GOP), written once; camrig loops it. camrig's cost is the CPU time (utime
# + stime of all its threads, /proc/PID/stat) over the window / the frames
# it captured in the window (/status frames.captured), after a 2 s warm-up;
# ffmpeg's is its whole CPU time (/usr/bin/time) / the same number of
# frames. Rounds alternate between the three and the medians are printed,
# since a shared machine is noisy. Prints numbers; never fails on timing.
#   bench/file_source.sh [CAMRIG] [SECONDS] [ROUNDS]
set -eu
camrig=${1:-build/camrig}
secs=${2:-10}
rounds=${3:-3}
fps=30
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
tck=$(getconf CLK_TCK)
ffmpeg -v error -f lavfi -i "testsrc2=size=1280x720:rate=$fps" -frames:v $(((secs + 5) * fps)) -pix_fmt yuv420p \
	-c:v libx264 -preset veryfast -g $((2 * fps)) "$work/in.mp4"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
captured() {
	curl -s "127.0.0.1:$1/status" |
		/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["cameras"][0]["frames"]["captured"])'
}
stream() {
	curl -s "127.0.0.1:$1/status" |
		/usr/bin/python3 -c 'import json, sys; s = json.load(sys.stdin)["cameras"][0]["stream"] or {}
print(s.get("borrowed", "-"), s.get("copied", "-"))'
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

# camrig NAME [ARGS...]: one window; appends ms/frame to $work/NAME.ms.
camrig_round() {
	name=$1
	shift
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$camrig" run --source "file:$work/in.mp4" --listen 127.0.0.1:$port --log-level warn \
		-o camera.recording.pre_trigger=0 "$@" &
	pid=$!
	sleep 2
	t0=$(ticks $pid) n0=$(captured $port)
	sleep "$secs"
	t1=$(ticks $pid) n1=$(captured $port)
	set -- $(stream $port)
	kill $pid
	wait $pid || true
	pid=
	frames=$((n1 - n0))
	echo "$t0 $t1 $tck $frames" | awk '{printf "%.3f\n", ($2 - $1) / $3 * 1000 / $4}' >> "$work/$name.ms"
	printf '  camrig %-9s %s ms/frame, %s frames in %s s (stream.borrowed %s, copied %s)\n' "$name" \
		"$(tail -1 "$work/$name.ms")" "$frames" "$secs" "$1" "$2"
}

: > "$work/handed.ms"
: > "$work/converted.ms"
: > "$work/ffmpeg.ms"
for round in $(seq "$rounds"); do
	echo "round $round:"
	camrig_round handed
	camrig_round converted --format NV12
	n=$((secs * fps))
	cpu=$({ /usr/bin/time -f '%U %S' ffmpeg -v error -re -i "$work/in.mp4" -frames:v $n -f null - ; } 2>&1 |
		tail -1 | awk '{print $1 + $2}')
	echo "$cpu $n" | awk '{printf "%.3f\n", $1 * 1000 / $2}' >> "$work/ffmpeg.ms"
	printf '  ffmpeg -re -f null     %s ms/frame, %s frames\n' "$(tail -1 "$work/ffmpeg.ms")" "$n"
done
h=$(median < "$work/handed.ms")
v=$(median < "$work/converted.ms")
f=$(median < "$work/ffmpeg.ms")
printf 'median CPU per frame, 1280x720 %s fps H.264, no client: camrig %s ms (%.1f%% of a core), camrig --format NV12 %s ms (%.1f%%), ffmpeg %s ms (%.1f%%)\n' \
	"$fps" "$h" "$(echo "$h * $fps / 10" | bc -l)" "$v" "$(echo "$v * $fps / 10" | bc -l)" "$f" \
	"$(echo "$f * $fps / 10" | bc -l)"
printf 'ratio camrig / ffmpeg: %.3f\n' "$(echo "$h / $f" | bc -l)"
