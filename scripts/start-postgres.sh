#!/usr/bin/env bash
# Starts the PostgreSQL server the tests use (127.0.0.1:5432, user
# `postgres`, trust auth from 127.0.0.1) if it is not already running;
# installs it with apt if it is missing. Fails loudly, saying why, if it
# cannot be brought up: the suite needs it. scripts/test.sh calls this.
set -euo pipefail

host=127.0.0.1
port=5432

up() { pg_isready -h "$host" -p "$port" -q 2>/dev/null; }

if command -v pg_isready >/dev/null 2>&1 && up; then
  echo "PostgreSQL is running on $host:$port"
  exit 0
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "PostgreSQL is not installed: installing it (apt-get install postgresql)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }; then
    echo "error: could not install PostgreSQL with apt-get; the suite needs a server on $host:$port" >&2
    exit 1
  fi
fi

# The Debian cluster: the newest installed version's `main`.
version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
if [ -z "$version" ]; then
  echo "error: no PostgreSQL version under /usr/lib/postgresql; cannot start a server" >&2
  exit 1
fi
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$version main"; then
  echo "creating cluster $version/main"
  pg_createcluster "$version" main >/dev/null
fi

# Trust for the local test user over TCP from this machine only (the tests
# connect as `postgres` without a password), and listen on 127.0.0.1.
hba=/etc/postgresql/$version/main/pg_hba.conf
if [ -f "$hba" ] && ! grep -Eq '^host[[:space:]]+all[[:space:]]+postgres[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
  echo "allowing trust auth for postgres from 127.0.0.1 in $hba"
  sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
fi

echo "starting PostgreSQL $version/main"
pg_ctlcluster "$version" main start 2>/dev/null \
  || pg_ctlcluster "$version" main reload 2>/dev/null \
  || service postgresql start \
  || true

for _ in $(seq 1 30); do
  if up; then
    echo "PostgreSQL is running on $host:$port"
    exit 0
  fi
  sleep 1
done
echo "error: PostgreSQL did not come up on $host:$port (pg_ctlcluster $version main start;" \
  "see /var/log/postgresql/postgresql-$version-main.log); the suite needs it" >&2
exit 1
