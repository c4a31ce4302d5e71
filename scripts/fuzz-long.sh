#!/usr/bin/env bash
# Long fuzzing runs (`make fuzz-long`): builds tests/fuzz with clang in its
# own directory and runs each harness for SECONDS (default 600), one after
# the other, starting from the committed seeds plus what earlier long runs
# found (kept in <build>/corpus-long/<harness>, never in the source tree).
# Prints the executions per harness; exits non-zero if any harness crashed
# (the input is saved as <build>/<harness>-crash-*; replay it with
# `<build>/<harness> <file>`, add FZ_TRACE=1 for the control-endpoint ones).
#
#   scripts/fuzz-long.sh [-t SECONDS] [-b BUILD_DIR] [-j JOBS] [harness...]
#
# JOBS > 1 runs that many libFuzzer workers per harness (wall time stays
# SECONDS; the machine has 2 cores, so the default is 1).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-600}
bdir=${FUZZ_BUILD:-build-fuzz}
jobs=1
while getopts "t:b:j:" o; do
  case $o in
    t) secs=$OPTARG ;;
    b) bdir=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) sed -n '2,14p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
all=(fuzz_dfu fuzz_usbd fuzz_file fuzz_layout fuzz_usbip)
harnesses=("${@:-${all[@]}}")

clang=$(command -v clang || command -v clang-14 || true)
[ -n "$clang" ] || { echo "fuzz-long: clang not found (make deps)" >&2; exit 2; }
cmake -S tests/fuzz -B "$bdir" -DCMAKE_C_COMPILER="$clang" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$bdir" --parallel 2 >/dev/null

status=0
summary=()
for h in "${harnesses[@]}"; do
  if [ ! -x "$bdir/$h" ]; then
    summary+=("$(printf '%-12s not built (its sources are missing)' "$h")")
    continue
  fi
  corpus="$bdir/corpus-long/$h"
  mkdir -p "$corpus"
  log="$bdir/$h-long.log"
  echo "== $h: ${secs}s (log $log)"
  set +e
  if [ "$jobs" -gt 1 ]; then
    "$bdir/$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -jobs="$jobs" -workers="$jobs" -artifact_prefix="$bdir/$h-" \
      "$corpus" "tests/fuzz/corpus/$h" >"$log" 2>&1
  else
    "$bdir/$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$bdir/$h-" "$corpus" "tests/fuzz/corpus/$h" >"$log" 2>&1
  fi
  rc=$?
  set -e
  # with -jobs the workers log to fuzz-<n>.log in the current directory
  execs=$({ cat "$log"; cat fuzz-*.log 2>/dev/null || true; } |
    awk -F: '/stat::number_of_executed_units/ {s += $NF} END {print s + 0}')
  rm -f fuzz-*.log
  if [ $rc -ne 0 ]; then
    status=1
    summary+=("$(printf '%-12s %12s executions  FAILED (rc %d, see %s)' "$h" "$execs" "$rc" "$log")")
  else
    summary+=("$(printf '%-12s %12s executions  ok' "$h" "$execs")")
  fi
done
echo "== fuzz-long summary (${secs}s per harness)"
printf '%s\n' "${summary[@]}"
exit $status
