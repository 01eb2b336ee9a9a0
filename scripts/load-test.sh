#!/usr/bin/env bash
# The compositor's load test at full size: LOAD_STREAMS streams (200 by default), each with duplicated, reordered
# and concurrent ObjectCreated events through moto's S3 notifications, the SQS queue and three `vidpipe local pump`
# processes, into the compositor's real handler. Prints the streams, events, composites, lost and doubled counts,
# the time taken and the events per second. The test command runs the same test with 40 streams.
#
# Usage: scripts/load-test.sh [streams]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
export PATH="$PWD/.venv/bin:$PATH"
export LOAD_STREAMS="${1:-${LOAD_STREAMS:-200}}"
echo "== load test: $LOAD_STREAMS streams ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
cargo test --locked -p vidpipe-cli --test it -- --exact \
  load::duplicated_reordered_concurrent_events_through_the_queue_and_pump_make_one_composite_per_stream \
  --nocapture 2>&1 | grep -E '^load:|test result|panicked'
