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

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT

# fail, expect, has, lacks, same
. "$(dirname "$0")/cli_checks.sh"

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
lacks "$TMP/out" "boot header"   # a file without one
expect 0 info "$TMP/fw.dfu" --json
lacks "$TMP/out" "boot_header"
expect 3 info "$TMP/missing.dfu"
expect 3 info "$TMP"   # a read error is not an empty file
has "$TMP/err" "cannot read"
# nothing past 4 GiB, from a raw input or from a HEX record
expect 3 pack "$TMP/fw.bin@0xFFFFFF00" -o "$TMP/x.dfu"
has "$TMP/err" "runs past 4 GiB"
expect 3 pack "$TMP/fw.bin@0xFFFFFF00" --raw -o "$TMP/x.bin"
printf ':02000004FFFFFC\n:02FFFF00556645\n:00000001FF\n' >"$TMP/wrap.hex"
expect 0 pack "$TMP/wrap.hex" -o "$TMP/x.dfu"   # Intel: the second byte goes to 0
expect 0 info "$TMP/x.dfu"
has "$TMP/out" "0x00000000-0x00000000, 1 bytes"
has "$TMP/out" "0xFFFFFFFF-0xFFFFFFFF, 1 bytes"

# ---- output: stdout, JSON encoding, files that fail to write ------------------------------
# utf8 FILE: the file is valid UTF-8 (RFC 8259 wants it of JSON)
utf8() {
  checks=$((checks + 1))
  iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1 || fail "$1 is not valid UTF-8: $(head -c 300 "$1")"
}
# pack -o -: the file alone on stdout, the summary on stderr; --json refused there
expect 0 pack "$TMP/fw.bin" -o -
same "$TMP/plain.dfu" "$TMP/out"
has "$TMP/err" "wrote -: DFU file"
expect 2 pack "$TMP/fw.bin" -o - --json
has "$TMP/out" '"exit":2'
# names and paths that are not UTF-8 still give UTF-8 JSON
expect 0 pack "$TMP/fw.bin" --address 0x08004000 --name "$(printf 'A\377B\376')" \
  -o "$TMP/badname.dfu"
expect 0 info "$TMP/badname.dfu" --json
utf8 "$TMP/out"
has "$TMP/out" '"name":"A\ufffdB\ufffd"'
cp "$TMP/plain.dfu" "$TMP/$(printf 'p\377\355\240\200').dfu"
expect 0 info "$TMP/$(printf 'p\377\355\240\200').dfu" --json
utf8 "$TMP/out"
# A write that fails (here: a file size limit) leaves no truncated file that
# would pass for an image, and an existing file as it was.
pack_limited() { # OUT: udfu pack fw.bin -o OUT under `ulimit -f 8`; sets rc
  rc=$( (trap '' XFSZ; ulimit -f 8; "$UDFU" pack "$TMP/fw.bin" -o "$1" >"$TMP/out" 2>"$TMP/err"
         echo $?) )
  checks=$((checks + 1))
  [ "$rc" = 3 ] || fail "pack over a size limit exited $rc, expected 3: $(cat "$TMP/err")"
}
cp "$TMP/plain.dfu" "$TMP/keep.dfu"
pack_limited "$TMP/keep.dfu"
same "$TMP/plain.dfu" "$TMP/keep.dfu"
pack_limited "$TMP/new.dfu"
checks=$((checks + 1))
[ -e "$TMP/new.dfu" ] && fail "a failed pack left $(wc -c <"$TMP/new.dfu") bytes in new.dfu"
checks=$((checks + 1))
ls "$TMP" | grep -q 'tmp-' && fail "a failed pack left its temporary file: $(ls "$TMP")"
# a new file gets the mode fopen would give it
rm -f "$TMP/mode.dfu"
(umask 022; "$UDFU" pack "$TMP/fw.bin" -o "$TMP/mode.dfu" >/dev/null)
checks=$((checks + 1))
[ "$(stat -c %a "$TMP/mode.dfu")" = 644 ] || fail "pack made a file with mode $(stat -c %a "$TMP/mode.dfu")"
# -d VID:PID takes hex only (a typo must not become "any device"); checked first
expect 2 status -d zzzz:qqqq --usbip 127.0.0.1:1
has "$TMP/err" "VID:PID"
expect 2 status -d 0483:df11-oops --usbip 127.0.0.1:1
# a server name that does not resolve is an unreachable server, as for status
expect 4 list --usbip nosuchhost.invalid
# --json after a bad option still gives one JSON object
expect 2 list --timeout abc --json
has "$TMP/out" '"ok":false'

# info decodes the udfu boot header: in a DfuSe element, a raw image, a .dfu
expect 0 pack "$TMP/fw.bin" --boot-header --image-version 7 --address 0x08004200 -o "$TMP/boot.dfu"
BOOTCRC=$(sed -n 's/.*crc32 \(0x[0-9A-F]*\).*/\1/p' "$TMP/out")
expect 0 pack "$TMP/fw.bin" --boot-header --image-version 7 --address 0x08004200 --raw \
  -o "$TMP/boot.img"
expect 0 pack "$TMP/boot.img" -o "$TMP/bootimg.dfu"
expect 0 info "$TMP/boot.dfu"
has "$TMP/out" "  element 0: 0x08004000-0x0800DE3F, 40512 bytes"
has "$TMP/out" "    boot header: image v7, flags 0x0 (no SHA-256, no signature)"
has "$TMP/out" "    payload: 40000 bytes at offset 512, linked at 0x08004200, crc32 $BOOTCRC (matches)"
for f in boot.img bootimg.dfu; do
  expect 0 info "$TMP/$f"
  has "$TMP/out" "boot header: image v7, flags 0x0 (no SHA-256, no signature)"
  has "$TMP/out" "payload: 40000 bytes at offset 512, linked at 0x08004200, crc32 $BOOTCRC (matches)"
done
expect 0 info "$TMP/boot.dfu" --json
has "$TMP/out" '"size":40512,"boot_header":{"valid":true,"image_version":7,"flags":0,"sha256":false,"signature":false,"payload_bytes":40000,"load_address":134234624,'
has "$TMP/out" '"payload_check":"ok","payload_offset":512}'
# A payload changed after packing: shown, and exit 3 (the bootloader would refuse it).
cp "$TMP/boot.img" "$TMP/badpay.img"
printf '\x5a\xa5' | dd of="$TMP/badpay.img" bs=1 seek=3000 conv=notrunc 2>/dev/null
expect 3 info "$TMP/badpay.img"
has "$TMP/out" "crc32 $BOOTCRC (does NOT match: the payload's is 0x"
has "$TMP/err" "boot header's CRC does not match the payload"
expect 3 info "$TMP/badpay.img" --json
has "$TMP/out" '"ok":false'
has "$TMP/out" '"payload_check":"mismatch"'
has "$TMP/out" '"exit":3'
expect 0 pack "$TMP/badpay.img" --address 0x08004000 -o "$TMP/badpay.dfu"
expect 3 info "$TMP/badpay.dfu"
has "$TMP/err" "target 0, element 0: its boot header's CRC does not match"
# Flags: SHA-256 and signature present. The header CRC (bytes 0..27) is
# the CRC-32 gzip puts in its trailer, little-endian as in the header.
hdr_with_flags() { # FLAGBYTE OUT
  head -c 8 "$TMP/boot.img" >"$TMP/h"
  printf "$1"'\x00\x00\x00' >>"$TMP/h"
  tail -c +13 "$TMP/boot.img" | head -c 16 >>"$TMP/h"
  gzip -c "$TMP/h" | tail -c 8 | head -c 4 >>"$TMP/h"
  cat "$TMP/h" >"$2"
  tail -c +33 "$TMP/boot.img" >>"$2"
}
hdr_with_flags '\x03' "$TMP/signed.img"
expect 0 info "$TMP/signed.img"
has "$TMP/out" "boot header: image v7, flags 0x3 (SHA-256, signature)"
has "$TMP/out" "(matches)"
expect 0 info "$TMP/signed.img" --json
has "$TMP/out" '"flags":3,"sha256":true,"signature":true'
hdr_with_flags '\x01' "$TMP/sha.img"
expect 0 info "$TMP/sha.img"
has "$TMP/out" "flags 0x1 (SHA-256, no signature)"
# A damaged header: a signature without SHA-256, a header CRC that is off.
hdr_with_flags '\x02' "$TMP/sigonly.img"
expect 3 info "$TMP/sigonly.img"
has "$TMP/out" "boot header: damaged (signature flag without SHA-256)"
cp "$TMP/boot.img" "$TMP/badhdr.img"
printf '\x08' | dd of="$TMP/badhdr.img" bs=1 seek=12 conv=notrunc 2>/dev/null
expect 3 info "$TMP/badhdr.img" --json
has "$TMP/out" '"boot_header":{"valid":false,"damage":"the header CRC does not match"}'

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

# ---- a DfuSe device whose image check refuses the leave --------------------------------
# The device answers the leave with dfuMANIFEST, runs its check (a
# bootloader's commit), which fails: dfuERROR/errFIRMWARE, and it stays.
start_server --refuse-image
expect 6 leave
has "$TMP/err" "did not leave DFU mode"
has "$TMP/err" "errFIRMWARE"
lacks "$TMP/out" "left DFU mode"   # a refused leave is not done
expect 6 leave --json
has "$TMP/out" '"ok":false'
has "$TMP/out" '"exit":6'
has "$TMP/out" "errFIRMWARE"
expect 6 download "$TMP/fw.bin" --address 0x08004000 --leave
has "$TMP/err" "the image was written; starting it failed"
has "$TMP/err" "did not leave DFU mode"
lacks "$TMP/out" "left DFU mode"
# The image itself was written; the device is still there in DFU mode.
expect 0 status --json
has "$TMP/out" '"mode":"dfu"'
expect 0 upload "$TMP/back.bin" --address 0x08004000 --length 40000
same "$TMP/fw.bin" "$TMP/back.bin"
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
