#!/usr/bin/env bash
# Benchmarks the engine's screen + camera composite (vidpipe engine run, release build) at 1080p and 720p against
# seed 000's "Lambda + FFmpeg" command, on the same generated inputs: a 1920x1080 H.264/AAC screen and a 640x360
# VP8/Opus WebM camera. Prints each run's speed (times real time) and its SSIM against the exact composite of the
# decoded inputs (the best any encode can reach).
#
# Usage: scripts/bench-engine.sh [work-dir]
#   BENCH_SECONDS   input length (default 60); the work dir and its outputs are kept
#   VIDPIPE_BIN     use this vidpipe binary instead of building the release one
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-60}
work=${1:-$(mktemp -d)}
mkdir -p "$work"
command -v ffmpeg >/dev/null || { echo "bench: ffmpeg missing (run scripts/setup.sh)" >&2; exit 1; }

vidpipe=${VIDPIPE_BIN:-}
if [ -z "$vidpipe" ]; then
  echo "== building vidpipe (release)"
  cargo build --release --quiet -p vidpipe-cli
  vidpipe=$PWD/target/release/vidpipe
fi

q=(-y -hide_banner -loglevel error)
if [ ! -s "$work/screen.mp4" ] || [ ! -s "$work/camera.webm" ]; then
  echo "== generating ${seconds}s inputs in $work"
  ffmpeg "${q[@]}" -f lavfi -i "testsrc2=size=1920x1080:rate=30" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
    -t "$seconds" -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p -c:a aac -b:a 128k "$work/screen.mp4"
  ffmpeg "${q[@]}" -f lavfi -i "testsrc=size=640x360:rate=30" -f lavfi -i "sine=frequency=660:sample_rate=48000" \
    -t "$seconds" -c:v libvpx -deadline realtime -cpu-used 8 -b:v 1M -c:a libopus "$work/camera.webm"
fi

# The engine job: the camera at its own size, 20 px from the right and bottom edges (the seed's geometry),
# QVBR level 7 (x264 CRF 21, preset veryfast), AAC 128 kb/s.
job() { # $1 = output name, $2 = width, $3 = height
  cat <<EOF
{"Role": "arn:aws:iam::000000000000:role/MediaConvert",
 "Settings": {
  "Inputs": [{"FileInput": "$work/screen.mp4", "TimecodeSource": "ZEROBASED",
    "AudioSelectors": {"Audio Selector 1": {"DefaultSelection": "DEFAULT"}},
    "VideoOverlays": [{"Input": {"FileInput": "$work/camera.webm", "TimecodeSource": "ZEROBASED"},
      "InitialPosition": {"XPosition": 1260, "YPosition": 700, "Width": 640, "Height": 360, "Unit": "PIXELS"},
      "Playback": "ONCE"}]}],
  "OutputGroups": [{"OutputGroupSettings": {"Type": "FILE_GROUP_SETTINGS",
      "FileGroupSettings": {"Destination": "$work/$1"}},
    "Outputs": [{"ContainerSettings": {"Container": "MP4"},
      "VideoDescription": {"Width": $2, "Height": $3, "CodecSettings": {"Codec": "H_264", "H264Settings": {
        "RateControlMode": "QVBR", "MaxBitrate": 8000000, "QvbrSettings": {"QvbrQualityLevel": 7}}}},
      "AudioDescriptions": [{"CodecSettings": {"Codec": "AAC", "AacSettings": {
        "Bitrate": 128000, "CodingMode": "CODING_MODE_2_0", "SampleRate": 48000}}}]}]}]}}
EOF
}

now() { date +%s.%N; }
speed() { python3 -c "print(f'{$seconds / ($2 - $1):.2f}')"; }
# The reference is the exact composite of the decoded inputs, each starting at its own first frame (the WebM
# camera's first frame is stamped 7 ms, so a plain overlay would leave the camera out of the first output frame).
ssim() { # $1 = output, $2 = reference scale filter (or null)
  ffmpeg -hide_banner -nostats -i "$1" -i "$work/screen.mp4" -i "$work/camera.webm" -filter_complex \
    "[1:v]setpts=PTS-STARTPTS[s];[2:v]setpts=PTS-STARTPTS[c];[s][c]overlay=W-w-20:H-h-20:eof_action=pass,$2[ref];[0:v][ref]ssim" \
    -f null - 2>&1 \
    | sed -n 's/.*SSIM.* All:\([0-9.]*\).*/\1/p' | tail -1
}

declare -A took quality
for size in 1080 720; do
  width=$((size == 1080 ? 1920 : 1280))
  job "engine_$size" "$width" "$size" > "$work/job_$size.json"
  echo "== engine ${size}p"
  start=$(now)
  "$vidpipe" engine run "$work/job_$size.json" > "$work/engine_$size.event.json" 2>/dev/null
  took[engine_$size]=$(speed "$start" "$(now)")
done
echo "== seed 000 command (1080p)"
start=$(now)
(cd "$work" && ffmpeg "${q[@]}" -i screen.mp4 -i camera.webm \
    -filter_complex "[0:v][1:v]overlay=W-w-20:H-h-20:shortest=1[outv]" \
    -map "[outv]" -map 0:a \
    -c:v libx264 -crf 23 -preset fast \
    -c:a aac -b:a 128k \
    seed.mp4)
took[seed]=$(speed "$start" "$(now)")

echo "== SSIM against the exact composite"
quality[engine_1080]=$(ssim "$work/engine_1080.mp4" null)
quality[engine_720]=$(ssim "$work/engine_720.mp4" "scale=1280:720")
quality[seed]=$(ssim "$work/seed.mp4" null)

size() { stat -c %s "$1" | awk '{printf "%.1f MB", $1 / 1e6}'; }
echo
echo "| run | output | speed (x real time) | SSIM (All) | size |"
echo "|---|---|---|---|---|"
echo "| engine | 1920x1080 | ${took[engine_1080]} | ${quality[engine_1080]} | $(size "$work/engine_1080.mp4") |"
echo "| engine | 1280x720 | ${took[engine_720]} | ${quality[engine_720]} | $(size "$work/engine_720.mp4") |"
echo "| seed 000 ffmpeg command | 1920x1080 | ${took[seed]} | ${quality[seed]} | $(size "$work/seed.mp4") |"
echo
echo "inputs: ${seconds}s, work dir: $work, $(nproc) cores, $(ffmpeg -version | head -1 | cut -d' ' -f1-3)"
