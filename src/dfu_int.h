/*
 * dfu_int.h - internals shared by dfu.c (DFU 1.1 state machine) and
 * dfuse.c (ST DfuSe commands). Not a public header.
 */
#ifndef UDFU_DFU_INT_H
#define UDFU_DFU_INT_H

#include "udfu_dfu.h"
#include "udfu_util.h"

/* Memory operations (d->op). */
enum {
    OP_NONE,
    OP_DNLOAD,    /* (plain: erase sectors as reached, then) program op_len bytes */
    OP_ERASE,     /* DfuSe page erase of the sector at op_addr */
    OP_MASS,      /* DfuSe mass erase: every erasable sector, one per step */
    OP_UNPROTECT, /* DfuSe read unprotect */
    OP_MANIFEST,  /* manifestation (plain), or check before a DfuSe leave */
    OP_REFUSE     /* a refused DNLOAD: fails with status op_addr, so the host
                     still sees dfuDNBUSY first and the error next (ST) */
};

/* Steps of OP_DNLOAD (d->phase). */
/* Progress of an operation (d->phase): PH_ERASE is the start of every
 * operation; OP_DNLOAD goes through all of them. */
enum { PH_ERASE, PH_PROG, PH_VERIFY, PH_END, PH_CANCEL = 0xFF };

/* d->flags */
#define F_OUT 0x01u        /* DNLOAD data stage awaited */
#define F_FRESH 0x02u      /* no GETSTATUS since the last DNLOAD: report dfuDNBUSY */
#define F_RUNNING 0x04u    /* a callback returned PENDING; complete() awaited */
#define F_LEAVE 0x08u      /* leave() armed for leave_at */
#define F_MANIFESTED 0x10u /* a manifestation completed: a bus reset leaves */
#define F_DFUSE_LEAVE 0x20u /* the manifestation is a DfuSe leave */
#define F_DONE 0x40u       /* complete() arrived; handled by the task */
#define F_MAN_REQ 0x80u    /* manifestation asked for; starts once the
                              pipeline has drained */

static inline const struct udfu_target *dfu_target(const struct udfu_dfu *d)
{
    return &d->cfg->targets[d->alt];
}

/* Feature folding (udfu_opt.h): with one protocol, no pipeline or no
 * asynchronous callbacks compiled in, these are constants and the code
 * that depends on them drops out. */

/* Whether the current target speaks DfuSe. */
static inline int dfu_dfuse(const struct udfu_dfu *d)
{
#if UDFU_CFG_PLAIN && UDFU_CFG_DFUSE
    return dfu_target(d)->dfuse;
#else
    (void)d;
    return UDFU_CFG_DFUSE;
#endif
}

/* The operation queued behind the running one (pipelined), or OP_NONE. */
static inline uint8_t dfu_next_op(const struct udfu_dfu *d)
{
#if UDFU_CFG_PIPELINE
    return d->next_op;
#else
    (void)d;
    return OP_NONE;
#endif
}

/* Whether a callback of the current step is still running. */
static inline int dfu_running(const struct udfu_dfu *d)
{
#if UDFU_CFG_ASYNC
    return (d->flags & F_RUNNING) != 0;
#else
    (void)d;
    return 0;
#endif
}

/* Transfer buffer i (0 or 1) of the configured buffers. */
static inline uint8_t *dfu_buf(const struct udfu_dfu *d, uint8_t i)
{
#if UDFU_CFG_PIPELINE
    return d->cfg->buffer + (uint32_t)i * d->cfg->transfer_size;
#else
    (void)i;
    return d->cfg->buffer;
#endif
}

/* Buffer index of the running operation / of the awaited data stage. */
#if UDFU_CFG_PIPELINE
#define DFU_OP_BUF(d) ((d)->op_buf)
#define DFU_IN_BUF(d) ((d)->in_buf)
#else
#define DFU_OP_BUF(d) 0u
#define DFU_IN_BUF(d) 0u
#endif

/* Drops the current operation; one still running is left to complete and
 * its result is then ignored (it had no transfer to report to). */
void udfu_dfu_cancel(struct udfu_dfu *d);
/* A host mistake: stall, dfuERROR, errSTALLEDPKT (DFU 1.1 A.2). */
int udfu_dfu_illegal(struct udfu_dfu *d);
/* An error found while processing: dfuERROR with status, no new work. */
void udfu_dfu_fail(struct udfu_dfu *d, enum udfu_status status);
/* A DNLOAD refused after its data arrived (address, permission): reported
 * as dfuERROR with status at the GETSTATUS after the first one. */
void udfu_dfu_refuse(struct udfu_dfu *d, enum udfu_status status);
/* Queues a memory operation at addr (OP_DNLOAD: in_len bytes from buffer
 * in_buf), behind the running one if any; the state becomes
 * dfuDNLOAD-SYNC. */
void udfu_dfu_queue(struct udfu_dfu *d, uint8_t op, uint32_t addr);

/* DfuSe handlers, called by dfu.c for DfuSe targets. */
#if UDFU_CFG_DFUSE
void udfu_dfuse_dnload(struct udfu_dfu *d, const uint8_t *buf, uint16_t block, uint16_t len);
int udfu_dfuse_upload(struct udfu_dfu *d, const struct udfu_setup *req, uint8_t **data);
/* Next erasable sector at or after addr for mass erase: 1 found, 0 none. */
int udfu_dfuse_next_erasable(const struct udfu_target *t, uint32_t addr, uint32_t *start,
                             uint32_t *size);
#else
/* DfuSe compiled out: never called (dfu_dfuse() is constant 0). */
static inline void udfu_dfuse_dnload(struct udfu_dfu *d, const uint8_t *buf, uint16_t block,
                                     uint16_t len)
{
    (void)d;
    (void)buf;
    (void)block;
    (void)len;
}
static inline int udfu_dfuse_upload(struct udfu_dfu *d, const struct udfu_setup *req,
                                    uint8_t **data)
{
    (void)d;
    (void)req;
    (void)data;
    return UDFU_ERR_STALL;
}
#endif

#endif
