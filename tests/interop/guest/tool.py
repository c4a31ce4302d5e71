#!/usr/bin/python3
"""tool.py - small helpers for the interop checks (test images, the flash
file, the boot check's CRC line, the Microsoft OS 2.0 descriptor set).

  tool.py prepare DIR           test images (deterministic), flash files
                                made from them, and what checks compare with
  tool.py flash FILE [DATA] [--size N]
                                a flash file: bootloader pattern, rest erased,
                                DATA at the image slot
  tool.py erased FILE OFF LEN   exit 1 unless FILE[OFF:OFF+LEN] is all 0xFF
  tool.py bootloader FILE       exit 1 unless the bootloader sector is intact
  tool.py msos20 VID:PID        fetch and check the MS OS 2.0 descriptor set
                                through libusb; exit 1 on any problem
"""
import ctypes
import os
import random
import struct
import sys
import zlib

FLASH_SIZE = 1024 * 1024          # the default map of udfu-virtual
BOOT_SIZE = 16 * 1024             # sector 0, the bootloader, read-only
SLOT = 0x0800C000                 # the image slot (sectors 3..11)
SLOT_OFF = SLOT - 0x08000000
SLOT_SIZE = FLASH_SIZE - SLOT_OFF
HDR_SIZE = 512                    # udfu pack --boot-header: header + 0xFF gap
LOAD = SLOT + HDR_SIZE            # where the application is linked
SP = 0x20020000                   # top of the STM32F4's 128 KiB SRAM
RESET = LOAD + 0x101              # Thumb bit set, inside the slot


def boot_pattern():
    unit = b"udfu interop bootloader sector, must never change. "
    return (unit * (BOOT_SIZE // len(unit) + 1))[:BOOT_SIZE]


def payload(n, seed, name=None):
    """An application of n bytes linked at LOAD: a sane Cortex-M vector
    table, random code, the "udfu-app:NAME" marker the device shows as its
    run-time product string; never ends in 0xFF."""
    b = bytearray(random.Random(seed).randbytes(n))
    if n >= 8:
        b[0:8] = struct.pack("<II", SP, RESET)
    if name and n >= 256:
        tag = b"udfu-app:" + name.encode() + b"\0"
        b[64:64 + len(tag)] = tag
    if n:
        b[-1] = 0x5A
    return bytes(b)


# Applications to pack with `udfu pack --boot-header --raw` (in the VM):
# pay_X.bin becomes X.bin, header + gap + payload. The plain DFU sizes are
# the packed sizes: around wTransferSize (2048), and the largest that fits.
PAYLOADS = {
    "plain_2047": 2047 - HDR_SIZE,
    "plain_2048": 2048 - HDR_SIZE,
    "plain_4096": 4096 - HDR_SIZE,
    "plain_max": SLOT_SIZE - HDR_SIZE,
    "plain_max1": SLOT_SIZE - HDR_SIZE + 1,   # one byte too many
    "boot_app": 5000,                          # what the run-time flash holds
    "app": 10000,                              # the DfuSe :leave image
    "elem_a": 6000,                            # a .dfu element at the slot
}
NAMES = {"boot_app": "udfu interop rt", "app": "udfu interop app"}

# Raw files, used as they are.
RAW = {
    "plain_0.bin": 0,
    "plain_1.bin": 1,                 # no image: refused at manifestation
    "elem_b.bin": 3000,               # a second .dfu element at 0x08020000
    "small.bin": 1024,
    "four_k.bin": 4096,
    "noboot_slot.bin": SLOT_SIZE,     # fills the slot, no image header
}


def cmd_prepare(d):
    """Everything the checks need, made once: python starts slowly in the
    VM, so the checks themselves only copy and compare files."""
    os.makedirs(d, exist_ok=True)
    lines = []
    for i, (name, n) in enumerate(sorted(PAYLOADS.items())):
        data = payload(n, 1000 + i, NAMES.get(name))
        with open(os.path.join(d, "pay_%s.bin" % name), "wb") as f:
            f.write(data)
        lines.append("%s.bin %d bytes at 0x%08X, crc32 0x%08X" %
                     (name, n, LOAD, zlib.crc32(data) & 0xFFFFFFFF))
    with open(os.path.join(d, "bootlines.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for i, (name, n) in enumerate(sorted(RAW.items())):
        data = bytearray(random.Random(2000 + i).randbytes(n))
        if n:
            data[-1] = 0x5A
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    # 1 MiB for the benchmark (raw data; the bench does not boot it)
    with open(os.path.join(d, "bench_1m.bin"), "wb") as f:
        f.write(random.Random(7).randbytes(1024 * 1024))
    # flash files: erased, the slot full of data that never boots
    cmd_flash(os.path.join(d, "flash_erased.bin"))
    cmd_flash(os.path.join(d, "flash_noboot.bin"), os.path.join(d, "noboot_slot.bin"))
    with open(os.path.join(d, "ff.bin"), "wb") as f:
        f.write(b"\xff" * FLASH_SIZE)
    with open(os.path.join(d, "boot_sector.bin"), "wb") as f:
        f.write(boot_pattern())


def cmd_flash(path, img=None, size=FLASH_SIZE):
    b = bytearray(b"\xff" * size)
    b[0:BOOT_SIZE] = boot_pattern()
    if img:
        data = open(img, "rb").read()
        b[SLOT_OFF:SLOT_OFF + len(data)] = data
    with open(path, "wb") as f:
        f.write(b)


def cmd_erased(path, off, n):
    with open(path, "rb") as f:
        f.seek(off)
        data = f.read(n)
    bad = [i for i, c in enumerate(data) if c != 0xFF]
    if len(data) != n or bad:
        print("not erased: %d bytes differ, first at offset %#x" %
              (len(bad), off + (bad[0] if bad else len(data))))
        return 1
    return 0


def cmd_bootloader(path):
    with open(path, "rb") as f:
        data = f.read(BOOT_SIZE)
    if data != boot_pattern():
        bad = next(i for i in range(BOOT_SIZE) if data[i:i + 1] != boot_pattern()[i:i + 1])
        print("bootloader sector changed at offset %#x" % bad)
        return 1
    return 0


# ---- Microsoft OS 2.0 descriptors (through libusb, as Windows would ask) ----

MSOS20_UUID = bytes.fromhex("df60ddd88945c74c9cd2659d9e648a9f")
MSOS20_TYPES = {0: "set header", 1: "configuration subset header",
                2: "function subset header", 3: "compatible ID",
                4: "registry property", 5: "min resume time", 6: "model ID",
                7: "CCGP device", 8: "vendor revision"}


class Usb:
    def __init__(self, vid, pid):
        self.lib = ctypes.CDLL("libusb-1.0.so.0")
        self.lib.libusb_open_device_with_vid_pid.restype = ctypes.c_void_p
        self.lib.libusb_open_device_with_vid_pid.argtypes = [
            ctypes.c_void_p, ctypes.c_uint16, ctypes.c_uint16]
        self.lib.libusb_control_transfer.argtypes = [
            ctypes.c_void_p, ctypes.c_uint8, ctypes.c_uint8, ctypes.c_uint16,
            ctypes.c_uint16, ctypes.c_char_p, ctypes.c_uint16, ctypes.c_uint]
        self.lib.libusb_close.argtypes = [ctypes.c_void_p]
        if self.lib.libusb_init(None) != 0:
            raise RuntimeError("libusb_init failed")
        self.h = self.lib.libusb_open_device_with_vid_pid(None, vid, pid)
        if not self.h:
            raise RuntimeError("cannot open %04x:%04x" % (vid, pid))

    def control_in(self, rt, req, value, index, length):
        buf = ctypes.create_string_buffer(length)
        n = self.lib.libusb_control_transfer(self.h, rt, req, value, index, buf,
                                             length, 5000)
        if n < 0:
            raise RuntimeError("control transfer %02x %02x %04x %04x failed: %d" %
                               (rt, req, value, index, n))
        return buf.raw[:n]

    def close(self):
        self.lib.libusb_close(self.h)
        self.lib.libusb_exit(None)


def msos20_from_bos(bos):
    """(vendor code, set length) of the MS OS 2.0 platform capability."""
    if len(bos) < 5 or bos[1] != 0x0F:
        raise ValueError("BOS header malformed: %s" % bos[:5].hex())
    total = struct.unpack_from("<H", bos, 2)[0]
    if total != len(bos):
        raise ValueError("BOS wTotalLength %d, got %d bytes" % (total, len(bos)))
    i, found = 5, None
    for _ in range(bos[4]):
        if i + 3 > len(bos) or bos[i] < 3 or i + bos[i] > len(bos):
            raise ValueError("BOS capability at %d overruns" % i)
        ln, typ, cap = bos[i], bos[i + 1], bos[i + 2]
        if typ != 0x10:
            raise ValueError("BOS capability at %d has type %#x" % (i, typ))
        if cap == 0x05 and ln >= 28 and bos[i + 4:i + 20] == MSOS20_UUID:
            winver, setlen, code, alt = struct.unpack_from("<IHBB", bos, i + 20)
            print("MS OS 2.0 capability: Windows %#010x, set %d bytes, vendor code %#04x, "
                  "alt enum %d" % (winver, setlen, code, alt))
            if winver < 0x06030000:
                raise ValueError("dwWindowsVersion below Windows 8.1")
            found = (code, setlen)
        i += ln
    if i != len(bos):
        raise ValueError("BOS capabilities end at %d of %d" % (i, len(bos)))
    if not found:
        raise ValueError("no MS OS 2.0 platform capability in the BOS")
    return found


def msos20_walk(s):
    """Checks the set's structure; returns the compatible IDs found."""
    if len(s) < 10:
        raise ValueError("set shorter than its header")
    ln, typ, winver, total = struct.unpack_from("<HHIH", s, 0)
    if ln != 10 or typ != 0 or total != len(s):
        raise ValueError("set header wrong: len %d type %d total %d (got %d)" %
                         (ln, typ, total, len(s)))
    ids, i = [], 10
    while i < len(s):
        if i + 4 > len(s):
            raise ValueError("descriptor header at %d overruns" % i)
        ln, typ = struct.unpack_from("<HH", s, i)
        if ln < 4 or i + ln > len(s) or typ not in MSOS20_TYPES:
            raise ValueError("descriptor at %d: length %d type %d" % (i, ln, typ))
        print("  at %3d: %s (%d bytes)" % (i, MSOS20_TYPES[typ], ln))
        if typ in (1, 2):
            # subset headers: 8 bytes, their own total covers what follows
            sub = struct.unpack_from("<H", s, i + 6)[0]
            if ln != 8 or sub < 8 or i + sub > len(s):
                raise ValueError("subset header at %d: length %d subset %d" % (i, ln, sub))
        elif typ == 3:
            if ln != 20:
                raise ValueError("compatible ID descriptor is %d bytes, not 20" % ln)
            cid = s[i + 4:i + 12].rstrip(b"\0").decode("ascii", "replace")
            ids.append(cid)
            print("          CompatibleID %r SubCompatibleID %r" %
                  (cid, s[i + 12:i + 20].rstrip(b"\0")))
        elif typ == 4:
            dt, nl = struct.unpack_from("<HH", s, i + 4)
            if 8 + nl + 2 > ln:
                raise ValueError("registry property at %d overruns" % i)
            dl = struct.unpack_from("<H", s, i + 8 + nl)[0]
            if 8 + nl + 2 + dl != ln:
                raise ValueError("registry property at %d: sizes do not add up" % i)
            name = s[i + 8:i + 8 + nl].decode("utf-16-le", "replace").rstrip("\0")
            print("          property %r type %d, %d bytes" % (name, dt, dl))
        i += ln
    return ids


def cmd_msos20(idpair):
    vid, pid = (int(x, 16) for x in idpair.split(":"))
    u = Usb(vid, pid)
    try:
        dev = u.control_in(0x80, 6, 0x0100, 0, 18)
        bcd = struct.unpack_from("<H", dev, 2)[0]
        print("bcdUSB %#06x" % bcd)
        if bcd < 0x0201:
            raise ValueError("bcdUSB below 2.01: a host does not ask for the BOS")
        head = u.control_in(0x80, 6, 0x0F00, 0, 5)
        bos = u.control_in(0x80, 6, 0x0F00, 0, struct.unpack_from("<H", head, 2)[0])
        code, setlen = msos20_from_bos(bos)
        # MS_OS_20_DESCRIPTOR_INDEX is 7 (wIndex), device recipient, vendor
        s = u.control_in(0xC0, code, 0, 7, setlen)
        print("descriptor set: %s" % s.hex())
        ids = msos20_walk(s)
        if len(s) != setlen:
            raise ValueError("set is %d bytes, the BOS said %d" % (len(s), setlen))
        if "WINUSB" not in ids:
            raise ValueError("no WINUSB compatible ID (Windows would not bind WinUSB)")
    finally:
        u.close()
    print("MS OS 2.0 descriptor set OK")
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    c, a = argv[1], argv[2:]
    try:
        if c == "prepare":
            cmd_prepare(a[0])
            return 0
        if c == "flash":
            size = FLASH_SIZE
            if "--size" in a:
                k = a.index("--size")
                size = int(a[k + 1], 0)
                del a[k:k + 2]
            cmd_flash(a[0], a[1] if len(a) > 1 else None, size)
            return 0
        if c == "erased":
            return cmd_erased(a[0], int(a[1], 0), int(a[2], 0))
        if c == "bootloader":
            return cmd_bootloader(a[0])
        if c == "msos20":
            return cmd_msos20(a[0])
    except (ValueError, RuntimeError, OSError) as e:
        print("error: %s" % e)
        return 1
    print("unknown command %s" % c)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
