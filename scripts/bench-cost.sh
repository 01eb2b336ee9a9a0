#!/usr/bin/env bash
# What a composited minute costs on each backend (issue 18, docs/cost.md): generates a screen recording at 720p and
# at 1080p (H.264/AAC, 30 fps) and a 640x360 VP8/Opus camera, runs the engine's screen + camera composite of each
# (vidpipe engine run), measures its wall and CPU seconds (user + sys of the engine and its ffmpeg children), and
# prices it with `vidpipe cost` (the one rule in vidpipe_core::cost): MediaConvert's on-demand rate for the job's
# output times the output's length, and the ffmpeg engine on Lambda arm64 from those CPU seconds at LAMBDA_MEMORY_MB.
#
# Usage: scripts/bench-cost.sh [work-dir]
#   BENCH_SECONDS     input length (default 60); the work dir and its outputs are kept
#   LAMBDA_MEMORY_MB  the transcoder's memory size (default 3538: two vCPUs' worth, the most ffmpeg keeps busy here)
#   VIDPIPE_BIN       use this vidpipe binary instead of building the release one (the encode is ffmpeg's, so the
#                     binary's own build profile does not change the figures)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-60}
memory=${LAMBDA_MEMORY_MB:-3538}
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

q=(-y -hide_banner -loglevel error)
if [ ! -s "$work/camera.webm" ]; then
  echo "== generating the ${seconds}s camera in $work"
  ffmpeg "${q[@]}" -f lavfi -i "testsrc=size=640x360:rate=30" -f lavfi -i "sine=frequency=660:sample_rate=48000" \
    -t "$seconds" -c:v libvpx -deadline realtime -cpu-used 8 -b:v 1M -c:a libopus "$work/camera.webm"
fi

# The engine job: the screen at its own size with the camera 20 px from the right and bottom edges, QVBR level 7,
# AAC 128 kb/s; no frame rate given, so the output follows the 30 fps source (the rule prices it as up to 30 fps).
job() { # $1 = screen file, $2 = output name, $3 = width, $4 = height
  cat <<EOF
{"Role": "arn:aws:iam::000000000000:role/MediaConvert",
 "Settings": {
  "Inputs": [{"FileInput": "$1", "TimecodeSource": "ZEROBASED",
    "AudioSelectors": {"Audio Selector 1": {"DefaultSelection": "DEFAULT"}},
    "VideoOverlays": [{"Input": {"FileInput": "$work/camera.webm", "TimecodeSource": "ZEROBASED"},
      "InitialPosition": {"XPosition": $(($3 - 660)), "YPosition": $(($4 - 380)), "Width": 640, "Height": 360,
        "Unit": "PIXELS"},
      "Playback": "ONCE"}]}],
  "OutputGroups": [{"OutputGroupSettings": {"Type": "FILE_GROUP_SETTINGS",
      "FileGroupSettings": {"Destination": "$work/$2"}},
    "Outputs": [{"ContainerSettings": {"Container": "MP4"},
      "VideoDescription": {"Width": $3, "Height": $4, "CodecSettings": {"Codec": "H_264", "H264Settings": {
        "RateControlMode": "QVBR", "MaxBitrate": 8000000, "QvbrSettings": {"QvbrQualityLevel": 7}}}},
      "AudioDescriptions": [{"CodecSettings": {"Codec": "AAC", "AacSettings": {
        "Bitrate": 128000, "CodingMode": "CODING_MODE_2_0", "SampleRate": 48000}}}]}]}]}}
EOF
}

declare -A wall cpu priced
for size in 720 1080; do
  width=$((size == 1080 ? 1920 : 1280))
  screen=$work/screen-$size.mp4
  if [ ! -s "$screen" ]; then
    echo "== generating the ${seconds}s ${size}p screen"
    ffmpeg "${q[@]}" -f lavfi -i "testsrc2=size=${width}x${size}:rate=30" \
      -f lavfi -i "sine=frequency=440:sample_rate=48000" \
      -t "$seconds" -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p -c:a aac -b:a 128k "$screen"
  fi
  job "$screen" "composite_$size" "$width" "$size" > "$work/job_$size.json"
  echo "== engine composite ${size}p"
  /usr/bin/time -f '%e %U %S' -o "$work/composite_$size.time" \
    "$vidpipe" engine run "$work/job_$size.json" > "$work/composite_$size.event.json" 2>/dev/null
  read -r w user sys < "$work/composite_$size.time"
  wall[$size]=$w
  cpu[$size]=$(python3 -c "print(f'{$user + $sys:.1f}')")
  echo "   wall ${wall[$size]} s, CPU ${cpu[$size]} s"
  "$vidpipe" cost --job "$work/job_$size.json" --event "$work/composite_$size.event.json" \
    --cpu-seconds "${cpu[$size]}" --memory-mb "$memory" > "$work/cost_$size.json"
  priced[$size]=$(python3 - "$work/cost_$size.json" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))
mc, fn = f["mediaconvert"], f["lambda_arm64"]
print(f'{f["output_ms"] / 1000:.1f}|{mc["usd_per_output_minute"]:.4f}|{fn["billed_ms"] / 1000:.1f}'
      f'|{fn["usd_per_output_minute"]:.5f}|{mc["usd_per_output_minute"] / fn["usd_per_output_minute"]:.0f}')
EOF
)
done

echo
echo "| output | length (s) | engine wall (s) | engine CPU s | MediaConvert \$/min | Lambda billed (s) at $memory MB | Lambda \$/min | MediaConvert / Lambda |"
echo "|---|---|---|---|---|---|---|---|"
for size in 720 1080; do
  IFS='|' read -r length mc billed fn ratio <<< "${priced[$size]}"
  echo "| ${size}p | $length | ${wall[$size]} | ${cpu[$size]} | $mc | $billed | $fn | ${ratio}x |"
done
echo
echo "survey seed's figure: \$0.015/min; work dir: $work, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$(ffmpeg -version | head -1 | cut -d' ' -f1-3)"
