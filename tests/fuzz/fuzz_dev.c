/*
 * fuzz_dev.c - memory maps, checked RAM flash, input decoding, invariants
 * and the recovery check shared by the control-endpoint fuzz harnesses.
 * See fuzz_dev.h.
 */
#include "fuzz_dev.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udfu_util.h"

#define R UDFU_MEM_READ
#define E UDFU_MEM_ERASE
#define W UDFU_MEM_WRITE

/* DfuSe, like an STM32: a bootloader nobody may write, then every other
 * kind of region, a gap, and flash that ends exactly at 4 GiB (address
 * arithmetic that wraps shows there). */
static const struct udfu_region map_flash[] = {
    {0x08000000u, 1024, 4, R, 2, 0},         /* bootloader */
    {0x08001000u, 1024, 4, R | E | W, 3, 900},
    {0x08002000u, 2048, 2, R | W, 0, 100},   /* RAM-like: no erase needed */
    {0x08003000u, 1024, 2, E | W, 3, 900},   /* write-only: upload refused */
    {0x08010000u, 512, 2, E, 1, 0},          /* erase-only */
    {0x1FFF7800u, 512, 1, R, 0, 0},          /* OTP */
    {0xFFFFF000u, 1024, 4, R | E | W, 3, 900},
};
/* Plain DFU: an image area followed by read-only memory. */
static const struct udfu_region map_app[] = {
    {0x08001000u, 1024, 4, R | E | W, 3, 900},
    {0x08002000u, 2048, 2, R | E | W, 5, 900},
    {0x08003000u, 1024, 1, R, 0, 0},
};
/* DfuSe with nothing erasable (option bytes): mass erase has no sector. */
static const struct udfu_region map_opt[] = {
    {0x1FFFC000u, 16, 2, R | W, 0, 0},
    {0x1FFFC800u, 64, 1, R, 0, 0},
};
/* Plain DFU with a gap, ending at 4 GiB. */
static const struct udfu_region map_top[] = {
    {0xFFFFE000u, 1024, 2, R | E | W, 2, 500},
    {0xFFFFF000u, 1024, 4, R | E | W, 2, 500},
};

static const struct udfu_target all_targets[FZ_MAX_TARGETS] = {
    {"Internal Flash", map_flash, 7, 1},
    {"Application", map_app, 3, 0},
    {"Option Bytes", map_opt, 2, 1},
    {"Top", map_top, 2, 0},
};
static const uint8_t orders[2][FZ_MAX_TARGETS] = {{0, 1, 2, 3}, {1, 3, 0, 2}};
/* Builds without plain DFU targets (UDFU_CFG_PLAIN 0) get the DfuSe ones. */
static const uint8_t dfuse_orders[2][2] = {{0, 2}, {2, 0}};

/* Where the recovery check writes on the DfuSe target (erasable, writable). */
#define REC_DFUSE_ADDR 0x08001400u

void fz_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\n*** udfu invariant violated: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    abort();
}

/* FZ_TRACE=1 in the environment prints every action (to read a crash). */
static int tracing = -1;

void fz_trace(const struct fz *z, const char *fmt, ...)
{
    va_list ap;
    if (tracing < 0)
        tracing = getenv("FZ_TRACE") != NULL;
    if (!tracing)
        return;
#if UDFU_CFG_PIPELINE
    unsigned next = z->dfu.next_op;
#else
    unsigned next = 0;
#endif
    fprintf(stderr, "[t=%u alt=%u st=%u/%u busy=%d(%u/%u ph%u f%02x) pend=%c] ", z->now,
            z->dfu.alt, udfu_dfu_state(&z->dfu), udfu_dfu_status(&z->dfu),
            udfu_dfu_busy(&z->dfu), z->dfu.op, next, z->dfu.phase, z->dfu.flags,
            z->pending ? z->pending : '-');
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

/* ---- the checked flash ---------------------------------------------------------- */

static const struct udfu_target *tgt(const struct fz *z, uint8_t alt)
{
    FZ_CHECK(alt < z->cfg.target_count, "callback for alt %u of %u", alt, z->cfg.target_count);
    return z->targets[alt];
}

/* Region index holding addr, or -1. 64-bit arithmetic: nothing wraps. */
static int region_of(const struct udfu_target *t, uint32_t addr)
{
    int i;
    for (i = 0; i < t->region_count; i++) {
        const struct udfu_region *r = &t->regions[i];
        uint64_t end = (uint64_t)r->start + (uint64_t)r->sector_size * r->sector_count;
        if (addr >= r->start && addr < end)
            return i;
    }
    return -1;
}

/* Whether [addr, addr + len) lies in regions that all have `need`. */
static int range_ok(const struct udfu_target *t, uint32_t addr, uint32_t len, uint8_t need)
{
    uint64_t a = addr, end = (uint64_t)addr + len;
    if (end > 0x100000000ull)
        return 0;
    while (a < end) {
        int i = region_of(t, (uint32_t)a);
        const struct udfu_region *r;
        if (i < 0)
            return 0;
        r = &t->regions[i];
        if ((r->attr & need) != need)
            return 0;
        a = (uint64_t)r->start + (uint64_t)r->sector_size * r->sector_count;
    }
    return 1;
}

/* Memory at addr and how many bytes of it are contiguous (to the end of
 * its region, at most want). */
static uint8_t *mem_span(struct fz *z, uint8_t alt, uint32_t addr, uint32_t want, uint32_t *n,
                         uint8_t *attr)
{
    const struct udfu_target *t = tgt(z, alt);
    int i = region_of(t, addr);
    uint8_t slot = (uint8_t)(t - all_targets);
    uint32_t off;
    FZ_CHECK(i >= 0, "no memory at 0x%08x", addr);
    off = addr - t->regions[i].start;
    *n = z->mem[slot][i].size - off < want ? z->mem[slot][i].size - off : want;
    if (attr)
        *attr = t->regions[i].attr;
    return z->mem[slot][i].mem + off;
}

/* Copies memory [addr, addr + len) out (dir 0) or in (dir 1), or compares
 * it with buf (dir 2: returns 0 if equal). */
static int mem_copy(struct fz *z, uint8_t alt, uint32_t addr, uint8_t *buf, uint32_t len,
                    int dir)
{
    while (len) {
        uint32_t n;
        uint8_t *p = mem_span(z, alt, addr, len, &n, NULL);
        if (dir == 0)
            memcpy(buf, p, n);
        else if (dir == 1)
            memcpy(p, buf, n);
        else if (memcmp(p, buf, n))
            return 1;
        buf += n;
        addr += n;
        len -= n;
    }
    return 0;
}

/* Memory work starts from the main loop (udfu_dfu_task), never inside a
 * USB event, and one call at a time. */
static void check_idle_backend(const struct fz *z, const char *what)
{
    FZ_CHECK(!z->in_isr, "%s called from inside a USB event", what);
    FZ_CHECK(!z->pending, "%s called while '%c' is still running", what, z->pending);
}

static int result(struct fz *z, int op)
{
    int err = z->fail_next;
    z->fail_next = 0;
    if (err)
        return err;
    if (z->async) {
        z->pending = op;
        return UDFU_ERR_PENDING;
    }
    return 0;
}

static int cb_read(void *ctx, uint8_t alt, uint32_t addr, uint8_t *buf, uint32_t len)
{
    struct fz *z = ctx;
    FZ_CHECK(len >= 1 && len <= z->cfg.transfer_size, "read of %u bytes", len);
    FZ_CHECK(fz_in_buf(z, buf, len), "read into a buffer that is not the transfer buffer");
    FZ_CHECK(range_ok(tgt(z, alt), addr, len, R), "read of unreadable 0x%08x+%u (alt %u)", addr,
             len, alt);
    FZ_CHECK(z->pending != 'p' && z->pending != 'v',
             "read() into the buffer while '%c' still uses it", z->pending);
    z->reads++;
    z->rd_alt = alt;
    z->rd_addr = addr;
    z->rd_len = len;
    z->rd_buf = buf;
    mem_copy(z, alt, addr, buf, len, 0);
    return 0;
}

static int cb_erase(void *ctx, uint8_t alt, uint32_t addr, uint32_t size)
{
    struct fz *z = ctx;
    const struct udfu_target *t = tgt(z, alt);
    int i = region_of(t, addr);
    check_idle_backend(z, "erase");
    FZ_CHECK(i >= 0 && (t->regions[i].attr & E), "erase of non-erasable 0x%08x (alt %u)", addr,
             alt);
    FZ_CHECK((addr - t->regions[i].start) % t->regions[i].sector_size == 0 &&
                 size == t->regions[i].sector_size,
             "erase of 0x%08x+%u is not one sector", addr, size);
    z->erases++;
    z->dirty = 1;
    if (!z->fail_next)
        memset(mem_span(z, alt, addr, size, &size, NULL), 0xFF, size);
    return result(z, 'e');
}

/* NOR flash can only clear bits: erasable regions must be erased first;
 * RAM-like regions (not erasable) take any value. */
static int apply_prog(struct fz *z, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    uint32_t a = addr, left = len, i, n;
    const uint8_t *b = buf;
    while (left) {
        uint8_t attr;
        uint8_t *p = mem_span(z, alt, a, left, &n, &attr);
        for (i = 0; (attr & E) && i < n; i++)
            if ((p[i] & b[i]) != b[i])
                return UDFU_ERR_NOT_ERASED;
        a += n;
        b += n;
        left -= n;
    }
    mem_copy(z, alt, addr, (uint8_t *)buf, len, 1);
    return 0;
}

static void check_prog_args(struct fz *z, const char *what, uint8_t alt, uint32_t addr,
                            const uint8_t *buf, uint32_t len)
{
    check_idle_backend(z, what);
    FZ_CHECK(len >= 1 && len <= z->cfg.transfer_size, "%s of %u bytes", what, len);
    FZ_CHECK(fz_in_buf(z, buf, len) && buf + len <= z->buf + z->buf_size &&
                 (buf - z->buf) % z->cfg.transfer_size == 0,
             "%s from a buffer that is not one of the transfer buffers", what);
    FZ_CHECK(range_ok(tgt(z, alt), addr, len, W), "%s of unwritable 0x%08x+%u (alt %u)", what,
             addr, len, alt);
    FZ_CHECK(memcmp(buf, z->taken[(buf - z->buf) / z->cfg.transfer_size], len) == 0,
             "%s of data other than the DNLOAD the class took", what);
}

static int cb_prog(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    struct fz *z = ctx;
    int err;
    check_prog_args(z, "prog", alt, addr, buf, len);
    z->progs++;
    z->dirty = 1;
    if (z->fail_next) {
        err = z->fail_next;
        z->fail_next = 0;
        return err;
    }
    if (!z->async)
        return apply_prog(z, alt, addr, buf, len);
    /* The core must leave buf alone until complete(): snapshot it and
     * program at completion, from the buffer as it is then. */
    memcpy(z->pend_snap, buf, len);
    z->pend_src = buf;
    z->pending = 'p';
    z->pend_alt = alt;
    z->pend_addr = addr;
    z->pend_len = len;
    return UDFU_ERR_PENDING;
}

static int cb_verify(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    struct fz *z = ctx;
    check_prog_args(z, "verify", alt, addr, buf, len);
    if (mem_copy(z, alt, addr, (uint8_t *)buf, len, 2))
        return UDFU_ERR_VERIFY;
    if (z->async) {
        memcpy(z->pend_snap, buf, len);
        z->pend_src = buf;
        z->pend_alt = alt;
        z->pend_addr = addr;
        z->pend_len = len;
    }
    return result(z, 'v');
}

static int cb_manifest(void *ctx, uint8_t alt)
{
    struct fz *z = ctx;
    int err;
    check_idle_backend(z, "manifest");
    (void)tgt(z, alt);
    err = result(z, 'm');
    if (err == 0)
        z->dirty = 0;
    return err;
}

static int cb_unprotect(void *ctx, uint8_t alt)
{
    struct fz *z = ctx;
    const struct udfu_target *t = tgt(z, alt);
    check_idle_backend(z, "unprotect");
    FZ_CHECK(t->dfuse, "unprotect on a plain DFU target");
    return result(z, 'u');
}

static void cb_leave(void *ctx, uint32_t addr)
{
    struct fz *z = ctx;
    const struct udfu_target *t = z->targets[z->dfu.alt];
    check_idle_backend(z, "leave");
    FZ_CHECK(z->may_leave, "leave() although the host never ended a download");
    FZ_CHECK(!(z->have_manifest && z->dirty),
             "leave() to memory written after the last successful manifest()");
    if (t->dfuse)
        FZ_CHECK(addr == 0 || region_of(t, addr) >= 0, "leave to 0x%08x outside the map", addr);
    else
        FZ_CHECK(addr == 0, "plain DFU leave to 0x%08x", addr);
    fz_trace(z, "leave(0x%08x)", addr);
    z->leaves++;
    z->rebooted = 1;
    z->may_leave = 0;
}

/* ---- configuration -------------------------------------------------------------- */

static const uint16_t xfer_sizes[8] = {1024, 64, 8, 256, 2048, 4096, 5, 0};

static uint32_t pattern_byte(uint8_t slot, uint32_t addr)
{
    uint32_t h = (addr ^ (uint32_t)slot << 28) * 2654435761u;
    return h >> 24;
}

/* The initial memory contents: a pattern that tells addresses apart,
 * computed once. */
static uint8_t *pristine[FZ_MAX_TARGETS][FZ_MAX_REGIONS];

static void mem_init(struct fz *z)
{
    uint8_t s;
    int i;
    for (s = 0; s < FZ_MAX_TARGETS; s++) {
        const struct udfu_target *t = &all_targets[s];
        for (i = 0; i < t->region_count; i++) {
            const struct udfu_region *r = &t->regions[i];
            uint32_t k, size = r->sector_size * r->sector_count;
            if (!pristine[s][i]) {
                pristine[s][i] = malloc(size);
                FZ_CHECK(pristine[s][i] != NULL, "out of memory");
                for (k = 0; k < size; k++)
                    pristine[s][i][k] = (uint8_t)pattern_byte(s, r->start + k);
            }
            z->mem[s][i].size = size;
            z->mem[s][i].mem = malloc(size);
            FZ_CHECK(z->mem[s][i].mem != NULL, "out of memory");
            memcpy(z->mem[s][i].mem, pristine[s][i], size);
        }
    }
}

void fz_dfu_init(struct fz *z)
{
    FZ_CHECK(udfu_dfu_init(&z->dfu, &z->cfg) == 0, "udfu_dfu_init failed");
    udfu_dfu_task(&z->dfu, z->now);
    z->pending = 0;
    z->rebooted = 0;
    z->may_leave = 0;
}

int fz_init(struct fz *z, const struct fz_port *port, void *harness, struct fz_in *in)
{
    uint8_t b0, b1, b2, i, count;
    uint16_t xfer;
    if (in->n < 3)
        return -1;
    memset(z, 0, sizeof *z);
    b0 = fz_u8(in);
    b1 = fz_u8(in);
    b2 = fz_u8(in);
    z->port = port;
    z->harness = harness;
    z->now = 1000;
#if UDFU_CFG_PLAIN
    count = (uint8_t)(1 + (b0 & 3));
#else
    count = (uint8_t)(1 + (b0 & 1));
#endif
    for (i = 0; i < count; i++) {
        z->targets[i] = &all_targets[UDFU_CFG_PLAIN ? orders[(b0 >> 2) & 1][i]
                                                    : dfuse_orders[(b0 >> 2) & 1][i]];
        z->target_tab[i] = *z->targets[i];
    }
    /* 0 in the input means the common case: download and upload on. */
    z->cfg.attributes = (uint8_t)(((b0 >> 3) & 0x0Fu) ^ (UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD));
    z->async = UDFU_CFG_ASYNC && (b0 >> 7); /* else callbacks are synchronous */
    xfer = xfer_sizes[b1 & 7];
    if (!xfer)
        xfer = (uint16_t)(1 + fz_u16(in) % FZ_XFER_MAX);
    z->have_verify = !(b1 & 0x08);
    z->have_manifest = !(b1 & 0x10);
    z->have_unprotect = !(b1 & 0x20);

    z->cfg.context = z;
    z->cfg.targets = z->target_tab;
    z->cfg.target_count = count;
    z->cfg.interface = 0;
    z->cfg.transfer_size = xfer;
    z->cfg.buffers = (UDFU_CFG_PIPELINE && (b1 & 0x40)) ? 2 : 1;
    z->buf_size = (uint32_t)xfer * z->cfg.buffers;
    z->buf = malloc(z->buf_size);
    FZ_CHECK(z->buf != NULL, "out of memory");
    z->cfg.buffer = z->buf;
    z->cfg.detach_timeout_ms = 1000;
    z->cfg.manifest_ms = (uint16_t)(b2 & 0x3F);
    z->cfg.reset_timeout_ms = (uint16_t)((b2 >> 6) * 700);
    z->cfg.read = cb_read;
    z->cfg.erase = cb_erase;
    z->cfg.prog = cb_prog;
    z->cfg.verify = z->have_verify ? cb_verify : NULL;
    z->cfg.manifest = z->have_manifest ? cb_manifest : NULL;
    z->cfg.unprotect = z->have_unprotect ? cb_unprotect : NULL;
    z->cfg.leave = cb_leave;
    mem_init(z);
    fz_dfu_init(z);
    return 0;
}

void fz_free(struct fz *z)
{
    int s, i;
    for (s = 0; s < FZ_MAX_TARGETS; s++)
        for (i = 0; i < FZ_MAX_REGIONS; i++)
            free(z->mem[s][i].mem);
    free(z->buf);
}

/* ---- invariants ------------------------------------------------------------------- */

int fz_routed(const struct fz *z, const struct udfu_setup *s)
{
    int in = (s->bmRequestType & 0x80) != 0;
    if ((s->bmRequestType & 0x7F) != 0x21 || s->wIndex != z->cfg.interface)
        return 0;
    if (s->bRequest > UDFU_REQ_ABORT)
        return 1;
    return in == (s->bRequest == UDFU_REQ_UPLOAD || s->bRequest == UDFU_REQ_GETSTATUS ||
                  s->bRequest == UDFU_REQ_GETSTATE);
}

void fz_check_state(const struct fz *z)
{
    uint8_t st = udfu_dfu_state(&z->dfu), status = udfu_dfu_status(&z->dfu);
    FZ_CHECK(st >= UDFU_DFU_IDLE && st <= UDFU_DFU_ERROR, "state %u", st);
    FZ_CHECK(status <= UDFU_STATUS_ERR_STALLEDPKT, "status %u", status);
    FZ_CHECK(st == UDFU_DFU_ERROR || status == UDFU_STATUS_OK, "status %u in state %u", status,
             st);
}

static uint8_t state_before, status_before;
static int busy_before;

void fz_before_setup(struct fz *z)
{
    state_before = udfu_dfu_state(&z->dfu);
    status_before = udfu_dfu_status(&z->dfu);
    busy_before = udfu_dfu_busy(&z->dfu);
    z->reads = 0;
    /* Whatever the buffer held is dead unless memory work uses it: a
     * canary there shows if a reply ever carries stale bytes. */
    if (!busy_before)
        memset(z->buf, 0xC5, z->buf_size);
}

/* A request not meant for the class: a stall and nothing else
 * (CVE-2021-3625 answered a request of the wrong direction). */
static void check_unrouted(const struct fz *z, const struct udfu_setup *s, int n)
{
    FZ_CHECK(n < 0, "answered request %02x/%u wIndex %u not meant for it", s->bmRequestType,
             s->bRequest, s->wIndex);
    FZ_CHECK(udfu_dfu_state(&z->dfu) == state_before && udfu_dfu_status(&z->dfu) == status_before,
             "request %02x/%u not meant for the class changed state %u -> %u", s->bmRequestType,
             s->bRequest, state_before, udfu_dfu_state(&z->dfu));
    FZ_CHECK(z->reads == 0, "request not meant for the class read memory");
}

static void check_upload(struct fz *z, const struct udfu_setup *s, const uint8_t *data, int n)
{
    const struct udfu_target *t = z->targets[z->dfu.alt];
    static const uint8_t cmds[4] = {0x00, 0x21, 0x41, 0x92};
    FZ_CHECK((uint32_t)n <= z->cfg.transfer_size, "UPLOAD of %d > wTransferSize", n);
    FZ_CHECK(n == 0 || data == z->buf, "UPLOAD reply not from the transfer buffer");
    if (t->dfuse && s->wValue == 0) {
        FZ_CHECK(n <= 4 && memcmp(data, cmds, (size_t)n) == 0, "bad Get Commands reply");
        FZ_CHECK(z->reads == 0, "Get Commands read memory");
        return;
    }
    if (n == 0)
        return;
    /* Every byte comes from the memory read for this very request. */
    FZ_CHECK(z->reads == 1 && z->rd_buf == data && z->rd_len >= (uint32_t)n,
             "UPLOAD reply of %d bytes not produced by one read (reads %d)", n, z->reads);
    FZ_CHECK(mem_copy(z, z->rd_alt, z->rd_addr, (uint8_t *)data, (uint32_t)n, 2) == 0,
             "UPLOAD reply differs from memory at 0x%08x", z->rd_addr);
    if (t->dfuse) {
        uint32_t want = z->dfu.addr + (uint32_t)(s->wValue - 2u) * z->cfg.transfer_size;
        FZ_CHECK(s->wValue >= 2 && z->rd_addr == want,
                 "DfuSe UPLOAD block %u read 0x%08x, not 0x%08x", s->wValue, z->rd_addr, want);
    } else {
        uint32_t want = state_before == UDFU_DFU_IDLE ? t->regions[0].start : z->plain_next;
        FZ_CHECK(z->rd_addr == want, "plain UPLOAD read 0x%08x, not 0x%08x", z->rd_addr, want);
        z->plain_next = z->rd_addr + (uint32_t)n;
    }
}

void fz_after_in(struct fz *z, const struct udfu_setup *s, const uint8_t *data, int n)
{
    uint8_t st = udfu_dfu_state(&z->dfu);
    if (!fz_routed(z, s)) {
        check_unrouted(z, s, n);
        return;
    }
    if (n < 0)
        return;
    FZ_CHECK(n <= s->wLength, "IN reply of %d bytes for wLength %u", n, s->wLength);
    FZ_CHECK(z->reads == 0 || s->bRequest == UDFU_REQ_UPLOAD, "request %u read memory",
             s->bRequest);
    switch (s->bRequest) {
    case UDFU_REQ_GETSTATUS:
        FZ_CHECK(n <= UDFU_STATUS_LEN, "GETSTATUS reply of %d bytes", n);
        FZ_CHECK(n < 1 || data[0] == udfu_dfu_status(&z->dfu), "GETSTATUS bStatus %u", data[0]);
        FZ_CHECK(n < 5 || data[4] == st, "GETSTATUS bState %u, state %u", data[4], st);
        FZ_CHECK(n < 6 || data[5] == 0, "GETSTATUS iString %u", data[5]);
        break;
    case UDFU_REQ_GETSTATE:
        FZ_CHECK(n <= 1, "GETSTATE reply of %d bytes", n);
        FZ_CHECK(n < 1 || data[0] == st, "GETSTATE %u, state %u", data[0], st);
        break;
    case UDFU_REQ_UPLOAD:
        check_upload(z, s, data, n);
        FZ_CHECK(st == (n < s->wLength ? UDFU_DFU_IDLE : UDFU_UPLOAD_IDLE),
                 "state %u after an UPLOAD of %d/%u", st, n, s->wLength);
        break;
    default:
        fz_fail("IN data for request %u", s->bRequest);
    }
}

void fz_data_taken(struct fz *z, uint32_t len)
{
    FZ_CHECK(z->out_dst && len <= z->cfg.transfer_size, "data taken with no data stage");
    memcpy(z->taken[(z->out_dst - z->buf) / z->cfg.transfer_size], z->out_dst, len);
    z->out_dst = NULL;
}

void fz_after_out(struct fz *z, const struct udfu_setup *s, const uint8_t *data, int n)
{
    if (!fz_routed(z, s)) {
        check_unrouted(z, s, n);
        return;
    }
    FZ_CHECK(z->reads == 0, "OUT request %u read memory", s->bRequest);
    if (n > 0) {
        FZ_CHECK(s->bRequest == UDFU_REQ_DNLOAD, "OUT data stage for request %u", s->bRequest);
        FZ_CHECK(n == s->wLength && (uint32_t)n <= z->cfg.transfer_size,
                 "OUT data stage of %d for wLength %u", n, s->wLength);
        FZ_CHECK(fz_in_buf(z, data, (uint32_t)n) && (data - z->buf) % z->cfg.transfer_size == 0,
                 "OUT data not into a transfer buffer");
        /* checkm8: never a buffer that running work still reads */
        FZ_CHECK(!(z->pending == 'p' || z->pending == 'v') || data != z->pend_src,
                 "DNLOAD data accepted into the buffer prog()/verify() is using");
        z->out_dst = data;
    }
    if (n == 0 && s->bRequest == UDFU_REQ_DNLOAD) {
        /* DfuSe also leaves from dfuIDLE (dfu-util -s :leave sends ABORT first) */
        FZ_CHECK(state_before == UDFU_DNLOAD_IDLE ||
                     (state_before == UDFU_DFU_IDLE && z->targets[z->dfu.alt]->dfuse),
                 "zero-length DNLOAD accepted in state %u", state_before);
        z->may_leave = 1;
    }
}

/* After a data stage of the wrong length: refused, nothing queued. */
void fz_check_bad_data(const struct fz *z, int ret, int was_busy)
{
    FZ_CHECK(ret < 0, "OUT data of the wrong length accepted");
    FZ_CHECK(was_busy || !udfu_dfu_busy(&z->dfu), "OUT data of the wrong length queued work");
}

int fz_in_buf(const struct fz *z, const uint8_t *p, uint32_t n)
{
    return p >= z->buf && n <= z->buf_size && (uint32_t)(p - z->buf) <= z->buf_size - n;
}

/* ---- host actions --------------------------------------------------------------- */

static uint8_t out_data[FZ_XFER_MAX + 256];

static void mk_setup(uint8_t raw[8], uint8_t rt, uint8_t req, uint16_t value, uint16_t index,
                     uint16_t len)
{
    raw[0] = rt;
    raw[1] = req;
    udfu_put16(raw + 2, value);
    udfu_put16(raw + 4, index);
    udfu_put16(raw + 6, len);
}

uint16_t fz_pick_len(struct fz *z, struct fz_in *in)
{
    uint16_t x = z->cfg.transfer_size;
    switch (fz_u8(in) % 12) {
    case 0: return 0;
    case 1: return 1;
    case 2: return 5;
    case 3: return 6;
    case 4: return (uint16_t)(x - 1);
    case 5: return x;
    case 6: return (uint16_t)(x + 1);
    case 7: return 0xFFFF;
    case 8: return fz_u16(in);
    case 9: return 64;
    case 10: return fz_u8(in);
    default: return (uint16_t)(2 * x);
    }
}

/* Addresses at the edges of every region of every target, and anything. */
static uint32_t pick_addr(struct fz *z, struct fz_in *in)
{
    uint8_t b = fz_u8(in);
    const struct udfu_target *t = &all_targets[b & 3];
    const struct udfu_region *r = &t->regions[(b >> 2) % t->region_count];
    uint32_t end = r->start + r->sector_size * r->sector_count;
    (void)z;
    switch (b >> 5) {
    case 0: return r->start;
    case 1: return r->start + r->sector_size;
    case 2: return end - 1;
    case 3: return end;
    case 4: return end - fz_u8(in);
    case 5: return r->start - 1 - fz_u8(in);
    case 6: return fz_u32(in);
    default: return 0xFFFFFFFFu - fz_u8(in);
    }
}

/* OUT data: up to k bytes from the input (k its next byte), the rest a
 * pattern, so a long data stage does not swallow the actions after it. */
static void fill_out(struct fz_in *in, uint32_t n)
{
    uint32_t i, take = n < sizeof out_data ? n : (uint32_t)sizeof out_data;
    uint32_t k = fz_u8(in);
    for (i = 0; i < take; i++)
        out_data[i] = i < k && in->n ? fz_u8(in) : (uint8_t)(i * 37u + 11u);
}

/* Delivery of the data stage the host chose for wLength w. */
static void pick_stage(struct fz_in *in, struct fz_xfer *x, uint16_t w)
{
    uint8_t b = fz_u8(in);
    x->out = out_data;
    x->out_sent = w;
    x->stage = FZ_FULL;
    switch (b % 8) {
    case 4: x->out_sent = w ? fz_u16(in) % w : 0; break;   /* short */
    case 5: x->out_sent = (uint32_t)w + 1u + fz_u8(in); break; /* oversized */
    case 6: x->stage = FZ_NO_DATA; break;
    case 7: x->stage = FZ_NO_STATUS; break;
    default: break;
    }
}

static const char *const stage_names[3] = {"full", "no-data", "no-status"};

static int xfer(struct fz *z, struct fz_xfer *x)
{
    int n;
    if (z->rebooted)
        z->port->reboot(z);
    fz_trace(z, "SETUP %02x %02x val %u idx %u len %u, %s, sent %u, data %02x %02x %02x %02x %02x",
          x->setup[0], x->setup[1], udfu_get16(x->setup + 2), udfu_get16(x->setup + 4),
          udfu_get16(x->setup + 6), stage_names[x->stage], x->out_sent, x->out[0], x->out[1],
          x->out[2], x->out[3], x->out[4]);
    n = z->port->xfer(z, x);
    fz_trace(z, "  -> %d", n);
    fz_check_state(z);
    return n;
}

static int simple(struct fz *z, uint8_t rt, uint8_t req, uint16_t value, uint16_t len)
{
    struct fz_xfer x;
    memset(&x, 0, sizeof x);
    mk_setup(x.setup, rt, req, value, 0, len);
    x.out = out_data;
    x.out_sent = len;
    return xfer(z, &x);
}

static void advance(struct fz *z, uint32_t ms)
{
    if (z->rebooted)
        z->port->reboot(z);
    z->now += ms;
    fz_trace(z, "task +%u ms", ms);
    z->port->task(z);
    fz_check_state(z);
}

static void complete(struct fz *z, int err)
{
    int op = z->pending;
    if (!op)
        return;
    z->pending = 0;
    fz_trace(z, "complete '%c' with %d", op, err);
    if (op == 'p' && err == 0) {
        /* The buffer must still hold what was handed over. */
        FZ_CHECK(memcmp(z->pend_src, z->pend_snap, z->pend_len) == 0,
                 "transfer buffer changed while prog() was running");
        err = apply_prog(z, z->pend_alt, z->pend_addr, z->pend_snap, z->pend_len);
    }
    if (op == 'v')
        FZ_CHECK(memcmp(z->pend_src, z->pend_snap, z->pend_len) == 0,
                 "transfer buffer changed while verify() was running");
    if (op == 'm' && err == 0)
        z->dirty = 0;
#if UDFU_CFG_ASYNC
    udfu_dfu_complete(&z->dfu, err);
#endif
}

static const int errs[8] = {UDFU_ERR_IO,     UDFU_ERR_ERASE,  UDFU_ERR_PROG,
                            UDFU_ERR_VERIFY, UDFU_ERR_NOT_ERASED, UDFU_ERR_FIRMWARE,
                            UDFU_ERR_RANGE,  UDFU_ERR_PERM};

static uint8_t class_rt(uint8_t req)
{
    return (req == UDFU_REQ_UPLOAD || req == UDFU_REQ_GETSTATUS || req == UDFU_REQ_GETSTATE)
               ? UDFU_RT_IN
               : UDFU_RT_OUT;
}

/* A DFU class request with every field chosen by the input. */
static void act_class(struct fz *z, struct fz_in *in)
{
    struct fz_xfer x;
    uint8_t b = fz_u8(in), req = b & 7, rt;
    uint16_t len;
    if (req == 7)
        req = fz_u8(in);
    rt = class_rt(req);
    if ((b & 0x18) == 0x18)
        rt ^= 0x80; /* the wrong direction */
    len = fz_pick_len(z, in);
    mk_setup(x.setup, rt, req, fz_u16(in), (b & 0xE0) == 0xE0 ? fz_u16(in) : 0, len);
    pick_stage(in, &x, len);
    fill_out(in, x.out_sent);
    xfer(z, &x);
}

static void act_raw(struct fz *z, struct fz_in *in)
{
    struct fz_xfer x;
    int i;
    for (i = 0; i < 8; i++)
        x.setup[i] = fz_u8(in);
    pick_stage(in, &x, udfu_get16(x.setup + 6));
    fill_out(in, x.out_sent);
    xfer(z, &x);
}

static uint16_t block_no;

static void act_dnload(struct fz *z, struct fz_in *in)
{
    struct fz_xfer x;
    uint8_t b = fz_u8(in);
    uint16_t len = (b & 0x80) ? fz_pick_len(z, in) : z->cfg.transfer_size, block;
    switch (b & 3) {
    case 0: block = block_no++; break;
    case 1: block = 2; break;
    case 2: block = (uint16_t)(2 + (fz_u8(in) & 15)); break;
    default: block = fz_u16(in); break;
    }
    mk_setup(x.setup, UDFU_RT_OUT, UDFU_REQ_DNLOAD, block, 0, len);
    pick_stage(in, &x, len);
    if (b & 0x40)
        x.stage = FZ_FULL, x.out_sent = len;
    fill_out(in, x.out_sent);
    xfer(z, &x);
}

/* A DfuSe command, as DNLOAD block 0. */
static void act_cmd(struct fz *z, struct fz_in *in)
{
    struct fz_xfer x;
    uint8_t b = fz_u8(in);
    uint16_t len = 5;
    uint32_t a = pick_addr(z, in);
    static const uint8_t cmd[8] = {0x21, 0x41, 0x41, 0x92, 0x00, 0x21, 0x41, 0x00};
    out_data[0] = cmd[b & 7];
    udfu_put32(out_data + 1, a);
    if ((b & 7) == 2 || (b & 7) == 3 || (b & 7) == 4)
        len = 1;
    if ((b & 7) == 7) {
        len = (uint16_t)(fz_u8(in) % 8);
        out_data[0] = fz_u8(in);
    }
    mk_setup(x.setup, UDFU_RT_OUT, UDFU_REQ_DNLOAD, 0, 0, len);
    x.out = out_data;
    x.out_sent = len;
    x.stage = (b & 0x80) ? FZ_NO_STATUS : FZ_FULL;
    xfer(z, &x);
}

static void act_upload(struct fz *z, struct fz_in *in)
{
    uint8_t b = fz_u8(in);
    uint16_t block;
    switch (b & 3) {
    case 0: block = block_no++; break;
    case 1: block = 2; break;
    case 2: block = 0; break;
    default: block = fz_u16(in); break;
    }
    simple(z, UDFU_RT_IN, UDFU_REQ_UPLOAD, block,
           (b & 4) ? fz_pick_len(z, in) : z->cfg.transfer_size);
}

/* GETSTATUS; returns bState, or -1 if stalled. */
static int getstatus(struct fz *z, uint32_t *poll)
{
    int n = simple(z, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, UDFU_STATUS_LEN);
    if (n != UDFU_STATUS_LEN)
        return -1;
    if (poll)
        *poll = z->in[1] | (uint32_t)z->in[2] << 8 | (uint32_t)z->in[3] << 16;
    return z->in[4];
}

/* What dfu-util does: GETSTATUS, sleep bwPollTimeout, let the device work. */
static void act_poll(struct fz *z, int finish)
{
    uint32_t poll = 0;
    if (getstatus(z, &poll) < 0)
        return;
    if (finish)
        complete(z, 0);
    advance(z, poll > 100000 ? 100000 : poll);
}

static void act_time(struct fz *z, struct fz_in *in)
{
    uint8_t b = fz_u8(in);
    switch (b & 3) {
    case 0: advance(z, 0); break;
    case 1: advance(z, b >> 2); break;
    case 2: advance(z, fz_u16(in)); break;
    default: advance(z, (b & 4) ? 0x80000000u : fz_u32(in) & 0x00FFFFFFu); break;
    }
}

static void act_mode(struct fz *z, struct fz_in *in)
{
    uint8_t b = fz_u8(in);
    if (b & 1)
        z->async = UDFU_CFG_ASYNC && !z->async;
    if (b & 2)
        z->fail_next = errs[(b >> 2) & 7];
    fz_trace(z, "mode async %d fail_next %d", z->async, z->fail_next);
}

static void act_alt(struct fz *z, struct fz_in *in)
{
    if (z->rebooted)
        z->port->reboot(z);
    {
        uint8_t alt = (uint8_t)(fz_u8(in) % (z->cfg.target_count + 1));
        fz_trace(z, "set alt %u", alt);
        z->port->set_alt(z, alt);
    }
    fz_check_state(z);
}

static void act_stray(struct fz *z, struct fz_in *in)
{
    uint8_t b = fz_u8(in);
    if (z->rebooted)
        z->port->reboot(z);
    fz_trace(z, "stray %s", (b & 1) ? "status" : "data");
    if (b & 1)
        z->port->stray_status(z);
    else
        z->port->stray_data(z, (b & 2) ? fz_u16(in) : (uint16_t)(b >> 2));
    fz_check_state(z);
}

static void act_reset(struct fz *z)
{
    if (z->rebooted)
        z->port->reboot(z);
    fz_trace(z, "bus reset");
    z->port->bus_reset(z);
    fz_check_state(z);
}

void fz_pick_stage(struct fz_in *in, struct fz_xfer *x, uint16_t w)
{
    pick_stage(in, x, w);
    fill_out(in, x->out_sent);
}

/* ---- recovery: after anything, the device still works ------------------------- */

static int target_index(const struct fz *z, int dfuse)
{
    int i;
    for (i = 0; i < z->cfg.target_count; i++)
        if (z->targets[i] == &all_targets[dfuse ? 0 : 1])
            return i;
    return -1;
}

static void settle_all(struct fz *z)
{
    int i;
    z->fail_next = 0;
    for (i = 0; i < 8; i++) {
        complete(z, 0);
        advance(z, 5000);
    }
    if (z->rebooted)
        z->port->reboot(z);
}

/* GETSTATUS until the work is done; returns the final bState. */
static int wait_idle(struct fz *z)
{
    int i, st = -1;
    for (i = 0; i < 64; i++) {
        uint32_t poll = 0;
        st = getstatus(z, &poll);
        if (st != UDFU_DNBUSY && st != UDFU_DNLOAD_SYNC && st != UDFU_MANIFEST)
            break;
        complete(z, 0);
        advance(z, poll);
    }
    return st;
}

static void to_dfu_idle(struct fz *z)
{
    int i, st = -1;
    for (i = 0; i < 4 && st != UDFU_DFU_IDLE; i++) {
        settle_all(z);
        st = getstatus(z, NULL);
        if (st == UDFU_DFU_ERROR)
            simple(z, UDFU_RT_OUT, UDFU_REQ_CLRSTATUS, 0, 0);
        else if (st != UDFU_DFU_IDLE)
            simple(z, UDFU_RT_OUT, UDFU_REQ_ABORT, 0, 0);
        st = getstatus(z, NULL);
    }
    FZ_CHECK(st == UDFU_DFU_IDLE, "recovery: cannot get back to dfuIDLE (state %d)", st);
}

static void recover_dnload(struct fz *z, int dfuse, uint16_t len, const uint8_t *img)
{
    uint32_t addr = dfuse ? REC_DFUSE_ADDR : all_targets[1].regions[0].start;
    uint8_t alt = z->dfu.alt;
    int st;
    if (dfuse) {
        uint8_t cmd[5] = {0x21, 0, 0, 0, 0};
        udfu_put32(cmd + 1, addr);
        memcpy(out_data, cmd, 5);
        FZ_CHECK(simple(z, UDFU_RT_OUT, UDFU_REQ_DNLOAD, 0, 5) == 5, "recovery: set address");
        FZ_CHECK(wait_idle(z) == UDFU_DNLOAD_IDLE, "recovery: set address failed");
        cmd[0] = 0x41;
        memcpy(out_data, cmd, 5);
        FZ_CHECK(simple(z, UDFU_RT_OUT, UDFU_REQ_DNLOAD, 0, 5) == 5, "recovery: erase");
        FZ_CHECK(wait_idle(z) == UDFU_DNLOAD_IDLE, "recovery: erase failed");
    }
    memcpy(out_data, img, len);
    FZ_CHECK(simple(z, UDFU_RT_OUT, UDFU_REQ_DNLOAD, dfuse ? 2 : 0, len) == len,
             "recovery: DNLOAD refused");
    st = wait_idle(z);
    FZ_CHECK(st == UDFU_DNLOAD_IDLE, "recovery: DNLOAD ended in state %d", st);
    /* Pipelined: dfuDNLOAD-IDLE once the block sits in a buffer; the
     * programming itself may still be queued. */
    for (st = 0; st < 8 && udfu_dfu_busy(&z->dfu); st++) {
        complete(z, 0);
        advance(z, 1000);
    }
    FZ_CHECK(!udfu_dfu_busy(&z->dfu), "recovery: the block is never programmed");
    FZ_CHECK(mem_copy(z, alt, addr, (uint8_t *)img, len, 2) == 0,
             "recovery: image not written");
    FZ_CHECK(simple(z, UDFU_RT_OUT, UDFU_REQ_ABORT, 0, 0) == 0, "recovery: ABORT");
}

static void recover(struct fz *z)
{
    uint8_t img[1024];
    uint16_t len = z->cfg.transfer_size < sizeof img ? z->cfg.transfer_size : sizeof img;
    int alt = target_index(z, 1), dfuse = 1, i, n;
    if (alt < 0 || z->cfg.transfer_size < 5) {
        alt = target_index(z, 0);
        dfuse = 0;
    }
    fz_trace(z, "---- recovery");
    z->recovering = 1;
    settle_all(z);
    act_reset(z);
    settle_all(z);
    if (alt < 0) {
        /* Neither reference target configured (only "Option Bytes", or
         * wTransferSize below a DfuSe command with no plain target): no
         * download to check, but the device must still get back to dfuIDLE
         * on the alt it has. */
        to_dfu_idle(z);
        return;
    }
    if (z->port->set_alt(z, (uint8_t)alt) < 0)
        fz_fail("recovery: SET_INTERFACE %d refused", alt);
    to_dfu_idle(z);
    for (i = 0; i < len; i++)
        img[i] = (uint8_t)(i * 13u + 7u);
    if (z->cfg.attributes & UDFU_ATTR_CAN_DNLOAD)
        recover_dnload(z, dfuse, len, img);
    if (z->cfg.attributes & UDFU_ATTR_CAN_UPLOAD) {
        n = simple(z, UDFU_RT_IN, UDFU_REQ_UPLOAD, dfuse ? 2 : 0, len);
        FZ_CHECK(n == len, "recovery: UPLOAD gave %d of %u", n, len);
        FZ_CHECK(simple(z, UDFU_RT_OUT, UDFU_REQ_ABORT, 0, 0) == 0, "recovery: ABORT");
    }
    FZ_CHECK(getstatus(z, NULL) == UDFU_DFU_IDLE, "recovery: not idle at the end");
}

/* ---- the run ---------------------------------------------------------------------- */

void fz_run(struct fz *z, struct fz_in *in)
{
    int steps = 0;
    block_no = 0;
    while (in->n && steps++ < 4096) {
        uint8_t op = fz_u8(in);
        switch (op % 19) {
        case 0: act_class(z, in); break;
        case 1: act_raw(z, in); break;
        case 2: case 3: act_dnload(z, in); break;
        case 4: act_cmd(z, in); break;
        case 5: act_upload(z, in); break;
        case 6: getstatus(z, NULL); break;
        case 7: case 8: act_poll(z, op & 0x80); break;
        case 9: simple(z, UDFU_RT_OUT, UDFU_REQ_ABORT, 0, 0); break;
        case 10: simple(z, UDFU_RT_OUT, UDFU_REQ_CLRSTATUS, 0, 0); break;
        case 11: simple(z, UDFU_RT_IN, UDFU_REQ_GETSTATE, 0, 1); break;
        case 12: act_reset(z); break;
        case 13: act_alt(z, in); break;
        case 14: act_time(z, in); break;
        case 15: complete(z, (op & 0x80) ? errs[(op >> 4) & 7] : 0); break;
        case 16: act_mode(z, in); break;
        case 17: act_stray(z, in); break;
        default:
            if (z->port->extra)
                z->port->extra(z, in);
            break;
        }
    }
    recover(z);
}
