#!/usr/bin/env bash
# `make bench`: builds the benchmarks, runs them, and writes the results to
# bench/results/: throughput.txt/.csv (the table), throughput-64K.md and
# throughput-1M.md (the same as markdown), throughput.png (the plot, needs
# gnuplot: apt-get install gnuplot-nox), cpucost.txt (needs valgrind).
# Usage: bench/run.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
res=bench/results
mkdir -p "$res"

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target udfu_throughput udfu_cpucost \
  >/dev/null
tp="$build/bench/udfu_throughput"

echo "== throughput model (bench/throughput) =="
"$tp" --check --csv "$res/throughput.csv" --plot "$res/throughput-plot.dat" |
  tee "$res/throughput.txt"
# The same runs with every request going through usbd must give the same
# times: usbd adds no protocol behaviour of its own.
"$tp" --usbd --check | tail -n +2 >"$res/.usbd.txt"
if tail -n +2 "$res/throughput.txt" | cmp -s - "$res/.usbd.txt"; then
  echo "(through usbd: identical results)"
else
  echo "through usbd: results differ:" >&2
  diff <(tail -n +2 "$res/throughput.txt") "$res/.usbd.txt" >&2 || true
  rm -f "$res/.usbd.txt"
  exit 1
fi
rm -f "$res/.usbd.txt"
for sz in 65536:64K 1048576:1M; do
  awk -v sz="${sz%%:*}" -f bench/throughput/table.awk "$res/throughput.csv" >"$res/throughput-${sz##*:}.md"
done

status=0
if command -v gnuplot >/dev/null; then
  gnuplot -e "datafile='$res/throughput-plot.dat'; outfile='$res/throughput.png'" \
    bench/throughput/plot.gp
  echo "plot: $res/throughput.png"
else
  echo "bench: gnuplot not found, no plot (apt-get install gnuplot-nox)" >&2
  status=1
fi

echo
echo "== CPU cost (bench/cpucost) =="
if command -v valgrind >/dev/null; then
  bash bench/cpucost/cpucost.sh "$build" | tee "$res/cpucost.txt"
else
  echo "bench: valgrind not found, no CPU cost (apt-get install valgrind)" >&2
  status=1
fi
exit $status
