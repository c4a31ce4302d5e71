/*
 * dfu_fixture.h - drives a udfu_dfu instance the way a USB stack would,
 * over a RAM "flash" (erase sets 0xFF, program can only clear bits), with
 * a fake clock and optional asynchronous completion.
 */
#ifndef UDFU_DFU_FIXTURE_H
#define UDFU_DFU_FIXTURE_H

#include "udfu_dfu.h"

#define FX_FLASH_BASE 0x08000000u
#define FX_FLASH_SIZE (1024u * 1024u)
#define FX_XFER 1024u
#define FX_BUFS 2u /* the fixture's buffer holds two blocks (pipelining) */

struct fx {
    struct udfu_dfu dfu;
    struct udfu_dfu_cfg cfg;
    uint8_t buf[4096];
    uint8_t flash[FX_FLASH_SIZE];
    uint8_t in[4096]; /* last IN reply */
    uint32_t now;
    int async;        /* 1: erase/prog return PENDING, fx_finish() completes */
    int pending;      /* an async operation is outstanding */
    int fail_next;    /* next erase/prog returns this error */
    int erases, progs, reads, manifests, leaves;
    uint32_t leave_addr;
    uint32_t write_lo, write_hi; /* lowest / highest address touched */
    /* async program: like DMA, the buffer is read when the operation ends */
    uint8_t *prog_dst;
    const uint8_t *prog_src;
    uint32_t prog_len;
};

/* STM32F4-like: alt 0 DfuSe over the whole flash (sector 0 read-only),
 * alt 1 plain DFU over 0x08004000.. (3x16K + 64K + 7x128K). */
extern const struct udfu_target fx_targets[2];

void fx_init(struct fx *f, uint8_t attributes);
/* (Re)initialises the core with f->cfg as the test changed it; a config
 * the core refuses aborts the test program. */
void fx_start(struct fx *f);
/* A control request. Returns data length, or UDFU_ERR_STALL. OUT data from
 * `out` (wLength bytes); IN data lands in f->in. status_done is delivered. */
int fx_req(struct fx *f, uint8_t rt, uint8_t req, uint16_t value, uint16_t len,
           const void *out);
/* Runs the task at the current time; fx_advance moves the clock first. */
void fx_task(struct fx *f);
void fx_advance(struct fx *f, uint32_t ms);
/* Completes an outstanding async operation with err. */
void fx_finish(struct fx *f, int err);
/* GETSTATUS; returns bState (or -1 on stall), poll timeout in *poll. */
int fx_status(struct fx *f, uint32_t *poll, uint8_t *status);
/* dfu-util style: GETSTATUS until DNLOAD-IDLE/ERROR/MANIFEST, sleeping the
 * poll timeout on the fake clock and running the task; returns bState. */
int fx_wait(struct fx *f);
/* DfuSe command (DNLOAD block 0) and its two GETSTATUS; returns bState. */
int fx_cmd(struct fx *f, const uint8_t *cmd, uint16_t len);
int fx_set_address(struct fx *f, uint32_t addr);

#endif
