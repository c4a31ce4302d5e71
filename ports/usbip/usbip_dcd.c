/*
 * usbip_dcd.c - usbd's controller driver on top of the USB/IP server (see
 * usbip_dcd.h).
 */
#include "usbip_dcd.h"

#include <string.h>

enum { ACT_NONE, ACT_IN, ACT_OUT, ACT_ACK, ACT_STALL };

static void run(struct usbip_dcd *d);

/* Inside a URB's processing the loop in run() picks the action up; an
 * answer usbd gives later (from its task) is played out here. */
static void record(void *ctx, uint8_t action)
{
    struct usbip_dcd *d = ctx;

    d->action = action;
    if (!d->running && d->urb)
        run(d);
}

static void dcd_ep0_in(void *ctx, const uint8_t *data, uint16_t len, int zlp)
{
    struct usbip_dcd *d = ctx;

    (void)zlp; /* a URB has no packets: the short reply ends it */
    d->in_data = data;
    d->in_len = len;
    record(ctx, ACT_IN);
}

static void dcd_ep0_out(void *ctx, uint8_t *buf, uint16_t len)
{
    struct usbip_dcd *d = ctx;

    d->out_buf = buf;
    d->out_len = len;
    record(ctx, ACT_OUT);
}

static void dcd_ep0_ack(void *ctx)
{
    record(ctx, ACT_ACK);
}

static void dcd_ep0_stall(void *ctx)
{
    record(ctx, ACT_STALL);
}

/* vhci-hcd assigns addresses itself and never forwards SET_ADDRESS, and a
 * direct client may send one that means nothing here. */
const struct udfu_dcd usbip_dcd_ops = {
    dcd_ep0_in, dcd_ep0_out, dcd_ep0_ack, dcd_ep0_stall, NULL,
};

void usbip_dcd_init(struct usbip_dcd *d, struct usbip_server *srv, struct udfu_usbd *usbd)
{
    struct usbip_urb *urb = d->urb;

    memset(d, 0, sizeof(*d));
    d->srv = srv;
    d->usbd = usbd;
    d->urb = urb; /* a transfer in flight survives a rebind */
}

static void finish(struct usbip_dcd *d, int32_t status, uint32_t actual)
{
    struct usbip_urb *u = d->urb;

    d->urb = NULL;
    d->action = ACT_NONE;
    if (status)
        d->stalls++;
    d->transfers++;
    usbip_server_complete(d->srv, u, status, actual);
}

/* Plays usbd's requests against the URB until it is answered or usbd
 * leaves it pending. */
static void run(struct usbip_dcd *d)
{
    uint8_t outer = d->running;

    d->running = 1;
    while (d->urb) {
        struct usbip_urb *u = d->urb;
        uint32_t n;

        switch (d->action) {
        case ACT_OUT:
            /* usbd wants wLength bytes; hand over what the URB brought
             * (a shortfall is usbd's to refuse). */
            n = u->dir == USBIP_DIR_OUT ? u->len : 0;
            if (n > d->out_len)
                n = d->out_len;
            memcpy(d->out_buf, u->data, n);
            d->action = ACT_NONE;
            udfu_usbd_out_done(d->usbd, (uint16_t)n);
            continue;
        case ACT_IN:
            n = d->in_len < u->len ? d->in_len : u->len;
            if (u->dir == USBIP_DIR_IN)
                memcpy(u->data, d->in_data, n);
            else
                n = 0;
            d->action = ACT_NONE;
            udfu_usbd_status_done(d->usbd);
            finish(d, 0, n);
            break;
        case ACT_ACK:
            n = u->dir == USBIP_DIR_OUT ? u->len : 0;
            d->action = ACT_NONE;
            udfu_usbd_status_done(d->usbd);
            finish(d, 0, n);
            break;
        case ACT_STALL:
            finish(d, USBIP_EPIPE, 0);
            break;
        default:
            d->running = outer;
            return; /* usbd answers later */
        }
    }
    d->running = outer;
}

/* A data stage longer than the setup asks for, or in the other direction
 * (even an empty one: the request would run and its reply be lost), is not
 * a transfer any controller could carry: stall it, with no side effect. */
static int urb_matches_setup(const struct usbip_urb *u)
{
    uint16_t wlength = (uint16_t)(u->setup[6] | (u->setup[7] << 8));
    uint32_t dir = (u->setup[0] & 0x80) ? USBIP_DIR_IN : USBIP_DIR_OUT;

    if (u->len > wlength)
        return 0;
    return wlength == 0 || dir == u->dir;
}

void usbip_dcd_submit(struct usbip_dcd *d, struct usbip_urb *u)
{
    if (u->ep != 0 || d->urb) {
        /* no such endpoint; or EP0 busy, which the server's serial queue
         * rules out */
        d->stalls++;
        usbip_server_complete(d->srv, u, USBIP_EPIPE, 0);
        return;
    }
    d->urb = u;
    d->action = ACT_NONE;
    if (!urb_matches_setup(u)) {
        d->action = ACT_STALL;
        run(d);
        return;
    }
    udfu_usbd_setup(d->usbd, u->setup);
    run(d);
}

void usbip_dcd_unlink(struct usbip_dcd *d, struct usbip_urb *u)
{
    if (d->urb == u) {
        d->urb = NULL;
        d->action = ACT_NONE;
    }
}

void usbip_dcd_bus_reset(struct usbip_dcd *d)
{
    d->urb = NULL;
    d->action = ACT_NONE;
    udfu_usbd_bus_reset(d->usbd);
}
