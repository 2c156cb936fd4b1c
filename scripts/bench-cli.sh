#!/usr/bin/env bash
# Throughput of the batch EPC CLI through real pipes: N hex lines (a mix of
# schemes) → `reader-daemon epc decode` → JSON lines. Prints lines/s.
# Then the same first 300,000 lines through the Node epc-tds library (npm,
# installed into a temp dir; skipped with a message without node/npm), and,
# when valgrind is installed, callgrind instructions per line (independent
# of the machine's load).
# Usage: scripts/bench-cli.sh [LINES]   (default 2,000,000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000000}
cargo build --release --locked -p reader-daemon >/dev/null 2>&1
bin=${CARGO_TARGET_DIR:-target}/release/reader-daemon
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

# --- against epc-tds, same 300,000 lines ----------------------------------
cmp_n=300000
head -n "$cmp_n" "$work/in.txt" > "$work/cmp.txt"
best_ns() { # best of three wall times (ns) of "$@" reading cmp.txt
  local best=0
  for _ in 1 2 3; do
    local s e
    s=$(date +%s%N)
    "$@" > "$work/cmp.out" || true
    e=$(date +%s%N)
    if [ "$best" -eq 0 ] || [ $((e - s)) -lt "$best" ]; then best=$((e - s)); fi
  done
  echo "$best"
}
ours=$(best_ns sh -c '"$0" epc decode < "$1"' "$bin" "$work/cmp.txt")
awk -v n="$cmp_n" -v ns="$ours" 'BEGIN { printf "reader-daemon, %d lines: %.3f s = %.0f lines/s\n", n, ns/1e9, n/(ns/1e9) }'
if command -v node >/dev/null && command -v npm >/dev/null \
  && (cd "$work" && npm install --silent --no-audit --no-fund epc-tds >/dev/null 2>&1); then
  cat > "$work/tds.js" <<'JS'
// One hex EPC per line → one JSON line (hex, scheme, filter, both URIs).
const fs = require('fs');
const tds = require('epc-tds');
const out = [];
for (const hex of fs.readFileSync(process.argv[2], 'utf8').split('\n')) {
  if (!hex) continue;
  try {
    const e = tds.valueOf(hex);
    let filter = null;
    try { filter = e.getFilter(); } catch (_) {}
    out.push(JSON.stringify({ hex, scheme: e.getType(), filter, tag_uri: e.toTagURI(), id_uri: e.toIdURI() }));
  } catch (err) {
    out.push(JSON.stringify({ input: hex, error: String((err && err.message) || err) }));
  }
}
process.stdout.write(out.join('\n') + '\n');
JS
  theirs=$(best_ns node "$work/tds.js" "$work/cmp.txt")
  awk -v n="$cmp_n" -v a="$ours" -v b="$theirs" -v nv="$(node --version)" \
    'BEGIN { printf "epc-tds (node %s), %d lines: %.3f s = %.0f lines/s; reader-daemon is %.1fx faster\n", nv, n, b/1e9, n/(b/1e9), b/a }'
else
  echo "epc-tds comparison skipped: node/npm not installed or the npm registry is unreachable"
fi

# --- instructions per line (load-independent) -----------------------------
if command -v valgrind >/dev/null; then
  head -n 100000 "$work/in.txt" > "$work/cg.txt"
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$bin" epc decode \
    < "$work/cg.txt" > /dev/null 2> "$work/cg.log" || true
  ir=$(awk '/^summary:/ { print $2 }' "$work/cg.out")
  awk -v ir="$ir" 'BEGIN { printf "callgrind: %.0f instructions per line (100,000 lines, startup included)\n", ir/100000 }'
else
  echo "callgrind count skipped: valgrind not installed"
fi
