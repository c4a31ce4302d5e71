/*
 * cf_dev.h - a DFU-mode device for the conformance and host-sequence tests:
 * a udfu_dfu instance over RAM "flash" (erase fills 0xFF, program can only
 * clear bits), driven the way a USB stack drives it (SETUP, OUT data, status
 * stage), with a fake millisecond clock and a main loop (cf_pump) that runs
 * udfu_dfu_task() and completes asynchronous flash work on time.
 *
 * The backend can answer synchronously, or asynchronously: then every erase,
 * program and manifest returns UDFU_ERR_PENDING and completes, with its
 * effect applied, once its duration has passed on the fake clock. Durations
 * come from the region timing figures (erase_ms, prog_us_per_kib) and
 * cfg.manifest_ms, so an honest bwPollTimeout covers them exactly.
 *
 * Prefix cf_ (the tests also link tests/common, which has its own fx_).
 */
#ifndef CF_DEV_H
#define CF_DEV_H

#include <stdint.h>

#include "udfu_dfu.h"
#include "udfu_rt.h"

#define CF_TARGETS_MAX 3
#define CF_MEM_MAX (64u * 1024u) /* bytes of RAM per target */
#define CF_XFER_MAX 4096u
#define CF_LOG_MAX 4096

/* One backend call, in order. */
struct cf_call {
    char op;      /* 'r'ead 'e'rase 'p'rog 'v'erify 'm'anifest 'u'nprotect 'l'eave */
    uint8_t alt;
    uint32_t addr, len;
    uint32_t at;  /* fake time of the call */
};

struct cf_dev {
    struct udfu_dfu dfu;
    struct udfu_dfu_cfg cfg;
    uint8_t xfer[CF_XFER_MAX];
    uint8_t mem[CF_TARGETS_MAX][CF_MEM_MAX]; /* from targets[alt].regions[0].start */
    uint32_t now;

    /* backend behaviour, set freely by tests */
    int async;            /* 1: erase/prog/manifest/unprotect complete later */
    int erase_err, prog_err, verify_err, manifest_err, read_err, unprotect_err;
    int hold;             /* 1: async work never completes (until cleared) */

    /* the one asynchronous operation in flight */
    int pending;
    struct cf_call pend;
    const uint8_t *pend_buf;
    uint32_t due;
    int pend_err;

    /* what happened */
    struct cf_call log[CF_LOG_MAX];
    int nlog;
    int reads, erases, progs, verifies, manifests, unprotects, leaves;
    uint32_t leave_addr, leave_time;
    int violations;       /* writes outside writable memory, erase of a
                             non-erasable sector, program over unerased bytes */
    char violation[160];  /* the first one */
    int overlap;          /* a callback came while one was still pending */
};

/* Reply kinds of one control transfer. */
enum cf_kind { CF_ACK, CF_STALL, CF_IN, CF_BAD };

struct cf_reply {
    int kind;
    int len;                  /* CF_IN: bytes in data */
    uint8_t data[CF_XFER_MAX];
    char bad[96];             /* CF_BAD: what the core did wrong */
};

/* Sets up d with the given targets and attributes; transfer size xfer,
 * interface 0, memory filled with cf_pattern(). Other cfg fields may be
 * changed afterwards, then cf_start() initialises the core. */
void cf_setup(struct cf_dev *d, const struct udfu_target *targets, uint8_t count,
              uint8_t attributes, uint16_t xfer);
void cf_start(struct cf_dev *d);
/* cf_setup + cf_start. */
void cf_init(struct cf_dev *d, const struct udfu_target *targets, uint8_t count,
             uint8_t attributes, uint16_t xfer);

/* Initial memory content: byte at address a of target alt. */
uint8_t cf_pattern(uint8_t alt, uint32_t a);
/* Pointer into target alt's RAM at address a (NULL outside). */
uint8_t *cf_mem(struct cf_dev *d, uint8_t alt, uint32_t a);
/* Bytes of RAM target alt spans (first region start to last region end). */
uint32_t cf_span(const struct udfu_target *t);

/* One control transfer through udfu_dfu_setup/_data/_status_done. `out`
 * supplies wLength bytes of OUT data (NULL: zeros). */
void cf_ctl(struct cf_dev *d, uint8_t bm, uint8_t req, uint16_t value, uint16_t index,
            uint16_t length, const uint8_t *out, struct cf_reply *r);
/* Same against a run-time instance (no data stages there). */
void cf_rt_ctl(struct udfu_rt *rt, uint8_t bm, uint8_t req, uint16_t value, uint16_t index,
               uint16_t length, struct cf_reply *r);

/* The main loop at the current time: completes due async work and runs the
 * task until nothing changes (a bounded number of turns). */
void cf_pump(struct cf_dev *d);
/* Time passes: ms steps of 1 ms, the main loop running at each. */
void cf_sleep(struct cf_dev *d, uint32_t ms);
/* Completes the pending async operation now with err (ignores timing). */
void cf_complete_now(struct cf_dev *d, int err);

/* Duration the async backend takes for an operation. */
uint32_t cf_erase_ms(const struct udfu_target *t, uint32_t addr);
uint32_t cf_prog_ms(const struct udfu_target *t, uint32_t addr, uint32_t len);

/* Name helpers for messages. */
const char *cf_kind_name(int kind);
const char *cf_req_name(uint8_t req);

#endif
