#!/usr/bin/env bash
# Cold start of vidpipe-presign against the survey client's own Node.js handler, measured the same way
# (tools/bench/coldstart/coldstart.py): a minimal Lambda Runtime API on loopback, each process started with
# AWS_LAMBDA_RUNTIME_API pointing at it, one POST /presigned-url event, the time from the spawn to the response and
# the peak RSS (VmHWM). vidpipe-presign calls a moto server started for the run (S3, DynamoDB).
#   scripts/bench-coldstart.sh [RUNS [OPTIONS]]    (5 runs by default; figures in docs/benchmarks.md)
# OPTIONS go to coldstart.py: --baseline BINARY (another vidpipe-presign build, in the same rounds) and
# --instant-aws (an endpoint that answers at once instead of moto: the process's own time).
# Builds the host's release binary of vidpipe-presign (the same code as the arm64 Lambda build), and installs the
# survey handler's aws-sdk v2 from npm into target/bench-coldstart/node.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
shift $(($# > 0 ? 1 : 0))
for tool in node npm .venv/bin/python .venv/bin/moto_server; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench-coldstart: $tool is missing (scripts/setup.sh; node and npm from Debian)" >&2; exit 1; }
done
work=target/bench-coldstart
mkdir -p "$work/node"
cp tools/bench/coldstart/package.json "$work/node/"
[ -d "$work/node/node_modules/aws-sdk" ] || (cd "$work/node" && npm install --no-package-lock --no-audit --no-fund --silent)
CARGO_INCREMENTAL=0 cargo build --release --locked -p vidpipe-presign
echo "vidpipe-presign: $(stat -c %s target/release/vidpipe-presign) bytes; node $(node --version), aws-sdk $(node -p 'require("./'"$work"'/node/node_modules/aws-sdk/package.json").version')"
.venv/bin/python tools/bench/coldstart/coldstart.py --presign target/release/vidpipe-presign --node-dir "$work/node" \
  --runs "$runs" --work "$work" "$@"
