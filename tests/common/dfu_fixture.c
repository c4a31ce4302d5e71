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

static uint8_t *at(struct fx *f, uint32_t addr, uint32_t len)
{
    if (addr < FX_FLASH_BASE || addr - FX_FLASH_BASE > FX_FLASH_SIZE ||
        len > FX_FLASH_SIZE - (addr - FX_FLASH_BASE))
        return NULL;
    return f->flash + (addr - FX_FLASH_BASE);
}

static void touch(struct fx *f, uint32_t addr, uint32_t len)
{
    if (addr < f->write_lo)
        f->write_lo = addr;
    if (addr + len > f->write_hi)
        f->write_hi = addr + len;
}

static int result(struct fx *f, int err)
{
    if (f->fail_next) {
        err = f->fail_next;
        f->fail_next = 0;
        return err;
    }
    if (f->async && UDFU_CFG_ASYNC) {
        f->pending = 1;
        return UDFU_ERR_PENDING;
    }
    return err;
}

static int cb_read(void *ctx, uint8_t alt, uint32_t addr, uint8_t *buf, uint32_t len)
{
    struct fx *f = ctx;
    uint8_t *p = at(f, addr, len);
    (void)alt;
    f->reads++;
    if (!p)
        return UDFU_ERR_RANGE;
    memcpy(buf, p, len);
    return 0;
}

static int cb_erase(void *ctx, uint8_t alt, uint32_t addr, uint32_t size)
{
    struct fx *f = ctx;
    uint8_t *p = at(f, addr, size);
    (void)alt;
    f->erases++;
    if (!p)
        return UDFU_ERR_RANGE;
    if (!f->fail_next)
        memset(p, 0xFF, size);
    touch(f, addr, size);
    return result(f, 0);
}

static int cb_prog(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    struct fx *f = ctx;
    uint8_t *p = at(f, addr, len);
    uint32_t i;
    (void)alt;
    f->progs++;
    if (!p)
        return UDFU_ERR_RANGE;
    for (i = 0; i < len; i++)
        if ((p[i] & buf[i]) != buf[i])
            return UDFU_ERR_NOT_ERASED;
    touch(f, addr, len);
    if (f->async && UDFU_CFG_ASYNC && !f->fail_next) {
        f->prog_dst = p; /* applied by fx_finish(), from the buffer as it is then */
        f->prog_src = buf;
        f->prog_len = len;
        return result(f, 0);
    }
    if (!f->fail_next)
        for (i = 0; i < len; i++)
            p[i] &= buf[i];
    return result(f, 0);
}

static int cb_manifest(void *ctx, uint8_t alt)
{
    struct fx *f = ctx;
    (void)alt;
    f->manifests++;
    return result(f, 0);
}

static void cb_leave(void *ctx, uint32_t addr)
{
    struct fx *f = ctx;
    f->leaves++;
    f->leave_addr = addr;
}

void fx_init(struct fx *f, uint8_t attributes)
{
    memset(f, 0, sizeof *f);
    memset(f->flash, 0xA5, sizeof f->flash);
    f->write_lo = 0xFFFFFFFFu;
    f->now = 1000;
    f->cfg.context = f;
    f->cfg.targets = fx_targets;
    f->cfg.target_count = UDFU_CFG_PLAIN ? 2 : 1; /* alt 1 is plain DFU */
    f->cfg.interface = 0;
    f->cfg.attributes = attributes;
    f->cfg.transfer_size = FX_XFER;
    f->cfg.buffer = f->buf;
    f->cfg.manifest_ms = 20;
    f->cfg.reset_timeout_ms = 500;
    f->cfg.read = cb_read;
    f->cfg.erase = cb_erase;
    f->cfg.prog = cb_prog;
    f->cfg.manifest = cb_manifest;
    f->cfg.leave = cb_leave;
    fx_start(f);
}

void fx_start(struct fx *f)
{
    int rc = udfu_dfu_init(&f->dfu, &f->cfg);
    if (rc) {
        /* Running on would drive an uninitialised instance. */
        fprintf(stderr, "fx_start: udfu_dfu_init refused the config (%d)\n", rc);
        abort();
    }
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
    uint32_t i;
    if (f->prog_dst && !err)
        for (i = 0; i < f->prog_len; i++)
            f->prog_dst[i] &= f->prog_src[i];
    f->prog_dst = NULL;
    f->pending = 0;
#if UDFU_CFG_ASYNC
    udfu_dfu_complete(&f->dfu, err);
#else
    (void)err; /* synchronous build: nothing is ever pending */
#endif
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
