#!/usr/bin/env bash
# Times the render API on the local stack: POST /renders as a client sees it, and the time from the POST to the
# render's `processing` (tools/bench_render_api.py; it starts moto, the functions under cargo lambda watch, the pump
# and the local Step Functions endpoint, as the tests do).
#
# Usage: scripts/bench-render-api.sh [renders]   (default 10, after one that warms the render functions up)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
PYTHONDONTWRITEBYTECODE=1 exec .venv/bin/python tools/bench_render_api.py "$@"
