#!/bin/bash
# check.sh - one interop ctest test: reads the result the VM run
# (run_matrix.sh, the fixture) left for check NAME and shows its log.
#
#   check.sh OUT_DIR NAME
OUT=$1
NAME=$2
if [ -f "$OUT/SKIPPED" ]; then
    echo "SKIP: $NAME did not run: $(cat "$OUT/SKIPPED")"
    exit 77
fi
R=$OUT/results/$NAME.result
if [ ! -f "$R" ]; then
    echo "FAIL: $NAME has no result: the VM run did not get to it (see the"
    echo "output of the test interop_vm_matrix and $OUT/.job/console.log)"
    exit 1
fi
cat "$OUT/results/$NAME.log" 2>/dev/null
[ -f "$OUT/results/$NAME.device.log" ] &&
    echo "(the device's full log: $OUT/results/$NAME.device.log)"
echo "result: $(cat "$R")"
[ "$(head -n 1 "$R")" = PASS ]
