/*
 * treta_remote.h: a C client of the remote firmware protocol (docs/remote.md),
 * for firmware that drives `treta-vp serve` from another process.
 *
 * Blocking, one connection per client, no threads, POSIX sockets only (Unix
 * sockets and TCP with TCP_NODELAY). Every call sends one request and waits for
 * its answer, so simulated time moves only inside the wait calls.
 *
 * Every function returning `int` returns TRETA_OK (0) on success, a protocol
 * status (TRETA_STATUS_*, > 0) when the server answered with an error, or
 * TRETA_EIO (-1) when the connection failed; treta_error() then says what went
 * wrong, naming the operation and the address.
 */
#ifndef TRETA_REMOTE_H
#define TRETA_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Success. */
#define TRETA_OK 0
/** The connection failed (or the server's answer made no sense). */
#define TRETA_EIO (-1)

/** Protocol status codes (docs/remote.md, "Error codes"). */
typedef enum {
    TRETA_STATUS_BAD_VERSION = 1,
    TRETA_STATUS_UNKNOWN_OP = 2,
    TRETA_STATUS_OVERSIZED = 3,
    TRETA_STATUS_MALFORMED = 4,
    TRETA_STATUS_NOT_READY = 5,
    TRETA_STATUS_OUT_OF_MAP = 6,
    TRETA_STATUS_BUS_ERROR = 7,
    TRETA_STATUS_BUSY = 8,
    TRETA_STATUS_TIMEOUT = 9,
    TRETA_STATUS_STALLED = 10,
} treta_status_t;

/** The protocol version this library speaks. */
#define TRETA_PROTOCOL_VERSION 1U
/** Largest payload of one frame [bytes]; bulk transfers are split into such pieces. */
#define TRETA_MAX_PAYLOAD (16U * 1024U * 1024U)

/** The device map HELLO announces: where registers and DRAM are on the bus. */
typedef struct {
    uint16_t version;      /**< the protocol version the server speaks */
    uint32_t capabilities; /**< capability bits (none in version 1) */
    uint64_t regs_base;    /**< first byte of the register window */
    uint64_t regs_size;    /**< its size [bytes] */
    uint64_t dram_base;    /**< first byte of DRAM (device address 0) */
    uint64_t dram_size;    /**< its size [bytes] */
} treta_map_t;

/** A connection to a server. */
typedef struct treta_client treta_client_t;

/**
 * Connects to `endpoint` ("unix:PATH" or "tcp:HOST:PORT") and says HELLO,
 * retrying for up to `patience_ms` milliseconds while nobody listens yet (0: try
 * once). On success `*out` is the client (free it with treta_close); on failure
 * `*out` is NULL and `err` (if not NULL) holds the reason.
 */
int treta_connect(const char *endpoint, unsigned patience_ms, treta_client_t **out, char *err,
                  size_t err_len);

/** Closes the connection and frees the client (NULL is fine). */
void treta_close(treta_client_t *c);

/** What the last failed call said (empty after a success). */
const char *treta_error(const treta_client_t *c);

/** The device map from HELLO. */
const treta_map_t *treta_map(const treta_client_t *c);

/** Reads a 32-bit register at bus address `addr`. */
int treta_read32(treta_client_t *c, uint64_t addr, uint32_t *value);
/** Writes a 32-bit register at bus address `addr`. */
int treta_write32(treta_client_t *c, uint64_t addr, uint32_t value);
/** Reads 8 bytes of DRAM at bus address `addr` as one transaction. */
int treta_read64(treta_client_t *c, uint64_t addr, uint64_t *value);
/** Writes 8 bytes of DRAM at bus address `addr` as one transaction. */
int treta_write64(treta_client_t *c, uint64_t addr, uint64_t value);

/** Register helpers: `offset` is a TRETA_*_OFFSET of treta_abi.h. */
int treta_reg_read(treta_client_t *c, uint32_t offset, uint32_t *value);
/** Writes the register at `offset` of the register window. */
int treta_reg_write(treta_client_t *c, uint32_t offset, uint32_t value);

/** Copies `len` bytes of DRAM at bus address `addr` into `buf` (debug port, no time). */
int treta_read_mem(treta_client_t *c, uint64_t addr, void *buf, size_t len);
/** Copies `len` bytes from `buf` into DRAM at bus address `addr` (debug port, no time). */
int treta_write_mem(treta_client_t *c, uint64_t addr, const void *buf, size_t len);

/** Advances simulated time until the interrupt line is high; `time_ps` (may be NULL) is then. */
int treta_wait_irq(treta_client_t *c, uint64_t *time_ps);
/** As treta_wait_irq, giving up after `timeout_ns`: `*raised` is 1 if the line went high. */
int treta_wait_irq_for(treta_client_t *c, uint64_t timeout_ns, int *raised, uint64_t *time_ps);
/** Advances simulated time by `ns` nanoseconds (a delay loop). */
int treta_advance(treta_client_t *c, uint64_t ns, uint64_t *time_ps);
/** The simulated time [ps]. */
int treta_now(treta_client_t *c, uint64_t *time_ps);

/**
 * Ends the run: the server writes its report and trace and answers with the
 * simulated time and the report's JSON (`*report_json`, NUL-terminated, free()
 * it; pass NULL not to keep it). The connection is closed after.
 */
int treta_finish(treta_client_t *c, uint64_t *time_ps, char **report_json);

#ifdef __cplusplus
}
#endif

#endif /* TRETA_REMOTE_H */
