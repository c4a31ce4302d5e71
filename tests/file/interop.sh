#!/usr/bin/env bash
# Round trips between udfu_file and Debian's dfu-util tools (dfu-suffix,
# dfuse-pack) and binutils' objcopy: files they write must read correctly in
# udfu, files udfu writes must pass their checks. A missing tool is a
# failure, not a skip: scripts/deps.sh installs them.
#   interop.sh FILE_TOOL WORKDIR suffix|dfuse|ihex
set -euo pipefail
tool=$1 work=$2 part=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "$1 not installed (package $2; run scripts/deps.sh)"; }
rm -rf "$work" && mkdir -p "$work" && cd "$work"
[ -x "$tool" ] || fail "no file tool at $tool"

rand() { head -c "$2" /dev/urandom > "$1"; }
# XORs the byte at offset $2 of file $1 with 0x5a (a change, whatever it was).
flip() {
  local b; b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
  printf "\\x$(printf %02x $((b ^ 0x5a)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
# Differences between two files, as 1-based byte offsets.
diff_offsets() { cmp -l "$1" "$2" | awk '{print $1}' | tr '\n' ' ' || true; }

check_suffix() { # file vid pid dev bcd payload
  local got
  got=$("$tool" suffix-show "$1" "$1.payload") || fail "udfu rejects $1"
  [ "$got" = "$2 $3 $4 $5 $(stat -c %s "$6")" ] || fail "udfu reads $1 as '$got'"
  cmp -s "$1.payload" "$6" || fail "udfu payload of $1 differs"
}

part_suffix() {
  need dfu-suffix dfu-util
  : > p0.bin; rand p1.bin 1; printf 'hello world' > p11.bin; rand p4k.bin 4099
  for p in p0 p1 p11 p4k; do
    # dfu-suffix writes, udfu reads
    cp $p.bin $p.ids.dfu
    dfu-suffix -v 0x1234 -p 0x5678 -d 0x0200 -a $p.ids.dfu >/dev/null
    check_suffix $p.ids.dfu 0x1234 0x5678 0x0200 0x0100 $p.bin
    cp $p.bin $p.any.dfu
    dfu-suffix -a $p.any.dfu >/dev/null
    check_suffix $p.any.dfu 0xffff 0xffff 0xffff 0x0100 $p.bin
    cp $p.bin $p.se.dfu
    dfu-suffix -v 0x0483 -p 0xdf11 -S 0x011a -a $p.se.dfu >/dev/null
    check_suffix $p.se.dfu 0x0483 0xdf11 0xffff 0x011a $p.bin

    # udfu writes: byte-identical to dfu-suffix, and dfu-suffix accepts it
    "$tool" suffix-add $p.bin $p.u.dfu 0x1234 0x5678 0x0200 0x0100
    cmp $p.u.dfu $p.ids.dfu || fail "udfu suffix of $p differs from dfu-suffix's"
    out=$(dfu-suffix -c $p.u.dfu 2>&1) || fail "dfu-suffix -c rejects udfu's $p: $out"
    grep -q "Vendor ID:.*0x1234" <<<"$out" && grep -q "Product ID:.*0x5678" <<<"$out" &&
      grep -q "BCD device:.*0x0200" <<<"$out" || fail "dfu-suffix reads udfu's $p as: $out"
    cp $p.u.dfu $p.strip
    dfu-suffix -D $p.strip >/dev/null 2>&1 || fail "dfu-suffix -D refuses udfu's $p"
    cmp $p.strip $p.bin || fail "dfu-suffix -D of udfu's $p left other bytes"

    # a corrupted file fails both (so the checks above are not vacuous)
    cp $p.u.dfu $p.bad
    flip $p.bad $(( $(stat -c %s $p.bad) - 1 ))
    cmp -s $p.bad $p.u.dfu && fail "flip did nothing"
    ! dfu-suffix -c $p.bad >/dev/null 2>&1 || fail "dfu-suffix accepts a bad CRC"
    ! "$tool" suffix-show $p.bad >/dev/null 2>&1 || fail "udfu accepts a bad CRC"
  done
}

part_dfuse() {
  need dfuse-pack dfu-util; need dfu-suffix dfu-util
  rand a.bin 1000; rand b.bin 37; rand c.bin 4101; rand d.bin 1
  # dfuse-pack writes (a new target whenever @alt changes), udfu reads
  dfuse-pack -b 0x08000000:a.bin -b 0x08004000:b.bin -b 0x20000000@1:c.bin \
    -b 0x1fff7800@2:d.bin -D 0x1209:0x2001 p.dfu >/dev/null || fail "dfuse-pack -b"
  "$tool" dfuse-list p.dfu pd > p.list || fail "udfu rejects dfuse-pack's file"
  cat > p.want <<'W'
target 0 alt 0 named 1 name "ST..." elements 2
  element 0 address 0x08000000 size 1000
  element 1 address 0x08004000 size 37
target 1 alt 1 named 1 name "ST..." elements 1
  element 0 address 0x20000000 size 4101
target 2 alt 2 named 1 name "ST..." elements 1
  element 0 address 0x1fff7800 size 1
W
  diff p.want p.list || fail "udfu lists dfuse-pack's file differently"
  cmp pd.t0.e0.bin a.bin && cmp pd.t0.e1.bin b.bin && cmp pd.t1.e0.bin c.bin &&
    cmp pd.t2.e0.bin d.bin || fail "udfu reads other element data than dfuse-pack packed"
  [ "$("$tool" suffix-show p.dfu)" = "0x1209 0x2001 0x0000 0x011a $(( $(stat -c %s p.dfu) - 16 ))" ] ||
    fail "udfu reads dfuse-pack's suffix wrong"

  # udfu writes, dfuse-pack -d and dfu-suffix -c read
  "$tool" dfuse-build u.dfu 0x1209 0x2001 "t:0:Internal Flash" 0x08000000:a.bin \
    0x08004000:b.bin t:1 t:5:Option 0x20000000:c.bin 0x1fff7800:d.bin
  out=$(dfuse-pack -d u.dfu) || fail "dfuse-pack -d fails on udfu's file"
  ! grep -q ERROR <<<"$out" || fail "dfuse-pack finds errors in udfu's file: $out"
  grep -q "targets: 3" <<<"$out" || fail "dfuse-pack sees other targets: $out"
  grep -q "Target' 0, alt setting: 0, name: \"b'Internal Flash'\", size: 1053, elements: 2" \
    <<<"$out" || fail "dfuse-pack reads target 0 as: $out"
  grep -q "Target' 1, alt setting: 1, name: \"\", size: 0, elements: 0" <<<"$out" ||
    fail "dfuse-pack reads target 1 as: $out"
  grep -q "Target' 2, alt setting: 5, name: \"b'Option'\", size: 4118, elements: 2" <<<"$out" ||
    fail "dfuse-pack reads target 2 as: $out"
  [ "$(grep -c '^  [0-9], address' <<<"$out")" = 4 ] || fail "dfuse-pack element count: $out"
  grep -q "  1, address: 0x1fff7800, size: 1$" <<<"$out" || fail "dfuse-pack element: $out"
  grep -q "usb: 1209:2001, device: 0x0000, dfu: 0x011a" <<<"$out" || fail "suffix: $out"
  dfuse-pack -d -d u.dfu >/dev/null
  cmp u.dfu.target0.image0.bin a.bin && cmp u.dfu.target0.image1.bin b.bin &&
    cmp u.dfu.target2.image0.bin c.bin && cmp u.dfu.target2.image1.bin d.bin ||
    fail "dfuse-pack dumps other data from udfu's file"
  out=$(dfu-suffix -c u.dfu 2>&1) || fail "dfu-suffix -c rejects udfu's DfuSe file: $out"
  grep -q "BCD DFU:.*0x011A" <<<"$out" || fail "dfu-suffix reads: $out"

  # the same content from both differs only in DFUImageSize and the CRC:
  # dfuse-pack counts the suffix in the image size, UM0391 does not
  dfuse-pack -b 0x08000000:a.bin -b 0x08004000:b.bin -D 0x1209:0x2001 p1.dfu >/dev/null
  "$tool" dfuse-build u1.dfu 0x1209 0x2001 "t:0:ST..." 0x08000000:a.bin 0x08004000:b.bin
  n=$(stat -c %s u1.dfu)
  [ "$n" = "$(stat -c %s p1.dfu)" ] || fail "udfu and dfuse-pack file sizes differ"
  for o in $(diff_offsets u1.dfu p1.dfu); do
    [ "$o" -ge 7 ] && [ "$o" -le 10 ] || [ "$o" -gt $((n - 4)) ] ||
      fail "udfu and dfuse-pack differ at byte $o"
  done
  [ "$(od -An -tu4 -j6 -N4 u1.dfu | tr -d ' ')" = $((n - 16)) ] || fail "udfu image size"
  [ "$(od -An -tu4 -j6 -N4 p1.dfu | tr -d ' ')" = "$n" ] || fail "dfuse-pack convention changed"

  # a file dfuse-pack itself calls broken is refused by udfu
  cp u.dfu bad.dfu
  flip bad.dfu $((11 + 274 + 8 + 10))
  grep -q "CRC ERROR" <<<"$(dfuse-pack -d bad.dfu)" || fail "dfuse-pack misses the bad CRC"
  ! "$tool" dfuse-list bad.dfu >/dev/null 2>&1 || fail "udfu accepts a corrupted DfuSe file"
}

part_ihex() {
  need objcopy binutils; need dfuse-pack dfu-util
  /usr/bin/python3 -c 'import intelhex' 2>/dev/null ||
    fail "dfuse-pack -i needs python3-intelhex (add it to scripts/deps.sh)"
  rand r1.bin 1000; rand r2.bin 300; rand r3.bin 77
  # objcopy picks segment records (02) below 1 MiB and linear ones (04)
  # above; r1 crosses a 64 KiB boundary.
  objcopy -I binary -O ihex --change-addresses 0x0001fff0 r3.bin r3.hex
  objcopy -I binary -O ihex --change-addresses 0x0800ff00 r1.bin r1.hex
  objcopy -I binary -O ihex --change-addresses 0x08020000 r2.bin r2.hex
  grep -q '^:02000002' r3.hex && grep -q '^:02000004' r1.hex || fail "objcopy record types"
  for r in r1 r3; do
    "$tool" ihex-pack $r.hex $r.dfu 0x0483 0xdf11 || fail "udfu rejects objcopy's $r.hex"
    "$tool" dfuse-list $r.dfu $r > $r.list
    [ "$(grep -c '^  element' $r.list)" = 1 ] || fail "$r.hex should be one run: $(cat $r.list)"
    cmp $r.t0.e0.bin $r.bin || fail "udfu reads other bytes from objcopy's $r.hex"
  done
  grep -q "address 0x0800ff00 size 1000" r1.list || fail "r1 placed at $(cat r1.list)"
  grep -q "address 0x0001fff0 size 77" r3.list || fail "r3 placed at $(cat r3.list)"

  # a linear record across a 64 KiB boundary (objcopy never writes one;
  # other tools may): it runs on into the next 64 KiB, as objcopy reads it
  python3 -c 'import sys
def rec(b):
    return ":" + bytes(b).hex().upper() + "%02X" % (-sum(b) & 255)
d = list(range(0x10, 0x30))
sys.stdout.write(rec([2, 0, 0, 4, 0x08, 0x01]) + "\n" + rec([32, 0xFF, 0xF0, 0] + d) + "\n:00000001FF\n")
' > cross.hex
  objcopy -I ihex -O binary cross.hex cross.bin || fail "objcopy rejects cross.hex"
  "$tool" ihex-pack cross.hex cross.dfu 0x0483 0xdf11 || fail "udfu rejects cross.hex"
  "$tool" dfuse-list cross.dfu cross > cross.list
  grep -q "address 0x0801fff0 size 32" cross.list || fail "cross.hex placed at $(cat cross.list)"
  cmp cross.t0.e0.bin cross.bin || fail "udfu reads cross.hex unlike objcopy"

  # one hex with three regions: dfuse-pack -i and udfu must pack the same
  { grep -hv -e '^:00000001FF' -e '^:04000005' -e '^:04000003' r3.hex r1.hex r2.hex
    echo ':00000001FF'; } > all.hex
  dfuse-pack -i all.hex -D 0x0483:0xdf11 p.dfu >/dev/null || fail "dfuse-pack -i"
  "$tool" ihex-pack all.hex u.dfu 0x0483 0xdf11
  "$tool" dfuse-list p.dfu pd > p.list || fail "udfu rejects dfuse-pack's hex build"
  "$tool" dfuse-list u.dfu ud > u.list
  diff p.list u.list || fail "udfu packs all.hex unlike dfuse-pack"
  [ "$(grep -c '^  element' u.list)" = 3 ] || fail "expected 3 runs: $(cat u.list)"
  for e in 0 1 2; do cmp pd.t0.e$e.bin ud.t0.e$e.bin || fail "element $e data differs"; done
  cmp pd.t0.e1.bin r1.bin || fail "r1 data"
  n=$(stat -c %s u.dfu)
  for o in $(diff_offsets u.dfu p.dfu); do
    [ "$o" -ge 7 ] && [ "$o" -le 10 ] || [ "$o" -gt $((n - 4)) ] ||
      fail "udfu and dfuse-pack hex builds differ at byte $o"
  done
  ! grep -q ERROR <<<"$(dfuse-pack -d u.dfu)" || fail "dfuse-pack rejects udfu's hex build"

  # a broken checksum (and only that) is refused
  tr -d '\r' < r1.hex > good.hex
  "$tool" ihex-pack good.hex good.dfu 0 0 || fail "udfu rejects r1.hex with LF endings"
  cs=$(sed -n 2p good.hex | tail -c 3)
  sed "2s/..\$/$(printf %02X $(( (0x$cs + 1) & 255 )))/" good.hex > bad.hex
  [ "$(cmp -l good.hex bad.hex | wc -l)" -ge 1 ] || fail "checksum not changed"
  ! "$tool" ihex-pack bad.hex bad.dfu 0 0 2>/dev/null || fail "udfu accepts a bad checksum"
}

case $part in
  suffix|dfuse|ihex) "part_$part" ;;
  *) fail "unknown part $part" ;;
esac
echo "ok $part"
