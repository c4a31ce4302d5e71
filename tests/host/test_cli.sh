#!/usr/bin/env bash
# The `udfu` CLI end to end, over USB/IP, against the test server that
# exports udfu's own device stack (host_lbserver): every command, its exit
# codes and JSON, bad inputs leaving the flash unchanged.
#
#   test_cli.sh UDFU HOST_LBSERVER
set -u
UDFU=$1
SERVER=$2
TMP=$(mktemp -d)
PIDS=()
fails=0
checks=0

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "  FAIL: $*" >&2; fails=$((fails + 1)); }
# expect CODE COMMAND...: runs udfu, checks the exit code; output in $TMP/out, $TMP/err
expect() {
  local want=$1; shift
  checks=$((checks + 1))
  "$UDFU" "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  [ "$got" -eq "$want" ] || fail "udfu $* exited $got, expected $want: $(cat "$TMP/err")"
}
# has FILE TEXT: the file contains TEXT
has() {
  checks=$((checks + 1))
  grep -qF -- "$2" "$1" || fail "$1 lacks \"$2\": $(head -c 400 "$1")"
}
same() {
  checks=$((checks + 1))
  cmp -s "$1" "$2" || fail "$1 and $2 differ"
}

# start_server ARGS...: starts a server, sets UDFU_USBIP to it
start_server() {
  "$SERVER" "$@" >"$TMP/port" &
  PIDS+=($!)
  for _ in $(seq 50); do grep -q PORT "$TMP/port" 2>/dev/null && break; sleep 0.05; done
  export UDFU_USBIP="127.0.0.1:$(awk '/PORT/ {print $2}' "$TMP/port")"
}
stop_server() {
  local p=${PIDS[-1]}
  kill "$p"; wait "$p" 2>/dev/null
  unset 'PIDS[-1]'
}

# ---- help and usage ---------------------------------------------------------------
expect 0 --help
has "$TMP/out" "exit codes:"
for c in list status download upload detach erase leave pack info; do
  expect 0 "$c" --help
  has "$TMP/out" "usage: udfu $c"
done
expect 2
expect 2 bogus
has "$TMP/err" "unknown command"
expect 2 download
expect 2 erase --usbip 127.0.0.1:1
has "$TMP/err" "--mass"
expect 2 download x.bin --mass
expect 2 list --address 5
expect 2 list --json --frobnicate
expect 4 list --usbip 127.0.0.1:1
expect 4 status --usbip 127.0.0.1:1 --json
has "$TMP/out" '"exit":4'

# ---- files: pack and info -----------------------------------------------------------
head -c 40000 /dev/urandom >"$TMP/fw.bin"
expect 0 pack "$TMP/fw.bin" --address 0x08004000 -o "$TMP/fw.dfu" --vid 0x1209 --pid 0xdf11
expect 0 info "$TMP/fw.dfu" --json
has "$TMP/out" '"format":"dfuse"'
has "$TMP/out" '"address":134234112'
has "$TMP/out" '"size":40000'
if command -v dfu-suffix >/dev/null; then
  checks=$((checks + 1))
  dfu-suffix -c "$TMP/fw.dfu" >"$TMP/ref" 2>&1 || fail "dfu-suffix rejects udfu's DfuSe file"
fi
expect 0 pack "$TMP/fw.bin" -o "$TMP/plain.dfu"
expect 0 info "$TMP/plain.dfu"
has "$TMP/out" "DFU file"
has "$TMP/out" "VID 0xFFFF"
if command -v dfu-suffix >/dev/null; then
  checks=$((checks + 1))
  dfu-suffix -c "$TMP/plain.dfu" >"$TMP/ref" 2>&1 || fail "dfu-suffix rejects udfu's .dfu"
fi
cat >"$TMP/fw.hex" <<'EOF'
:020000040800F2
:10400000000102030405060708090A0B0C0D0E0F38
:10401000101112131415161718191A1B1C1D1E1F28
:08800000AAAAAAAAAAAAAAAA28
:00000001FF
EOF
expect 0 pack "$TMP/fw.hex" -o "$TMP/hex.dfu" --json
has "$TMP/out" '"elements":2'
expect 0 info "$TMP/hex.dfu"
has "$TMP/out" "0x08004000-0x0800401F, 32 bytes"
has "$TMP/out" "0x08008000-0x08008007, 8 bytes"
sed 's/:10401000/:10401100/' "$TMP/fw.hex" >"$TMP/bad.hex"
expect 3 pack "$TMP/bad.hex" -o "$TMP/x.dfu"
has "$TMP/err" "line 3"
cp "$TMP/fw.dfu" "$TMP/corrupt.dfu"
printf '\x5a' | dd of="$TMP/corrupt.dfu" bs=1 seek=1000 conv=notrunc 2>/dev/null
expect 3 info "$TMP/corrupt.dfu"
has "$TMP/err" "CRC"
expect 0 info "$TMP/fw.bin"
has "$TMP/out" "raw image"
expect 3 info "$TMP/missing.dfu"

# ---- a DfuSe device in run-time mode ---------------------------------------------------
start_server --runtime
expect 0 list --json
has "$TMP/out" '"mode":"runtime"'
expect 0 status
has "$TMP/out" "run-time mode"
expect 0 detach
has "$TMP/out" "DFU mode"
expect 0 status --json
has "$TMP/out" '"state":"dfuIDLE"'
expect 0 list
has "$TMP/out" "0x08000000-0x08003FFF    1 x 16.0 KiB  read-only"

expect 0 download "$TMP/fw.dfu" --verify
has "$TMP/out" "verified"
expect 0 upload "$TMP/back.bin" --address 0x08004000 --length 40000
same "$TMP/fw.bin" "$TMP/back.bin"
expect 0 upload - --address 0x08004000 --length 40000
same "$TMP/fw.bin" "$TMP/out"

# Bad inputs: a clear error, the right code, and the flash unchanged.
expect 3 download "$TMP/corrupt.dfu"
has "$TMP/err" "CRC"
expect 5 download "$TMP/fw.bin" --address 0x08000000
has "$TMP/err" "0x08000000-0x08003FFF is read-only (bootloader); use --address 0x08004000"
head -c $((2 * 1024 * 1024)) /dev/zero >"$TMP/huge.bin"
expect 5 download "$TMP/huge.bin" --address 0x08004000 --json
has "$TMP/out" '"exit":5'
has "$TMP/out" "do not fit"
expect 2 download "$TMP/fw.bin"
has "$TMP/err" "--address"
expect 0 pack "$TMP/fw.bin" --address 0x08004000 -o "$TMP/other.dfu" --vid 0x0483 --pid 0xdf11
expect 3 download "$TMP/other.dfu"
has "$TMP/err" "--force"
expect 0 upload "$TMP/back.bin" --address 0x08004000 --length 40000
same "$TMP/fw.bin" "$TMP/back.bin"
expect 0 download "$TMP/hex.dfu" --json
has "$TMP/out" '"elements":2'

# erase, then read back erased memory
expect 0 erase --address 0x08020000 --length 1
expect 0 upload "$TMP/erased.bin" --address 0x08020000 --length 4096
head -c 4096 /dev/zero | tr '\0' '\377' >"$TMP/ff.bin"
same "$TMP/ff.bin" "$TMP/erased.bin"
expect 5 erase --address 0x08000000 --length 16
expect 0 erase --mass --json
has "$TMP/out" '"mass":true'

# raw image, leave, and the device booting into run-time mode
expect 0 download "$TMP/fw.bin" --address 0x08004000 --leave --json
has "$TMP/out" '"left":true'
expect 0 status --json
has "$TMP/out" '"mode":"runtime"'
expect 0 detach -q
expect 0 leave --wait --json
has "$TMP/out" '"mode":"runtime"'
stop_server

# ---- a plain DFU 1.1 device -----------------------------------------------------------
start_server --plain
expect 0 download "$TMP/plain.dfu" --verify
has "$TMP/out" "verified"
expect 0 upload "$TMP/back.bin" --length 40000
same "$TMP/fw.bin" "$TMP/back.bin"
expect 2 download "$TMP/fw.bin" --address 0x08000000
has "$TMP/err" "plain DFU"
expect 6 erase --mass
stop_server

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
