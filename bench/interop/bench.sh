#!/bin/bash
# bench.sh - wall time of a 1 MiB download by dfu-util and by udfu, through
# the real kernel (the interop VM: usbip + vhci-hcd, see docs/interop.md),
# with the virtual device's flash timing off and at the STM32F4 datasheet
# figures, and the ratio udfu / dfu-util. Not a test: it prints a table.
#
#   bench/interop/bench.sh [BUILD_DIR] [--runs N] [--timings "0 100"]
#
# The VM runs under TCG, so absolute times include emulation overhead
# (most visible at timing 0); at realistic timing the flash dominates. The
# ratio compares the two hosts under the same conditions.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build
RUNS=3
TIMINGS="0 100"
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --timings) TIMINGS=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) BUILD=$1; shift ;;
    esac
done
BUILD=$(realpath "$BUILD")
OUT=$BUILD/bench/interop
for b in ports/usbip/udfu-virtual host/udfu; do
    [ -x "$BUILD/$b" ] || { echo "bench.sh: build $BUILD/$b first" >&2; exit 1; }
done
rm -rf "$OUT"
mkdir -p "$OUT"

# shellcheck disable=SC2086
bash "$ROOT/tests/interop/vm.sh" --cache "${UDFU_INTEROP_CACHE:-$BUILD/interop-cache}" \
    --out "$OUT" --timeout 1800 "$ROOT/bench/interop/guest_bench.sh" "$BUILD" "$RUNS" $TIMINGS
rc=$?
[ "$rc" = 0 ] || { echo "bench.sh: the VM run failed ($rc)" >&2; exit "$rc"; }
grep '^bench:' "$OUT/.job/console.log" >&2

# median per tool and timing, then the ratio
awk -F '\t' '
    $5 != 1 { bad[$2] = 1 }
    { n = ++cnt[$1, $2]; v[$1, $2, n] = $4; if (!($2 in seen)) { seen[$2] = 1; tim[++nt] = $2 } }
    function median(tool, t,   n, i, j, x, a) {
        n = cnt[tool, t]
        for (i = 1; i <= n; i++) a[i] = v[tool, t, i]
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
            if (a[j] + 0 < a[i] + 0) { x = a[i]; a[i] = a[j]; a[j] = x }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END {
        print "1 MiB download at 0x0800C000 (DfuSe, wTransferSize 2048) through the kernel"
        print "(usbip + vhci-hcd in a TCG VM); wall time, median of each tool'"'"'s runs"
        printf "%-12s %12s %12s %10s %12s %12s\n", "flash timing", "dfu-util s", "udfu s",
            "udfu/dfu", "dfu KiB/s", "udfu KiB/s"
        for (i = 1; i <= nt; i++) {
            t = tim[i]; d = median("dfu-util", t); u = median("udfu", t)
            r = d > 0 ? u / d : 0; dk = d > 0 ? 1024 / d : 0; uk = u > 0 ? 1024 / u : 0
            note = bad[t] ? "  (a run FAILED)" : ""
            printf "%-12s %12.2f %12.2f %10.2f %12.0f %12.0f%s\n", t "%", d, u, r, dk, uk, note
        }
    }' "$OUT/bench.tsv"
