#!/bin/bash
# matrix.sh - the interop matrix, run inside the VM by vm.sh: udfu-virtual
# imported over vhci-hcd, driven by Debian's unmodified dfu-util (and
# lsusb), and by the project's own `udfu` through libusb.
#
#   matrix.sh BUILD_DIR [NAME_REGEX]
#
# Each check leaves $UDFU_OUT/results/NAME.result (PASS / FAIL: why) and
# NAME.log; the ctest tests read those (tests/interop/check.sh). The checks
# are listed in tests/interop/checks.txt. Exit status 0 means the matrix
# ran (whatever the results).
set -u
UDFU_BUILD=$1
ONLY=${2:-}
. "$(dirname "$0")/lib.sh"

# The device's default map (docs/virtual-device.md): bootloader sector,
# two journal sectors (both read-only to the host), then the image slot.
BOOTLDR=0x08000000
JOURNAL=0x08004000
SLOT=0x0800C000
SLOT_SIZE=999424          # 0x0800C000..0x080FFFFF
LAYOUT='@Internal Flash /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg'

# Test images (tool.py), packed the way docs/virtual-device.md says an
# image is made: udfu pack --boot-header --raw, header at the slot start.
prepare() {
    local p n
    python3 "$PYTOOL" prepare "$IMG" || return 1
    for p in "$IMG"/pay_*.bin; do
        n=$(basename "$p" .bin)
        n=${n#pay_}
        "$UDFU" pack "$p" --boot-header --image-version 1 --address 0x0800C200 --raw \
            -o "$IMG/$n.bin" > "$W/pack.out" 2>&1 || { cat "$W/pack.out"; return 1; }
    done
    # A DfuSe file made by Debian's dfuse-pack: the image at the slot and a
    # second element further up, for this device (the suffix's VID:PID is
    # checked by the tools).
    dfuse-pack -b "$SLOT:$IMG/elem_a.bin" -b "0x08020000:$IMG/elem_b.bin" \
        -D "0x$VID:0x$PID_DFU" "$IMG/two.dfu" > "$W/pack.out" 2>&1 ||
        { cat "$W/pack.out"; return 1; }
    # The run-time flash: a committed image needs the bootloader's journal,
    # so it is made by a real update (over USB/IP directly, no kernel).
    flash_new erased && dev_start || return 1
    "$UDFU" download "$IMG/boot_app.bin" --alt 0 --address "$SLOT" --leave -q \
        --usbip 127.0.0.1 > "$W/pack.out" 2>&1 || { cat "$W/pack.out"; return 1; }
    for n in $(seq 50); do
        grep -q "booted udfu image" "$DEV_LOG" && break
        sleep 0.1
    done
    dev_stop
    grep -q "booted udfu image" "$DEV_LOG" || { cat "$DEV_LOG"; return 1; }
    cp "$FLASH" "$IMG/flash_rt.bin"
}
prepare || { echo "interop matrix: preparing the images failed"; exit 1; }

# Runs check NAME FN ARGS... unless NAME_REGEX excludes it.
c() {
    local name=$1
    shift
    if [ -n "$ONLY" ] && ! [[ $name =~ $ONLY ]]; then
        return 0
    fi
    CHECK_ARGS=("${@:2}")
    case $name in
    minimal_*) VDEV=$VDEV_MIN MINIMAL=1 ;;
    *) VDEV=$VDEV_FULL MINIMAL=0 ;;
    esac
    # flash as fast as the datasheet says, not instant
    case $name in
    *_datasheet_timing) TIMING=100 ;;
    *) TIMING=0 ;;
    esac
    check "$name" "$1"
    # the device's full log for failed checks (every URB with -v -v)
    if grep -q FAIL "$RES/$name.result" 2>/dev/null; then
        cp "$DEV_LOG" "$RES/$name.device.log"
    fi
    dev_stop
}

# Starts the device for a check: MODE is dfu (erased), rt (a committed
# image), noboot (the slot full of data, DFU mode); ALTS the DFU-mode alts.
start() {
    local mode=$1 alts=${2:-dfuse}
    case $mode in
    dfu) fresh_dfu --alts "$alts" -v -v ;;
    rt) fresh_rt --alts "$alts" -v -v ;;
    noboot) fresh_noboot --alts "$alts" -v -v ;;
    esac || { fail "the device did not attach"; return 1; }
}

# ---- enumeration and descriptors --------------------------------------------

# The VM itself: Debian's kernel with vhci-hcd, loopback up, the host's
# tools and the build tree visible.
harness() {
    [ -d /sys/bus/platform/drivers/vhci_hcd ] || fail "vhci-hcd is not loaded"
    ip -o addr show lo 2>/dev/null | grep -q 127.0.0.1 || fail "lo has no 127.0.0.1"
    expect_ok usbip version
    expect_ok dfu-util -V
    expect_ok lsusb -V
    [ -f /usr/share/hwdata/usb.ids ] || fail "no usb.ids (usbip needs it)"
    [ -x "$VDEV_FULL" ] || fail "$VDEV_FULL is missing"
    [ -x "$VDEV_MIN" ] || fail "$VDEV_MIN is missing"
    [ -x "$UDFU" ] || fail "$UDFU is missing"
    log "kernel $(uname -r), $(nproc) CPUs"
}

sysattr() { cat "$SYSDEV/$1" 2>/dev/null; }
ifattr() { cat "$SYSDEV:1.0/$1" 2>/dev/null; }
cur_vidpid() { echo "$(sysattr idVendor):$(sysattr idProduct)"; }

# ARGS: mode (dfu|rt). The kernel's view of the device in that mode.
enumerates() {
    local m=${CHECK_ARGS[0]} pid proto
    if [ "$m" = dfu ]; then pid=$PID_DFU proto=02; else pid=$PID_RT proto=01; fi
    start "$m" || return
    log "sysfs: $(cur_vidpid) bcdDevice $(sysattr bcdDevice) speed $(sysattr speed)" \
        "interface $(ifattr bInterfaceClass)/$(ifattr bInterfaceSubClass)/$(ifattr bInterfaceProtocol)" \
        "product '$(sysattr product)'"
    expect_mode "$pid"
    [ "$(sysattr speed)" = 12 ] || fail "not enumerated at full speed"
    [ "$(sysattr bConfigurationValue)" = 1 ] || fail "configuration 1 not set"
    [ "$(ifattr bInterfaceClass)/$(ifattr bInterfaceSubClass)/$(ifattr bInterfaceProtocol)" = "fe/01/$proto" ] ||
        fail "interface is not DFU (FE/01/$proto)"
    [ "$(sysattr serial)" = UDFUVIRT0001 ] || fail "serial string not read"
    dmesg | grep -q "New USB device found, idVendor=$VID, idProduct=$pid" ||
        fail "the kernel did not report the new device"
    if [ "$m" = rt ]; then
        # the run-time identity comes from the image that booted
        [ "$(sysattr product)" = "udfu interop rt" ] || fail "run-time product is not the image's name"
        [ "$(sysattr bcdDevice)" = 0001 ] || fail "run-time bcdDevice is not the image version"
    fi
}

# ARGS: mode [alts]
lsusb_parses() {
    local m=${CHECK_ARGS[0]} alts=${CHECK_ARGS[1]:-dfuse}
    start "$m" "$alts" || return
    expect_ok lsusb -v -d "$(cur_vidpid)"
    [ -s "$LAST_ERR" ] && fail "lsusb -v wrote to stderr: $(head -c 200 "$LAST_ERR")"
    expect_no_out 'junk|UNRECOGNIZED|invalid|[Cc]ouldn.t|[Cc]annot|truncated|warning' "lsusb -v"
    if [ "$MINIMAL" = 1 ]; then
        # built without MS OS 2.0: a USB 2.00 device without a BOS
        expect_out 'bcdUSB +2\.00' "lsusb -v"
        expect_no_out 'Binary Object Store' "lsusb -v"
    else
        expect_out 'bcdUSB +2\.01' "lsusb -v"
        expect_out 'Binary Object Store Descriptor' "lsusb -v"
        expect_out 'Platform Device Capability' "lsusb -v"
        # the Microsoft OS 2.0 platform capability UUID
        expect_out '\{d8dd60df-4589-4cc7-9cd2-659d9e648a9f\}' "lsusb -v"
    fi
    expect_out 'Device Firmware Upgrade Interface Descriptor' "lsusb -v"
    expect_out 'Will Detach' "lsusb -v"
    expect_out 'wTransferSize +2048 bytes' "lsusb -v"
    case $m/$alts in
    dfu/dfuse)
        expect_out 'bInterfaceProtocol +2' "lsusb -v"
        expect_out 'bcdDFUVersion +1\.1a' "lsusb -v"
        expect_out "iInterface +[0-9]+ ${LAYOUT//\*/\\*}\$" "lsusb -v"
        ;;
    dfu/plain)
        expect_out 'bInterfaceProtocol +2' "lsusb -v"
        expect_out 'bcdDFUVersion +1\.10' "lsusb -v"
        expect_out 'iInterface +[0-9]+ Application slot$' "lsusb -v"
        ;;
    rt/*)
        expect_out 'bInterfaceProtocol +1' "lsusb -v"
        expect_out 'iInterface +[0-9]+ udfu DFU run-time$' "lsusb -v"
        expect_out 'iProduct +[0-9]+ udfu interop rt$' "lsusb -v"
        ;;
    esac
}

# ARGS: mode. The descriptor set Windows would read for WinUSB, fetched
# through libusb and checked field by field.
msos20() {
    start "${CHECK_ARGS[0]}" || return
    expect_ok python3 "$PYTOOL" msos20 "$(cur_vidpid)"
    expect_out 'MS OS 2.0 descriptor set OK'
}

# ---- listing and detach ------------------------------------------------------

# ARGS: mode [alts]
dfuutil_list() {
    local m=${CHECK_ARGS[0]} alts=${CHECK_ARGS[1]:-dfuse}
    start "$m" "$alts" || return
    expect_ok dfu-util -l
    case $m/$alts in
    dfu/dfuse)
        expect_out "Found DFU: \[$DFU\] .*alt=0, name=\"${LAYOUT//\*/\\*}\", serial=\"UDFUVIRT0001\""
        expect_no_out "alt=1|Found Runtime"
        ;;
    dfu/plain)
        expect_out "Found DFU: \[$DFU\] .*alt=0, name=\"Application slot\", serial=\"UDFUVIRT0001\""
        expect_no_out "alt=1|Found Runtime"
        ;;
    rt/*)
        expect_out "Found Runtime: \[$RT\] .*alt=0, name=\"udfu DFU run-time\", serial=\"UDFUVIRT0001\""
        expect_no_out "Found DFU"
        ;;
    esac
}

# ARGS: mode [alts]
udfu_list() {
    local m=${CHECK_ARGS[0]} alts=${CHECK_ARGS[1]:-dfuse}
    start "$m" "$alts" || return
    expect_ok "$UDFU" list
    case $m/$alts in
    dfu/mixed)
        expect_out "^$DFU +DFU mode"
        expect_out 'alt 0: "Internal Flash"'
        expect_out '0x08000000-0x0800BFFF +3 x 16\.0 KiB +read-only'
        expect_out '0x0800C000-0x0800FFFF +1 x 16\.0 KiB +read/erase/write'
        expect_out '0x08010000-0x0801FFFF +1 x 64\.0 KiB +read/erase/write'
        expect_out '0x08020000-0x080FFFFF +7 x 128\.0 KiB +read/erase/write'
        expect_out 'alt 1: "Application slot"'
        expect_ok "$UDFU" list --json
        expect_out "\"name\":\"${LAYOUT//\*/\\*}\""
        ;;
    rt/*)
        expect_out "^$RT +run-time mode"
        expect_out 'alt 0: "udfu DFU run-time"'
        ;;
    esac
}

# DETACH from run-time mode: the device (bitWillDetach) drops off the bus
# by itself and is offered again in DFU mode; importing it again finds it
# there.
dfuutil_detach() {
    start rt || return
    expect_ok dfu-util -e
    expect_gone 5 || return
    attach "$PID_DFU" || { fail "device not back after detach"; return; }
    expect_mode "$PID_DFU"
    expect_ok dfu-util -l
    expect_out "Found DFU: \[$DFU\]"
    grep -q "detach: rebooting into the bootloader" "$DEV_LOG" || fail "device log lacks the detach"
}

# udfu detach waits for the device to come back; the import meanwhile is
# the "cable". A running libusb process learns of new devices through udev,
# as on any desktop: udevd runs for this check (elsewhere each tool is a
# fresh process that scans sysfs, and udevd would only slow the VM down).
udfu_detach() {
    local pid rc
    udevd_start || fail "cannot start systemd-udevd"
    start rt || { udevd_stop; return; }
    log "\$ $UDFU detach -d $RT (in the background)"
    timeout 60 "$UDFU" detach -d "$RT" > "$W/detach.out" 2>&1 &
    pid=$!
    expect_gone 5
    attach "$PID_DFU" || fail "device not back after detach"
    wait "$pid"
    rc=$?
    tr '\r' '\n' < "$W/detach.out" >> "$LOG"
    log "(exit $rc)"
    [ "$rc" = 0 ] || fail "udfu detach exited with $rc"
    expect_mode "$PID_DFU"
    grep -q "DFU mode" "$W/detach.out" || fail "udfu detach did not report DFU mode"
    udevd_stop
}

# ---- plain DFU 1.1 (--alts plain: alt 0 is the image slot) ------------------

# The image boots: the device left the bus by itself (it resets 3 s after
# dfuMANIFEST-WAIT-RESET), its bootloader names the image, and it comes back
# in run-time mode.
expect_manifested_and_booted() {
    expect_gone 8 || return
    expect_booted "$1"
    attach "$PID_RT" || fail "device not back in run-time mode"
    expect_mode "$PID_RT"
}

# ARGS of plain_download: tool file [alt]
plain_download() {
    local rc
    case $1 in
    dfuutil) run dfu-util -a "${3:-0}" -D "$2"; rc=$?; dfuutil_plain_hint ;;
    udfu) run "$UDFU" download "$2" --alt "${3:-0}" -d "$DFU"; rc=$? ;;
    esac
    return $rc
}

# dfu-util 0.11 picks the protocol per interface, not per alt setting: with
# bcdDFUVersion 0x011A it drives every alt as DfuSe (main.c: dfuse_device),
# and a plain alt has no layout to parse.
dfuutil_plain_hint() {
    if tr '\r' '\n' < "$LAST" | grep -Eq 'Failed to parse memory layout|Limiting default upload'; then
        fail "dfu-util treated the plain DFU alt as DfuSe (the device reports bcdDFUVersion 0x011A)"
    fi
}

# ARGS: tool size [alts alt]
plain_dl() {
    local tool=${CHECK_ARGS[0]} n=${CHECK_ARGS[1]} alts=${CHECK_ARGS[2]:-plain} alt=${CHECK_ARGS[3]:-0} f rc
    f=$IMG/plain_$n.bin
    start dfu "$alts" || return
    flash_snapshot
    plain_download "$tool" "$f" "$alt"
    rc=$?
    case $n in
    0)
        # Nothing to send: DFU 1.1 forbids a zero-length DNLOAD in dfuIDLE
        # (the device stalls it), so the tool must report an error.
        [ "$rc" != 0 ] || fail "an empty download reported success"
        expect_flash_unchanged
        expect_mode "$PID_DFU"
        ;;
    1)
        # One byte is no image: written, then refused at manifestation
        # (errFIRMWARE); the device stays in DFU mode.
        expect_flash "$SLOT" "$f"
        expect_erased $((SLOT + 1)) $((16384 - 1))
        if [ "$tool" = dfuutil ]; then
            # dfu-util 0.11 prints the final state and exits 0 regardless
            expect_out 'state\(10\) = dfuERROR, status\(10\)' "dfu-util"
        else
            [ "$rc" = 6 ] || fail "udfu exited with $rc, expected 6 (device refused)"
            expect_out 'errFIRMWARE'
        fi
        sleep 1
        [ -e "$SYSDEV" ] || fail "device left the bus after refusing the image"
        expect_mode "$PID_DFU"
        ;;
    *)
        [ "$rc" = 0 ] || fail "the download exited with $rc"
        expect_flash "$SLOT" "$f"
        [ "$rc" = 0 ] && expect_manifested_and_booted "$f"
        ;;
    esac
    expect_bootloader_intact
}

# One byte more than the slot: refused at the block past the end, not
# before (plain DFU cannot know the size in advance, so everything that
# fits is written); the bootloader is untouched and the device boots
# nothing.
plain_too_large() {
    local tool=${CHECK_ARGS[0]} rc
    start dfu plain || return
    plain_download "$tool" "$IMG/plain_max1.bin"
    rc=$?
    [ "$rc" != 0 ] || fail "a download past the end reported success"
    head -c "$SLOT_SIZE" "$IMG/plain_max1.bin" > "$W/fits.bin"
    expect_flash "$SLOT" "$W/fits.bin"
    if [ "$tool" = dfuutil ]; then
        expect_out 'status\(8\) = Cannot program memory due to received address that is out of range' "dfu-util"
    fi
    sleep 1
    [ -e "$SYSDEV" ] || fail "device left the bus (booted?) after a failed download"
    expect_mode "$PID_DFU"
    expect_bootloader_intact
    grep -q "booted udfu image" "$DEV_LOG" && fail "the device booted after a failed download"
}

# Upload of the whole slot: 999424 bytes is an exact multiple of 2048, so
# the device must end it with a zero-length block. With dfu-util -t 1000
# the last block is short instead.
# ARGS: tool [transfer size]
plain_ul() {
    local tool=${CHECK_ARGS[0]} t=${CHECK_ARGS[1]:-} up=$W/up.bin
    start noboot plain || return
    rm -f "$up"
    case $tool in
    dfuutil) expect_ok dfu-util -a 0 ${t:+-t "$t"} -U "$up"; dfuutil_plain_hint ;;
    udfu) expect_ok "$UDFU" upload "$up" --alt 0 -d "$DFU" ;;
    esac
    [ -f "$up" ] || { fail "no upload file"; return; }
    [ "$(stat -c %s "$up")" = "$SLOT_SIZE" ] || fail "uploaded $(stat -c %s "$up") bytes, expected $SLOT_SIZE"
    expect_file_eq "$up" "$IMG/noboot_slot.bin"
    expect_flash "$SLOT" "$up"
}

# ---- DfuSe (alt 0, the whole map) -------------------------------------------

# ARGS: tool
dfuse_leave() {
    local tool=${CHECK_ARGS[0]}
    start dfu || return
    case $tool in
    dfuutil) expect_ok dfu-util -a 0 -s "$SLOT:leave" -D "$IMG/app.bin" ;;
    udfu) expect_ok "$UDFU" download "$IMG/app.bin" --alt 0 --address "$SLOT" --leave -d "$DFU" ;;
    esac
    expect_flash "$SLOT" "$IMG/app.bin"
    # No host traffic after the tool is done: the device must leave alone.
    expect_gone 3 || return
    grep -q "leave: jump to $SLOT requested" "$DEV_LOG" || fail "device log lacks the jump to $SLOT"
    expect_booted "$IMG/app.bin"
    expect_app_running
    [ "$MINIMAL" = 1 ] ||
        [ "$(sysattr product)" = "udfu interop app" ] || fail "run-time product is not the new image's name"
    expect_bootloader_intact
}

# After a boot: the application runs. It is back in run-time mode, or,
# in the minimal profile (no run-time class in usbd), off the bus: the
# server exports nothing and an import is refused.
expect_app_running() {
    if [ "$MINIMAL" = 1 ]; then
        grep -q "off the bus until restarted" "$DEV_LOG" || fail "device log lacks the application start"
        expect_fail usbip attach -r 127.0.0.1 -b "$BUSID"
        [ -e "$SYSDEV" ] && fail "the device is on the bus while its application runs"
        return
    fi
    attach "$PID_RT" || fail "device not back in run-time mode"
    expect_mode "$PID_RT"
}

# ARGS: tool
dfuse_ul() {
    local tool=${CHECK_ARGS[0]} up=$W/up.bin spec addr len
    start noboot || return
    # sizes around wTransferSize at the slot, the read-only bootloader and
    # journal (readable), across the 16K/64K region boundary, the very end
    for spec in 0x0800C000:1 0x0800C000:2047 0x0800C000:2048 0x0800C000:10000 \
                0x08000000:16384 0x08004000:32768 0x0800FF00:512 0x080FF000:4096; do
        addr=${spec%%:*}
        len=${spec#*:}
        rm -f "$up"
        case $tool in
        dfuutil) expect_ok dfu-util -a 0 -s "$spec" -U "$up" ;;
        udfu) expect_ok "$UDFU" upload "$up" --alt 0 --address "$addr" --length "$len" -d "$DFU" ;;
        esac
        if [ ! -f "$up" ] || [ "$(stat -c %s "$up")" != "$len" ]; then
            fail "upload $spec gave $(stat -c %s "$up" 2>/dev/null || echo no) bytes"
            continue
        fi
        expect_flash "$addr" "$up"
    done
}

# ARGS: tool. Mass erase erases every erasable sector: the slot.
dfuse_mass_erase() {
    local tool=${CHECK_ARGS[0]}
    start noboot || return
    case $tool in
    dfuutil) expect_ok dfu-util -a 0 -s :mass-erase:force ;;
    udfu) expect_ok "$UDFU" erase --mass --alt 0 -d "$DFU" ;;
    esac
    expect_erased "$SLOT" "$SLOT_SIZE"
    expect_bootloader_intact
}

# The DfuSe file from dfuse-pack (made in prepare); with :leave the device
# boots it.
# ARGS: tool [leave]
dfuse_file() {
    local tool=${CHECK_ARGS[0]} leave=${CHECK_ARGS[1]:-} f=$IMG/two.dfu a
    start dfu || return
    case $tool in
    dfuutil) expect_ok dfu-util -a 0 ${leave:+-s :leave} -D "$f" ;;
    udfu) expect_ok "$UDFU" download "$f" ${leave:+--leave} -d "$DFU" ;;
    esac
    a=$(stat -c %s "$IMG/elem_a.bin")
    expect_flash "$SLOT" "$IMG/elem_a.bin"
    expect_flash 0x08020000 "$IMG/elem_b.bin"
    expect_erased $((SLOT + a)) $((0x08020000 - SLOT - a))
    expect_bootloader_intact
    if [ -n "$leave" ]; then
        expect_gone 3 || return
        expect_booted "$IMG/elem_a.bin"
        expect_app_running
    else
        sleep 0.5
        expect_mode "$PID_DFU"
    fi
}

# Writes the device must refuse: into the read-only bootloader sector or
# journal, and past the end of the flash. The tool reports an error and
# the flash file is unchanged, byte for byte (journal included); the
# device still works afterwards.
# ARGS: tool where (boot|journal|end|straddle) [force]
refuse() {
    local tool=${CHECK_ARGS[0]} where=${CHECK_ARGS[1]} force=${CHECK_ARGS[2]:-} addr f
    case $where in
    boot) addr=$BOOTLDR f=$IMG/small.bin ;;
    journal) addr=$JOURNAL f=$IMG/small.bin ;;
    end) addr=0x08100000 f=$IMG/small.bin ;;
    straddle) addr=0x080FF800 f=$IMG/four_k.bin ;;
    esac
    start noboot || return
    flash_snapshot
    case $tool in
    dfuutil)
        # without :force dfu-util refuses by itself from the layout string;
        # with it, it sends the request and the device must refuse
        expect_fail dfu-util -a 0 -s "$addr${force:+:force}" -D "$f"
        if [ -n "$force" ]; then
            # the device's error status, as dfu-util prints it after a data
            # block, or after a DfuSe command (dfuse.c: "... not correctly
            # executed" when bStatus is not OK)
            expect_out 'DFU state\(10\) = dfuERROR, status\([1-9][0-9]*\)|(SET_ADDRESS|ERASE_PAGE) not correctly executed' \
                "dfu-util (the device's refusal)"
        else
            expect_out 'is not writeable' "dfu-util (its own refusal)"
        fi
        ;;
    udfu)
        expect_rc 5 "$UDFU" download "$f" --alt 0 --address "$addr" -d "$DFU"
        ;;
    esac
    expect_flash_unchanged
    # still answering, and in DFU mode: a small write in the slot works
    expect_mode "$PID_DFU"
    case $tool in
    dfuutil) expect_ok dfu-util -a 0 -s 0x08010000 -D "$IMG/small.bin" ;;
    udfu) expect_ok "$UDFU" download "$IMG/small.bin" --alt 0 --address 0x08010000 -d "$DFU" ;;
    esac
    expect_flash 0x08010000 "$IMG/small.bin"
}

# ---- the matrix ---------------------------------------------------------------

kernel_warnings > /dev/null   # boot messages are not the device's
echo "interop matrix: $(dfu-util -V | head -n 1), $(lsusb -V 2>&1 | head -n 1), kernel $(uname -r)"

while read -r -u 3 name fn args; do
    case $name in ''|'#'*) continue ;; esac
    # shellcheck disable=SC2086
    c "$name" "$fn" $args
done 3< "$(dirname "$0")/../checks.txt"

dev_stop
echo "interop matrix: done"
exit 0
