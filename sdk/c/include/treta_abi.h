/*
 * treta_abi.h: TRETA's hardware/software interface for C firmware,
 * version 0.1 (the value of the VERSION register).
 *
 * GENERATED from the treta-abi crate by `treta-vp export-abi`; do not edit.
 * Registers are 32-bit, at byte offsets from the device's register window;
 * descriptors are 64 bytes, little-endian, written into a queue's ring in DRAM.
 */
#ifndef TRETA_ABI_H
#define TRETA_ABI_H

#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Registers ---------------------------------------------------- */

/** Size of the register block [bytes]. */
#define TRETA_BLOCK_BYTES 0x1000U
/** The value of ID: "TRET" in ASCII. */
#define TRETA_ID_VALUE 0x54524554UL
/** The value of VERSION: major << 16 | minor. */
#define TRETA_VERSION_VALUE 0x00000001UL
/** ERR_FIELD when the error names no single field. */
#define TRETA_ERR_FIELD_NONE 0xFFFFFFFFUL

/** ID (RO): device identity: "TRET" in ASCII. */
#define TRETA_ID_OFFSET 0x000U

/** VERSION (RO): interface version: major << 16 | minor. */
#define TRETA_VERSION_OFFSET 0x004U

/** CTRL (RW): control. */
#define TRETA_CTRL_OFFSET 0x008U
#define TRETA_CTRL_ENABLE_Pos 0U
#define TRETA_CTRL_ENABLE_Msk (0x1UL << TRETA_CTRL_ENABLE_Pos) /**< fetch descriptors */
#define TRETA_CTRL_RESET_Pos 1U
#define TRETA_CTRL_RESET_Msk (0x1UL << TRETA_CTRL_RESET_Pos) /**< self-clearing: clear errors, queues and counters */

/** STATUS (RO): status. */
#define TRETA_STATUS_OFFSET 0x00CU
#define TRETA_STATUS_BUSY_Pos 0U
#define TRETA_STATUS_BUSY_Msk (0x1UL << TRETA_STATUS_BUSY_Pos) /**< a queue has work */
#define TRETA_STATUS_ERROR_Pos 1U
#define TRETA_STATUS_ERROR_Msk (0x1UL << TRETA_STATUS_ERROR_Pos) /**< a queue stopped on an error */

/** ERR_CODE (RO): device error code, 0 if none. */
#define TRETA_ERR_CODE_OFFSET 0x010U

/** ERR_QUEUE (RO): queue of the faulty descriptor. */
#define TRETA_ERR_QUEUE_OFFSET 0x014U

/** ERR_INDEX (RO): index of the faulty descriptor in its queue's ring. */
#define TRETA_ERR_INDEX_OFFSET 0x018U

/** ERR_ADDR_LO (RO): the faulty address (DRAM or SRAM), low half. */
#define TRETA_ERR_ADDR_LO_OFFSET 0x01CU

/** ERR_ADDR_HI (RO): the faulty address, high half. */
#define TRETA_ERR_ADDR_HI_OFFSET 0x020U

/** ERR_FIELD (RO): byte offset in the descriptor of the field at fault; 0xFFFFFFFF when none. */
#define TRETA_ERR_FIELD_OFFSET 0x024U

/** IRQ_STATUS (RW1C): pending interrupts (write 1 to clear). */
#define TRETA_IRQ_STATUS_OFFSET 0x030U
#define TRETA_IRQ_STATUS_COMPLETION_Pos 0U
#define TRETA_IRQ_STATUS_COMPLETION_Msk (0x1UL << TRETA_IRQ_STATUS_COMPLETION_Pos) /**< an IRQ descriptor ran */
#define TRETA_IRQ_STATUS_ERROR_Pos 1U
#define TRETA_IRQ_STATUS_ERROR_Msk (0x1UL << TRETA_IRQ_STATUS_ERROR_Pos) /**< a queue stopped on an error */

/** IRQ_MASK (RW): 1 = interrupt enabled, per IRQ_STATUS bit. */
#define TRETA_IRQ_MASK_OFFSET 0x034U
#define TRETA_IRQ_MASK_COMPLETION_Pos 0U
#define TRETA_IRQ_MASK_COMPLETION_Msk (0x1UL << TRETA_IRQ_MASK_COMPLETION_Pos) /**< an IRQ descriptor ran */
#define TRETA_IRQ_MASK_ERROR_Pos 1U
#define TRETA_IRQ_MASK_ERROR_Msk (0x1UL << TRETA_IRQ_MASK_ERROR_Pos) /**< a queue stopped on an error */

/** IRQ_CODE (RO): code of the last IRQ descriptor. */
#define TRETA_IRQ_CODE_OFFSET 0x038U

/* Command queues: a block of registers per queue. */
/** Number of command queues. */
#define TRETA_QUEUES 4U
/** First byte of queue 0's block. */
#define TRETA_QUEUE_BASE 0x100U
/** Bytes per queue block. */
#define TRETA_QUEUE_STRIDE 0x20U
/** Largest ring [descriptors]. */
#define TRETA_QUEUE_MAX_SIZE 65536U
/** Offset of register `reg` (a TRETA_QUEUE_*_OFFSET) of queue `q`. */
#define TRETA_QUEUE_REG(q, reg) (TRETA_QUEUE_BASE + TRETA_QUEUE_STRIDE * (uint32_t)(q) + (reg))

/** BASE_LO (RW): ring address in DRAM, low half (64-byte aligned). */
#define TRETA_QUEUE_BASE_LO_OFFSET 0x000U

/** BASE_HI (RW): ring address, high half. */
#define TRETA_QUEUE_BASE_HI_OFFSET 0x004U

/** SIZE (RW): ring size in descriptors, 1 to 65536. */
#define TRETA_QUEUE_SIZE_OFFSET 0x008U

/** HEAD (RO): index of the next descriptor the device will fetch. */
#define TRETA_QUEUE_HEAD_OFFSET 0x00CU

/** TAIL (RW): index one past the last descriptor firmware has written. */
#define TRETA_QUEUE_TAIL_OFFSET 0x010U

/** DOORBELL (WO): any write starts fetching up to TAIL. */
#define TRETA_QUEUE_DOORBELL_OFFSET 0x014U

/** COMPLETED (RO): descriptors completed since reset (wraps at 2^32). */
#define TRETA_QUEUE_COMPLETED_OFFSET 0x018U

/* Performance counters: 64-bit, read as LO then HI. */
/** PERF_CYCLES (RO): device clock cycles since reset. */
#define TRETA_PERF_CYCLES_LO_OFFSET 0x200U
#define TRETA_PERF_CYCLES_HI_OFFSET 0x204U
/** PERF_GEMM_BUSY (RO): cycles the GEMM core was busy. */
#define TRETA_PERF_GEMM_BUSY_LO_OFFSET 0x208U
#define TRETA_PERF_GEMM_BUSY_HI_OFFSET 0x20CU
/** PERF_DMA_BUSY (RO): cycles the DMA engine was busy. */
#define TRETA_PERF_DMA_BUSY_LO_OFFSET 0x210U
#define TRETA_PERF_DMA_BUSY_HI_OFFSET 0x214U
/** PERF_SFU_BUSY (RO): cycles the special-function unit was busy. */
#define TRETA_PERF_SFU_BUSY_LO_OFFSET 0x218U
#define TRETA_PERF_SFU_BUSY_HI_OFFSET 0x21CU
/** PERF_DRAM_READ_BYTES (RO): bytes read from DRAM. */
#define TRETA_PERF_DRAM_READ_BYTES_LO_OFFSET 0x220U
#define TRETA_PERF_DRAM_READ_BYTES_HI_OFFSET 0x224U
/** PERF_DRAM_WRITE_BYTES (RO): bytes written to DRAM. */
#define TRETA_PERF_DRAM_WRITE_BYTES_LO_OFFSET 0x228U
#define TRETA_PERF_DRAM_WRITE_BYTES_HI_OFFSET 0x22CU
/** PERF_DESCRIPTORS (RO): descriptors completed, all queues. */
#define TRETA_PERF_DESCRIPTORS_LO_OFFSET 0x230U
#define TRETA_PERF_DESCRIPTORS_HI_OFFSET 0x234U

/* ---- Codes --------------------------------------------------------- */

/** Values of ERR_CODE. */
typedef enum {
    TRETA_ERR_NONE = 0,
    TRETA_ERR_BAD_OPCODE = 1, /**< unknown opcode */
    TRETA_ERR_BAD_FIELD = 2, /**< invalid descriptor field */
    TRETA_ERR_DRAM_OUT_OF_RANGE = 3, /**< DRAM address out of range */
    TRETA_ERR_SRAM_OVERFLOW = 4, /**< SRAM access out of range (overflow) */
    TRETA_ERR_MISALIGNED = 5, /**< misaligned address */
    TRETA_ERR_BAD_QUEUE_CONFIG = 6, /**< bad queue configuration */
    TRETA_ERR_DEADLOCK = 7, /**< semaphore deadlock */
} treta_device_error_t;

/** What an ERR_CODE value means ("unknown error" for unknown codes). */
static inline const char *treta_device_error_str(uint32_t code) {
    switch (code) {
    case TRETA_ERR_NONE: return "no error";
    case TRETA_ERR_BAD_OPCODE: return "unknown opcode";
    case TRETA_ERR_BAD_FIELD: return "invalid descriptor field";
    case TRETA_ERR_DRAM_OUT_OF_RANGE: return "DRAM address out of range";
    case TRETA_ERR_SRAM_OVERFLOW: return "SRAM access out of range (overflow)";
    case TRETA_ERR_MISALIGNED: return "misaligned address";
    case TRETA_ERR_BAD_QUEUE_CONFIG: return "bad queue configuration";
    case TRETA_ERR_DEADLOCK: return "semaphore deadlock";
    default: return "unknown error";
    }
}

/** Number formats of stored operands (descriptor format codes). */
typedef enum {
    TRETA_FMT_FP32 = 0, /**< 4 byte(s) per element */
    TRETA_FMT_BF16 = 1, /**< 2 byte(s) per element */
    TRETA_FMT_FP16 = 2, /**< 2 byte(s) per element */
    TRETA_FMT_FP8_E4M3 = 3, /**< 1 byte(s) per element */
    TRETA_FMT_FP8_E5M2 = 4, /**< 1 byte(s) per element */
    TRETA_FMT_INT8 = 5, /**< 1 byte(s) per element */
} treta_format_t;

/** Bytes per element of a format code (0 for an unknown code). */
static inline uint32_t treta_format_bytes(uint8_t format) {
    switch (format) {
    case TRETA_FMT_FP32: return 4U;
    case TRETA_FMT_BF16: return 2U;
    case TRETA_FMT_FP16: return 2U;
    case TRETA_FMT_FP8_E4M3: return 1U;
    case TRETA_FMT_FP8_E5M2: return 1U;
    case TRETA_FMT_INT8: return 1U;
    default: return 0U;
    }
}

/** Element-wise operations of the VECTOR descriptor (its vector_op). */
typedef enum {
    TRETA_VOP_ADD = 0,
    TRETA_VOP_SUB = 1,
    TRETA_VOP_MUL = 2,
    TRETA_VOP_SCALE = 3,
    TRETA_VOP_ADD_BIAS = 4,
    TRETA_VOP_SGD_UPDATE = 5,
    TRETA_VOP_COPY = 6,
    TRETA_VOP_COLUMN_SUM = 7,
    TRETA_VOP_MSE_LOSS = 8,
    TRETA_VOP_SGD_MOMENTUM = 9,
    TRETA_VOP_ADAM = 10,
    TRETA_VOP_LOGSUMEXP = 11,
    TRETA_VOP_CROSS_ENTROPY_BWD = 12,
} treta_vector_op_t;

/* ---- Descriptors --------------------------------------------------- */

/** Bytes per descriptor. */
#define TRETA_DESC_BYTES 64U
/** Number of semaphores. */
#define TRETA_SEMAPHORES 16U
/** Header: opcode at byte 0, flags at byte 1, the firmware's id at bytes 4-7. */
#define TRETA_DESC_OPCODE_OFFSET 0U
#define TRETA_DESC_FLAGS_OFFSET 1U
#define TRETA_DESC_ID_OFFSET 4U

/** Opcodes (byte 0 of a descriptor). */
typedef enum {
    TRETA_OP_NOP = 0x00,
    TRETA_OP_DMA_LOAD = 0x01,
    TRETA_OP_DMA_STORE = 0x02,
    TRETA_OP_DMA_COPY = 0x03,
    TRETA_OP_GEMM = 0x10,
    TRETA_OP_SOFTMAX_FWD = 0x20,
    TRETA_OP_SOFTMAX_BWD = 0x21,
    TRETA_OP_LAYERNORM_FWD = 0x22,
    TRETA_OP_LAYERNORM_BWD = 0x23,
    TRETA_OP_GELU_FWD = 0x24,
    TRETA_OP_GELU_BWD = 0x25,
    TRETA_OP_VECTOR = 0x26,
    TRETA_OP_SOFTMAX_CAUSAL_FWD = 0x27,
    TRETA_OP_SEM_SIGNAL = 0x30,
    TRETA_OP_SEM_WAIT = 0x31,
    TRETA_OP_FENCE = 0x32,
    TRETA_OP_IRQ = 0x33,
} treta_opcode_t;

/* Flags (byte 1). */
/** DMA_*: transpose the tile on its way. */
#define TRETA_FLAG_TRANSPOSE 0x01U
/** GEMM: A is stored transposed. */
#define TRETA_FLAG_TRANSPOSE_A 0x01U
/** GEMM: B is stored transposed. */
#define TRETA_FLAG_TRANSPOSE_B 0x02U
/** GEMM and the SFU's reductions: add to what the destination holds. */
#define TRETA_FLAG_ACCUMULATE 0x04U

/** Stores the low `bytes` bytes of `v` at `p`, little-endian. */
static inline void treta_put_le(uint8_t *p, uint64_t v, unsigned bytes) {
    for (unsigned i = 0; i < bytes; i++) {
        p[i] = (uint8_t)(v >> (8U * i));
    }
}

/** Loads `bytes` little-endian bytes from `p`. */
static inline uint64_t treta_get_le(const uint8_t *p, unsigned bytes) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v |= (uint64_t)p[i] << (8U * i);
    }
    return v;
}

/** Stores an IEEE binary32 scalar's bits at `p`, little-endian. */
static inline void treta_put_f32(uint8_t *p, float v) {
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    treta_put_le(p, bits, 4U);
}

/** Loads an IEEE binary32 scalar from its little-endian bits at `p`. */
static inline float treta_get_f32(const uint8_t *p) {
    uint32_t bits = (uint32_t)treta_get_le(p, 4U);
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/** Clears a descriptor and writes its header (the whole of NOP and FENCE). */
static inline void treta_desc_init(uint8_t d[TRETA_DESC_BYTES], uint8_t opcode, uint8_t flags,
                                   uint32_t id) {
    memset(d, 0, TRETA_DESC_BYTES);
    d[TRETA_DESC_OPCODE_OFFSET] = opcode;
    d[TRETA_DESC_FLAGS_OFFSET] = flags;
    treta_put_le(d + TRETA_DESC_ID_OFFSET, id, 4U);
}

/** A descriptor's opcode. */
static inline uint8_t treta_desc_opcode(const uint8_t d[TRETA_DESC_BYTES]) {
    return d[TRETA_DESC_OPCODE_OFFSET];
}

/** A descriptor's flags. */
static inline uint8_t treta_desc_flags(const uint8_t d[TRETA_DESC_BYTES]) {
    return d[TRETA_DESC_FLAGS_OFFSET];
}

/** A descriptor's id. */
static inline uint32_t treta_desc_id(const uint8_t d[TRETA_DESC_BYTES]) {
    return (uint32_t)treta_get_le(d + TRETA_DESC_ID_OFFSET, 4U);
}

/* DMA_LOAD (DRAM to SRAM) and DMA_STORE (SRAM to DRAM) */
#define TRETA_DESC_DMA_DRAM_ADDR_OFFSET 8U
#define TRETA_DESC_DMA_SRAM_ADDR_OFFSET 16U
#define TRETA_DESC_DMA_ROWS_OFFSET 20U
#define TRETA_DESC_DMA_ROW_BYTES_OFFSET 24U
#define TRETA_DESC_DMA_SRAM_STRIDE_OFFSET 28U
#define TRETA_DESC_DMA_DRAM_STRIDE_OFFSET 32U
#define TRETA_DESC_DMA_PLANES_OFFSET 40U
#define TRETA_DESC_DMA_SRAM_PLANE_STRIDE_OFFSET 44U
#define TRETA_DESC_DMA_DRAM_PLANE_STRIDE_OFFSET 48U
#define TRETA_DESC_DMA_SRC_FORMAT_OFFSET 56U
#define TRETA_DESC_DMA_DST_FORMAT_OFFSET 57U

/** The fields of DMA_LOAD (DRAM to SRAM) and DMA_STORE (SRAM to DRAM), after the header. */
typedef struct {
    uint64_t dram_addr;
    uint32_t sram_addr;
    uint32_t rows;
    uint32_t row_bytes;
    uint32_t sram_stride;
    uint64_t dram_stride;
    uint32_t planes;
    uint32_t sram_plane_stride;
    uint64_t dram_plane_stride;
    uint8_t src_format;
    uint8_t dst_format;
} treta_dma_t;

/** Encodes a descriptor of this layout into `d` (64 bytes). */
static inline void treta_dma_pack(uint8_t d[TRETA_DESC_BYTES], uint8_t opcode, uint8_t flags,
                            uint32_t id, const treta_dma_t *f) {
    treta_desc_init(d, opcode, flags, id);
    treta_put_le(d + TRETA_DESC_DMA_DRAM_ADDR_OFFSET, f->dram_addr, 8U);
    treta_put_le(d + TRETA_DESC_DMA_SRAM_ADDR_OFFSET, f->sram_addr, 4U);
    treta_put_le(d + TRETA_DESC_DMA_ROWS_OFFSET, f->rows, 4U);
    treta_put_le(d + TRETA_DESC_DMA_ROW_BYTES_OFFSET, f->row_bytes, 4U);
    treta_put_le(d + TRETA_DESC_DMA_SRAM_STRIDE_OFFSET, f->sram_stride, 4U);
    treta_put_le(d + TRETA_DESC_DMA_DRAM_STRIDE_OFFSET, f->dram_stride, 8U);
    treta_put_le(d + TRETA_DESC_DMA_PLANES_OFFSET, f->planes, 4U);
    treta_put_le(d + TRETA_DESC_DMA_SRAM_PLANE_STRIDE_OFFSET, f->sram_plane_stride, 4U);
    treta_put_le(d + TRETA_DESC_DMA_DRAM_PLANE_STRIDE_OFFSET, f->dram_plane_stride, 8U);
    treta_put_le(d + TRETA_DESC_DMA_SRC_FORMAT_OFFSET, f->src_format, 1U);
    treta_put_le(d + TRETA_DESC_DMA_DST_FORMAT_OFFSET, f->dst_format, 1U);
}

/** Decodes the fields of a descriptor of this layout. */
static inline void treta_dma_unpack(const uint8_t d[TRETA_DESC_BYTES], treta_dma_t *f) {
    f->dram_addr = (uint64_t)treta_get_le(d + TRETA_DESC_DMA_DRAM_ADDR_OFFSET, 8U);
    f->sram_addr = (uint32_t)treta_get_le(d + TRETA_DESC_DMA_SRAM_ADDR_OFFSET, 4U);
    f->rows = (uint32_t)treta_get_le(d + TRETA_DESC_DMA_ROWS_OFFSET, 4U);
    f->row_bytes = (uint32_t)treta_get_le(d + TRETA_DESC_DMA_ROW_BYTES_OFFSET, 4U);
    f->sram_stride = (uint32_t)treta_get_le(d + TRETA_DESC_DMA_SRAM_STRIDE_OFFSET, 4U);
    f->dram_stride = (uint64_t)treta_get_le(d + TRETA_DESC_DMA_DRAM_STRIDE_OFFSET, 8U);
    f->planes = (uint32_t)treta_get_le(d + TRETA_DESC_DMA_PLANES_OFFSET, 4U);
    f->sram_plane_stride = (uint32_t)treta_get_le(d + TRETA_DESC_DMA_SRAM_PLANE_STRIDE_OFFSET, 4U);
    f->dram_plane_stride = (uint64_t)treta_get_le(d + TRETA_DESC_DMA_DRAM_PLANE_STRIDE_OFFSET, 8U);
    f->src_format = (uint8_t)treta_get_le(d + TRETA_DESC_DMA_SRC_FORMAT_OFFSET, 1U);
    f->dst_format = (uint8_t)treta_get_le(d + TRETA_DESC_DMA_DST_FORMAT_OFFSET, 1U);
}

/* DMA_COPY (SRAM to SRAM; the source is addressed in SRAM) */
#define TRETA_DESC_DMA_COPY_SRC_SRAM_ADDR_OFFSET 8U
#define TRETA_DESC_DMA_COPY_SRAM_ADDR_OFFSET 16U
#define TRETA_DESC_DMA_COPY_ROWS_OFFSET 20U
#define TRETA_DESC_DMA_COPY_ROW_BYTES_OFFSET 24U
#define TRETA_DESC_DMA_COPY_SRAM_STRIDE_OFFSET 28U
#define TRETA_DESC_DMA_COPY_SRC_STRIDE_OFFSET 32U
#define TRETA_DESC_DMA_COPY_PLANES_OFFSET 40U
#define TRETA_DESC_DMA_COPY_SRAM_PLANE_STRIDE_OFFSET 44U
#define TRETA_DESC_DMA_COPY_SRC_PLANE_STRIDE_OFFSET 48U
#define TRETA_DESC_DMA_COPY_SRC_FORMAT_OFFSET 56U
#define TRETA_DESC_DMA_COPY_DST_FORMAT_OFFSET 57U

/** The fields of DMA_COPY (SRAM to SRAM; the source is addressed in SRAM), after the header. */
typedef struct {
    uint64_t src_sram_addr;
    uint32_t sram_addr;
    uint32_t rows;
    uint32_t row_bytes;
    uint32_t sram_stride;
    uint64_t src_stride;
    uint32_t planes;
    uint32_t sram_plane_stride;
    uint64_t src_plane_stride;
    uint8_t src_format;
    uint8_t dst_format;
} treta_dma_copy_t;

/** Encodes a descriptor of this layout into `d` (64 bytes). */
static inline void treta_dma_copy_pack(uint8_t d[TRETA_DESC_BYTES], uint8_t opcode, uint8_t flags,
                                 uint32_t id, const treta_dma_copy_t *f) {
    treta_desc_init(d, opcode, flags, id);
    treta_put_le(d + TRETA_DESC_DMA_COPY_SRC_SRAM_ADDR_OFFSET, f->src_sram_addr, 8U);
    treta_put_le(d + TRETA_DESC_DMA_COPY_SRAM_ADDR_OFFSET, f->sram_addr, 4U);
    treta_put_le(d + TRETA_DESC_DMA_COPY_ROWS_OFFSET, f->rows, 4U);
    treta_put_le(d + TRETA_DESC_DMA_COPY_ROW_BYTES_OFFSET, f->row_bytes, 4U);
    treta_put_le(d + TRETA_DESC_DMA_COPY_SRAM_STRIDE_OFFSET, f->sram_stride, 4U);
    treta_put_le(d + TRETA_DESC_DMA_COPY_SRC_STRIDE_OFFSET, f->src_stride, 8U);
    treta_put_le(d + TRETA_DESC_DMA_COPY_PLANES_OFFSET, f->planes, 4U);
    treta_put_le(d + TRETA_DESC_DMA_COPY_SRAM_PLANE_STRIDE_OFFSET, f->sram_plane_stride, 4U);
    treta_put_le(d + TRETA_DESC_DMA_COPY_SRC_PLANE_STRIDE_OFFSET, f->src_plane_stride, 8U);
    treta_put_le(d + TRETA_DESC_DMA_COPY_SRC_FORMAT_OFFSET, f->src_format, 1U);
    treta_put_le(d + TRETA_DESC_DMA_COPY_DST_FORMAT_OFFSET, f->dst_format, 1U);
}

/** Decodes the fields of a descriptor of this layout. */
static inline void treta_dma_copy_unpack(const uint8_t d[TRETA_DESC_BYTES], treta_dma_copy_t *f) {
    f->src_sram_addr = (uint64_t)treta_get_le(d + TRETA_DESC_DMA_COPY_SRC_SRAM_ADDR_OFFSET, 8U);
    f->sram_addr = (uint32_t)treta_get_le(d + TRETA_DESC_DMA_COPY_SRAM_ADDR_OFFSET, 4U);
    f->rows = (uint32_t)treta_get_le(d + TRETA_DESC_DMA_COPY_ROWS_OFFSET, 4U);
    f->row_bytes = (uint32_t)treta_get_le(d + TRETA_DESC_DMA_COPY_ROW_BYTES_OFFSET, 4U);
    f->sram_stride = (uint32_t)treta_get_le(d + TRETA_DESC_DMA_COPY_SRAM_STRIDE_OFFSET, 4U);
    f->src_stride = (uint64_t)treta_get_le(d + TRETA_DESC_DMA_COPY_SRC_STRIDE_OFFSET, 8U);
    f->planes = (uint32_t)treta_get_le(d + TRETA_DESC_DMA_COPY_PLANES_OFFSET, 4U);
    f->sram_plane_stride = (uint32_t)treta_get_le(d + TRETA_DESC_DMA_COPY_SRAM_PLANE_STRIDE_OFFSET, 4U);
    f->src_plane_stride = (uint64_t)treta_get_le(d + TRETA_DESC_DMA_COPY_SRC_PLANE_STRIDE_OFFSET, 8U);
    f->src_format = (uint8_t)treta_get_le(d + TRETA_DESC_DMA_COPY_SRC_FORMAT_OFFSET, 1U);
    f->dst_format = (uint8_t)treta_get_le(d + TRETA_DESC_DMA_COPY_DST_FORMAT_OFFSET, 1U);
}

/* GEMM: C = op(A) op(B) (+ C) */
#define TRETA_DESC_GEMM_M_OFFSET 8U
#define TRETA_DESC_GEMM_K_OFFSET 12U
#define TRETA_DESC_GEMM_N_OFFSET 16U
#define TRETA_DESC_GEMM_A_ADDR_OFFSET 20U
#define TRETA_DESC_GEMM_B_ADDR_OFFSET 24U
#define TRETA_DESC_GEMM_C_ADDR_OFFSET 28U
#define TRETA_DESC_GEMM_LDA_OFFSET 32U
#define TRETA_DESC_GEMM_LDB_OFFSET 36U
#define TRETA_DESC_GEMM_LDC_OFFSET 40U
#define TRETA_DESC_GEMM_A_FORMAT_OFFSET 44U
#define TRETA_DESC_GEMM_B_FORMAT_OFFSET 45U
#define TRETA_DESC_GEMM_C_FORMAT_OFFSET 46U

/** The fields of GEMM: C = op(A) op(B) (+ C), after the header. */
typedef struct {
    uint32_t m;
    uint32_t k;
    uint32_t n;
    uint32_t a_addr;
    uint32_t b_addr;
    uint32_t c_addr;
    uint32_t lda;
    uint32_t ldb;
    uint32_t ldc;
    uint8_t a_format;
    uint8_t b_format;
    uint8_t c_format;
} treta_gemm_t;

/** Encodes a descriptor of this layout into `d` (64 bytes). */
static inline void treta_gemm_pack(uint8_t d[TRETA_DESC_BYTES], uint8_t opcode, uint8_t flags,
                             uint32_t id, const treta_gemm_t *f) {
    treta_desc_init(d, opcode, flags, id);
    treta_put_le(d + TRETA_DESC_GEMM_M_OFFSET, f->m, 4U);
    treta_put_le(d + TRETA_DESC_GEMM_K_OFFSET, f->k, 4U);
    treta_put_le(d + TRETA_DESC_GEMM_N_OFFSET, f->n, 4U);
    treta_put_le(d + TRETA_DESC_GEMM_A_ADDR_OFFSET, f->a_addr, 4U);
    treta_put_le(d + TRETA_DESC_GEMM_B_ADDR_OFFSET, f->b_addr, 4U);
    treta_put_le(d + TRETA_DESC_GEMM_C_ADDR_OFFSET, f->c_addr, 4U);
    treta_put_le(d + TRETA_DESC_GEMM_LDA_OFFSET, f->lda, 4U);
    treta_put_le(d + TRETA_DESC_GEMM_LDB_OFFSET, f->ldb, 4U);
    treta_put_le(d + TRETA_DESC_GEMM_LDC_OFFSET, f->ldc, 4U);
    treta_put_le(d + TRETA_DESC_GEMM_A_FORMAT_OFFSET, f->a_format, 1U);
    treta_put_le(d + TRETA_DESC_GEMM_B_FORMAT_OFFSET, f->b_format, 1U);
    treta_put_le(d + TRETA_DESC_GEMM_C_FORMAT_OFFSET, f->c_format, 1U);
}

/** Decodes the fields of a descriptor of this layout. */
static inline void treta_gemm_unpack(const uint8_t d[TRETA_DESC_BYTES], treta_gemm_t *f) {
    f->m = (uint32_t)treta_get_le(d + TRETA_DESC_GEMM_M_OFFSET, 4U);
    f->k = (uint32_t)treta_get_le(d + TRETA_DESC_GEMM_K_OFFSET, 4U);
    f->n = (uint32_t)treta_get_le(d + TRETA_DESC_GEMM_N_OFFSET, 4U);
    f->a_addr = (uint32_t)treta_get_le(d + TRETA_DESC_GEMM_A_ADDR_OFFSET, 4U);
    f->b_addr = (uint32_t)treta_get_le(d + TRETA_DESC_GEMM_B_ADDR_OFFSET, 4U);
    f->c_addr = (uint32_t)treta_get_le(d + TRETA_DESC_GEMM_C_ADDR_OFFSET, 4U);
    f->lda = (uint32_t)treta_get_le(d + TRETA_DESC_GEMM_LDA_OFFSET, 4U);
    f->ldb = (uint32_t)treta_get_le(d + TRETA_DESC_GEMM_LDB_OFFSET, 4U);
    f->ldc = (uint32_t)treta_get_le(d + TRETA_DESC_GEMM_LDC_OFFSET, 4U);
    f->a_format = (uint8_t)treta_get_le(d + TRETA_DESC_GEMM_A_FORMAT_OFFSET, 1U);
    f->b_format = (uint8_t)treta_get_le(d + TRETA_DESC_GEMM_B_FORMAT_OFFSET, 1U);
    f->c_format = (uint8_t)treta_get_le(d + TRETA_DESC_GEMM_C_FORMAT_OFFSET, 1U);
}

/* SOFTMAX_FWD ... GELU_BWD, VECTOR and SOFTMAX_CAUSAL_FWD (vector_op is read by VECTOR only) */
#define TRETA_DESC_SFU_ROWS_OFFSET 8U
#define TRETA_DESC_SFU_COLS_OFFSET 12U
#define TRETA_DESC_SFU_SRC_ADDR_OFFSET 16U
#define TRETA_DESC_SFU_DST_ADDR_OFFSET 20U
#define TRETA_DESC_SFU_AUX0_ADDR_OFFSET 24U
#define TRETA_DESC_SFU_AUX1_ADDR_OFFSET 28U
#define TRETA_DESC_SFU_AUX2_ADDR_OFFSET 32U
#define TRETA_DESC_SFU_VECTOR_OP_OFFSET 36U
#define TRETA_DESC_SFU_FORMAT_OFFSET 37U
#define TRETA_DESC_SFU_SCALAR0_OFFSET 40U
#define TRETA_DESC_SFU_AUX3_ADDR_OFFSET 44U
#define TRETA_DESC_SFU_SCALAR1_OFFSET 48U
#define TRETA_DESC_SFU_SCALAR2_OFFSET 52U
#define TRETA_DESC_SFU_SCALAR3_OFFSET 56U

/** The fields of SOFTMAX_FWD ... GELU_BWD, VECTOR and SOFTMAX_CAUSAL_FWD (vector_op is read by VECTOR only), after the header. */
typedef struct {
    uint32_t rows;
    uint32_t cols;
    uint32_t src_addr;
    uint32_t dst_addr;
    uint32_t aux0_addr;
    uint32_t aux1_addr;
    uint32_t aux2_addr;
    uint8_t vector_op;
    uint8_t format;
    float scalar0;
    uint32_t aux3_addr;
    float scalar1;
    float scalar2;
    float scalar3;
} treta_sfu_t;

/** Encodes a descriptor of this layout into `d` (64 bytes). */
static inline void treta_sfu_pack(uint8_t d[TRETA_DESC_BYTES], uint8_t opcode, uint8_t flags,
                            uint32_t id, const treta_sfu_t *f) {
    treta_desc_init(d, opcode, flags, id);
    treta_put_le(d + TRETA_DESC_SFU_ROWS_OFFSET, f->rows, 4U);
    treta_put_le(d + TRETA_DESC_SFU_COLS_OFFSET, f->cols, 4U);
    treta_put_le(d + TRETA_DESC_SFU_SRC_ADDR_OFFSET, f->src_addr, 4U);
    treta_put_le(d + TRETA_DESC_SFU_DST_ADDR_OFFSET, f->dst_addr, 4U);
    treta_put_le(d + TRETA_DESC_SFU_AUX0_ADDR_OFFSET, f->aux0_addr, 4U);
    treta_put_le(d + TRETA_DESC_SFU_AUX1_ADDR_OFFSET, f->aux1_addr, 4U);
    treta_put_le(d + TRETA_DESC_SFU_AUX2_ADDR_OFFSET, f->aux2_addr, 4U);
    treta_put_le(d + TRETA_DESC_SFU_VECTOR_OP_OFFSET, f->vector_op, 1U);
    treta_put_le(d + TRETA_DESC_SFU_FORMAT_OFFSET, f->format, 1U);
    treta_put_f32(d + TRETA_DESC_SFU_SCALAR0_OFFSET, f->scalar0);
    treta_put_le(d + TRETA_DESC_SFU_AUX3_ADDR_OFFSET, f->aux3_addr, 4U);
    treta_put_f32(d + TRETA_DESC_SFU_SCALAR1_OFFSET, f->scalar1);
    treta_put_f32(d + TRETA_DESC_SFU_SCALAR2_OFFSET, f->scalar2);
    treta_put_f32(d + TRETA_DESC_SFU_SCALAR3_OFFSET, f->scalar3);
}

/** Decodes the fields of a descriptor of this layout. */
static inline void treta_sfu_unpack(const uint8_t d[TRETA_DESC_BYTES], treta_sfu_t *f) {
    f->rows = (uint32_t)treta_get_le(d + TRETA_DESC_SFU_ROWS_OFFSET, 4U);
    f->cols = (uint32_t)treta_get_le(d + TRETA_DESC_SFU_COLS_OFFSET, 4U);
    f->src_addr = (uint32_t)treta_get_le(d + TRETA_DESC_SFU_SRC_ADDR_OFFSET, 4U);
    f->dst_addr = (uint32_t)treta_get_le(d + TRETA_DESC_SFU_DST_ADDR_OFFSET, 4U);
    f->aux0_addr = (uint32_t)treta_get_le(d + TRETA_DESC_SFU_AUX0_ADDR_OFFSET, 4U);
    f->aux1_addr = (uint32_t)treta_get_le(d + TRETA_DESC_SFU_AUX1_ADDR_OFFSET, 4U);
    f->aux2_addr = (uint32_t)treta_get_le(d + TRETA_DESC_SFU_AUX2_ADDR_OFFSET, 4U);
    f->vector_op = (uint8_t)treta_get_le(d + TRETA_DESC_SFU_VECTOR_OP_OFFSET, 1U);
    f->format = (uint8_t)treta_get_le(d + TRETA_DESC_SFU_FORMAT_OFFSET, 1U);
    f->scalar0 = treta_get_f32(d + TRETA_DESC_SFU_SCALAR0_OFFSET);
    f->aux3_addr = (uint32_t)treta_get_le(d + TRETA_DESC_SFU_AUX3_ADDR_OFFSET, 4U);
    f->scalar1 = treta_get_f32(d + TRETA_DESC_SFU_SCALAR1_OFFSET);
    f->scalar2 = treta_get_f32(d + TRETA_DESC_SFU_SCALAR2_OFFSET);
    f->scalar3 = treta_get_f32(d + TRETA_DESC_SFU_SCALAR3_OFFSET);
}

/* SEM_SIGNAL (count unused) and SEM_WAIT */
#define TRETA_DESC_SEM_SEM_OFFSET 8U
#define TRETA_DESC_SEM_COUNT_OFFSET 12U

/** The fields of SEM_SIGNAL (count unused) and SEM_WAIT, after the header. */
typedef struct {
    uint32_t sem;
    uint32_t count;
} treta_sem_t;

/** Encodes a descriptor of this layout into `d` (64 bytes). */
static inline void treta_sem_pack(uint8_t d[TRETA_DESC_BYTES], uint8_t opcode, uint8_t flags,
                            uint32_t id, const treta_sem_t *f) {
    treta_desc_init(d, opcode, flags, id);
    treta_put_le(d + TRETA_DESC_SEM_SEM_OFFSET, f->sem, 4U);
    treta_put_le(d + TRETA_DESC_SEM_COUNT_OFFSET, f->count, 4U);
}

/** Decodes the fields of a descriptor of this layout. */
static inline void treta_sem_unpack(const uint8_t d[TRETA_DESC_BYTES], treta_sem_t *f) {
    f->sem = (uint32_t)treta_get_le(d + TRETA_DESC_SEM_SEM_OFFSET, 4U);
    f->count = (uint32_t)treta_get_le(d + TRETA_DESC_SEM_COUNT_OFFSET, 4U);
}

/* IRQ: raise the completion interrupt */
#define TRETA_DESC_IRQ_CODE_OFFSET 8U

/** The fields of IRQ: raise the completion interrupt, after the header. */
typedef struct {
    uint32_t code;
} treta_irq_t;

/** Encodes a descriptor of this layout into `d` (64 bytes). */
static inline void treta_irq_pack(uint8_t d[TRETA_DESC_BYTES], uint8_t opcode, uint8_t flags,
                            uint32_t id, const treta_irq_t *f) {
    treta_desc_init(d, opcode, flags, id);
    treta_put_le(d + TRETA_DESC_IRQ_CODE_OFFSET, f->code, 4U);
}

/** Decodes the fields of a descriptor of this layout. */
static inline void treta_irq_unpack(const uint8_t d[TRETA_DESC_BYTES], treta_irq_t *f) {
    f->code = (uint32_t)treta_get_le(d + TRETA_DESC_IRQ_CODE_OFFSET, 4U);
}

#ifdef __cplusplus
}
#endif

#endif /* TRETA_ABI_H */
