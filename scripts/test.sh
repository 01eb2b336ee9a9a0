#!/usr/bin/env bash
# Runs every vidpipe test on a fresh machine: installs what it needs (scripts/setup.sh), then format, code-shape and
# lint checks (tools/code_shape.py; clippy with the workspace lints), builds with --locked, the Rust tests (unit,
# handler, and integration tests against a moto server each test binary starts on a free loopback port, and media
# tests on real ffmpeg output), then the offline validators.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== code shape: files within 900 lines, functions within 120"
python3 tools/code_shape.py
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked --quiet -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
echo "== Python tests: MediaConvert jobs against botocore's model, the SAM template (cfn-lint, statelint), the survey client and the recorder page (web/) in Chromium and vidpipe demo against the local stack"
PYTHONDONTWRITEBYTECODE=1 .venv/bin/python -m unittest discover -s tools -p 'test_*.py'
