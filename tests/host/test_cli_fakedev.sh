#!/usr/bin/env bash
# The `udfu` CLI against devices that misbehave, served over USB/IP by
# fakedev.py: a failure reported only in bStatus, a manifestation that never
# ends, hours of bwPollTimeout, a leave that does not leave, a DfuSe layout
# that does not parse, two alts at the same addresses, a multi-target leave,
# wTransferSize above 4096, a product name outside Unicode's BMP.
#
#   test_cli_fakedev.sh UDFU PYTHON3
set -u
UDFU=$1
PY=$2
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
FAKE_PID=
# A device that makes udfu hang must fail the check, not the whole run.
VG=(timeout 20)

stop_fake() {
  [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
  FAKE_PID=
}
cleanup() {
  stop_fake
  rm -rf "$TMP"
}
trap cleanup EXIT

# fail, expect, has, lacks, same
. "$HERE/cli_checks.sh"

# start_fake ARGS...: a fresh fake device (log in $TMP/fake.log), UDFU_USBIP set
start_fake() {
  local port
  stop_fake
  : >"$TMP/fake.log"
  "$PY" "$HERE/fakedev.py" --log "$TMP/fake.log" "$@" >"$TMP/port" &
  FAKE_PID=$!
  for _ in $(seq 100); do grep -q PORT "$TMP/port" 2>/dev/null && break; sleep 0.05; done
  port=$(awk '/PORT/ {print $2}' "$TMP/port")
  [ -n "$port" ] || { echo "fakedev.py did not start"; exit 1; }
  export UDFU_USBIP="127.0.0.1:$port"
}

head -c 3000 /dev/urandom >"$TMP/fw.bin"
head -c 12288 /dev/urandom >"$TMP/fw12k.bin"
head -c 5000 /dev/urandom >"$TMP/b.bin"
head -c 16 /dev/urandom >"$TMP/ob.bin"
F4="@Internal Flash /0x08000000/04*016Kg"

# ---- 1. a failure in bStatus fails the operation, whatever bState says ------------------------
start_fake --fault prog-status
expect 6 download "$TMP/fw.bin" --address 0x08000000
has "$TMP/err" "errPROG"
lacks "$TMP/out" "downloaded"
expect 6 download "$TMP/fw.bin" --address 0x08000000 --json
has "$TMP/out" '"ok":false'
has "$TMP/out" '"exit":6'
start_fake --plain --fault prog-status
expect 6 download "$TMP/fw.bin"
has "$TMP/err" "errPROG"
start_fake --fault erase-status
expect 6 erase --address 0x08000000 --length 1
has "$TMP/err" "errERASE"
expect 6 download "$TMP/fw.bin" --address 0x08000000
has "$TMP/err" "errERASE"
checks=$((checks + 1))
grep -q "^req 1 value=2 " "$TMP/fake.log" && fail "data was written after a failed erase"

# ---- 2. a device stuck in dfuMANIFEST: a timeout, not a download that worked --------------------
start_fake --plain --fault stuck-manifest
expect 7 download "$TMP/fw.bin"
has "$TMP/err" "dfuMANIFEST"
lacks "$TMP/out" "downloaded"

# ---- 3. bwPollTimeout 0xFFFFFF (4.7 h) is never slept: udfu gives up at once ---------------------
start_fake --fault huge-poll
expect 7 erase --address 0x08000000 --length 1
has "$TMP/err" "dfuDNBUSY"
start_fake --plain --fault stuck-manifest --poll 0xFFFFFF
expect 7 download "$TMP/fw.bin"
start_fake --fault stuck-manifest --poll 0xFFFFFF
expect 7 leave
has "$TMP/err" "dfuMANIFEST"

# ---- 4. a DfuSe alt whose layout does not parse is refused, never taken for plain DFU ------------
start_fake --alt "$F4 "   # a trailing space: udfu's parser refuses it
expect 0 list
has "$TMP/out" "does not parse"
expect 0 list --json
has "$TMP/out" '"layout_error":true'
expect 6 download "$TMP/fw.bin"
has "$TMP/err" "does not parse"
expect 6 download "$TMP/fw.bin" --address 0x08000000
has "$TMP/err" "does not parse"
expect 6 upload "$TMP/x.bin" --length 64
expect 6 erase --address 0x08000000 --length 1
expect 6 leave
lacks "$TMP/fake.log" "plain-block0"
lacks "$TMP/fake.log" "req 1 "   # no DNLOAD at all

# ---- 5. two alts at the same addresses: each one's sectors are erased --------------------------
"$PY" "$HERE/fakedev.py" --make-dfuse "$TMP/twomem.dfu" 0:0:"$TMP/fw.bin" 1:0:"$TMP/b.bin"
start_fake --fill 0x00 --alt "@SPI Flash A /0x00000000/16*004Kg" \
  --alt "@SPI Flash B /0x00000000/16*004Kg"
expect 0 download "$TMP/twomem.dfu"
has "$TMP/fake.log" "erase alt=0 0x00000000"
has "$TMP/fake.log" "erase alt=1 0x00000000"
has "$TMP/fake.log" "erase alt=1 0x00001000"
expect 0 upload "$TMP/back.bin" --alt 1 --address 0 --length 5000
same "$TMP/b.bin" "$TMP/back.bin"
expect 0 upload "$TMP/back.bin" --alt 0 --address 0 --length 3000
same "$TMP/fw.bin" "$TMP/back.bin"

# ---- 6. download --leave of a multi-target file leaves on the first element's alt ---------------
"$PY" "$HERE/fakedev.py" --make-dfuse "$TMP/two.dfu" 0:0x08004000:"$TMP/fw.bin" \
  1:0x1FFFC000:"$TMP/ob.bin"
start_fake --alt "$F4" --alt "@Option Bytes /0x1FFFC000/01*016 e"
expect 0 download "$TMP/two.dfu" --leave
has "$TMP/fake.log" "leave alt=0 0x08004000"
has "$TMP/out" "left DFU mode"
lacks "$TMP/fake.log" "refused"

# ---- 7. DfuSe reads from a device with wTransferSize 8192 ---------------------------------------
start_fake --xfer 8192
expect 0 download "$TMP/fw12k.bin" --address 0x08004000
expect 0 upload "$TMP/back.bin" --address 0x08004000 --length 12288
same "$TMP/fw12k.bin" "$TMP/back.bin"
expect 0 download "$TMP/fw12k.bin" --address 0x08004000 --verify

# ---- 8. a device that stays in DFU mode after leave did not leave -------------------------------
start_fake --fault leave-stays
expect 6 leave
has "$TMP/err" "stayed in DFU mode"
lacks "$TMP/out" "left DFU mode"
expect 6 download "$TMP/fw.bin" --address 0x08004000 --leave
has "$TMP/err" "starting it failed"
lacks "$TMP/out" "left DFU mode"
start_fake   # and one that goes is fine
expect 0 leave
has "$TMP/out" "left DFU mode"

# ---- 9. --json is UTF-8 also for a product name outside the BMP ---------------------------------
start_fake --product "Dev $(printf '\360\237\230\200')"
expect 0 list --json
checks=$((checks + 1))
"$PY" -c '
import json, sys
doc = json.loads(open(sys.argv[1], "rb").read().decode("utf-8", "strict"))
assert doc["devices"][0]["product"] == "Dev \U0001F600", doc["devices"][0]["product"]
' "$TMP/out" 2>"$TMP/pyerr" || fail "list --json is not valid UTF-8 JSON: $(tail -1 "$TMP/pyerr")"

# ---- 12. -d VID:PID takes hex IDs only ------------------------------------------------------------
expect 2 status -d zzzz:qqqq --usbip "$UDFU_USBIP"
has "$TMP/err" "VID:PID"
expect 2 status -d 1209:df11-oops --usbip "$UDFU_USBIP"
expect 2 status -d 12345:df11 --usbip "$UDFU_USBIP"
expect 0 status -d 1209:df11 --usbip "$UDFU_USBIP"
expect 0 status -d 0x1209: --usbip "$UDFU_USBIP"
expect 4 status -d 1209:0001 --usbip "$UDFU_USBIP"

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
