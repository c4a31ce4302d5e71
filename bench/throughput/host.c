/*
 * host.c - see host.h. The request sequences follow dfu-util 0.11 as read
 * from its source (facts only, own code).
 */
#include "host.h"

#include <stdio.h>
#include <string.h>

#include "udfu_util.h"

#define DU_RT_OUT 0x21u
#define DU_RT_IN 0xA1u

void host_init(struct host *h, struct usb_bus *bus, struct dev *dev)
{
    memset(h, 0, sizeof *h);
    h->bus = bus;
    h->dev = dev;
}

static int fail(struct host *h, const char *what, int state, int status)
{
    if (!h->failed)
        snprintf(h->msg, sizeof h->msg, "%s (state %d, status %d)", what, state, status);
    h->failed = 1;
    return -1;
}

/* The device takes the request when the firmware listens again (a busy
 * firmware NAKs; the host controller retries on its own). */
static ps_t sync_dev(struct host *h, ps_t t)
{
    ps_t r;
    h->dev->advance(h->dev, t);
    r = h->dev->ready(h->dev);
    if (r > t) {
        t = r;
        h->dev->advance(h->dev, t);
    }
    return t;
}

static ps_t data_stage(struct host *h, ps_t t, uint32_t len, int zlp)
{
    struct usb_bus *b = h->bus;
    uint32_t off = 0;
    while (off < len) {
        uint32_t n = len - off < b->mps ? len - off : b->mps;
        t = usb_xact(b, t, usb_data_bytes(b, n));
        off += n;
    }
    if (zlp)
        t = usb_xact(b, t, usb_data_bytes(b, 0));
    return t;
}

/* GETSTATUS replies in the trace: state and poll timeout. */
static const char *trace_status(uint8_t req, int ok, const uint8_t *r)
{
    static char s[48];
    if (req != UDFU_REQ_GETSTATUS || !ok)
        return "";
    snprintf(s, sizeof s, " [status %u state %u poll %u]", r[0], r[4],
             (unsigned)(r[1] | (r[2] << 8) | (r[3] << 16)));
    return s;
}

int host_xfer(struct host *h, uint8_t bm, uint8_t req, uint16_t value, uint16_t len,
              uint8_t *buf)
{
    struct usb_bus *b = h->bus;
    struct dev *d = h->dev;
    struct udfu_setup s = {bm, req, value, 0, len};
    uint8_t *data = NULL;
    int in = (bm & 0x80u) != 0, n, moved = len;
    ps_t t = usb_xact(b, h->now + b->submit, usb_setup_bytes(b));

    h->transfers++;
    t = sync_dev(h, t);
    n = d->setup(d, &s, &data);
    if (n >= 0 && in) {
        /* the reply is only valid until the next call into the device */
        moved = n < len ? n : len;
        memcpy(buf, data, (size_t)moved);
        t = data_stage(h, t, (uint32_t)moved, moved == 0 || (moved < len && moved % b->mps == 0));
    } else if (n >= 0 && len) {
        t = data_stage(h, t, len, 0);
        memcpy(data, buf, len);
        t = sync_dev(h, t);
        n = d->data(d, len);
    }
    /* status stage, or the token the device stalls */
    t = usb_xact(b, t, usb_status_bytes(b));
    if (n >= 0) {
        t = sync_dev(h, t);
        d->status_done(d);
    }
    if (h->trace)
        fprintf(stderr, "%12.6f %12.6f %s req %u value %u len %u -> %d%s\n",
                (double)h->now / 1e12, (double)(t + b->complete) / 1e12, in ? "IN " : "OUT",
                req, value, len, n < 0 ? -1 : moved, trace_status(req, in && n >= 0, buf));
    h->now = t + b->complete;
    return n < 0 ? -1 : moved;
}

struct du_status {
    uint8_t status, state;
    uint32_t poll;
};

static int getstatus(struct host *h, struct du_status *st)
{
    uint8_t r[UDFU_STATUS_LEN];
    h->getstatus++;
    if (host_xfer(h, DU_RT_IN, UDFU_REQ_GETSTATUS, 0, UDFU_STATUS_LEN, r) != UDFU_STATUS_LEN)
        return fail(h, "GETSTATUS failed", -1, -1);
    st->status = r[0];
    st->poll = (uint32_t)r[1] | ((uint32_t)r[2] << 8) | ((uint32_t)r[3] << 16);
    st->state = r[4];
    if (st->poll > h->max_poll)
        h->max_poll = st->poll;
    return 0;
}

static void sleep_ms(struct host *h, uint32_t ms)
{
    ps_t t = usb_sleep(h->bus, h->now, ms);
    if (ms)
        h->polls_slept++;
    h->slept += t - h->now;
    h->now = t;
}

static int dnload(struct host *h, uint16_t block, const uint8_t *data, uint16_t len)
{
    uint8_t tmp[4096];
    if (len > sizeof tmp)
        return fail(h, "transfer size over 4096", -1, -1);
    memcpy(tmp, data, len);
    if (host_xfer(h, DU_RT_OUT, UDFU_REQ_DNLOAD, block, len, tmp) != len)
        return fail(h, "DNLOAD stalled", -1, -1);
    return 0;
}

int host_dfu(struct host *h, uint16_t xfer, const uint8_t *img, uint32_t len)
{
    uint16_t block = 0;
    uint32_t off;
    struct du_status st;
    for (off = 0; off < len; off += xfer) {
        uint16_t n = (uint16_t)(len - off < xfer ? len - off : xfer);
        if (dnload(h, block++, img + off, n))
            return -1;
        for (;;) {
            if (getstatus(h, &st))
                return -1;
            if (st.state == UDFU_DNLOAD_IDLE || st.state == UDFU_DFU_ERROR)
                break;
            sleep_ms(h, st.poll);
        }
        if (st.status != UDFU_STATUS_OK)
            return fail(h, "download failed", st.state, st.status);
    }
    return 0;
}

/* A DfuSe command: the first GETSTATUS must say dfuDNBUSY; sleep the poll
 * timeout after each one until the state changes. */
static int dfuse_command(struct host *h, uint8_t cmd, uint32_t addr)
{
    uint8_t b[5];
    struct du_status st;
    int first = 1, zeros = 0;
    b[0] = cmd;
    udfu_put32(b + 1, addr);
    if (dnload(h, 0, b, 5))
        return -1;
    do {
        if (getstatus(h, &st))
            return -1;
        if (first && st.state != UDFU_DNBUSY)
            return fail(h, "wrong state after command", st.state, st.status);
        first = 0;
        sleep_ms(h, st.poll);
        if (st.poll == 0 && ++zeros == 100)
            return fail(h, "device stuck after command", st.state, st.status);
        if (st.poll)
            zeros = 0;
    } while (st.state == UDFU_DNBUSY);
    if (st.status != UDFU_STATUS_OK)
        return fail(h, "command not executed", st.state, st.status);
    return 0;
}

static int dfuse_chunk(struct host *h, const uint8_t *data, uint16_t len)
{
    struct du_status st;
    if (dnload(h, 2, data, len))
        return -1;
    do {
        if (getstatus(h, &st))
            return -1;
        sleep_ms(h, st.poll);
    } while (st.state != UDFU_DNLOAD_IDLE && st.state != UDFU_DFU_ERROR &&
             st.state != UDFU_MANIFEST);
    if (st.status != UDFU_STATUS_OK)
        return fail(h, "chunk failed", st.state, st.status);
    return 0;
}

/* dfu-util starts from an unaligned "last erased page" so the first page
 * is always erased. */
static int erase_pass(struct host *h, uint16_t xfer, const struct flash_part *part, uint32_t addr,
                      uint32_t len)
{
    uint32_t last = 1, p, start, page;
    ps_t t;
    for (p = 0; p < len; p += xfer) {
        uint32_t a = addr + p, n = len - p < xfer ? len - p : xfer, e;
        if (flash_sector(part, a, &start, &page, &t))
            return fail(h, "address outside the layout", -1, -1);
        for (e = a; e < a + n; e += page)
            if ((e & ~(page - 1u)) != last) {
                if (dfuse_command(h, UDFU_DFUSE_CMD_ERASE, e))
                    return -1;
                last = e & ~(page - 1u);
            }
        if (((a + n - 1) & ~(page - 1u)) != last) {
            if (dfuse_command(h, UDFU_DFUSE_CMD_ERASE, a + n - 1))
                return -1;
            last = (a + n - 1) & ~(page - 1u);
        }
    }
    return 0;
}

int host_dfuse(struct host *h, uint16_t xfer, const struct flash_part *part, uint32_t addr,
               const uint8_t *img, uint32_t len)
{
    uint32_t p;
    if (erase_pass(h, xfer, part, addr, len))
        return -1;
    for (p = 0; p < len; p += xfer) {
        uint16_t n = (uint16_t)(len - p < xfer ? len - p : xfer);
        if (dfuse_command(h, UDFU_DFUSE_CMD_SET_ADDRESS, addr + p) || dfuse_chunk(h, img + p, n))
            return -1;
    }
    return 0;
}
