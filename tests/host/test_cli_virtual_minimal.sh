#!/usr/bin/env bash
# The `udfu` CLI against udfu-virtual-minimal over USB/IP: the virtual device
# built in the profile of the measured minimal bootloader
# (bench/size/minboot_config.h). What that profile changes is what is
# checked: descriptors and the DfuSe layout come out of the borrowed DFU
# buffer (UDFU_CFG_USBD_BUF 0), flash work is synchronous (the device holds
# requests while it waits), only DfuSe targets exist, and once an image
# boots the device is off the bus (no run-time class in its usbd).
#
#   test_cli_virtual_minimal.sh UDFU UDFU_VIRTUAL_MINIMAL
set -u
UDFU=$1
VIRTUAL=$2
TMP=$(mktemp -d)

# fail, expect, has, same; virtual_start, virtual_stop
. "$(dirname "$0")/cli_checks.sh"
trap 'virtual_stop; rm -rf "$TMP"' EXIT

# the device on $TMP/flash.img, timing 5% of the STM32F4 figures
start() { virtual_start "$VIRTUAL" --timing 5 --flash "$TMP/flash.img"; }

SLOT=0x0800C000
LINK=0x0800C200
app() {
  printf '\x00\x00\x02\x20\x01\xc3\x00\x08' >"$2"
  head -c "$1" /dev/urandom >>"$2"
}

# The profile has no plain DFU targets: asking for them is an error at start.
checks=$((checks + 1))
if "$VIRTUAL" --port 0 --alts mixed >"$TMP/out" 2>"$TMP/err"; then
  fail "--alts mixed was accepted by a build without plain DFU targets"
fi
has "$TMP/err" "needs plain DFU targets, which this build leaves out"

start
# Descriptors, strings and the layout string: all written into the DFU
# transfer buffer the device lends to usbd.
expect 0 list --json
has "$TMP/out" '"mode":"dfu"'
has "$TMP/out" '"product":"udfu virtual device (DFU mode)"'
has "$TMP/out" '"name":"@Internal Flash /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg"'

# Downloads of awkward sizes (around wTransferSize 2048), read back.
for n in 1 2047 2048 2049 40000; do
  head -c "$n" /dev/urandom >"$TMP/d.bin"
  expect 0 download "$TMP/d.bin" --address $SLOT --verify
  has "$TMP/out" "verified"
  expect 0 upload "$TMP/back.bin" --address $SLOT --length "$n"
  same "$TMP/d.bin" "$TMP/back.bin"
done

# A slot without an image header: the leave commits nothing and the device
# stays in DFU mode.
expect 0 download "$TMP/d.bin" --address $SLOT --leave
expect 0 status --json
has "$TMP/out" '"mode":"dfu"'
has "$TMP/virtual.log" "no bootable image: no udfu image header"

# Refusals leave the flash as it was.
app 30000 "$TMP/app.bin"
"$UDFU" pack "$TMP/app.bin" --boot-header --image-version 7 --address $LINK --raw \
  -o "$TMP/app.img" >/dev/null || fail "pack"
SIZE=$(stat -c %s "$TMP/app.img")
expect 0 download "$TMP/app.img" --address $SLOT --verify
expect 5 download "$TMP/app.img" --address 0x08000000
has "$TMP/err" "read-only (bootloader)"
expect 5 download "$TMP/app.img" --address 0x08004000
has "$TMP/err" "read-only"
expect 0 upload "$TMP/back.bin" --address $SLOT --length "$SIZE"
same "$TMP/app.img" "$TMP/back.bin"

# Leave: committed and booted; without a run-time class the device is then
# off the bus (nothing to list, status finds no device).
expect 0 leave
has "$TMP/virtual.log" "booted udfu image v7,"
has "$TMP/virtual.log" "off the bus until restarted"
expect 0 list
has "$TMP/out" "no DFU devices found"
expect 4 status

# The commit survives a power cycle: the next start boots the image at once.
start
for _ in $(seq 50); do grep -q "off the bus" "$TMP/virtual.log" && break; sleep 0.05; done
has "$TMP/virtual.log" "booted udfu image v7,"
expect 4 status

[ "$fails" -eq 0 ] || cat "$TMP/virtual.log" >&2
echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
