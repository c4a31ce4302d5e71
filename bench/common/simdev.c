/*
 * simdev.c - see simdev.h.
 */
#include "simdev.h"

#include <string.h>

static void sd_in(void *ctx, const uint8_t *data, uint16_t len, int zlp)
{
    struct simdev *s = ctx;
    (void)zlp; /* the host model counts packets from the lengths itself */
    s->last = SD_IN;
    s->in = data;
    s->in_len = len;
}

static void sd_out(void *ctx, uint8_t *buf, uint16_t len)
{
    struct simdev *s = ctx;
    s->last = SD_OUT;
    s->out = buf;
    s->out_len = len;
}

static void sd_ack(void *ctx)
{
    ((struct simdev *)ctx)->last = SD_ACK;
}

static void sd_stall(void *ctx)
{
    ((struct simdev *)ctx)->last = SD_STALL;
}

static const struct udfu_dcd sd_ops = {sd_in, sd_out, sd_ack, sd_stall, NULL};

static void raw_setup(const struct udfu_setup *r, uint8_t raw[8])
{
    raw[0] = r->bmRequestType;
    raw[1] = r->bRequest;
    raw[2] = (uint8_t)r->wValue;
    raw[3] = (uint8_t)(r->wValue >> 8);
    raw[4] = (uint8_t)r->wIndex;
    raw[5] = (uint8_t)(r->wIndex >> 8);
    raw[6] = (uint8_t)r->wLength;
    raw[7] = (uint8_t)(r->wLength >> 8);
}

int simdev_setup(struct simdev *s, const struct udfu_setup *req, uint8_t **data)
{
    uint8_t raw[8];
    raw_setup(req, raw);
    s->last = SD_NONE;
    udfu_usbd_setup(&s->usbd, raw);
    switch (s->last) {
    case SD_IN:
        *data = (uint8_t *)(uintptr_t)s->in;
        return s->in_len;
    case SD_OUT:
        *data = s->out;
        return s->out_len;
    case SD_ACK:
        return 0;
    default:
        return UDFU_ERR_STALL;
    }
}

int simdev_data(struct simdev *s, uint16_t len)
{
    s->last = SD_NONE;
    udfu_usbd_out_done(&s->usbd, len);
    return s->last == SD_ACK ? 0 : UDFU_ERR_STALL;
}

void simdev_status_done(struct simdev *s)
{
    udfu_usbd_status_done(&s->usbd);
}

void simdev_task(struct simdev *s, uint32_t now_ms)
{
    udfu_usbd_task(&s->usbd, now_ms);
}

int simdev_init(struct simdev *s, struct udfu_dfu *dfu)
{
    const struct udfu_setup set_config = {0x00, 9, 1, 0, 0};
    uint8_t *data;
    int err;
    memset(s, 0, sizeof *s);
    s->cfg.context = s;
    s->cfg.dcd = &sd_ops;
    s->cfg.vid = 0x1209;
    s->cfg.pid = 0x0001;
    s->cfg.product = "udfu bench";
    s->cfg.dfu = dfu;
    err = udfu_usbd_init(&s->usbd, &s->cfg);
    if (err)
        return err;
    if (simdev_setup(s, &set_config, &data) != 0)
        return UDFU_ERR_STATE;
    simdev_status_done(s);
    return 0;
}
