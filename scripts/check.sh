#!/usr/bin/env bash
# check.sh - builds everything and runs every test (the README's Quick
# start; `make check` runs this too). Needs only bash on a fresh Debian
# machine: it installs the Debian packages first (scripts/deps.sh), then
# configures and builds BUILD (default: build) and runs ctest, which prints
# the summary. CTEST_ARGS passes options to ctest (e.g. CTEST_ARGS="-L unit").
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
JOBS=$(nproc 2>/dev/null || echo 2)
bash "$ROOT/scripts/deps.sh"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j "$JOBS"
cd "$BUILD"
# shellcheck disable=SC2086
ctest --output-on-failure -j "$JOBS" ${CTEST_ARGS:-}
