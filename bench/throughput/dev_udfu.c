/*
 * dev_udfu.c - the real udfu class core as a simulated device (dev.h).
 *
 * Flash work: every erase/prog callback returns UDFU_ERR_PENDING and the
 * operation ends at now + its modelled time; the content changes then, so
 * a core that reused a buffer under a running program would corrupt the
 * image and the run's check would see it.
 */
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "simdev.h"
#include "udfu_dfu.h"

enum { OP_IDLE, OP_ERASE, OP_PROG };

struct udev {
    struct dev base;
    struct udfu_dfu dfu;
    struct udfu_dfu_cfg cfg;
    struct udfu_target target;
    struct udfu_region regions[FLASH_MAX_GEO];
    struct simdev sd;
    int via_usbd;
    uint8_t *buffer;
    ps_t now, next_tick;
    int op;
    uint32_t op_addr, op_len;
    const uint8_t *op_buf;
    ps_t op_end;
};

static struct udev *U(struct dev *d)
{
    return (struct udev *)d;
}

static int cb_read(void *ctx, uint8_t alt, uint32_t addr, uint8_t *buf, uint32_t len)
{
    struct udev *u = ctx;
    (void)alt;
    memcpy(buf, u->base.mem.bytes + (addr - u->base.mem.part->base), len);
    return 0;
}

static int start_op(struct udev *u, int op, uint32_t addr, const uint8_t *buf, uint32_t len,
                    ps_t time)
{
    if (u->op != OP_IDLE)
        abort(); /* the core issues one operation at a time */
    u->op = op;
    u->op_addr = addr;
    u->op_buf = buf;
    u->op_len = len;
    u->op_end = u->now + time;
    u->base.flash_busy += time;
    return UDFU_ERR_PENDING;
}

static int cb_erase(void *ctx, uint8_t alt, uint32_t addr, uint32_t size)
{
    struct udev *u = ctx;
    uint32_t start, ssize;
    ps_t t;
    (void)alt;
    if (flash_sector(u->base.mem.part, addr, &start, &ssize, &t))
        return UDFU_ERR_ERASE;
    return start_op(u, OP_ERASE, addr, NULL, size, t);
}

static int cb_prog(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    struct udev *u = ctx;
    (void)alt;
    return start_op(u, OP_PROG, addr, buf, len, flash_prog_time(u->base.mem.part, addr, len));
}

static void cb_leave(void *ctx, uint32_t addr)
{
    (void)ctx;
    (void)addr;
}

static void task(struct udev *u)
{
    uint32_t ms = (uint32_t)(u->now / PS_PER_MS);
    if (u->via_usbd)
        simdev_task(&u->sd, ms);
    else
        udfu_dfu_task(&u->dfu, ms);
}

/* The operation's effect lands when it ends. */
static void finish_op(struct udev *u)
{
    int err = u->op == OP_ERASE ? flash_mem_erase(&u->base.mem, u->op_addr, u->op_len)
                                : flash_mem_prog(&u->base.mem, u->op_addr, u->op_buf, u->op_len);
    u->op = OP_IDLE;
    u->base.flash_done = u->now;
    udfu_dfu_complete(&u->dfu, err ? UDFU_ERR_IO : 0);
}

/* Events in time order: operation ends, then 1 ms ticks; the main loop
 * runs the task after each, and right away for what the last request
 * queued. */
static void u_advance(struct dev *d, ps_t t)
{
    struct udev *u = U(d);
    task(u);
    for (;;) {
        int op_first = u->op != OP_IDLE && u->op_end <= u->next_tick;
        ps_t next = op_first ? u->op_end : u->next_tick;
        if (next > t)
            break;
        u->now = next;
        if (op_first)
            finish_op(u);
        else
            u->next_tick += PS_PER_MS;
        task(u);
    }
    if (t > u->now)
        u->now = t;
    task(u);
}

static int u_setup(struct dev *d, const struct udfu_setup *req, uint8_t **data)
{
    struct udev *u = U(d);
    return u->via_usbd ? simdev_setup(&u->sd, req, data) : udfu_dfu_setup(&u->dfu, req, data);
}

static int u_data(struct dev *d, uint16_t len)
{
    struct udev *u = U(d);
    return u->via_usbd ? simdev_data(&u->sd, len) : udfu_dfu_data(&u->dfu, len);
}

static void u_status_done(struct dev *d)
{
    struct udev *u = U(d);
    if (u->via_usbd)
        simdev_status_done(&u->sd);
    else
        udfu_dfu_status_done(&u->dfu);
}

static ps_t u_ready(struct dev *d)
{
    (void)d;
    return 0; /* the core answers every request at once */
}

static int u_busy(struct dev *d)
{
    struct udev *u = U(d);
    return u->op != OP_IDLE || udfu_dfu_busy(&u->dfu);
}

static void u_destroy(struct dev *d)
{
    struct udev *u = U(d);
    flash_mem_free(&d->mem);
    free(u->buffer);
    free(u);
}

struct dev *dev_udfu_new(const struct dev_opts *o)
{
    struct udev *u = calloc(1, sizeof *u);
    if (!u || flash_mem_init(&u->base.mem, o->part))
        abort();
    u->base.name = "udfu";
    u->base.setup = u_setup;
    u->base.data = u_data;
    u->base.status_done = u_status_done;
    u->base.advance = u_advance;
    u->base.ready = u_ready;
    u->base.busy = u_busy;
    u->base.destroy = u_destroy;
    u->via_usbd = o->via_usbd;
    u->next_tick = PS_PER_MS;
    u->buffer = calloc(o->buffers ? o->buffers : 1, o->xfer);
    if (!u->buffer)
        abort();
    u->target.name = o->part->name;
    u->target.regions = u->regions;
    u->target.region_count = (uint8_t)flash_regions(o->part, u->regions, FLASH_MAX_GEO);
    u->target.dfuse = (uint8_t)o->dfuse;
    u->cfg.context = u;
    u->cfg.targets = &u->target;
    u->cfg.target_count = 1;
    u->cfg.attributes =
        UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD | UDFU_ATTR_MANIFEST_TOLERANT;
    u->cfg.transfer_size = o->xfer;
    u->cfg.buffer = u->buffer;
    u->cfg.buffers = o->buffers;
    u->cfg.read = cb_read;
    u->cfg.erase = cb_erase;
    u->cfg.prog = cb_prog;
    u->cfg.leave = cb_leave;
    if (udfu_dfu_init(&u->dfu, &u->cfg) || (u->via_usbd && simdev_init(&u->sd, &u->dfu)))
        abort();
    return &u->base;
}
