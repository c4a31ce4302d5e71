#include "dfu_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct udfu_region fx_dfuse_regions[] = {
    {0x08000000, 16 * 1024, 1, UDFU_MEM_READ, 250, 0},
    {0x08004000, 16 * 1024, 3, UDFU_MEM_ALL, 250, 4100},
    {0x08010000, 64 * 1024, 1, UDFU_MEM_ALL, 550, 4100},
    {0x08020000, 128 * 1024, 7, UDFU_MEM_ALL, 1000, 4100},
};
static const struct udfu_region fx_plain_regions[] = {
    {0x08004000, 16 * 1024, 3, UDFU_MEM_ALL, 250, 4100},
    {0x08010000, 64 * 1024, 1, UDFU_MEM_ALL, 550, 4100},
    {0x08020000, 128 * 1024, 7, UDFU_MEM_ALL, 1000, 4100},
};
const struct udfu_target fx_targets[2] = {
    {"Internal Flash", fx_dfuse_regions, 4, 1},
    {"Application", fx_plain_regions, 3, 0},
};

/* ---- memory and map --------------------------------------------------------- */

uint32_t fx_span(const struct udfu_target *t)
{
    const struct udfu_region *last = &t->regions[t->region_count - 1];
    return last->start - t->regions[0].start + last->sector_size * last->sector_count;
}

/* Memory behind [addr, addr + len) of alt, or NULL where there is none. */
static uint8_t *at(struct fx *f, uint8_t alt, uint32_t addr, uint32_t len)
{
    uint8_t *mem = f->flash;
    uint32_t base = FX_FLASH_BASE, size = FX_FLASH_SIZE;
    if (f->mem) {
        if (alt >= f->cfg.target_count || alt >= FX_BANKS)
            return NULL;
        mem = f->mem[alt];
        base = f->cfg.targets[alt].regions[0].start;
        size = fx_span(&f->cfg.targets[alt]);
        if (size > FX_BANK)
            size = FX_BANK;
    }
    if (addr < base || addr - base > size || len > size - (addr - base))
        return NULL;
    return mem + (addr - base);
}

uint8_t *fx_mem(struct fx *f, uint8_t alt, uint32_t addr)
{
    return at(f, alt, addr, 1);
}

/* Looked up here, not with src/mem.c: the fixture checks the core's use of it. */
static const struct udfu_region *region(struct fx *f, uint8_t alt, uint32_t a)
{
    uint8_t i;
    if (alt >= f->cfg.target_count)
        return NULL;
    for (i = 0; i < f->cfg.targets[alt].region_count; i++) {
        const struct udfu_region *r = &f->cfg.targets[alt].regions[i];
        if (a >= r->start && a - r->start < r->sector_size * r->sector_count)
            return r;
    }
    return NULL;
}

/* Every byte of [addr, addr + len) in the map with permission `need`. */
static int allowed(struct fx *f, uint8_t alt, uint32_t addr, uint32_t len, uint8_t need)
{
    uint32_t i;
    for (i = 0; i < len; i++) {
        const struct udfu_region *r = region(f, alt, addr + i);
        if (addr + i < addr || !r || (r->attr & need) != need)
            return 0;
    }
    return 1;
}

/* ---- what the backend saw ------------------------------------------------------ */

static void record(struct fx *f, char op, uint8_t alt, uint32_t addr, uint32_t len)
{
    if (f->nlog < FX_LOG_MAX) {
        struct fx_call *c = &f->log[f->nlog++];
        c->op = op;
        c->alt = alt;
        c->addr = addr;
        c->len = len;
        c->at = f->now;
    }
}

static void violation(struct fx *f, const char *what, uint8_t alt, uint32_t addr, uint32_t len)
{
    if (!f->violations++)
        snprintf(f->violation, sizeof f->violation, "%s: alt %u addr 0x%08X len %u", what,
                 alt, (unsigned)addr, (unsigned)len);
}

/* A call the fixture refuses: logged, counted as a violation. */
static int refuse(struct fx *f, const char *what, char op, uint8_t alt, uint32_t addr,
                  uint32_t len)
{
    violation(f, what, alt, addr, len);
    record(f, op, alt, addr, len);
    return UDFU_ERR_RANGE;
}

static void touch(struct fx *f, uint32_t addr, uint32_t len)
{
    if (addr < f->write_lo)
        f->write_lo = addr;
    if (addr + len > f->write_hi)
        f->write_hi = addr + len;
}

/* ---- work and its timing -------------------------------------------------------- */

static int erased(const uint8_t *p, uint32_t len)
{
    while (len--)
        if (p[len] != 0xFF)
            return 0;
    return 1;
}

/* Erase (buf NULL) or program len bytes at p. */
static void apply(uint8_t *p, const uint8_t *buf, uint32_t len)
{
    uint32_t i;
    if (!buf)
        memset(p, 0xFF, len);
    else
        for (i = 0; i < len; i++)
            p[i] &= buf[i];
}

static uint32_t duration(struct fx *f, char op, uint8_t alt, uint32_t addr, uint32_t len)
{
    const struct udfu_region *r = region(f, alt, addr);
    uint64_t us;
    if (op != 'e' && op != 'p')
        return f->cfg.manifest_ms;
    if (!r)
        return 0;
    if (op == 'e')
        return r->erase_ms;
    us = ((uint64_t)len * r->prog_us_per_kib + 1023u) / 1024u;
    return (uint32_t)((us + 999u) / 1000u);
}

/* Does the work (len bytes at p: erase if buf is NULL, else program; none
 * if p is NULL) now, or starts it as the one async operation. */
static int run(struct fx *f, char op, uint8_t alt, uint32_t addr, uint8_t *p,
               const uint8_t *buf, uint32_t len, int err)
{
    record(f, op, alt, addr, len);
    if (f->fail_next) {
        err = f->fail_next;
        f->fail_next = 0;
        return err;
    }
    if (!f->async || !UDFU_CFG_ASYNC) {
        if (!err && p)
            apply(p, buf, len);
        return err;
    }
    if (f->pending)
        f->overlap++;
    f->pending = 1;
    f->prog_dst = p;
    f->prog_src = buf;
    f->prog_len = len;
    f->pend_err = err;
    f->due = f->now + duration(f, op, alt, addr, len);
    return UDFU_ERR_PENDING;
}

/* ---- callbacks ---------------------------------------------------------------- */

static int cb_read(void *ctx, uint8_t alt, uint32_t addr, uint8_t *buf, uint32_t len)
{
    struct fx *f = ctx;
    uint8_t *p = at(f, alt, addr, len);
    record(f, 'r', alt, addr, len);
    f->reads++;
    if (!p || !allowed(f, alt, addr, len, UDFU_MEM_READ)) {
        violation(f, "read of unreadable memory", alt, addr, len);
        return UDFU_ERR_RANGE;
    }
    if (f->read_err)
        return f->read_err;
    memcpy(buf, p, len);
    return 0;
}

static int cb_erase(void *ctx, uint8_t alt, uint32_t addr, uint32_t size)
{
    struct fx *f = ctx;
    uint8_t *p = at(f, alt, addr, size);
    const struct udfu_region *r = region(f, alt, addr);
    f->erases++;
    if (!p || !allowed(f, alt, addr, size, UDFU_MEM_ERASE) || !r ||
        (addr - r->start) % r->sector_size || size != r->sector_size)
        return refuse(f, "erase outside an erasable sector", 'e', alt, addr, size);
    touch(f, addr, size);
    return run(f, 'e', alt, addr, p, NULL, size, f->erase_err);
}

static int cb_prog(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    struct fx *f = ctx;
    uint8_t *p = at(f, alt, addr, len);
    uint32_t i;
    f->progs++;
    if (!p || !allowed(f, alt, addr, len, UDFU_MEM_WRITE))
        return refuse(f, "program outside writable memory", 'p', alt, addr, len);
    if (!erased(p, len))
        violation(f, "program over unerased bytes", alt, addr, len);
    for (i = 0; i < len; i++)
        if ((p[i] & buf[i]) != buf[i]) {
            record(f, 'p', alt, addr, len);
            return UDFU_ERR_NOT_ERASED; /* NOR flash cannot set bits */
        }
    touch(f, addr, len);
    return run(f, 'p', alt, addr, p, buf, len, f->prog_err);
}

static int cb_verify(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    struct fx *f = ctx;
    const uint8_t *p = at(f, alt, addr, len);
    record(f, 'v', alt, addr, len);
    f->verifies++;
    if (f->verify_err)
        return f->verify_err;
    return p && !memcmp(p, buf, len) ? 0 : UDFU_ERR_VERIFY;
}

static int cb_manifest(void *ctx, uint8_t alt)
{
    struct fx *f = ctx;
    f->manifests++;
    return run(f, 'm', alt, 0, NULL, NULL, 0, f->manifest_err);
}

static int cb_unprotect(void *ctx, uint8_t alt)
{
    struct fx *f = ctx;
    f->unprotects++;
    return run(f, 'u', alt, 0, NULL, NULL, 0, f->unprotect_err);
}

static void cb_leave(void *ctx, uint32_t addr)
{
    struct fx *f = ctx;
    record(f, 'l', f->dfu.alt, addr, 0);
    f->leaves++;
    f->leave_addr = addr;
    f->leave_time = f->now;
}

/* ---- set-up ------------------------------------------------------------------- */

static void configure(struct fx *f, const struct udfu_target *targets, uint8_t count,
                      uint8_t attributes, uint16_t xfer)
{
    memset(f, 0, sizeof *f);
    f->write_lo = 0xFFFFFFFFu;
    f->cfg.context = f;
    f->cfg.targets = targets;
    f->cfg.target_count = count;
    f->cfg.attributes = attributes;
    f->cfg.transfer_size = xfer;
    f->cfg.buffer = f->buf;
    f->cfg.read = cb_read;
    f->cfg.erase = cb_erase;
    f->cfg.prog = cb_prog;
    f->cfg.manifest = cb_manifest;
    f->cfg.leave = cb_leave;
}

void fx_init(struct fx *f, uint8_t attributes)
{
    configure(f, fx_targets, UDFU_CFG_PLAIN ? 2 : 1, attributes, FX_XFER); /* alt 1 is plain */
    memset(f->flash, 0xA5, sizeof f->flash);
    f->now = 1000;
    f->cfg.manifest_ms = 20;
    f->cfg.reset_timeout_ms = 500;
    fx_start(f);
}

/* Initial content of byte a of alt after fx_setup(): never looks erased. */
static uint8_t pattern(uint8_t alt, uint32_t a)
{
    uint32_t x = a * 2654435761u + alt * 40503u;
    uint8_t v = (uint8_t)(x >> 24);
    return v == 0xFF ? 0x5A : v;
}

void fx_setup(struct fx *f, const struct udfu_target *targets, uint8_t count,
              uint8_t attributes, uint16_t xfer)
{
    uint8_t alt;
    uint32_t i;
    configure(f, targets, count, attributes, xfer);
    f->mem = (uint8_t(*)[FX_BANK])f->flash;
    f->cfg.detach_timeout_ms = 1000;
    f->cfg.verify = cb_verify;
    f->cfg.unprotect = cb_unprotect;
    for (alt = 0; alt < count && alt < FX_BANKS; alt++) {
        uint32_t base = targets[alt].regions[0].start;
        for (i = 0; i < fx_span(&targets[alt]) && i < FX_BANK; i++)
            f->mem[alt][i] = pattern(alt, base + i);
    }
}

void fx_init_core(struct fx *f)
{
    int rc = udfu_dfu_init(&f->dfu, &f->cfg);
    if (rc) {
        /* Running on would drive an uninitialised instance. */
        fprintf(stderr, "fx: udfu_dfu_init refused the config (%d)\n", rc);
        abort();
    }
}

void fx_start(struct fx *f)
{
    fx_init_core(f);
    udfu_dfu_task(&f->dfu, f->now);
}

int fx_req(struct fx *f, uint8_t rt, uint8_t req, uint16_t value, uint16_t len, const void *out)
{
    struct udfu_setup s;
    uint8_t *data = NULL;
    int n;
    s.bmRequestType = rt;
    s.bRequest = req;
    s.wValue = value;
    s.wIndex = 0;
    s.wLength = len;
    n = udfu_dfu_setup(&f->dfu, &s, &data);
    if (n < 0)
        return n;
    if (rt & 0x80) {
        if (n)
            memcpy(f->in, data, (size_t)n);
    } else if (n > 0) {
        memcpy(data, out, (size_t)n);
        if (udfu_dfu_data(&f->dfu, (uint16_t)n) < 0)
            return UDFU_ERR_STALL;
    }
    udfu_dfu_status_done(&f->dfu);
    return n;
}

void fx_task(struct fx *f)
{
    udfu_dfu_task(&f->dfu, f->now);
}

void fx_advance(struct fx *f, uint32_t ms)
{
    f->now += ms;
    fx_task(f);
}

void fx_finish(struct fx *f, int err)
{
    if (f->prog_dst && !err)
        apply(f->prog_dst, f->prog_src, f->prog_len);
    f->prog_dst = NULL;
    f->pending = 0;
#if UDFU_CFG_ASYNC
    udfu_dfu_complete(&f->dfu, err);
#else
    (void)err; /* synchronous build: nothing is ever pending */
#endif
}

void fx_pump(struct fx *f)
{
    int turn;
    for (turn = 0; turn < 1000; turn++) {
        struct udfu_dfu before;
        int nlog = f->nlog, done = 0;
        memcpy(&before, &f->dfu, sizeof before);
        if (f->pending && !f->hold && (int32_t)(f->now - f->due) >= 0) {
            fx_finish(f, f->pend_err);
            done = 1;
        }
        udfu_dfu_task(&f->dfu, f->now);
        if (!done && nlog == f->nlog && !memcmp(&before, &f->dfu, sizeof before))
            break;
    }
}

void fx_sleep(struct fx *f, uint32_t ms)
{
    while (ms--) {
        f->now++;
        fx_pump(f);
    }
}

int fx_status(struct fx *f, uint32_t *poll, uint8_t *status)
{
    int n = fx_req(f, 0xA1, UDFU_REQ_GETSTATUS, 0, 6, NULL);
    if (n != 6)
        return -1;
    if (poll)
        *poll = (uint32_t)(f->in[1] | f->in[2] << 8 | f->in[3] << 16);
    if (status)
        *status = f->in[0];
    return f->in[4];
}

int fx_wait(struct fx *f)
{
    int guard;
    for (guard = 0; guard < 10000; guard++) {
        uint32_t poll = 0;
        int st = fx_status(f, &poll, NULL);
        if (st < 0 || st == UDFU_DNLOAD_IDLE || st == UDFU_DFU_ERROR || st == UDFU_MANIFEST)
            return st;
        fx_advance(f, poll);
    }
    return -2;
}

int fx_cmd(struct fx *f, const uint8_t *cmd, uint16_t len)
{
    int st;
    if (fx_req(f, 0x21, UDFU_REQ_DNLOAD, 0, len, cmd) != len)
        return -1;
    fx_task(f);
    st = fx_status(f, NULL, NULL);
    if (st != UDFU_DNBUSY)
        return st < 0 ? st : 100 + st; /* dfu-util: wrong state after command */
    return fx_wait(f);
}

int fx_set_address(struct fx *f, uint32_t addr)
{
    uint8_t c[5] = {0x21, (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16),
                    (uint8_t)(addr >> 24)};
    return fx_cmd(f, c, 5);
}
