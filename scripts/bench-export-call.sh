#!/usr/bin/env bash
# The export of a whole call on the local render flow (issue 16, docs/calls.md "Rendering the chunks: measured"):
# a 10-minute call of 4 peers exported at 1920x1080 30 fps, rendered (a) as one chunk and (b) as the flow's default
# chunks of at most 120 s, run at once as the local interpreter's Map allows (10 at a time).
#
# The tracks are made as browsers record them (VP8/Opus WebM, testsrc2: full-frame motion, the worst case) at the
# sizes of scripts/bench-export.sh (peer-1 1280x720, peer-2 640x480, peer-3 1280x720, peer-4 720x1280 portrait):
# a 20 s clip per peer, lengthened without re-encoding. The peers join at 0, 1.3 s, 2.7 s and 30 s and all leave at
# the call's end; peer-1 shares its screen (1920x1080, no sound) from 40 % to 60 % of the call. The Composition State:
# grid, then speaker with peer-2 pinned at 15 %, pin of peer-3 at 30 % (the screenshare takes it over while it runs),
# grid at 70 %, speaker with peer-4 pinned at 85 %. The `export_request` example probes the tracks and builds the
# render request with `vidpipe_core::call::export::{export_layout, export_request}`; `vidpipe render` runs it on
# local files (chunker, job-builder, the engine's createJob.sync, the assembler's mix and join).
#
# It measures, for each run: wall seconds, CPU seconds (user + sys of `vidpipe render` and every ffmpeg it ran), the
# chunks, and each ffmpeg run's wall and CPU (through an FFMPEG_PATH wrapper): the chunks' encodes, the mix, the join.
# From those it projects each run on Lambda, where each chunk has its own function: the longest chunk's CPU seconds
# over the renderer's vCPUs (the cost rule's assumption; and, as a bound, over the cores the one-chunk encode kept
# busy here), beside the mix (its CPU seconds), then the join. It checks each output with ffprobe (length,
# 1920x1080, an audio stream) and prices the export with `vidpipe cost --output-ms`.
#
# Usage: scripts/bench-export-call.sh [work-dir]   (generated media is kept in work-dir and reused)
#   BENCH_MINUTES     the call's length in minutes (default 10; 1 for a smoke run of a few minutes)
#   BENCH_CHUNK_S     the chunked run's max_chunk_s (default 120, the flow's; 20 makes a 1-minute smoke run chunked)
#   LAMBDA_MEMORY_MB  the renderer's memory size (default 3538: two vCPUs)
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
command -v ffmpeg >/dev/null || { echo "bench: ffmpeg missing (run scripts/setup.sh)" >&2; exit 1; }
command -v ffprobe >/dev/null || { echo "bench: ffprobe missing (run scripts/setup.sh)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench: python3 missing" >&2; exit 1; }
command -v bc >/dev/null || { echo "bench: bc missing (apt-get install bc)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
q=(-y -hide_banner -loglevel error)

echo "== building vidpipe and the export_request example"
cargo build --quiet -p vidpipe-cli --example export_request
example=$PWD/target/debug/examples/export_request
vidpipe=${VIDPIPE_BIN:-}
if [ -z "$vidpipe" ]; then
  cargo build --quiet -p vidpipe-cli
  vidpipe=$PWD/target/debug/vidpipe
fi

# The call, in ms: its length, each track's offset and length.
call_ms=$((minutes * 60000))
late_ms=$((minutes * 3000)) # peer-4 joins at 30 s of a 10-minute call
share_at=$((call_ms * 40 / 100)) share_ms=$((call_ms * 20 / 100))
tracks=() # PEER:ROLE:OFFSET_MS:FILE, for the example
for spec in peer-1:av:1280x720:440:0 peer-2:av:640x480:550:1300 peer-3:av:1280x720:660:2700 \
            peer-4:av:720x1280:770:$late_ms peer-1:screenshare:1920x1080:0:$share_at; do
  IFS=: read -r peer role size tone offset <<< "$spec"
  [ "$role" = av ] && length=$((call_ms - offset)) || length=$share_ms
  clip=$work/clips/$peer-$role-$size.webm
  if [ ! -s "$clip" ]; then
    echo "== generating $peer's $role clip ($size, 20 s)"
    mkdir -p "$work/clips"
    inputs=(-f lavfi -i "testsrc2=size=$size:rate=30")
    codecs=(-c:v libvpx -deadline realtime -cpu-used 8 -b:v 2M)
    if [ "$tone" -gt 0 ]; then
      inputs+=(-f lavfi -i "sine=frequency=$tone:sample_rate=48000") codecs+=(-c:a libopus)
    else
      codecs+=(-an) # a shared screen has no sound
    fi
    ffmpeg "${q[@]}" "${inputs[@]}" -t 20 "${codecs[@]}" "$clip"
  fi
  file=tracks/$peer-$role-${length}ms.webm
  if [ ! -s "$work/$file" ]; then
    echo "== lengthening it to $length ms (packets copied)"
    mkdir -p "$work/tracks"
    # Cut at a packet: asked 20 ms short, the file ends within a frame of the length, so the call's 10 minutes
    # are 18000 frames (not 18001, which would make the planner cut six chunks instead of five).
    ffmpeg "${q[@]}" -stream_loop -1 -i "$clip" -t "$(echo "($length - 20) / 1000" | bc -l)" -c copy "$work/$file"
  fi
  tracks+=("$peer:$role:$offset:$file")
done

cat > "$work/state.json" <<JSON
{"layout": "grid", "timeline": [
  {"t": $((call_ms * 15 / 100)), "type": "layout", "layout": "speaker"},
  {"t": $((call_ms * 15 / 100)), "type": "pin", "peer_id": "peer-2"},
  {"t": $((call_ms * 30 / 100)), "type": "layout", "layout": "pin"},
  {"t": $((call_ms * 30 / 100)), "type": "pin", "peer_id": "peer-3"},
  {"t": $((call_ms * 70 / 100)), "type": "layout", "layout": "grid"},
  {"t": $((call_ms * 85 / 100)), "type": "layout", "layout": "speaker"},
  {"t": $((call_ms * 85 / 100)), "type": "pin", "peer_id": "peer-4"}],
 "tracks": [], "export": {"resolution": "1920x1080", "fps": 30}}
JSON

# Every ffmpeg the flow runs, timed: wall, user, sys and its command line, one line each.
cat > "$work/ffmpeg-timed" <<'SH'
#!/bin/sh
exec /usr/bin/time -a -o "$BENCH_FFMPEG_LOG" -f "%e %U %S %C" ffmpeg "$@"
SH
chmod +x "$work/ffmpeg-timed"

# Renders the export as `name` with chunks of at most `max_chunk_s`; leaves $work/$name.{time,ffmpeg,log,mp4}.
render() {
  local name=$1 max_chunk_s=$2
  (cd "$work" && "$example" state.json "$name.mp4" "$max_chunk_s" "${tracks[@]}") > "$work/$name.s3.json"
  sed -e "s|s3://bench/||g" "$work/$name.s3.json" > "$work/$name.json"
  rm -f "$work/$name.mp4" "$work/$name.ffmpeg"
  echo "== rendering $name (chunks of at most $max_chunk_s s; load average $(cut -d' ' -f1-3 /proc/loadavg))"
  BENCH_FFMPEG_LOG=$work/$name.ffmpeg FFMPEG_PATH=$work/ffmpeg-timed \
    /usr/bin/time -f "%e %U %S" -o "$work/$name.time" \
    "$vidpipe" render "$work/$name.json" --name "bench-$name" > "$work/$name.out" 2> >(tee "$work/$name.log" >&2)
  echo "== $name rendered (load average $(cut -d' ' -f1-3 /proc/loadavg))"
}
render one $((minutes * 60 + 60))
render chunked "$chunk_s"

echo "== checking the outputs"
for name in one chunked; do
  ffprobe -v error -print_format json -show_format -show_streams "$work/$name.mp4" > "$work/$name.probe.json"
done
# The rate of the export's chunk jobs (every chunk has the same output settings, so the same rate) prices it.
"$vidpipe" job --role arn:aws:iam::000000000000:role/bench chunk --request "$work/chunked.s3.json" --chunk 0 \
  --frames 0..1 > "$work/chunk-job.json"
python3 - "$work" "$call_ms" "$memory" "$vidpipe" <<'PY'
import json, re, subprocess, sys
work, call_ms, memory, vidpipe = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
MB_PER_VCPU = 1769  # Lambda: one vCPU per 1769 MB (vidpipe_core::cost::LAMBDA_MB_PER_VCPU)

def figures(name):
    wall, user, sys_ = map(float, open(f"{work}/{name}.time").read().split())
    log = open(f"{work}/{name}.log").read()
    result = json.load(open(f"{work}/{name}.out"))
    probe = json.load(open(f"{work}/{name}.probe.json"))
    video = [s for s in probe["streams"] if s["codec_type"] == "video"]
    audio = [s for s in probe["streams"] if s["codec_type"] == "audio"]
    duration = float(probe["format"]["duration"])
    problems = []
    if result["status"] != "SUCCEEDED":
        problems.append(f"the render ended {result['status']}")
    if abs(duration * 1000 - call_ms) > 100:
        problems.append(f"the output lasts {duration:.3f} s, not the call's {call_ms / 1000} s")
    if not video or (video[0]["width"], video[0]["height"]) != (1920, 1080):
        problems.append("the output is not 1920x1080")
    if not audio:
        problems.append("the output has no audio")
    # Each ffmpeg the flow ran, by what it wrote: the mix's pieces and soundtrack, the join, else a chunk's encode.
    chunks, mix_cpu = [], 0.0
    for line in open(f"{work}/{name}.ffmpeg"):
        if line.startswith("Command"):
            continue
        w, u, s, command = line.split(" ", 3)
        written = command.split()[-1]
        if written.endswith((".f32", "soundtrack.m4a")):
            mix_cpu += float(u) + float(s)
        elif not written.endswith("joined.mp4"):
            chunks.append((float(w), float(u) + float(s), written.rsplit("/", 1)[-1]))
    seconds = lambda what: float(re.search(rf"assembler {what} done in ([0-9.]+) s", log).group(1))
    planned = int(re.search(r"in (\d+) chunks", log).group(1))
    if planned != len(chunks):
        problems.append(f"{planned} chunks planned, {len(chunks)} encoded")
    longest = max(chunks, key=lambda c: c[1])
    return dict(wall=wall, cpu=user + sys_, output_ms=result["output"]["duration_ms"], duration=duration,
                chunks=len(chunks), longest_wall=longest[0], longest_cpu=longest[1],
                each_chunk=sorted(chunks, key=lambda c: c[2]), mix_wall=seconds("mix"), mix_cpu=mix_cpu,
                join_wall=seconds("assemble"), problems=problems)

runs = {name: figures(name) for name in ("one", "chunked")}
for f in runs.values():
    cost = json.loads(subprocess.run(
        [vidpipe, "cost", "--job", f"{work}/chunk-job.json", "--output-ms", str(f["output_ms"]),
         "--cpu-seconds", str(f["cpu"]), "--memory-mb", str(memory)],
        check=True, capture_output=True, text=True).stdout)
    f["mediaconvert_usd"] = cost["mediaconvert"]["cost"]["estimated_usd"]
    f["lambda_usd"] = cost["lambda_arm64"]["estimated_usd"]
# The cores the one-chunk encode kept busy here (alone but for the mix): ffmpeg's filter graph does not use every
# core, so a chunk on Lambda may take longer than its CPU seconds over the vCPUs (what the cost rule assumes).
busy = runs["one"]["longest_cpu"] / runs["one"]["longest_wall"]
for f in runs.values():
    # On Lambda each chunk has its own function at `memory` MB: the longest chunk's time, beside the mix (its own
    # function, whose ffmpeg runs are one after the other and single-threaded: its CPU seconds, where its wall here
    # is stretched by the chunks beside it), then the join; the chunk's time as the cost rule has it, and at the
    # cores measured busy here.
    for key, cores in (("lambda_wall", memory / MB_PER_VCPU), ("lambda_wall_busy", busy)):
        f[key] = max(f["longest_cpu"] / cores, f["mix_cpu"]) + f["join_wall"]
json.dump(runs, open(f"{work}/figures.json", "w"), indent=1)

print(f"export of {runs['one']['output_ms'] / 1000:.3f} s, 4 peers, 1920x1080 30 fps; Lambda at {memory} MB "
      f"({memory / MB_PER_VCPU:.1f} vCPUs); the one-chunk encode kept {busy:.2f} cores busy here")
for name, f in runs.items():
    print(f"{name}: {f['chunks']} chunk(s); wall {f['wall']:.1f} s, CPU {f['cpu']:.1f} s (user + sys); longest chunk "
          f"wall {f['longest_wall']:.1f} s, CPU {f['longest_cpu']:.1f} s; mix wall {f['mix_wall']:.1f} s, "
          f"CPU {f['mix_cpu']:.1f} s; join wall {f['join_wall']:.1f} s")
    print("  chunk encodes (wall s / CPU s): " + ", ".join(f"{c[2]} {c[0]:.1f} / {c[1]:.1f}" for c in f["each_chunk"]))
    print(f"  on Lambda: {f['lambda_wall']:.1f} s (CPU over vCPUs) to {f['lambda_wall_busy']:.1f} s (at the cores "
          f"busy here); Lambda arm64 ${f['lambda_usd']:.4f}; MediaConvert ${f['mediaconvert_usd']:.4f}")
problems = [f"{name}: {p}" for name, f in runs.items() for p in f["problems"]]
for p in problems:
    print(f"PROBLEM {p}")
sys.exit(1 if problems else 0)
PY
