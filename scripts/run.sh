#!/usr/bin/env bash
# The main job on one machine, embedded SQLite, no other service:
#   warehouse-server (seeded register)  <── HTTP ──  reader-daemon  <── PTYs ──  hardware-sim
# The simulated readers are built from the register (`admin export-scenario`):
# a desk reader with a shelf of in-stock assets (those of the loans waiting
# for check-out first) and a few visitors' tags, an exit gate one of those
# assets passes now and then, and a handheld at one location's stock. The
# daemon journals their reads and syncs them to the server. Runs until
# Ctrl-C (or for RUN_SECONDS seconds), printing the daemon's status; on the
# way out it stops every process it started.
#
# Environment: RUN_DIR (state, default ./.run, wiped at start), PORT (server,
# default 8080), PROTOCOL (r2000|chainway), RUN_SECONDS, BIN_DIR (use the
# binaries there instead of building release ones), STARTUP_TIMEOUT
# (seconds each part may take to come up, default 60), ADMIN_PASSWORD.
set -euo pipefail
cd "$(dirname "$0")/.."

run_dir=${RUN_DIR:-$PWD/.run}
port=${PORT:-8080}
protocol=${PROTOCOL:-r2000}
admin_password=${ADMIN_PASSWORD:-gongwucang-demo}
startup_timeout=${STARTUP_TIMEOUT:-60}

die() {
  echo "run.sh: $*" >&2
  exit 1
}

case "$port" in
  '' | *[!0-9]*) die "PORT=$port is not a port number" ;;
esac
case "$protocol" in
  r2000 | chainway) ;;
  *) die "PROTOCOL=$protocol is not r2000 or chainway" ;;
esac

# True if something accepts connections on 127.0.0.1:$1.
port_taken() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Before anything else: a second run on a taken port would otherwise start
# a daemon that talks to whatever answers there.
if port_taken "$port"; then
  die "port $port on 127.0.0.1 is already in use (another run.sh or program listens there).
Stop it, or pick another port: PORT=8081 ./scripts/run.sh"
fi

if [ -n "${BIN_DIR:-}" ]; then
  bin=$(cd "$BIN_DIR" && pwd)
else
  echo "== building (release) …"
  cargo build --release --locked -p warehouse-server -p hardware-sim -p reader-daemon
  bin=$PWD/target/release
fi
for b in warehouse-server hardware-sim reader-daemon; do
  [ -x "$bin/$b" ] || die "$bin/$b is missing (BIN_DIR=${BIN_DIR:-})"
done

rm -rf "$run_dir"
mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)

# Every process started here, in start order; stopped in reverse on exit.
pids=()
names=()

# True while process $1 runs (a child that exited but is not reaped yet is
# a zombie: not running).
alive() {
  local state
  state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local i p
  [ -z "${sleeper:-}" ] || kill "$sleeper" 2>/dev/null || true
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    p=${pids[i]}
    if alive "$p"; then
      kill -TERM "$p" 2>/dev/null || true
      for _ in $(seq 100); do alive "$p" || break; sleep 0.1; done
      if alive "$p"; then
        echo "run.sh: ${names[i]} (pid $p) ignored SIGTERM for 10 s; killing it" >&2
        kill -KILL "$p" 2>/dev/null || true
      fi
    fi
    wait "$p" 2>/dev/null || true
  done
  [ ${#pids[@]} -eq 0 ] || echo "== stopped: ${names[*]}"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

started() {
  pids+=("$1")
  names+=("$2")
}

# Prints the last lines of a log and fails.
fail_with_log() {
  local what=$1 log=$2
  echo "run.sh: $what" >&2
  if [ -s "$log" ]; then
    echo "---- last lines of $log:" >&2
    tail -n 25 "$log" >&2
  fi
  exit 1
}

# The HTTP status of GET $1 on the server, or nothing.
http_status() {
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$2" >&3
    read -r _ code _ <&3 && echo "$code"' _ "$port" "$1" 2>/dev/null || true
}

# Admin commands on the register (log lines only for warnings).
server() { WAREHOUSE_LOG=${WAREHOUSE_LOG:-warn} "$bin/warehouse-server" --db "$run_dir/warehouse.db" "$@"; }

echo "== warehouse-server: new register in $run_dir/warehouse.db"
server admin init --admin-username admin --admin-password "$admin_password" \
  --org-name "演示公物仓" --company-prefix 0614141 >/dev/null
server admin seed --assets 500 >/dev/null 2>&1
# The demo network (三级联网): 广西壮族自治区, 3 cities, 9 counties, each
# with its agency's warehouse, units, staff and assets; its logins (all
# with the admin's password) are printed at the end.
server admin seed --network --password "$admin_password" >"$run_dir/network-logins.txt"
# A scripted year of requests so the web UI has something to show; two
# loans are left approved and waiting for check-out at the desk.
server admin simulate-year --requests 120 --waiting 2 >/dev/null
# One demo login per role (same password as admin); `unit` is staff of the
# unit that filed the waiting loans.
for who in approver:approver finance:finance keeper:keeper; do
  server admin create-user --username "${who%%:*}" --password "$admin_password" --role "${who##*:}" >/dev/null
done
server admin create-user --username unit --password "$admin_password" --role unit_staff --unit-id 4 >/dev/null

# The simulated field, from the register's own tags.
guide=$(server admin export-scenario --out "$run_dir/field.toml" --link-dir "$run_dir" \
  --protocol "$protocol")
readers=(desk-1:desk gate-1:gate)
grep -q '^name = "handheld-1"' "$run_dir/field.toml" && readers+=(handheld-1:handheld)
reader_args=()
for r in "${readers[@]}"; do reader_args+=(--reader "$r"); done
token=$(server admin register-daemon --daemon-id demo-edge-01 "${reader_args[@]}" 2>/dev/null | tail -n 1)
[ -n "$token" ] || die "admin register-daemon printed no token"

# Started directly (no function, no subshell), so $! is the server itself.
"$bin/warehouse-server" --db "$run_dir/warehouse.db" serve --listen "127.0.0.1:$port" \
  >"$run_dir/server.out" 2>"$run_dir/server.log" &
started $! warehouse-server
server_pid=$!
end=$((SECONDS + startup_timeout))
until [ "$(http_status /healthz)" = 200 ]; do
  alive "$server_pid" || fail_with_log "warehouse-server exited during start-up (port $port taken?)" "$run_dir/server.log"
  [ "$SECONDS" -lt "$end" ] || fail_with_log "warehouse-server did not answer /healthz on port $port within ${startup_timeout} s" "$run_dir/server.log"
  sleep 0.2
done
echo "== warehouse-server: http://127.0.0.1:$port/ (pid $server_pid)"

# The simulator takes timeline actions on its control FIFO (see below);
# opened read-write so it never sees end-of-file.
mkfifo "$run_dir/sim.control"
"$bin/hardware-sim" run --scenario "$run_dir/field.toml" --control \
  <>"$run_dir/sim.control" >"$run_dir/sim.out" 2>"$run_dir/sim.log" &
started $! hardware-sim
sim_pid=$!
end=$((SECONDS + startup_timeout))
until [ "$(grep -c '^ready ' "$run_dir/sim.out" 2>/dev/null)" -ge "${#readers[@]}" ]; do
  alive "$sim_pid" || fail_with_log "hardware-sim exited during start-up" "$run_dir/sim.log"
  [ "$SECONDS" -lt "$end" ] || fail_with_log "hardware-sim did not get ready within ${startup_timeout} s" "$run_dir/sim.log"
  sleep 0.1
done
echo "== hardware-sim: ${readers[*]} ($protocol) on $run_dir/*.tty (pid $sim_pid)"

{
  cat <<TOML
[server]
url = "http://127.0.0.1:$port"
token = "$token"

[daemon]
id = "demo-edge-01"
metrics_listen = "127.0.0.1:0"

[journal]
path = "$run_dir/journal.db"
TOML
  for r in "${readers[@]}"; do
    name=${r%%:*}
    role=${r##*:}
    antennas="[1]"
    [ "$role" = gate ] && antennas="[1, 2]"
    cat <<TOML

[[reader]]
name = "$name"
port = "$run_dir/$name.tty"
protocol = "$protocol"
antennas = $antennas
power_dbm = 30
role = "$role"
TOML
  done
} >"$run_dir/daemon.toml"

"$bin/reader-daemon" run --config "$run_dir/daemon.toml" 2>"$run_dir/daemon.log" &
started $! reader-daemon
daemon_pid=$!
# Up means: the daemon runs and the server accepted its first batch.
end=$((SECONDS + startup_timeout))
while :; do
  alive "$daemon_pid" || fail_with_log "reader-daemon exited during start-up" "$run_dir/daemon.log"
  status=$("$bin/reader-daemon" status --json --config "$run_dir/daemon.toml" 2>/dev/null || true)
  if printf '%s' "$status" | grep -Eq '"batches_acked": [1-9]'; then
    break
  fi
  if printf '%s' "$status" | grep -q 'refused the reader token'; then
    fail_with_log "the server on port $port refused the daemon's token (is it this run's server?)" "$run_dir/daemon.log"
  fi
  [ "$SECONDS" -lt "$end" ] || fail_with_log "no batch of the daemon was accepted within ${startup_timeout} s" "$run_dir/daemon.log"
  sleep 0.3
done
echo "== reader-daemon: first batch accepted; journal $run_dir/journal.db (pid $daemon_pid)"

cat <<MSG

Running. Web UI: http://127.0.0.1:$port/  (admin, approver, finance, keeper
  or unit, all with password $admin_password)
  The province cockpit (驾驶舱): http://127.0.0.1:$port/cockpit
  The demo network's logins (same password):
$(sed -n 's/^  /    /p' "$run_dir/network-logins.txt")
  API document: http://127.0.0.1:$port/api/v1/openapi.json
  Logs and state: $run_dir

$guide
  - Pass an asset through the gate now (alarm unless it is checked out):
    echo '{"kind":"gate_pass","reader":"gate-1","tags":{"population":"desk-shelf","first":0,"count":1},"antennas":[1,2]}' > $run_dir/sim.control

Ctrl-C stops everything.
MSG

end=$((SECONDS + ${RUN_SECONDS:-31536000}))
while [ "$SECONDS" -lt "$end" ]; do
  for p in "$server_pid" "$sim_pid" "$daemon_pid"; do
    if ! alive "$p"; then
      case $p in
        "$server_pid") fail_with_log "warehouse-server stopped" "$run_dir/server.log" ;;
        "$sim_pid") fail_with_log "hardware-sim stopped" "$run_dir/sim.log" ;;
        *) fail_with_log "reader-daemon stopped" "$run_dir/daemon.log" ;;
      esac
    fi
  done
  left=$((end - SECONDS))
  [ "$left" -gt 5 ] && left=5
  [ "$left" -gt 0 ] || break
  # In the background, so a signal runs the trap at once.
  sleep "$left" &
  sleeper=$!
  wait "$sleeper" || true
  sleeper=
  echo "---- $(date -u +%H:%M:%SZ)"
  "$bin/reader-daemon" status --config "$run_dir/daemon.toml" || true
done
