#include "host_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* DFU states and requests, short names */
#define ST_APP_IDLE UDFU_APP_IDLE
#define ST_APP_DETACH UDFU_APP_DETACH
#define ST_IDLE UDFU_DFU_IDLE
#define ST_DNBUSY UDFU_DNBUSY
#define ST_DNIDLE UDFU_DNLOAD_IDLE
#define ST_MSYNC UDFU_MANIFEST_SYNC
#define ST_MAN UDFU_MANIFEST
#define ST_WAIT UDFU_MANIFEST_WAIT_RESET
#define ST_UPIDLE UDFU_UPLOAD_IDLE
#define ST_ERROR UDFU_DFU_ERROR

enum { CMD_SET_ADDRESS, CMD_ERASE_PAGE, CMD_MASS_ERASE, CMD_READ_UNPROTECT };

/* dfu-util keeps the last erased page across the whole run; 1 never
 * matches an aligned page. One tool run per hm_host. */
static uint32_t last_erased_page;

struct hm_status {
    uint8_t status, state;
    uint32_t poll;
};

static int fail(struct hm_host *h, const char *fmt, ...)
{
    va_list ap;
    if (!h->failed) {
        va_start(ap, fmt);
        vsnprintf(h->msg, sizeof h->msg, fmt, ap);
        va_end(ap);
    }
    h->failed = 1;
    return -1;
}

void hm_attach(struct hm_host *h, struct cf_dev *dev)
{
    memset(h, 0, sizeof *h);
    h->dev = dev;
    h->leaves_at_start = dev->leaves;
    last_erased_page = 1;
}

void hm_attach_rt(struct hm_host *h, struct udfu_rt *rt, uint32_t *now)
{
    memset(h, 0, sizeof *h);
    h->rt = rt;
    h->rt_now = now;
}

static uint32_t now_of(const struct hm_host *h)
{
    return h->dev ? h->dev->now : *h->rt_now;
}

static int gone(const struct hm_host *h)
{
    return h->dev ? h->dev->leaves > h->leaves_at_start : h->rt_gone;
}

static void sleep_ms(struct hm_host *h, uint32_t ms)
{
    if (h->dev) {
        cf_sleep(h->dev, ms);
        return;
    }
    while (ms--)
        udfu_rt_task(h->rt, ++*h->rt_now);
}

/* One control transfer; returns what libusb_control_transfer returns. */
static int xfer(struct hm_host *h, uint8_t bm, uint8_t req, uint16_t value, uint16_t length,
                const uint8_t *out, uint8_t *in)
{
    static struct cf_reply r;
    struct hm_xfer *t = h->ntr < HM_TRACE_MAX ? &h->tr[h->ntr++] : &h->tr[HM_TRACE_MAX - 1];
    memset(t, 0, sizeof *t);
    t->bm = bm;
    t->req = req;
    t->value = value;
    t->length = length;
    t->first = out && length ? out[0] : 0;
    t->at = now_of(h);
    if (gone(h)) {
        t->result = HM_ERROR_NO_DEVICE;
        return t->result;
    }
    if (h->dev)
        cf_ctl(h->dev, bm, req, value, h->dev->cfg.interface, length, out, &r);
    else
        cf_rt_ctl(h->rt, bm, req, value, h->rt->cfg->interface, length, &r);
    switch (r.kind) {
    case CF_ACK:
        t->result = length;
        break;
    case CF_STALL:
        t->result = HM_ERROR_PIPE;
        break;
    case CF_IN:
        if (in)
            memcpy(in, r.data, (size_t)r.len);
        t->result = r.len;
        break;
    default:
        fail(h, "device misbehaved on bRequest %u: %s", req, r.bad);
        t->result = -99;
        break;
    }
    if (req == UDFU_REQ_GETSTATUS && t->result == 6 && in) {
        t->status = in[0];
        t->poll = in[1] | (in[2] << 8) | ((uint32_t)in[3] << 16);
        t->state = in[4];
    }
    /* the device's main loop turns between transfers */
    if (h->dev)
        cf_pump(h->dev);
    else
        udfu_rt_task(h->rt, *h->rt_now);
    return t->result;
}

/* ---- the individual requests, as dfu-util sends them -------------------- */

static int get_status(struct hm_host *h, struct hm_status *st)
{
    uint8_t b[6];
    int r;
    /* what dfu-util assumes when it gets no answer */
    st->status = UDFU_STATUS_ERR_UNKNOWN;
    st->poll = 0;
    st->state = ST_ERROR;
    r = xfer(h, 0xA1, UDFU_REQ_GETSTATUS, 0, 6, NULL, b);
    if (r == 6) {
        st->status = b[0];
        st->poll = b[1] | (b[2] << 8) | ((uint32_t)b[3] << 16);
        st->state = b[4];
    }
    return r;
}

static int dnload(struct hm_host *h, uint16_t len, uint16_t block, const uint8_t *data)
{
    return xfer(h, 0x21, UDFU_REQ_DNLOAD, block, len, data, NULL);
}

static int upload(struct hm_host *h, uint16_t len, uint16_t block, uint8_t *data)
{
    return xfer(h, 0xA1, UDFU_REQ_UPLOAD, block, len, NULL, data);
}

static int clr_status(struct hm_host *h)
{
    return xfer(h, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL, NULL);
}

static int abort_req(struct hm_host *h)
{
    return xfer(h, 0x21, UDFU_REQ_ABORT, 0, 0, NULL, NULL);
}

static int detach_req(struct hm_host *h, uint16_t timeout)
{
    return xfer(h, 0x21, UDFU_REQ_DETACH, timeout, 0, NULL, NULL);
}

/* libusb_reset_device: a bus reset seen by the device. */
static void bus_reset(struct hm_host *h)
{
    if (gone(h))
        return; /* LIBUSB_ERROR_NOT_FOUND, ignored by dfu-util */
    if (h->dev) {
        udfu_dfu_reset(&h->dev->dfu);
        cf_pump(h->dev);
    } else {
        udfu_rt_reset(h->rt);
        udfu_rt_task(h->rt, *h->rt_now);
    }
}

/* ---- layout string --------------------------------------------------------- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static const char *read_dec(const char *p, uint32_t *v)
{
    const char *s = p;
    *v = 0;
    while (*p >= '0' && *p <= '9')
        *v = *v * 10u + (uint32_t)(*p++ - '0');
    return p == s ? NULL : p;
}

/* Facts of dfu-util's parser: "@name" up to the first '/'; then groups
 * "/0xADDR/" each followed by comma-separated "N*SIZE<mult><type>", mult
 * one of B K M (anything else: bytes, with a warning), type a..g whose low
 * three bits are read/erase/write; a segment covers N*SIZE bytes and the
 * next starts where it ends. */
int hm_parse_layout(const char *s, struct hm_seg *segs, int max)
{
    int n = 0;
    if (!s || *s != '@' || !(s = strchr(s, '/')))
        return -1;
    while (s[0] == '/' && s[1] == '0' && (s[2] == 'x' || s[2] == 'X')) {
        uint32_t addr = 0;
        int d;
        s += 3;
        if (hex_digit(*s) < 0)
            return -1;
        while ((d = hex_digit(*s)) >= 0) {
            addr = addr * 16u + (uint32_t)d;
            s++;
        }
        if (*s++ != '/')
            return -1;
        for (;;) {
            uint32_t count, size;
            char mult, type;
            if (!(s = read_dec(s, &count)) || *s++ != '*' || !(s = read_dec(s, &size)))
                return -1;
            mult = *s++;
            type = *s++;
            if (mult == 'K')
                size *= 1024u;
            else if (mult == 'M')
                size *= 1024u * 1024u;
            if (type < 'a' || type > 'g' || n == max)
                return -1;
            segs[n].start = addr;
            segs[n].end = addr + count * size - 1u;
            segs[n].page = size;
            segs[n].type = (uint8_t)(type & 7);
            n++;
            addr += count * size;
            if (*s != ',')
                break;
            s++;
        }
    }
    return *s == '\0' || *s == '/' ? n : -1;
}

const struct hm_seg *hm_find_seg(const struct hm_seg *segs, int n, uint32_t addr)
{
    int i;
    for (i = 0; i < n; i++)
        if (segs[i].start <= addr && segs[i].end >= addr)
            return &segs[i];
    return NULL;
}

/* ---- dfu-util 0.11 ---------------------------------------------------------- */

int du_start(struct hm_host *h, uint8_t alt)
{
    struct hm_status st;
    int guard;
    /* SET_INTERFACE is always sent (every DFU interface counts as having
     * alternate settings); usbd passes it to the class core. */
    if (udfu_dfu_set_alt(&h->dev->dfu, alt) < 0)
        return fail(h, "Cannot set alternate interface");
    cf_pump(h->dev);
    for (guard = 0; guard < 16; guard++) {
        if (get_status(h, &st) < 0)
            return fail(h, "error get_status");
        sleep_ms(h, st.poll);
        if (st.state == ST_APP_IDLE || st.state == ST_APP_DETACH)
            return fail(h, "Device still in Run-Time Mode!");
        if (st.state == ST_ERROR) {
            if (clr_status(h) < 0)
                return fail(h, "error clear_status");
        } else if (st.state == ST_DNIDLE || st.state == ST_UPIDLE) {
            if (abort_req(h) < 0)
                return fail(h, "can't send DFU_ABORT");
        } else {
            break;
        }
    }
    if (st.status != UDFU_STATUS_OK) {
        if (clr_status(h) < 0 || get_status(h, &st) < 0)
            return fail(h, "USB communication error");
        if (st.status != UDFU_STATUS_OK)
            return fail(h, "Status is not OK: %d", st.status);
        sleep_ms(h, st.poll);
    }
    return 0;
}

int du_download_plain(struct hm_host *h, uint16_t xfer_size, const uint8_t *img, uint32_t size,
                      int final_reset)
{
    struct hm_status st;
    uint32_t sent = 0;
    uint16_t transaction = 0;
    int guard;
    while (sent < size) {
        uint16_t chunk = (uint16_t)(size - sent < xfer_size ? size - sent : xfer_size);
        if (dnload(h, chunk, transaction++, img + sent) < 0)
            return fail(h, "Error during download");
        sent += chunk;
        for (guard = 0;; guard++) {
            if (get_status(h, &st) < 0)
                return fail(h, "Error during download get_status");
            if (st.state == ST_DNIDLE || st.state == ST_ERROR)
                break;
            if (guard > 10000)
                return fail(h, "dfu-util would poll forever (state %d)", st.state);
            sleep_ms(h, st.poll);
        }
        if (st.status != UDFU_STATUS_OK)
            return fail(h, " failed! state(%u) status(%u)", st.state, st.status);
    }
    if (dnload(h, 0, transaction, NULL) < 0)
        return fail(h, "Error sending completion packet");
    for (guard = 0;; guard++) {
        if (get_status(h, &st) < 0)
            return fail(h, "unable to read DFU status after completion");
        sleep_ms(h, st.poll);
        if (st.state == ST_MSYNC || st.state == ST_MAN) {
            if (guard > 100)
                return fail(h, "dfu-util would wait for the manifestation forever");
            sleep_ms(h, 1000);
            continue;
        }
        if (st.state == ST_WAIT)
            bus_reset(h); /* "Resetting USB to switch back to runtime mode" */
        break;
    }
    if (final_reset) {
        (void)detach_req(h, 1000); /* an error here is only a warning */
        bus_reset(h);
    }
    return 0;
}

int du_upload_plain(struct hm_host *h, uint16_t xfer_size, uint8_t *out, uint32_t cap)
{
    static uint8_t buf[CF_XFER_MAX];
    uint32_t total = 0;
    uint16_t transaction = 0;
    for (;;) {
        int rc = upload(h, xfer_size, transaction++, buf);
        if (rc < 0)
            return fail(h, "Error during upload (%d)", rc);
        if (total + (uint32_t)rc > cap)
            return fail(h, "test buffer too small");
        memcpy(out + total, buf, (size_t)rc);
        total += (uint32_t)rc;
        if (rc < xfer_size)
            break;
    }
    return (int)total;
}

static const char *const cmd_name[] = {"SET_ADDRESS", "ERASE_PAGE", "MASS_ERASE",
                                       "READ_UNPROTECT"};

static int special(struct hm_host *h, const struct hm_seg *segs, int nseg, uint32_t addr,
                   int cmd)
{
    struct hm_status st;
    uint8_t buf[5];
    uint16_t len = 5;
    uint32_t polltimeout = 0;
    int firstpoll = 1, zerotimeouts = 0, stalls = 0, r;
    if (cmd == CMD_ERASE_PAGE) {
        const struct hm_seg *seg = hm_find_seg(segs, nseg, addr);
        if (!seg || !(seg->type & 2))
            return fail(h, "Page at 0x%08x can not be erased", (unsigned)addr);
        buf[0] = UDFU_DFUSE_CMD_ERASE;
        last_erased_page = addr & ~(seg->page - 1u);
    } else if (cmd == CMD_SET_ADDRESS) {
        buf[0] = UDFU_DFUSE_CMD_SET_ADDRESS;
    } else {
        buf[0] = cmd == CMD_MASS_ERASE ? UDFU_DFUSE_CMD_ERASE : UDFU_DFUSE_CMD_READ_UNPROTECT;
        len = 1;
    }
    buf[1] = (uint8_t)addr;
    buf[2] = (uint8_t)(addr >> 8);
    buf[3] = (uint8_t)(addr >> 16);
    buf[4] = (uint8_t)(addr >> 24);
    if (dnload(h, len, 0, buf) < 0)
        return fail(h, "Error during special command \"%s\" download", cmd_name[cmd]);
    do {
        r = get_status(h, &st);
        if (r == HM_ERROR_PIPE && polltimeout != 0 && stalls < 3) {
            st.state = ST_DNBUSY; /* STM32L4 workaround: reuse the last timeout */
            stalls++;
        } else if (r < 0) {
            return fail(h, "Error during special command \"%s\" get_status", cmd_name[cmd]);
        } else {
            polltimeout = st.poll;
        }
        if (firstpoll) {
            firstpoll = 0;
            if (st.state != ST_DNBUSY)
                return fail(h, "Wrong state after command \"%s\" download (state %u status %u)",
                            cmd_name[cmd], st.state, st.status);
            if (cmd == CMD_MASS_ERASE && st.poll == 100)
                polltimeout = 35000; /* STM32F405 quirk */
        }
        sleep_ms(h, polltimeout);
        if (cmd == CMD_READ_UNPROTECT)
            return r;
        if (st.poll == 0) {
            if (++zerotimeouts == 100)
                return fail(h, "Device stuck after special command request");
        } else {
            zerotimeouts = 0;
        }
    } while (st.state == ST_DNBUSY);
    if (st.status != UDFU_STATUS_OK)
        return fail(h, "%s not correctly executed (state %u status %u)", cmd_name[cmd],
                    st.state, st.status);
    return r;
}

/* dfuse_dnload_chunk: DNLOAD, then GETSTATUS (sleeping after each) until
 * dfuDNLOAD-IDLE, dfuERROR or dfuMANIFEST. Bytes sent, or -1 on a bad
 * status (not fatal by itself). */
static int dfuse_chunk(struct hm_host *h, const uint8_t *data, uint16_t size, uint16_t block)
{
    struct hm_status st;
    int sent, guard = 0;
    sent = dnload(h, size, block, size ? data : NULL);
    if (sent < 0)
        return fail(h, "Error during download");
    do {
        if (get_status(h, &st) < 0)
            return fail(h, "Error during download get_status");
        sleep_ms(h, st.poll);
        if (++guard > 10000)
            return fail(h, "dfu-util would poll forever");
    } while (st.state != ST_DNIDLE && st.state != ST_ERROR && st.state != ST_MAN);
    if (st.status != UDFU_STATUS_OK)
        return -1;
    return sent;
}

static int abort_to_idle(struct hm_host *h)
{
    struct hm_status st;
    if (abort_req(h) < 0)
        return fail(h, "Error sending dfu abort request");
    if (get_status(h, &st) < 0)
        return fail(h, "Error during abort get_status");
    if (st.state != ST_IDLE)
        return fail(h, "Failed to enter idle state on abort");
    sleep_ms(h, st.poll);
    return 0;
}

static int dnload_element(struct hm_host *h, const struct hm_seg *segs, int nseg, uint32_t addr,
                          uint32_t size, const uint8_t *data, uint16_t xfer_size)
{
    const struct hm_seg *seg = hm_find_seg(segs, nseg, addr + size - 1u);
    uint32_t p;
    if (!seg || !(seg->type & 4))
        return fail(h, "Last page at 0x%08x is not writeable", (unsigned)(addr + size - 1u));
    /* first pass: erase every page the element touches */
    for (p = 0; p < size; p += xfer_size) {
        uint32_t address = addr + p, chunk = xfer_size, page, ea;
        seg = hm_find_seg(segs, nseg, address);
        if (!seg || !(seg->type & 4))
            return fail(h, "Page at 0x%08x is not writeable", (unsigned)address);
        page = seg->page;
        if (p + chunk > size)
            chunk = size - p;
        if (!(seg->type & 2))
            continue;
        for (ea = address; ea < address + chunk; ea += page)
            if ((ea & ~(page - 1u)) != last_erased_page && special(h, segs, nseg, ea, CMD_ERASE_PAGE) < 0)
                return -1;
        if (((address + chunk - 1u) & ~(page - 1u)) != last_erased_page &&
            special(h, segs, nseg, address + chunk - 1u, CMD_ERASE_PAGE) < 0)
            return -1;
    }
    /* second pass: set the address, write the chunk as block 2 */
    for (p = 0; p < size; p += xfer_size) {
        uint32_t chunk = size - p < xfer_size ? size - p : xfer_size;
        if (special(h, segs, nseg, addr + p, CMD_SET_ADDRESS) < 0)
            return -1;
        if (dfuse_chunk(h, data + p, (uint16_t)chunk, 2) != (int)chunk)
            return fail(h, "Failed to write whole chunk (%s)", h->failed ? h->msg : "bad status");
    }
    return 0;
}

static int leave(struct hm_host *h, const struct hm_seg *segs, int nseg, int addr_present,
                 uint32_t addr)
{
    if (addr_present && special(h, segs, nseg, addr, CMD_SET_ADDRESS) < 0)
        return -1;
    /* "Submitting leave request...": its result is not checked, but a
     * failing transfer inside it is fatal */
    (void)dfuse_chunk(h, NULL, 0, 2);
    return h->failed ? -1 : 0;
}

int du_download_dfuse(struct hm_host *h, uint16_t xfer_size, const char *layout, uint32_t addr,
                      const uint8_t *img, uint32_t size, int do_leave)
{
    struct hm_seg segs[32];
    int n = hm_parse_layout(layout, segs, 32);
    if (n < 1)
        return fail(h, "Failed to parse memory layout");
    if (dnload_element(h, segs, n, addr, size, img, xfer_size) < 0)
        return -1;
    if (abort_to_idle(h) < 0)
        return -1;
    if (do_leave)
        return leave(h, segs, n, 1, addr);
    return 0;
}

int du_upload_dfuse(struct hm_host *h, uint16_t xfer_size, const char *layout, int addr_present,
                    uint32_t addr, uint32_t len, uint8_t *out, uint32_t cap)
{
    static uint8_t buf[CF_XFER_MAX];
    uint32_t limit = len, total = 0;
    uint16_t transaction = 2;
    if (addr_present) {
        struct hm_seg segs[32];
        int n = hm_parse_layout(layout, segs, 32);
        const struct hm_seg *seg = n > 0 ? hm_find_seg(segs, n, addr) : NULL;
        if (n < 1)
            return fail(h, "Failed to parse memory layout");
        if (!seg || !(seg->type & 1))
            return fail(h, "Page at 0x%08x is not readable", (unsigned)addr);
        if (!limit)
            limit = seg->end - addr + 1u;
        if (special(h, segs, n, addr, CMD_SET_ADDRESS) < 0 || abort_to_idle(h) < 0)
            return -1;
    } else if (!limit) {
        limit = 0x4000; /* "Unbound upload not supported on DfuSe devices" */
    }
    for (;;) {
        int rc;
        if (limit - total < xfer_size)
            xfer_size = (uint16_t)(limit - total);
        rc = upload(h, xfer_size, transaction++, buf);
        if (rc < 0)
            return fail(h, "dfuse_upload: libusb_control_transfer returned %d", rc);
        if (total + (uint32_t)rc > cap)
            return fail(h, "test buffer too small");
        memcpy(out + total, buf, (size_t)rc);
        total += (uint32_t)rc;
        if (rc < xfer_size || total >= limit)
            break;
    }
    if (abort_to_idle(h) < 0)
        return -1;
    return (int)total;
}

int du_download_dfuse_file(struct hm_host *h, uint16_t xfer_size, const char *layout,
                           const struct hm_element *els, int count, int do_leave)
{
    struct hm_seg segs[32];
    int n = hm_parse_layout(layout, segs, 32), i;
    if (n < 1)
        return fail(h, "Failed to parse memory layout");
    /* one target for alt 0: "Setting Alternate Interface #0" */
    if (udfu_dfu_set_alt(&h->dev->dfu, 0) < 0)
        return fail(h, "Cannot set alternate interface");
    cf_pump(h->dev);
    for (i = 0; i < count; i++)
        if (dnload_element(h, segs, n, els[i].addr, els[i].size, els[i].data, xfer_size) < 0)
            return -1;
    if (abort_to_idle(h) < 0)
        return -1;
    /* the file's first address is remembered, but not "present": the
     * leave goes without SET_ADDRESS */
    if (do_leave)
        return leave(h, segs, n, 0, els[0].addr);
    return 0;
}

int du_dfuse_command(struct hm_host *h, const char *layout, int mass_erase, int do_leave,
                     int addr_present, uint32_t addr)
{
    struct hm_seg segs[32];
    int n = hm_parse_layout(layout, segs, 32);
    if (n < 1)
        return fail(h, "Failed to parse memory layout");
    if (mass_erase && special(h, segs, n, 0, CMD_MASS_ERASE) < 0)
        return -1;
    /* "DfuSe command mode", then back to idle */
    if (abort_to_idle(h) < 0)
        return -1;
    if (do_leave)
        return leave(h, segs, n, addr_present, addr);
    return 0;
}

int du_detach(struct hm_host *h, int will_detach)
{
    struct hm_status st;
    int r = get_status(h, &st);
    if (r == HM_ERROR_PIPE) {
        st.status = UDFU_STATUS_OK; /* "assuming appIDLE" */
        st.poll = 0;
        st.state = ST_APP_IDLE;
    } else if (r < 0) {
        return fail(h, "error get_status: %d", r);
    }
    sleep_ms(h, st.poll);
    if (st.state != ST_APP_IDLE && st.state != ST_APP_DETACH)
        return fail(h, "WARNING: Device already in DFU mode? (bState=%d)", st.state);
    (void)detach_req(h, 1000); /* "error detaching" is only a warning */
    if (!will_detach)
        bus_reset(h);
    return 0;
}

/* ---- pydfu ------------------------------------------------------------------- */

/* ctrl_transfer raises on a stall: the script dies. */
static int py_get_status(struct hm_host *h)
{
    struct hm_status st;
    if (get_status(h, &st) != 6)
        return fail(h, "usb.core.USBError on GETSTATUS");
    return st.state;
}

static int py_check(struct hm_host *h, const char *stage, int expected)
{
    int s = py_get_status(h);
    if (s < 0)
        return -1;
    if (s != expected)
        return fail(h, "DFU: %s failed (state %d)", stage, s);
    return 0;
}

int py_init(struct hm_host *h)
{
    int attempt;
    for (attempt = 0; attempt < 4; attempt++) {
        int s = py_get_status(h);
        if (s < 0)
            return -1;
        if (s == ST_IDLE)
            break;
        if (s == ST_DNIDLE || s == ST_UPIDLE)
            (void)abort_req(h);
        else
            (void)clr_status(h);
    }
    return 0;
}

static int py_command(struct hm_host *h, const char *stage, const uint8_t *cmd, uint16_t len)
{
    if (dnload(h, len, 0, cmd) < 0)
        return fail(h, "usb.core.USBError on DNLOAD (%s)", stage);
    if (py_check(h, stage, ST_DNBUSY) < 0)
        return -1;
    return py_check(h, stage, ST_DNIDLE);
}

static int py_addr_command(struct hm_host *h, const char *stage, uint8_t op, uint32_t addr)
{
    uint8_t c[5] = {op, (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16),
                    (uint8_t)(addr >> 24)};
    return py_command(h, stage, c, 5);
}

int py_mass_erase(struct hm_host *h)
{
    static const uint8_t c[1] = {UDFU_DFUSE_CMD_ERASE};
    return py_command(h, "erase", c, 1);
}

static int py_write_memory(struct hm_host *h, uint16_t xfer_size, uint32_t addr,
                           const uint8_t *buf, uint32_t total)
{
    uint32_t done = 0;
    while (done < total) {
        uint32_t chunk = total - done < xfer_size ? total - done : xfer_size;
        if (py_addr_command(h, "set address", UDFU_DFUSE_CMD_SET_ADDRESS, addr + done) < 0)
            return -1;
        if (dnload(h, (uint16_t)chunk, 2, buf + done) < 0)
            return fail(h, "usb.core.USBError on DNLOAD (write memory)");
        if (py_check(h, "write memory", ST_DNBUSY) < 0 ||
            py_check(h, "write memory", ST_DNIDLE) < 0)
            return -1;
        done += chunk;
    }
    return 0;
}

int py_write_element(struct hm_host *h, uint16_t xfer_size, const char *layout, uint32_t addr,
                     const uint8_t *data, uint32_t size, int mass_erased)
{
    struct hm_seg segs[32];
    int n = hm_parse_layout(layout, segs, 32);
    if (n < 1)
        return fail(h, "layout not understood");
    while (size > 0) {
        uint32_t write_size = size;
        const struct hm_seg *seg = mass_erased ? NULL : hm_find_seg(segs, n, addr);
        if (seg) {
            uint32_t page_addr = addr & ~(seg->page - 1u);
            if (addr + write_size > page_addr + seg->page)
                write_size = page_addr + seg->page - addr;
            if (py_addr_command(h, "erase", UDFU_DFUSE_CMD_ERASE, page_addr) < 0)
                return -1;
        }
        if (py_write_memory(h, xfer_size, addr, data, write_size) < 0)
            return -1;
        data += write_size;
        addr += write_size;
        size -= write_size;
    }
    return 0;
}

int py_exit(struct hm_host *h)
{
    struct hm_status st;
    if (py_addr_command(h, "set address", UDFU_DFUSE_CMD_SET_ADDRESS, 0x08000000u) < 0)
        return -1;
    if (dnload(h, 0, 0, NULL) < 0)
        return fail(h, "usb.core.USBError on the zero-length DNLOAD");
    /* exceptions from here on are swallowed; a wrong state is printed */
    if (get_status(h, &st) == 6 && st.state != ST_MAN)
        snprintf(h->msg, sizeof h->msg, "Failed to reset device");
    return 0;
}

/* ---- trace ---------------------------------------------------------------------- */

int hm_count(const struct hm_host *h, uint8_t bm, uint8_t req)
{
    int i, n = 0;
    for (i = 0; i < h->ntr; i++)
        if (h->tr[i].req == req && (!bm || h->tr[i].bm == bm))
            n++;
    return n;
}

void hm_dump(const struct hm_host *h, int last)
{
    int i = h->ntr > last ? h->ntr - last : 0;
    fprintf(stderr, "    trace (last %d of %d):\n", h->ntr - i, h->ntr);
    for (; i < h->ntr; i++) {
        const struct hm_xfer *t = &h->tr[i];
        fprintf(stderr, "    t=%6u %02X %-9s wValue=%5u wLength=%4u -> %5d", (unsigned)t->at,
                t->bm, cf_req_name(t->req), t->value, t->length, t->result);
        if (t->req == UDFU_REQ_GETSTATUS && t->result == 6)
            fprintf(stderr, "  state %u status %u poll %u", t->state, t->status,
                    (unsigned)t->poll);
        if (t->req == UDFU_REQ_DNLOAD && t->value == 0 && t->length && t->length <= 5)
            fprintf(stderr, "  cmd 0x%02X", t->first);
        fprintf(stderr, "\n");
    }
}
