"""Python firmware for TRETA, run against `treta-vp serve` in another process.

Brings the device up, then sends one command stream through queue 0's ring: the
three GEMMs of scenarios/remote_gemms.yaml (DMA_LOAD A and B as fp32 converted to
fp8 E4M3 on the way into SRAM, GEMM with fp32 accumulation, DMA_STORE C), a
row-wise SOFTMAX_FWD of the last C, its DMA_STORE, and an IRQ. Reads every tensor
back and checks it against a reference computed here: C exactly (small integers),
the softmax within 1e-5 relative.

    treta-vp serve scenarios/remote_gemms.yaml --listen tcp:127.0.0.1:7000 --report r.json &
    python3 sdk/python/examples/gemm_ring.py tcp:127.0.0.1:7000

Exit status 0 if every number matched.
"""

import math
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import treta_abi as abi  # noqa: E402
from treta_remote import Client  # noqa: E402

RING_ADDR, RING_SIZE = 0x0, 16
DRAM_A, DRAM_B, DRAM_C, DRAM_P = 0x10000, 0x20000, 0x30000, 0x40000
SRAM_A, SRAM_B, SRAM_C, SRAM_P = 0x00000, 0x10000, 0x20000, 0x30000
GEMMS = [(64, 96, 80), (128, 64, 32), (32, 128, 64)]  # scenarios/remote_gemms.yaml
SOFTMAX_SCALE = 0.125


def a_value(g, r, c):
    return float((r * 7 + c * 3 + g) % 9 - 4)


def b_value(g, r, c):
    return float((r * 5 + c * 11 + 2 * g) % 7 - 3)


def floats(values):
    return struct.pack(f"<{len(values)}f", *values)


def unfloats(data):
    return struct.unpack(f"<{len(data) // 4}f", data)


class Ring:
    """Queue 0's ring: descriptors written after TAIL, one slot always empty."""

    def __init__(self, vp):
        self.vp, self.tail = vp, 0
        vp.reg_write(abi.CTRL, abi.CTRL_RESET)
        vp.reg_write(abi.queue_reg(0, abi.QUEUE_BASE_LO), RING_ADDR & 0xFFFFFFFF)
        vp.reg_write(abi.queue_reg(0, abi.QUEUE_BASE_HI), RING_ADDR >> 32)
        vp.reg_write(abi.queue_reg(0, abi.QUEUE_SIZE), RING_SIZE)
        vp.reg_write(abi.queue_reg(0, abi.QUEUE_TAIL), 0)
        vp.reg_write(abi.IRQ_MASK, abi.IRQ_MASK_COMPLETION | abi.IRQ_MASK_ERROR)
        vp.reg_write(abi.CTRL, abi.CTRL_ENABLE)

    def submit(self, descs):
        head = self.vp.reg_read(abi.queue_reg(0, abi.QUEUE_HEAD))
        free = RING_SIZE - 1 - (self.tail - head) % RING_SIZE
        if len(descs) > free:
            raise RuntimeError(f"{len(descs)} descriptors, {free} free slots")
        for d in descs:
            self.vp.write_mem(self.vp.dram(RING_ADDR + self.tail * abi.DESC_BYTES), d)
            self.tail = (self.tail + 1) % RING_SIZE
        self.vp.reg_write(abi.queue_reg(0, abi.QUEUE_TAIL), self.tail)
        self.vp.reg_write(abi.queue_reg(0, abi.QUEUE_DOORBELL), 1)


def dma(opcode, id, dram_addr, sram_addr, rows, cols, src, dst):
    return abi.pack("dma", opcode, id=id, dram_addr=dram_addr, sram_addr=sram_addr, rows=rows,
                    row_bytes=cols * abi.FORMAT_BYTES[src], planes=1, src_format=src,
                    dst_format=dst)


def main(endpoint):
    with Client.connect(endpoint) as vp:
        if vp.reg_read(abi.ID) != abi.ID_VALUE:
            sys.exit("not a TRETA device")
        ring = Ring(vp)
        stream, expected = [], []
        for g, (m, k, n) in enumerate(GEMMS):
            # Each GEMM's operands get their own DRAM pages: the stream is sent whole.
            base = g * 0x40000
            a = [a_value(g, r, c) for r in range(m) for c in range(k)]
            b = [b_value(g, r, c) for r in range(k) for c in range(n)]
            vp.write_mem(vp.dram(base + DRAM_A), floats(a))
            vp.write_mem(vp.dram(base + DRAM_B), floats(b))
            fp32, fp8 = abi.FMT_FP32, abi.FMT_FP8_E4M3
            stream += [
                dma(abi.OP_DMA_LOAD, g << 16 | 0, base + DRAM_A, SRAM_A, m, k, fp32, fp8),
                dma(abi.OP_DMA_LOAD, g << 16 | 1, base + DRAM_B, SRAM_B, k, n, fp32, fp8),
                abi.pack("gemm", abi.OP_GEMM, id=g << 16 | 2, m=m, k=k, n=n, a_addr=SRAM_A,
                         b_addr=SRAM_B, c_addr=SRAM_C, a_format=fp8, b_format=fp8,
                         c_format=fp32),
                dma(abi.OP_DMA_STORE, g << 16 | 3, base + DRAM_C, SRAM_C, m, n, fp32, fp32),
            ]
            c = [sum(a[r * k + i] * b[i * n + j] for i in range(k))
                 for r in range(m) for j in range(n)]
            expected.append((f"C{g}", base + DRAM_C, c))
        m, _, n = GEMMS[-1]
        stream += [
            abi.pack("sfu", abi.OP_SOFTMAX_FWD, id=0xF0000, rows=m, cols=n, src_addr=SRAM_C,
                     dst_addr=SRAM_P, format=abi.FMT_FP32, scalar0=SOFTMAX_SCALE),
            dma(abi.OP_DMA_STORE, 0xF0001, DRAM_P, SRAM_P, m, n, abi.FMT_FP32, abi.FMT_FP32),
            abi.pack("irq", abi.OP_IRQ, id=0xF0002, code=7),
        ]
        ring.submit(stream)
        at_ps = vp.wait_irq()
        status = vp.reg_read(abi.IRQ_STATUS)
        vp.reg_write(abi.IRQ_STATUS, status)
        if status & abi.IRQ_STATUS_ERROR:
            code = vp.reg_read(abi.ERR_CODE)
            sys.exit(f"device error {code}: {abi.DEVICE_ERRORS.get(code)} at descriptor "
                     f"{vp.reg_read(abi.ERR_INDEX)}, field byte {vp.reg_read(abi.ERR_FIELD)}")
        print(f"{len(stream)} descriptors done at {at_ps} ps, IRQ code {vp.reg_read(abi.IRQ_CODE)}")

        wrong = 0
        last_c = None
        for name, addr, want in expected:
            got = unfloats(vp.read_mem(vp.dram(addr), 4 * len(want)))
            bad = sum(1 for x, y in zip(got, want) if x != y)
            print(f"{name}: {bad} of {len(want)} elements wrong")
            wrong += bad
            last_c = want
        probs = unfloats(vp.read_mem(vp.dram(DRAM_P), 4 * m * n))
        worst = 0.0
        for r in range(m):
            row = [SOFTMAX_SCALE * x for x in last_c[r * n:(r + 1) * n]]
            top = max(row)
            e = [math.exp(x - top) for x in row]
            total = sum(e)
            for j in range(n):
                want = e[j] / total
                worst = max(worst, abs(probs[r * n + j] - want) / max(want, 1e-30))
        print(f"softmax: worst relative error {worst:.2e}")
        end_ps, report = vp.finish()
        print(f"finished at {end_ps} ps: {report['engines']['cp']['commands']} commands, "
              f"{report['achieved_tops']:.3f} TOPS")
    if wrong or worst > 1e-5:
        sys.exit("gemm_ring.py: FAILED")
    print("gemm_ring.py: all tensors correct")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: gemm_ring.py unix:PATH|tcp:HOST:PORT")
    main(sys.argv[1])
