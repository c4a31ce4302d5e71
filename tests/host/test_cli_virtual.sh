#!/usr/bin/env bash
# The `udfu` CLI against the real virtual device (udfu-virtual) over USB/IP:
# the demo's flow (list, download a DfuSe .dfu, read back, leave, boot,
# detach), the plain alt, bad inputs leaving the flash unchanged, and
# repeated download cycles.
#
#   test_cli_virtual.sh UDFU UDFU_VIRTUAL [CYCLES [valgrind]]
# With "valgrind", every udfu run is checked for memory errors and leaks.
set -u
UDFU=$1
VIRTUAL=$2
CYCLES=${3:-10}
VG=()
[ "${4:-}" = valgrind ] && VG=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible
  --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99)
TMP=$(mktemp -d)
VPID=
fails=0
checks=0

cleanup() {
  [ -n "$VPID" ] && kill "$VPID" 2>/dev/null && wait "$VPID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "  FAIL: $*" >&2; fails=$((fails + 1)); }
expect() {
  local want=$1; shift
  checks=$((checks + 1))
  "${VG[@]}" "$UDFU" "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  [ "$got" -eq "$want" ] || fail "udfu $* exited $got, expected $want: $(cat "$TMP/err")"
}
has() {
  checks=$((checks + 1))
  grep -qF -- "$2" "$1" || fail "$1 lacks \"$2\": $(head -c 400 "$1")"
}
same() {
  checks=$((checks + 1))
  cmp -s "$1" "$2" || fail "$1 and $2 differ"
}

"$VIRTUAL" --port 0 --timing 5 --flash "$TMP/flash.img" >"$TMP/virtual.log" 2>&1 &
VPID=$!
for _ in $(seq 100); do grep -q "listening on" "$TMP/virtual.log" && break; sleep 0.05; done
PORT=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$TMP/virtual.log")
[ -n "$PORT" ] || { echo "udfu-virtual did not start: $(cat "$TMP/virtual.log")"; exit 1; }
export UDFU_USBIP="127.0.0.1:$PORT"

# An application image the device will boot: initial SP in RAM, reset
# vector (Thumb) inside the application area.
printf '\x00\x00\x02\x20\x01\x41\x00\x08' >"$TMP/app.bin"
head -c 30000 /dev/urandom >>"$TMP/app.bin"
SIZE=$(stat -c %s "$TMP/app.bin")

expect 0 list --json
has "$TMP/out" '"mode":"dfu"'
has "$TMP/out" '"dfuse":true'
expect 0 pack "$TMP/app.bin" --address 0x08004000 -o "$TMP/app.dfu" --vid 0x1209
expect 0 download "$TMP/app.dfu" --verify
has "$TMP/out" "verified"
expect 0 upload "$TMP/back.bin" --address 0x08004000 --length "$SIZE"
same "$TMP/app.bin" "$TMP/back.bin"

# Bad inputs: refused, the right exit code, the flash unchanged.
cp "$TMP/app.dfu" "$TMP/corrupt.dfu"
printf '\x01' | dd of="$TMP/corrupt.dfu" bs=1 seek=500 conv=notrunc 2>/dev/null
expect 3 download "$TMP/corrupt.dfu"
expect 5 download "$TMP/app.bin" --address 0x08000000
has "$TMP/err" "read-only (bootloader); use --address 0x08004000"
head -c $((1024 * 1024)) /dev/zero >"$TMP/huge.bin"
expect 5 download "$TMP/huge.bin" --address 0x08004000
expect 0 upload "$TMP/back.bin" --address 0x08004000 --length "$SIZE"
same "$TMP/app.bin" "$TMP/back.bin"

# Leave: the device boots the new image and comes back in run-time mode.
expect 0 leave --wait --json
has "$TMP/out" '"mode":"runtime"'
has "$TMP/virtual.log" "booted application at 0x08004000"
expect 0 detach
has "$TMP/out" "DFU mode"

# The plain DFU 1.1 alt: not manifestation tolerant, so the device leaves
# after the download and udfu brings it back for the verify.
expect 0 download "$TMP/app.bin" --alt 1 --verify
has "$TMP/out" "verified"

# Repeated cycles: download + leave from run-time mode each time.
for i in $(seq "$CYCLES"); do
  head -c 8 "$TMP/app.bin" >"$TMP/cycle.bin"
  head -c 4000 /dev/urandom >>"$TMP/cycle.bin"
  expect 0 download "$TMP/cycle.bin" --address 0x08004000 --verify --leave
done
expect 0 status --json
has "$TMP/out" '"mode":"runtime"'

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
