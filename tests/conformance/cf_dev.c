#include "cf_dev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- memory map helpers (independent of src/mem.c on purpose) ----------- */

static const struct udfu_region *cf_region(const struct udfu_target *t, uint32_t a)
{
    uint8_t i;
    for (i = 0; i < t->region_count; i++) {
        const struct udfu_region *r = &t->regions[i];
        if (a >= r->start && a - r->start < r->sector_size * r->sector_count)
            return r;
    }
    return NULL;
}

uint32_t cf_span(const struct udfu_target *t)
{
    const struct udfu_region *last = &t->regions[t->region_count - 1];
    return last->start - t->regions[0].start + last->sector_size * last->sector_count;
}

uint8_t cf_pattern(uint8_t alt, uint32_t a)
{
    uint32_t x = a * 2654435761u + alt * 40503u;
    uint8_t v = (uint8_t)(x >> 24);
    return v == 0xFF ? 0x5A : v; /* never looks erased */
}

uint8_t *cf_mem(struct cf_dev *d, uint8_t alt, uint32_t a)
{
    const struct udfu_target *t;
    uint32_t off;
    if (alt >= d->cfg.target_count)
        return NULL;
    t = &d->cfg.targets[alt];
    off = a - t->regions[0].start;
    if (a < t->regions[0].start || off >= cf_span(t) || off >= CF_MEM_MAX)
        return NULL;
    return &d->mem[alt][off];
}

uint32_t cf_erase_ms(const struct udfu_target *t, uint32_t addr)
{
    const struct udfu_region *r = cf_region(t, addr);
    return r ? r->erase_ms : 0;
}

uint32_t cf_prog_ms(const struct udfu_target *t, uint32_t addr, uint32_t len)
{
    const struct udfu_region *r = cf_region(t, addr);
    uint64_t us;
    if (!r)
        return 0;
    us = ((uint64_t)len * r->prog_us_per_kib + 1023u) / 1024u;
    return (uint32_t)((us + 999u) / 1000u);
}

/* ---- backend ------------------------------------------------------------- */

static void record(struct cf_dev *d, char op, uint8_t alt, uint32_t addr, uint32_t len)
{
    if (d->nlog < CF_LOG_MAX) {
        struct cf_call *c = &d->log[d->nlog++];
        c->op = op;
        c->alt = alt;
        c->addr = addr;
        c->len = len;
        c->at = d->now;
    }
}

static void violation(struct cf_dev *d, const char *what, uint8_t alt, uint32_t addr,
                      uint32_t len)
{
    if (!d->violations++)
        snprintf(d->violation, sizeof d->violation, "%s: alt %u addr 0x%08X len %u", what,
                 alt, (unsigned)addr, (unsigned)len);
}

/* Every byte of [addr, addr+len) inside the map with permission `need`. */
static int allowed(struct cf_dev *d, uint8_t alt, uint32_t addr, uint32_t len, uint8_t need)
{
    const struct udfu_target *t;
    uint32_t i;
    if (alt >= d->cfg.target_count)
        return 0;
    t = &d->cfg.targets[alt];
    for (i = 0; i < len; i++) {
        const struct udfu_region *r = cf_region(t, addr + i);
        if (addr + i < addr || !r || (r->attr & need) != need || !cf_mem(d, alt, addr + i))
            return 0;
    }
    return 1;
}

static void apply(struct cf_dev *d, const struct cf_call *c, const uint8_t *buf)
{
    uint32_t i;
    if (c->op == 'e') {
        for (i = 0; i < c->len; i++) {
            uint8_t *p = cf_mem(d, c->alt, c->addr + i);
            if (p)
                *p = 0xFF;
        }
    } else if (c->op == 'p') {
        for (i = 0; i < c->len; i++) {
            uint8_t *p = cf_mem(d, c->alt, c->addr + i);
            if (p)
                *p &= buf[i];
        }
    }
}

static uint32_t duration(struct cf_dev *d, const struct cf_call *c)
{
    const struct udfu_target *t = &d->cfg.targets[c->alt];
    switch (c->op) {
    case 'e':
        return cf_erase_ms(t, c->addr);
    case 'p':
        return cf_prog_ms(t, c->addr, c->len);
    default:
        return d->cfg.manifest_ms;
    }
}

/* Finishes an operation now (sync) or later (async). */
static int run(struct cf_dev *d, char op, uint8_t alt, uint32_t addr, uint32_t len,
               const uint8_t *buf, int err)
{
    struct cf_call c;
    record(d, op, alt, addr, len);
    c = d->log[d->nlog - 1];
    if (!d->async || !UDFU_CFG_ASYNC) {
        if (!err)
            apply(d, &c, buf);
        return err;
    }
    if (d->pending)
        d->overlap++;
    d->pending = 1;
    d->pend = c;
    d->pend_buf = buf;
    d->pend_err = err;
    d->due = d->now + duration(d, &c);
    return UDFU_ERR_PENDING;
}

static int be_read(void *ctx, uint8_t alt, uint32_t addr, uint8_t *buf, uint32_t len)
{
    struct cf_dev *d = ctx;
    uint32_t i;
    record(d, 'r', alt, addr, len);
    d->reads++;
    if (!allowed(d, alt, addr, len, UDFU_MEM_READ)) {
        violation(d, "read of unreadable memory", alt, addr, len);
        return UDFU_ERR_RANGE;
    }
    if (d->read_err)
        return d->read_err;
    for (i = 0; i < len; i++)
        buf[i] = *cf_mem(d, alt, addr + i);
    return 0;
}

static int be_erase(void *ctx, uint8_t alt, uint32_t addr, uint32_t size)
{
    struct cf_dev *d = ctx;
    const struct udfu_region *r;
    d->erases++;
    r = alt < d->cfg.target_count ? cf_region(&d->cfg.targets[alt], addr) : NULL;
    if (!allowed(d, alt, addr, size, UDFU_MEM_ERASE) || !r || (addr - r->start) % r->sector_size ||
        size != r->sector_size) {
        violation(d, "erase outside an erasable sector", alt, addr, size);
        record(d, 'e', alt, addr, size);
        return UDFU_ERR_RANGE;
    }
    return run(d, 'e', alt, addr, size, NULL, d->erase_err);
}

static int be_prog(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    struct cf_dev *d = ctx;
    uint32_t i;
    d->progs++;
    if (!allowed(d, alt, addr, len, UDFU_MEM_WRITE)) {
        violation(d, "program outside writable memory", alt, addr, len);
        record(d, 'p', alt, addr, len);
        return UDFU_ERR_RANGE;
    }
    for (i = 0; i < len; i++)
        if (*cf_mem(d, alt, addr + i) != 0xFF) {
            violation(d, "program over unerased bytes", alt, addr, len);
            break;
        }
    return run(d, 'p', alt, addr, len, buf, d->prog_err);
}

static int be_verify(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    struct cf_dev *d = ctx;
    uint32_t i;
    record(d, 'v', alt, addr, len);
    d->verifies++;
    if (d->verify_err)
        return d->verify_err;
    for (i = 0; i < len; i++) {
        const uint8_t *p = cf_mem(d, alt, addr + i);
        if (!p || *p != buf[i])
            return UDFU_ERR_VERIFY;
    }
    return 0;
}

static int be_manifest(void *ctx, uint8_t alt)
{
    struct cf_dev *d = ctx;
    d->manifests++;
    return run(d, 'm', alt, 0, 0, NULL, d->manifest_err);
}

static int be_unprotect(void *ctx, uint8_t alt)
{
    struct cf_dev *d = ctx;
    d->unprotects++;
    return run(d, 'u', alt, 0, 0, NULL, d->unprotect_err);
}

static void be_leave(void *ctx, uint32_t addr)
{
    struct cf_dev *d = ctx;
    record(d, 'l', d->dfu.alt, addr, 0);
    d->leaves++;
    d->leave_addr = addr;
    d->leave_time = d->now;
}

/* ---- set-up -------------------------------------------------------------- */

void cf_setup(struct cf_dev *d, const struct udfu_target *targets, uint8_t count,
              uint8_t attributes, uint16_t xfer)
{
    uint8_t alt;
    uint32_t i;
    memset(d, 0, sizeof *d);
    d->cfg.context = d;
    d->cfg.targets = targets;
    d->cfg.target_count = count;
    d->cfg.interface = 0;
    d->cfg.attributes = attributes;
    d->cfg.transfer_size = xfer;
    d->cfg.buffer = d->xfer;
    d->cfg.detach_timeout_ms = 1000;
    d->cfg.manifest_ms = 0;
    d->cfg.reset_timeout_ms = 0;
    d->cfg.read = be_read;
    d->cfg.erase = be_erase;
    d->cfg.prog = be_prog;
    d->cfg.verify = be_verify;
    d->cfg.manifest = be_manifest;
    d->cfg.unprotect = be_unprotect;
    d->cfg.leave = be_leave;
    for (alt = 0; alt < count && alt < CF_TARGETS_MAX; alt++) {
        uint32_t base = targets[alt].regions[0].start;
        for (i = 0; i < cf_span(&targets[alt]) && i < CF_MEM_MAX; i++)
            d->mem[alt][i] = cf_pattern(alt, base + i);
    }
}

void cf_start(struct cf_dev *d)
{
    int rc = udfu_dfu_init(&d->dfu, &d->cfg);
    if (rc) {
        /* Running on would drive an uninitialised instance. */
        fprintf(stderr, "cf_start: udfu_dfu_init refused the config (%d)\n", rc);
        abort();
    }
}

void cf_init(struct cf_dev *d, const struct udfu_target *targets, uint8_t count,
             uint8_t attributes, uint16_t xfer)
{
    cf_setup(d, targets, count, attributes, xfer);
    cf_start(d);
}

/* ---- transfers ----------------------------------------------------------- */

static void bad(struct cf_reply *r, const char *what, int n)
{
    r->kind = CF_BAD;
    snprintf(r->bad, sizeof r->bad, "%s (returned %d)", what, n);
}

void cf_ctl(struct cf_dev *d, uint8_t bm, uint8_t req, uint16_t value, uint16_t index,
            uint16_t length, const uint8_t *out, struct cf_reply *r)
{
    struct udfu_setup s;
    uint8_t *data = NULL;
    int n;
    s.bmRequestType = bm;
    s.bRequest = req;
    s.wValue = value;
    s.wIndex = index;
    s.wLength = length;
    memset(r, 0, sizeof *r);
    n = udfu_dfu_setup(&d->dfu, &s, &data);
    if (n == UDFU_ERR_STALL) {
        r->kind = CF_STALL;
        return;
    }
    if (n < 0) {
        bad(r, "setup returned an error other than STALL", n);
        return;
    }
    if (bm & 0x80u) {
        if (n > length) {
            bad(r, "IN reply longer than wLength", n);
            return;
        }
        if (n && !data) {
            bad(r, "IN reply without data", n);
            return;
        }
        memcpy(r->data, data, (size_t)n);
        r->kind = CF_IN;
        r->len = n;
        udfu_dfu_status_done(&d->dfu);
        return;
    }
    if (n != length) {
        bad(r, "OUT request whose data stage is not wLength", n);
        return;
    }
    if (n) {
        int rc;
        if (!data) {
            bad(r, "OUT data stage without a buffer", n);
            return;
        }
        if (out)
            memcpy(data, out, (size_t)n);
        else
            memset(data, 0, (size_t)n);
        rc = udfu_dfu_data(&d->dfu, (uint16_t)n);
        if (rc == UDFU_ERR_STALL) {
            r->kind = CF_STALL;
            return;
        }
        if (rc) {
            bad(r, "udfu_dfu_data returned neither 0 nor STALL", rc);
            return;
        }
    }
    r->kind = CF_ACK;
    udfu_dfu_status_done(&d->dfu);
}

void cf_rt_ctl(struct udfu_rt *rt, uint8_t bm, uint8_t req, uint16_t value, uint16_t index,
               uint16_t length, struct cf_reply *r)
{
    struct udfu_setup s;
    uint8_t *data = NULL;
    int n;
    s.bmRequestType = bm;
    s.bRequest = req;
    s.wValue = value;
    s.wIndex = index;
    s.wLength = length;
    memset(r, 0, sizeof *r);
    n = udfu_rt_setup(rt, &s, &data);
    if (n == UDFU_ERR_STALL) {
        r->kind = CF_STALL;
        return;
    }
    if (n < 0) {
        bad(r, "setup returned an error other than STALL", n);
        return;
    }
    if (bm & 0x80u) {
        if (n > length || (n && !data)) {
            bad(r, "IN reply longer than wLength or without data", n);
            return;
        }
        memcpy(r->data, data, (size_t)n);
        r->kind = CF_IN;
        r->len = n;
    } else if (n) {
        bad(r, "run-time class asked for an OUT data stage", n);
        return;
    } else {
        r->kind = CF_ACK;
    }
    udfu_rt_status_done(rt);
}

/* ---- time ---------------------------------------------------------------- */

static int complete_due(struct cf_dev *d)
{
    if (!d->pending || d->hold || (int32_t)(d->now - d->due) < 0)
        return 0;
    d->pending = 0;
    if (!d->pend_err)
        apply(d, &d->pend, d->pend_buf);
#if UDFU_CFG_ASYNC
    udfu_dfu_complete(&d->dfu, d->pend_err);
#endif
    return 1;
}

void cf_complete_now(struct cf_dev *d, int err)
{
    if (!d->pending)
        return;
    d->pending = 0;
    if (!err)
        apply(d, &d->pend, d->pend_buf);
#if UDFU_CFG_ASYNC
    udfu_dfu_complete(&d->dfu, err);
#endif
}

void cf_pump(struct cf_dev *d)
{
    int turn;
    for (turn = 0; turn < 1000; turn++) {
        struct udfu_dfu before;
        int nlog = d->nlog;
        memcpy(&before, &d->dfu, sizeof before);
        int done = complete_due(d);
        udfu_dfu_task(&d->dfu, d->now);
        if (!done && nlog == d->nlog && !memcmp(&before, &d->dfu, sizeof before))
            break;
    }
}

void cf_sleep(struct cf_dev *d, uint32_t ms)
{
    while (ms--) {
        d->now++;
        cf_pump(d);
    }
}

/* ---- names --------------------------------------------------------------- */

const char *cf_kind_name(int kind)
{
    switch (kind) {
    case CF_ACK:
        return "ACK";
    case CF_STALL:
        return "STALL";
    case CF_IN:
        return "IN";
    default:
        return "BAD";
    }
}

const char *cf_req_name(uint8_t req)
{
    static const char *const names[] = {"DETACH",    "DNLOAD",   "UPLOAD", "GETSTATUS",
                                        "CLRSTATUS", "GETSTATE", "ABORT"};
    return req < 7 ? names[req] : "UNKNOWN";
}
