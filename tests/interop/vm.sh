#!/bin/bash
# vm.sh - boots a throwaway Linux VM and runs one script in it.
#
#   vm.sh --cache DIR --out DIR [--timeout S] [--env NAME=VALUE]... SCRIPT [ARGS...]
#
# The VM is QEMU under TCG (no KVM needed) with Debian's own kernel
# (linux-image-amd64, fetched with apt-get download and unpacked into
# --cache, never into the system) and a busybox initramfs. The host's root
# file system is shared into the guest read-only over 9p, so SCRIPT and
# everything it runs (dfu-util, usbip, the build tree) are the host's own
# files; the guest chroots into it. There everything is read-only except
# /run (a tmpfs; $TMPDIR is /run/udfu-tmp) and --out, shared writable, where
# the guest leaves its results (SCRIPT sees it as $UDFU_OUT). The modules
# usbip-core and vhci-hcd are loaded and lo is up before SCRIPT starts.
#
# Exit status: SCRIPT's status; 77 if the Debian packages the VM needs are
# missing and cannot be installed (said loudly on stderr); 1 if the VM did
# not boot or did not finish in time.
#
# Environment: UDFU_INTEROP_ACCEL (default tcg; "kvm" to use /dev/kvm),
# UDFU_INTEROP_SMP (default 1), UDFU_INTEROP_VERBOSE=1 (console on stderr
# as it happens).
set -u

SKIP=77
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=
OUT=
TIMEOUT=600
MEM=768
ENVS=()

die() { echo "vm.sh: $*" >&2; exit 1; }

# Packages the VM needs: a command or file each, and the Debian package
# that provides it.
NEEDS=(
    "qemu-system-x86_64 qemu-system-x86"
    "cpio cpio"
    "depmod kmod"
    "usbip usbip"
    "dfu-util dfu-util"
    "dfuse-pack dfu-util"
    "lsusb usbutils"
    "/lib/systemd/systemd-udevd udev"
    "python3 python3"
    "/usr/share/hwdata/usb.ids hwdata"
    "apt-get apt"
    "dpkg-deb dpkg"
    "gzip gzip"
)

# The initramfs needs a statically linked busybox, which only
# busybox-static provides (the busybox package is dynamic).
have_static_busybox() {
    dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'
}

missing_packages() {
    local n p
    for n in "${NEEDS[@]}"; do
        p=${n#* }
        n=${n%% *}
        if [[ $n == /* ]]; then
            [ -e "$n" ] || echo "$p"
        else
            command -v "$n" >/dev/null 2>&1 || echo "$p"
        fi
    done
    have_static_busybox || echo busybox-static
}

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        return 1
    fi
}

apt_install() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "$@"
}

skip_loudly() {
    {
        echo "================================================================"
        echo "SKIP: the interop VM cannot run: $*"
        echo "It needs these Debian packages: qemu-system-x86 busybox-static cpio"
        echo "kmod usbip dfu-util usbutils hwdata udev python3 (and the kernel of"
        echo "linux-image-amd64, fetched with apt-get download). Install them as"
        echo "root and run again."
        echo "================================================================"
    } >&2
    exit $SKIP
}

ensure_packages() {
    local miss
    miss=$(missing_packages | sort -u | tr '\n' ' ')
    [ -z "$miss" ] && return 0
    echo "vm.sh: installing missing packages: $miss" >&2
    # shellcheck disable=SC2086
    if ! apt_install $miss >&2; then
        as_root apt-get update -q >&2
        # shellcheck disable=SC2086
        apt_install $miss >&2
    fi
    miss=$(missing_packages | sort -u | tr '\n' ' ')
    [ -z "$miss" ] || skip_loudly "missing packages that could not be installed: $miss"
}

# The name of Debian's current amd64 kernel package (what linux-image-amd64
# depends on), e.g. linux-image-6.1.0-26-amd64.
kernel_package() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

# Fetches and unpacks the kernel package into $CACHE/kernel once; depmod
# writes the modules.dep the package leaves to its postinst.
ensure_kernel() {
    local k=$CACHE/kernel pkg
    [ -f "$k/ready" ] && return 0
    rm -rf "$k"
    mkdir -p "$k/dl" || die "cannot create $k"
    pkg=$(kernel_package)
    if [ -z "$pkg" ]; then
        as_root apt-get update -q >&2
        pkg=$(kernel_package)
    fi
    [ -n "$pkg" ] || skip_loudly "apt-cache knows no linux-image-amd64 (not a Debian archive?)"
    echo "vm.sh: fetching $pkg into $k" >&2
    # apt-get download needs no root; as root, _apt cannot write here,
    # which apt only warns about.
    if ! (cd "$k/dl" && apt-get download -q "$pkg" >&2 2>/dev/null); then
        as_root apt-get update -q >&2
        (cd "$k/dl" && apt-get download -q "$pkg" >&2) ||
            skip_loudly "apt-get download $pkg failed"
    fi
    dpkg-deb -x "$k"/dl/*.deb "$k/root" || die "dpkg-deb -x failed"
    rm -rf "$k/dl"
    KVER=$(ls "$k/root/lib/modules")
    depmod -b "$k/root" "$KVER" || die "depmod failed"
    echo "$pkg" > "$k/ready"
}

# Prints the .ko files (relative to the modules dir) that NAME needs, in
# load order: modules.dep lists a module's dependencies with the ones it
# needs directly first, so they load in reverse.
module_chain() {
    local dep=$1 name=$2
    awk -v n="$name" '
        { m = $1; sub(/:$/, "", m); b = m; sub(/.*\//, "", b); sub(/\.ko.*$/, "", b)
          gsub(/-/, "_", b); nn = n; gsub(/-/, "_", nn)
          if (b == nn) { for (i = NF; i >= 2; i--) print $i; print m; exit } }
    ' "$dep"
}

modules_in_order() {
    local dep=$1 m
    shift
    for m in "$@"; do
        module_chain "$dep" "$m"
    done | awk '!seen[$0]++'
}

# Builds the initramfs (busybox, /init, the modules) when its inputs change.
ensure_initramfs() {
    local kr=$CACHE/kernel/root mods dep stamp img=$CACHE/initramfs.cpio.gz w m
    KVER=$(ls "$kr/lib/modules")
    KERNEL=$kr/boot/vmlinuz-$KVER
    INITRD=$img
    [ -f "$KERNEL" ] || die "no kernel image in $kr/boot"
    dep=$kr/lib/modules/$KVER/modules.dep
    mods=$(modules_in_order "$dep" virtio_pci 9pnet_virtio 9p usbip-core vhci-hcd)
    [ -n "$mods" ] || die "modules.dep names none of the modules needed"
    stamp=$( { cat "$HERE/guest/init"; echo "$KVER"; echo "$mods"; } | md5sum | cut -d' ' -f1)
    [ -f "$img" ] && [ "$(cat "$img.stamp" 2>/dev/null)" = "$stamp" ] && return 0

    w=$(mktemp -d "$CACHE/initramfs.XXXXXX") || die "mktemp failed"
    mkdir -p "$w"/{bin,dev,proc,sys,tmp,mnt/root,lib/modules}
    cp /bin/busybox "$w/bin/busybox"
    cp "$HERE/guest/init" "$w/init"
    chmod 755 "$w/init" "$w/bin/busybox"
    : > "$w/modules.order"
    for m in $mods; do
        cp "$kr/lib/modules/$KVER/$m" "$w/lib/modules/" || die "missing module $m"
        basename "$m" >> "$w/modules.order"
    done
    (cd "$w" && find . | cpio -o -H newc --quiet | gzip -1) > "$img.tmp" || die "cpio failed"
    mv "$img.tmp" "$img"
    echo "$stamp" > "$img.stamp"
    rm -rf "$w"
}

# The job the guest's /init runs, chrooted into the host root.
write_job() {
    local j=$OUT/.job e
    mkdir -p "$j"
    {
        echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        echo "export HOME=/run/udfu-tmp TMPDIR=/run/udfu-tmp UDFU_OUT=/run/udfu-out LANG=C LC_ALL=C"
        for e in "${ENVS[@]}"; do
            printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
        done
        echo "cd /run/udfu-tmp"
        printf 'exec /bin/bash'
        printf ' %q' "$SCRIPT" "${ARGS[@]}"
        printf ' </dev/null\n'
    } > "$j/job.sh"
    rm -f "$j/rc" "$j/dmesg.txt"
}

run_qemu() {
    # One vCPU: with two, a busy host (CI runs tests in parallel) preempts
    # one vCPU thread while it holds a guest spinlock and the other spins;
    # the same matrix took 6x longer under load.
    local accel=${UDFU_INTEROP_ACCEL:-tcg} smp=${UDFU_INTEROP_SMP:-1} log=$OUT/.job/console.log
    local rc t0 t1
    [ "$accel" = tcg ] && accel=tcg,thread=multi
    t0=$(date +%s.%N)
    timeout -k 5 "$TIMEOUT" qemu-system-x86_64 \
        -accel "$accel" -smp "$smp" -m "$MEM" \
        -nodefaults -no-user-config -display none -no-reboot \
        -serial stdio \
        -kernel "$KERNEL" -initrd "$INITRD" \
        -append "console=ttyS0 panic=-1 quiet loglevel=4" \
        -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
        -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
        -fsdev local,id=out,path="$OUT",security_model=none,multidevs=remap \
        -device virtio-9p-pci,fsdev=out,mount_tag=out \
        </dev/null 2>&1 | if [ "${UDFU_INTEROP_VERBOSE:-0}" = 1 ]; then
            tee "$log" >&2
        else
            cat > "$log"
        fi
    rc=${PIPESTATUS[0]}
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", b - a }' > "$OUT/.job/vm_seconds"
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        echo "vm.sh: the VM did not finish within $TIMEOUT s" >&2
    elif [ "$rc" != 0 ]; then
        echo "vm.sh: qemu exited with status $rc" >&2
    fi
}

while [ $# -gt 0 ]; do
    case $1 in
    --cache) CACHE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --env) ENVS+=("$2"); shift 2 ;;
    --) shift; break ;;
    -*) die "unknown option $1" ;;
    *) break ;;
    esac
done
[ -n "$CACHE" ] && [ -n "$OUT" ] && [ $# -ge 1 ] ||
    die "usage: vm.sh --cache DIR --out DIR [--timeout S] [--env N=V]... SCRIPT [ARGS...]"
SCRIPT=$(realpath "$1")
shift
ARGS=("$@")
mkdir -p "$CACHE" "$OUT" || die "cannot create $CACHE or $OUT"
CACHE=$(realpath "$CACHE")
OUT=$(realpath "$OUT")

ensure_packages
# one VM run at a time prepares a cache (several build trees may share one)
exec 9> "$CACHE/.lock"
flock 9
ensure_kernel
ensure_initramfs
exec 9>&-
write_job
run_qemu

if [ ! -f "$OUT/.job/rc" ]; then
    echo "vm.sh: the guest job did not finish; console (last 40 lines):" >&2
    tail -n 40 "$OUT/.job/console.log" >&2
    exit 1
fi
echo "vm.sh: VM run took $(cat "$OUT/.job/vm_seconds") s (kernel $KVER)" >&2
exit "$(cat "$OUT/.job/rc")"
