#!/usr/bin/env python3
"""fakedev.py - a USB/IP server exporting one fake DFU 1.1 or DfuSe device
whose misbehaviour is chosen on the command line, for the CLI tests
(test_cli_fakedev.sh). Python 3 standard library only.

  fakedev.py [--port N] [--plain] [--alt NAME]... [--product S] [--xfer N]
             [--fill BYTE] [--poll MS] [--fault F]... [--log FILE]
  fakedev.py --make-dfuse OUT ALT:ADDRESS:FILE...   (writes a DfuSe file)

Prints "PORT <n>" once listening (--port 0: any free port), then serves
one client connection at a time until killed.

Faults:
  prog-status     after a data block: bStatus errPROG, bState dfuDNLOAD-IDLE
  erase-status    after a DfuSe Erase: bStatus errERASE, bState dfuDNLOAD-IDLE
  huge-poll       a DfuSe Erase leaves the device in dfuDNBUSY with
                  bwPollTimeout 0xFFFFFF (4.7 h), forever
  stuck-manifest  manifestation (or a DfuSe leave's check) never ends:
                  dfuMANIFEST with bwPollTimeout --poll, forever
  leave-stays     a DfuSe leave ends in dfuIDLE and the device stays
Without leave-stays a DfuSe leave (zero-length DNLOAD) answers dfuMANIFEST
once, then the device drops the connection (it starts its application).

Memory is per alt setting, as the DfuSe layouts in the alt names say; it
behaves like NOR flash (a write only clears bits: writing over memory that
was not erased shows). Set Address outside the current alt's layout is
errTARGET (dfuERROR), as ST's bootloader does.

The log (--log) has one line per class request and per notable event:
  erase alt=A 0x........      set-address alt=A 0x........
  leave alt=A 0x........      plain-block0 len=N (firmware sent as block 0)
  refused ...                 (a request the device stalled)
"""
import argparse
import re
import socket
import struct
import zlib

# DFU states and statuses (DFU 1.1 table 6.1, 6.2)
DFU_IDLE, DN_SYNC, DN_BUSY, DN_IDLE = 2, 3, 4, 5
MAN_SYNC, MAN, UP_IDLE, DFU_ERROR = 6, 7, 9, 10
ERR_TARGET, ERR_ERASE, ERR_PROG = 1, 4, 6
UNITS = {" ": 1, "B": 1, "K": 1024, "M": 1024 * 1024}


def layout(name):
    """[(start, sector_size, count)] of a DfuSe layout string."""
    out = []
    for base, body in re.findall(r"/0x([0-9A-Fa-f]+)/([^/]*)", name):
        addr = int(base, 16)
        for count, size, unit in re.findall(r"(\d+)\*(\d+)([ BKM])[a-g]", body):
            size = int(size) * UNITS[unit]
            out.append((addr, size, int(count)))
            addr += size * int(count)
    return out


def sector_at(regions, addr):
    for start, size, count in regions:
        if start <= addr < start + size * count:
            return start + (addr - start) // size * size, size
    return None


class Device:
    def __init__(self, opt, log):
        self.opt, self.log = opt, log
        self.dfuse = not opt.plain
        self.regions = [layout(n) for n in opt.alt]
        self.mem = [dict() for _ in opt.alt]
        self.state, self.status, self.alt = DFU_IDLE, 0, 0
        self.pointer = 0
        self.pending = None
        self.poll = 0
        self.leaving = False

    def note(self, text):
        self.log.write(text + "\n")

    # ---- memory
    def read(self, addr, n):
        m = self.mem[self.alt]
        return bytes(m.get(addr + i, self.opt.fill) for i in range(n))

    def write(self, addr, data):
        m = self.mem[self.alt]
        for i, b in enumerate(data):
            m[addr + i] = m.get(addr + i, self.opt.fill) & b

    def data_address(self, block):
        if self.dfuse:
            return self.pointer + (block - 2) * self.opt.xfer
        return block * self.opt.xfer

    # ---- requests
    def command(self, data):
        op = data[0]
        addr = struct.unpack("<I", data[1:5])[0] if len(data) == 5 else None
        if op == 0x21 and addr is not None:
            self.note("set-address alt=%d 0x%08X" % (self.alt, addr))
            if sector_at(self.regions[self.alt], addr) is None:
                self.note("refused set-address: not in alt %d" % self.alt)
                self.pending = "target"
            else:
                self.pointer = addr
                self.pending = "cmd"
            return True
        if op == 0x41 and addr is not None:
            sec = sector_at(self.regions[self.alt], addr)
            self.note("erase alt=%d 0x%08X" % (self.alt, addr))
            if sec:
                for a in range(sec[0], sec[0] + sec[1]):
                    self.mem[self.alt][a] = 0xFF
            self.pending = "erase"
            return True
        self.note("refused command %s" % data[:8].hex())
        return False

    def dnload(self, block, data):
        if not data:
            self.pending = "zlp"
            if self.dfuse:
                self.note("leave alt=%d 0x%08X" % (self.alt, self.pointer))
            self.state = MAN_SYNC
            return True
        if self.dfuse and block == 0:
            ok = self.command(data)
        elif self.dfuse and block == 1:
            ok = False
        else:
            if not self.dfuse and block == 0:
                self.note("plain-block0 len=%d" % len(data))
            self.write(self.data_address(block), data)
            self.pending = "data"
            ok = True
        if ok:
            self.state = DN_SYNC
        return ok

    def upload(self, block, length):
        if self.dfuse and block == 0:
            self.state = UP_IDLE
            return bytes([0x00, 0x21, 0x41])
        if self.dfuse and block == 1:
            return None
        self.state = UP_IDLE
        return self.read(self.data_address(block), length)

    def after_dnload(self):
        faults = self.opt.fault
        if self.pending == "target":
            self.state, self.status = DFU_ERROR, ERR_TARGET
        elif self.pending == "erase" and "huge-poll" in faults:
            self.state, self.poll = DN_BUSY, 0xFFFFFF
        elif self.pending == "erase" and "erase-status" in faults:
            self.state, self.status = DN_IDLE, ERR_ERASE
        elif self.pending == "data" and "prog-status" in faults:
            self.state, self.status = DN_IDLE, ERR_PROG
        else:
            self.state = DN_IDLE

    def after_manifest_sync(self):
        self.state, self.poll = MAN, self.opt.poll
        if self.dfuse and not {"stuck-manifest", "leave-stays"} & set(self.opt.fault):
            self.leaving = True  # answer this status, then go

    def getstatus(self):
        self.poll = 0
        if self.state == DN_SYNC:
            self.after_dnload()
        elif self.state == DN_BUSY and "huge-poll" in self.opt.fault:
            self.poll = 0xFFFFFF
        elif self.state == DN_BUSY:
            self.state = DN_IDLE
        elif self.state == MAN_SYNC:
            self.after_manifest_sync()
        elif self.state == MAN and "stuck-manifest" in self.opt.fault:
            self.poll = self.opt.poll
        elif self.state == MAN:
            self.state = DFU_IDLE
        p = self.poll
        return bytes([self.status, p & 0xFF, (p >> 8) & 0xFF, (p >> 16) & 0xFF,
                      self.state, 0])

    def class_request(self, req, value, length, data):
        """IN data, b"" for an OUT that was taken, None to stall."""
        if req == 1:
            return b"" if self.dnload(value, data) else None
        if req == 2:
            return self.upload(value, length)
        if req == 3:
            return self.getstatus()
        if req in (4, 6):  # CLRSTATUS, ABORT
            self.state, self.status, self.pending = DFU_IDLE, 0, None
            return b""
        if req == 5:
            return bytes([self.state])
        return None

    # ---- descriptors
    def strings(self):
        s = [b"\x04\x03\x09\x04", sdesc("udfu tests"), sdesc(self.opt.product),
             sdesc("FAKE0001")]
        return s + [sdesc(n) for n in self.opt.alt]

    def config(self):
        body = b""
        for i in range(len(self.opt.alt)):
            body += struct.pack("<9B", 9, 4, 0, i, 0, 0xFE, 1, 2, 4 + i)
        bcd = 0x011A if self.dfuse else 0x0110
        body += struct.pack("<BBBHHH", 9, 0x21, 0x0F, 1000, self.opt.xfer, bcd)
        return struct.pack("<BBHBBBBB", 9, 2, 9 + len(body), 1, 1, 0, 0x80, 50) + body

    def descriptor(self, value, length):
        kind, index = value >> 8, value & 0xFF
        if kind == 1:
            d = struct.pack("<BBHBBBBHHHBBBB", 18, 1, 0x0200, 0, 0, 0, 64, 0x1209,
                            0xDF11, 0x0100, 1, 2, 3, 1)
        elif kind == 2:
            d = self.config()
        elif kind == 3 and index < len(self.strings()):
            d = self.strings()[index]
        else:
            return None
        return d[:length]

    def control(self, setup, data):
        rt, req, value, index, length = struct.unpack("<BBHHH", setup)
        if rt == 0x80 and req == 6:
            return self.descriptor(value, length)
        if rt in (0x21, 0xA1):
            out = self.class_request(req, value, length, data)
            self.note("req %d value=%d len=%d alt=%d -> %s" % (
                req, value, length, self.alt, "STALL" if out is None else out[:6].hex()))
            return out
        if rt == 0x01 and req == 11:
            self.alt = value
        return b""


def sdesc(text):
    b = text.encode("utf-16-le")
    return bytes([2 + len(b), 3]) + b


# ---- USB/IP -------------------------------------------------------------------------------

def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def device_record():
    return (b"/sys/devices/udfu-fake".ljust(256, b"\0") + b"1-1".ljust(32, b"\0") +
            struct.pack(">III", 1, 2, 2) + struct.pack(">HHH", 0x1209, 0xDF11, 0x0100) +
            bytes([0, 0, 0, 1, 1, 1]))


def serve_urbs(conn, dev):
    while True:
        head = recv_exact(conn, 48)
        cmd, seq = struct.unpack(">II", head[:8])
        if cmd == 2:  # CMD_UNLINK: nothing is ever pending here
            conn.sendall(struct.pack(">IIIII", 4, seq, 0, 0, 0) + bytes(28))
            continue
        direction, length = struct.unpack(">I", head[12:16])[0], \
            struct.unpack(">I", head[24:28])[0]
        data = recv_exact(conn, length) if direction == 0 and length else b""
        out = dev.control(head[40:48], data)
        status = 0 if out is not None else -32  # -EPIPE: a stall
        payload = out if out is not None and direction == 1 else b""
        actual = len(payload) if direction == 1 else (length if out is not None else 0)
        conn.sendall(struct.pack(">IIIIIiIII", 3, seq, 0, 0, 0, status, actual, 0, 0) +
                     bytes(12) + payload)
        if dev.leaving:
            dev.leaving = False
            dev.state = DFU_IDLE
            return  # the device resets: the connection closes


def serve(conn, dev):
    head = recv_exact(conn, 8)
    code = struct.unpack(">H", head[2:4])[0]
    if code == 0x8005:  # OP_REQ_DEVLIST
        conn.sendall(struct.pack(">HHII", 0x0111, 5, 0, 1) + device_record() +
                     bytes([0xFE, 1, 2, 0]))
    elif code == 0x8003:  # OP_REQ_IMPORT
        recv_exact(conn, 32)
        conn.sendall(struct.pack(">HHI", 0x0111, 3, 0) + device_record())
        serve_urbs(conn, dev)


def make_dfuse(out, specs):
    targets = b""
    for spec in specs:
        alt, addr, path = spec.split(":", 2)
        data = open(path, "rb").read()
        elem = struct.pack("<II", int(addr, 0), len(data)) + data
        targets += (b"Target" + struct.pack("<BI", int(alt), 1) + b"t".ljust(255, b"\0") +
                    struct.pack("<II", len(elem), 1) + elem)
    body = b"DfuSe" + struct.pack("<BIB", 1, 11 + len(targets), len(specs)) + targets
    body += struct.pack("<HHHH", 0xFFFF, 0xFFFF, 0xFFFF, 0x011A) + b"UFD" + bytes([16])
    body += struct.pack("<I", ~zlib.crc32(body) & 0xFFFFFFFF)
    open(out, "wb").write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("--alt", action="append")
    ap.add_argument("--product", default="fake device")
    ap.add_argument("--xfer", type=int, default=1024)
    ap.add_argument("--fill", type=lambda s: int(s, 0), default=0xFF)
    ap.add_argument("--poll", type=lambda s: int(s, 0), default=0)
    ap.add_argument("--fault", action="append", default=[])
    ap.add_argument("--log", default="/dev/null")
    ap.add_argument("--make-dfuse", nargs="+", metavar="ARG")
    opt = ap.parse_args()
    if opt.make_dfuse:
        make_dfuse(opt.make_dfuse[0], opt.make_dfuse[1:])
        return
    if not opt.alt:
        opt.alt = ["Firmware"] if opt.plain else ["@Internal Flash /0x08000000/04*016Kg"]
    log = open(opt.log, "a", buffering=1)
    dev = Device(opt, log)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", opt.port))
    srv.listen(4)
    print("PORT", srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            serve(conn, dev)
        except (EOFError, ConnectionError):
            pass
        conn.close()


if __name__ == "__main__":
    main()
