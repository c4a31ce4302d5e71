#!/bin/bash
# run_matrix.sh - the ctest fixture of the interop matrix: boots the VM once
# (vm.sh), runs guest/matrix.sh in it and leaves one result per check in
# OUT/results, which the interop_* tests read (check.sh).
#
#   run_matrix.sh --build DIR --out DIR [--only REGEX]
#
# The kernel package is cached in $UDFU_INTEROP_CACHE (default
# DIR/interop-cache under the build tree). Exit: 0 the matrix ran, 77 the
# VM cannot run here (said loudly; the checks then skip too), 1 otherwise.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=
OUT=
ONLY=
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "run_matrix.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$BUILD" ] && [ -n "$OUT" ] || { echo "usage: run_matrix.sh --build DIR --out DIR" >&2; exit 2; }
BUILD=$(realpath "$BUILD")
CACHE=${UDFU_INTEROP_CACHE:-$BUILD/interop-cache}

# Results of an earlier run must never pass a check of this one.
rm -rf "$OUT"
mkdir -p "$OUT/results"

case $BUILD in
/run/* | /proc/* | /sys/* | /dev/*)
    # the guest mounts its own file systems there (the host's /tmp stays
    # visible in the guest, so a clone under /tmp is fine)
    echo "run_matrix.sh: the build tree must not be under /run, /proc, /sys or /dev" >&2
    exit 1 ;;
esac
for b in ports/usbip/udfu-virtual ports/usbip/udfu-virtual-minimal host/udfu; do
    [ -x "$BUILD/$b" ] || echo "run_matrix.sh: $BUILD/$b is missing; its checks will fail" >&2
done
[ -x "$BUILD/ports/usbip/udfu-virtual" ] || exit 1

bash "$HERE/vm.sh" --cache "$CACHE" --out "$OUT" --timeout 900 \
    "$HERE/guest/matrix.sh" "$BUILD" "$ONLY" 2> "$OUT/vm.err"
rc=$?
cat "$OUT/vm.err" >&2
if [ "$rc" = 77 ]; then
    grep -h '^SKIP:' "$OUT/vm.err" > "$OUT/SKIPPED"
    exit 77
fi
# the guest's console: the matrix's one-line-per-check summary
grep -E '^(interop matrix|[a-z0-9_]+ +(PASS|FAIL))' "$OUT/.job/console.log"
[ "$rc" = 0 ] || exit 1
