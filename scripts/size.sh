#!/usr/bin/env bash
# Footprint of the device-side parts.
#
# 1. Per part: cross-compiles each part for a Cortex-M (default M0+, -Os,
#    asserts off) and prints .text/.data/.bss.
# 2. Per part, for Cortex-M0+, Cortex-M4 and RV32IMC: .text, static RAM,
#    the largest stack frame and the worst-case stack over the part's entry
#    points (-fcallgraph-info=su: frame sizes plus the call graph; calls
#    through pointers, i.e. callbacks, count as leaves).
# 3. A complete minimal bootloader (bench/size/minboot.c: usbd + dfu + dfuse
#    + rt + boot + the ports/template controller driver + the Cortex-M jump)
#    linked for real (--gc-sections, -nostartfiles, -nostdlib), per arch:
#    flash, static RAM (single buffer and pipelined), worst-case stack.
# 4. The targets of issue 7 with PASS/FAIL (a miss does not fail the script).
#
# Two builds: "full" (every feature, the defaults of udfu_opt.h) and
# "compact" (the profile a minimal DfuSe bootloader uses: COMPACT below).
# Sections 1 and 4 show both; the minimal bootloader is built compact.
#
# Usage: scripts/size.sh [cpu ...]   e.g. scripts/size.sh cortex-m0plus cortex-m4
# (the cpus select section 1). arm-none-eabi-gcc is required; without
# riscv64-unknown-elf-gcc the RV32IMC columns are skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CROSS_CC:-arm-none-eabi-gcc}
SIZE=${CROSS_SIZE:-arm-none-eabi-size}
command -v "$CC" >/dev/null || { echo "size: $CC not found (apt-get install gcc-arm-none-eabi)" >&2; exit 1; }
# The compact profile: the options of bench/size/minboot_config.h (single
# buffer, synchronous callbacks, DfuSe targets only, no MS OS 2.0 so Windows
# needs an INF or Zadig, usbd serves DFU mode only and borrows the DFU
# buffer, boot layer for one slot without trial boots or hash hooks).
# tests/compact runs the device-side tests in most of this profile; the
# kernel drives all of it in udfu-virtual-minimal (tests/interop).
COMPACT=(-DUDFU_CONFIG=minboot_config.h -Ibench/size)
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
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
declare -A res
# pcompile <dir> <compiler> <flags...> -- <sources...>: dir/<name>.o for each
# source (and, with -fcallgraph-info, dir/<name>.ci), JOBS at a time.
pcompile() {
  local dir=$1 cc=$2 flags=() n=0 f
  shift 2
  while [ "$1" != -- ]; do flags+=("$1"); shift; done; shift
  mkdir -p "$dir"
  for f in "$@"; do
    [ -f "$f" ] || continue
    "$cc" "${flags[@]}" -c "$f" -o "$dir/$(basename "$f" .c).o" &
    n=$((n + 1))
    if [ "$n" -ge "$JOBS" ]; then wait -n; n=$((n - 1)); fi
  done
  wait
}
# compile <dir> <extra flags...> -- <sources...>: with the current arch's
# compiler and flags, plus call graphs.
compile() {
  local dir=$1; shift
  pcompile "$dir" "$acc" "${aflags[@]}" -fcallgraph-info=su "$@"
}


# ---- 1. per part, .text/.data/.bss -----------------------------------------
for cpu in "${cpus[@]}"; do
  flags=(-mcpu="$cpu" -mthumb -Os -std=c99 -Wall -Wextra -Wpedantic -Werror
         -ffunction-sections -fdata-sections -DUDFU_CFG_ASSERT=0 -Iinclude/udfu)
  all=()
  for p in "${order[@]}"; do all+=(${parts[$p]}); done
  pcompile "$out/$cpu" "$CC" "${flags[@]}" -- "${all[@]}"
  pcompile "$out/$cpu-compact" "$CC" "${flags[@]}" "${COMPACT[@]}" -- "${all[@]}"
  printf '\n%s, arm-none-eabi-gcc -Os, asserts off (.text of the compact profile: %s)\n' \
    "$cpu" "${COMPACT[*]}"
  printf '%-8s %8s %8s %8s %8s\n' part .text .data .bss compact
  for p in "${order[@]}"; do
    objs=(); cobjs=()
    for f in ${parts[$p]}; do
      [ -f "$f" ] || continue
      objs+=("$out/$cpu/$(basename "$f" .c).o")
      cobjs+=("$out/$cpu-compact/$(basename "$f" .c).o")
    done
    [ ${#objs[@]} -eq 0 ] && { printf '%-8s %8s\n' "$p" "(absent)"; continue; }
    c=$("$SIZE" -t "${cobjs[@]}" | awk 'END { print $1 }')
    res[$cpu,$p,ctext]=$c
    "$SIZE" -t "${objs[@]}" | awk -v p="$p" -v c="$c" \
      'END { printf "%-8s %8d %8d %8d %8d\n", p, $1, $2, $3, c }'
  done
done

# ---- 2 and 3: per architecture ----------------------------------------------
# The minimal bootloader's configuration: wTransferSize, and the options of
# bench/size/minboot_config.h (the compact profile, plus no scratch buffer
# in usbd: UDFU_CFG_USBD_BUF=0 writes descriptors into the DFU buffer while
# no download data waits there). udfu-virtual-minimal is built with the
# same file.
XFER=1024
MIN_DEFS=(-DUDFU_CONFIG=minboot_config.h -DMINBOOT_XFER=$XFER)
MIN_SRC=(src/usbd.c src/usbd_desc.c src/dfu.c src/dfuse.c src/rt.c src/mem.c src/proto.c
         src/boot_flag.c src/boot_image.c src/boot_slots.c ports/template/dcd_template.c
         ports/cortex-m/jump.c ports/cortex-m/vectors.c bench/size/board_min.c)
STACK_AWK=bench/size/stack.awk
# the device core: class cores, memory map, usbd (boot is checked apart)
core_parts=(proto mem dfu rt usbd)

# arch_setup <arch>: sets acc (compiler), asize (size tool), aflags, startup,
# ldflags; returns 1 if the compiler is missing.
arch_setup() {
  local common=(-Os -std=c99 -Wall -Wextra -Wpedantic -Werror -ffunction-sections
                -fdata-sections -DUDFU_CFG_ASSERT=0 -Iinclude/udfu)
  case $1 in
    cortex-m0plus|cortex-m4)
      acc=arm-none-eabi-gcc; asize=arm-none-eabi-size
      aflags=(-mcpu="$1" -mthumb "${common[@]}")
      startup=ports/cortex-m/example/startup.c
      entry=Reset_Handler
      ldflags=(-mcpu="$1" -mthumb -Lports/cortex-m -Tports/cortex-m/example/boot.ld) ;;
    rv32imc)
      acc=riscv64-unknown-elf-gcc; asize=riscv64-unknown-elf-size
      aflags=(-march=rv32imc -mabi=ilp32 -ffreestanding -Ibench/size/rv32/include "${common[@]}")
      startup=bench/size/rv32/start.c
      entry=rv_reset
      ldflags=(-march=rv32imc -mabi=ilp32 -Lports/cortex-m -Tbench/size/rv32/rv32.ld) ;;
  esac
  command -v "$acc" >/dev/null
}

for arch in cortex-m0plus cortex-m4 rv32imc; do
  if ! arch_setup "$arch"; then
    printf '\n%s: %s not found, skipped (apt-get install gcc-riscv64-unknown-elf)\n' "$arch" "$acc"
    continue
  fi
  d="$out/$arch"
  all_src=()
  for p in "${order[@]}"; do all_src+=(${parts[$p]}); done
  compile "$d/parts" -- "${all_src[@]}"
  printf '\n%s (%s -Os, asserts off): per part, stack in bytes\n' "$arch" "$acc"
  printf '%-8s %7s %6s %6s %6s  %s\n' part .text RAM frame worst "worst path (callbacks = leaves)"
  for p in "${order[@]}"; do
    objs=(); cis=()
    for f in ${parts[$p]}; do
      [ -f "$f" ] || continue
      objs+=("$d/parts/$(basename "$f" .c).o"); cis+=("$(basename "$f" .c).ci")
    done
    if [ ${#objs[@]} -eq 0 ]; then printf '%-8s %7s\n' "$p" "(absent)"; continue; fi
    read -r text ram < <("$asize" -t "${objs[@]}" | awk 'END { print $1, $2 + $3 }')
    read -r worst maxf maxfn path notes < <(awk -v part="${cis[*]}" -f "$STACK_AWK" "$d"/parts/*.ci)
    res[$arch,$p,text]=$text; res[$arch,$p,frame]=$maxf; res[$arch,$p,framefn]=$maxfn
    printf '%-8s %7d %6d %6d %6d  %s\n' "$p" "$text" "$ram" "$maxf" "$worst" "$path"
  done

  # the minimal bootloader, single buffer and pipelined (the compact
  # profile with UDFU_CFG_PIPELINE back on: every object is rebuilt, the
  # instance layout depends on it)
  compile "$d/libc" -fno-builtin -fno-tree-loop-distribute-patterns -- bench/size/libc_min.c
  for b in 1 2; do
    compile "$d/min$b" "${MIN_DEFS[@]}" -DMINBOOT_BUFFERS=$b -DUDFU_CFG_PIPELINE=$((b - 1)) \
      -Iports/template -Iports/cortex-m -Ibench/size -- \
      "${MIN_SRC[@]}" "$startup" bench/size/minboot.c
    "$acc" "${ldflags[@]}" -nostdlib -nostartfiles -Wl,--gc-sections "$d/min$b"/*.o \
      "$d"/libc/*.o -lgcc -o "$d/minboot$b.elf" -Wl,-Map="$d/minboot$b.map"
    read -r text data bss < <("$asize" "$d/minboot$b.elf" | awk 'END { print $1, $2, $3 }')
    res[$arch,min$b,flash]=$((text + data)); res[$arch,min$b,ram]=$((data + bss))
  done
  read -r worst maxf maxfn path notes < <(awk -v entries="$entry" -f "$STACK_AWK" \
    "$d"/min1/*.ci)
  res[$arch,min,stack]=$worst
  # what the numbers above count as leaves: the DFU callbacks and the
  # controller hooks, reached through pointers from the main loop's calls
  read -r cbw _ _ cbpath _ < <(awk -v entries=":dfu_read :dfu_erase :dfu_prog :dfu_manifest \
    :dfu_leave :tmpl_ep0_in :tmpl_ep0_out :tmpl_ep0_ack :tmpl_ep0_stall :tmpl_set_address" \
    -f "$STACK_AWK" "$d"/min1/*.ci)
  read -r loopw _ _ looppath _ < <(awk -v entries="$entry" \
    -v skip="udfu_boot_init udfu_boot_select udfu_port_jump" \
    -f "$STACK_AWK" "$d"/min1/*.ci)
  printf '\n%s: minimal bootloader (bench/size/minboot.c), linked, wTransferSize %d\n' "$arch" "$XFER"
  printf '  flash (.text + .rodata + .data)   %6d B\n' "${res[$arch,min1,flash]}"
  printf '  static RAM, single buffer         %6d B  (%d B DFU buffer + %d B the rest)\n' \
    "${res[$arch,min1,ram]}" "$XFER" "$((res[$arch,min1,ram] - XFER))"
  printf '  static RAM, pipelined (2 buffers) %6d B\n' "${res[$arch,min2,ram]}"
  printf '  RAM by object (single buffer): %s\n' "$("${asize%size}nm" -S -t d --size-sort -r \
    "$d/minboot1.elf" | awk '$3 ~ /^[bBdD]$/ { printf "%s%s %d", (n++ ? ", " : ""), $4, $2 }')"
  printf '  flash by part: %s\n' "$(awk -f bench/size/mapsum.awk "$d/minboot1.map" | sort -k2,2nr |
    awk '{ printf "%s%s %d", (NR > 1 ? ", " : ""), $1, $2 }')"
  printf '  worst-case stack from %-12s %5d B  %s\n' "$entry" "$worst" "$path"
  printf '  + callbacks (counted as leaves above): worst %d B  %s\n' "$cbw" "$cbpath"
  printf '  DFU mode (boot decision done), bound: %5d B  (%s, + that callback)\n' \
    "$((loopw + cbw))" "$looppath"
  if [ -n "${notes:-}" ]; then printf '  (%s)\n' "$notes"; fi
done

# ---- 4. targets ---------------------------------------------------------------
a=cortex-m0plus
if [ -n "${res[$a,dfu,text]:-}" ]; then
  check() { # <label> <value> <op> <limit> <limit text>
    local ok=FAIL
    case $3 in
      le) [ "$2" -le "$4" ] && ok=PASS ;;
      lt) [ "$2" -lt "$4" ] && ok=PASS ;;
    esac
    printf '  %-40s %6d B   target %-18s %s\n' "$1" "$2" "$5" "$ok"
  }
  maxframe=0; maxframe_fn=-
  for p in "${core_parts[@]}"; do
    if [ "${res[$a,$p,frame]}" -gt "$maxframe" ]; then
      maxframe=${res[$a,$p,frame]}; maxframe_fn=${res[$a,$p,framefn]}
    fi
  done
  printf '\nTargets (issue 7), %s, -Os, asserts off:\n' "$a"
  check "DFU + DfuSe + run-time class .text" $((res[$a,dfu,text] + res[$a,rt,text])) le 1228 "<= 1228 (1.2 KiB)"
  if [ -n "${res[$a,dfu,ctext]:-}" ]; then
    check "... compact profile" $((res[$a,dfu,ctext] + res[$a,rt,ctext])) le 1228 "<= 1228 (1.2 KiB)"
  fi
  check "usbd core .text" "${res[$a,usbd,text]}" le 1536 "<= 1536 (1.5 KiB)"
  if [ -n "${res[$a,usbd,ctext]:-}" ]; then
    check "... compact profile (no MS OS 2.0)" "${res[$a,usbd,ctext]}" le 1536 "<= 1536 (1.5 KiB)"
  fi
  printf '  (the minimal bootloader below is built in the compact profile)\n'
  check "minimal bootloader flash" "${res[$a,min1,flash]}" lt 4096 "< 4096 (4 KiB)"
  check "static RAM, single buffer" "${res[$a,min1,ram]}" le $((XFER + 128)) "<= $((XFER + 128)) (xfer+128)"
  check "static RAM, pipelined" "${res[$a,min2,ram]}" le $((2 * XFER + 128)) "<= $((2 * XFER + 128)) (2xfer+128)"
  check "largest stack frame, device core" "$maxframe" le 128 "<= 128"
  printf '  (device core = %s; largest frame: %s)\n' "${core_parts[*]}" "$maxframe_fn"
  check "largest stack frame, boot" "${res[$a,boot,frame]}" le 128 "<= 128"
  printf '  (largest frame: %s)\n' "${res[$a,boot,framefn]}"
fi
