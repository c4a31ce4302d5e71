/*
 * dfu_fixture.h - drives a udfu_dfu instance the way a USB stack would,
 * over a RAM "flash" (erase sets 0xFF, program can only clear bits), with
 * a fake clock and optional asynchronous completion.
 *
 * Two set-ups share the memory and the callbacks:
 * - fx_init(): the STM32F4-like fx_targets over one flat flash that every
 *   alt setting addresses; asynchronous work ends when the test says so
 *   (fx_finish).
 * - fx_setup(): the test's own targets, each alt setting in a bank of its
 *   own from its first region's start, filled with a pattern that never
 *   looks erased; verify() and unprotect() too; every access is checked
 *   against the map (f->violations), every call logged, and asynchronous
 *   work ends once its duration from the region timing figures (erase_ms,
 *   prog_us_per_kib, cfg.manifest_ms) has passed on the fake clock, run by
 *   the main loop fx_pump(). (tests/conformance/cf_dev.h is this set-up
 *   under its conformance names.)
 */
#ifndef UDFU_DFU_FIXTURE_H
#define UDFU_DFU_FIXTURE_H

#include "udfu_dfu.h"

#define FX_FLASH_BASE 0x08000000u
#define FX_FLASH_SIZE (1024u * 1024u)
#define FX_XFER 1024u
#define FX_BUFS 2u /* the fixture's buffer holds two blocks (pipelining) */
#define FX_BANK (64u * 1024u) /* memory of one alt setting after fx_setup() */
#define FX_BANKS 3u           /* alt settings with a bank (FX_BANKS * FX_BANK <= flash) */
#define FX_LOG_MAX 4096

/* One backend call, in order. */
struct fx_call {
    char op; /* 'r'ead 'e'rase 'p'rog 'v'erify 'm'anifest 'u'nprotect 'l'eave */
    uint8_t alt;
    uint32_t addr, len;
    uint32_t at; /* fake time of the call */
};

struct fx {
    struct udfu_dfu dfu;
    struct udfu_dfu_cfg cfg;
    uint8_t buf[4096];
    uint8_t flash[FX_FLASH_SIZE];
    uint8_t in[4096]; /* last IN reply */
    uint32_t now;
    int async;        /* 1: erase/prog return PENDING, fx_finish() completes */
    int pending;      /* an async operation is outstanding */
    int fail_next;    /* next erase/prog/manifest/unprotect fails at once with this */
    int erases, progs, reads, manifests, leaves;
    uint32_t leave_addr;
    uint32_t write_lo, write_hi; /* lowest / highest address touched */
    /* async erase (prog_src NULL) or program: like DMA, the buffer is read
     * when the operation ends */
    uint8_t *prog_dst;
    const uint8_t *prog_src;
    uint32_t prog_len;

    /* fx_setup(): alt n's memory is mem[n] (inside flash); NULL: flash */
    uint8_t (*mem)[FX_BANK];
    /* the operation fails with this, an async one when it ends */
    int erase_err, prog_err, verify_err, manifest_err, read_err, unprotect_err;
    int hold;         /* 1: fx_pump() completes no async work (until cleared) */
    uint32_t due;     /* fake time the pending work ends (fx_pump) */
    int pend_err;     /* and the error it ends with */
    int verifies, unprotects;
    uint32_t leave_time;
    struct fx_call log[FX_LOG_MAX];
    int nlog;
    int violations;      /* accesses outside the map's permissions or the
                            memory, erases that are not one whole sector,
                            programs over unerased bytes */
    char violation[160]; /* the first one */
    int overlap;         /* a callback came while work was still pending */
};

/* STM32F4-like: alt 0 DfuSe over the whole flash (sector 0 read-only),
 * alt 1 plain DFU over 0x08004000.. (3x16K + 64K + 7x128K). */
extern const struct udfu_target fx_targets[2];

void fx_init(struct fx *f, uint8_t attributes);
/* (Re)initialises the core with f->cfg as the test changed it; a config
 * the core refuses aborts the test program. */
void fx_start(struct fx *f);
/* fx_start() without running the task. */
void fx_init_core(struct fx *f);
/* Banked set-up (see top) of count targets, transfer size xfer; the test
 * may change f->cfg, then fx_init_core() (or fx_start()). */
void fx_setup(struct fx *f, const struct udfu_target *targets, uint8_t count,
              uint8_t attributes, uint16_t xfer);
/* Pointer to the byte at address addr of alt (NULL where there is none). */
uint8_t *fx_mem(struct fx *f, uint8_t alt, uint32_t addr);
/* Bytes target t spans (first region start to last region end). */
uint32_t fx_span(const struct udfu_target *t);
/* The main loop at the current time: completes due async work (unless
 * f->hold) and runs the task until nothing changes (bounded). */
void fx_pump(struct fx *f);
/* Time passes: ms steps of 1 ms, fx_pump() at each. */
void fx_sleep(struct fx *f, uint32_t ms);
/* A control request. Returns data length, or UDFU_ERR_STALL. OUT data from
 * `out` (wLength bytes); IN data lands in f->in. status_done is delivered. */
int fx_req(struct fx *f, uint8_t rt, uint8_t req, uint16_t value, uint16_t len,
           const void *out);
/* Runs the task at the current time; fx_advance moves the clock first. */
void fx_task(struct fx *f);
void fx_advance(struct fx *f, uint32_t ms);
/* Completes an outstanding async operation with err (its effect applied
 * unless err), now, whatever its duration. */
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
