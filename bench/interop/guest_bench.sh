#!/bin/bash
# guest_bench.sh - runs inside the interop VM (see bench.sh): 1 MiB
# downloads through the kernel (usbip/vhci-hcd) by dfu-util and by udfu,
# with the flash timing off and at the datasheet figures. Appends
# "tool timing run seconds ok" lines to $UDFU_OUT/bench.tsv.
#
#   guest_bench.sh BUILD_DIR RUNS TIMINGS...
set -u
UDFU_BUILD=$1
RUNS=$2
shift 2
. "$(dirname "$0")/../../tests/interop/guest/lib.sh"

# 2 MiB in STM32F4 sectors (the default map's image slot holds 976 KiB):
# bootloader, two journal sectors, then the slot, where 1 MiB fits.
LAYOUT="@Internal Flash /0x08000000/03*016Ka,01*016Kg,01*064Kg,15*128Kg"
SIZE=$((2 * 1024 * 1024))
ADDR=0x0800C000
OUTF=$UDFU_OUT/bench.tsv
: > "$OUTF"

python3 "$PYTOOL" prepare "$IMG" > /dev/null || exit 1
python3 "$PYTOOL" flash "$W/flash2m.bin" --size "$SIZE" || exit 1
BIN=$IMG/bench_1m.bin

one() {
    local tool=$1 timing=$2 run=$3 t0 t rc ok=1
    cp "$W/flash2m.bin" "$FLASH"
    TIMING=$timing
    dev_start --layout "$LAYOUT" > /dev/null && attach "$PID_DFU" || return 1
    t0=$(now)
    case $tool in
    dfu-util) dfu-util -a 0 -s "$ADDR" -D "$BIN" > "$W/out" 2>&1 ;;
    udfu) "$UDFU" download "$BIN" --alt 0 --address "$ADDR" -d "$DFU" -q > "$W/out" 2>&1 ;;
    esac
    rc=$?
    t=$(elapsed "$t0")
    # the same bytes must have arrived, else the time means nothing
    if [ "$rc" != 0 ] || ! cmp -s -n $((1024 * 1024)) -i "$(flash_off $ADDR):0" "$FLASH" "$BIN"; then
        ok=0
        tr '\r' '\n' < "$W/out" | tail -n 5
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$tool" "$timing" "$run" "$t" "$ok" >> "$OUTF"
    echo "bench: $tool timing $timing% run $run: $t s$([ $ok = 1 ] || echo ' FAILED')"
    dev_stop
}

for timing in "$@"; do
    for ((r = 1; r <= RUNS; r++)); do
        one dfu-util "$timing" "$r"
        one udfu "$timing" "$r"
    done
done
