/*
 * fake_dcd.h - a controller driver that records what usbd asks of it, plus
 * the device fixtures (DFU mode over RAM "flash", run-time mode) the usbd
 * tests share.
 */
#ifndef UDFU_TEST_FAKE_DCD_H
#define UDFU_TEST_FAKE_DCD_H

#include <stdint.h>

#include "udfu_usbd.h"

enum fd_event { FD_NONE, FD_IN, FD_OUT, FD_ACK, FD_STALL };

struct fake_dcd {
    enum fd_event last;     /* the last answer usbd gave */
    int ins, outs, acks, stalls, addrs; /* how often each hook was called */
    uint8_t data[512];      /* copy of the last IN data stage */
    uint16_t len;           /* its length */
    int zlp;                /* its zlp flag */
    uint8_t *out_buf;       /* buffer of the last OUT data stage */
    uint16_t out_len;
    int address;            /* last address applied, -1: none */
};

extern const struct udfu_dcd fake_dcd_ops;

/* Sends a SETUP; returns usbd's answer (the fake records the details). */
enum fd_event fd_setup(struct udfu_usbd *u, struct fake_dcd *f, uint8_t rt, uint8_t req,
                       uint16_t value, uint16_t index, uint16_t length);
/* A whole control transfer: SETUP, and the status stage unless stalled. */
enum fd_event fd_xfer(struct udfu_usbd *u, struct fake_dcd *f, uint8_t rt, uint8_t req,
                      uint16_t value, uint16_t index, uint16_t length);

/* ---- fixtures ------------------------------------------------------------ */

struct fixture {
    struct fake_dcd dcd;
    struct udfu_usbd_cfg ucfg;
    struct udfu_usbd usbd;
    struct udfu_dfu_cfg dcfg;
    struct udfu_dfu dfu;
    struct udfu_rt_cfg rcfg;
    struct udfu_rt rt;
    int detached;           /* rt detach() calls */
};

/* Two plain DFU targets "Flash" and "Config" over RAM, transfer size 64. */
extern const struct udfu_target fx_plain_targets[2];
/* One plain target "Flash" and one DfuSe target "Internal Flash". */
extern const struct udfu_target fx_mixed_targets[2];
/* A DfuSe target whose layout string (160 characters) no string
 * descriptor holds, and the same target cut to its first region. */
extern const struct udfu_target fx_long_layout[1];
extern const struct udfu_target fx_short_layout[1];

/* DFU mode with the given targets; usbd initialised, not configured. */
void fx_dfu(struct fixture *fx, const struct udfu_target *targets, uint8_t count);
/* Run-time mode with the given functional attributes. */
void fx_rt(struct fixture *fx, uint8_t attributes);
/* Re-runs udfu_usbd_init after the test changed fx->ucfg. */
void fx_reinit(struct fixture *fx);
/* SET_CONFIGURATION(1), checked. */
void fx_configure(struct fixture *fx);

#endif
