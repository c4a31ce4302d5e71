/*
 * fuzz_usbd.c - libFuzzer harness: the USB device core (usbd) with the DFU
 * class behind it, or the run-time class, driven through a fake controller
 * the way a USB host would: SETUP packets of any kind, data stages cut
 * short, oversized or never sent, status stages that never come, bus
 * resets, time.
 *
 * Besides the DFU invariants of fuzz_dev.c, the controller checks usbd's
 * own contract: exactly one answer per SETUP, never more IN data than
 * wLength, a zero-length packet exactly when one is needed, IN data that
 * stays unchanged until its status stage, OUT data stages only for DNLOAD
 * and only as long as the transfer buffer, SET_ADDRESS applied only after
 * its status stage, descriptors whose lengths agree with what was sent,
 * and no class state change from requests that are not the class's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_dev.h"
#include "udfu_usbd.h"
#include "udfu_util.h"

enum { A_NONE, A_IN, A_OUT, A_ACK, A_STALL };

struct port {
    struct udfu_usbd usbd;
    struct udfu_usbd_cfg ucfg;
    struct udfu_rt rt;
    struct udfu_rt_cfg rcfg;
    int rt_mode;

    /* what usbd asked of the controller during the last event */
    int answers, last;
    const uint8_t *in_data;
    uint16_t in_len;
    int in_zlp;
    uint8_t in_snap[UDFU_CFG_USBD_BUF > FZ_XFER_MAX ? UDFU_CFG_USBD_BUF : FZ_XFER_MAX];
    uint8_t *out_buf;
    uint16_t out_len;
    int addr_calls;
    int addr_applied;

    /* transfer state as the host sees it */
    struct udfu_setup req;
    int in_pending;     /* IN data not yet taken by the host */
    int out_pending;    /* OUT data stage asked for, not sent yet */
    int status_pending; /* status stage not done yet */
    int expect_address; /* a SET_ADDRESS is waiting for its status stage */
    unsigned resets;

    /* run-time mode */
    int detach_ok;      /* a DETACH was accepted since the last detach() */
    int detached;
};

static struct port P;

/* ---- the fake controller ------------------------------------------------------ */

static void answer(int a)
{
    P.answers++;
    P.last = a;
}

static void dcd_in(void *ctx, const uint8_t *data, uint16_t len, int zlp)
{
    (void)ctx;
    answer(A_IN);
    FZ_CHECK(len <= P.req.wLength, "IN data stage of %u bytes for wLength %u", len,
             P.req.wLength);
    FZ_CHECK(len <= sizeof P.in_snap, "IN data stage of %u bytes", len);
    FZ_CHECK(len == 0 || data != NULL, "IN data stage from NULL");
    /* The host reads this later: it must not change before then. */
    memcpy(P.in_snap, data, len);
    P.in_data = data;
    P.in_len = len;
    P.in_zlp = zlp;
}

static void dcd_out(void *ctx, uint8_t *buf, uint16_t len)
{
    (void)ctx;
    answer(A_OUT);
    P.out_buf = buf;
    P.out_len = len;
}

static void dcd_ack(void *ctx)
{
    (void)ctx;
    answer(A_ACK);
}

static void dcd_stall(void *ctx)
{
    (void)ctx;
    answer(A_STALL);
}

static void dcd_set_address(void *ctx, uint8_t addr)
{
    (void)ctx;
    FZ_CHECK(P.expect_address, "set_address(%u) outside a SET_ADDRESS status stage", addr);
    FZ_CHECK(addr <= 127, "set_address(%u)", addr);
    P.addr_calls++;
    P.addr_applied = addr;
}

static const struct udfu_dcd dcd = {dcd_in, dcd_out, dcd_ack, dcd_stall, dcd_set_address};

/* ---- checks of usbd's answers ---------------------------------------------------- */

static uint8_t ep0_size(void)
{
    return P.ucfg.ep0_size ? P.ucfg.ep0_size : 64;
}

static void check_zlp(void)
{
    uint16_t len = P.in_len, want = P.req.wLength;
    int need = len && len < want && len % ep0_size() == 0;
    FZ_CHECK(P.in_zlp == need, "zlp %d for %u of %u bytes (ep0 %u)", P.in_zlp, len, want,
             ep0_size());
}

static void check_len(uint16_t len, unsigned whole)
{
    unsigned want = whole < P.req.wLength ? whole : P.req.wLength;
    FZ_CHECK(len == want, "descriptor reply of %u bytes, expected %u", len, want);
}

/* GET_DESCRIPTOR replies: header and total length agree with what was sent. */
static void check_descriptor(const uint8_t *d, uint16_t len)
{
    uint8_t type = (uint8_t)(P.req.wValue >> 8);
    if (len == 0)
        return;
    if (len >= 2)
        FZ_CHECK(d[1] == type || (type == 0x21 && d[1] == 0x21), "descriptor type %u for %u",
                 d[1], type);
    switch (type) {
    case 1:
        FZ_CHECK(d[0] == 18, "device descriptor bLength %u", d[0]);
        check_len(len, 18);
        break;
    case 2:
    case 0x0F:
        if (len >= 4)
            check_len(len, udfu_get16(d + 2));
        if (len >= 4 && len == udfu_get16(d + 2)) {
            /* The descriptors inside tile the total exactly. */
            unsigned off = 0;
            while (off < len) {
                FZ_CHECK(d[off] >= 2 && off + d[off] <= len, "descriptor at %u overruns", off);
                off += d[off];
            }
        }
        break;
    case 3:
        FZ_CHECK(d[0] >= 2 && d[0] % 2 == 0, "string descriptor bLength %u", d[0]);
        check_len(len, d[0]);
        break;
    case 0x21:
        FZ_CHECK(d[0] == 9, "functional descriptor bLength %u", d[0]);
        check_len(len, 9);
        break;
    default:
        fz_fail("descriptor type %u answered", type);
    }
}

static int is_class(const struct udfu_setup *s)
{
    return (s->bmRequestType & 0x60) == 0x20;
}

/* Descriptors are built in usbd's own buffer (or, UDFU_CFG_USBD_BUF 0, in
 * the class buffer it borrows while no download data waits there: the
 * taken-data check of prog() catches a borrow at the wrong time), the
 * small replies come from its state or from flash. */
static void check_standard_in(const struct fz *z, const struct udfu_setup *s, const uint8_t *d,
                              uint16_t len)
{
    const uint8_t *u = (const uint8_t *)&P.usbd;
    int desc = s->bRequest == 6 || (s->bmRequestType & 0x60) == 0x40;
#if UDFU_CFG_USBD_BUF
    if (desc)
        FZ_CHECK(d >= P.usbd.buf && d + len <= P.usbd.buf + sizeof P.usbd.buf,
                 "descriptor reply outside usbd's buffer");
#else
    if (desc)
        FZ_CHECK(fz_in_buf(z, d, len), "descriptor reply outside the borrowed class buffer");
#endif
    if (s->bRequest == 8 || s->bRequest == 10)
        FZ_CHECK(len <= 1 && d >= u && d < u + sizeof P.usbd, "state reply not from usbd");
    FZ_CHECK(desc || !len || !fz_in_buf(z, d, 1), "standard reply from the class buffer");
    if ((s->bmRequestType & 0x60) == 0x40) { /* the MS OS 2.0 descriptor set */
        if (len >= 10)
            check_len(len, udfu_get16(d + 8));
        return;
    }
    switch (s->bRequest) {
    case 0: check_len(len, 2); break;
    case 6: check_descriptor(d, len); break;
    case 8:
        check_len(len, 1);
        FZ_CHECK(len == 0 || d[0] == P.usbd.configuration, "GET_CONFIGURATION %u", d[0]);
        break;
    case 10:
        check_len(len, 1);
        FZ_CHECK(len == 0 || d[0] == P.usbd.alt, "GET_INTERFACE %u", d[0]);
        break;
    default:
        fz_fail("IN data for standard request %u", s->bRequest);
    }
}

static void check_rt_in(const struct udfu_setup *s, const uint8_t *d, uint16_t len)
{
    uint8_t st = udfu_rt_state(&P.rt);
    FZ_CHECK(s->bmRequestType == UDFU_RT_IN && s->wIndex == 0, "run-time class answered %02x",
             s->bmRequestType);
    if (s->bRequest == UDFU_REQ_GETSTATUS) {
        FZ_CHECK(len <= 6, "run-time GETSTATUS of %u bytes", len);
        FZ_CHECK(len < 5 || d[4] == st, "run-time GETSTATUS bState %u, state %u", d[4], st);
        FZ_CHECK(len < 1 || d[0] == 0, "run-time bStatus %u", d[0]);
    } else {
        FZ_CHECK(s->bRequest == UDFU_REQ_GETSTATE, "run-time IN request %u answered",
                 s->bRequest);
        FZ_CHECK(len <= 1 && (len == 0 || d[0] == st), "run-time GETSTATE");
    }
}

/* ---- the port: a control transfer through usbd ----------------------------------- */

static void call_setup(struct fz *z, const uint8_t raw[8])
{
    P.answers = 0;
    P.last = A_NONE;
    P.in_pending = P.out_pending = P.status_pending = 0;
    P.expect_address = 0;
    udfu_setup_parse(&P.req, raw);
    z->in_isr = 1;
    udfu_usbd_setup(&P.usbd, raw);
    z->in_isr = 0;
    fz_trace(z, "usbd SETUP %02x %02x %02x%02x %02x%02x %02x%02x -> %d", raw[0], raw[1], raw[3],
             raw[2], raw[5], raw[4], raw[7], raw[6], P.last);
    FZ_CHECK(P.answers == 1, "%d answers to one SETUP", P.answers);
}

static void status_done(struct fz *z)
{
    int std_address = P.req.bmRequestType == 0x00 && P.req.bRequest == 5;
    if (P.in_pending) {
        /* The host takes the IN data now: it must still be what was given. */
        FZ_CHECK(memcmp(P.in_data, P.in_snap, P.in_len) == 0,
                 "IN data changed before the host read it");
        P.in_pending = 0;
    }
    P.status_pending = 0;
    P.expect_address = std_address && P.last != A_STALL;
    fz_trace(z, "usbd status done");
    z->in_isr = 1;
    udfu_usbd_status_done(&P.usbd);
    z->in_isr = 0;
    if (P.expect_address)
        FZ_CHECK(P.addr_calls == 1 && P.addr_applied == P.req.wValue,
                 "SET_ADDRESS %u not applied", P.req.wValue);
    P.expect_address = 0;
    P.addr_calls = 0;
}

static int out_stage(struct fz *z, const struct fz_xfer *x)
{
    uint32_t copy = x->out_sent < P.out_len ? x->out_sent : P.out_len;
    uint16_t told = x->out_sent > 0xFFFFu ? 0xFFFFu : (uint16_t)x->out_sent;
    int busy = udfu_dfu_busy(&z->dfu);
    FZ_CHECK(fz_in_buf(z, P.out_buf, P.out_len) && P.out_len <= z->cfg.transfer_size,
             "OUT data stage of %u bytes not into the transfer buffer", P.out_len);
    memcpy(P.out_buf, x->out, copy);
    P.answers = 0;
    z->in_isr = 1;
    udfu_usbd_out_done(&P.usbd, told);
    z->in_isr = 0;
    FZ_CHECK(P.answers == 1 && (P.last == A_ACK || P.last == A_STALL),
             "OUT data stage answered %d times (last %d)", P.answers, P.last);
    if (x->out_sent != P.out_len) {
        fz_check_bad_data(z, P.last == A_STALL ? -1 : 0, busy);
        return -1;
    }
    if (P.last == A_ACK)
        fz_data_taken(z, P.out_len);
    return P.last == A_STALL ? -1 : 0;
}

static void check_class(struct fz *z, const struct udfu_setup *s, int configured,
                        uint8_t st, uint8_t status)
{
    int n = P.last == A_STALL ? -1 : P.last == A_IN ? P.in_len : P.last == A_OUT ? P.out_len : 0;
    if (!configured || (s->bmRequestType & 0x1F) != 1 || s->wIndex != 0) {
        /* usbd keeps it from the class */
        FZ_CHECK(P.last == A_STALL, "class request %02x/%u answered while not for the class",
                 s->bmRequestType, s->bRequest);
        FZ_CHECK(udfu_dfu_state(&z->dfu) == st && udfu_dfu_status(&z->dfu) == status,
                 "class request usbd refused changed the class state");
        return;
    }
    if (s->bmRequestType & 0x80)
        fz_after_in(z, s, P.in_data, n);
    else
        fz_after_out(z, s, P.out_buf, n);
}

static int port_xfer(struct fz *z, const struct fz_xfer *x)
{
    struct udfu_setup s;
    int configured = P.usbd.configuration != 0, n;
    uint8_t st = udfu_dfu_state(&z->dfu), status = udfu_dfu_status(&z->dfu), alt = z->dfu.alt;
    udfu_setup_parse(&s, x->setup);
    fz_before_setup(z);
    call_setup(z, x->setup);
    if (is_class(&s)) {
        check_class(z, &s, configured, st, status);
    } else if (!((s.bmRequestType & 0x60) == 0 && (s.bRequest == 9 || s.bRequest == 11))) {
        /* Only SET_CONFIGURATION and SET_INTERFACE may touch the class. */
        FZ_CHECK(udfu_dfu_state(&z->dfu) == st && udfu_dfu_status(&z->dfu) == status &&
                     z->dfu.alt == alt,
                 "standard request %u changed the class state", s.bRequest);
        if (P.last == A_IN)
            check_standard_in(z, &s, P.in_data, P.in_len);
    }
    FZ_CHECK(P.last != A_OUT || (is_class(&s) && s.bRequest == UDFU_REQ_DNLOAD),
             "OUT data stage for request %02x/%u", s.bmRequestType, s.bRequest);
    switch (P.last) {
    case A_STALL:
        return -1;
    case A_IN:
        check_zlp();
        if (is_class(&s) && P.in_len)
            memcpy(z->in, P.in_data, P.in_len);
        P.in_pending = 1;
        P.status_pending = 1;
        n = P.in_len;
        break;
    case A_OUT:
        n = P.out_len;
        P.out_pending = 1;
        if (x->stage == FZ_NO_DATA)
            return n;
        P.out_pending = 0;
        if (out_stage(z, x) < 0)
            return -1;
        P.status_pending = 1;
        break;
    default:
        n = 0;
        P.status_pending = 1;
        break;
    }
    if (x->stage == FZ_FULL)
        status_done(z);
    return n;
}

static void enumerate(struct fz *z)
{
    struct fz_xfer x;
    memset(&x, 0, sizeof x);
    x.stage = FZ_FULL;
    x.setup[1] = 5;   /* SET_ADDRESS 9 */
    x.setup[2] = 9;
    z->port->xfer(z, &x);
    x.setup[1] = 9;   /* SET_CONFIGURATION 1 */
    x.setup[2] = 1;
    z->port->xfer(z, &x);
    FZ_CHECK(P.usbd.configuration == 1, "SET_CONFIGURATION 1 failed");
}

static void port_reset(struct fz *z)
{
    P.in_pending = P.out_pending = P.status_pending = 0;
    P.answers = 0;
    z->in_isr = 1;
    udfu_usbd_bus_reset(&P.usbd);
    z->in_isr = 0;
    FZ_CHECK(P.answers == 0, "bus reset answered a transfer");
    FZ_CHECK(P.usbd.configuration == 0 && P.usbd.address == 0, "bus reset kept the config");
    /* Most resets are followed by enumeration; some are not. */
    if (++P.resets % 4 || z->recovering)
        enumerate(z);
}

static int port_set_alt(struct fz *z, uint8_t alt)
{
    struct fz_xfer x;
    memset(&x, 0, sizeof x);
    x.stage = FZ_FULL;
    x.setup[0] = 0x01;
    x.setup[1] = 11;
    x.setup[2] = alt;
    return z->port->xfer(z, &x) < 0 ? -1 : 0;
}

static void port_task(struct fz *z)
{
    udfu_usbd_task(&P.usbd, z->now);
}

/* 0, or -1: the configuration is not served. A usbd that borrows the class
 * buffer (UDFU_CFG_USBD_BUF 0) needs every descriptor to fit in it; init
 * would refuse (and assert) below 256 bytes, the largest set here. */
static int usbd_init(struct fz *z, uint8_t b)
{
    static const uint8_t ep0[4] = {0, 8, 16, 32};
    memset(&P.ucfg, 0, sizeof P.ucfg);
    P.ucfg.dcd = &dcd;
    P.ucfg.context = &P;
    P.ucfg.vid = 0x0483;
    P.ucfg.pid = 0xDF11;
    P.ucfg.bcd_device = 0x0200;
    P.ucfg.manufacturer = (b & 0x04) ? NULL : "udfu";
    P.ucfg.product = (b & 0x08) ? NULL
                                : "A product name long enough to be cut short at the 126 "
                                  "characters a string descriptor can hold, which it is, "
                                  "easily, with room to spare";
    P.ucfg.serial = "0123456789AB";
    P.ucfg.ep0_size = ep0[b & 3];
    P.ucfg.self_powered = (b >> 4) & 1;
    P.ucfg.max_power_ma = (b & 0x20) ? 500 : 0;
    P.ucfg.ms_vendor_code = (b & 0x40) ? 0 : 0x20;
    P.ucfg.ms_guid = (b & 0x80) ? NULL : "{8FE6D4D7-49DD-41E7-9486-49AFC6BFE475}";
    if (P.rt_mode) {
        P.ucfg.rt = &P.rt;
        P.ucfg.rt_name = "DFU run-time";
    } else {
        P.ucfg.dfu = &z->dfu;
    }
    if (!UDFU_CFG_USBD_BUF && z->cfg.transfer_size < 256)
        return -1;
    FZ_CHECK(udfu_usbd_init(&P.usbd, &P.ucfg) == 0, "udfu_usbd_init failed");
    return 0;
}

static uint8_t usbd_cfg_byte;

static void port_reboot(struct fz *z)
{
    fz_dfu_init(z);
    (void)usbd_init(z, usbd_cfg_byte); /* served before, so served again */
    P.in_pending = P.out_pending = P.status_pending = 0;
    enumerate(z);
}

static void port_stray_data(struct fz *z, uint16_t len)
{
    int pending = P.out_pending;
    P.answers = 0;
    if (pending) {
        uint32_t copy = len < P.out_len ? len : P.out_len;
        memset(P.out_buf, 0x5A, copy);
        P.out_pending = 0;
    }
    z->in_isr = 1;
    udfu_usbd_out_done(&P.usbd, len);
    z->in_isr = 0;
    if (!pending) {
        FZ_CHECK(P.answers == 0, "OUT data with no data stage answered");
        return;
    }
    FZ_CHECK(P.answers == 1, "late OUT data stage answered %d times", P.answers);
    if (len != P.out_len)
        FZ_CHECK(P.last == A_STALL, "late OUT data of the wrong length accepted");
    else if (P.last == A_ACK)
        fz_data_taken(z, len);
    P.status_pending = P.last == A_ACK;
}

static void port_stray_status(struct fz *z)
{
    int pending = P.status_pending;
    P.answers = 0;
    if (pending) {
        status_done(z);
    } else {
        z->in_isr = 1;
        udfu_usbd_status_done(&P.usbd);
        z->in_isr = 0;
    }
    FZ_CHECK(P.answers == 0, "status stage answered");
}

/* A standard (or the Microsoft vendor) request with fields that matter. */
static void std_setup(struct fz *z, struct fz_in *in, struct fz_xfer *x)
{
    static const uint8_t types[8] = {1, 2, 3, 6, 7, 0x0F, 0x21, 0};
    static const uint16_t lens[8] = {0xFF, 0xFFFF, 8, 9, 18, 64, 2, 0};
    uint8_t b = fz_u8(in), c = fz_u8(in), req = b & 15, rt = 0;
    uint16_t value = 0, index = 0, len = lens[c & 7];
    if (!len)
        len = fz_u16(in);
    switch (req) {
    case 0: rt = 0x80 | (c >> 6); break; /* GET_STATUS device/interface/endpoint */
    case 6:
    case 7:
    case 15:
        req = 6;
        rt = (c & 0x08) ? 0x81 : 0x80;
        value = (uint16_t)(types[(c >> 4) & 7] << 8 | (b >> 4));
        if (!types[(c >> 4) & 7])
            value = fz_u16(in);
        index = (c & 0x80) ? 0x0409 : 0;
        break;
    case 8: rt = 0x80; break;
    case 10: rt = 0x81; break;
    case 12: /* MS OS 2.0 descriptor set */
        rt = 0xC0;
        req = 0x20;
        index = UDFU_USBD_MSOS20_INDEX;
        break;
    case 13: /* ENDPOINT_HALT of EP0 or not */
        rt = 0x02;
        req = (c & 1) ? 1 : 3;
        index = (c & 2) ? 0x80 : (uint16_t)(c >> 2);
        break;
    default: /* SET_ADDRESS, SET_CONFIGURATION, SET_INTERFACE ... */
        rt = (req == 11) ? 0x01 : 0x00;
        value = (b & 0x80) ? fz_u16(in) : (uint16_t)(b >> 4);
        len = 0;
        break;
    }
    if ((c & 0x30) == 0x30 && req != 6)
        rt ^= 0x80; /* the wrong direction */
    x->setup[0] = rt;
    x->setup[1] = req;
    udfu_put16(x->setup + 2, value);
    udfu_put16(x->setup + 4, index);
    udfu_put16(x->setup + 6, len);
    fz_pick_stage(in, x, len);
    (void)z;
}

static void port_extra(struct fz *z, struct fz_in *in)
{
    struct fz_xfer x;
    if (z->rebooted)
        port_reboot(z);
    std_setup(z, in, &x);
    port_xfer(z, &x);
    fz_check_state(z);
}

static const struct fz_port port = {
    port_xfer, port_reset, port_set_alt, port_task, port_reboot, port_stray_data,
    port_stray_status, port_extra,
};

/* ---- run-time mode ---------------------------------------------------------------- */

static void rt_detach(void *ctx)
{
    (void)ctx;
    FZ_CHECK(P.detach_ok, "detach() without an accepted DETACH");
    P.detach_ok = 0;
    P.detached++;
}

static void rt_xfer(struct fz *z, const uint8_t raw[8], int full)
{
    struct udfu_setup s;
    uint8_t st = udfu_rt_state(&P.rt);
    udfu_setup_parse(&s, raw);
    call_setup(z, raw);
    FZ_CHECK(P.last != A_OUT, "OUT data stage in run-time mode");
    if (is_class(&s)) {
        if (P.last == A_IN)
            check_rt_in(&s, P.in_data, P.in_len);
        if (P.last == A_ACK && (s.bmRequestType & 0x80)) {
            /* a status query with wLength 0 */
            FZ_CHECK(s.wLength == 0, "run-time IN request answered with no data");
            check_rt_in(&s, NULL, 0);
        } else if (P.last == A_ACK) {
            FZ_CHECK(s.bRequest == UDFU_REQ_DETACH && st == UDFU_APP_IDLE,
                     "run-time class acknowledged request %u in state %u", s.bRequest, st);
            P.detach_ok = 1;
        }
    } else if (P.last == A_IN) {
        check_standard_in(z, &s, P.in_data, P.in_len);
    }
    if (P.last == A_IN)
        check_zlp();
    P.in_pending = P.last == A_IN;
    P.status_pending = P.last == A_IN || P.last == A_ACK;
    if (full && P.status_pending)
        status_done(z);
}

static void rt_run(struct fz *z, struct fz_in *in)
{
    int steps = 0;
    uint8_t raw[8];
    int i;
    while (in->n && steps++ < 4096) {
        uint8_t op = fz_u8(in);
        switch (op % 10) {
        case 0:
        case 1:
            for (i = 0; i < 8; i++)
                raw[i] = fz_u8(in);
            rt_xfer(z, raw, op & 0x80);
            break;
        case 2: /* a DFU class request, well formed but for the direction bit */
            raw[1] = fz_u8(in) % 8;
            raw[0] = (raw[1] == 3 || raw[1] == 5) ? 0xA1 : 0x21;
            if (op & 0x40)
                raw[0] ^= 0x80;
            udfu_put16(raw + 2, fz_u16(in));
            udfu_put16(raw + 4, 0);
            udfu_put16(raw + 6, (raw[0] & 0x80) ? fz_u8(in) : 0);
            rt_xfer(z, raw, !(op & 0x80));
            break;
        case 3:
            P.answers = 0;
            P.in_pending = P.out_pending = P.status_pending = 0;
            fz_trace(z, "usbd bus reset");
            udfu_usbd_bus_reset(&P.usbd);
            FZ_CHECK(P.answers == 0, "bus reset answered a transfer");
            if (op & 0x80)
                enumerate(z);
            break;
        case 4:
            z->now += (op & 0x80) ? fz_u16(in) : fz_u8(in);
            udfu_usbd_task(&P.usbd, z->now);
            break;
        case 5:
            port_stray_status(z);
            break;
        case 6:
            port_stray_data(z, fz_u8(in));
            break;
        case 7:
            enumerate(z);
            break;
        default: {
            struct fz_xfer x;
            std_setup(z, in, &x);
            rt_xfer(z, x.setup, x.stage == FZ_FULL);
            break;
        }
        }
        FZ_CHECK(udfu_rt_state(&P.rt) <= UDFU_APP_DETACH, "run-time state %u",
                 udfu_rt_state(&P.rt));
    }
}

static void rt_setup(struct fz *z)
{
    memset(&P.rcfg, 0, sizeof P.rcfg);
    P.rcfg.context = &P;
    P.rcfg.attributes = usbd_cfg_byte & 0x0F;
    P.rcfg.detach_timeout_ms = 1000;
    P.rcfg.transfer_size = 1024;
    P.rcfg.detach = rt_detach;
    FZ_CHECK(udfu_rt_init(&P.rt, &P.rcfg) == 0, "udfu_rt_init failed");
    (void)usbd_init(z, usbd_cfg_byte);
}

/* ---- entry -------------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz z;
    struct fz_in in;
    uint8_t mode;
    in.p = data;
    in.n = size;
    if (size < 2)
        return 0;
    memset(&P, 0, sizeof P);
    mode = fz_u8(&in);
    usbd_cfg_byte = fz_u8(&in);
    P.rt_mode = UDFU_CFG_USBD_RT && (mode & 1);
    if (fz_init(&z, &port, &P, &in) < 0)
        return 0;
    if (P.rt_mode) {
        rt_setup(&z);
        if (mode & 2)
            enumerate(&z);
        rt_run(&z, &in);
    } else {
        if (usbd_init(&z, usbd_cfg_byte) < 0) {
            fz_free(&z);
            return 0;
        }
        if (!(mode & 2))
            enumerate(&z);
        fz_run(&z, &in);
    }
    fz_free(&z);
    return 0;
}
