/*
 * dcd_template.h - a controller driver (the udfu_dcd contract) for an
 * imaginary, deliberately simple USB device controller. Copy this folder to
 * ports/<your-chip>/ and replace the register access; the event logic
 * around it is what every port needs. See README.md.
 */
#ifndef UDFU_DCD_TEMPLATE_H
#define UDFU_DCD_TEMPLATE_H

#include <stdint.h>

#include "udfu_usbd.h"

/* The imaginary controller: one control endpoint with a 64-byte packet
 * buffer per direction and a SETUP buffer. A real chip has its own layout;
 * only what the driver does with it carries over. */
struct tmpl_regs {
    volatile uint32_t istat;     /* events, write 1 to clear (TMPL_IRQ_*) */
    volatile uint32_t addr;      /* device address, used from the next packet */
    volatile uint32_t ep0_ctrl;  /* write: TMPL_EP0_* commands */
    volatile uint32_t in_len;    /* bytes in in_buf for TMPL_EP0_IN */
    volatile uint32_t out_len;   /* bytes the last OUT packet brought */
    volatile uint8_t setup[8];   /* the last SETUP packet */
    volatile uint8_t in_buf[64];
    volatile uint8_t out_buf[64];
};

#define TMPL_IRQ_RESET 0x01u   /* bus reset */
#define TMPL_IRQ_SETUP 0x02u   /* a SETUP packet is in setup[] */
#define TMPL_IRQ_IN 0x04u      /* the host took the packet in in_buf */
#define TMPL_IRQ_OUT 0x08u     /* an OUT packet is in out_buf */

#define TMPL_EP0_IN 0x01u      /* send in_len bytes of in_buf (0: a ZLP) */
#define TMPL_EP0_OUT 0x02u     /* accept one OUT packet */
#define TMPL_EP0_STALL 0x04u   /* stall both directions until the next SETUP */

/* Driver state: what EP0 is doing between two interrupts. */
struct tmpl_dcd {
    struct tmpl_regs *regs;
    struct udfu_usbd *usbd;
    uint8_t ep0_size;          /* bMaxPacketSize0: the cfg's ep0_size, 64 if 0 */
    uint8_t phase;             /* internal TMPL_PH_* */
    uint8_t zlp;               /* a zero-length packet still ends the IN stage */
    const uint8_t *in_data;    /* IN data stage: what is left to send */
    uint16_t in_left;
    uint8_t *out_buf;          /* OUT data stage: where it goes */
    uint16_t out_want, out_got;
};

/* The hooks usbd calls; put &tmpl_dcd_ops in udfu_usbd_cfg.dcd and the
 * struct tmpl_dcd in udfu_usbd_cfg.context. */
extern const struct udfu_dcd tmpl_dcd_ops;

/* Interrupt handler (or poll from the main loop): turns controller events
 * into udfu_usbd_* events. d->regs and d->usbd must be set. */
void tmpl_dcd_irq(struct tmpl_dcd *d);

#endif
