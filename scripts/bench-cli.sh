#!/usr/bin/env bash
# Throughput of the batch EPC CLI through real pipes: N hex lines (a mix of
# schemes) → `reader-daemon epc decode` → JSON lines. Prints lines/s.
# Then the same first 300,000 lines through the Node epc-tds library (npm,
# installed into a temp dir; skipped with a message without node/npm), and,
# when valgrind is installed, callgrind instructions per line (independent
# of the machine's load). Every timing gives wall time and the process's
# CPU time (user + sys, from wait4): on a shared machine the wall time
# mostly measures the other jobs, the CPU time much less so. The load
# average is printed at the start and the end.
# Usage: scripts/bench-cli.sh [LINES]   (default 2,000,000)
#        BENCH_BIN=path/to/reader-daemon scripts/bench-cli.sh [LINES]
#        (measures that binary, e.g. an older build, instead of building)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000000}
if [ -n "${BENCH_BIN:-}" ]; then
  bin=$BENCH_BIN
else
  cargo build --release --locked -p reader-daemon >/dev/null 2>&1
  bin=${CARGO_TARGET_DIR:-target}/release/reader-daemon
fi
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
# timed RUNS IN OUT CMD...: runs CMD < IN > OUT, RUNS times; prints the best
# wall seconds and the least CPU seconds (user + sys of CMD and its children).
cat > "$work/timed.py" <<'PY'
import os, subprocess, sys, time
runs, src, dst, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
wall = cpu = None
for _ in range(runs):
    with open(src, "rb") as i, open(dst, "wb") as o:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=i, stdout=o)
        _, _, ru = os.wait4(p.pid, 0)
        w = time.perf_counter() - t0
    c = ru.ru_utime + ru.ru_stime
    wall = w if wall is None else min(wall, w)
    cpu = c if cpu is None else min(cpu, c)
print(f"{wall:.4f} {cpu:.4f}")
PY
timed() { python3 "$work/timed.py" "$@"; }

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
for round in 1 2 3; do
  read -r wall cpu < <(timed 1 "$work/in.txt" "$work/out.jsonl" "$bin" epc decode)
  lines=$(wc -l < "$work/out.jsonl")
  awk -v n="$lines" -v w="$wall" -v c="$cpu" -v r="$round" \
    'BEGIN { printf "round %d: %d lines in %.3f s = %.0f lines/s wall; CPU %.3f s = %.0f lines per CPU-second\n", r, n, w, n/w, c, n/c }'
done

# --- against epc-tds, same 300,000 lines ----------------------------------
cmp_n=300000
head -n "$cmp_n" "$work/in.txt" > "$work/cmp.txt"
read -r ours_wall ours_cpu < <(timed 3 "$work/cmp.txt" "$work/cmp.out" "$bin" epc decode)
awk -v n="$cmp_n" -v w="$ours_wall" -v c="$ours_cpu" \
  'BEGIN { printf "reader-daemon, %d lines: %.3f s wall = %.0f lines/s; CPU %.3f s (best of three)\n", n, w, n/w, c }'
if command -v node >/dev/null && command -v npm >/dev/null \
  && (cd "$work" && npm install --silent --no-audit --no-fund epc-tds@1.4.1 >/dev/null 2>&1); then
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
  read -r tds_wall tds_cpu < <(timed 3 /dev/null "$work/cmp.out" node "$work/tds.js" "$work/cmp.txt")
  awk -v n="$cmp_n" -v w="$tds_wall" -v c="$tds_cpu" -v ow="$ours_wall" -v oc="$ours_cpu" -v nv="$(node --version)" \
    'BEGIN { printf "epc-tds (node %s), %d lines: %.3f s wall = %.0f lines/s; CPU %.3f s (best of three)\n", nv, n, w, n/w, c;
             printf "reader-daemon is %.1fx faster by wall time, %.1fx by CPU time\n", w/ow, c/oc }'
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
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
