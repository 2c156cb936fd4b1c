#!/usr/bin/env bash
# Throughput of the batch EPC CLI through real pipes: N hex lines (a mix of
# schemes) → `reader-daemon epc decode` → JSON lines. Prints lines/s.
# Usage: scripts/bench-cli.sh [LINES]   (default 2,000,000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000000}
cargo build --release --locked -p reader-daemon >/dev/null 2>&1
bin=target/release/reader-daemon
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A realistic mix: SGTIN-96, GIAI-96 with varying serials, SSCC-96, raw.
samples=(3074257BF7194E4000001A85 3434257BF40000000000162E 3114257BF4499602D2000000 3374257BF40C0E4000000190 E2801160600002054CC2FA21)
python3 - "$n" "$work/in.txt" "${samples[@]}" <<'PY'
import sys
n, path, samples = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
with open(path, "w") as f:
    for i in range(n):
        s = samples[i % len(samples)]
        # vary the last 6 hex digits so no two neighbouring lines are equal
        f.write(s[:-6] + format((i * 2654435761) & 0xFFFFFF, "06X") + "\n")
PY
for round in 1 2 3; do
  start=$(date +%s%N)
  "$bin" epc decode < "$work/in.txt" > "$work/out.jsonl" || true
  end=$(date +%s%N)
  lines=$(wc -l < "$work/out.jsonl")
  awk -v n="$lines" -v ns=$((end - start)) -v r="$round" \
    'BEGIN { printf "round %d: %d lines in %.3f s = %.0f lines/s\n", r, n, ns/1e9, n/(ns/1e9) }'
done
