#!/usr/bin/env bash
# Drives hardware-sim with host libraries written by others, installed from
# PyPI into a throw-away venv, to show that software which was never built
# against our codecs cannot tell the simulator from a reader:
#   R2000:    pyImpinj 1.2        (github.com/hex-in/pyImpinj, pyserial, threaded)
#   Chainway: chainway-serial 0.2.3 (github.com/DaanVervacke/chainway-serial, asyncio)
# What each library ran and what had to be fixed: docs/hardware-sim.md,
# "Independent host check". Needs network access to PyPI; not part of CI.
#
# Usage: scripts/check-independent-hosts.sh   (exit 0 when every check passed)
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
sim_pid=""
cleanup() {
  if [ -n "$sim_pid" ] && kill -0 "$sim_pid" 2>/dev/null; then
    kill -TERM "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# chainway-serial declares Python >= 3.14; use one if the machine has it.
# (Debian 12 has 3.11; pyenv installs, where present, are tried too.)
py=""
pyenv_root=$(pyenv root 2>/dev/null || true)
for cand in python3.14 python3.13 python3.12 \
  ${pyenv_root:+"$pyenv_root"/versions/3.14*/bin/python3} \
  ${pyenv_root:+"$pyenv_root"/versions/3.13*/bin/python3} \
  ${pyenv_root:+"$pyenv_root"/versions/3.12*/bin/python3} python3; do
  if "$cand" -c 'import venv' >/dev/null 2>&1; then py=$cand; break; fi
done
echo "== venv with $($py --version) in $work"
"$py" -m venv "$work/venv"
pip="$work/venv/bin/pip"
vpy="$work/venv/bin/python"
"$pip" install -q --upgrade pip >/dev/null
# pyImpinj pins libscrc==0.1.6, which PyPI no longer serves; its only use of
# libscrc is lrc() and xmodem(), which the current libscrc still provides.
"$pip" install -q --no-deps pyimpinj==1.2
"$pip" install -q pyserial libscrc
"$pip" install -q --ignore-requires-python chainway-serial==0.2.3

site=$("$vpy" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if ! "$vpy" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then
  echo "== patching chainway-serial's two PEP 695 generic functions for $("$vpy" --version)"
  sed -i 's/^def _decoded\[Model\](/Model = __import__("typing").TypeVar("Model")\n\n\ndef _decoded(/' \
    "$site/chainway_serial/parsers.py"
  sed -i 's/^def _member\[Member: IntEnum\](/Member = TypeVar("Member", bound=IntEnum)\n\n\ndef _member(/' \
    "$site/chainway_serial/client.py"
fi
"$vpy" -c 'import pyImpinj, chainway_serial' 

echo "== building hardware-sim"
cargo build -q -p hardware-sim
bin=${CARGO_TARGET_DIR:-target}/debug/hardware-sim

cat > "$work/scenario.toml" <<EOF
seed = 7
[[reader]]
name = "r2000"
protocol = "r2000"
link = "$work/r2000"
antennas = 4
connected = [1, 2]
firmware = "1.8"
[[reader]]
name = "chainway"
protocol = "chainway"
link = "$work/chainway"
antennas = 1
firmware = "7.40.1"
[[population]]
name = "assets"
kind = "giai96"
company_prefix = "0614141"
count = 10
[[population.placement]]
reader = "r2000"
antenna = 1
distance_m = 0.2
[[population.placement]]
reader = "chainway"
antenna = 1
distance_m = 0.2
[[population]]
name = "blank-r2000"
kind = "blank"
count = 1
[[population.placement]]
reader = "r2000"
antenna = 2
distance_m = 0.2
[[population]]
name = "blank-chainway"
kind = "blank"
count = 1
[[population.placement]]
reader = "chainway"
antenna = 1
distance_m = 0.2
EOF

echo "== starting the simulator"
"$bin" run --scenario "$work/scenario.toml" >"$work/ready" 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 100); do
  [ "$(wc -l <"$work/ready")" -ge 2 ] && break
  sleep 0.1
done
cat "$work/ready"

cat > "$work/r2000_host.py" <<'PY'
"""pyImpinj against the simulated R2000 reader (address 1, 115200 baud)."""
import queue, sys, time
from pyImpinj import ImpinjR2KReader
from pyImpinj.constant import READER_ANTENNA
from pyImpinj.enums import ImpinjR2KFastSwitchInventory as FS

link = sys.argv[1]
results = []
def check(name, ok, detail=""):
    results.append(bool(ok))
    print(("PASS" if ok else "FAIL"), "r2000/pyImpinj:", name, detail, flush=True)

tags = queue.Queue(4096)
r = ImpinjR2KReader(tags, address=1)
r.connect(link, 115200)
r.worker_start()
data = lambda: ImpinjR2KReader.analyze_data("DATA", timeout=2)(lambda x, y: y)(r, None)

def collect(timeout=5):
    seen, done, errors = [], None, []
    end = time.time() + timeout
    while time.time() < end and done is None:
        try:
            item = tags.get(timeout=0.2)
        except queue.Empty:
            continue
        if item["type"] == "TAG": seen.append(item)
        elif item["type"] == "DONE": done = item
        else: errors.append(item)
    return seen, done, errors

r.protocol.version()
v = data()
check("0x72 get firmware version", bytes(v) == bytes([1, 8]), f"-> {bytes(v).hex()}")
check("0x76 set output power 4 x 30 dBm", r.set_rf_power(30, 30, 30, 30)[0] is True)
p = r.get_rf_power()
check("0x77 get output power", bytes(p) == bytes([30]), f"-> {bytes(p).hex()}")
check("0x74 set work antenna 1", r.set_work_antenna(READER_ANTENNA["ANTENNA1"])[0] is True)
w = r.get_work_antenna()
check("0x75 get work antenna", bytes(w) == bytes([0]), f"-> {bytes(w).hex()}")
t = r.temperature()
check("0x7B temperature", t == 38, f"-> {t} C")
reg = r.get_frequency_region()
check("0x79 get frequency region", reg.get("Region") == "CHN", f"-> {reg}")
check("0x7A beeper quiet", r.beeper(0)[0] is True)

r.rt_inventory(repeat=3)
seen, done, errs = collect()
epcs = {t["epc"] for t in seen}
check("0x89 real-time inventory: 10 tags and the end frame", len(epcs) == 10 and done is not None,
      f"-> {len(seen)} reports, {len(epcs)} EPCs, done={done}")
check("  tag reports name antenna 1 and a CHN frequency", all(t["antenna"] == 1 and 920 <= t["frequency"] <= 925 for t in seen))

r.session_inventory()  # pyImpinj always sends S1 / target A / repeat 1
seen, done, errs = collect()
check("0x8B session inventory S1/A", done is not None and len(seen) >= 1, f"-> {len(seen)} reports")

r.fast_switch_ant_inventory(dict(A=FS.ANTENNA1, Aloop=1, B=FS.ANTENNA2, Bloop=1,
                                  C=FS.ANTENNA3, Cloop=1, D=FS.DISABLED, Dloop=1, Interval=0, Repeat=1))
seen, done, errs = collect()
ants = {t["antenna"] for t in seen}
check("0x8A fast-switch antennas 1,2,3", done is not None and ants == {1, 2} and len(errs) == 1,
      f"-> antennas {sorted(ants)}, errors {errs}")

count = r.inventory(repeat=3)
check("0x80 buffered inventory", count == 10, f"-> {count} tags")
n = r.get_inventory_buffer_tag_count()
check("0x92 buffer count", n == 10, f"-> {n}")
buf = r.get_and_reset_inventory_buffer(loop=n)
check("0x91 get and reset buffer (tag CRC checked by pyImpinj)", len([e for e in buf if e]) == 10, f"-> {buf[:2]}...")

# Commission the blank tag on antenna 2: pyImpinj sets the EPC match (0x85)
# and writes with block write (0x94).
check("0x74 set work antenna 2", r.set_work_antenna(READER_ANTENNA["ANTENNA2"])[0] is True)
r.rt_inventory(repeat=2)
seen, done, errs = collect()
blank = {t["epc"] for t in seen}
check("blank tag alone on antenna 2", len(blank) == 1, f"-> {blank}")
blank = next(iter(blank), "")
new = "3414257BF400000000000457"  # GIAI-96 0614141 / 1111 (the README's example)
got = r.write(epc=blank, data=new, bank="EPC", address=2)
check("0x85 + 0x94 write EPC of the blank tag", got == blank, f"-> singulated {got}")
tid = r.read(epc=new, bank="TID", address=0, size=6)
check("0x85 + 0x81 read TID of the commissioned tag", tid.startswith("E280"), f"-> {tid}")
r.rt_inventory(repeat=2)
seen, done, errs = collect()
check("0x89 inventory reads the new EPC back", {t["epc"] for t in seen} == {new}, f"-> {[t['epc'] for t in seen][:3]}")

from pyImpinj.protocol import ImpinjR2KProtocols
ImpinjR2KProtocols.register(0x68)(lambda self: None)(r.protocol)  # get reader identifier: not emulated
d = data()
check("unsupported 0x68 -> one-byte error 0x11", bytes(d) == bytes([0x11]), f"-> {bytes(d).hex()}")

r.worker_close()
print(f"r2000/pyImpinj: {sum(results)} passed, {len(results) - sum(results)} failed", flush=True)
sys.exit(0 if all(results) else 1)
PY

cat > "$work/chainway_host.py" <<'PY'
"""chainway-serial against the simulated Chainway reader (115200 baud)."""
import asyncio, contextlib, sys
from chainway_serial import (ChainwayClient, ChainwayError, LockBank, LockMode, MemoryBank,
                             TagFilter)

link = sys.argv[1]
results = []
def check(name, ok, detail=""):
    results.append(bool(ok))
    print(("PASS" if ok else "FAIL"), "chainway/chainway-serial:", name, detail, flush=True)

async def main():
    async with ChainwayClient(link, keepalive_interval=0.5) as c:
        v = await c.get_version()
        check("0x02 get version", str(v) == "V7.40.1", f"-> {v}")
        await c.set_rf_power(26.5, antenna=1, save=False)
        p = await c.get_rf_power()
        check("0x10/0x12 set and get power", p[0].read_power_dbm == 26.5, f"-> {p}")
        t = await c.single_inventory()
        check("0x80 single inventory", t is not None and t.antenna == 1 and t.rssi < 0, f"-> {t and t.epc.hex()} {t and t.rssi}")
        seen = set()
        async def scan():
            # aclosing: leaving the loop stops the inventory (0x8C).
            async with contextlib.aclosing(c.inventory()) as stream:
                async for tag in stream:
                    seen.add(tag.epc.hex().upper())
                    if len(seen) >= 11:
                        break
        try:
            await asyncio.wait_for(scan(), 5)
        except asyncio.TimeoutError:
            pass
        check("0x82 stream + 0x8C stop: 10 assets and the blank", len(seen) == 11, f"-> {len(seen)} EPCs")
        blank = next((e for e in seen if e.startswith("E280")), "")
        new = bytes.fromhex("3414257BF400000000000458")
        f = TagFilter(bank=MemoryBank.EPC, bit_address=32, bit_length=96, data=bytes.fromhex(blank))
        try:
            await c.write_tag(MemoryBank.EPC, 2, new)
            check("0x86 write without a filter among 11 tags fails", False)
        except ChainwayError as e:
            check("0x86 write without a filter among 11 tags fails", True, f"-> {e}")
        await c.write_tag(MemoryBank.EPC, 2, new, tag_filter=f)
        check("0x86 write EPC of the blank tag (filter on its EPC)", True)
        nf = TagFilter(bank=MemoryBank.EPC, bit_address=32, bit_length=96, data=new)
        data = await c.read_tag(MemoryBank.EPC, 2, 6, tag_filter=nf)
        check("0x84 read EPC back", data == new, f"-> {data.hex()}")
        tid = await c.read_tag(MemoryBank.TID, 0, 6, tag_filter=nf)
        check("0x84 read TID", tid[:2] == b"\xe2\x80", f"-> {tid.hex()}")
        await c.write_tag(MemoryBank.RESERVED, 2, bytes.fromhex("11223344"), tag_filter=nf)
        await c.lock_tag([LockBank.EPC], LockMode.LOCK, access_password=bytes.fromhex("11223344"), tag_filter=nf)
        check("0x88 lock EPC bank with the access password", True)
        try:
            await c.write_tag(MemoryBank.EPC, 2, b"\x00\x00", tag_filter=nf)
            check("0x86 write to the locked bank is refused", False)
        except ChainwayError as e:
            check("0x86 write to the locked bank is refused", True, f"-> {e}")
        try:
            await c.get_temperature()
            check("unsupported command -> the bare-00 error", False)
        except ChainwayError as e:
            check("unsupported command -> the bare-00 error", True, f"-> {type(e).__name__}: {e}")

asyncio.run(main())
print(f"chainway/chainway-serial: {sum(results)} passed, {len(results) - sum(results)} failed", flush=True)
sys.exit(0 if all(results) else 1)
PY

status=0
echo "== pyImpinj (R2000)"
"$vpy" "$work/r2000_host.py" "$work/r2000" || status=1
echo "== chainway-serial (Chainway)"
"$vpy" "$work/chainway_host.py" "$work/chainway" || status=1

kill -TERM "$sim_pid"
wait "$sim_pid" || status=1
sim_pid=""
[ -e "$work/r2000" ] && { echo "link not removed on SIGTERM"; status=1; }
echo "== simulator log"; cat "$work/sim.log"
exit $status
