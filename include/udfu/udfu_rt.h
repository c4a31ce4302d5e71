/*
 * udfu_rt.h - the DFU run-time class (the application's DFU interface):
 * appIDLE / appDETACH, DETACH with its timer, and the hand-off to the
 * bootloader through a callback.
 */
#ifndef UDFU_RT_H
#define UDFU_RT_H

#include <stdint.h>

#include "udfu_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

struct udfu_rt_cfg {
    void *context;
    uint8_t interface;          /* bInterfaceNumber of the run-time interface */
    uint8_t attributes;         /* UDFU_ATTR_*, as in the functional descriptor */
    uint16_t detach_timeout_ms; /* wDetachTimeOut: longest wait for the reset */
    uint16_t transfer_size;     /* wTransferSize advertised for DFU mode */
    uint16_t bcd_dfu;           /* bcdDFUVersion (0: 0x0110) */
    /* Go to the bootloader now: typically udfu_boot_flag_set() then a
     * system reset. Called from udfu_rt_task(): after the DETACH reply was
     * delivered if UDFU_ATTR_WILL_DETACH, else on the USB reset that
     * follows DETACH within the timeout. */
    void (*detach)(void *ctx);
};

struct udfu_rt {
    const struct udfu_rt_cfg *cfg;
    uint32_t now;
    uint32_t deadline; /* appDETACH ends at this time */
    uint8_t state;     /* UDFU_APP_IDLE or UDFU_APP_DETACH */
    uint8_t flags;     /* internal */
    uint8_t reply[UDFU_STATUS_LEN];
};

int udfu_rt_init(struct udfu_rt *r, const struct udfu_rt_cfg *cfg);

/* Same contract as udfu_dfu_setup(): data length >= 0 or UDFU_ERR_STALL.
 * An illegal request stalls and returns to appIDLE (DFU 1.1 A.1). */
int udfu_rt_setup(struct udfu_rt *r, const struct udfu_setup *req, uint8_t **data);
void udfu_rt_status_done(struct udfu_rt *r);
/* USB bus reset: in appDETACH before the timeout, hands off (detach()). */
void udfu_rt_reset(struct udfu_rt *r);
void udfu_rt_task(struct udfu_rt *r, uint32_t now_ms);

static inline enum udfu_state udfu_rt_state(const struct udfu_rt *r)
{
    return (enum udfu_state)r->state;
}

#ifdef __cplusplus
}
#endif

#endif /* UDFU_RT_H */
