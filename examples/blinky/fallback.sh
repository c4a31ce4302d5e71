#!/usr/bin/env bash
# fallback.sh VERSION OUT - without arm-none-eabi-gcc, writes a stand-in for
# blinky-vVERSION.bin: a Cortex-M4 vector table that passes the boot
# checks (initial SP 0x20020000, Thumb reset vector inside the image,
# linked at 0x0800C200 like app.ld), a reset handler that is a single
# `b .` instruction, and the "udfu-app:" name. udfu-virtual boots it like
# the real build; on a board it would only loop.
set -euo pipefail
VERSION=$1
OUT=$2
BASE=$((0x0800C200))
VECTORS=98
CODE=$((BASE + VECTORS * 4))             # the reset handler right after the table

le32() {
  local esc
  esc=$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
          $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))
  printf "$esc"
}
{
  le32 $((0x20020000))
  for ((i = 1; i < VECTORS; i++)); do le32 $((CODE | 1)); done
  printf '\xfe\xe7\x00\x00'                  # b .   (Thumb), padding
  printf 'udfu-app:udfu blinky v%s.0 (generated)\0' "$VERSION"
} >"$OUT"
