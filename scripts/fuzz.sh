#!/usr/bin/env bash
# Runs vidpipe's fuzz targets (docs/fuzzing.md) for a given time each:
#
#   scripts/fuzz.sh [seconds-per-target] [target...]     (default: 60 seconds, every target)
#
# With nightly Rust and cargo-fuzz: each target runs under libFuzzer from its committed seeds (fuzz/corpus/<target>);
# the inputs libFuzzer adds go to fuzz/target/corpus/<target> and crashes to fuzz/artifacts/<target>/ (neither is
# committed: a crash becomes a seed and a test, see docs/fuzzing.md). A summary of executions per target ends the run.
# VIDPIPE_FUZZ_SANITIZER picks cargo-fuzz's sanitizer (default none: every vidpipe crate forbids unsafe code, and
# what the targets look for are panics and broken invariants, which need none; `address` halves the speed).
#
# Without them: says what is missing, then runs the same checks on stable Rust as proptest mutations of the seeds
# (crates/fuzzcheck/tests/it/mutations.rs), in rounds of VIDPIPE_FUZZ_CASES inputs (default 2000) with a new random
# seed each round, until the time per target is up.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [seconds-per-target] [target...]" >&2
  exit 2
fi
shift || true
known=()
for file in fuzz/fuzz_targets/*.rs; do
  known+=("$(basename "$file" .rs)")
done
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=("${known[@]}")
fi
for target in "${targets[@]}"; do
  if ! [[ " ${known[*]} " == *" $target "* ]]; then
    echo "unknown target $target (targets: ${known[*]})" >&2
    exit 2
  fi
done

missing=()
cargo +nightly --version >/dev/null 2>&1 || missing+=("a nightly toolchain (rustup toolchain install nightly)")
cargo fuzz --version >/dev/null 2>&1 || missing+=("cargo-fuzz (cargo install cargo-fuzz --locked)")

if [ ${#missing[@]} -gt 0 ]; then
  echo "== libFuzzer is not available: missing ${missing[0]}${missing[1]:+ and ${missing[1]}}."
  echo "== Falling back to the stable runner: proptest mutations of the seeds, ${seconds} s per target."
  cases="${VIDPIPE_FUZZ_CASES:-2000}"
  cargo test -p vidpipe-fuzzcheck --locked --test it --no-run
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  failed=()
  i=0
  for target in "${targets[@]}"; do
    i=$((i + 1))
    echo "== [$i/${#targets[@]}] $target: rounds of $cases mutated inputs for ${seconds} s"
    end=$((SECONDS + seconds))
    rounds=0
    while [ $SECONDS -lt $end ]; do
      if ! VIDPIPE_FUZZ_CASES="$cases" VIDPIPE_FUZZ_SEED=random \
        cargo test -q -p vidpipe-fuzzcheck --locked --test it -- --exact "mutations::$target" >"$log" 2>&1; then
        cat "$log"
        failed+=("$target")
        break
      fi
      rounds=$((rounds + 1))
    done
    echo "== $target: $rounds rounds, $((rounds * cases)) inputs"
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "== invariants broken in: ${failed[*]} (the failing input is printed above)"
    exit 1
  fi
  exit 0
fi

# One figure of libFuzzer's final statistics (-print_final_stats) from a target's log.
stat() { grep -o "^stat::$1: *[0-9]*" "$2" | grep -o '[0-9]*$' || echo "?"; }

sanitizer="${VIDPIPE_FUZZ_SANITIZER:-none}"
echo "== building the fuzz targets (cargo +nightly fuzz build, sanitizer $sanitizer)"
cargo +nightly fuzz build -s "$sanitizer"
mkdir -p fuzz/target/logs
summary=()
failed=()
i=0
for target in "${targets[@]}"; do
  i=$((i + 1))
  echo "== [$i/${#targets[@]}] $target: ${seconds} s from fuzz/corpus/$target"
  mkdir -p "fuzz/target/corpus/$target"
  log="fuzz/target/logs/$target.log"
  # -timeout: an input that takes 10 s is a hang worth a report; the new corpus folder comes first, so libFuzzer
  # writes what it adds there and never into the committed seeds. The full output is in the log; shown are the
  # start, the end and anything that went wrong.
  set +e
  cargo +nightly fuzz run -s "$sanitizer" "$target" "fuzz/target/corpus/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -dict=fuzz/vidpipe.dict -print_final_stats=1 \
    2>&1 | tee "$log" | grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|==[0-9]+== ERROR|panicked at|^SUMMARY|Test unit written"
  status="${PIPESTATUS[0]}"
  set -e
  summary+=("$(printf '%-18s %12s execs %8s execs/s %6s new units  %s' "$target" "$(stat number_of_executed_units "$log")" \
    "$(stat average_exec_per_sec "$log")" "$(stat new_units_added "$log")" "$([ "$status" = 0 ] && echo ok || echo "CRASH (see $log)")")")
  [ "$status" = 0 ] || failed+=("$target")
done
echo "== summary (${seconds} s per target, sanitizer $sanitizer)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "== crashes in: ${failed[*]}; inputs in fuzz/artifacts/<target>/ (docs/fuzzing.md: make each a seed and a test)"
  exit 1
fi
