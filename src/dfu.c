/*
 * dfu.c - the DFU 1.1 DFU-mode state machine (appendix A.2) and the memory
 * operations it runs from udfu_dfu_task().
 *
 * Shape: udfu_dfu_setup() checks routing, then looks the request up in
 * `legal[state]` (the table the conformance test mirrors); an illegal
 * request takes the one error path, udfu_dfu_illegal(). Legal requests go
 * to one handler each. Memory work is queued by DNLOAD and by DfuSe
 * commands and started by the task, one step (one callback) at a time, so
 * no request is ever held while flash is busy.
 */
#include "dfu_int.h"

#define R(x) (1u << (x))
#define R_QUERY (R(UDFU_REQ_GETSTATUS) | R(UDFU_REQ_GETSTATE))
#if UDFU_CFG_UPLOAD
#define R_UPLOAD R(UDFU_REQ_UPLOAD)
#else
#define R_UPLOAD 0u
#endif

/* Which requests each DFU-mode state accepts (DFU 1.1 A.2). dfuDNBUSY and
 * dfuMANIFEST accept nothing until their poll timeout has passed, at
 * which point settle() has already moved them on. dfuMANIFEST-WAIT-RESET
 * answers status queries because dfu-util reads the state to know it must
 * reset the device. */
static const uint8_t legal[UDFU_STATE_COUNT] = {
    [UDFU_DFU_IDLE] = R_QUERY | R(UDFU_REQ_DNLOAD) | R_UPLOAD | R(UDFU_REQ_ABORT),
    [UDFU_DNLOAD_SYNC] = R_QUERY,
    [UDFU_DNLOAD_IDLE] = R_QUERY | R(UDFU_REQ_DNLOAD) | R(UDFU_REQ_ABORT),
    [UDFU_MANIFEST_SYNC] = R_QUERY,
    [UDFU_MANIFEST_WAIT_RESET] = R_QUERY,
    [UDFU_UPLOAD_IDLE] = R_QUERY | R_UPLOAD | R(UDFU_REQ_ABORT),
    [UDFU_DFU_ERROR] = R_QUERY | R(UDFU_REQ_CLRSTATUS),
};

uint16_t udfu_dfu_bcd(const struct udfu_dfu_cfg *cfg)
{
#if UDFU_CFG_PLAIN && UDFU_CFG_DFUSE
    uint8_t i;
    for (i = 0; i < cfg->target_count; i++)
        if (cfg->targets[i].dfuse)
            return UDFU_BCD_DFUSE;
    return UDFU_BCD_DFU;
#else
    (void)cfg;
    return UDFU_CFG_DFUSE ? UDFU_BCD_DFUSE : UDFU_BCD_DFU;
#endif
}

/* Plain offsets start over (a new image). */
static void restart_image(struct udfu_dfu *d)
{
#if UDFU_CFG_PLAIN
    d->offset = 0;
    d->erased_end = 0;
#else
    (void)d;
#endif
}

/* Back to dfuIDLE with no transfer context: plain offsets start over. The
 * DfuSe address pointer stays: dfu-util's `-U -s ADDR` sends SET_ADDRESS,
 * then ABORT, then UPLOAD. Running work (if any) still completes. */
static void to_idle(struct udfu_dfu *d)
{
    d->state = UDFU_DFU_IDLE;
    d->status = UDFU_STATUS_OK;
    restart_image(d);
    /* The host starts over: a leave it asked for earlier no longer holds. */
    d->flags &= (uint8_t)~(F_OUT | F_FRESH | F_DFUSE_LEAVE | F_LEAVE | F_MANIFESTED | F_MAN_REQ);
}

/* A new target: its first address is the pointer's starting value. */
static void select_alt(struct udfu_dfu *d, uint8_t alt)
{
    d->alt = alt;
#if UDFU_CFG_DFUSE
    d->addr = dfu_target(d)->regions[0].start;
#endif
}

/* Every target speaks a protocol compiled in. */
static int targets_ok(const struct udfu_dfu_cfg *cfg)
{
#if UDFU_CFG_PLAIN && UDFU_CFG_DFUSE
    (void)cfg;
#else
    uint8_t i;
    for (i = 0; i < cfg->target_count; i++)
        if (cfg->targets[i].dfuse != UDFU_CFG_DFUSE)
            return 0;
#endif
    return 1;
}

int udfu_dfu_init(struct udfu_dfu *d, const struct udfu_dfu_cfg *cfg)
{
    /* One expression, short-circuited: an integrator's UDFU_ASSERT that
     * logs and returns must not make us dereference a NULL cfg. */
    int ok = d && cfg && cfg->targets && cfg->target_count && cfg->buffer &&
             cfg->transfer_size && cfg->buffers <= (UDFU_CFG_PIPELINE ? 2 : 1) &&
             (cfg->read || !UDFU_CFG_UPLOAD) && cfg->erase && cfg->prog && cfg->leave &&
             targets_ok(cfg);
    UDFU_ASSERT(ok);
    if (!ok)
        return UDFU_ERR_INVAL;
    memset(d, 0, sizeof *d);
    d->cfg = cfg;
    select_alt(d, 0);
    to_idle(d);
    return 0;
}

int udfu_dfu_busy(const struct udfu_dfu *d)
{
    return d->op != OP_NONE || dfu_next_op(d) != OP_NONE;
}

uint8_t *udfu_dfu_lend(const struct udfu_dfu *d)
{
    /* Only programming reads the buffer after its request ended: command
     * blocks are parsed when their data arrives, UPLOAD data is gone once
     * a new SETUP came. */
    return d->op == OP_DNLOAD || dfu_next_op(d) == OP_DNLOAD ? NULL : d->cfg->buffer;
}

/* Whether a DNLOAD can be taken now: a buffer is free and the queue has
 * room (the running operation may still use the other buffer). */
static int can_accept(const struct udfu_dfu *d)
{
    return d->op == OP_NONE ||
           (UDFU_CFG_PIPELINE && d->cfg->buffers > 1 && dfu_next_op(d) == OP_NONE);
}

void udfu_dfu_cancel(struct udfu_dfu *d)
{
#if UDFU_CFG_PIPELINE
    d->next_op = OP_NONE;
#endif
    d->flags &= (uint8_t)~F_MAN_REQ;
    if (dfu_running(d))
        d->phase = PH_CANCEL;
    else
        d->op = OP_NONE;
}

/* Work the host already handed over (an acknowledged DNLOAD) still runs:
 * a host mistake afterwards does not lose it. A pending leave survives
 * too: the host asked to leave and may not be listening any more. */
int udfu_dfu_illegal(struct udfu_dfu *d)
{
    d->state = UDFU_DFU_ERROR;
    d->status = UDFU_STATUS_ERR_STALLEDPKT;
    d->flags &= (uint8_t)~(F_OUT | F_FRESH);
    return UDFU_ERR_STALL;
}

static void set_error(struct udfu_dfu *d, enum udfu_status status)
{
    d->state = UDFU_DFU_ERROR;
    d->status = (uint8_t)status;
    d->flags &= (uint8_t)~(F_OUT | F_FRESH | F_LEAVE | F_DFUSE_LEAVE | F_MAN_REQ);
}

/* A step failed: what was queued behind it depends on it, drop it all. */
void udfu_dfu_fail(struct udfu_dfu *d, enum udfu_status status)
{
    set_error(d, status);
    udfu_dfu_cancel(d);
}

void udfu_dfu_queue(struct udfu_dfu *d, uint8_t op, uint32_t addr)
{
    d->flags &= (uint8_t)~F_MANIFESTED; /* a new download has begun */
    if (d->op == OP_NONE) {
        d->op = op;
        d->op_addr = addr;
        d->op_len = d->in_len;
#if UDFU_CFG_PIPELINE
        d->op_buf = d->in_buf;
#endif
        d->phase = PH_ERASE;
    }
#if UDFU_CFG_PIPELINE
    else {
        d->next_op = op;
        d->next_addr = addr;
        d->next_len = d->in_len;
        d->next_buf = d->in_buf;
    }
#endif
    d->state = UDFU_DNLOAD_SYNC;
    d->flags |= F_FRESH;
}

void udfu_dfu_refuse(struct udfu_dfu *d, enum udfu_status status)
{
    udfu_dfu_queue(d, OP_REFUSE, status);
}

static int elapsed(const struct udfu_dfu *d, uint32_t t)
{
    return (int32_t)(d->now - t) >= 0;
}

/* ---- time estimates (bwPollTimeout) -------------------------------------- */

static uint32_t sector_erase_ms(const struct udfu_target *t, uint32_t addr)
{
    const struct udfu_region *r = udfu_mem_find(t, addr);
    return r ? r->erase_ms : 0;
}

/* Time of the steps not issued yet. A mass erase counts only its next
 * sector: the host polls again while dfuDNBUSY lasts, so no single wait
 * gets near a host's 5 s timeout. */
static uint32_t op_estimate(const struct udfu_dfu *d)
{
    const struct udfu_target *t = dfu_target(d);
    uint32_t ms = 0, start, size;
#if UDFU_CFG_PLAIN
    uint32_t base = t->regions[0].start, a;
#endif
    switch (d->op) {
    case OP_DNLOAD:
#if UDFU_CFG_PLAIN
        /* Plain targets erase sectors as the image reaches them. */
        for (a = d->erased_end; !dfu_dfuse(d) && d->phase == PH_ERASE && a < d->offset;
             a = start + size - base) {
            if (udfu_mem_sector(t, base + a, &start, &size))
                break;
            ms += sector_erase_ms(t, start);
        }
#endif
        if (d->phase <= PH_PROG)
            ms += udfu_mem_prog_ms(t, d->op_addr, d->op_len);
        break;
#if UDFU_CFG_DFUSE
    case OP_ERASE:
    case OP_MASS:
        if (d->phase == PH_ERASE && !dfu_running(d) &&
            udfu_dfuse_next_erasable(t, d->op_addr, &start, &size))
            ms = sector_erase_ms(t, start);
        break;
#endif
    case OP_MANIFEST:
    case OP_UNPROTECT:
        if (d->phase == PH_ERASE)
            ms = d->cfg->manifest_ms;
        break;
    default:
        break;
    }
    return ms;
}

/* bwPollTimeout: what is left of the running step plus the steps to come.
 * A step that overruns its estimate asks for 1 ms, never 0 while busy
 * (dfu-util gives up after 100 zero timeouts in a row). */
static uint32_t poll_ms(const struct udfu_dfu *d)
{
    uint32_t ms = op_estimate(d);
#if UDFU_CFG_ASYNC
    if (dfu_running(d)) {
        uint32_t done = d->now - d->op_started;
        ms += done < d->op_step_ms ? d->op_step_ms - done : 1;
    }
#endif
    return ms;
}

/* All work still ahead: the running operation, the one queued behind it
 * (programming only; close enough), and a requested manifestation. */
static uint32_t pipe_ms(const struct udfu_dfu *d)
{
    uint32_t ms = poll_ms(d);
#if UDFU_CFG_PIPELINE
    if (d->next_op == OP_DNLOAD)
        ms += udfu_mem_prog_ms(dfu_target(d), d->next_addr, d->next_len);
#endif
    if (d->flags & F_MAN_REQ)
        ms += d->cfg->manifest_ms;
    return ms;
}

/* ---- settle: busy states lapse ------------------------------------------ */

/* dfuDNBUSY ends when the reported bwPollTimeout has passed (DFU 1.1), or
 * earlier when the device can take the next block. dfuMANIFEST ends the
 * same way; a finished manifestation has moved on by itself (finish()). */
static void settle(struct udfu_dfu *d)
{
    int over = elapsed(d, d->busy_until);
    if (d->state == UDFU_DNBUSY && (over || can_accept(d)))
        d->state = UDFU_DNLOAD_SYNC;
    if (d->state == UDFU_MANIFEST && over && !(d->flags & F_MANIFESTED))
        d->state = UDFU_MANIFEST_SYNC;
}

/* ---- requests ------------------------------------------------------------ */

static int reply_status(struct udfu_dfu *d, uint32_t poll)
{
    if (poll > UDFU_POLL_MAX)
        poll = UDFU_POLL_MAX;
    d->busy_until = d->now + poll;
    d->reply[0] = d->status;
    udfu_put24(&d->reply[1], poll);
    d->reply[4] = d->state;
    d->reply[5] = 0;
    return UDFU_STATUS_LEN;
}

static void arm_leave(struct udfu_dfu *d, uint32_t delay)
{
    d->flags |= F_LEAVE;
    d->leave_at = d->now + delay;
}

static uint16_t reset_timeout(const struct udfu_dfu *d)
{
    return d->cfg->reset_timeout_ms ? d->cfg->reset_timeout_ms : 3000;
}

/* A check running with nothing queued behind it is the current one. */
static int checking(const struct udfu_dfu *d)
{
    return d->op == OP_MANIFEST && dfu_next_op(d) == OP_NONE;
}

/* Starts the manifestation now, or once queued work has drained (a check
 * that runs before queued work does not vouch for what that work writes). */
static void start_manifest(struct udfu_dfu *d)
{
    if (d->op != OP_NONE) {
        if (!checking(d))
            d->flags |= F_MAN_REQ;
        return;
    }
    d->flags &= (uint8_t)~F_MAN_REQ;
    d->op = OP_MANIFEST;
    d->phase = PH_ERASE;
}

/* Manifestation (plain) or DfuSe leave: the first status query starts it;
 * programming still in the pipeline is part of it. */
static int getstatus_manifest(struct udfu_dfu *d)
{
    if (!(d->flags & (F_MANIFESTED | F_MAN_REQ)) && !checking(d)) {
        start_manifest(d);
        /* A DfuSe leave happens once the check is done and the host has
         * this reply (udfu_dfu_status_done), or after the reset timeout. */
        if (d->flags & F_DFUSE_LEAVE)
            arm_leave(d, reset_timeout(d));
    }
    if (!(d->flags & F_MANIFESTED)) {
        d->state = UDFU_MANIFEST;
        return reply_status(d, pipe_ms(d));
    }
    /* Done, and manifestation tolerant (else we would be in WAIT-RESET).
     * F_MANIFESTED stays: a bus reset now starts the new image. */
    d->state = UDFU_DFU_IDLE;
    restart_image(d);
    return reply_status(d, 0);
}

static int req_getstatus(struct udfu_dfu *d)
{
    switch (d->state) {
    case UDFU_DNLOAD_SYNC:
        /* DfuSe hosts (dfu-util, pydfu) insist on dfuDNBUSY first after
         * every DNLOAD; DFU 1.1 allows it. The poll lasts until the next
         * block can be taken: 0 if the data already sits safe in a buffer
         * (pipelined), else until the running work is done. */
        if ((d->flags & F_FRESH) || !can_accept(d)) {
            d->flags &= (uint8_t)~F_FRESH;
            d->state = UDFU_DNBUSY;
            return reply_status(d, can_accept(d) ? 0 : poll_ms(d));
        }
        d->state = UDFU_DNLOAD_IDLE;
        break;
    case UDFU_MANIFEST_SYNC:
        return getstatus_manifest(d);
    default:
        break;
    }
    /* dfuIDLE after ABORT with work still running: dfu-util sleeps this
     * before its next request. Elsewhere 0: dfu-util's DfuSe loop sleeps
     * the poll even when it reads dfuDNLOAD-IDLE, which would drain the
     * pipeline before every block. */
    return reply_status(d, d->state == UDFU_DFU_IDLE ? pipe_ms(d) : 0);
}

static int req_dnload(struct udfu_dfu *d, const struct udfu_setup *req, uint8_t **data)
{
    const struct udfu_dfu_cfg *c = d->cfg;
    if (!(c->attributes & UDFU_ATTR_CAN_DNLOAD) || req->wLength > c->transfer_size)
        return udfu_dfu_illegal(d);
    if (req->wLength == 0) {
        /* End of download: manifestation, or a DfuSe leave. DfuSe leaves
         * from dfuIDLE too: `dfu-util -s :leave -D file.dfu` sends ABORT,
         * then the zero-length DNLOAD, as ST's bootloaders accept. */
        if (d->state != UDFU_DNLOAD_IDLE && !dfu_dfuse(d))
            return udfu_dfu_illegal(d);
        d->state = UDFU_MANIFEST_SYNC;
        d->flags &= (uint8_t)~F_MANIFESTED;
        if (dfu_dfuse(d))
            d->flags |= F_DFUSE_LEAVE;
        return 0;
    }
    /* Never hand out a buffer that queued or running work still reads
     * (checkm8 kept using a buffer the next transfer owned). */
    if (!can_accept(d))
        return udfu_dfu_illegal(d);
    d->flags |= F_OUT;
    d->in_len = req->wLength;
    d->in_block = req->wValue;
#if UDFU_CFG_PIPELINE
    d->in_buf = d->op == OP_NONE ? 0 : (uint8_t)(d->op_buf ^ 1u);
#endif
    *data = dfu_buf(d, DFU_IN_BUF(d));
    return req->wLength;
}

#if UDFU_CFG_PLAIN
/* Plain DFU 1.1: the image is written from the target's first address on;
 * the block number is not trusted (it wraps at 16 bits). */
static void plain_dnload(struct udfu_dfu *d, uint16_t len)
{
    const struct udfu_target *t = dfu_target(d);
    uint32_t base = t->regions[0].start;
    uint32_t addr = base + d->offset;
    int err;
    err = addr < base ? UDFU_ERR_RANGE : udfu_mem_check(t, addr, len, UDFU_MEM_WRITE);
    if (err) {
        udfu_dfu_refuse(d, err == UDFU_ERR_PERM ? UDFU_STATUS_ERR_WRITE : UDFU_STATUS_ERR_ADDRESS);
        return;
    }
    d->offset += len;
    udfu_dfu_queue(d, OP_DNLOAD, addr);
}
#else
static void plain_dnload(struct udfu_dfu *d, uint16_t len)
{
    (void)d;
    (void)len;
}
#endif

int udfu_dfu_data(struct udfu_dfu *d, uint16_t len)
{
    if (!(d->flags & F_OUT) || len != d->in_len)
        return udfu_dfu_illegal(d);
    d->flags &= (uint8_t)~F_OUT;
    if (dfu_dfuse(d))
        udfu_dfuse_dnload(d, dfu_buf(d, DFU_IN_BUF(d)), d->in_block, len);
    else
        plain_dnload(d, len);
    /* Only a malformed command stalls here; other refusals are reported
     * through GETSTATUS. */
    return d->state == UDFU_DFU_ERROR ? UDFU_ERR_STALL : 0;
}

#if UDFU_CFG_UPLOAD
#if UDFU_CFG_PLAIN
/* Plain DFU 1.1 upload: consecutive blocks from the target's start; a short
 * block (possibly empty) ends it. */
static int plain_upload(struct udfu_dfu *d, const struct udfu_setup *req, uint8_t **data)
{
    const struct udfu_target *t = dfu_target(d);
    const struct udfu_region *last = &t->regions[t->region_count - 1];
    uint32_t base = t->regions[0].start;
    uint32_t size = last->start - base + last->sector_size * last->sector_count;
    uint32_t n = 0;
    if (d->state == UDFU_DFU_IDLE)
        d->offset = 0;
    if (d->offset < size)
        n = udfu_min32(req->wLength, size - d->offset);
    if (n && (udfu_mem_check(t, base + d->offset, n, UDFU_MEM_READ) ||
              d->cfg->read(d->cfg->context, d->alt, base + d->offset, d->cfg->buffer, n))) {
        udfu_dfu_fail(d, UDFU_STATUS_ERR_ADDRESS);
        return UDFU_ERR_STALL;
    }
    d->offset += n;
    d->state = UDFU_UPLOAD_IDLE;
    if (n < req->wLength) { /* the end: dfuIDLE, where a new image starts at 0 */
        d->state = UDFU_DFU_IDLE;
        restart_image(d);
    }
    *data = d->cfg->buffer;
    return (int)n;
}
#else
/* No plain targets: never called (dfu_dfuse() is constant 1). */
static int plain_upload(struct udfu_dfu *d, const struct udfu_setup *req, uint8_t **data)
{
    (void)d;
    (void)req;
    (void)data;
    return UDFU_ERR_STALL;
}
#endif

static int req_upload(struct udfu_dfu *d, const struct udfu_setup *req, uint8_t **data)
{
    const struct udfu_dfu_cfg *c = d->cfg;
    /* Reading while queued writes are pending would return stale data. */
    if (!(c->attributes & UDFU_ATTR_CAN_UPLOAD) || req->wLength == 0 ||
        req->wLength > c->transfer_size || udfu_dfu_busy(d))
        return udfu_dfu_illegal(d);
    if (dfu_dfuse(d))
        return udfu_dfuse_upload(d, req, data);
    return plain_upload(d, req, data);
}
#endif

int udfu_dfu_setup(struct udfu_dfu *d, const struct udfu_setup *req, uint8_t **data)
{
    uint8_t in = (req->bmRequestType & 0x80u) != 0;
    uint8_t r = req->bRequest;
    int n;

    /* Not for this interface, or the direction does not match the request:
     * stall with no other effect (CVE-2021-3625 was a direction mix-up). */
    if ((req->bmRequestType & 0x7Fu) != (UDFU_RT_OUT & 0x7Fu) ||
        req->wIndex != d->cfg->interface)
        return UDFU_ERR_STALL;
    if (r <= UDFU_REQ_ABORT &&
        in != (r == UDFU_REQ_UPLOAD || r == UDFU_REQ_GETSTATUS || r == UDFU_REQ_GETSTATE))
        return UDFU_ERR_STALL;

    d->flags &= (uint8_t)~F_OUT; /* a new SETUP ends any pending data stage */
    settle(d);
    if (r > UDFU_REQ_ABORT || !(legal[d->state] & R(r)) ||
        (!in && r != UDFU_REQ_DNLOAD && req->wLength))
        return udfu_dfu_illegal(d);

    *data = d->reply;
    switch (r) {
    case UDFU_REQ_DNLOAD:
        return req_dnload(d, req, data);
#if UDFU_CFG_UPLOAD
    case UDFU_REQ_UPLOAD:
        return req_upload(d, req, data);
#endif
    case UDFU_REQ_GETSTATUS:
        n = req_getstatus(d);
        break;
    case UDFU_REQ_GETSTATE:
        d->reply[0] = d->state;
        n = 1;
        break;
    default: /* ABORT in an idle state, CLRSTATUS in dfuERROR */
        to_idle(d);
        return 0;
    }
    return req->wLength < n ? req->wLength : n;
}

void udfu_dfu_status_done(struct udfu_dfu *d)
{
    /* The host has the reply announcing dfuMANIFEST of a DfuSe leave (or
     * the manifestation is done): leave as soon as the work allows. */
    if ((d->flags & (F_LEAVE | F_DFUSE_LEAVE)) == (F_LEAVE | F_DFUSE_LEAVE))
        d->leave_at = d->now;
}

void udfu_dfu_reset(struct udfu_dfu *d)
{
    uint8_t s = d->state;
    d->flags &= (uint8_t)~(F_OUT | F_FRESH);
    if (s == UDFU_MANIFEST_WAIT_RESET || (d->flags & (F_MANIFESTED | F_DFUSE_LEAVE))) {
        /* Asked to leave, or done: a DfuSe leave whose check has not run
         * yet runs it first (the task leaves only once it passed). */
        if ((d->flags & F_DFUSE_LEAVE) && !(d->flags & F_MANIFESTED))
            start_manifest(d);
        arm_leave(d, 0);
        return;
    }
    if (s == UDFU_DNLOAD_SYNC || s == UDFU_DNBUSY || s == UDFU_DNLOAD_IDLE ||
        s == UDFU_MANIFEST_SYNC || s == UDFU_MANIFEST) {
        /* A download cut short: the image is incomplete (the blocks
         * already acknowledged are still written). */
        set_error(d, UDFU_STATUS_ERR_FIRMWARE);
        return;
    }
    if (s != UDFU_DFU_ERROR)
        to_idle(d);
}

int udfu_dfu_set_alt(struct udfu_dfu *d, uint8_t alt)
{
    if (alt >= d->cfg->target_count)
        return UDFU_ERR_INVAL;
    if (alt != d->alt) {
        /* The device is leaving (it waits for a reset, or a leave is armed:
         * a DfuSe leave, or a reset came while its check ran). A host that
         * re-enumerates meanwhile (SET_CONFIGURATION selects alt 0, Linux
         * then restores its alt; vhci-hcd never forwards a port reset)
         * must not cancel it, nor move the DfuSe leave address. */
        if (d->state == UDFU_MANIFEST_WAIT_RESET || (d->flags & F_LEAVE))
            return 0;
        select_alt(d, alt);
        udfu_dfu_cancel(d);
        d->flags &= (uint8_t)~(F_LEAVE | F_DFUSE_LEAVE | F_MANIFESTED);
        if (d->state != UDFU_DFU_ERROR)
            to_idle(d);
    }
    return 0;
}

/* ---- memory work --------------------------------------------------------- */

/* A step's estimated duration, kept only for asynchronous completion (a
 * synchronous build reports what is left from the cursor alone). */
#if UDFU_CFG_ASYNC
#define STEP_MS(ms, v) (*(ms) = (v))
#else
#define STEP_MS(ms, v) ((void)(ms), (void)sizeof(v)) /* v is not evaluated */
#endif

/* Each step issues one callback and advances the cursor past it; *ms gets
 * the step's estimated duration (STEP_MS). */
static int step_dnload(struct udfu_dfu *d, uint32_t *ms)
{
    const struct udfu_dfu_cfg *c = d->cfg;
    const struct udfu_target *t = dfu_target(d);
    const uint8_t *buf = dfu_buf(d, DFU_OP_BUF(d));
#if UDFU_CFG_PLAIN
    uint32_t base = t->regions[0].start, start, size;
    while (d->phase == PH_ERASE && !dfu_dfuse(d) && d->erased_end < d->offset &&
           !udfu_mem_sector(t, base + d->erased_end, &start, &size)) {
        d->erased_end = start + size - base;
        if (udfu_mem_find(t, start)->attr & UDFU_MEM_ERASE) {
            STEP_MS(ms, sector_erase_ms(t, start));
            return c->erase(c->context, d->alt, start, size);
        }
    }
#endif
    if (d->phase <= PH_PROG) {
        d->phase = PH_VERIFY;
        STEP_MS(ms, udfu_mem_prog_ms(t, d->op_addr, d->op_len));
        return c->prog(c->context, d->alt, d->op_addr, buf, d->op_len);
    }
    d->phase = PH_END;
    return c->verify(c->context, d->alt, d->op_addr, buf, d->op_len);
}

static int step(struct udfu_dfu *d, uint32_t *ms)
{
    const struct udfu_dfu_cfg *c = d->cfg;
#if UDFU_CFG_DFUSE
    const struct udfu_target *t = dfu_target(d);
    uint32_t start, size;
#endif
    switch (d->op) {
    case OP_DNLOAD:
        return step_dnload(d, ms);
#if UDFU_CFG_DFUSE
    case OP_ERASE:
    case OP_MASS:
        if (!udfu_dfuse_next_erasable(t, d->op_addr, &start, &size)) {
            d->phase = PH_END; /* nothing erasable (left) */
            return 0;
        }
        d->op_addr = start + size;
        /* A page erase is one step; so is the last sector below 4 GiB. */
        if (d->op == OP_ERASE || !d->op_addr)
            d->phase = PH_END;
        STEP_MS(ms, sector_erase_ms(t, start));
        return c->erase(c->context, d->alt, start, size);
#endif
    case OP_MANIFEST:
        d->phase = PH_END;
        STEP_MS(ms, c->manifest_ms);
        return c->manifest ? c->manifest(c->context, d->alt) : 0;
#if UDFU_CFG_DFUSE
    case OP_UNPROTECT:
        d->phase = PH_END;
        STEP_MS(ms, c->manifest_ms);
        return c->unprotect(c->context, d->alt);
#endif
    default: /* OP_REFUSE */
        d->phase = PH_END;
        return 0;
    }
}

/* Whether the operation still has a step to issue. */
static int more(const struct udfu_dfu *d)
{
#if UDFU_CFG_DFUSE
    uint32_t start, size;
#endif
    switch (d->phase) {
    case PH_END:
    case PH_CANCEL:
        return 0;
    case PH_VERIFY:
        return d->cfg->verify != NULL;
    default:
#if UDFU_CFG_DFUSE
        return d->op != OP_MASS ||
               udfu_dfuse_next_erasable(dfu_target(d), d->op_addr, &start, &size);
#else
        return 1;
#endif
    }
}

static enum udfu_status op_status(uint8_t op, int err)
{
    if (op == OP_MANIFEST)
        return UDFU_STATUS_ERR_FIRMWARE;
    if (op != OP_DNLOAD && err == UDFU_ERR_IO)
        return UDFU_STATUS_ERR_ERASE;
    return udfu_err_to_status(err);
}

/* The operation ended: on to the next state. */
static void finish(struct udfu_dfu *d, int err)
{
    uint8_t op = d->op, cancelled = d->phase == PH_CANCEL, queued = dfu_next_op(d) != OP_NONE;
    d->op = OP_NONE;
    d->flags &= (uint8_t)~F_RUNNING;
    if (!cancelled && (err < 0 || op == OP_REFUSE)) {
        udfu_dfu_fail(d, op == OP_REFUSE ? (enum udfu_status)d->op_addr : op_status(op, err));
        return;
    }
#if UDFU_CFG_PIPELINE
    /* Work queued after a cancel belongs to the new transfer: it runs. */
    if (queued) { /* the pipeline moves on */
        d->op = d->next_op;
        d->op_addr = d->next_addr;
        d->op_len = d->next_len;
        d->op_buf = d->next_buf;
        d->phase = PH_ERASE;
        d->next_op = OP_NONE;
    } else
#endif
    if (d->flags & F_MAN_REQ) {
        start_manifest(d);
    }
    if (op != OP_MANIFEST || cancelled || queued)
        return;
    /* The host may have moved on meanwhile (CLRSTATUS, a new transfer):
     * then this manifestation no longer counts and the state is left
     * alone. A DfuSe leave still armed (a mere host mistake) does count. */
    if (d->state != UDFU_MANIFEST && d->state != UDFU_MANIFEST_SYNC) {
        if (d->flags & F_LEAVE)
            d->flags |= F_MANIFESTED;
        return;
    }
    d->flags |= F_MANIFESTED;
    if (!UDFU_CFG_PLAIN || (d->flags & F_DFUSE_LEAVE)) {
        /* A DfuSe leave: leave() was armed when the check started (without
         * plain targets, every manifestation is one). */
    } else if (d->cfg->attributes & UDFU_ATTR_MANIFEST_TOLERANT) {
        if (d->state == UDFU_MANIFEST)
            d->state = UDFU_MANIFEST_SYNC;
    } else {
        /* The host asks again only after the poll it was given: the
         * timeout counts from the end of that poll, not from now. */
        uint32_t left = elapsed(d, d->busy_until) ? 0 : d->busy_until - d->now;
        d->state = UDFU_MANIFEST_WAIT_RESET;
        arm_leave(d, left + reset_timeout(d));
    }
}

#if UDFU_CFG_ASYNC
void udfu_dfu_complete(struct udfu_dfu *d, int err)
{
    UDFU_ASSERT(err <= 0 && err >= -128);
    d->result = (int8_t)err;
    d->flags |= F_DONE;
}
#endif

/* Issues the next step; finishes the operation once nothing is left. */
static void run(struct udfu_dfu *d)
{
    uint32_t ms = 0;
    int err;
    if (d->op == OP_REFUSE && (d->flags & F_FRESH))
        return; /* the refusal shows after the first dfuDNBUSY */
    err = step(d, &ms);
#if UDFU_CFG_ASYNC
    if (err == UDFU_ERR_PENDING) {
        d->flags |= F_RUNNING;
        d->op_started = d->now;
        d->op_step_ms = ms;
        return;
    }
#else
    (void)ms;
    /* Synchronous build: a callback may not defer its work. */
    UDFU_ASSERT(err != UDFU_ERR_PENDING);
    if (err == UDFU_ERR_PENDING)
        err = UDFU_ERR_IO;
#endif
    if (err < 0 || !more(d))
        finish(d, err);
}

void udfu_dfu_task(struct udfu_dfu *d, uint32_t now_ms)
{
    d->now = now_ms;
#if UDFU_CFG_ASYNC
    if (d->flags & F_DONE) {
        d->flags &= (uint8_t)~(F_DONE | F_RUNNING);
        if (d->result < 0 || !more(d))
            finish(d, d->result);
    }
#endif
    if (d->op != OP_NONE && !dfu_running(d))
        run(d);
    settle(d);
    /* Never leave before the check passed (fail() disarms the leave). */
    if ((d->flags & (F_LEAVE | F_MANIFESTED)) == (F_LEAVE | F_MANIFESTED) &&
        d->op == OP_NONE && elapsed(d, d->leave_at)) {
#if UDFU_CFG_DFUSE
        uint32_t addr = (d->flags & F_DFUSE_LEAVE) ? d->addr : 0;
#else
        uint32_t addr = 0;
#endif
        d->flags &= (uint8_t)~(F_LEAVE | F_MANIFESTED | F_DFUSE_LEAVE);
        d->cfg->leave(d->cfg->context, addr);
    }
}
