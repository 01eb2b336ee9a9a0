#!/usr/bin/env bash
# Benchmarks the engine on the playback job of a 1080p source (vidpipe engine run, release build): the job is the
# golden file crates/core/tests/golden/playback_1920x1080.json (the ladder 1080/720/540/360 in CMAF with HLS and
# DASH, video.mp4, the poster, the storyboard's frames) with its source and folder pointed at the work dir. The
# source is what a browser records: VP8/Opus WebM, 1920x1080 at 30 fps (testsrc2: full-frame motion, the worst case).
# Prints the wall speed (times real time), the CPU seconds (user + sys) and the bytes of each rendition and file.
#
# Usage: scripts/bench-playback.sh [work-dir]
#   BENCH_SECONDS   source length (default 60); the work dir and its outputs are kept
#   VIDPIPE_BIN     use this vidpipe binary instead of building the release one
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-60}
work=${1:-$(mktemp -d)}
mkdir -p "$work"
command -v ffmpeg >/dev/null || { echo "bench: ffmpeg missing (run scripts/setup.sh)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }

vidpipe=${VIDPIPE_BIN:-}
if [ -z "$vidpipe" ]; then
  echo "== building vidpipe (release)"
  cargo build --release --quiet -p vidpipe-cli
  vidpipe=$PWD/target/release/vidpipe
fi

source=$work/source.webm
if [ ! -s "$source" ]; then
  echo "== generating the ${seconds}s 1080p WebM source in $work"
  ffmpeg -y -hide_banner -loglevel error -f lavfi -i "testsrc2=size=1920x1080:rate=30" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$seconds" \
    -c:v libvpx -deadline realtime -cpu-used 8 -b:v 6M -c:a libopus "$source"
fi

out=$work/playback
rm -rf "$out" && mkdir -p "$out"
sed -e "s|s3://vidpipe-uploads/streams/s-42_camera.webm|$source|" \
    -e "s|s3://vidpipe-uploads/streams/s-42_camera/playback/|$out/|" \
    crates/core/tests/golden/playback_1920x1080.json > "$work/job.json"

echo "== vidpipe engine run (the playback job)"
/usr/bin/time -f "%e %U %S" -o "$work/time.txt" "$vidpipe" engine run "$work/job.json" > "$work/event.json" 2> "$work/run.log"
read -r wall user sys < "$work/time.txt"
awk -v s="$seconds" -v w="$wall" -v u="$user" -v y="$sys" 'BEGIN {
  printf "source %d s 1920x1080 VP8/Opus; wall %.1f s = %.2fx real time; CPU %.1f s (user+sys) = %.2fx on one core\n",
    s, w, s / w, u + y, s / (u + y) }'

echo "== bytes per rendition and file"
for rung in 1080p 720p 540p 360p; do
  bytes=$(find "$out" -maxdepth 1 -name "index_${rung}*" -printf '%s\n' | awk '{ t += $1 } END { print t + 0 }')
  [ "$bytes" -gt 0 ] && printf "%-12s %10d bytes (%.2f Mb/s)\n" "$rung" "$bytes" "$(echo "$bytes * 8 / $seconds / 1000000" | bc -l)"
done
audio=$(find "$out" -maxdepth 1 -name "index_*audio*" -printf '%s\n' | awk '{ t += $1 } END { print t + 0 }')
printf "%-12s %10d bytes\n" audio "$audio"
for file in video.mp4 poster.0000001.jpg; do
  [ -f "$out/$file" ] && printf "%-12s %10d bytes\n" "$file" "$(stat -c %s "$out/$file")"
done
printf "%-12s %10d bytes (%d files)\n" thumbs "$(du -sb "$out/thumbs" | cut -f1)" "$(ls "$out/thumbs" | wc -l)"
