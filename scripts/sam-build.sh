#!/usr/bin/env bash
# Builds every function of infra/template.yaml (or the named ones) the way `sam deploy` ships them: SAM's
# rust-cargolambda builder (a SAM beta feature), which runs `cargo lambda build --release --arm64` per function and
# writes .aws-sam/build/. Not part of the test command: six release builds take long on a small machine.
#   scripts/sam-build.sh [FunctionLogicalId...]      then: sam deploy --guided -t .aws-sam/build/template.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0 CARGO_INCREMENTAL=0
for tool in sam cargo-lambda; do
  command -v "$tool" >/dev/null 2>&1 || { echo "sam-build: $tool is missing: run scripts/setup.sh" >&2; exit 1; }
done
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || {
  echo "sam-build: the arm64 target is missing: rustup target add aarch64-unknown-linux-gnu" >&2; exit 1; }
exec sam build --beta-features --template-file infra/template.yaml --build-dir .aws-sam/build "$@"
