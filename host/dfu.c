/*
 * dfu.c - DFU 1.1 operations on the host: status and state recovery, detach,
 * plain download with manifestation, plain upload.
 */
#include <stdio.h>
#include <string.h>

#include "host_int.h"
#include "udfu_util.h"

/* Longest total wait for one busy phase (a mass erase of a big part can
 * take minutes; a device that stays busy longer is stuck). */
#define BUSY_LIMIT_MS (10u * 60u * 1000u)
/* GETSTATUS polls with bwPollTimeout 0 before we call the device stuck. */
#define ZERO_POLL_LIMIT 100000u
/* Manifestation: the same time limit; 1000 polls in a row that ask for no
 * wait at all is a device that will not finish (dfu-util gives up on a
 * DfuSe command after 100). */
#define MANIFEST_ZERO_POLLS 1000u
/* Re-enumeration: pause between two looks for the device. */
#define REOPEN_PAUSE_MS 100u

uint16_t host_xfer_size(const struct udfu_host_dev *d)
{
    uint16_t n = d->info.transfer_size;
    /* Linux caps control transfers at 4096 bytes; so does dfu-util. */
    if (n == 0)
        n = 64;
    return n > 4096 ? 4096 : n;
}

int udfu_host_get_status(struct udfu_host_dev *d, struct udfu_host_status *st)
{
    uint8_t r[UDFU_STATUS_LEN];
    int n = host_control(d, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, d->info.interface, r, sizeof r);
    if (n < 0)
        return host_xfer_fail(d, n, "GETSTATUS");
    if (n != UDFU_STATUS_LEN)
        return udfu_host_fail(d, UDFU_ERR_IO, "GETSTATUS returned %d bytes instead of 6; the "
                              "device is not DFU 1.1 compliant", n);
    st->status = r[0];
    st->poll_ms = (uint32_t)r[1] | ((uint32_t)r[2] << 8) | ((uint32_t)r[3] << 16);
    st->state = r[4];
    st->istring = r[5];
    return 0;
}

int udfu_host_get_state(struct udfu_host_dev *d)
{
    uint8_t s;
    int n = host_control(d, UDFU_RT_IN, UDFU_REQ_GETSTATE, 0, d->info.interface, &s, 1);
    if (n < 0)
        return host_xfer_fail(d, n, "GETSTATE");
    return n == 1 ? s : UDFU_ERR_IO;
}

int udfu_host_clear_status(struct udfu_host_dev *d)
{
    int n = host_control(d, UDFU_RT_OUT, UDFU_REQ_CLRSTATUS, 0, d->info.interface, NULL, 0);
    return n < 0 ? host_xfer_fail(d, n, "CLRSTATUS") : 0;
}

int udfu_host_abort(struct udfu_host_dev *d)
{
    int n = host_control(d, UDFU_RT_OUT, UDFU_REQ_ABORT, 0, d->info.interface, NULL, 0);
    return n < 0 ? host_xfer_fail(d, n, "ABORT") : 0;
}

int host_status_err(uint8_t status)
{
    switch (status) {
    case UDFU_STATUS_ERR_TARGET:
    case UDFU_STATUS_ERR_ADDRESS: return UDFU_ERR_RANGE;
    case UDFU_STATUS_ERR_WRITE: return UDFU_ERR_PERM;
    case UDFU_STATUS_ERR_FILE: return UDFU_ERR_FORMAT;
    case UDFU_STATUS_ERR_ERASE: return UDFU_ERR_ERASE;
    case UDFU_STATUS_ERR_CHECK_ERASED: return UDFU_ERR_NOT_ERASED;
    case UDFU_STATUS_ERR_PROG: return UDFU_ERR_PROG;
    case UDFU_STATUS_ERR_VERIFY: return UDFU_ERR_VERIFY;
    case UDFU_STATUS_ERR_NOTDONE:
    case UDFU_STATUS_ERR_FIRMWARE: return UDFU_ERR_FIRMWARE;
    case UDFU_STATUS_ERR_STALLEDPKT: return UDFU_ERR_STALL;
    default: return UDFU_ERR_IO;
    }
}

const char *host_status_hint(uint8_t status)
{
    switch (status) {
    case UDFU_STATUS_ERR_TARGET:
    case UDFU_STATUS_ERR_ADDRESS: return "the address is outside the device's memory; "
                                         "check --address against `udfu list`";
    case UDFU_STATUS_ERR_WRITE: return "that memory is write-protected";
    case UDFU_STATUS_ERR_ERASE:
    case UDFU_STATUS_ERR_PROG:
    case UDFU_STATUS_ERR_VERIFY: return "the flash failed; retry, and if it fails again "
                                        "the part may be worn out";
    case UDFU_STATUS_ERR_CHECK_ERASED: return "the memory was not erased first; erase it "
                                              "(udfu erase) and retry";
    case UDFU_STATUS_ERR_NOTDONE:
    case UDFU_STATUS_ERR_FIRMWARE: return "the image was rejected as incomplete or invalid; "
                                          "check that the file is for this device";
    case UDFU_STATUS_ERR_FILE: return "the device rejected the file format";
    case UDFU_STATUS_ERR_STALLEDPKT: return "the device did not expect that request";
    default: return "retry; if it persists, reset the device";
    }
}

/* The device reported an error (dfuERROR, or a bStatus other than OK in
 * any state): tell why, and put it back where the next operation starts
 * clean (what dfu-util does before each operation anyway). CLRSTATUS is
 * only legal in dfuERROR; a device that stayed in an idle state after a
 * failed request gets an ABORT instead. */
int host_device_error(struct udfu_host_dev *d, const struct udfu_host_status *st,
                      const char *what, uint32_t addr)
{
    /* dfuERROR with status OK still is an error: do not call it success. */
    int err = st->status == UDFU_STATUS_OK ? UDFU_ERR_STATE : host_status_err(st->status);
    char at[32] = "", in[40] = "";
    if (addr != UINT32_MAX)
        snprintf(at, sizeof at, " at 0x%08X", (unsigned)addr);
    /* An error outside dfuERROR is unusual enough to show. */
    if (st->state != UDFU_DFU_ERROR)
        snprintf(in, sizeof in, " (in %s)", udfu_state_name(st->state));
    if (st->state == UDFU_DFU_ERROR)
        (void)udfu_host_clear_status(d);
    else if (st->state == UDFU_DNLOAD_IDLE || st->state == UDFU_UPLOAD_IDLE)
        (void)udfu_host_abort(d);
    return udfu_host_fail(d, err, "the device reported %s%s during %s%s: %s",
                          udfu_status_name(st->status), in, what, at,
                          host_status_hint(st->status));
}

static int device_failed(const struct udfu_host_status *st)
{
    return st->state == UDFU_DFU_ERROR || st->status != UDFU_STATUS_OK;
}

/* A busy phase hit its limit (host_limit_pause said so). */
static int busy_timeout(struct udfu_host_dev *d, const struct host_limit *l,
                        const struct udfu_host_status *st, const char *what)
{
    if (l->zero_polls > l->zero_limit)
        return udfu_host_fail(d, UDFU_ERR_TIMEOUT, "the device stayed in %s during %s for "
                              "%u polls that asked for no wait: it is stuck; reset it and try "
                              "again", udfu_state_name(st->state), what,
                              (unsigned)l->zero_polls);
    return udfu_host_fail(d, UDFU_ERR_TIMEOUT, "the device stayed in %s during %s for too "
                          "long (it asks to wait %u ms more; udfu waits at most %u s): it is "
                          "stuck; reset it and try again", udfu_state_name(st->state), what,
                          (unsigned)st->poll_ms, (unsigned)(l->limit_ms / 1000u));
}

static int busy_state(uint8_t state)
{
    return state == UDFU_DNBUSY || state == UDFU_DNLOAD_SYNC || state == UDFU_MANIFEST_SYNC ||
           state == UDFU_MANIFEST;
}

int host_wait(struct udfu_host_dev *d, struct udfu_host_status *st, const char *what,
              uint32_t addr)
{
    struct host_limit l;
    host_limit_start(d, &l, BUSY_LIMIT_MS, ZERO_POLL_LIMIT);
    for (;;) {
        int err = udfu_host_get_status(d, st);
        if (err < 0)
            return err;
        /* bStatus is the result of the last request whatever bState says:
         * errPROG in dfuDNLOAD-IDLE is a failed write (dfu-util checks it
         * after every block too). */
        if (device_failed(st))
            return host_device_error(d, st, what, addr);
        /* Only DNBUSY promises more work: SYNC states after a poll are the
         * device saying "ask again", MANIFEST is handled by the caller. */
        if (st->state != UDFU_DNBUSY && st->state != UDFU_DNLOAD_SYNC)
            return 0;
        /* The device may not be asked again before bwPollTimeout ends. */
        if (host_limit_pause(d, &l, st->poll_ms) < 0)
            return busy_timeout(d, &l, st, what);
    }
}

int host_dnload(struct udfu_host_dev *d, uint16_t block, const uint8_t *data, uint16_t len)
{
    int n = host_control(d, UDFU_RT_OUT, UDFU_REQ_DNLOAD, block, d->info.interface,
                         (uint8_t *)(uintptr_t)data, len);
    if (n >= 0 && n != len)
        return UDFU_ERR_IO;
    return n < 0 ? n : 0;
}

int host_upload_block(struct udfu_host_dev *d, uint16_t block, uint8_t *buf, uint16_t len)
{
    return host_control(d, UDFU_RT_IN, UDFU_REQ_UPLOAD, block, d->info.interface, buf, len);
}

/* A refused DNLOAD/UPLOAD leaves the device in dfuERROR with the reason in
 * bStatus: fetch it for the message. */
int host_refused(struct udfu_host_dev *d, int err, const char *what, uint32_t addr)
{
    struct udfu_host_status st;
    if (err == UDFU_ERR_STALL && udfu_host_get_status(d, &st) == 0 &&
        st.state == UDFU_DFU_ERROR)
        return host_device_error(d, &st, what, addr);
    return host_xfer_fail(d, err, what);
}

/* ---- recovery --------------------------------------------------------------- */

static int runtime_refusal(struct udfu_host_dev *d)
{
    return udfu_host_fail(d, UDFU_ERR_STATE, "the device %04x:%04x is in run-time mode "
                          "(appIDLE); switch it to DFU mode first with `udfu detach`",
                          d->info.vid, d->info.pid);
}

int udfu_host_recover(struct udfu_host_dev *d)
{
    struct host_limit l;
    int tries;
    if (d->info.protocol == UDFU_PROTOCOL_RUNTIME)
        return runtime_refusal(d);
    host_limit_start(d, &l, BUSY_LIMIT_MS, ZERO_POLL_LIMIT);
    for (tries = 0; tries < 8; tries++) {
        struct udfu_host_status st;
        int err = udfu_host_get_status(d, &st);
        if (err < 0)
            return err;
        switch (st.state) {
        case UDFU_DFU_IDLE: return 0;
        case UDFU_DFU_ERROR: err = udfu_host_clear_status(d); break;
        case UDFU_DNLOAD_IDLE:
        case UDFU_UPLOAD_IDLE: err = udfu_host_abort(d); break;
        case UDFU_APP_IDLE:
        case UDFU_APP_DETACH: return runtime_refusal(d);
        case UDFU_MANIFEST_WAIT_RESET:
            return udfu_host_fail(d, UDFU_ERR_STATE, "the device waits for a reset after "
                                  "manifestation; reset or replug it");
        default:
            if (host_limit_pause(d, &l, st.poll_ms) < 0)
                return busy_timeout(d, &l, &st, "recovery to dfuIDLE");
            break;
        }
        if (err < 0)
            return err;
    }
    return udfu_host_fail(d, UDFU_ERR_STATE, "the device does not return to dfuIDLE; reset "
                          "or replug it");
}

/* ---- detach ------------------------------------------------------------------ */

/* After a detach or manifestation the device comes back on its own; wait
 * for it in the wanted mode (protocol), re-reading its descriptors. The
 * limit is a deadline on the clock: reopen() itself may block until the
 * time it is given runs out, and that time counts. */
static int wait_mode(struct udfu_host_dev *d, uint8_t protocol, uint32_t timeout_ms)
{
    uint64_t deadline = host_now(d) + timeout_ms;
    for (;;) {
        uint64_t now = host_now(d);
        uint32_t left = now < deadline ? (uint32_t)(deadline - now) : 0;
        int err = d->ops->reopen(d->ctx, left);
        if (err == 0) {
            struct udfu_host_match m = d->match;
            m.vid = m.pid = 0; /* the DFU-mode PID may differ */
            err = host_probe(d, &m);
            if (err == 0 && (!protocol || d->info.protocol == protocol))
                return udfu_host_select_alt(d, d->info.alt_count ? d->info.alts[0].alt : 0);
        }
        now = host_now(d);
        if (now >= deadline)
            break;
        host_sleep(d, deadline - now < REOPEN_PAUSE_MS ? (uint32_t)(deadline - now)
                                                         : REOPEN_PAUSE_MS);
    }
    return udfu_host_fail(d, UDFU_ERR_NODEV, "the device did not come back%s within %u ms; "
                          "run `udfu list` to see where it went",
                          protocol == UDFU_PROTOCOL_DFU ? " in DFU mode"
                          : protocol ? " in run-time mode" : "", (unsigned)timeout_ms);
}

int udfu_host_reconnect(struct udfu_host_dev *d, uint8_t protocol, uint32_t timeout_ms)
{
    if (!d->ops)
        return udfu_host_fail(d, UDFU_ERR_NODEV, "no device is open");
    return wait_mode(d, protocol, timeout_ms ? timeout_ms : 10000);
}

int udfu_host_reset(struct udfu_host_dev *d)
{
    int err;
    if (!d->ops)
        return udfu_host_fail(d, UDFU_ERR_NODEV, "no device is open");
    err = d->ops->reset(d->ctx);
    if (err < 0 && err != UDFU_ERR_NODEV)
        return host_xfer_fail(d, err, "the bus reset");
    /* A device that leaves DFU mode on the reset re-enumerates: let it go
     * before returning, so that the next open finds it in its new mode. A
     * device that stays is fine too. */
    if (d->ops->wait_gone)
        (void)d->ops->wait_gone(d->ctx, 3000);
    return 0;
}

int udfu_host_detach(struct udfu_host_dev *d, uint32_t timeout_ms)
{
    struct udfu_host_status st;
    uint16_t wait = d->info.detach_timeout ? d->info.detach_timeout : 1000;
    int will = (d->info.attributes & UDFU_ATTR_WILL_DETACH) != 0;
    int err;
    if (!d->ops)
        return udfu_host_fail(d, UDFU_ERR_NODEV, "no device is open");
    if (d->info.protocol == UDFU_PROTOCOL_DFU)
        return 0;
    host_progress(d, UDFU_HOST_DETACH, 0, 1);
    /* dfu-util asks first; a stall only means appIDLE. */
    (void)udfu_host_get_status(d, &st);
    err = host_control(d, UDFU_RT_OUT, UDFU_REQ_DETACH, wait, d->info.interface, NULL, 0);
    /* A device with bitWillDetach may vanish before it completes the reply. */
    if (err < 0 && !(will && (err == UDFU_ERR_NODEV || err == UDFU_ERR_IO)))
        return host_xfer_fail(d, err, "DETACH");
    if (!will) {
        err = d->ops->reset(d->ctx);
        if (err < 0 && err != UDFU_ERR_NODEV)
            return host_xfer_fail(d, err, "the bus reset after DETACH");
    }
    err = wait_mode(d, UDFU_PROTOCOL_DFU, timeout_ms ? timeout_ms : 10000);
    if (err == 0)
        host_progress(d, UDFU_HOST_DETACH, 1, 1);
    return err;
}

/* ---- plain download ------------------------------------------------------------ */

static int check_attr(struct udfu_host_dev *d, uint8_t bit, const char *what)
{
    if (d->info.attributes & bit)
        return 0;
    return udfu_host_fail(d, UDFU_ERR_UNSUPPORTED, "the device does not allow %s "
                          "(bmAttributes 0x%02x)", what, d->info.attributes);
}

static int send_blocks(struct udfu_host_dev *d, const uint8_t *data, size_t len,
                       uint16_t *block)
{
    uint16_t xfer = host_xfer_size(d);
    size_t off = 0;
    host_progress(d, UDFU_HOST_DOWNLOAD, 0, len);
    while (off < len) {
        struct udfu_host_status st;
        uint16_t n = (uint16_t)(len - off < xfer ? len - off : xfer);
        char what[48];
        int err;
        snprintf(what, sizeof what, "DNLOAD block %u", *block);
        err = host_dnload(d, *block, data + off, n);
        if (err < 0)
            return host_refused(d, err, what, UINT32_MAX);
        err = host_wait(d, &st, what, UINT32_MAX);
        if (err < 0)
            return err;
        if (st.state != UDFU_DNLOAD_IDLE)
            return udfu_host_fail(d, UDFU_ERR_STATE, "after %s the device is in %s instead "
                                  "of dfuDNLOAD-IDLE", what, udfu_state_name(st.state));
        off += n;
        (*block)++; /* wraps at 0xFFFF like every host does */
        host_progress(d, UDFU_HOST_DOWNLOAD, off, len);
    }
    return 0;
}

/* A device that resets itself after manifestation stops answering: that
 * is success, not failure. */
static int gone_is_done(int err)
{
    return err == UDFU_ERR_NODEV || err == UDFU_ERR_IO || err == UDFU_ERR_TIMEOUT;
}

/* Polls until manifestation ends: dfuIDLE, a bus reset asked for
 * (dfuMANIFEST-WAIT-RESET), or the device gone. Anything else, for longer
 * than the limit, is a device that never finished: an error, not a
 * download that worked. */
static int manifest_poll(struct udfu_host_dev *d)
{
    struct host_limit l;
    int polls;
    host_limit_start(d, &l, BUSY_LIMIT_MS, MANIFEST_ZERO_POLLS);
    for (polls = 0;; polls++) {
        struct udfu_host_status st;
        int err = udfu_host_get_status(d, &st);
        if (err < 0 && polls > 0 && gone_is_done(err))
            return 0;
        if (err < 0)
            return err;
        if (device_failed(&st))
            return host_device_error(d, &st, "manifestation", UINT32_MAX);
        if (st.state == UDFU_MANIFEST_WAIT_RESET)
            return udfu_host_reset(d);
        if (st.state == UDFU_DFU_IDLE)
            return 0;
        if (!busy_state(st.state))
            return udfu_host_fail(d, UDFU_ERR_STATE, "unexpected state %s during "
                                  "manifestation", udfu_state_name(st.state));
        if (host_limit_pause(d, &l, st.poll_ms) < 0)
            return busy_timeout(d, &l, &st, "manifestation");
    }
}

static int manifest(struct udfu_host_dev *d)
{
    int err;
    host_progress(d, UDFU_HOST_MANIFEST, 0, 1);
    err = manifest_poll(d);
    if (err == 0)
        host_progress(d, UDFU_HOST_MANIFEST, 1, 1);
    return err;
}

int udfu_host_download(struct udfu_host_dev *d, const uint8_t *data, size_t len)
{
    uint16_t block = 0;
    int err = host_check_layout(d, d->alt);
    if (err == 0)
        err = check_attr(d, UDFU_ATTR_CAN_DNLOAD, "downloads");
    if (err == 0 && len == 0)
        err = udfu_host_fail(d, UDFU_ERR_INVAL, "nothing to download: the image is empty");
    if (err == 0)
        err = udfu_host_recover(d);
    if (err == 0)
        err = send_blocks(d, data, len, &block);
    if (err < 0)
        return err;
    err = host_dnload(d, block, NULL, 0);
    if (err < 0)
        return host_refused(d, err, "the final zero-length DNLOAD", UINT32_MAX);
    return manifest(d);
}

/* ---- plain upload ------------------------------------------------------------- */

long udfu_host_upload(struct udfu_host_dev *d, uint8_t *buf, size_t cap)
{
    uint16_t xfer = host_xfer_size(d);
    uint16_t block = 0;
    size_t got = 0;
    int err = host_check_layout(d, d->alt);
    if (err == 0)
        err = check_attr(d, UDFU_ATTR_CAN_UPLOAD, "uploads");
    if (err == 0)
        err = udfu_host_recover(d);
    if (err < 0)
        return err;
    host_progress(d, UDFU_HOST_UPLOAD, 0, cap);
    while (got < cap) {
        uint16_t want = (uint16_t)(cap - got < xfer ? cap - got : xfer);
        int n = host_upload_block(d, block++, buf + got, want);
        if (n < 0)
            return host_refused(d, n, "UPLOAD", UINT32_MAX);
        got += (size_t)n;
        host_progress(d, UDFU_HOST_UPLOAD, got, cap);
        if (n < want) /* a short block ends the upload: the device is idle again */
            return (long)got;
    }
    /* We stopped first: the device still sits in dfuUPLOAD-IDLE. */
    err = udfu_host_abort(d);
    return err < 0 ? err : (long)got;
}
