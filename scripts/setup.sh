#!/usr/bin/env bash
# Installs what vidpipe's local stack and tests need, on a fresh Debian machine. Safe to run again.
#   - Debian packages: ffmpeg (ffmpeg, ffprobe), chromium (browser recordings and page tests, driven by Playwright),
#     openssl (the CloudFront signing tests make their RSA keys with it), npm
#   - node_modules: hls.js (package-lock.json), the browser playback test's player
#   - .venv: moto server, botocore (MediaConvert model for job validation), statelint, cfn-lint, aws-sam-cli, cargo-lambda,
#     Playwright for Python (it drives Debian's chromium through executable_path; no browser is downloaded)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || need_apt+=(ffmpeg)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-venv)
if ((${#need_apt[@]})); then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

stamp=.venv/.requirements-dev.sha256
want=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating .venv from requirements-dev.txt"
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > "$stamp"
fi

# The browser tests' player (hls.js), pinned by package-lock.json.
if [ ! -f node_modules/hls.js/package.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci (hls.js for the browser tests)"
  npm ci --silent --no-audit --no-fund
fi

for tool in ffmpeg ffprobe chromium openssl .venv/bin/moto_server .venv/bin/statelint .venv/bin/cfn-lint .venv/bin/sam .venv/bin/cargo-lambda; do
  command -v "$tool" >/dev/null 2>&1 || { echo "setup: $tool is missing after install" >&2; exit 1; }
done
echo "setup: ok ($(ffmpeg -version | head -1 | cut -d' ' -f1-3), $(chromium --version 2>/dev/null | cut -d' ' -f1-2), moto $(.venv/bin/python -c 'import moto; print(moto.__version__)'), playwright $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("playwright"))'))"
