/*
 * rg.h - helpers shared by the bug-class regression tests (REFERENCE
 * section 7): the DFU core over the RAM flash of tests/common/dfu_fixture,
 * a way to reach every DFU-mode state, and usbd over a minimal recording
 * controller driver.
 *
 * Prefix rg_.
 */
#ifndef UDFU_RG_H
#define UDFU_RG_H

#include <stdint.h>

#include "dfu_fixture.h"
#include "udfu_usbd.h"

#define RG_CAN (UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD)
#define RG_ALT_DFUSE 0 /* fx_targets[0]: DfuSe, sector 0 read-only */
#define RG_ALT_PLAIN 1 /* fx_targets[1]: plain DFU from 0x08004000 */
/* For behaviour both protocols share (routing, data stage checks): the
 * plain target where it is compiled in (UDFU_CFG_PLAIN), else DfuSe. */
#define RG_ALT_SHARED (UDFU_CFG_PLAIN ? RG_ALT_PLAIN : RG_ALT_DFUSE)
#define RG_APP 0x08004000u
#define RG_CANARY 0xC5

/* Brings f (initialised with attributes that allow it) to DFU state st on
 * alt, the way a host would; asynchronous work is left pending where the
 * state needs it (dfuDNBUSY). Returns the state reached, or -1 if alt
 * does not exist (RG_ALT_PLAIN without UDFU_CFG_PLAIN). */
int rg_reach(struct fx *f, uint8_t alt, int st);

/* A DfuSe command (DNLOAD block 0) followed by what dfu-util does:
 * GETSTATUS, sleep bwPollTimeout, until dfuDNLOAD-IDLE or dfuERROR (or
 * -1 if a request stalls). Returns the final state. */
int rg_cmd(struct fx *f, const uint8_t *cmd, uint16_t len);

/* Snapshot of the instance's externally visible state. */
struct rg_snap {
    uint8_t state, status;
    int erases, progs, reads, manifests, leaves;
};
void rg_snap(const struct fx *f, struct rg_snap *s);
/* 1 if nothing visible changed since s. */
int rg_same(const struct fx *f, const struct rg_snap *s);

/* A complete DfuSe download of len pattern bytes at addr on alt 0 (set
 * address, page erase(s), block 2...), then ABORT. Returns 0 and leaves
 * dfuIDLE, or the first unexpected state. */
int rg_dfuse_write(struct fx *f, uint32_t addr, const uint8_t *data, uint16_t len);
/* A complete plain download on alt 1 (blocks, zero-length DNLOAD,
 * GETSTATUS until done). Returns the final state, or -1 (a request
 * stalled, or no alt 1). */
int rg_plain_download(struct fx *f, const uint8_t *img, uint32_t len);
void rg_pattern(uint8_t *p, uint32_t n, uint32_t seed);

/* ---- usbd over a recording controller ---------------------------------------- */

enum { RG_NONE, RG_IN, RG_OUT, RG_ACK, RG_STALL };

struct rg_usb {
    struct fx fx;                 /* the DFU device behind usbd */
    struct udfu_usbd usbd;
    struct udfu_usbd_cfg ucfg;
    int last;                     /* RG_* answer to the last event */
    int answers;
    const uint8_t *in_data;
    uint16_t in_len;
    uint8_t *out_buf;
    uint16_t out_len;
};

/* DFU mode, enumerated (address 5, configuration 1). */
void rg_usb_init(struct rg_usb *u, uint8_t attributes);
/* SETUP only; returns the answer (RG_*). */
int rg_usb_setup(struct rg_usb *u, uint8_t rt, uint8_t req, uint16_t value, uint16_t index,
                 uint16_t len);

#endif
