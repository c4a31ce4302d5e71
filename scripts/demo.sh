#!/usr/bin/env bash
# demo.sh - the end-to-end demo (README Quick start, `make demo`): a
# firmware update over USB DFU with no hardware and no root.
#
# It builds the sample firmware (examples/blinky, v1 and v2, for Cortex-M4),
# starts the virtual device (udfu-virtual: a bootloader with udfu's
# fail-safe boot layer, exported over USB/IP on loopback) on a free port
# with a temporary flash file and the STM32F4 datasheet's flash timing,
# installs v1 as the factory would, then updates it to v2 with the `udfu`
# CLI over USB/IP: list, detach, pack, download, read back and compare,
# leave, and checks that the device boots v2. Exits non-zero on any
# failure; the device is stopped whatever happens.
#
#   scripts/demo.sh [BUILD_DIR]     (default: build; the Debian packages are
#                                   installed and the tree built first if needed)
# Environment: UDFU_DEMO_FALLBACK=1 uses generated firmware images even when
# arm-none-eabi-gcc exists (the tests run both ways); UDFU_DEMO_KEEP=1 keeps
# the temporary directory.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
UDFU=$BUILD/host/udfu
VIRTUAL=$BUILD/ports/usbip/udfu-virtual
SLOT=0x0800C000   # the image slot of udfu-virtual's default map
APP=0x0800C200    # slot + 512-byte header: where the firmware is linked
TMP=
VPID=
STEP=
T0=$(date +%s%N)

# ---- plumbing ---------------------------------------------------------------------

cleanup() {
  if [ -n "$VPID" ]; then
    kill "$VPID" 2>/dev/null
    wait "$VPID" 2>/dev/null
  fi
  if [ -n "$TMP" ] && [ "${UDFU_DEMO_KEEP:-0}" != 1 ]; then rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted" >&2; exit 130' INT TERM

now_ms() { echo $(( ($(date +%s%N) - T0) / 1000000 )); }
secs() { printf '%d.%02d s' $(($1 / 1000)) $(($1 % 1000 / 10)); }

fail() {
  echo >&2
  echo "demo: FAILED${STEP:+ at step \"$STEP\"}: $*" >&2
  if [ -n "$TMP" ] && [ -s "$TMP/device.log" ]; then
    echo "demo: the device's last words:" >&2
    tail -n 8 "$TMP/device.log" | sed 's/^/    /' >&2
  fi
  exit 1
}

step() {
  STEP=$2
  echo
  echo "[$1] $2"
}

# Shows a command the way a user would type it (paths shortened).
show() {
  local line="$*"
  line=${line//$UDFU/udfu}
  line=${line//$TMP\//}
  line=${line//$FW\//}
  echo "  \$ $line"
}

# Runs a udfu command, showing it and its output; its stdout stays in
# $TMP/out. Any failure ends the demo with udfu's own message.
udfu() {
  show "$UDFU" "$@"
  "$UDFU" "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  grep -v '^$' "$TMP/err" | sed 's/^/    /'   # notes come first
  sed 's/^/    /' "$TMP/out"
  [ $rc -eq 0 ] || fail "udfu $1 exited with $rc: $(tail -n 1 "$TMP/err")"
}

# Prints what the device said since the last call.
DEVLINES=0
device_says() {
  local n
  n=$(wc -l <"$TMP/device.log")
  if [ "$n" -gt "$DEVLINES" ]; then
    sed -n "$((DEVLINES + 1)),${n}p" "$TMP/device.log" | grep -v 'offering' |
      sed 's/^udfu-virtual: /    device | /'
  fi
  DEVLINES=$n
}

# Waits up to 5 s for the device log to say $1.
device_waits_for() {
  local i
  for i in $(seq 100); do
    grep -qF -- "$1" "$TMP/device.log" && return 0
    kill -0 "$VPID" 2>/dev/null || fail "udfu-virtual exited: $(tail -n 3 "$TMP/device.log")"
    sleep 0.05
  done
  return 1
}

expect_out() { grep -qF -- "$1" "$TMP/out" || fail "$2 (udfu printed: $(head -c 300 "$TMP/out"))"; }
size_of() { stat -c %s "$1"; }
# CRC-32 (zlib) of a file, as the boot header holds it: gzip's trailer.
crc32_of() { gzip -c <"$1" | tail -c 8 | od -An -tx4 -N4 | tr -d ' \n' | sed 's/^/0x/' | tr a-f A-F | sed 's/^0X/0x/'; }

# ---- 0. what the demo needs ----------------------------------------------------------

echo "udfu demo: a firmware update over USB DFU, end to end, on a virtual device"
# the Debian packages (compilers, cmake, libusb ...), skipped when present
bash "$ROOT/scripts/deps.sh" || fail "installing the Debian packages failed (scripts/deps.sh)"
if [ ! -x "$UDFU" ] || [ ! -x "$VIRTUAL" ]; then
  echo "building udfu and udfu-virtual in $BUILD ..."
  { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" --target udfu udfu-virtual \
      >/dev/null; } || fail "the build failed; run: cmake --build $BUILD"
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/udfu-demo.XXXXXX") || fail "cannot create a temporary directory"
FW=$BUILD/examples
[ -w "$BUILD" ] || FW=$TMP/examples   # someone else's build tree
cd "$TMP" || fail "cannot enter $TMP"   # udfu's messages name files as typed

# ---- 1. the firmware -----------------------------------------------------------------

step 1/9 "sample firmware: blinky v1 and v2"
if [ "${UDFU_DEMO_FALLBACK:-0}" != 1 ] && command -v arm-none-eabi-gcc >/dev/null; then
  make -s -C "$ROOT/examples/blinky" BUILD="$FW" >"$TMP/make.log" 2>&1 ||
    fail "cross-compiling examples/blinky failed: $(tail -n 5 "$TMP/make.log")"
  HOW="examples/blinky (C + app.ld), cross-compiled with $(arm-none-eabi-gcc -dumpversion | sed 's/^/arm-none-eabi-gcc /') for Cortex-M4"
else
  FW=$TMP/fallback
  mkdir -p "$FW"
  for v in 1 2; do
    bash "$ROOT/examples/blinky/fallback.sh" "$v" "$FW/blinky-v$v.bin" ||
      fail "examples/blinky/fallback.sh failed"
  done
  why="no arm-none-eabi-gcc here"
  [ "${UDFU_DEMO_FALLBACK:-0}" = 1 ] && why="UDFU_DEMO_FALLBACK=1"
  HOW="generated by examples/blinky/fallback.sh ($why): a valid Cortex-M4 vector table and a one-instruction loop, not the real blinky"
fi
for v in 1 2; do
  [ -s "$FW/blinky-v$v.bin" ] || fail "$FW/blinky-v$v.bin was not built"
done
V1=$FW/blinky-v1.bin
V2=$FW/blinky-v2.bin
echo "  $HOW"
echo "  linked at $APP (the slot $SLOT + its 512-byte image header)"
printf '  blinky-v1.bin  %5d bytes  crc32 %s\n' "$(size_of "$V1")" "$(crc32_of "$V1")"
printf '  blinky-v2.bin  %5d bytes  crc32 %s\n' "$(size_of "$V2")" "$(crc32_of "$V2")"

# ---- 2. the device --------------------------------------------------------------------

step 2/9 "start the virtual device"
"$VIRTUAL" --port 0 --flash flash.bin --timing 100 >"$TMP/device.log" 2>&1 &
VPID=$!
device_waits_for "offering" || fail "udfu-virtual did not start: $(cat "$TMP/device.log")"
PORT=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$TMP/device.log")
[ -n "$PORT" ] || fail "udfu-virtual did not say where it listens: $(cat "$TMP/device.log")"
export UDFU_USBIP=127.0.0.1:$PORT
echo "  udfu-virtual --port 0 --flash flash.bin --timing 100     (pid $VPID)"
echo "  an STM32F4-like device: 1 MiB flash, datasheet erase/program times; the"
echo "  udfu CLI reaches it over USB/IP at $UDFU_USBIP (no kernel module, no root)"
device_says
grep -q "empty (erased): staying in DFU mode" "$TMP/device.log" ||
  fail "a blank device should stay in DFU mode"

# ---- 3. factory --------------------------------------------------------------------------

step 3/9 "factory: install v1 (the blank device waits in DFU mode; the first image goes in over DFU)"
udfu pack "$V1" --boot-header --image-version 1 --address $APP -o blinky-v1.dfu
udfu download blinky-v1.dfu --leave
device_waits_for "booted udfu image v1" || fail "the device did not boot v1"
device_says

# ---- 4. list ----------------------------------------------------------------------------

step 4/9 "the device in the field: run-time mode, running v1"
udfu list
expect_out "run-time mode" "the device is not in run-time mode"
expect_out '"udfu blinky v1.0' "the device does not run blinky v1"

# ---- 5. detach ---------------------------------------------------------------------------

step 5/9 "detach: the application hands over to the bootloader (DFU mode)"
udfu detach
expect_out "is in DFU mode" "the device did not come back in DFU mode"
device_says

# ---- 6. pack v2 ---------------------------------------------------------------------------

step 6/9 "pack v2 into a DfuSe .dfu with the boot header"
udfu pack "$V2" --boot-header --image-version 2 --address $APP -o blinky-v2.dfu
expect_out "image v2" "pack did not write the boot header"
udfu info blinky-v2.dfu
# the exact bytes the .dfu carries, to compare the read-back with
"$UDFU" pack "$V2" --boot-header --image-version 2 --address $APP --raw -o "$TMP/blinky-v2.img" \
  >/dev/null 2>&1 || fail "udfu pack --raw failed"
IMG_LEN=$(size_of "$TMP/blinky-v2.img")

# ---- 7. download ---------------------------------------------------------------------------

step 7/9 "download v2"
t=$(now_ms)
udfu download blinky-v2.dfu
DL_MS=$(( $(now_ms) - t ))
device_says

# ---- 8. read back ------------------------------------------------------------------------------

step 8/9 "read it back and compare byte for byte"
t=$(now_ms)
udfu upload readback.bin --address $SLOT --length "$IMG_LEN"
UL_MS=$(( $(now_ms) - t ))
show cmp blinky-v2.img readback.bin
cmp "$TMP/blinky-v2.img" "$TMP/readback.bin" >"$TMP/cmp" 2>&1 ||
  fail "the read-back differs from the image: $(cat "$TMP/cmp")"
IMG_CRC=$(crc32_of "$TMP/blinky-v2.img")
echo "    identical: $IMG_LEN bytes, crc32 $IMG_CRC"

# ---- 9. leave ------------------------------------------------------------------------------------

step 9/9 "leave: the bootloader verifies and commits v2, resets, and boots it"
udfu leave --wait
expect_out "in run-time mode" "the device did not come back in run-time mode"
device_waits_for "booted udfu image v2" || fail "the device did not boot v2"
device_says
V2_CRC=$(crc32_of "$V2")
grep -q "booted udfu image v2 \"udfu blinky v2.0.*\", $(size_of "$V2") bytes at $APP, crc32 $V2_CRC" \
  "$TMP/device.log" || fail "the device booted something else than blinky v2 ($V2_CRC)"
udfu list
expect_out '"udfu blinky v2.0' "the device does not run blinky v2"

# ---- summary --------------------------------------------------------------------------------------

TOTAL=$(now_ms)
echo
echo "summary"
printf '  firmware    %s\n' "blinky v1 $(size_of "$V1") bytes (crc32 $(crc32_of "$V1")), v2 $(size_of "$V2") bytes (crc32 $V2_CRC)"
printf '  image       %s\n' "v2 + boot header: $IMG_LEN bytes at $SLOT (crc32 $IMG_CRC); .dfu $(size_of "$TMP/blinky-v2.dfu") bytes"
printf '  download    %s\n' "$IMG_LEN bytes in $(secs "$DL_MS") (one 16 KiB sector erased, datasheet timing)"
printf '  read back   %s\n' "$IMG_LEN bytes in $(secs "$UL_MS"), identical"
printf '  boot        %s\n' "v2 verified (CRC-32), committed in the journal, booted; v1 was invalidated by the first write"
printf '  total       %s\n' "$(secs "$TOTAL"), device on 127.0.0.1:$PORT, stopped on exit"
echo
echo "demo: OK"
