"""A Python client of the remote firmware protocol (docs/remote.md), standard library only.

Drives `treta-vp serve` from another process: registers, DRAM, interrupts and
simulated time, in lockstep (simulated time moves only inside the waits).

    from treta_remote import Client
    with Client.connect("unix:/tmp/vp.sock") as vp:
        assert vp.reg_read(treta_abi.ID) == treta_abi.ID_VALUE
        ...
        end_ps, report = vp.finish()

Every failed request raises RemoteError (the server's status and message, which
names the operation and the address); a broken connection raises ConnectionError.
"""

import json
import socket
import struct
import time

VERSION = 1
MAGIC = b"TRVP"
#: Largest payload of one frame [bytes]; bulk transfers are split into such pieces.
MAX_PAYLOAD = 16 * 1024 * 1024

OP_HELLO = 0x01
OP_READ32 = 0x10
OP_WRITE32 = 0x11
OP_READ64 = 0x12
OP_WRITE64 = 0x13
OP_READ_MEM = 0x20
OP_WRITE_MEM = 0x21
OP_WAIT_IRQ = 0x30
OP_WAIT_IRQ_FOR = 0x31
OP_ADVANCE = 0x32
OP_NOW = 0x33
OP_FINISH = 0x40

OP_NAMES = {
    OP_HELLO: "HELLO", OP_READ32: "READ32", OP_WRITE32: "WRITE32", OP_READ64: "READ64",
    OP_WRITE64: "WRITE64", OP_READ_MEM: "READ_MEM", OP_WRITE_MEM: "WRITE_MEM",
    OP_WAIT_IRQ: "WAIT_IRQ", OP_WAIT_IRQ_FOR: "WAIT_IRQ_FOR", OP_ADVANCE: "ADVANCE",
    OP_NOW: "NOW", OP_FINISH: "FINISH",
}

#: Status codes of error answers (docs/remote.md, "Error codes").
STATUS_NAMES = {
    1: "BAD_VERSION", 2: "UNKNOWN_OP", 3: "OVERSIZED", 4: "MALFORMED", 5: "NOT_READY",
    6: "OUT_OF_MAP", 7: "BUS_ERROR", 8: "BUSY", 9: "TIMEOUT", 10: "STALLED",
}

_HEADER = struct.Struct("<IBBHI")  # len, kind, op, status, id


class RemoteError(Exception):
    """The server answered a request with an error status."""

    def __init__(self, op, status, message):
        self.op = op
        self.status = status
        self.status_name = STATUS_NAMES.get(status, str(status))
        self.message = message
        super().__init__(f"{OP_NAMES.get(op, hex(op))}: {message} ({self.status_name})")


class DeviceMap:
    """Where the register window and DRAM are on the bus (HELLO's answer)."""

    def __init__(self, version, capabilities, regs_base, regs_size, dram_base, dram_size):
        self.version = version
        self.capabilities = capabilities
        self.regs_base = regs_base
        self.regs_size = regs_size
        self.dram_base = dram_base
        self.dram_size = dram_size

    def __repr__(self):
        return (f"DeviceMap(regs=0x{self.regs_base:x}+0x{self.regs_size:x}, "
                f"dram=0x{self.dram_base:x}+0x{self.dram_size:x})")


def _open(endpoint):
    if endpoint.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(endpoint[5:])
        except OSError:
            s.close()
            raise
        return s
    if endpoint.startswith("tcp:"):
        host, sep, port = endpoint[4:].rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"{endpoint}: expected tcp:HOST:PORT")
        s = socket.create_connection((host.strip("[]"), int(port)))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s
    raise ValueError(f"{endpoint}: an endpoint is unix:PATH or tcp:HOST:PORT")


class Client:
    """One connection to `treta-vp serve`; blocking, one request at a time."""

    def __init__(self, sock):
        self._sock = sock
        self._next_id = 1
        self.map = None

    @classmethod
    def connect(cls, endpoint, patience=10.0):
        """Connects to "unix:PATH" or "tcp:HOST:PORT" and says HELLO, retrying for up
        to `patience` seconds while nobody listens yet."""
        until = time.monotonic() + patience
        while True:
            try:
                sock = _open(endpoint)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() >= until:
                    raise
                time.sleep(0.02)
        client = cls(sock)
        try:
            client._hello()
        except BaseException:
            client.close()
            raise
        return client

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Closes the connection (the server then writes what it has and exits 2,
        unless FINISH came first)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # -- framing ---------------------------------------------------------------

    def _recv_exactly(self, n):
        chunks, left = [], n
        while left > 0:
            chunk = self._sock.recv(min(left, 1 << 20))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def call(self, op, payload=b""):
        """Sends one request and returns its answer's payload; raises RemoteError
        for an error answer."""
        if self._sock is None:
            raise ConnectionError("the connection is closed")
        if len(payload) > MAX_PAYLOAD:
            raise ValueError(f"payload of {len(payload)} bytes is over 16 MiB")
        rid = self._next_id
        self._next_id = (self._next_id + 1) & 0xFFFFFFFF
        self._sock.sendall(_HEADER.pack(8 + len(payload), 0, op, 0, rid) + payload)
        length, kind, rop, status, answered = _HEADER.unpack(self._recv_exactly(_HEADER.size))
        if length < 8 or length - 8 > MAX_PAYLOAD or kind != 1:
            raise ConnectionError(f"malformed response frame (len {length}, kind {kind})")
        body = self._recv_exactly(length - 8)
        if status != 0:
            raise RemoteError(op, status, body.decode("utf-8", "replace"))
        if answered != rid or rop != op:
            raise ConnectionError(f"answer to another request (op {rop}, id {answered})")
        return body

    def _expect(self, op, payload, size):
        body = self.call(op, payload)
        if len(body) != size:
            raise ConnectionError(f"{OP_NAMES[op]}: answer of {len(body)} bytes, expected {size}")
        return body

    def _hello(self):
        body = self._expect(OP_HELLO, MAGIC + struct.pack("<HI", VERSION, 0), 38)
        self.map = DeviceMap(*struct.unpack("<HIQQQQ", body))

    # -- operations ------------------------------------------------------------

    def read32(self, addr):
        """A 32-bit read at bus address `addr`."""
        return struct.unpack("<I", self._expect(OP_READ32, struct.pack("<Q", addr), 4))[0]

    def write32(self, addr, value):
        """A 32-bit write at bus address `addr`."""
        self._expect(OP_WRITE32, struct.pack("<QI", addr, value), 0)

    def read64(self, addr):
        """An 8-byte DRAM read at bus address `addr`, one transaction."""
        return struct.unpack("<Q", self._expect(OP_READ64, struct.pack("<Q", addr), 8))[0]

    def write64(self, addr, value):
        """An 8-byte DRAM write at bus address `addr`, one transaction."""
        self._expect(OP_WRITE64, struct.pack("<QQ", addr, value), 0)

    def reg_read(self, offset):
        """Reads the register at `offset` (a treta_abi constant)."""
        return self.read32(self.map.regs_base + offset)

    def reg_write(self, offset, value):
        """Writes the register at `offset`."""
        self.write32(self.map.regs_base + offset, value)

    def read_mem(self, addr, length):
        """`length` bytes of DRAM at bus address `addr` (debug port: no simulated time)."""
        out = bytearray()
        while True:
            n = min(length - len(out), MAX_PAYLOAD)
            out += self._expect(OP_READ_MEM, struct.pack("<QI", addr + len(out), n), n)
            if len(out) == length:
                return bytes(out)

    def write_mem(self, addr, data):
        """Copies `data` into DRAM at bus address `addr` (debug port: no simulated time)."""
        data = memoryview(bytes(data))
        step = MAX_PAYLOAD - 8
        done = 0
        while True:
            piece = data[done:done + step]
            self._expect(OP_WRITE_MEM, struct.pack("<Q", addr + done) + piece.tobytes(), 0)
            done += len(piece)
            if done == len(data):
                return

    def dram(self, device_addr):
        """The bus address of device DRAM address `device_addr` (what descriptors use)."""
        return self.map.dram_base + device_addr

    def wait_irq(self):
        """Advances simulated time until the interrupt line is high; returns then [ps]."""
        return struct.unpack("<Q", self._expect(OP_WAIT_IRQ, b"", 8))[0]

    def wait_irq_for(self, timeout_ns):
        """As wait_irq, giving up after `timeout_ns`: (raised, time [ps])."""
        raised, at = struct.unpack("<BQ", self._expect(OP_WAIT_IRQ_FOR,
                                                       struct.pack("<Q", timeout_ns), 9))
        return bool(raised), at

    def advance(self, ns):
        """Advances simulated time by `ns` nanoseconds; returns the time after [ps]."""
        return struct.unpack("<Q", self._expect(OP_ADVANCE, struct.pack("<Q", ns), 8))[0]

    def now(self):
        """The simulated time [ps]."""
        return struct.unpack("<Q", self._expect(OP_NOW, b"", 8))[0]

    def finish(self):
        """Ends the run: (simulated time [ps], the report as a dict). The server
        writes its report and trace and closes the connection."""
        body = self.call(OP_FINISH)
        if len(body) < 8:
            raise ConnectionError(f"FINISH: answer of {len(body)} bytes")
        self.close()
        return struct.unpack("<Q", body[:8])[0], json.loads(body[8:].decode("utf-8"))
