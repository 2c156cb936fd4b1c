#!/usr/bin/env bash
# The main job, as far as it is built today (issue 1/6): the field tools of
# `reader-daemon` on the GS1 EPC codec and the reader frame codecs.
# When the simulator, server and daemon loops land (issues 2/6–4/6) this
# script starts server + simulated reader + daemon instead.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p reader-daemon
bin=target/release/reader-daemon

echo "== EPC decode (GS1 TDS example SGTIN-96 and an asset GIAI-96):"
printf '%s\n' 3074257BF7194E4000001A85 3434257BF40000000000162E | "$bin" epc decode
echo "== EPC encode (pure identity URI + filter):"
"$bin" epc encode --filter 3 urn:epc:id:sgtin:0614141.812345.6789
echo "== R2000 capture: noise, get-firmware command (PROTOCOLS.md), half a frame:"
"$bin" frame decode --protocol r2000 --direction command "FF FF A0 03 01 72 EA A0 03" || true
echo "== Chainway capture: set-power command (PROTOCOLS.md):"
"$bin" frame decode --protocol chainway --direction command "A5 5A 00 0E 10 02 01 0B B8 0B B8 1D 0D 0A"
