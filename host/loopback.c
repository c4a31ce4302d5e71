/*
 * loopback.c - the in-process loopback transport: the host library talks
 * to udfu's own device stack (usbd + dfu/rt + simulated NOR) through a
 * fake controller driver, under a virtual clock. See udfu_loopback.h.
 */
#include <string.h>

#include "udfu_loopback.h"
#include "udfu_util.h"

enum { EV_NONE, EV_IN, EV_OUT, EV_ACK, EV_STALL };

/* ---- the controller driver: record what the device answered ----------------- */

static void dcd_in(void *ctx, const uint8_t *data, uint16_t len, int zlp)
{
    struct udfu_loopback *lb = ctx;
    (void)zlp;
    lb->ev = EV_IN;
    lb->in_data = data;
    lb->in_len = len;
}

static void dcd_out(void *ctx, uint8_t *buf, uint16_t len)
{
    struct udfu_loopback *lb = ctx;
    lb->ev = EV_OUT;
    lb->out_buf = buf;
    lb->out_len = len;
}

static void dcd_ack(void *ctx)
{
    ((struct udfu_loopback *)ctx)->ev = EV_ACK;
}

static void dcd_stall(void *ctx)
{
    ((struct udfu_loopback *)ctx)->ev = EV_STALL;
}

/* ---- flash callbacks: done at once, reported when the time has passed -------- */

static int start_op(struct udfu_loopback *lb, int result, uint32_t ms)
{
    lb->pending = 1;
    lb->pending_result = result;
    lb->pending_at = lb->now + ms;
    return UDFU_ERR_PENDING;
}

static int lb_read(void *ctx, uint8_t alt, uint32_t addr, uint8_t *buf, uint32_t len)
{
    (void)alt;
    return udfu_nor_read(&((struct udfu_loopback *)ctx)->nor, addr, buf, len);
}

static int lb_erase(void *ctx, uint8_t alt, uint32_t addr, uint32_t size)
{
    struct udfu_loopback *lb = ctx;
    (void)alt;
    return start_op(lb, udfu_nor_erase(&lb->nor, addr, size),
                    udfu_nor_erase_ms(&lb->nor, addr, size));
}

static int lb_prog(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    struct udfu_loopback *lb = ctx;
    (void)alt;
    return start_op(lb, udfu_nor_prog(&lb->nor, addr, buf, len),
                    udfu_nor_prog_ms(&lb->nor, addr, len));
}

static int lb_verify(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    struct udfu_loopback *lb = ctx;
    const uint8_t *mem = udfu_nor_mem(&lb->nor, addr);
    (void)alt;
    return mem && memcmp(mem, buf, len) == 0 ? 0 : UDFU_ERR_VERIFY;
}

static int lb_manifest(void *ctx, uint8_t alt)
{
    struct udfu_loopback *lb = ctx;
    (void)alt;
    return start_op(lb, lb->manifest_result, lb->cfg.manifest_ms);
}

/* The device goes away and comes back in mode (on the host's reopen). */
static void reenumerate(struct udfu_loopback *lb, uint8_t mode)
{
    lb->mode = mode;
    lb->attached = 0;
}

static void lb_leave(void *ctx, uint32_t addr)
{
    struct udfu_loopback *lb = ctx;
    lb->leaves++;
    lb->leave_addr = addr;
    reenumerate(lb, lb->cfg.pid_rt ? UDFU_PROTOCOL_RUNTIME : UDFU_PROTOCOL_DFU);
}

static void lb_detach(void *ctx)
{
    struct udfu_loopback *lb = ctx;
    lb->detaches++;
    reenumerate(lb, UDFU_PROTOCOL_DFU);
}

/* ---- the device's main loop ---------------------------------------------------- */

static void tick(struct udfu_loopback *lb)
{
    int i;
    /* Several passes: a completion lets the core issue its next step. */
    for (i = 0; i < 8 && lb->attached; i++) {
        if (lb->pending && (int32_t)(lb->now - lb->pending_at) >= 0) {
            lb->pending = 0;
            if (lb->mode == UDFU_PROTOCOL_DFU)
                udfu_dfu_complete(&lb->dfu, lb->pending_result);
        }
        udfu_usbd_task(&lb->usbd, lb->now);
    }
}

void udfu_loopback_run(struct udfu_loopback *lb, uint32_t ms)
{
    while (ms--) {
        lb->now++;
        tick(lb);
    }
    tick(lb);
}

/* Power-up or re-enumeration in the current mode. */
static int plug(struct udfu_loopback *lb)
{
    int err;
    lb->pending = 0;
    lb->expect = 0;
    if (lb->mode == UDFU_PROTOCOL_DFU) {
        err = udfu_dfu_init(&lb->dfu, &lb->dfu_cfg);
        lb->usbd_cfg.dfu = &lb->dfu;
        lb->usbd_cfg.rt = NULL;
        lb->usbd_cfg.pid = lb->cfg.pid_dfu;
    } else {
        err = udfu_rt_init(&lb->rt, &lb->rt_cfg);
        lb->usbd_cfg.dfu = NULL;
        lb->usbd_cfg.rt = &lb->rt;
        lb->usbd_cfg.pid = lb->cfg.pid_rt;
    }
    if (err == 0)
        err = udfu_usbd_init(&lb->usbd, &lb->usbd_cfg);
    if (err == 0) {
        lb->attached = 1;
        udfu_usbd_bus_reset(&lb->usbd);
        tick(lb);
    }
    return err;
}

static void setup_cfgs(struct udfu_loopback *lb)
{
    struct udfu_loopback_cfg *c = &lb->cfg;
    struct udfu_dfu_cfg *d = &lb->dfu_cfg;
    d->context = lb;
    d->targets = c->targets;
    d->target_count = c->target_count;
    d->attributes = c->attributes;
    d->transfer_size = c->transfer_size;
    d->buffer = lb->buffer;
    d->detach_timeout_ms = c->detach_timeout_ms;
    d->manifest_ms = c->manifest_ms;
    d->read = lb_read;
    d->erase = lb_erase;
    d->prog = lb_prog;
    d->verify = lb_verify;
    d->manifest = lb_manifest;
    d->leave = lb_leave;

    lb->rt_cfg.context = lb;
    lb->rt_cfg.attributes = c->attributes;
    lb->rt_cfg.detach_timeout_ms = c->detach_timeout_ms;
    lb->rt_cfg.transfer_size = c->transfer_size;
    lb->rt_cfg.bcd_dfu = udfu_dfu_bcd(d);
    lb->rt_cfg.detach = lb_detach;

    lb->dcd.ep0_in = dcd_in;
    lb->dcd.ep0_out = dcd_out;
    lb->dcd.ep0_ack = dcd_ack;
    lb->dcd.ep0_stall = dcd_stall;
    lb->usbd_cfg.context = lb;
    lb->usbd_cfg.dcd = &lb->dcd;
    lb->usbd_cfg.vid = c->vid;
    lb->usbd_cfg.bcd_device = 0x0100;
    lb->usbd_cfg.manufacturer = "udfu";
    lb->usbd_cfg.product = "udfu loopback";
    lb->usbd_cfg.serial = c->serial ? c->serial : "LOOP0001";
    lb->usbd_cfg.rt_name = "udfu run-time";
}

int udfu_loopback_init(struct udfu_loopback *lb, const struct udfu_loopback_cfg *cfg)
{
    struct udfu_nor_cfg nc;
    int err;
    if (!cfg || !cfg->targets || !cfg->target_count || !cfg->flash ||
        cfg->transfer_size > UDFU_LOOPBACK_MAX_XFER || (cfg->start_runtime && !cfg->pid_rt))
        return UDFU_ERR_INVAL;
    memset(lb, 0, sizeof *lb);
    lb->cfg = *cfg;
    if (!lb->cfg.transfer_size)
        lb->cfg.transfer_size = 1024;
    if (!lb->cfg.attributes)
        lb->cfg.attributes = UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD |
                             UDFU_ATTR_MANIFEST_TOLERANT | UDFU_ATTR_WILL_DETACH;
    if (!lb->cfg.detach_timeout_ms)
        lb->cfg.detach_timeout_ms = 1000;
    nc.regions = cfg->flash;
    nc.region_count = cfg->flash_count;
    nc.path = NULL;
    err = udfu_nor_open(&lb->nor, &nc);
    if (err < 0)
        return err;
    setup_cfgs(lb);
    lb->mode = cfg->start_runtime ? UDFU_PROTOCOL_RUNTIME : UDFU_PROTOCOL_DFU;
    err = plug(lb);
    if (err < 0)
        udfu_nor_close(&lb->nor);
    return err;
}

void udfu_loopback_deinit(struct udfu_loopback *lb)
{
    udfu_nor_close(&lb->nor);
}

/* ---- the transport ---------------------------------------------------------------- */

/* The host must come back exactly when the last busy status said. */
static void check_poll(struct udfu_loopback *lb, const struct udfu_setup *s)
{
    if ((s->bmRequestType & 0x60u) != 0x20u || !lb->expect)
        return;
    lb->expect = 0;
    if ((int32_t)(lb->now - lb->expect_at) < 0)
        lb->early_polls++;
    else if (lb->now != lb->expect_at)
        lb->late_polls++;
}

static void note_status(struct udfu_loopback *lb, const struct udfu_setup *s, const uint8_t *r,
                        int n)
{
    if (s->bmRequestType != UDFU_RT_IN || s->bRequest != UDFU_REQ_GETSTATUS ||
        n != UDFU_STATUS_LEN)
        return;
    if (r[4] == UDFU_DNBUSY || r[4] == UDFU_MANIFEST) {
        lb->expect = 1;
        lb->expect_at = lb->now + (uint32_t)(r[1] | r[2] << 8 | r[3] << 16);
    }
}

/* Completes the data and status stages the device asked for. */
static int finish_transfer(struct udfu_loopback *lb, const struct udfu_setup *s, uint8_t *data)
{
    int n;
    switch (lb->ev) {
    case EV_IN:
        n = lb->in_len < s->wLength ? lb->in_len : s->wLength;
        memcpy(data, lb->in_data, (size_t)n);
        lb->ev = EV_NONE;
        udfu_usbd_status_done(&lb->usbd);
        return n;
    case EV_OUT:
        memcpy(lb->out_buf, data, lb->out_len);
        lb->ev = EV_NONE;
        udfu_usbd_out_done(&lb->usbd, lb->out_len);
        if (lb->ev != EV_ACK)
            return lb->ev == EV_STALL ? UDFU_ERR_STALL : UDFU_ERR_TIMEOUT;
        udfu_usbd_status_done(&lb->usbd);
        return s->wLength;
    case EV_ACK:
        udfu_usbd_status_done(&lb->usbd);
        return 0;
    case EV_STALL:
        return UDFU_ERR_STALL;
    default:
        return UDFU_ERR_TIMEOUT; /* the device never answered: a host would time out */
    }
}

static int lb_control(void *ctx, const struct udfu_setup *s, uint8_t *data, uint32_t timeout)
{
    struct udfu_loopback *lb = ctx;
    uint8_t raw[8];
    int n;
    (void)timeout;
    if (lb->unplug_after && --lb->unplug_after == 0) {
        lb->unplugged = 1;
        lb->attached = 0;
    }
    if (!lb->attached)
        return UDFU_ERR_NODEV;
    check_poll(lb, s);
    raw[0] = s->bmRequestType;
    raw[1] = s->bRequest;
    udfu_put16(raw + 2, s->wValue);
    udfu_put16(raw + 4, s->wIndex);
    udfu_put16(raw + 6, s->wLength);
    lb->transfers++;
    if ((s->bmRequestType & 0x60u) == 0x20u && s->bRequest < 8)
        lb->requests[s->bRequest]++;
    lb->ev = EV_NONE;
    udfu_usbd_setup(&lb->usbd, raw);
    n = finish_transfer(lb, s, data);
    if (n == UDFU_ERR_STALL)
        lb->stalls++;
    note_status(lb, s, data, n);
    tick(lb);
    return n;
}

static int std_out(struct udfu_loopback *lb, uint8_t type, uint8_t req, uint16_t value,
                   uint16_t index)
{
    struct udfu_setup s;
    s.bmRequestType = type;
    s.bRequest = req;
    s.wValue = value;
    s.wIndex = index;
    s.wLength = 0;
    return lb_control(lb, &s, NULL, 0);
}

static int lb_select(void *ctx, uint8_t interface, uint8_t alt)
{
    struct udfu_loopback *lb = ctx;
    int err = 0;
    if (!lb->usbd.configuration)
        err = std_out(lb, 0x00, 0x09, 1, 0); /* SET_CONFIGURATION 1 */
    if (err == 0)
        err = std_out(lb, 0x01, 0x0B, alt, interface); /* SET_INTERFACE */
    return err < 0 ? err : 0;
}

static int lb_reset(void *ctx)
{
    struct udfu_loopback *lb = ctx;
    if (!lb->attached)
        return UDFU_ERR_NODEV;
    lb->bus_resets++;
    udfu_usbd_bus_reset(&lb->usbd);
    tick(lb);
    return 0;
}

static int lb_reopen(void *ctx, uint32_t timeout_ms)
{
    struct udfu_loopback *lb = ctx;
    (void)timeout_ms;
    if (lb->unplugged)
        return UDFU_ERR_NODEV;
    if (lb->attached)
        return 0;
    /* Enumeration by a real host: bus reset, then an address. */
    if (plug(lb) < 0)
        return UDFU_ERR_NODEV;
    return std_out(lb, 0x00, 0x05, 1, 0) < 0 ? UDFU_ERR_NODEV : 0;
}

static void lb_sleep(void *ctx, uint32_t ms)
{
    udfu_loopback_run(ctx, ms);
}

static int lb_wait_gone(void *ctx, uint32_t timeout_ms)
{
    struct udfu_loopback *lb = ctx;
    while (lb->attached && timeout_ms--) {
        lb->now++;
        tick(lb);
    }
    return lb->attached ? UDFU_ERR_TIMEOUT : 0;
}

static const char *lb_where(void *ctx)
{
    (void)ctx;
    return "loopback";
}

static void lb_close(void *ctx)
{
    (void)ctx;
}

static const struct udfu_host_transport_ops loopback_ops = {
    lb_control, lb_select, lb_reset, lb_reopen, lb_sleep, lb_where, lb_close, lb_wait_gone,
};

const struct udfu_host_transport_ops *udfu_loopback_ops(void)
{
    return &loopback_ops;
}
