#!/usr/bin/env bash
# How a call export's chunk costs on each way of rendering it (issue 16, docs/calls.md "Rendering the export"):
# the chunk is the golden job crates/core/tests/golden/chunk_call_export_1920x1080_0.json, the first 10 s chunk of a
# 4-peer 1080p export built by vidpipe_core::call::export (grid of 2, 3, then 4 peers as they join, then the speaker
# layout: 4 tiled scenes, 13 video overlays over black). Its sources are generated as browsers record them (VP8/Opus
# WebM, testsrc2: full-frame motion, the worst case) at the golden's sizes: peer-1 1280x720, peer-2 640x480,
# peer-3 1280x720, peer-4 720x1280 (portrait), each 20 s.
#
# It measures, wall and CPU seconds (user + sys, ffmpeg children included):
#   1. the MediaConvert job path on the engine (vidpipe engine run of the chunk's job, what a Lambda running the
#      engine as the custom renderer would spend);
#   2. a direct ffmpeg composition of the same chunk (one filter graph: each source decoded once, split, trimmed to
#      its scenes, scaled and overlaid with enable windows on a black base; the same x264 settings), what a
#      hand-written composer function would spend;
# and prices the chunk with `vidpipe cost` (vidpipe_core::cost): MediaConvert's on-demand rate for the job's output
# length, and each CPU figure on Lambda arm64 at LAMBDA_MEMORY_MB.
#
# Usage: scripts/bench-export.sh [work-dir]
#   LAMBDA_MEMORY_MB  the renderer's memory size (default 3538: two vCPUs)
#   VIDPIPE_BIN       use this vidpipe binary instead of building one (the encode is ffmpeg's, so the binary's
#                     build profile does not change the figures; default: a debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
memory=${LAMBDA_MEMORY_MB:-3538}
work=${1:-$(mktemp -d)}
mkdir -p "$work"
command -v ffmpeg >/dev/null || { echo "bench: ffmpeg missing (run scripts/setup.sh)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench: python3 missing" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }

vidpipe=${VIDPIPE_BIN:-}
if [ -z "$vidpipe" ]; then
  echo "== building vidpipe"
  cargo build --quiet -p vidpipe-cli
  vidpipe=$PWD/target/debug/vidpipe
fi

golden=crates/core/tests/golden/chunk_call_export_1920x1080_0.json
bucket=s3://vidpipe-uploads/rooms/room-456/rec-123/
q=(-y -hide_banner -loglevel error)
for spec in peer-1/av:1280x720 peer-2/av:640x480 peer-3/av:1280x720 peer-4/av:720x1280 \
            peer-1/screenshare:1920x1080; do
  track=${spec%%:*} size=${spec##*:}
  peer=${track%%/*}
  file=$work/tracks/$track/t-$peer.webm
  if [ ! -s "$file" ]; then
    echo "== generating $track ($size, 20 s)"
    mkdir -p "$(dirname "$file")"
    ffmpeg "${q[@]}" -f lavfi -i "testsrc2=size=$size:rate=30" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
      -t 20 -c:v libvpx -deadline realtime -cpu-used 8 -b:v 2M -c:a libopus "$file"
  fi
done

sed -e "s|$bucket|$work/|g" "$golden" > "$work/job.json"
rm -rf "$work/processed"

echo "== 1. the chunk's MediaConvert job on the engine"
/usr/bin/time -f "%e %U %S" -o "$work/engine.time" "$vidpipe" engine run "$work/job.json" \
  > "$work/event.json" 2> "$work/engine.log"
read -r e_wall e_user e_sys < "$work/engine.time"

echo "== 2. a direct ffmpeg composition of the same chunk"
python3 - "$work/job.json" "$work/direct.mp4" > "$work/direct.args" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))
fps, width, height = 30, 1920, 1080
def frame(tc):
    h, m, s, f = map(int, tc.split(":"))
    return ((h * 60 + m) * 60 + s) * fps + f
files, uses, chains, overlays = [], {}, [], []
start = 0
for scene in job["Settings"]["Inputs"]:
    frames = round(scene["VideoGenerator"]["Duration"] * fps / 1000)
    for overlay in scene.get("VideoOverlays", []):
        src = overlay["Input"]["FileInput"]
        if src not in files:
            files.append(src)
        clip = overlay["Input"]["InputClippings"][0]
        pos = overlay["InitialPosition"]
        label = f"t{len(overlays)}"
        uses.setdefault(src, []).append(label)
        chains.append((label, frame(clip["StartTimecode"]), frame(clip["EndTimecode"]) + 1, start, pos))
        overlays.append((label, start, start + frames, pos))
    start += frames
graph = [f"color=c=black:size={width}x{height}:rate={fps}:duration={start / fps},format=yuv420p[base0]"]
for i, src in enumerate(files):
    labels = uses[src]
    graph.append(f"[{i}:v]fps={fps},split={len(labels)}" + "".join(f"[s{l}]" for l in labels))
for label, a, b, at, pos in chains:
    graph.append(f"[s{label}]trim=start_frame={a}:end_frame={b},setpts=PTS-STARTPTS+{at}/{fps}/TB,"
                 f"scale={pos['Width']}:{pos['Height']}[{label}]")
for k, (label, a, b, pos) in enumerate(overlays):
    graph.append(f"[base{k}][{label}]overlay=x={pos['XPosition']}:y={pos['YPosition']}:eof_action=pass:"
                 f"enable='between(n,{a},{b - 1})'[base{k + 1}]")
args = []
for src in files:
    args += ["-i", src]
args += ["-filter_complex", ";".join(graph), "-map", f"[base{len(overlays)}]", "-frames:v", str(start),
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "19", "-maxrate", "6221000", "-bufsize", "12442000",
         "-g", "60", "-bf", "0", "-refs", "3", "-sc_threshold", "0", "-profile:v", "high", "-pix_fmt", "yuv420p",
         "-an", sys.argv[2]]
print("\n".join(args))
PY
mapfile -t direct < "$work/direct.args"
/usr/bin/time -f "%e %U %S" -o "$work/direct.time" ffmpeg "${q[@]}" "${direct[@]}"
read -r d_wall d_user d_sys < "$work/direct.time"

engine_cpu=$(echo "$e_user + $e_sys" | bc -l)
direct_cpu=$(echo "$d_user + $d_sys" | bc -l)
printf "engine (job path): wall %.1f s, CPU %.1f s for a 10 s chunk\n" "$e_wall" "$engine_cpu"
printf "direct ffmpeg:     wall %.1f s, CPU %.1f s for a 10 s chunk\n" "$d_wall" "$direct_cpu"
echo "== prices (vidpipe cost)"
"$vidpipe" cost --job "$work/job.json" --event "$work/event.json" --cpu-seconds "$engine_cpu" --memory-mb "$memory" \
  > "$work/cost-engine.json"
"$vidpipe" cost --job "$work/job.json" --event "$work/event.json" --cpu-seconds "$direct_cpu" --memory-mb "$memory" \
  > "$work/cost-direct.json"
python3 - "$work/cost-engine.json" "$work/cost-direct.json" <<'PY'
import json, sys
engine, direct = (json.load(open(p)) for p in sys.argv[1:3])
mc = engine["mediaconvert"]
print(f"MediaConvert: {mc['cost']} for {engine['output_ms'] / 1000:.1f} s of output "
      f"(${mc['usd_per_output_minute']:.4f} per output minute)")
for name, figures in (("engine", engine), ("direct ffmpeg", direct)):
    lam = figures["lambda_arm64"]
    print(f"Lambda arm64 {lam['memory_mb']} MB, {name}: {json.dumps({k: v for k, v in lam.items() if k != 'memory_mb'})}")
PY
