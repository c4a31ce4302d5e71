/*
 * usbip_dcd.h - the udfu controller driver (struct udfu_dcd) for USB/IP.
 *
 * On USB/IP one control URB carries a whole control transfer: the setup
 * packet, the OUT data or room for the IN data, and its reply is the end of
 * the status stage. The binding replays that to usbd as the events a
 * hardware controller would raise:
 *
 *   udfu_usbd_setup()  -> ep0_out() -> udfu_usbd_out_done(URB data)
 *                      -> ep0_ack() / ep0_in() -> udfu_usbd_status_done()
 *                      -> RET_SUBMIT status 0
 *   ep0_stall()        -> RET_SUBMIT status -EPIPE
 *
 * URBs for any endpoint other than 0 fail with -EPIPE: a DFU device has no
 * other endpoint. The events are delivered one after the other, never
 * nested inside a dcd callback, so usbd sees the order real hardware gives.
 * If usbd answers later (from its task), the URB stays pending until then.
 */
#ifndef UDFU_PORT_USBIP_DCD_H
#define UDFU_PORT_USBIP_DCD_H

#include <stdint.h>

#include "udfu_usbd.h"
#include "usbip.h"

struct usbip_dcd {
    struct usbip_server *srv;
    struct udfu_usbd *usbd;    /* the device core the URBs go to */
    struct usbip_urb *urb;     /* control transfer in progress, or NULL */
    uint8_t action;            /* what usbd asked for last (internal) */
    uint8_t running;           /* inside usbip_dcd_run() */
    const uint8_t *in_data;
    uint16_t in_len;
    uint8_t *out_buf;
    uint16_t out_len;
    uint32_t stalls;           /* counters, for logs and tests */
    uint32_t transfers;
};

/* The callbacks to put in struct udfu_usbd_cfg.dcd, with the struct
 * usbip_dcd as udfu_usbd_cfg.context. */
extern const struct udfu_dcd usbip_dcd_ops;

/* Binds the driver to a server and a usbd instance (call again when the
 * device switches usbd instance, e.g. run-time -> DFU mode). */
void usbip_dcd_init(struct usbip_dcd *d, struct usbip_server *srv, struct udfu_usbd *usbd);

/* A new URB from the server (usbip_dev_ops.submit). */
void usbip_dcd_submit(struct usbip_dcd *d, struct usbip_urb *urb);

/* The server took urb back (usbip_dev_ops.unlink): the transfer is
 * abandoned, as if the host had sent a new SETUP. */
void usbip_dcd_unlink(struct usbip_dcd *d, struct usbip_urb *urb);

/* A new session: the device sees a bus reset. Any transfer is dropped. */
void usbip_dcd_bus_reset(struct usbip_dcd *d);

#endif /* UDFU_PORT_USBIP_DCD_H */
