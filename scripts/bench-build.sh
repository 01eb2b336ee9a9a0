#!/usr/bin/env bash
# Times a clean build of every test binary (`cargo test --workspace --no-run --locked`, dependencies included) at
# each given git revision, each in a fresh clone with an empty target folder: what a fresh CI run compiles before
# its first test. Prints wall seconds, CPU seconds (user + sys, which a busy machine inflates less) and the number
# of test binaries. Usage: scripts/bench-build.sh REV [REV...]   (for example a revision before a change and HEAD)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -ge 1 ] || { echo "usage: $0 REV [REV...]" >&2; exit 2; }
echo "| revision | wall s | CPU s (user+sys) | test binaries |"
echo "|---|---|---|---|"
for rev in "$@"; do
  work="$(mktemp -d)"
  git -C "$repo" worktree add --quiet --detach "$work/src" "$rev"
  log="$work/build.log"
  start=$(date +%s.%N)
  ( cd "$work/src" && CARGO_TARGET_DIR="$work/target" /usr/bin/time -f '%U %S' -o "$work/cpu" \
      cargo test --workspace --no-run --locked --message-format=short >"$log" 2>&1 ) || {
    echo "build of $rev failed; see $log" >&2; exit 1; }
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  cpu=$(awk '{print $1 + $2}' "$work/cpu")
  binaries=$(grep -c 'Executable' "$log" || true)
  printf '| %s | %.0f | %.0f | %s |\n' "$(git -C "$repo" rev-parse --short "$rev")" "$wall" "$cpu" "$binaries"
  git -C "$repo" worktree remove --force "$work/src"
  rm -rf "$work"
done
echo "($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
