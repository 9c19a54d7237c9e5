/*
 * gemm_ring.c: C firmware for TRETA, run against `treta-vp serve` in another process.
 *
 * Brings the device up (identity, reset, a ring of 8 descriptors on queue 0,
 * interrupts), then runs the three GEMMs of scenarios/remote_gemms.yaml through
 * the ring (the ring wraps on the way): per GEMM, DMA_LOAD A and B (fp32 in DRAM
 * converted to fp8 E4M3 on the way into SRAM), GEMM with fp32 accumulation,
 * DMA_STORE C, IRQ. It checks every element of C against a reference computed
 * here (small integers, so fp8 and fp32 hold them exactly), then submits a GEMM
 * whose C does not fit the SRAM and checks that the device refuses it with
 * SRAM_OVERFLOW and names the field. FINISH writes the server's report.
 *
 *   treta-vp serve scenarios/remote_gemms.yaml --listen unix:/tmp/vp.sock --report r.json &
 *   make -C sdk/c && sdk/c/build/gemm_ring unix:/tmp/vp.sock
 *
 * Exit status 0 if every number matched and the fault was reported as expected.
 */
#include "treta_abi.h"
#include "treta_remote.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* Ring of queue 0, in device DRAM (device addresses; the bus adds DRAM's base). */
#define RING_ADDR 0x0ULL
#define RING_SIZE 8U
/* Where the tensors live in DRAM and in SRAM. */
#define DRAM_A 0x10000ULL
#define DRAM_B 0x20000ULL
#define DRAM_C 0x30000ULL
#define SRAM_A 0x00000U
#define SRAM_B 0x10000U
#define SRAM_C 0x20000U

typedef struct {
    uint32_t m, k, n;
} shape_t;

/* The GEMMs of scenarios/remote_gemms.yaml, in its order (ids say which, so the
 * report's per-GEMM table adds them up: GEMM index << 16 | step). */
static const shape_t GEMMS[] = {{64, 96, 80}, {128, 64, 32}, {32, 128, 64}};

static treta_client_t *vp;
static uint32_t tail; /* next free slot of the ring */

/* Stops the program with the client's last error. */
static void check(int rc, const char *what) {
    if (rc != TRETA_OK) {
        fprintf(stderr, "gemm_ring: %s: %s\n", what, treta_error(vp));
        exit(1);
    }
}

static uint32_t reg(uint32_t offset) {
    uint32_t v = 0;
    check(treta_reg_read(vp, offset, &v), "register read");
    return v;
}

static void set_reg(uint32_t offset, uint32_t value) {
    check(treta_reg_write(vp, offset, value), "register write");
}

static uint64_t dram(uint64_t device_addr) { return treta_map(vp)->dram_base + device_addr; }

static void bring_up(void) {
    if (reg(TRETA_ID_OFFSET) != TRETA_ID_VALUE) {
        fprintf(stderr, "gemm_ring: not a TRETA device (ID 0x%08" PRIX32 ")\n",
                reg(TRETA_ID_OFFSET));
        exit(1);
    }
    uint32_t version = reg(TRETA_VERSION_OFFSET);
    if (version >> 16 != TRETA_VERSION_VALUE >> 16) {
        fprintf(stderr, "gemm_ring: interface version 0x%08" PRIX32 ", built for 0x%08lX\n",
                version, (unsigned long)TRETA_VERSION_VALUE);
        exit(1);
    }
    set_reg(TRETA_CTRL_OFFSET, TRETA_CTRL_RESET_Msk);
    set_reg(TRETA_QUEUE_REG(0, TRETA_QUEUE_BASE_LO_OFFSET), (uint32_t)RING_ADDR);
    set_reg(TRETA_QUEUE_REG(0, TRETA_QUEUE_BASE_HI_OFFSET), (uint32_t)(RING_ADDR >> 32));
    set_reg(TRETA_QUEUE_REG(0, TRETA_QUEUE_SIZE_OFFSET), RING_SIZE);
    set_reg(TRETA_QUEUE_REG(0, TRETA_QUEUE_TAIL_OFFSET), 0);
    set_reg(TRETA_IRQ_MASK_OFFSET, TRETA_IRQ_MASK_COMPLETION_Msk | TRETA_IRQ_MASK_ERROR_Msk);
    set_reg(TRETA_CTRL_OFFSET, TRETA_CTRL_ENABLE_Msk);
    tail = 0;
}

/* Writes `count` descriptors into the ring after TAIL and rings the doorbell. One
 * slot stays empty, so that HEAD == TAIL means an empty ring. */
static void submit(const uint8_t (*descs)[TRETA_DESC_BYTES], uint32_t count) {
    uint32_t head = reg(TRETA_QUEUE_REG(0, TRETA_QUEUE_HEAD_OFFSET));
    uint32_t used = (tail + RING_SIZE - head) % RING_SIZE;
    if (count > RING_SIZE - 1 - used) {
        fprintf(stderr, "gemm_ring: %" PRIu32 " descriptors do not fit the ring's %" PRIu32
                        " free slots\n", count, RING_SIZE - 1 - used);
        exit(1);
    }
    for (uint32_t i = 0; i < count; i++) {
        check(treta_write_mem(vp, dram(RING_ADDR + (uint64_t)tail * TRETA_DESC_BYTES), descs[i],
                              TRETA_DESC_BYTES),
              "writing a descriptor");
        tail = (tail + 1) % RING_SIZE;
    }
    set_reg(TRETA_QUEUE_REG(0, TRETA_QUEUE_TAIL_OFFSET), tail);
    set_reg(TRETA_QUEUE_REG(0, TRETA_QUEUE_DOORBELL_OFFSET), 1);
}

/* Waits for the next interrupt; returns IRQ_STATUS (cleared). */
static uint32_t wait_interrupt(void) {
    uint64_t at_ps = 0;
    check(treta_wait_irq(vp, &at_ps), "waiting for the interrupt");
    uint32_t status = reg(TRETA_IRQ_STATUS_OFFSET);
    set_reg(TRETA_IRQ_STATUS_OFFSET, status);
    return status;
}

/* A packed rows x cols tensor moved between DRAM (fp32) and SRAM (`sram_format`). */
static treta_dma_t tile(uint64_t dram_addr, uint32_t sram_addr, uint32_t rows, uint32_t cols,
                        uint8_t src_format, uint8_t dst_format) {
    treta_dma_t d = {0};
    d.dram_addr = dram_addr;
    d.sram_addr = sram_addr;
    d.rows = rows;
    d.row_bytes = cols * treta_format_bytes(src_format);
    d.planes = 1;
    d.src_format = src_format;
    d.dst_format = dst_format;
    return d;
}

/* Small integers: exact in fp8 E4M3, and their dot products exact in fp32. */
static float a_value(uint32_t g, uint32_t r, uint32_t c) { return (float)((int)((r * 7 + c * 3 + g) % 9) - 4); }
static float b_value(uint32_t g, uint32_t r, uint32_t c) { return (float)((int)((r * 5 + c * 11 + 2 * g) % 7) - 3); }

/* Runs GEMM `g` through the ring; returns the number of wrong elements of C. */
static uint32_t run_gemm(uint32_t g) {
    const shape_t s = GEMMS[g];
    float *a = malloc(sizeof(float) * s.m * s.k);
    float *b = malloc(sizeof(float) * s.k * s.n);
    float *c = malloc(sizeof(float) * s.m * s.n);
    if (!a || !b || !c) {
        fprintf(stderr, "gemm_ring: out of memory\n");
        exit(1);
    }
    for (uint32_t r = 0; r < s.m; r++)
        for (uint32_t col = 0; col < s.k; col++) a[r * s.k + col] = a_value(g, r, col);
    for (uint32_t r = 0; r < s.k; r++)
        for (uint32_t col = 0; col < s.n; col++) b[r * s.n + col] = b_value(g, r, col);
    check(treta_write_mem(vp, dram(DRAM_A), a, sizeof(float) * s.m * s.k), "writing A");
    check(treta_write_mem(vp, dram(DRAM_B), b, sizeof(float) * s.k * s.n), "writing B");

    uint8_t descs[5][TRETA_DESC_BYTES];
    uint32_t id = g << 16;
    treta_dma_t load_a = tile(DRAM_A, SRAM_A, s.m, s.k, TRETA_FMT_FP32, TRETA_FMT_FP8_E4M3);
    treta_dma_t load_b = tile(DRAM_B, SRAM_B, s.k, s.n, TRETA_FMT_FP32, TRETA_FMT_FP8_E4M3);
    treta_dma_t store_c = tile(DRAM_C, SRAM_C, s.m, s.n, TRETA_FMT_FP32, TRETA_FMT_FP32);
    treta_gemm_t gemm = {0};
    gemm.m = s.m;
    gemm.k = s.k;
    gemm.n = s.n;
    gemm.a_addr = SRAM_A;
    gemm.b_addr = SRAM_B;
    gemm.c_addr = SRAM_C;
    gemm.a_format = TRETA_FMT_FP8_E4M3;
    gemm.b_format = TRETA_FMT_FP8_E4M3;
    gemm.c_format = TRETA_FMT_FP32;
    treta_irq_t irq = {g + 1};
    treta_dma_pack(descs[0], TRETA_OP_DMA_LOAD, 0, id | 0, &load_a);
    treta_dma_pack(descs[1], TRETA_OP_DMA_LOAD, 0, id | 1, &load_b);
    treta_gemm_pack(descs[2], TRETA_OP_GEMM, 0, id | 2, &gemm);
    treta_dma_pack(descs[3], TRETA_OP_DMA_STORE, 0, id | 3, &store_c);
    treta_irq_pack(descs[4], TRETA_OP_IRQ, 0, id | 4, &irq);
    submit((const uint8_t(*)[TRETA_DESC_BYTES])descs, 5);

    uint32_t status = wait_interrupt();
    if (status & TRETA_IRQ_STATUS_ERROR_Msk) {
        fprintf(stderr, "gemm_ring: GEMM %" PRIu32 ": device error %" PRIu32 " (%s)\n", g,
                reg(TRETA_ERR_CODE_OFFSET), treta_device_error_str(reg(TRETA_ERR_CODE_OFFSET)));
        exit(1);
    }
    if (reg(TRETA_IRQ_CODE_OFFSET) != g + 1) {
        fprintf(stderr, "gemm_ring: GEMM %" PRIu32 ": IRQ code %" PRIu32 "\n", g,
                reg(TRETA_IRQ_CODE_OFFSET));
        exit(1);
    }
    check(treta_read_mem(vp, dram(DRAM_C), c, sizeof(float) * s.m * s.n), "reading C");
    uint32_t wrong = 0;
    for (uint32_t r = 0; r < s.m; r++) {
        for (uint32_t col = 0; col < s.n; col++) {
            float want = 0.0f;
            for (uint32_t i = 0; i < s.k; i++) want += a_value(g, r, i) * b_value(g, i, col);
            if (c[r * s.n + col] != want) {
                if (wrong < 3) {
                    fprintf(stderr, "gemm_ring: GEMM %" PRIu32 " C[%" PRIu32 "][%" PRIu32
                                    "] = %g, expected %g\n", g, r, col, c[r * s.n + col], want);
                }
                wrong++;
            }
        }
    }
    printf("GEMM %" PRIu32 " (%" PRIu32 "x%" PRIu32 "x%" PRIu32 "): %" PRIu32
           " of %" PRIu32 " elements wrong\n", g, s.m, s.k, s.n, wrong, s.m * s.n);
    free(a);
    free(b);
    free(c);
    return wrong;
}

/* Submits a GEMM whose C ends past the SRAM; the device must refuse it. Returns 0
 * if it did, naming SRAM_OVERFLOW and the field c_addr. */
static int refused_overflow(void) {
    treta_gemm_t gemm = {0};
    gemm.m = 64;
    gemm.k = 64;
    gemm.n = 64;
    gemm.a_addr = SRAM_A;
    gemm.b_addr = SRAM_B;
    gemm.c_addr = 0xFFFFF000U; /* far past any SRAM */
    gemm.a_format = TRETA_FMT_FP8_E4M3;
    gemm.b_format = TRETA_FMT_FP8_E4M3;
    gemm.c_format = TRETA_FMT_FP32;
    uint8_t desc[1][TRETA_DESC_BYTES];
    treta_gemm_pack(desc[0], TRETA_OP_GEMM, 0, 0xBAD, &gemm);
    submit((const uint8_t(*)[TRETA_DESC_BYTES])desc, 1);
    uint32_t status = wait_interrupt();
    uint32_t code = reg(TRETA_ERR_CODE_OFFSET);
    uint32_t field = reg(TRETA_ERR_FIELD_OFFSET);
    printf("bad GEMM: IRQ_STATUS 0x%" PRIX32 ", ERR_CODE %" PRIu32 " (%s), ERR_FIELD byte %" PRIu32
           ", ERR_INDEX %" PRIu32 "\n", status, code, treta_device_error_str(code), field,
           reg(TRETA_ERR_INDEX_OFFSET));
    return (status & TRETA_IRQ_STATUS_ERROR_Msk) && code == TRETA_ERR_SRAM_OVERFLOW &&
                   field == TRETA_DESC_GEMM_C_ADDR_OFFSET
               ? 0
               : 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: gemm_ring unix:PATH|tcp:HOST:PORT\n");
        return 2;
    }
    char err[512];
    if (treta_connect(argv[1], 10000, &vp, err, sizeof err) != TRETA_OK) {
        fprintf(stderr, "gemm_ring: %s\n", err);
        return 1;
    }
    bring_up();
    uint32_t wrong = 0;
    for (uint32_t g = 0; g < sizeof GEMMS / sizeof GEMMS[0]; g++) wrong += run_gemm(g);
    int fault_ok = refused_overflow();
    uint64_t end_ps = 0;
    char *report = NULL;
    check(treta_finish(vp, &end_ps, &report), "FINISH");
    printf("finished at %" PRIu64 " ps; report of %zu bytes\n", end_ps, report ? strlen(report) : 0);
    free(report);
    treta_close(vp);
    if (wrong != 0 || fault_ok != 0) {
        fprintf(stderr, "gemm_ring: FAILED (%" PRIu32 " wrong elements, fault %s)\n", wrong,
                fault_ok ? "not reported as expected" : "ok");
        return 1;
    }
    printf("gemm_ring: all GEMMs correct, the bad descriptor refused\n");
    return 0;
}
