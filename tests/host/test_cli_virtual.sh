#!/usr/bin/env bash
# The `udfu` CLI against the real virtual device (udfu-virtual) over USB/IP:
# pack --boot-header, the demo's flow (list, download a DfuSe .dfu, read
# back, leave, the boot layer commits and boots, detach), an image without
# a header never booting, the plain alt, bad inputs (bootloader and journal
# read-only) leaving the flash unchanged, and repeated download cycles.
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

# fail, expect, has, same; virtual_start, virtual_stop
. "$(dirname "$0")/cli_checks.sh"
trap 'virtual_stop; rm -rf "$TMP"' EXIT

virtual_start "$VIRTUAL" --timing 5 --alts mixed --flash "$TMP/flash.img"

SLOT=0x0800C000   # the boot layer's image slot
LINK=0x0800C200   # slot + 512-byte header: where applications are linked

# An application linked at $LINK: initial SP in RAM, reset vector (Thumb)
# inside it; the boot layer wants it behind a udfu image header.
app() {
  printf '\x00\x00\x02\x20\x01\xc3\x00\x08' >"$2"
  head -c "$1" /dev/urandom >>"$2"
}
app 30000 "$TMP/app.bin"
SIZE=$(( $(stat -c %s "$TMP/app.bin") + 512 ))

expect 0 list --json
has "$TMP/out" '"mode":"dfu"'
has "$TMP/out" '"dfuse":true'

# pack --boot-header: a DfuSe .dfu and the raw image, both with the header
expect 2 pack "$TMP/app.bin" --boot-header --address $LINK -o "$TMP/x.dfu"
has "$TMP/err" "needs --image-version"
expect 2 pack "$TMP/app.bin" --boot-header --image-version 1 -o "$TMP/x.dfu"
has "$TMP/err" "needs the address"
expect 0 pack "$TMP/app.bin" --boot-header --image-version 1 --address $LINK -o "$TMP/app.dfu" --vid 0x1209
has "$TMP/out" "boot header at 0x0800C000: image v1"
expect 0 pack "$TMP/app.bin" --boot-header --image-version 1 --address $LINK --raw -o "$TMP/app.img" --json
has "$TMP/out" '"format":"raw"'
has "$TMP/out" "\"bytes\":$SIZE"
expect 0 pack "$TMP/app.bin" --boot-header --image-version 1 --address 0x08020000 -o "$TMP/x.dfu"
has "$TMP/err" "linked for another address"

expect 0 download "$TMP/app.dfu" --verify
has "$TMP/out" "verified"
expect 0 upload "$TMP/back.bin" --address $SLOT --length "$SIZE"
same "$TMP/app.img" "$TMP/back.bin"

# Bad inputs: refused, the right exit code, the flash unchanged.
cp "$TMP/app.dfu" "$TMP/corrupt.dfu"
printf '\x01' | dd of="$TMP/corrupt.dfu" bs=1 seek=500 conv=notrunc 2>/dev/null
expect 3 download "$TMP/corrupt.dfu"
expect 5 download "$TMP/app.img" --address 0x08000000
has "$TMP/err" "0x08000000-0x0800BFFF is read-only (bootloader); use --address 0x0800C000"
expect 5 download "$TMP/app.img" --address 0x08004000   # the commit journal
has "$TMP/err" "read-only"
head -c $((1024 * 1024)) /dev/zero >"$TMP/huge.bin"
expect 5 download "$TMP/huge.bin" --address $SLOT
expect 0 upload "$TMP/back.bin" --address $SLOT --length "$SIZE"
same "$TMP/app.img" "$TMP/back.bin"

# Leave: the bootloader commits the image and boots it in run-time mode.
expect 0 leave --wait --json
has "$TMP/out" '"mode":"runtime"'
has "$TMP/virtual.log" "booted udfu image v1"
expect 0 detach
has "$TMP/out" "DFU mode"

# An image without the header never boots: the device stays in DFU mode.
expect 0 download "$TMP/app.bin" --address $SLOT --leave
expect 0 status --json
has "$TMP/out" '"mode":"dfu"'
has "$TMP/virtual.log" "no bootable image: no udfu image header"

# The plain DFU 1.1 alt: not manifestation tolerant, so the device commits,
# leaves after the download, and udfu brings it back for the verify.
expect 0 download "$TMP/app.img" --alt 1 --verify
has "$TMP/out" "verified"
has "$TMP/virtual.log" "leave: resetting"
checks=$((checks + 1))
[ "$(grep -c 'booted udfu image v1,' "$TMP/virtual.log")" -eq 2 ] ||
  fail "the plain download did not boot: $(tail -n 3 "$TMP/virtual.log")"

# Repeated cycles: download + leave from run-time mode each time, each a
# new version that must boot.
for i in $(seq "$CYCLES"); do
  app 4000 "$TMP/cycle.bin"
  "$UDFU" pack "$TMP/cycle.bin" --boot-header --image-version $((i + 100)) --address $LINK \
    --raw -o "$TMP/cycle.img" >/dev/null || fail "pack of cycle $i"
  expect 0 download "$TMP/cycle.img" --address $SLOT --verify --leave
  for _ in $(seq 50); do grep -q "booted udfu image v$((i + 100))," "$TMP/virtual.log" && break; sleep 0.05; done
  has "$TMP/virtual.log" "booted udfu image v$((i + 100)),"
done
expect 0 status --json
has "$TMP/out" '"mode":"runtime"'
has "$TMP/virtual.log" "booted udfu image v$((CYCLES + 100)),"

[ "$fails" -eq 0 ] || cat "$TMP/virtual.log" >&2
echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
