#!/usr/bin/env bash
# Runs vidpipe locally against moto: installs what it needs, starts moto on 127.0.0.1:$MOTO_PORT (5000), creates the
# bucket, table, event queues and the job-events rules, serves every function with `cargo lambda watch` on port 9000,
# serves the Step Functions API on $SFN_LISTEN (`vidpipe local stepfunctions`: the render flow and the partner
# timer, reached through AWS_ENDPOINT_URL_SFN), and feeds the queues to the functions (`vidpipe local pump`): an
# upload to the bucket reaches the compositor, which runs the composite on vidpipe-engine; its job events reach the
# notifier, which marks the stream ready. The recorder and console (web/) is served on http://127.0.0.1:8080 and
# calls the presign function's URL with a development token: the HTTP API runs with AUTH_MODE=hs256 and a secret
# made once in .local/jwt-secret (`AUTH_MODE=jwt scripts/dev.sh` for the sample events of events/presign, which carry
# API Gateway JWT authorizer claims).
# In another terminal: cargo run -p vidpipe-cli -- demo
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
MOTO_PORT="${MOTO_PORT:-5000}"
auth_mode="${AUTH_MODE:-hs256}"

set -a; source events/local.env; set +a
export AWS_ENDPOINT_URL="http://127.0.0.1:${MOTO_PORT}"

mkdir -p .local
if [ ! -s .local/jwt-secret ]; then
  (umask 077; python3 -c 'import secrets; print(secrets.token_hex(32))' > .local/jwt-secret)
fi
if [ ! -s .local/playback-secret ]; then
  (umask 077; python3 -c 'import secrets; print(secrets.token_hex(32))' > .local/playback-secret)
fi
export AUTH_MODE="$auth_mode" JWT_SECRET="$(cat .local/jwt-secret)" PLAYBACK_SIGNING_SECRET="$(cat .local/playback-secret)"
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
python3 -m http.server --bind 127.0.0.1 8080 -d web > .local/web.log 2>&1 &
web_pid=$!
trap 'kill $web_pid $sfn_pid $pump_pid $moto_pid 2>/dev/null' EXIT
echo "dev: moto on $AWS_ENDPOINT_URL; serving functions on http://127.0.0.1:9000 (the HTTP API at"
echo "dev: http://127.0.0.1:9000/lambda-url/vidpipe-presign, AUTH_MODE=$AUTH_MODE); Step Functions on $AWS_ENDPOINT_URL_SFN"
echo "dev: logs: .local/pump.log, .local/stepfunctions.log, .local/web.log (Ctrl-C stops)"
if [ "$AUTH_MODE" = hs256 ]; then
  token="$(cargo run --quiet -p vidpipe-cli -- local token --sub dev)"
  echo "dev: the recorder and console, signed in for an hour: http://127.0.0.1:8080/#token=$token"
fi
echo "dev: the main job, headless, in another terminal: cargo run -p vidpipe-cli -- demo"
# --disable-cors: the functions answer CORS themselves (ALLOWED_ORIGINS), as they do behind API Gateway.
# --features local: the local backends (MEDIACONVERT_BACKEND=engine) that release builds leave out.
cargo lambda watch --disable-cors --features local --env-file events/local.env \
  --env-var "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL" --env-var "AUTH_MODE=$AUTH_MODE" --env-var "JWT_SECRET=$JWT_SECRET" \
  --env-var "PLAYBACK_SIGNING_SECRET=$PLAYBACK_SIGNING_SECRET"
