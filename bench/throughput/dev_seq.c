/*
 * dev_seq.c - the reference devices of the throughput benchmark (dev.h):
 *
 * seq: what common DFU stacks do. DNLOAD only stores the block. The
 * GETSTATUS that follows answers dfuDNBUSY with a fixed bwPollTimeout, and
 * the flash work (plain DFU: erase a sector when the image reaches it,
 * then program; DfuSe: the command or the program) runs once that reply is
 * delivered, with the firmware deaf to the host (EP0 NAKs) until it ends.
 * The next GETSTATUS then reports dfuDNLOAD-IDLE.
 *
 * ideal: the same protocol with instant flash work, poll timeout 0, and
 * dfuDNBUSY only where dfu-util insists on it (after a DfuSe command). Its
 * download time is what the host and the bus cost alone.
 *
 * Written for this benchmark from the protocol (REFERENCE sections 2-4); it
 * is a baseline, not udfu and not anybody's code.
 */
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "udfu_util.h"

struct sdev {
    struct dev base;
    const struct flash_part *part;
    int dfuse, ideal;
    uint16_t xfer;
    uint32_t poll_ms;
    uint8_t *buf;
    uint8_t state;
    uint8_t pending;       /* a DNLOAD waits for its flash work */
    uint8_t work_armed;    /* the reply announcing dfuDNBUSY is on its way */
    uint16_t len, block;
    uint32_t addr;         /* DfuSe address pointer */
    uint32_t offset;       /* plain DFU: next image byte */
    uint32_t erased_end;   /* plain DFU: image bytes below lie in erased sectors */
    ps_t now, busy_until;
    uint8_t reply[UDFU_STATUS_LEN];
};

static struct sdev *S(struct dev *d)
{
    return (struct sdev *)d;
}

static ps_t erase_at(struct sdev *s, uint32_t addr)
{
    uint32_t start, size;
    ps_t t;
    if (flash_sector(s->part, addr, &start, &size, &t) || flash_mem_erase(&s->base.mem, start, size))
        abort();
    return t;
}

static ps_t prog_at(struct sdev *s, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    if (flash_mem_prog(&s->base.mem, addr, buf, len))
        abort();
    return flash_prog_time(s->part, addr, len);
}

/* Plain DFU 1.1: erase each sector as the image reaches it, then program. */
static ps_t plain_work(struct sdev *s)
{
    uint32_t addr = s->part->base + s->offset, start, size;
    ps_t t = 0, e;
    while (s->erased_end < s->offset + s->len &&
           !flash_sector(s->part, s->part->base + s->erased_end, &start, &size, &e)) {
        t += erase_at(s, start);
        s->erased_end = start + size - s->part->base;
    }
    t += prog_at(s, addr, s->buf, s->len);
    s->offset += s->len;
    return t;
}

static ps_t dfuse_work(struct sdev *s)
{
    if (s->block == 0) {
        uint32_t a = s->len >= 5 ? udfu_get32(s->buf + 1) : 0;
        if (s->buf[0] == UDFU_DFUSE_CMD_SET_ADDRESS && s->len == 5) {
            s->addr = a;
            return 0;
        }
        if (s->buf[0] == UDFU_DFUSE_CMD_ERASE && s->len == 5)
            return erase_at(s, a);
        abort(); /* the benchmark's host sends nothing else */
    }
    return prog_at(s, s->addr + (uint32_t)(s->block - 2) * s->xfer, s->buf, s->len);
}

static void do_work(struct sdev *s)
{
    ps_t t = s->dfuse ? dfuse_work(s) : plain_work(s);
    if (s->ideal)
        t = 0;
    s->pending = 0;
    s->base.flash_busy += t;
    s->busy_until = s->now + t;
    if (t)
        s->base.flash_done = s->busy_until;
}

static int status_reply(struct sdev *s, uint8_t state, uint32_t poll, uint8_t **data)
{
    s->state = state;
    s->reply[0] = UDFU_STATUS_OK;
    udfu_put24(&s->reply[1], poll);
    s->reply[4] = state;
    s->reply[5] = 0;
    *data = s->reply;
    return UDFU_STATUS_LEN;
}

/* dfu-util insists on dfuDNBUSY first only after a DfuSe command. */
static int wants_busy(const struct sdev *s)
{
    return !s->ideal || (s->dfuse && s->block == 0);
}

static int s_getstatus(struct sdev *s, uint8_t **data)
{
    if (s->state == UDFU_DNLOAD_SYNC && s->pending) {
        if (!wants_busy(s)) {
            do_work(s);
            return status_reply(s, UDFU_DNLOAD_IDLE, 0, data);
        }
        s->work_armed = 1;
        return status_reply(s, UDFU_DNBUSY, s->ideal ? 0 : s->poll_ms, data);
    }
    if (s->state == UDFU_DNLOAD_SYNC || s->state == UDFU_DNBUSY)
        return status_reply(s, UDFU_DNLOAD_IDLE, 0, data);
    return status_reply(s, s->state, 0, data);
}

static int s_setup(struct dev *d, const struct udfu_setup *req, uint8_t **data)
{
    struct sdev *s = S(d);
    switch (req->bRequest) {
    case UDFU_REQ_DNLOAD:
        if (!req->wLength || req->wLength > s->xfer ||
            (s->state != UDFU_DFU_IDLE && s->state != UDFU_DNLOAD_IDLE))
            return UDFU_ERR_STALL;
        s->block = req->wValue;
        s->len = req->wLength;
        *data = s->buf;
        return req->wLength;
    case UDFU_REQ_GETSTATUS:
        return s_getstatus(s, data);
    case UDFU_REQ_ABORT:
        s->state = UDFU_DFU_IDLE;
        return 0;
    default:
        return UDFU_ERR_STALL;
    }
}

static int s_data(struct dev *d, uint16_t len)
{
    struct sdev *s = S(d);
    if (len != s->len)
        return UDFU_ERR_STALL;
    s->pending = 1;
    s->state = UDFU_DNLOAD_SYNC;
    return 0;
}

static void s_status_done(struct dev *d)
{
    struct sdev *s = S(d);
    if (s->work_armed) {
        s->work_armed = 0;
        do_work(s);
    }
}

static void s_advance(struct dev *d, ps_t t)
{
    struct sdev *s = S(d);
    if (t > s->now)
        s->now = t;
}

static ps_t s_ready(struct dev *d)
{
    return S(d)->busy_until;
}

static int s_busy(struct dev *d)
{
    struct sdev *s = S(d);
    return s->pending || s->busy_until > s->now;
}

static void s_destroy(struct dev *d)
{
    struct sdev *s = S(d);
    flash_mem_free(&d->mem);
    free(s->buf);
    free(s);
}

static struct dev *new_seq(const struct dev_opts *o, int ideal)
{
    struct sdev *s = calloc(1, sizeof *s);
    if (!s || flash_mem_init(&s->base.mem, o->part))
        abort();
    s->base.name = ideal ? "ideal" : "seq";
    s->base.setup = s_setup;
    s->base.data = s_data;
    s->base.status_done = s_status_done;
    s->base.advance = s_advance;
    s->base.ready = s_ready;
    s->base.busy = s_busy;
    s->base.destroy = s_destroy;
    s->part = o->part;
    s->dfuse = o->dfuse;
    s->ideal = ideal;
    s->xfer = o->xfer;
    s->poll_ms = o->poll_ms;
    s->buf = malloc(o->xfer);
    if (!s->buf)
        abort();
    s->addr = o->part->base;
    s->state = UDFU_DFU_IDLE;
    return &s->base;
}

struct dev *dev_seq_new(const struct dev_opts *o)
{
    return new_seq(o, 0);
}

struct dev *dev_ideal_new(const struct dev_opts *o)
{
    return new_seq(o, 1);
}
