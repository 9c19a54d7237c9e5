/*
 * treta_remote.c: the C client of the remote firmware protocol (docs/remote.md).
 * C99 + POSIX (sockets, nanosleep); no other dependency.
 */
#define _POSIX_C_SOURCE 200809L

#include "treta_remote.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Operations (docs/remote.md, "Operations"). */
enum {
    OP_HELLO = 0x01,
    OP_READ32 = 0x10,
    OP_WRITE32 = 0x11,
    OP_READ64 = 0x12,
    OP_WRITE64 = 0x13,
    OP_READ_MEM = 0x20,
    OP_WRITE_MEM = 0x21,
    OP_WAIT_IRQ = 0x30,
    OP_WAIT_IRQ_FOR = 0x31,
    OP_ADVANCE = 0x32,
    OP_NOW = 0x33,
    OP_FINISH = 0x40,
};

/* Bytes of a frame's header after `len`: kind, op, status, id. */
#define HEADER_AFTER_LEN 8U

struct treta_client {
    int fd;
    uint32_t next_id;
    treta_map_t map;
    char error[512];
    /* The last response's payload (grown as needed). */
    uint8_t *payload;
    size_t payload_len;
    size_t payload_cap;
};

static const char *op_name(uint8_t op) {
    switch (op) {
    case OP_HELLO: return "HELLO";
    case OP_READ32: return "READ32";
    case OP_WRITE32: return "WRITE32";
    case OP_READ64: return "READ64";
    case OP_WRITE64: return "WRITE64";
    case OP_READ_MEM: return "READ_MEM";
    case OP_WRITE_MEM: return "WRITE_MEM";
    case OP_WAIT_IRQ: return "WAIT_IRQ";
    case OP_WAIT_IRQ_FOR: return "WAIT_IRQ_FOR";
    case OP_ADVANCE: return "ADVANCE";
    case OP_NOW: return "NOW";
    case OP_FINISH: return "FINISH";
    default: return "?";
    }
}

static void fail(treta_client_t *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes) {
    for (unsigned i = 0; i < bytes; i++) {
        p[i] = (uint8_t)(v >> (8U * i));
    }
}

static uint64_t get_le(const uint8_t *p, unsigned bytes) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v |= (uint64_t)p[i] << (8U * i);
    }
    return v;
}

static int send_all(int fd, const void *buf, size_t len) {
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int recv_all(int fd, void *buf, size_t len) {
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/*
 * Sends one request (`head` then `body`, either may be empty) and reads its
 * response into c->payload. Returns TRETA_OK, the response's status, or TRETA_EIO.
 */
static int call(treta_client_t *c, uint8_t op, const void *head, size_t head_len, const void *body,
                size_t body_len) {
    uint8_t frame[4 + HEADER_AFTER_LEN];
    uint32_t id = c->next_id++;
    size_t payload = head_len + body_len;
    if (payload > TRETA_MAX_PAYLOAD) {
        fail(c, "%s: payload of %zu bytes is over the protocol's 16 MiB", op_name(op), payload);
        return TRETA_EIO;
    }
    put_le(frame, HEADER_AFTER_LEN + payload, 4);
    frame[4] = 0; /* request */
    frame[5] = op;
    put_le(frame + 6, 0, 2);
    put_le(frame + 8, id, 4);
    if (send_all(c->fd, frame, sizeof frame) || send_all(c->fd, head, head_len) ||
        send_all(c->fd, body, body_len)) {
        fail(c, "%s: sending: %s", op_name(op), strerror(errno));
        return TRETA_EIO;
    }
    if (recv_all(c->fd, frame, sizeof frame)) {
        fail(c, "%s: the server closed the connection", op_name(op));
        return TRETA_EIO;
    }
    uint32_t len = (uint32_t)get_le(frame, 4);
    uint16_t status = (uint16_t)get_le(frame + 6, 2);
    uint32_t answered = (uint32_t)get_le(frame + 8, 4);
    if (len < HEADER_AFTER_LEN || len - HEADER_AFTER_LEN > TRETA_MAX_PAYLOAD || frame[4] != 1) {
        fail(c, "%s: malformed response frame (len %u, kind %u)", op_name(op), len, frame[4]);
        return TRETA_EIO;
    }
    size_t n = len - HEADER_AFTER_LEN;
    if (n + 1 > c->payload_cap) {
        uint8_t *grown = realloc(c->payload, n + 1);
        if (!grown) {
            fail(c, "%s: out of memory for a %zu-byte answer", op_name(op), n);
            return TRETA_EIO;
        }
        c->payload = grown;
        c->payload_cap = n + 1;
    }
    if (recv_all(c->fd, c->payload, n)) {
        fail(c, "%s: the server closed the connection mid-answer", op_name(op));
        return TRETA_EIO;
    }
    c->payload[n] = 0; /* error messages and the report read as strings */
    c->payload_len = n;
    if (status != 0) {
        fail(c, "%s: %.*s (status %u)", op_name(op), (int)n, (const char *)c->payload, status);
        return status;
    }
    if (answered != id || frame[5] != op) {
        fail(c, "%s: answer to another request (op %u, id %u, expected id %u)", op_name(op),
             frame[5], answered, id);
        return TRETA_EIO;
    }
    c->error[0] = 0;
    return TRETA_OK;
}

/* Checks that a success answer has exactly `want` payload bytes. */
static int expect_len(treta_client_t *c, uint8_t op, size_t want) {
    if (c->payload_len != want) {
        fail(c, "%s: answer of %zu bytes, expected %zu", op_name(op), c->payload_len, want);
        return TRETA_EIO;
    }
    return TRETA_OK;
}

/* Opens the socket of "unix:PATH" or "tcp:HOST:PORT"; -1 with errno/err set. */
static int open_socket(const char *endpoint, char *err, size_t err_len) {
    if (strncmp(endpoint, "unix:", 5) == 0) {
        struct sockaddr_un addr;
        memset(&addr, 0, sizeof addr);
        addr.sun_family = AF_UNIX;
        if (strlen(endpoint + 5) >= sizeof addr.sun_path) {
            snprintf(err, err_len, "%s: socket path too long", endpoint);
            errno = ENAMETOOLONG;
            return -1;
        }
        strcpy(addr.sun_path, endpoint + 5);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
            return fd;
        }
        int saved = errno;
        snprintf(err, err_len, "%s: %s", endpoint, strerror(saved));
        if (fd >= 0) {
            close(fd);
        }
        errno = saved;
        return -1;
    }
    if (strncmp(endpoint, "tcp:", 4) == 0) {
        char host[256];
        const char *rest = endpoint + 4;
        const char *colon = strrchr(rest, ':');
        if (!colon || (size_t)(colon - rest) >= sizeof host) {
            snprintf(err, err_len, "%s: expected tcp:HOST:PORT", endpoint);
            errno = EINVAL;
            return -1;
        }
        memcpy(host, rest, (size_t)(colon - rest));
        host[colon - rest] = 0;
        struct addrinfo hints, *found = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        int gai = getaddrinfo(host, colon + 1, &hints, &found);
        if (gai != 0) {
            snprintf(err, err_len, "%s: %s", endpoint, gai_strerror(gai));
            errno = EINVAL;
            return -1;
        }
        int fd = -1, saved = ECONNREFUSED;
        for (struct addrinfo *a = found; a; a = a->ai_next) {
            fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
            if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
                break;
            }
            saved = errno;
            if (fd >= 0) {
                close(fd);
            }
            fd = -1;
        }
        freeaddrinfo(found);
        if (fd < 0) {
            snprintf(err, err_len, "%s: %s", endpoint, strerror(saved));
            errno = saved;
            return -1;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return fd;
    }
    snprintf(err, err_len, "%s: an endpoint is unix:PATH or tcp:HOST:PORT", endpoint);
    errno = EINVAL;
    return -1;
}

int treta_connect(const char *endpoint, unsigned patience_ms, treta_client_t **out, char *err,
                  size_t err_len) {
    char scratch[1];
    if (!err) {
        err = scratch;
        err_len = sizeof scratch;
    }
    *out = NULL;
    int fd;
    for (unsigned waited = 0;; waited += 20) {
        fd = open_socket(endpoint, err, err_len);
        int retry = errno == ENOENT || errno == ECONNREFUSED;
        if (fd >= 0 || !retry || waited >= patience_ms) {
            break;
        }
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    if (fd < 0) {
        return TRETA_EIO;
    }
    treta_client_t *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        snprintf(err, err_len, "out of memory");
        return TRETA_EIO;
    }
    c->fd = fd;
    c->next_id = 1;
    uint8_t hello[10];
    memcpy(hello, "TRVP", 4);
    put_le(hello + 4, TRETA_PROTOCOL_VERSION, 2);
    put_le(hello + 6, 0, 4); /* no capabilities asked */
    int rc = call(c, OP_HELLO, hello, sizeof hello, NULL, 0);
    if (rc == TRETA_OK) {
        rc = expect_len(c, OP_HELLO, 2 + 4 + 4 * 8);
    }
    if (rc != TRETA_OK) {
        snprintf(err, err_len, "%s", c->error);
        treta_close(c);
        return rc;
    }
    const uint8_t *p = c->payload;
    c->map.version = (uint16_t)get_le(p, 2);
    c->map.capabilities = (uint32_t)get_le(p + 2, 4);
    c->map.regs_base = get_le(p + 6, 8);
    c->map.regs_size = get_le(p + 14, 8);
    c->map.dram_base = get_le(p + 22, 8);
    c->map.dram_size = get_le(p + 30, 8);
    *out = c;
    return TRETA_OK;
}

void treta_close(treta_client_t *c) {
    if (!c) {
        return;
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    free(c->payload);
    free(c);
}

const char *treta_error(const treta_client_t *c) { return c->error; }

const treta_map_t *treta_map(const treta_client_t *c) { return &c->map; }

int treta_read32(treta_client_t *c, uint64_t addr, uint32_t *value) {
    uint8_t req[8];
    put_le(req, addr, 8);
    int rc = call(c, OP_READ32, req, sizeof req, NULL, 0);
    if (rc == TRETA_OK && (rc = expect_len(c, OP_READ32, 4)) == TRETA_OK) {
        *value = (uint32_t)get_le(c->payload, 4);
    }
    return rc;
}

int treta_write32(treta_client_t *c, uint64_t addr, uint32_t value) {
    uint8_t req[12];
    put_le(req, addr, 8);
    put_le(req + 8, value, 4);
    int rc = call(c, OP_WRITE32, req, sizeof req, NULL, 0);
    return rc == TRETA_OK ? expect_len(c, OP_WRITE32, 0) : rc;
}

int treta_read64(treta_client_t *c, uint64_t addr, uint64_t *value) {
    uint8_t req[8];
    put_le(req, addr, 8);
    int rc = call(c, OP_READ64, req, sizeof req, NULL, 0);
    if (rc == TRETA_OK && (rc = expect_len(c, OP_READ64, 8)) == TRETA_OK) {
        *value = get_le(c->payload, 8);
    }
    return rc;
}

int treta_write64(treta_client_t *c, uint64_t addr, uint64_t value) {
    uint8_t req[16];
    put_le(req, addr, 8);
    put_le(req + 8, value, 8);
    int rc = call(c, OP_WRITE64, req, sizeof req, NULL, 0);
    return rc == TRETA_OK ? expect_len(c, OP_WRITE64, 0) : rc;
}

int treta_reg_read(treta_client_t *c, uint32_t offset, uint32_t *value) {
    return treta_read32(c, c->map.regs_base + offset, value);
}

int treta_reg_write(treta_client_t *c, uint32_t offset, uint32_t value) {
    return treta_write32(c, c->map.regs_base + offset, value);
}

int treta_read_mem(treta_client_t *c, uint64_t addr, void *buf, size_t len) {
    uint8_t *out = buf;
    do {
        size_t n = len < TRETA_MAX_PAYLOAD ? len : TRETA_MAX_PAYLOAD;
        uint8_t req[12];
        put_le(req, addr, 8);
        put_le(req + 8, n, 4);
        int rc = call(c, OP_READ_MEM, req, sizeof req, NULL, 0);
        if (rc == TRETA_OK) {
            rc = expect_len(c, OP_READ_MEM, n);
        }
        if (rc != TRETA_OK) {
            return rc;
        }
        if (n > 0) {
            memcpy(out, c->payload, n);
        }
        out += n;
        addr += n;
        len -= n;
    } while (len > 0);
    return TRETA_OK;
}

int treta_write_mem(treta_client_t *c, uint64_t addr, const void *buf, size_t len) {
    const uint8_t *in = buf;
    do {
        size_t n = len < TRETA_MAX_PAYLOAD - 8 ? len : TRETA_MAX_PAYLOAD - 8;
        uint8_t req[8];
        put_le(req, addr, 8);
        int rc = call(c, OP_WRITE_MEM, req, sizeof req, in, n);
        if (rc == TRETA_OK) {
            rc = expect_len(c, OP_WRITE_MEM, 0);
        }
        if (rc != TRETA_OK) {
            return rc;
        }
        in += n;
        addr += n;
        len -= n;
    } while (len > 0);
    return TRETA_OK;
}

/* A request whose answer is one time [ps]. */
static int timed(treta_client_t *c, uint8_t op, const void *req, size_t req_len,
                 uint64_t *time_ps) {
    int rc = call(c, op, req, req_len, NULL, 0);
    if (rc == TRETA_OK && (rc = expect_len(c, op, 8)) == TRETA_OK && time_ps) {
        *time_ps = get_le(c->payload, 8);
    }
    return rc;
}

int treta_wait_irq(treta_client_t *c, uint64_t *time_ps) {
    return timed(c, OP_WAIT_IRQ, NULL, 0, time_ps);
}

int treta_wait_irq_for(treta_client_t *c, uint64_t timeout_ns, int *raised, uint64_t *time_ps) {
    uint8_t req[8];
    put_le(req, timeout_ns, 8);
    int rc = call(c, OP_WAIT_IRQ_FOR, req, sizeof req, NULL, 0);
    if (rc == TRETA_OK && (rc = expect_len(c, OP_WAIT_IRQ_FOR, 9)) == TRETA_OK) {
        if (raised) {
            *raised = c->payload[0] != 0;
        }
        if (time_ps) {
            *time_ps = get_le(c->payload + 1, 8);
        }
    }
    return rc;
}

int treta_advance(treta_client_t *c, uint64_t ns, uint64_t *time_ps) {
    uint8_t req[8];
    put_le(req, ns, 8);
    return timed(c, OP_ADVANCE, req, sizeof req, time_ps);
}

int treta_now(treta_client_t *c, uint64_t *time_ps) { return timed(c, OP_NOW, NULL, 0, time_ps); }

int treta_finish(treta_client_t *c, uint64_t *time_ps, char **report_json) {
    if (report_json) {
        *report_json = NULL;
    }
    int rc = call(c, OP_FINISH, NULL, 0, NULL, 0);
    if (rc != TRETA_OK) {
        return rc;
    }
    if (c->payload_len < 8) {
        fail(c, "FINISH: answer of %zu bytes, expected at least 8", c->payload_len);
        return TRETA_EIO;
    }
    if (time_ps) {
        *time_ps = get_le(c->payload, 8);
    }
    if (report_json) {
        size_t n = c->payload_len - 8;
        *report_json = malloc(n + 1);
        if (!*report_json) {
            fail(c, "FINISH: out of memory for the report");
            return TRETA_EIO;
        }
        memcpy(*report_json, c->payload + 8, n + 1); /* includes call()'s NUL */
    }
    return TRETA_OK;
}
