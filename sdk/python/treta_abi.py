"""TRETA's hardware/software interface for Python firmware, version 0.1.

GENERATED from the treta-abi crate by `treta-vp export-abi`; do not edit.
Register offsets are from the device's register window; descriptors are 64
little-endian bytes (`pack`, `unpack`).
"""

import struct

BLOCK_BYTES = 0x1000
ID_VALUE = 0x54524554
VERSION_VALUE = 0x00000001
ERR_FIELD_NONE = 0xFFFFFFFF

# Registers: offsets, and bit masks of their fields.
ID = 0x000  # device identity: "TRET" in ASCII (RO)
VERSION = 0x004  # interface version: major << 16 | minor (RO)
CTRL = 0x008  # control (RW)
CTRL_ENABLE = 0x1  # fetch descriptors
CTRL_RESET = 0x2  # self-clearing: clear errors, queues and counters
STATUS = 0x00C  # status (RO)
STATUS_BUSY = 0x1  # a queue has work
STATUS_ERROR = 0x2  # a queue stopped on an error
ERR_CODE = 0x010  # device error code, 0 if none (RO)
ERR_QUEUE = 0x014  # queue of the faulty descriptor (RO)
ERR_INDEX = 0x018  # index of the faulty descriptor in its queue's ring (RO)
ERR_ADDR_LO = 0x01C  # the faulty address (DRAM or SRAM), low half (RO)
ERR_ADDR_HI = 0x020  # the faulty address, high half (RO)
ERR_FIELD = 0x024  # byte offset in the descriptor of the field at fault; 0xFFFFFFFF when none (RO)
IRQ_STATUS = 0x030  # pending interrupts (write 1 to clear) (RW1C)
IRQ_STATUS_COMPLETION = 0x1  # an IRQ descriptor ran
IRQ_STATUS_ERROR = 0x2  # a queue stopped on an error
IRQ_MASK = 0x034  # 1 = interrupt enabled, per IRQ_STATUS bit (RW)
IRQ_MASK_COMPLETION = 0x1  # an IRQ descriptor ran
IRQ_MASK_ERROR = 0x2  # a queue stopped on an error
IRQ_CODE = 0x038  # code of the last IRQ descriptor (RO)

# Command queues.
QUEUES = 4
QUEUE_BASE = 0x100
QUEUE_STRIDE = 0x20
QUEUE_MAX_SIZE = 65536
QUEUE_BASE_LO = 0x00  # ring address in DRAM, low half (64-byte aligned) (RW)
QUEUE_BASE_HI = 0x04  # ring address, high half (RW)
QUEUE_SIZE = 0x08  # ring size in descriptors, 1 to 65536 (RW)
QUEUE_HEAD = 0x0C  # index of the next descriptor the device will fetch (RO)
QUEUE_TAIL = 0x10  # index one past the last descriptor firmware has written (RW)
QUEUE_DOORBELL = 0x14  # any write starts fetching up to TAIL (WO)
QUEUE_COMPLETED = 0x18  # descriptors completed since reset (wraps at 2^32) (RO)


def queue_reg(q, reg):
    """Offset of queue register `reg` (a QUEUE_*) of queue `q`."""
    return QUEUE_BASE + QUEUE_STRIDE * q + reg


# Performance counters: 64-bit, LO then HI.
PERF_CYCLES_LO = 0x200  # device clock cycles since reset
PERF_CYCLES_HI = 0x204
PERF_GEMM_BUSY_LO = 0x208  # cycles the GEMM core was busy
PERF_GEMM_BUSY_HI = 0x20C
PERF_DMA_BUSY_LO = 0x210  # cycles the DMA engine was busy
PERF_DMA_BUSY_HI = 0x214
PERF_SFU_BUSY_LO = 0x218  # cycles the special-function unit was busy
PERF_SFU_BUSY_HI = 0x21C
PERF_DRAM_READ_BYTES_LO = 0x220  # bytes read from DRAM
PERF_DRAM_READ_BYTES_HI = 0x224
PERF_DRAM_WRITE_BYTES_LO = 0x228  # bytes written to DRAM
PERF_DRAM_WRITE_BYTES_HI = 0x22C
PERF_DESCRIPTORS_LO = 0x230  # descriptors completed, all queues
PERF_DESCRIPTORS_HI = 0x234

# Values of ERR_CODE and what they mean.
ERR_NONE = 0
ERR_BAD_OPCODE = 1
ERR_BAD_FIELD = 2
ERR_DRAM_OUT_OF_RANGE = 3
ERR_SRAM_OVERFLOW = 4
ERR_MISALIGNED = 5
ERR_BAD_QUEUE_CONFIG = 6
ERR_DEADLOCK = 7
DEVICE_ERRORS = {
    0: "no error",
    1: "unknown opcode",
    2: "invalid descriptor field",
    3: "DRAM address out of range",
    4: "SRAM access out of range (overflow)",
    5: "misaligned address",
    6: "bad queue configuration",
    7: "semaphore deadlock",
}

# Number formats: code, and bytes per element in FORMAT_BYTES.
FMT_FP32 = 0
FMT_BF16 = 1
FMT_FP16 = 2
FMT_FP8_E4M3 = 3
FMT_FP8_E5M2 = 4
FMT_INT8 = 5
FORMAT_BYTES = {0: 4, 1: 2, 2: 2, 3: 1, 4: 1, 5: 1}

# Element-wise operations of VECTOR.
VOP_ADD = 0
VOP_SUB = 1
VOP_MUL = 2
VOP_SCALE = 3
VOP_ADD_BIAS = 4
VOP_SGD_UPDATE = 5
VOP_COPY = 6
VOP_COLUMN_SUM = 7
VOP_MSE_LOSS = 8
VOP_SGD_MOMENTUM = 9
VOP_ADAM = 10
VOP_LOGSUMEXP = 11
VOP_CROSS_ENTROPY_BWD = 12

# Descriptors.
DESC_BYTES = 64
SEMAPHORES = 16
DESC_ID_OFFSET = 4
OP_NOP = 0x00
OP_DMA_LOAD = 0x01
OP_DMA_STORE = 0x02
OP_DMA_COPY = 0x03
OP_GEMM = 0x10
OP_SOFTMAX_FWD = 0x20
OP_SOFTMAX_BWD = 0x21
OP_LAYERNORM_FWD = 0x22
OP_LAYERNORM_BWD = 0x23
OP_GELU_FWD = 0x24
OP_GELU_BWD = 0x25
OP_VECTOR = 0x26
OP_SOFTMAX_CAUSAL_FWD = 0x27
OP_SEM_SIGNAL = 0x30
OP_SEM_WAIT = 0x31
OP_FENCE = 0x32
OP_IRQ = 0x33
FLAG_TRANSPOSE = 0x01
FLAG_TRANSPOSE_A = 0x01
FLAG_TRANSPOSE_B = 0x02
FLAG_ACCUMULATE = 0x04

# Each layout's fields after the header: (name, byte offset, struct code).
LAYOUTS = {
    "dma": [  # DMA_LOAD (DRAM to SRAM) and DMA_STORE (SRAM to DRAM)
        ("dram_addr", 8, "Q"),
        ("sram_addr", 16, "I"),
        ("rows", 20, "I"),
        ("row_bytes", 24, "I"),
        ("sram_stride", 28, "I"),
        ("dram_stride", 32, "Q"),
        ("planes", 40, "I"),
        ("sram_plane_stride", 44, "I"),
        ("dram_plane_stride", 48, "Q"),
        ("src_format", 56, "B"),
        ("dst_format", 57, "B"),
    ],
    "dma_copy": [  # DMA_COPY (SRAM to SRAM; the source is addressed in SRAM)
        ("src_sram_addr", 8, "Q"),
        ("sram_addr", 16, "I"),
        ("rows", 20, "I"),
        ("row_bytes", 24, "I"),
        ("sram_stride", 28, "I"),
        ("src_stride", 32, "Q"),
        ("planes", 40, "I"),
        ("sram_plane_stride", 44, "I"),
        ("src_plane_stride", 48, "Q"),
        ("src_format", 56, "B"),
        ("dst_format", 57, "B"),
    ],
    "gemm": [  # GEMM: C = op(A) op(B) (+ C)
        ("m", 8, "I"),
        ("k", 12, "I"),
        ("n", 16, "I"),
        ("a_addr", 20, "I"),
        ("b_addr", 24, "I"),
        ("c_addr", 28, "I"),
        ("lda", 32, "I"),
        ("ldb", 36, "I"),
        ("ldc", 40, "I"),
        ("a_format", 44, "B"),
        ("b_format", 45, "B"),
        ("c_format", 46, "B"),
    ],
    "sfu": [  # SOFTMAX_FWD ... GELU_BWD, VECTOR and SOFTMAX_CAUSAL_FWD (vector_op is read by VECTOR only)
        ("rows", 8, "I"),
        ("cols", 12, "I"),
        ("src_addr", 16, "I"),
        ("dst_addr", 20, "I"),
        ("aux0_addr", 24, "I"),
        ("aux1_addr", 28, "I"),
        ("aux2_addr", 32, "I"),
        ("vector_op", 36, "B"),
        ("format", 37, "B"),
        ("scalar0", 40, "f"),
        ("aux3_addr", 44, "I"),
        ("scalar1", 48, "f"),
        ("scalar2", 52, "f"),
        ("scalar3", 56, "f"),
    ],
    "sem": [  # SEM_SIGNAL (count unused) and SEM_WAIT
        ("sem", 8, "I"),
        ("count", 12, "I"),
    ],
    "irq": [  # IRQ: raise the completion interrupt
        ("code", 8, "I"),
    ],
}


def pack(layout, opcode, flags=0, id=0, **fields):
    """The 64 bytes of a descriptor of `layout` (a LAYOUTS key; None for NOP and
    FENCE). Fields not given are 0; an unknown field name is an error."""
    table = LAYOUTS[layout] if layout is not None else []
    unknown = set(fields) - {name for name, _, _ in table}
    if unknown:
        raise ValueError(f"{layout}: no field {', '.join(sorted(unknown))}")
    d = bytearray(DESC_BYTES)
    struct.pack_into("<BBxxI", d, 0, opcode, flags, id)
    for name, offset, code in table:
        struct.pack_into("<" + code, d, offset, fields.get(name, 0))
    return bytes(d)


def unpack(layout, d):
    """A descriptor's header and fields: a dict with opcode, flags, id and the
    fields of `layout`."""
    if len(d) != DESC_BYTES:
        raise ValueError(f"a descriptor is {DESC_BYTES} bytes, not {len(d)}")
    opcode, flags, id = struct.unpack_from("<BBxxI", d, 0)
    out = {"opcode": opcode, "flags": flags, "id": id}
    for name, offset, code in LAYOUTS[layout] if layout is not None else []:
        out[name] = struct.unpack_from("<" + code, d, offset)[0]
    return out
