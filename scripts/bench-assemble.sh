#!/usr/bin/env bash
# Benchmarks the assembler on a long render: mixes a soundtrack for it (voice-over plus looped music) and joins its
# 1920x1080 30 fps chunks without re-encoding, through vidpipe-assembler's handler (the `assemble_local` example) on local
# files. Prints wall and CPU seconds of each step and the join's speed as a ratio of real time.
#
# Usage: scripts/bench-assemble.sh [work-dir]
#   BENCH_CHUNKS        chunks of 120 s (default 5, a 10-minute render)
# The chunk is rendered once (x264, no B-frames, 2 s GOPs, about 8 Mb/s, like a chunk job) and used for every chunk.
set -euo pipefail
cd "$(dirname "$0")/.."
chunks=${BENCH_CHUNKS:-5}
work=${1:-$(mktemp -d)}
mkdir -p "$work"
command -v ffmpeg >/dev/null || { echo "bench: ffmpeg missing (run scripts/setup.sh)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
q=(-y -hide_banner -loglevel error)
chunk_frames=3600
total_frames=$((chunks * chunk_frames))
seconds=$((total_frames / 30))

echo "== building the assemble_local example"
cargo build --quiet -p vidpipe-assembler --example assemble_local
invoke=$PWD/target/debug/examples/assemble_local

if [ ! -s "$work/chunk.mp4" ]; then
  echo "== rendering a 120 s 1080p chunk in $work"
  ffmpeg "${q[@]}" -f lavfi -i "testsrc2=size=1920x1080:rate=30" -frames:v "$chunk_frames" -an \
    -c:v libx264 -preset veryfast -b:v 8M -maxrate 8M -bufsize 16M -bf 0 -g 60 -pix_fmt yuv420p "$work/chunk.mp4"
  ffmpeg "${q[@]}" -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$seconds" -ac 2 "$work/vo.wav"
  ffmpeg "${q[@]}" -f lavfi -i "sine=frequency=220:sample_rate=44100" -t 37 -c:a libmp3lame "$work/music.mp3"
fi
list=""
for i in $(seq 0 $((chunks - 1))); do
  cp -f "$work/chunk.mp4" "$work/chunk-$i.mp4"
  list+="${list:+,}{\"index\": $i, \"start_frame\": $((i * chunk_frames)), \"end_frame\": $(((i + 1) * chunk_frames)),"
  list+=" \"output_uri\": \"$work/chunk-$i.mp4\"}"
done
cat > "$work/mix.json" <<JSON
{"action": "mix", "render_id": "bench", "soundtrack": {"voiceover": "$work/vo.wav", "music": "$work/music.mp3",
 "music_volume": 0.15}, "total_frames": $total_frames, "fps": 30, "output_uri": "$work/soundtrack.m4a"}
JSON
cat > "$work/assemble.json" <<JSON
{"action": "assemble", "render_id": "bench", "output": {"uri": "$work/render.mp4", "width": 1920, "height": 1080,
 "fps": 30}, "total_frames": $total_frames, "chunks": [$list], "soundtrack_uri": "$work/soundtrack.m4a"}
JSON

run() { # $1 = step
  /usr/bin/time -f '%e %U %S' -o "$work/$1.time" "$invoke" "$work/$1.json" > "$work/$1.out"
  read -r wall user sys < "$work/$1.time"
  echo "| $1 | $wall | $(python3 -c "print(f'{$user + $sys:.1f}')") | $(python3 -c "print(f'{$seconds / $wall:.0f}')") |"
}
echo
echo "| step | wall s | CPU s (user+sys) | x real time (${seconds} s render) |"
echo "|---|---|---|---|"
run mix
run assemble
echo
echo "output: $(cat "$work/assemble.out"), $(stat -c %s "$work/render.mp4" | awk '{printf "%.0f MB", $1 / 1e6}')," \
  "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(ffmpeg -version | head -1 | cut -d' ' -f1-3)"
