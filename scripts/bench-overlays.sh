#!/usr/bin/env bash
# Measures what a product overlay's animation costs in a chunk job: the CreateJob JSON that job-builder returns
# (compact bytes: what travels in the Step Functions state, whose payloads are limited to 256 KB; and its number of
# InsertableImages: a zoom or a slide is one image per animation frame) and the engine's render time of that job
# (wall and CPU seconds). One chunk: a 10 s still scene at 1280x720 30 fps with a 384x216 product at a quarter of
# the width, for each animation and length below (2000 ms is the longest: 60 frames at 30 fps).
#
# Usage: scripts/bench-overlays.sh [work-dir]
#   VIDPIPE_BIN   the vidpipe binary (default: target/debug/vidpipe, built if missing; the Rust side only builds the
#                 job and plans the ffmpeg run, so a debug build measures ffmpeg)
#   BENCH_RUNS    engine runs per job (default 3; the table shows the median wall time and its run's CPU time)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
runs=${BENCH_RUNS:-3}
mkdir -p "$work"
command -v ffmpeg >/dev/null || { echo "bench: ffmpeg missing (run scripts/setup.sh)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
bin=${VIDPIPE_BIN:-target/debug/vidpipe}
if [ ! -x "$bin" ]; then
  echo "== building vidpipe" >&2
  cargo build --quiet -p vidpipe-cli --bin vidpipe
fi
q=(-y -hide_banner -loglevel error)
ffmpeg "${q[@]}" -f lavfi -i "color=c=0x303840:s=1280x720" -frames:v 1 "$work/bg.png"
ffmpeg "${q[@]}" -f lavfi -i "testsrc2=s=384x216" -frames:v 1 "$work/product.png"
cat > "$work/media.json" <<JSON
{"s3://bench/product.png": {"width": 384, "height": 216, "duration_ms": 0, "has_audio": false}}
JSON

echo "| animation | duration_ms | InsertableImages | CreateJob bytes (compact) | engine wall s (median of $runs) | CPU s (user+sys) |"
echo "|---|---|---|---|---|---|"
for case in none:0 fade:500 zoom:500 slide:500 zoom:1000 slide:1000 zoom:2000; do
  animation=${case%%:*}
  ms=${case##*:}
  name="$animation-$ms"
  cat > "$work/$name.request.json" <<JSON
{"render_id": "$name", "output": {"uri": "s3://bench/out/$name.mp4", "width": 1280, "height": 720, "fps": 30},
 "scenes": [{"id": "s", "duration_s": 10, "image": "s3://bench/bg.png",
   "overlay": {"image": "s3://bench/product.png", "x": "right", "y": "bottom", "scale": 0.25,
               "animation": "$animation", "duration_ms": $ms}}]}
JSON
  "$bin" job chunk --role arn:aws:iam::123456789012:role/MediaConvert --request "$work/$name.request.json" \
    --chunk 0 --frames 0..300 --media "$work/media.json" > "$work/$name.job.json"
  read -r images bytes < <(python3 - "$work/$name.job.json" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))
out = job["Settings"]["OutputGroups"][0]["Outputs"][0]
images = out["VideoDescription"].get("VideoPreprocessors", {}).get("ImageInserter", {}).get("InsertableImages", [])
print(len(images), len(json.dumps({"CreateJob": job}, separators=(",", ":"))))
PY
)
  # The job as the engine runs it, on the work folder's files instead of the bucket.
  sed "s|s3://bench/|$work/|g" "$work/$name.job.json" > "$work/$name.local.json"
  : > "$work/$name.times"
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %U %S' -a -o "$work/$name.times" "$bin" engine run "$work/$name.local.json" \
      > "$work/$name.event.json" 2> "$work/$name.log"
  done
  read -r wall cpu < <(sort -n "$work/$name.times" | awk -v n="$runs" \
    'NR == int((n + 1) / 2) { printf "%.2f %.2f\n", $1, $2 + $3 }')
  echo "| $animation | $ms | $images | $bytes | $wall | $cpu |"
done
echo "($(nproc) cores, ffmpeg $(ffmpeg -version | head -1 | cut -d' ' -f3), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
