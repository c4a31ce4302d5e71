#!/usr/bin/env bash
# CPU cost of a 1 MiB download through usbd + the DFU class core with zero
# flash time: instructions counted by valgrind --tool=callgrind, inclusive
# of the udfu entry points (what the controller driver and the main loop
# call), per KiB of image. x86-64 instructions: a relative measure, not
# Cortex-M cycles.
# Usage: bench/cpucost/cpucost.sh [build-dir] [wTransferSize]
set -euo pipefail
build=${1:-build}
xfer=${2:-2048}
exe="$build/bench/udfu_cpucost"
[ -x "$exe" ] || { echo "cpucost: $exe not built (cmake --build $build --target udfu_cpucost)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "cpucost: valgrind not found (apt-get install valgrind)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Inclusive Ir of the functions matching $2 (an awk regex on "file:function"),
# from the function summary only: --auto=no leaves out the annotated
# source, whose call lines ("=> usbd.c:udfu_usbd_setup") would match too
# and count every entry point twice.
incl() {
  callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$1" 2>/dev/null |
    awk -v re="$2" '$0 ~ re { gsub(",", "", $1); s += $1 } END { printf "%d", s }'
}

printf 'CPU cost, 1 MiB download, wTransferSize %s, zero flash time (x86-64 instructions, callgrind)\n' "$xfer"
printf '%-6s %-7s %14s %12s %12s %12s\n' proto buffers "usbd+dfu Ir" "Ir/KiB" "class Ir/KiB" "task Ir/KiB"
for proto in dfu dfuse; do
  for bufs in 1 2; do
    out="$tmp/cg.$proto.$bufs"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$exe" "$proto" "$bufs" "$xfer" >/dev/null 2>"$tmp/log" ||
      { cat "$tmp/log" >&2; exit 1; }
    all=$(incl "$out" 'usbd[.]c:udfu_usbd_(setup|out_done|status_done|task) ')
    cls=$(incl "$out" 'dfu[.]c:udfu_dfu_(setup|data|status_done|task) ')
    task=$(incl "$out" 'dfu[.]c:udfu_dfu_task ')
    awk -v p="$proto" -v b="$bufs" -v a="$all" -v c="$cls" -v t="$task" 'BEGIN {
      printf "%-6s %-7s %14d %12.1f %12.1f %12.1f\n", p, b, a, a / 1024, c / 1024, t / 1024 }'
  done
done
