# lib.sh - helpers for scripts that run inside the interop VM (sourced by
# bash). They drive udfu-virtual through the real kernel: usbip attach over
# vhci-hcd, then the host's own tools through usbfs/libusb.
#
# Needs: UDFU_BUILD (the build tree), UDFU_OUT (the writable share, set by
# vm.sh), TMPDIR (a tmpfs, set by vm.sh).

VDEV_FULL=$UDFU_BUILD/ports/usbip/udfu-virtual
# The minimal bootloader's profile (bench/size/minboot_config.h): checks
# whose name starts with minimal_ run against it (MINIMAL=1, set by
# matrix.sh's c).
VDEV_MIN=$UDFU_BUILD/ports/usbip/udfu-virtual-minimal
VDEV=$VDEV_FULL
MINIMAL=0
UDFU=$UDFU_BUILD/host/udfu
HERE_GUEST=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTOOL=$HERE_GUEST/tool.py
VID=1209
PID_RT=0001
PID_DFU=0002
RT=$VID:$PID_RT
DFU=$VID:$PID_DFU
BUSID=1-1
SYSDEV=/sys/bus/usb/devices/$BUSID
W=$TMPDIR/work
IMG=$W/img
RES=$UDFU_OUT/results
FLASH=$W/flash.bin
DEV_LOG=$W/dev.log
DEV_PID=
TIMING=0
mkdir -p "$W" "$RES"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# ---- the device ------------------------------------------------------------

# The kernel drops the port by itself once the device closes the connection.
port_free() { [ ! -e "$SYSDEV" ] && ! usbip port 2>/dev/null | grep -q "^Port"; }

# Waits up to $1 s (default 5) for the device to leave the bus.
wait_gone() {
    local t=$(( ${1:-5} * 10 )) i
    for ((i = 0; i < t; i++)); do
        [ -e "$SYSDEV" ] || return 0
        sleep 0.1
    done
    return 1
}

dev_stop() {
    if [ -n "$DEV_PID" ]; then
        kill -TERM "$DEV_PID" 2>/dev/null
        wait "$DEV_PID" 2>/dev/null
        DEV_PID=
    fi
    wait_gone 5
}

# Starts udfu-virtual on $FLASH (which must exist or is created erased)
# with $TIMING and any extra options; returns once it listens.
dev_start() {
    local i
    dev_stop
    : > "$DEV_LOG"
    "$VDEV" --flash "$FLASH" --timing "$TIMING" -v "$@" >> "$DEV_LOG" 2>&1 &
    DEV_PID=$!
    for ((i = 0; i < 100; i++)); do
        grep -q "listening on" "$DEV_LOG" && return 0
        kill -0 "$DEV_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "udfu-virtual did not start:" >&2
    cat "$DEV_LOG" >&2
    return 1
}

# Imports the device and waits until the kernel has enumerated it and
# configured it (the interface exists), with PID $1 if given. The device
# re-offers itself after a mode change, so the import is retried.
attach() {
    local want=${1:-} i
    for ((i = 0; i < 50; i++)); do
        usbip attach -r 127.0.0.1 -b "$BUSID" >/dev/null 2>&1 && break
        sleep 0.1
    done
    [ "$i" -lt 50 ] || { echo "usbip attach failed" >&2; return 1; }
    for ((i = 0; i < 100; i++)); do
        if [ -e "$SYSDEV:1.0/bInterfaceClass" ]; then
            [ -z "$want" ] && break
            [ "$(cat "$SYSDEV/idProduct" 2>/dev/null)" = "$want" ] && break
        fi
        sleep 0.05
    done
    [ "$i" -lt 100 ] || { echo "device not enumerated (want PID ${want:-any})" >&2; return 1; }
    [ -n "$UDEVD_PID" ] && udevadm settle -t 5 2>/dev/null
    return 0
}

# systemd-udevd in the foreground of a background job, so it can be stopped
# by its PID.
UDEVD_PID=
udevd_start() {
    [ -x /lib/systemd/systemd-udevd ] || return 1
    /lib/systemd/systemd-udevd > "$W/udevd.log" 2>&1 &
    UDEVD_PID=$!
    sleep 0.3
    kill -0 "$UDEVD_PID" 2>/dev/null
}
udevd_stop() {
    [ -n "$UDEVD_PID" ] || return 0
    kill -TERM "$UDEVD_PID" 2>/dev/null
    wait "$UDEVD_PID" 2>/dev/null
    UDEVD_PID=
}

cur_pid() { cat "$SYSDEV/idProduct" 2>/dev/null; }

# A fresh flash file (made by matrix.sh's prepare): the bootloader sector
# holds a known pattern; the rest is erased (erased), holds a committed
# image (rt) or fills the slot with data that has no image header (noboot).
flash_new() {
    cp "$IMG/flash_${1:-erased}.bin" "$FLASH"
}

# Device started on a fresh flash and attached: in DFU mode without an
# image, in run-time mode with one.
fresh_dfu() {
    flash_new erased && dev_start "$@" && attach "$PID_DFU"
}
fresh_rt() {
    flash_new rt && dev_start "$@" && attach "$PID_RT"
}
fresh_noboot() {
    flash_new noboot && dev_start "$@" && attach "$PID_DFU"
}

# The address of a flash byte in the file.
flash_off() { printf '%d' $(( $1 - 0x08000000 )); }

# ---- checks ----------------------------------------------------------------
#
# check NAME FUNC: runs FUNC as one check. FUNC reports problems with fail;
# the check passes if it reported none. Each check leaves RES/NAME.result
# (PASS or FAIL) and RES/NAME.log (commands, their output, kernel messages).

CUR=
CUR_FAIL=
LOG=/dev/null
LAST=$W/last.out
LAST_ERR=$W/last.err

log() { printf '%s\n' "$*" >> "$LOG"; }

fail() {
    CUR_FAIL="${CUR_FAIL:+$CUR_FAIL; }$*"
    log "FAIL: $*"
}

# Runs a command, output into the log and into $LAST (stdout+stderr) and
# $LAST_ERR (stderr); returns its status. A command never runs longer
# than 120 s.
run() {
    local rc t0
    log "\$ $*"
    t0=$(now)
    timeout -k 2 120 "$@" > "$LAST" 2> "$LAST_ERR"
    rc=$?
    cat "$LAST_ERR" >> "$LAST"
    # progress bars redraw with \r; keep the log readable
    tr '\r' '\n' < "$LAST" | awk 'length($0) < 400' >> "$LOG"
    log "(exit $rc, $(elapsed "$t0") s)"
    return $rc
}

expect_ok() { run "$@" || fail "'$*' exited with $?"; }

expect_fail() {
    if run "$@"; then
        fail "'$*' succeeded but should have failed"
        return 1
    fi
    return 0
}

# expect_rc N CMD...: the command exits with status N.
expect_rc() {
    local want=$1 rc
    shift
    run "$@"
    rc=$?
    [ "$rc" = "$want" ] || fail "'$*' exited with $rc, expected $want"
}

# expect_out REGEX [what]: the last command's output matches (grep -E).
expect_out() {
    tr '\r' '\n' < "$LAST" | grep -Eq -- "$1" || fail "${2:-output} lacks /$1/"
}

expect_no_out() {
    tr '\r' '\n' < "$LAST" | grep -Eq -- "$1" && fail "${2:-output} has /$1/"
}

# expect_flash ADDR FILE: the flash holds FILE at ADDR, byte for byte.
expect_flash() {
    local n off
    n=$(stat -c %s "$2" 2>/dev/null || echo 0)
    off=$(flash_off "$1")
    log "compare flash @$1 with $2 ($n bytes)"
    if [ "$n" -eq 0 ]; then
        fail "nothing to compare: $2 is missing or empty"
    elif ! cmp -n "$n" -i "$off:0" "$FLASH" "$2" >> "$LOG" 2>&1; then
        fail "flash at $1 differs from $(basename "$2")"
    fi
}

# expect_erased ADDR LEN: the flash reads 0xFF there.
expect_erased() {
    log "flash @$1 +$2 erased?"
    cmp -n "$2" -i "$(flash_off "$1"):0" "$FLASH" "$IMG/ff.bin" >> "$LOG" 2>&1 ||
        fail "flash at $1 (+$2) is not erased"
}

flash_snapshot() { cp "$FLASH" "$W/flash.before"; }

expect_flash_unchanged() {
    cmp "$FLASH" "$W/flash.before" >> "$LOG" 2>&1 || fail "the flash changed"
}

expect_bootloader_intact() {
    cmp -n 16384 "$FLASH" "$IMG/boot_sector.bin" >> "$LOG" 2>&1 ||
        fail "the bootloader sector changed"
}

# expect_file_eq A B: two files are identical.
expect_file_eq() {
    cmp "$1" "$2" >> "$LOG" 2>&1 || fail "$(basename "$1") differs from $(basename "$2")"
}

# expect_gone [S]: the device leaves the bus by itself within S seconds,
# nothing on the host touching it meanwhile.
expect_gone() {
    local t0
    TEARDOWN=1
    t0=$(now)
    if wait_gone "${1:-5}"; then
        log "device left the bus by itself after $(elapsed "$t0") s"
    else
        fail "the device did not leave the bus within ${1:-5} s"
        return 1
    fi
}

# expect_booted FILE: the device log says its bootloader booted the image
# in FILE (payload length, load address and zlib CRC-32, as it prints them).
expect_booted() {
    local want
    want=$(awk -v n="$(basename "$1")" '$1 == n { $1 = ""; sub(/^ /, ""); print }' "$IMG/bootlines.txt")
    [ -n "$want" ] || { fail "no boot line known for $1"; return; }
    if grep -q "booted udfu image .*$want" "$DEV_LOG"; then
        log "device: $(grep "booted udfu image .*$want" "$DEV_LOG" | tail -n 1)"
    else
        fail "the device did not boot $(basename "$1") ($want); its log: $(grep -E 'booted|no bootable|refused' "$DEV_LOG" | tail -n 2 | tr '\n' '|')"
    fi
}

# expect_mode PID: the attached device has this PID.
expect_mode() {
    local p
    p=$(cur_pid)
    [ "$p" = "$1" ] || fail "device has PID ${p:-none}, expected $1"
}

# Kernel messages of warning level or worse since the last call, minus:
# - the one vhci-hcd prints for every full-speed device it resets
#   ("vhci_device speed not set": vhci_hub_control has no case for
#   USB_SPEED_FULL; its maintainers call that a vhci-hcd bug, not an error
#   of the device);
# - in checks where the device drops off the bus by design (detach,
#   manifestation, leave: TEARDOWN=1), "sendmsg failed" from vhci-hcd when
#   it was sending a URB the moment the device closed the connection.
TEARDOWN=0
kernel_warnings() {
    dmesg -r -c 2>/dev/null | tee -a "$RES/dmesg.txt" |
        awk '{ p = $0; sub(/^</, "", p); sub(/>.*/, "", p); if ((p % 8) <= 4) print }' |
        grep -v 'vhci_hcd: vhci_device speed not set' |
        if [ "$TEARDOWN" = 1 ]; then grep -v 'vhci_hcd: sendmsg failed!'; else cat; fi
}

check() {
    local name=$1 fn=$2 t0 w
    CUR=$name
    CUR_FAIL=
    TEARDOWN=0
    LOG=$RES/$name.log
    : > "$LOG"
    rm -f "$RES/$name.result"
    kernel_warnings > /dev/null
    t0=$(now)
    log "# $name"
    if declare -F "$fn" > /dev/null; then
        "$fn"
    else
        fail "no check function '$fn' (checks.txt)"
    fi
    w=$(kernel_warnings)
    if [ -n "$w" ]; then
        log "kernel warnings:"
        log "$w"
        fail "the kernel logged warnings or errors: $(echo "$w" | head -n 3 | tr '\n' '|')"
    fi
    log "device log:"
    tail -n 40 "$DEV_LOG" | grep -v 'SUBMIT\|UNLINK' >> "$LOG"
    if [ -z "$CUR_FAIL" ]; then
        echo PASS > "$RES/$name.result"
    else
        printf 'FAIL: %s\n' "$CUR_FAIL" > "$RES/$name.result"
    fi
    printf '%-58s %s (%s s)\n' "$name" "$(head -c 60 "$RES/$name.result")" "$(elapsed "$t0")"
    LOG=/dev/null
}
