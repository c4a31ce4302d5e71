/*
 * udfu_loopback.h - an in-process loopback transport for tests: a whole
 * virtual DFU device (udfu_usbd over udfu_dfu / udfu_rt, backed by the
 * simulated NOR flash of ports/sim) driven directly by the host library,
 * with a virtual clock.
 *
 * Time only moves when the host sleeps (the transport's sleep callback), so
 * a test runs in microseconds whatever the flash timing, and the loopback
 * can check that the host waited exactly bwPollTimeout after each busy
 * status: early_polls / late_polls count every miss.
 *
 * Flash work is asynchronous as on real hardware: erase/prog return
 * UDFU_ERR_PENDING and complete when the virtual clock reaches the time the
 * simulator says they take (udfu_nor_erase_ms / _prog_ms).
 *
 * Re-enumeration: DETACH (run-time mode) and leave/manifestation (DFU mode)
 * make the device go away; the transport's reopen brings it back in its
 * new mode. Host only; link udfu_host_loopback.
 */
#ifndef UDFU_LOOPBACK_H
#define UDFU_LOOPBACK_H

#include <stdint.h>

#include "udfu_dfu.h"
#include "udfu_host.h"
#include "udfu_nor.h"
#include "udfu_rt.h"
#include "udfu_usbd.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UDFU_LOOPBACK_MAX_XFER 4096

struct udfu_loopback_cfg {
    const struct udfu_target *targets; /* DFU-mode alt settings; must outlive lb */
    uint8_t target_count;
    const struct udfu_region *flash;   /* NOR geometry covering every target */
    uint8_t flash_count;
    uint16_t vid, pid_dfu;
    uint16_t pid_rt;         /* 0: no run-time mode (the device stays in DFU) */
    uint16_t transfer_size;  /* 0: 1024 (at most UDFU_LOOPBACK_MAX_XFER) */
    uint8_t attributes;      /* 0: download, upload, tolerant, will-detach */
    uint8_t start_runtime;   /* 1: start in run-time mode (needs pid_rt) */
    uint16_t manifest_ms;    /* duration of manifestation */
    uint16_t detach_timeout_ms; /* 0: 1000 */
    const char *serial;      /* NULL: "LOOP0001" */
};

struct udfu_loopback {
    /* read freely */
    struct udfu_nor nor;      /* the flash: udfu_nor_mem() peeks into it */
    uint32_t now;             /* virtual time, ms */
    uint8_t mode;             /* UDFU_PROTOCOL_RUNTIME or UDFU_PROTOCOL_DFU */
    uint8_t attached;         /* 0 while re-enumerating or unplugged */
    uint32_t transfers;       /* control transfers delivered */
    uint32_t requests[8];     /* class requests by bRequest (DETACH..ABORT) */
    uint32_t stalls;          /* transfers the device stalled */
    uint32_t early_polls;     /* requests sent before bwPollTimeout ended */
    uint32_t late_polls;      /* requests sent after it ended (host slept too long) */
    uint32_t bus_resets, detaches, leaves;
    uint32_t leave_addr;      /* address given to the last leave() */
    /* fault injection: set freely */
    uint32_t unplug_after;    /* >0: the device vanishes at that transfer from now */
    int manifest_result;      /* what manifestation returns (0 or < 0) */

    /* internal */
    struct udfu_loopback_cfg cfg;
    struct udfu_dfu_cfg dfu_cfg;
    struct udfu_rt_cfg rt_cfg;
    struct udfu_usbd_cfg usbd_cfg;
    struct udfu_dcd dcd;
    struct udfu_dfu dfu;
    struct udfu_rt rt;
    struct udfu_usbd usbd;
    uint8_t ev;               /* what the device answered (dcd event) */
    const uint8_t *in_data;
    uint16_t in_len;
    uint8_t *out_buf;
    uint16_t out_len;
    uint8_t pending;          /* a flash operation completes at pending_at */
    int pending_result;
    uint32_t pending_at;
    uint8_t expect;           /* a busy status was reported: next request due at */
    uint32_t expect_at;
    uint8_t unplugged;
    uint8_t buffer[UDFU_LOOPBACK_MAX_XFER];
};

/* Opens the flash (RAM, erased) and powers the device up in its start mode.
 * 0, UDFU_ERR_INVAL (bad cfg) or the simulator's error. */
int udfu_loopback_init(struct udfu_loopback *lb, const struct udfu_loopback_cfg *cfg);

/* Frees the flash. The transport must be closed first. */
void udfu_loopback_deinit(struct udfu_loopback *lb);

/* The transport for udfu_host_attach(dev, udfu_loopback_ops(), lb, ...).
 * Its close() only disconnects: lb stays owned by the caller. */
const struct udfu_host_transport_ops *udfu_loopback_ops(void);

/* Advances the virtual clock by ms, running the device's main loop. */
void udfu_loopback_run(struct udfu_loopback *lb, uint32_t ms);

#ifdef __cplusplus
}
#endif

#endif /* UDFU_LOOPBACK_H */
