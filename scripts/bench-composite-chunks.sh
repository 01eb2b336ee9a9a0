#!/usr/bin/env bash
# A long composite on the ffmpeg backend, whole and in chunks (issue 18, docs/transcoder.md "Long jobs in chunks"):
# a screen recording of BENCH_MINUTES (1920x1080 30 fps VP8/Opus WebM, testsrc2: full-frame motion, the worst case,
# with a 440 Hz tone) and a camera (640x360, VP8) that starts 2 s later, composited by the builder's job
# (`composite_job`), (a) run whole by the engine as one transcoder invocation runs it (`vidpipe engine run`), and
# (b) laid out as the transcoder lays it out (`ChunkableJob::render_request`, chunks of at most BENCH_CHUNK_S) and
# run by the render flow on local files (`vidpipe render`: the same chunk jobs as the transcoder's chunk
# invocation, the same mix and join), the local interpreter's Map running 10 chunks at once.
#
# It measures wall and CPU seconds (user + sys of the command and every ffmpeg it ran, through an FFMPEG_PATH
# wrapper), each chunk's encode, the mix and the join, and projects both runs on Lambda: one invocation takes the
# whole job's CPU seconds over its vCPUs (and stops at 15 minutes); in chunks, the longest chunk's CPU seconds over
# the vCPUs, beside the mix, then the join. It checks both outputs with ffprobe (length, size, audio, frame count)
# and prices them with `vidpipe cost` (Lambda arm64 at LAMBDA_MEMORY_MB; MediaConvert for comparison).
#
# Usage: scripts/bench-composite-chunks.sh [work-dir]   (generated media is kept in work-dir and reused)
#   BENCH_MINUTES     the recording's length in minutes (default 10; 1 for a smoke run)
#   BENCH_CHUNK_S     the chunks' limit (default 120, TRANSCODE_CHUNK_SECONDS's default; 20 for a 1-minute smoke)
#   LAMBDA_MEMORY_MB  the transcoder's memory size (default 3538: two vCPUs)
#   VIDPIPE_BIN       use this vidpipe binary instead of building one (default: a debug build; the encode is
#                     ffmpeg's, so the binary's profile does not change the figures)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${BENCH_MINUTES:-10}
chunk_s=${BENCH_CHUNK_S:-120}
memory=${LAMBDA_MEMORY_MB:-3538}
work=${1:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
for tool in ffmpeg ffprobe python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool missing (run scripts/setup.sh)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
q=(-y -hide_banner -loglevel error)

echo "== building vidpipe and the composite_layout example"
cargo build --quiet -p vidpipe-cli --example composite_layout
example=$PWD/target/debug/examples/composite_layout
vidpipe=${VIDPIPE_BIN:-}
if [ -z "$vidpipe" ]; then
  cargo build --quiet -p vidpipe-cli
  vidpipe=$PWD/target/debug/vidpipe
fi

length_ms=$((minutes * 60000))
# name:size:tone:length_ms
for spec in screen:1920x1080:440:$length_ms camera:640x360:0:$((length_ms - 2000)); do
  IFS=: read -r name size tone length <<< "$spec"
  clip=$work/$name-clip.webm
  if [ ! -s "$clip" ]; then
    echo "== generating the $name's clip ($size, 20 s)"
    inputs=(-f lavfi -i "testsrc2=size=$size:rate=30")
    codecs=(-c:v libvpx -deadline realtime -cpu-used 8 -b:v 4M)
    if [ "$tone" -gt 0 ]; then
      inputs+=(-f lavfi -i "sine=frequency=$tone:sample_rate=48000") codecs+=(-c:a libopus)
    else
      codecs+=(-an)
    fi
    ffmpeg "${q[@]}" "${inputs[@]}" -t 20 "${codecs[@]}" "$clip"
  fi
  if [ ! -s "$work/$name-${length}ms.webm" ]; then
    echo "== lengthening it to $length ms (packets copied)"
    # Asked 20 ms short, the file ends within a frame of the length.
    ffmpeg "${q[@]}" -stream_loop -1 -i "$clip" -t "$(python3 -c "print(($length - 20) / 1000)")" -c copy \
      "$work/$name-${length}ms.webm"
  fi
done
screen=screen-${length_ms}ms.webm
camera=camera-$((length_ms - 2000))ms.webm

(cd "$work" && "$example" "$screen" "$camera" 2000 "$chunk_s" job.s3.json) > "$work/request.s3.json"
sed -e "s|s3://bench/||g" "$work/job.s3.json" > "$work/job.json"
sed -e "s|s3://bench/||g" -e "s|screen-${length_ms}ms_composited.mp4|chunked.mp4|" \
  "$work/request.s3.json" > "$work/request.json"

cat > "$work/ffmpeg-timed" <<'SH'
#!/bin/sh
exec /usr/bin/time -a -o "$BENCH_FFMPEG_LOG" -f "%e %U %S %C" ffmpeg "$@"
SH
chmod +x "$work/ffmpeg-timed"

rm -f "$work"/*.ffmpeg "$work/chunked.mp4" "$work/screen-${length_ms}ms_composited.mp4"
echo "== the whole job, one invocation's way (load average $(cut -d' ' -f1-3 /proc/loadavg))"
(cd "$work" && BENCH_FFMPEG_LOG=$work/whole.ffmpeg FFMPEG_PATH=$work/ffmpeg-timed \
  /usr/bin/time -f "%e %U %S" -o "$work/whole.time" "$vidpipe" engine run job.json > "$work/whole.out")
mv "$work/screen-${length_ms}ms_composited.mp4" "$work/whole.mp4"
echo "== in chunks of at most $chunk_s s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
BENCH_FFMPEG_LOG=$work/chunked.ffmpeg FFMPEG_PATH=$work/ffmpeg-timed \
  /usr/bin/time -f "%e %U %S" -o "$work/chunked.time" \
  "$vidpipe" render "$work/request.json" --name bench-composite > "$work/chunked.out" 2> >(tee "$work/chunked.log" >&2)
echo "== done (load average $(cut -d' ' -f1-3 /proc/loadavg))"

for name in whole chunked; do
  ffprobe -v error -count_packets -print_format json -show_format -show_streams "$work/$name.mp4" \
    > "$work/$name.probe.json"
done
python3 - "$work" "$length_ms" "$memory" "$vidpipe" <<'PY'
import json, re, subprocess, sys
work, length_ms, memory, vidpipe = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
MB_PER_VCPU = 1769  # Lambda: one vCPU per 1769 MB (vidpipe_core::cost::LAMBDA_MB_PER_VCPU)
vcpus = memory / MB_PER_VCPU

def timed(name):
    wall, user, sys_ = map(float, open(f"{work}/{name}.time").read().split())
    runs = []
    for line in open(f"{work}/{name}.ffmpeg"):
        if line.startswith("Command"):
            continue
        w, u, s, command = line.split(" ", 3)
        runs.append((float(w), float(u) + float(s), command.split()[-1].rsplit("/", 1)[-1]))
    probe = json.load(open(f"{work}/{name}.probe.json"))
    video = [s for s in probe["streams"] if s["codec_type"] == "video"]
    audio = [s for s in probe["streams"] if s["codec_type"] == "audio"]
    problems = []
    duration = float(probe["format"]["duration"])
    if abs(duration * 1000 - length_ms) > 100:
        problems.append(f"the output lasts {duration:.3f} s, not {length_ms / 1000} s")
    if not video or (video[0]["width"], video[0]["height"]) != (1920, 1080):
        problems.append("the output is not 1920x1080")
    if not audio:
        problems.append("the output has no audio")
    return dict(wall=wall, cpu=user + sys_, runs=runs, duration=duration,
                frames=int(video[0]["nb_read_packets"]) if video else 0, problems=problems)

whole, chunked = timed("whole"), timed("chunked")
chunks = [r for r in chunked["runs"] if not r[2].endswith((".f32", "soundtrack.m4a", "joined.mp4"))]
mix_cpu = sum(r[1] for r in chunked["runs"] if r[2].endswith((".f32", "soundtrack.m4a")))
log = open(f"{work}/chunked.log").read()
join_wall = float(re.search(r"assembler assemble done in ([0-9.]+) s", log).group(1))
planned = int(re.search(r"in (\d+) chunks", log).group(1))
if planned != len(chunks):
    chunked["problems"].append(f"{planned} chunks planned, {len(chunks)} encoded")
if whole["frames"] != chunked["frames"]:
    chunked["problems"].append(f"{chunked['frames']} frames, the whole job's {whole['frames']}")
longest = max(chunks, key=lambda c: c[1])
whole["lambda_wall"] = whole["cpu"] / vcpus
chunked["lambda_wall"] = max(longest[1] / vcpus, mix_cpu) + join_wall
for f in (whole, chunked):
    cost = json.loads(subprocess.run(
        [vidpipe, "cost", "--job", f"{work}/job.s3.json", "--output-ms", str(length_ms),
         "--cpu-seconds", str(f["cpu"]), "--memory-mb", str(memory)],
        check=True, capture_output=True, text=True).stdout)
    f["mediaconvert_usd"] = cost["mediaconvert"]["cost"]["estimated_usd"]
    f["lambda_usd"] = cost["lambda_arm64"]["estimated_usd"]
json.dump({"whole": whole, "chunked": chunked}, open(f"{work}/figures.json", "w"), indent=1)

print(f"composite of {length_ms / 1000:.0f} s, 1920x1080 30 fps + a 640x360 camera; Lambda at {memory} MB "
      f"({vcpus:.1f} vCPUs)")
print(f"whole: wall {whole['wall']:.1f} s, CPU {whole['cpu']:.1f} s; {whole['frames']} frames; on Lambda "
      f"{whole['lambda_wall']:.1f} s{' (past the 15-minute limit)' if whole['lambda_wall'] > 900 else ''}; "
      f"Lambda arm64 ${whole['lambda_usd']:.4f}; MediaConvert ${whole['mediaconvert_usd']:.4f}")
print(f"in chunks: {len(chunks)} chunks; wall {chunked['wall']:.1f} s, CPU {chunked['cpu']:.1f} s; longest chunk "
      f"wall {longest[0]:.1f} s, CPU {longest[1]:.1f} s; mix CPU {mix_cpu:.1f} s; join wall {join_wall:.1f} s; "
      f"{chunked['frames']} frames; on Lambda {chunked['lambda_wall']:.1f} s; Lambda arm64 "
      f"${chunked['lambda_usd']:.4f}")
print("  chunk encodes (wall s / CPU s): " + ", ".join(f"{c[2]} {c[0]:.1f} / {c[1]:.1f}" for c in sorted(chunks, key=lambda c: c[2])))
problems = [f"{name}: {p}" for name, f in (("whole", whole), ("chunked", chunked)) for p in f["problems"]]
for p in problems:
    print(f"PROBLEM {p}")
sys.exit(1 if problems else 0)
PY
