#!/usr/bin/env bash
# Benchmarks the engine's screen + camera composite (vidpipe engine run, release build) at 1080p and 720p against
# the "Lambda + FFmpeg" command the survey client's compositing plan proposed, on the same generated inputs: a 1920x1080 H.264/AAC screen and a 640x360
# VP8/Opus WebM camera. Prints each run's wall speed (times real time), its CPU seconds (user + sys, which a loaded
# machine inflates less than wall time), the speed those CPU seconds give on idle cores, and its SSIM against the
# exact composite of the decoded inputs (the best any encode can reach).
#
# Usage: scripts/bench-engine.sh [work-dir]
#   BENCH_SECONDS   input length (default 60); the work dir and its outputs are kept
#   BENCH_CONTENT   the screen's picture: testsrc2 (default; full-frame motion, the worst case) or ui (a
#                   screen-recording-like picture: static panels, scrolling text, a moving cursor)
#   VIDPIPE_BIN     use this vidpipe binary instead of building the release one
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-60}
content=${BENCH_CONTENT:-testsrc2}
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
screen=$work/screen-$content.mp4
case $content in
  testsrc2) picture="testsrc2=size=1920x1080:rate=30" ;;
  ui)
    # Grey page, dark sidebar, white card, a toolbar, text scrolling at 60 px/s, an 18x26 cursor moving smoothly.
    for i in $(seq 1 150); do echo "line $i: the engine joins the chunks without re-encoding and mixes the soundtrack once"; done \
      > "$work/ui-text.txt"
    picture="color=c=0xeef0f3:size=1920x1080:rate=30,drawbox=x=0:y=0:w=320:h=1080:color=0x263238:t=fill,\
drawbox=x=360:y=100:w=1520:h=940:color=white:t=fill,drawtext=font=DejaVu Sans:textfile=$work/ui-text.txt:\
fontsize=26:fontcolor=0x202020:x=400:y=1040-mod(t*60\\,4500):line_spacing=14,\
drawbox=x=320:y=0:w=1600:h=72:color=0xfafafa:t=fill[ui];color=c=black:size=18x26:rate=30[cursor];\
[ui][cursor]overlay=x='700+500*sin(t*0.7)':y='500+300*sin(t*1.1)':shortest=1" ;;
  *) echo "bench: BENCH_CONTENT must be testsrc2 or ui" >&2; exit 1 ;;
esac
if [ ! -s "$screen" ]; then
  echo "== generating the ${seconds}s $content screen in $work"
  ffmpeg "${q[@]}" -f lavfi -i "$picture" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
    -t "$seconds" -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p -c:a aac -b:a 128k "$screen"
fi
if [ ! -s "$work/camera.webm" ]; then
  echo "== generating the ${seconds}s camera in $work"
  ffmpeg "${q[@]}" -f lavfi -i "testsrc=size=640x360:rate=30" -f lavfi -i "sine=frequency=660:sample_rate=48000" \
    -t "$seconds" -c:v libvpx -deadline realtime -cpu-used 8 -b:v 1M -c:a libopus "$work/camera.webm"
fi

# The engine job: the camera at its own size, 20 px from the right and bottom edges (the compositing plan's geometry),
# QVBR level 7 (x264 CRF 21, preset veryfast), AAC 128 kb/s.
job() { # $1 = output name, $2 = width, $3 = height
  cat <<EOF
{"Role": "arn:aws:iam::000000000000:role/MediaConvert",
 "Settings": {
  "Inputs": [{"FileInput": "$screen", "TimecodeSource": "ZEROBASED",
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

# Runs a command under /usr/bin/time; records its wall speed, CPU seconds and the speed those give on idle cores.
declare -A took cpu idle quality
measure() { # $1 = run name, rest = command
  local name=$1; shift
  /usr/bin/time -f '%e %U %S' -o "$work/$name.time" "$@"
  read -r wall user sys < "$work/$name.time"
  took[$name]=$(python3 -c "print(f'{$seconds / $wall:.2f}')")
  cpu[$name]=$(python3 -c "print(f'{$user + $sys:.1f}')")
  idle[$name]=$(python3 -c "print(f'{$seconds / (($user + $sys) / $(nproc)):.2f}')")
}
# The reference is the exact composite of the decoded inputs, each starting at its own first frame (the WebM
# camera's first frame is stamped 7 ms, so a plain overlay would leave the camera out of the first output frame).
ssim() { # $1 = output, $2 = reference scale filter (or null)
  ffmpeg -hide_banner -nostats -i "$1" -i "$screen" -i "$work/camera.webm" -filter_complex \
    "[1:v]setpts=PTS-STARTPTS[s];[2:v]setpts=PTS-STARTPTS[c];[s][c]overlay=W-w-20:H-h-20:eof_action=pass,$2[ref];[0:v][ref]ssim" \
    -f null - 2>&1 \
    | sed -n 's/.*SSIM.* All:\([0-9.]*\).*/\1/p' | tail -1
}

for size in 1080 720; do
  width=$((size == 1080 ? 1920 : 1280))
  job "engine_$size" "$width" "$size" > "$work/job_$size.json"
  echo "== engine ${size}p"
  measure "engine_$size" "$vidpipe" engine run "$work/job_$size.json" > "$work/engine_$size.event.json" 2>/dev/null
done
echo "== compositing plan's ffmpeg command (1080p)"
measure plan ffmpeg "${q[@]}" -i "$screen" -i "$work/camera.webm" \
    -filter_complex "[0:v][1:v]overlay=W-w-20:H-h-20:shortest=1[outv]" \
    -map "[outv]" -map 0:a \
    -c:v libx264 -crf 23 -preset fast \
    -c:a aac -b:a 128k \
    "$work/plan.mp4"

echo "== SSIM against the exact composite"
quality[engine_1080]=$(ssim "$work/engine_1080.mp4" null)
quality[engine_720]=$(ssim "$work/engine_720.mp4" "scale=1280:720")
quality[plan]=$(ssim "$work/plan.mp4" null)

size() { stat -c %s "$1" | awk '{printf "%.1f MB", $1 / 1e6}'; }
echo
echo "| run | output | wall speed (x real time) | CPU s (user+sys) | speed on idle cores | SSIM (All) | size |"
echo "|---|---|---|---|---|---|---|"
row() { # $1 = run name, $2 = label, $3 = output size
  echo "| $2 | $3 | ${took[$1]} | ${cpu[$1]} | ${idle[$1]} | ${quality[$1]} | $(size "$work/$1.mp4") |"
}
row engine_1080 engine 1920x1080
row engine_720 engine 1280x720
row plan "compositing plan's ffmpeg command" 1920x1080
echo
echo "inputs: ${seconds}s $content screen, work dir: $work, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$(ffmpeg -version | head -1 | cut -d' ' -f1-3)"
