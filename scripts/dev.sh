#!/usr/bin/env bash
# Runs vidpipe locally against moto: installs what it needs, starts moto on 127.0.0.1:$MOTO_PORT (5000), creates the
# bucket, table, event queues and the job-events rule, serves every function with `cargo lambda watch` on port 9000,
# serves the Step Functions API on $SFN_LISTEN (`vidpipe local stepfunctions`: the render flow and the partner
# timer, reached through AWS_ENDPOINT_URL_SFN), and feeds the queues to the functions (`vidpipe local pump`): an
# upload to the bucket reaches the compositor, which runs the composite on vidpipe-engine; its job events reach the
# notifier, which marks the stream ready.
# In another terminal: cargo lambda invoke vidpipe-presign --data-file events/presign/post-uploads-camera.json
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
MOTO_PORT="${MOTO_PORT:-5000}"

set -a; source events/local.env; set +a
export AWS_ENDPOINT_URL="http://127.0.0.1:${MOTO_PORT}"

mkdir -p .local
moto_server -H 127.0.0.1 -p "$MOTO_PORT" > .local/moto.log 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null' EXIT
for _ in $(seq 1 100); do
  curl -fsS "$AWS_ENDPOINT_URL/moto-api/" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "$AWS_ENDPOINT_URL/moto-api/" >/dev/null || { echo "dev: moto did not start (see .local/moto.log)" >&2; exit 1; }

cargo run --quiet -p vidpipe-cli -- local init
cargo run --quiet -p vidpipe-cli -- local pump > .local/pump.log 2>&1 &
pump_pid=$!
cargo run --quiet -p vidpipe-cli -- local stepfunctions > .local/stepfunctions.log 2>&1 &
sfn_pid=$!
trap 'kill $sfn_pid $pump_pid $moto_pid 2>/dev/null' EXIT
echo "dev: moto on $AWS_ENDPOINT_URL; serving functions on http://127.0.0.1:9000; Step Functions on $AWS_ENDPOINT_URL_SFN (log in .local/stepfunctions.log); queue pump log in .local/pump.log (Ctrl-C stops)"
# --disable-cors: the functions answer CORS themselves (ALLOWED_ORIGINS), as they do behind API Gateway.
# --features local: the local backends (MEDIACONVERT_BACKEND=engine) that release builds leave out.
cargo lambda watch --disable-cors --features local --env-file events/local.env \
  --env-var "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL"
