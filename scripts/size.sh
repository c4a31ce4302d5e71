#!/usr/bin/env bash
# Footprint of the device-side parts: cross-compiles each part for a
# Cortex-M (default M0+, -Os, asserts off) and prints .text/.data/.bss.
# Usage: scripts/size.sh [cpu ...]   e.g. scripts/size.sh cortex-m0plus cortex-m4
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CROSS_CC:-arm-none-eabi-gcc}
SIZE=${CROSS_SIZE:-arm-none-eabi-size}
command -v "$CC" >/dev/null || { echo "size: $CC not found (apt-get install gcc-arm-none-eabi)" >&2; exit 1; }
cpus=("$@")
[ ${#cpus[@]} -eq 0 ] && cpus=(cortex-m0plus)
declare -A parts=(
  [proto]="src/proto.c"
  [mem]="src/mem.c"
  [dfu]="src/dfu.c src/dfuse.c"
  [rt]="src/rt.c"
  [usbd]="src/usbd.c src/usbd_desc.c"
  [file]="src/crc32.c src/suffix.c src/dfuse_file.c src/ihex.c"
  [boot]="src/boot_flag.c src/boot_image.c src/boot_slots.c"
)
order=(proto mem dfu rt usbd file boot)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for cpu in "${cpus[@]}"; do
  flags=(-mcpu="$cpu" -mthumb -Os -std=c99 -Wall -Wextra -Wpedantic -Werror
         -ffunction-sections -fdata-sections -DUDFU_CFG_ASSERT=0 -Iinclude/udfu)
  printf '\n%s, arm-none-eabi-gcc -Os, asserts off\n' "$cpu"
  printf '%-8s %8s %8s %8s\n' part .text .data .bss
  for p in "${order[@]}"; do
    objs=()
    for f in ${parts[$p]}; do
      [ -f "$f" ] || continue
      o="$out/$cpu-$(basename "$f" .c).o"
      "$CC" "${flags[@]}" -c "$f" -o "$o"
      objs+=("$o")
    done
    [ ${#objs[@]} -eq 0 ] && { printf '%-8s %8s\n' "$p" "(absent)"; continue; }
    "$SIZE" -t "${objs[@]}" | awk -v p="$p" 'END { printf "%-8s %8d %8d %8d\n", p, $1, $2, $3 }'
  done
done
