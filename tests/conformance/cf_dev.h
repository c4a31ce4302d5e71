/*
 * cf_dev.h - the DFU-mode device of the conformance and host-sequence
 * tests: tests/common/dfu_fixture.h set up with fx_setup() (the test's
 * targets, a bank of RAM per alt setting, every access checked against the
 * map and logged, asynchronous work that ends on the fake clock), under the
 * names these tests use, and control transfers that also check what the
 * core does with them.
 *
 * Prefix cf_.
 */
#ifndef CF_DEV_H
#define CF_DEV_H

#include <stdint.h>

#include "dfu_fixture.h"
#include "udfu_dfu.h"
#include "udfu_rt.h"

/* A conformance device is the common fixture's instance. */
#define cf_dev fx
#define CF_TARGETS_MAX FX_BANKS
#define CF_MEM_MAX FX_BANK /* bytes of RAM per target */
#define CF_XFER_MAX sizeof(((struct fx *)0)->buf)

/* fx_setup(): targets, attributes, transfer size xfer; other cfg fields
 * may be changed afterwards, then cf_start() initialises the core. */
#define cf_setup fx_setup
/* udfu_dfu_init() (aborts if refused); the task first runs in cf_pump(). */
#define cf_start fx_init_core
/* cf_setup + cf_start. */
void cf_init(struct cf_dev *d, const struct udfu_target *targets, uint8_t count,
             uint8_t attributes, uint16_t xfer);

/* Pointer into target alt's RAM at address a (NULL outside). */
#define cf_mem fx_mem
/* Bytes of RAM target alt spans (first region start to last region end). */
#define cf_span fx_span

/* Reply kinds of one control transfer. */
enum cf_kind { CF_ACK, CF_STALL, CF_IN, CF_BAD };

struct cf_reply {
    int kind;
    int len;                  /* CF_IN: bytes in data */
    uint8_t data[CF_XFER_MAX];
    char bad[96];             /* CF_BAD: what the core did wrong */
};

/* One control transfer through udfu_dfu_setup/_data/_status_done. `out`
 * supplies wLength bytes of OUT data (NULL: zeros). */
void cf_ctl(struct cf_dev *d, uint8_t bm, uint8_t req, uint16_t value, uint16_t index,
            uint16_t length, const uint8_t *out, struct cf_reply *r);
/* Same against a run-time instance (no data stages there). */
void cf_rt_ctl(struct udfu_rt *rt, uint8_t bm, uint8_t req, uint16_t value, uint16_t index,
               uint16_t length, struct cf_reply *r);

/* The main loop at the current time (fx_pump). */
#define cf_pump fx_pump
/* Time passes: ms steps of 1 ms, the main loop running at each (fx_sleep). */
#define cf_sleep fx_sleep
/* Completes the pending async operation, if any, now with err. */
void cf_complete_now(struct cf_dev *d, int err);

/* Request name for messages. */
const char *cf_req_name(uint8_t req);

#endif
