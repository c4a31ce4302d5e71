#!/usr/bin/env bash
# Static analysis of the device-side core (src/) and the ports (ports/):
#   1. cppcheck  (warning, style, performance, portability; suppressions in
#                 scripts/cppcheck-suppressions.txt, each justified there)
#   2. clang-tidy (checks in .clang-tidy, every finding an error)
#   3. gcc -fanalyzer on src/ (what a bootloader links)
# Exits non-zero if any tool reports anything. Files that do not exist yet
# are skipped. Usage: scripts/static-analysis.sh [build-dir]
# (the build dir, default build-analyze, holds compile_commands.json).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bdir=${1:-build-analyze}
fail=0

need() {
  command -v "$1" >/dev/null || { echo "analyze: $1 not found (make deps)" >&2; exit 2; }
}
need cppcheck
need clang-tidy
need gcc

mapfile -t src_files < <(ls src/*.c 2>/dev/null)
mapfile -t port_files < <(find ports -name '*.c' 2>/dev/null | sort)

echo "== cppcheck"
incs=(-Iinclude/udfu)
for d in ports/*/; do incs+=("-I${d%/}"); done
if ! cppcheck --std=c99 --enable=warning,style,performance,portability --inline-suppr \
    --quiet --error-exitcode=1 --suppressions-list=scripts/cppcheck-suppressions.txt \
    --template='{file}:{line}: {severity}: {message} [{id}]' \
    "${incs[@]}" "${src_files[@]}" "${port_files[@]}"; then
  fail=1
fi

echo "== clang-tidy"
# The compile database of a host build gives each file its real flags.
if ! cmake -S . -B "$bdir" -DCMAKE_C_COMPILER=clang -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    -DUDFU_BUILD_TESTS=OFF >/dev/null; then
  echo "analyze: cannot configure $bdir" >&2
  exit 2
fi
in_db() {
  grep -q "\"file\": \"$root/$1\"" "$bdir/compile_commands.json"
}
for f in "${src_files[@]}" "${port_files[@]}"; do
  case $f in
    ports/cortex-m/*)
      # Built with arm-none-eabi-gcc; analysed for a Cortex-M0+ target.
      extra=(-- -std=c99 --target=arm-none-eabi -mcpu=cortex-m0plus -mthumb
             -ffreestanding -isystem /usr/lib/arm-none-eabi/include
             -Iinclude/udfu -I"$(dirname "$f")" -Iports/cortex-m) ;;
    *)
      if in_db "$f"; then
        extra=(-p "$bdir")
      else
        extra=(-- -std=c99 -D_POSIX_C_SOURCE=200809L -Iinclude/udfu -I"$(dirname "$f")")
      fi ;;
  esac
  out=$(clang-tidy --quiet "$f" "${extra[@]}" 2>&1)
  if [ $? -ne 0 ] || grep -q "warning:\|error:" <<<"$out"; then
    grep -E "warning:|error:" <<<"$out" | sed "s|$root/||"
    fail=1
  fi
done

echo "== gcc -fanalyzer"
for f in "${src_files[@]}"; do
  if ! gcc -std=c99 -fanalyzer -Wall -Wextra -Werror -Iinclude/udfu -c "$f" -o /dev/null; then
    fail=1
  fi
done

if [ $fail -ne 0 ]; then
  echo "analyze: findings above"
  exit 1
fi
echo "analyze: clean (${#src_files[@]} files in src/, ${#port_files[@]} in ports/)"
