/*
 * dcd_template.c - the udfu_dcd contract implemented for the imaginary
 * controller of dcd_template.h. The shape to keep when porting:
 *
 *   usbd -> driver: the five hooks below only start things (load a packet,
 *                   arm a receive, stall) and return at once.
 *   driver -> usbd: the interrupt handler reports what finished, with
 *                   udfu_usbd_setup / _out_done / _status_done / _bus_reset.
 *
 * `phase` remembers which completion EP0 waits for, so a packet-done
 * interrupt knows whether it ends a data stage or a status stage.
 */
#include "dcd_template.h"

#include <stddef.h>

enum {
    TMPL_PH_IDLE,       /* nothing in progress (or stalled) */
    TMPL_PH_DATA_IN,    /* sending in_data packet by packet */
    TMPL_PH_STATUS_OUT, /* IN data sent; waiting for the host's zero-length OUT */
    TMPL_PH_DATA_OUT,   /* receiving into out_buf */
    TMPL_PH_STATUS_IN   /* our zero-length IN is armed; waiting for the host to take it */
};

static void tmpl_cmd(struct tmpl_dcd *d, uint32_t cmd)
{
    d->regs->ep0_ctrl = cmd;
}

/* Loads the next IN packet (up to ep0_size bytes; possibly empty). */
static void tmpl_send_next(struct tmpl_dcd *d)
{
    uint16_t n = d->in_left < d->ep0_size ? d->in_left : d->ep0_size, i;
    for (i = 0; i < n; i++)
        d->regs->in_buf[i] = d->in_data[i];
    d->in_data += n;
    d->in_left = (uint16_t)(d->in_left - n);
    d->regs->in_len = n;
    tmpl_cmd(d, TMPL_EP0_IN);
}

/* ---- hooks (called by usbd from inside tmpl_dcd_irq) --------------------- */

/* IN data stage. usbd already truncated len to wLength and says whether a
 * closing zero-length packet is needed; the driver only packetizes. */
static void tmpl_ep0_in(void *ctx, const uint8_t *data, uint16_t len, int zlp)
{
    struct tmpl_dcd *d = ctx;
    d->in_data = data;
    d->in_left = len;
    d->zlp = (uint8_t)(zlp != 0);
    d->phase = TMPL_PH_DATA_IN;
    tmpl_send_next(d); /* len 0 sends one zero-length packet */
}

/* OUT data stage: collect exactly len bytes (a short packet ends early). */
static void tmpl_ep0_out(void *ctx, uint8_t *buf, uint16_t len)
{
    struct tmpl_dcd *d = ctx;
    d->out_buf = buf;
    d->out_want = len;
    d->out_got = 0;
    d->phase = TMPL_PH_DATA_OUT;
    tmpl_cmd(d, TMPL_EP0_OUT);
}

/* Status stage of a no-data or OUT transfer: a zero-length IN packet. */
static void tmpl_ep0_ack(void *ctx)
{
    struct tmpl_dcd *d = ctx;
    d->phase = TMPL_PH_STATUS_IN;
    d->regs->in_len = 0;
    tmpl_cmd(d, TMPL_EP0_IN);
}

/* Protocol stall: the hardware clears it when the next SETUP arrives. */
static void tmpl_ep0_stall(void *ctx)
{
    struct tmpl_dcd *d = ctx;
    d->phase = TMPL_PH_IDLE;
    tmpl_cmd(d, TMPL_EP0_STALL);
}

/* usbd calls this after SET_ADDRESS's status stage, which is when this
 * controller wants the new address. A controller that must get the address
 * before the status stage (some take it at SETUP time and switch by
 * themselves) sets this hook to NULL and writes the address when it sees
 * the SET_ADDRESS SETUP (bmRequestType 0x00, bRequest 5) go by. */
static void tmpl_set_address(void *ctx, uint8_t addr)
{
    struct tmpl_dcd *d = ctx;
    d->regs->addr = addr;
}

const struct udfu_dcd tmpl_dcd_ops = {
    tmpl_ep0_in, tmpl_ep0_out, tmpl_ep0_ack, tmpl_ep0_stall, tmpl_set_address,
};

/* ---- events (controller -> usbd) ------------------------------------------ */

/* The host took an IN packet. */
static void tmpl_in_done(struct tmpl_dcd *d)
{
    if (d->phase == TMPL_PH_STATUS_IN) {
        d->phase = TMPL_PH_IDLE;
        udfu_usbd_status_done(d->usbd); /* may call set_address() */
    } else if (d->phase == TMPL_PH_DATA_IN) {
        if (d->in_left) {
            tmpl_send_next(d);
        } else if (d->zlp) {
            d->zlp = 0;
            tmpl_send_next(d);
        } else {
            /* Data stage over: the host answers with a zero-length OUT. */
            d->phase = TMPL_PH_STATUS_OUT;
            tmpl_cmd(d, TMPL_EP0_OUT);
        }
    }
}

/* An OUT packet arrived. */
static void tmpl_out_done(struct tmpl_dcd *d)
{
    uint16_t n = (uint16_t)d->regs->out_len, i;
    if (d->phase == TMPL_PH_STATUS_OUT) {
        d->phase = TMPL_PH_IDLE;
        udfu_usbd_status_done(d->usbd);
    } else if (d->phase == TMPL_PH_DATA_OUT) {
        /* Never write past what usbd asked for, whatever the host sends. */
        for (i = 0; i < n && d->out_got < d->out_want; i++)
            d->out_buf[d->out_got++] = d->regs->out_buf[i];
        if (d->out_got < d->out_want && n == d->ep0_size) {
            tmpl_cmd(d, TMPL_EP0_OUT);
            return;
        }
        d->phase = TMPL_PH_IDLE;
        /* usbd checks the count (a short stage stalls) and answers with
         * ep0_ack() or ep0_stall(). */
        udfu_usbd_out_done(d->usbd, d->out_got);
    }
}

void tmpl_dcd_irq(struct tmpl_dcd *d)
{
    uint32_t ev = d->regs->istat;
    d->regs->istat = ev; /* write 1 to clear */

    if (ev & TMPL_IRQ_RESET) {
        /* The controller is back at address 0; EP0 forgets everything. */
        d->phase = TMPL_PH_IDLE;
        d->regs->addr = 0;
        udfu_usbd_bus_reset(d->usbd);
    }
    /* Completions before a SETUP: they belong to the transfer the SETUP
     * replaces (this controller NAKs a new data stage until it is armed). */
    if (ev & TMPL_IRQ_IN)
        tmpl_in_done(d);
    if (ev & TMPL_IRQ_OUT)
        tmpl_out_done(d);
    if (ev & TMPL_IRQ_SETUP) {
        uint8_t raw[8], i;
        for (i = 0; i < 8; i++)
            raw[i] = d->regs->setup[i];
        d->phase = TMPL_PH_IDLE; /* a SETUP cancels any stage in progress */
        udfu_usbd_setup(d->usbd, raw);
    }
}
