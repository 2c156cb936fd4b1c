#!/usr/bin/env bash
# The main job on one machine, embedded SQLite, no other service:
#   warehouse-server (seeded register)  <── HTTP ──  reader-daemon  <── PTY ──  hardware-sim
# A simulated desk reader (R2000 protocol, 115200 baud) sees 120 tagged
# assets; the daemon journals its reads and syncs them to the server. Runs
# until Ctrl-C (or for RUN_SECONDS seconds), printing the daemon's status.
#
# Environment: RUN_DIR (state, default ./.run, wiped at start), PORT (server,
# default 8080), PROTOCOL (r2000|chainway), TAGS (default 120), RUN_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."

run_dir=${RUN_DIR:-$PWD/.run}
port=${PORT:-8080}
protocol=${PROTOCOL:-r2000}
tags=${TAGS:-120}
admin_password=${ADMIN_PASSWORD:-gongwucang-demo}

echo "== building (release) …"
cargo build --release --locked -p warehouse-server -p hardware-sim -p reader-daemon
bin=$PWD/target/release

rm -rf "$run_dir"
mkdir -p "$run_dir"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM

server() { "$bin/warehouse-server" --db "$run_dir/warehouse.db" "$@"; }

echo "== warehouse-server: new register in $run_dir/warehouse.db"
server admin init --admin-username admin --admin-password "$admin_password" \
  --org-name "演示公物仓" --company-prefix 0614141 >/dev/null
server admin seed --assets 500 >/dev/null 2>&1
# A scripted year of requests so the web UI has something to show, and one
# demo login per role (same password as admin).
server admin simulate-year --requests 120 >/dev/null
for who in approver:approver finance:finance keeper:keeper; do
  server admin create-user --username "${who%%:*}" --password "$admin_password" --role "${who##*:}" >/dev/null
done
server admin create-user --username unit --password "$admin_password" --role unit_staff --unit-id 2 >/dev/null
token=$(server admin register-daemon --daemon-id demo-edge-01 --reader desk-1:desk | tail -n 1)
server serve --listen "127.0.0.1:$port" >"$run_dir/server.out" 2>"$run_dir/server.log" &
pids+=($!)

echo "== hardware-sim: $protocol desk reader with $tags tagged assets"
"$bin/hardware-sim" run --link "$run_dir/ttyDESK" --protocol "$protocol" --tags "$tags" \
  >"$run_dir/sim.out" 2>"$run_dir/sim.log" &
pids+=($!)
for _ in $(seq 100); do grep -q '^ready' "$run_dir/sim.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^ready' "$run_dir/sim.out" || { echo "hardware-sim did not start:"; cat "$run_dir/sim.log"; exit 1; }

cat >"$run_dir/daemon.toml" <<TOML
[server]
url = "http://127.0.0.1:$port"
token = "$token"

[daemon]
id = "demo-edge-01"
metrics_listen = "127.0.0.1:0"

[journal]
path = "$run_dir/journal.db"

[[reader]]
name = "desk-1"
port = "$run_dir/ttyDESK"
protocol = "$protocol"
antennas = [1]
power_dbm = 30
role = "desk"
location = "WH1-DESK"
TOML

echo "== reader-daemon: journal $run_dir/journal.db"
"$bin/reader-daemon" run --config "$run_dir/daemon.toml" 2>"$run_dir/daemon.log" &
pids+=($!)

cat <<MSG

Running. Web UI: http://127.0.0.1:$port/  (admin, approver, finance, keeper
  or unit, all with password $admin_password)
  API document: http://127.0.0.1:$port/api/v1/openapi.json
  Logs and state: $run_dir
Ctrl-C stops everything.
MSG

end=$(( $(date +%s) + ${RUN_SECONDS:-31536000} ))
while [ "$(date +%s)" -lt "$end" ]; do
  sleep 5
  echo "---- $(date -u +%H:%M:%SZ)"
  "$bin/reader-daemon" status --config "$run_dir/daemon.toml" || true
done
