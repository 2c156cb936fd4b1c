#!/usr/bin/env bash
# Builds the libFuzzer targets in shared/fuzz on the *stable* toolchain and
# runs each for a bounded time; prints executions per target and exits
# non-zero if any target crashed (the crashing input is kept under
# shared/fuzz/artifacts/<target>/). See docs/fuzzing.md.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default: 20, all)
#
# No cargo-fuzz and no nightly: libfuzzer-sys compiles libFuzzer from C++,
# and the SanitizerCoverage passes cargo-fuzz would ask for are stable `-C`
# flags, passed here directly. `--target` keeps them off build scripts and
# proc macros (which run on the host and must not be instrumented).
# One libFuzzer process per target, one after another (the machine has 2
# cores). The corpus grows in shared/fuzz/corpus/<target> (git-ignored) on
# top of the committed seeds in shared/fuzz/seeds/<target>.
set -euo pipefail
cd "$(dirname "$0")/../shared/fuzz"

seconds=${1:-20}
shift || true
all=(epc_decode r2000_decode chainway_decode http_bodies)
targets=("${@:-${all[@]}}")
triple=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/target}
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cllvm-args=-sanitizer-coverage-stack-depth"

echo "== fuzz: building ${targets[*]} (stable $(rustc --version | cut -d' ' -f2), $triple)"
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
# The fuzz crate depends on warehouse-server by path, so it builds the same
# dependency versions the workspace tests: start from the workspace's lock
# (cargo adds only libFuzzer's few crates).
cp ../../Cargo.lock Cargo.lock
cargo build --release --target "$triple" "${bins[@]}"

failed=0
summary=()
for t in "${targets[@]}"; do
  corpus=corpus/$t
  artifacts=artifacts/$t/
  mkdir -p "$corpus" "$artifacts"
  dirs=("$corpus")
  [ -d "seeds/$t" ] && dirs+=("seeds/$t")
  log=$(mktemp)
  echo "== fuzz: $t for ${seconds}s"
  status=0
  # -timeout: one input taking 10 s is a hang (a decoder that stops making
  # progress loops forever) and counts as a crash.
  "$CARGO_TARGET_DIR/$triple/release/$t" "${dirs[@]}" \
    -max_total_time="$seconds" -timeout=10 -artifact_prefix="$artifacts" \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" |
    sed "s/^/  $t /" || true
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9/]+[a-zA-Z]*' "$log" | tail -1 || true)
  if [ "$status" -ne 0 ]; then
    echo "!! fuzz: $t FAILED (exit $status); the input is in shared/fuzz/$artifacts" >&2
    grep -E -A12 'panicked at|ERROR: libFuzzer|Test unit written|timeout' "$log" | head -40 >&2 || true
    failed=1
    summary+=("$t: FAILED after ${execs:-?} executions")
  else
    summary+=("$t: ${execs:-?} executions in ${seconds}s, no crash (${cov:-no coverage line})")
  fi
  rm -f "$log"
done
echo "== fuzz summary"
printf '  %s\n' "${summary[@]}"
exit "$failed"
