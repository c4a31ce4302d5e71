/*
 * fuzz_usbip.c - libFuzzer harness: the USB/IP server's byte-stream parser
 * (ports/usbip/usbip.c) over in-memory connections.
 *
 * The input is decoded into client actions on up to USBIP_MAX_CONNS
 * connections: OP_REQ_DEVLIST, OP_REQ_IMPORT (right or wrong bus ID, bad
 * version), CMD_SUBMIT and CMD_UNLINK with every header field chosen,
 * unknown commands and raw bytes, each fed in fragments; and device actions:
 * completing the URB it holds (any status, actual length beyond the
 * buffer), disconnecting, refusing an import. A model of what the server
 * must answer follows along, and every reply is parsed and checked against
 * it: replies in submission order, each URB answered once, an unlinked URB
 * never answered, IN data exactly `actual` bytes and never more than asked,
 * malformed clients dropped, the device given one URB at a time and told
 * to forget every URB it holds before the session ends. LeakSanitizer
 * checks that nothing is leaked when the server closes.
 */
#include "fuzz_in.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usbip.h"

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "\n*** usbip invariant violated: " __VA_ARGS__);               \
            fprintf(stderr, "\n");                                                         \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#define MAX_MODEL_URBS 96
#define BUSID "1-1"


/* The client's view of one URB it submitted. */
struct murb {
    uint32_t seq, dir, len;
    int done;      /* the device completed it */
    int32_t status;
    uint32_t actual;
    uint8_t fill;  /* IN data the device wrote: all bytes = fill */
};

/* The client's view of one connection. */
struct mconn {
    int open;      /* adopted and not known to be closed */
    int phase;     /* what the model expects: OP, URB or CLOSING */
    int tainted;   /* raw bytes were sent: replies can no longer be predicted */
    struct murb urbs[MAX_MODEL_URBS]; /* submitted, not answered, oldest first */
    int nurbs;
    /* replies expected that are not about URBs, in order */
    uint32_t unlink_seq[MAX_MODEL_URBS];
    int32_t unlink_status[MAX_MODEL_URBS];
    int nunlinks;
    int op_reply;  /* expect an OP reply: 1 devlist, 2 import ok, 3 import refused */
};

static struct usbip_server S;
static struct mconn M[USBIP_MAX_CONNS];
static int ids[USBIP_MAX_CONNS];

/* ---- the device ------------------------------------------------------------------ */

static struct {
    struct usbip_urb *held;   /* the URB the device has started */
    int refuse_attach;
    int attached;
    int complete_now;         /* complete URBs inside submit() */
    int disconnect_in_submit;
    int32_t status;
    uint32_t actual;
    uint8_t fill;
    unsigned submits;
} D;

static struct mconn *session_model(void)
{
    int i;
    for (i = 0; i < USBIP_MAX_CONNS; i++)
        if (ids[i] >= 0 && M[i].open && M[i].phase == USBIP_CONN_URB)
            return &M[i];
    return NULL;
}

static void dev_info(void *ctx, struct usbip_dev_info *info)
{
    (void)ctx;
    memset(info->path, 'p', sizeof info->path); /* not NUL-terminated on purpose */
    info->busnum = 1;
    info->devnum = 2;
    info->speed = USBIP_SPEED_FULL;
    info->vid = 0x0483;
    info->pid = 0xDF11;
    info->num_configs = 1;
    info->num_interfaces = 200; /* more than the record can carry: clamped */
}

static int dev_attach(void *ctx)
{
    (void)ctx;
    CHECK(!D.attached, "attach() while a session is running");
    if (D.refuse_attach)
        return -1;
    D.attached = 1;
    return 0;
}

static void dev_detach(void *ctx)
{
    (void)ctx;
    CHECK(D.attached, "detach() without a session");
    CHECK(D.held == NULL, "detach() while the device still holds an URB");
    D.attached = 0;
}

/* Records the completion in the model (the client will see it). */
static void model_complete(const struct usbip_urb *u, int32_t status, uint32_t actual,
                           uint8_t fill)
{
    struct mconn *m = session_model();
    int i;
    if (!m)
        return;
    for (i = 0; i < m->nurbs; i++) {
        if (m->urbs[i].seq == u->seqnum && !m->urbs[i].done) {
            m->urbs[i].done = 1;
            m->urbs[i].status = status;
            m->urbs[i].actual = actual < u->len ? actual : u->len;
            m->urbs[i].fill = fill;
            return;
        }
    }
}

static void dev_complete(void)
{
    struct usbip_urb *u = D.held;
    if (!u)
        return;
    D.held = NULL;
    if (u->dir == USBIP_DIR_IN)
        memset(u->data, D.fill, u->len);
    model_complete(u, D.status, D.actual, D.fill);
    usbip_server_complete(&S, u, D.status, D.actual);
}

static void dev_submit(void *ctx, struct usbip_urb *u)
{
    uint32_t i, sum = 0;
    (void)ctx;
    CHECK(D.attached, "submit() outside a session");
    CHECK(D.held == NULL, "a second URB submitted while one is in the device");
    CHECK(u->dir <= USBIP_DIR_IN && u->ep <= 15 && u->len <= USBIP_MAX_URB_LEN,
          "submit() of a malformed URB (dir %u ep %u len %u)", u->dir, u->ep, u->len);
    for (i = 0; i < u->len; i++) /* every byte readable (ASan) */
        sum += u->data[i];
    (void)sum;
    D.held = u;
    D.submits++;
    if (D.disconnect_in_submit) {
        struct mconn *m = session_model();
        D.disconnect_in_submit = 0;
        usbip_server_disconnect(&S);
        CHECK(D.held == NULL, "disconnect left an URB in the device");
        D.attached = 0;
        if (m) {
            m->phase = USBIP_CONN_CLOSING;
            m->tainted = 1;
        }
        return;
    }
    if (D.complete_now)
        dev_complete();
}

static void dev_unlink(void *ctx, struct usbip_urb *u)
{
    (void)ctx;
    CHECK(u == D.held, "unlink() of an URB the device does not hold");
    D.held = NULL;
}

static const struct usbip_dev_ops ops = {dev_info, dev_attach, dev_detach, dev_submit,
                                         dev_unlink};

/* ---- replies ------------------------------------------------------------------------ */

static uint8_t outbuf[USBIP_HDR_LEN + USBIP_MAX_URB_LEN + 4096];

static void close_model(struct mconn *m)
{
    m->open = 0;
    m->nurbs = 0;
    m->nunlinks = 0;
}

/* Parses the replies of connection i against the model. */
static void check_replies(int i, const uint8_t *p, size_t n)
{
    struct mconn *m = &M[i];
    while (n) {
        uint32_t cmd;
        if (m->tainted)
            return;
        if (m->op_reply) {
            size_t want = m->op_reply == 1   ? 12 + USBIP_DEV_REC_LEN + USBIP_MAX_INTF * 4
                          : m->op_reply == 2 ? USBIP_OP_HDR_LEN + USBIP_DEV_REC_LEN
                                             : USBIP_OP_HDR_LEN;
            CHECK(n >= want, "OP reply of %zu bytes, expected %zu", n, want);
            CHECK(usbip_get16(p) == USBIP_VERSION, "OP reply version");
            CHECK(usbip_get16(p + 2) == (m->op_reply == 1 ? USBIP_OP_REP_DEVLIST
                                                           : USBIP_OP_REP_IMPORT),
                  "OP reply code %04x", usbip_get16(p + 2));
            CHECK((usbip_get32(p + 4) == 0) == (m->op_reply != 3), "OP reply status %u",
                  usbip_get32(p + 4));
            if (m->op_reply == 1)
                CHECK(p[12 + 0x137] == USBIP_MAX_INTF && p[12 + 0xFF] == 0 &&
                          memcmp(p + 12 + 0x100, BUSID, sizeof BUSID) == 0,
                      "device record");
            m->op_reply = 0;
            p += want;
            n -= want;
            continue;
        }
        CHECK(n >= USBIP_HDR_LEN, "truncated reply (%zu bytes)", n);
        cmd = usbip_get32(p);
        if (cmd == USBIP_RET_UNLINK) {
            CHECK(m->nunlinks > 0, "RET_UNLINK nobody asked for");
            CHECK(usbip_get32(p + 4) == m->unlink_seq[0] &&
                      (int32_t)usbip_get32(p + 0x14) == m->unlink_status[0],
                  "RET_UNLINK seq %u status %d, expected %u %d", usbip_get32(p + 4),
                  (int32_t)usbip_get32(p + 0x14), m->unlink_seq[0], m->unlink_status[0]);
            memmove(m->unlink_seq, m->unlink_seq + 1, (size_t)--m->nunlinks * sizeof(uint32_t));
            memmove(m->unlink_status, m->unlink_status + 1,
                    (size_t)m->nunlinks * sizeof(int32_t));
            p += USBIP_HDR_LEN;
            n -= USBIP_HDR_LEN;
        } else {
            struct murb *u = &m->urbs[0];
            uint32_t actual, data, k;
            CHECK(cmd == USBIP_RET_SUBMIT, "reply command %u", cmd);
            CHECK(m->nurbs > 0 && u->done, "RET_SUBMIT for no completed URB");
            CHECK(usbip_get32(p + 4) == u->seq, "RET_SUBMIT seq %u, expected %u (order)",
                  usbip_get32(p + 4), u->seq);
            actual = usbip_get32(p + 0x18);
            CHECK((int32_t)usbip_get32(p + 0x14) == u->status && actual == u->actual,
                  "RET_SUBMIT status/actual");
            CHECK(actual <= u->len, "RET_SUBMIT actual %u > %u", actual, u->len);
            data = u->dir == USBIP_DIR_IN ? actual : 0;
            CHECK(n >= USBIP_HDR_LEN + data, "RET_SUBMIT data cut short");
            for (k = 0; k < data; k++)
                CHECK(p[USBIP_HDR_LEN + k] == u->fill, "RET_SUBMIT data byte %u", k);
            memmove(m->urbs, m->urbs + 1, (size_t)--m->nurbs * sizeof *u);
            p += USBIP_HDR_LEN + data;
            n -= USBIP_HDR_LEN + data;
        }
    }
}

/* Takes all pending output (replies may span several takes) and checks it. */
static void drain(int i)
{
    static uint8_t *all;
    static size_t cap;
    size_t n, len = 0;
    if (ids[i] < 0)
        return;
    while ((n = usbip_server_take(&S, ids[i], outbuf, sizeof outbuf)) > 0) {
        if (len + n > cap) {
            cap = 2 * (len + n);
            all = realloc(all, cap);
            CHECK(all != NULL, "out of memory");
        }
        memcpy(all + len, outbuf, n);
        len += n;
    }
    if (len)
        check_replies(i, all, len);
}

static void drain_all(void)
{
    int i;
    for (i = 0; i < USBIP_MAX_CONNS; i++)
        drain(i);
}

/* ---- client actions ----------------------------------------------------------------- */

static uint8_t msg[USBIP_HDR_LEN + USBIP_MAX_URB_LEN + 64];

/* Feeds len bytes of msg in fragments; returns the last feed's result. */
static int feed(struct fz_in *in, int i, size_t len)
{
    size_t off = 0;
    int r = 0;
    uint8_t parts = fz_u8(in) & 3;
    while (off < len && r == 0) {
        size_t n = len - off;
        if (parts && n > 1) {
            n = 1 + (size_t)(fz_u32(in) % n);
            parts--;
        }
        r = usbip_server_feed(&S, ids[i], msg + off, n);
        off += n;
    }
    return r;
}

/* A request the server must refuse by dropping the client. */
static void expect_drop(int i, int r)
{
    struct mconn *m = &M[i];
    CHECK(r < 0 && usbip_server_phase(&S, ids[i]) == USBIP_CONN_FREE,
          "malformed request did not drop the client");
    close_model(m);
}

static void act_op(struct fz_in *in, int i)
{
    struct mconn *m = &M[i];
    uint8_t b = fz_u8(in);
    size_t len = USBIP_OP_HDR_LEN;
    int r, busy, good_version = !(b & 0x80) || (b & 0x40);
    memset(msg, 0, USBIP_IMPORT_REQ_LEN);
    usbip_put16(msg, good_version ? USBIP_VERSION : (uint16_t)fz_u32(in));
    if (b & 1) {
        usbip_put16(msg + 2, USBIP_OP_REQ_IMPORT);
        len = USBIP_IMPORT_REQ_LEN;
        if (b & 2)
            memcpy(msg + 8, BUSID, sizeof BUSID);
        else
            memset(msg + 8, (b & 4) ? 0x31 : 0, USBIP_BUSID_LEN); /* unterminated or empty */
    } else {
        uint16_t code = (b & 2) ? USBIP_OP_REQ_DEVLIST : (uint16_t)fz_u32(in);
        if (code == USBIP_OP_REQ_IMPORT)
            code++; /* an import needs its 40 bytes: that is the other branch */
        usbip_put16(msg + 2, code);
    }
    D.refuse_attach = (b & 0x10) != 0;
    if (m->phase == USBIP_CONN_URB)
        m->tainted = 1; /* an OP request in URB traffic: a partial header */
    busy = usbip_server_attached(&S);
    r = feed(in, i, len);
    if (!m->tainted && m->phase == USBIP_CONN_OP) {
        uint16_t code = usbip_get16(msg + 2);
        if (!good_version && usbip_get16(msg) != USBIP_VERSION) {
            expect_drop(i, r);
        } else if (code == USBIP_OP_REQ_DEVLIST) {
            m->op_reply = 1;
            m->phase = USBIP_CONN_CLOSING;
        } else if (code == USBIP_OP_REQ_IMPORT) {
            int ok = (b & 2) && !busy && !D.refuse_attach;
            m->op_reply = ok ? 2 : 3;
            m->phase = ok ? USBIP_CONN_URB : USBIP_CONN_CLOSING;
        } else {
            expect_drop(i, r);
        }
        if (m->open)
            CHECK(usbip_server_phase(&S, ids[i]) == m->phase, "phase %d, expected %d",
                  usbip_server_phase(&S, ids[i]), m->phase);
    }
}

static void act_submit(struct fz_in *in, int i)
{
    struct mconn *m = &M[i];
    uint8_t b = fz_u8(in), c = fz_u8(in);
    uint32_t dir = (b & 1) ? USBIP_DIR_IN : USBIP_DIR_OUT, ep = 0, len, npk = 0, seq = fz_u32(in);
    size_t total;
    int r, bad;
    static const uint32_t lens[8] = {0, 6, 8, 64, 1024, 4096, USBIP_MAX_URB_LEN, 0};
    len = lens[(b >> 1) & 7];
    if (((b >> 1) & 7) == 7)
        len = (c & 1) ? USBIP_MAX_URB_LEN + 1 + (fz_u32(in) & 0xFFFF) : (fz_u32(in) & 0x1FFF);
    if (c & 2)
        dir = fz_u32(in);
    if (c & 4)
        ep = fz_u32(in) & 0x1F;
    if (c & 8)
        npk = (c & 0x10) ? 0xFFFFFFFFu : fz_u32(in);
    memset(msg, 0, USBIP_HDR_LEN);
    usbip_put32(msg, USBIP_CMD_SUBMIT);
    usbip_put32(msg + 4, seq);
    usbip_put32(msg + 8, 0x00010002);
    usbip_put32(msg + 0x0C, dir);
    usbip_put32(msg + 0x10, ep);
    usbip_put32(msg + 0x14, fz_u32(in));
    usbip_put32(msg + 0x18, len);
    usbip_put32(msg + 0x20, npk);
    msg[USBIP_SETUP_OFF] = dir == USBIP_DIR_IN ? 0xA1 : 0x21;
    msg[USBIP_SETUP_OFF + 1] = fz_u8(in);
    bad = dir > 1 || ep > 15 || len > USBIP_MAX_URB_LEN || (npk != 0 && npk != 0xFFFFFFFFu) ||
          m->nurbs >= USBIP_MAX_URBS;
    total = USBIP_HDR_LEN + (dir == USBIP_DIR_OUT && len <= USBIP_MAX_URB_LEN ? len : 0);
    memset(msg + USBIP_HDR_LEN, 0x77, total - USBIP_HDR_LEN);
    D.complete_now = (c & 0x20) != 0;
    D.disconnect_in_submit = (c & 0xC0) == 0xC0;
    D.status = (c & 0x40) ? USBIP_EPIPE : 0;
    D.actual = (b & 0x80) ? len + 7 : len / 2;
    D.fill = c;
    if (!m->tainted && m->phase == USBIP_CONN_URB && !bad) {
        /* the model learns of it before the device may complete it */
        struct murb *u = &m->urbs[m->nurbs++];
        memset(u, 0, sizeof *u);
        u->seq = seq;
        u->dir = dir;
        u->len = len;
    }
    r = feed(in, i, total);
    if (m->tainted || m->phase == USBIP_CONN_CLOSING)
        return;
    if (bad || m->phase == USBIP_CONN_OP) /* version 0: not an OP request */
        expect_drop(i, r);
}

static void act_unlink(struct fz_in *in, int i)
{
    struct mconn *m = &M[i];
    uint8_t b = fz_u8(in);
    uint32_t seq = fz_u32(in), victim;
    int32_t status = 0;
    int k;
    if (m->nurbs && (b & 1))
        victim = m->urbs[(b >> 1) % m->nurbs].seq;
    else
        victim = fz_u32(in);
    if (!m->tainted && m->phase == USBIP_CONN_URB) {
        /* the first URB with that seq that the device has not completed */
        for (k = 0; k < m->nurbs; k++) {
            if (m->urbs[k].seq == victim && !m->urbs[k].done) {
                memmove(&m->urbs[k], &m->urbs[k + 1], (size_t)(m->nurbs - k - 1) * sizeof m->urbs[0]);
                m->nurbs--;
                status = USBIP_ECONNRESET;
                break;
            }
        }
        m->unlink_seq[m->nunlinks] = seq;
        m->unlink_status[m->nunlinks++] = status;
    }
    memset(msg, 0, USBIP_HDR_LEN);
    usbip_put32(msg, USBIP_CMD_UNLINK);
    usbip_put32(msg + 4, seq);
    usbip_put32(msg + 0x14, victim);
    k = feed(in, i, USBIP_HDR_LEN);
    if (!m->tainted && m->phase == USBIP_CONN_OP)
        expect_drop(i, k);
}

static void act_raw(struct fz_in *in, int i)
{
    size_t n = fz_u8(in), k;
    for (k = 0; k < n && in->n; k++)
        msg[k] = fz_u8(in);
    M[i].tainted = 1;
    usbip_server_feed(&S, ids[i], msg, k);
}

/* A connection the server closed on its own is free in the model too. */
static void sync_model(void)
{
    int i;
    for (i = 0; i < USBIP_MAX_CONNS; i++) {
        if (ids[i] < 0)
            continue;
        drain(i);
        if (usbip_server_phase(&S, ids[i]) == USBIP_CONN_FREE) {
            close_model(&M[i]);
            ids[i] = -1;
        }
    }
    CHECK(usbip_server_attached(&S) == D.attached, "session %d, device attached %d",
          usbip_server_attached(&S), D.attached);
}

static void act_device(struct fz_in *in)
{
    uint8_t b = fz_u8(in);
    struct mconn *m = session_model();
    switch (b & 3) {
    case 0:
    case 1:
        D.status = (b & 4) ? (int32_t)fz_u32(in) : 0;
        D.actual = (b & 8) ? fz_u32(in) : 0xFFFFFFFFu;
        D.fill = b;
        dev_complete();
        break;
    case 2:
        /* The device drops off the bus: queued URBs get no reply. */
        usbip_server_disconnect(&S);
        if (m) {
            m->phase = USBIP_CONN_CLOSING;
            m->tainted = 1; /* completed URBs are still delivered: not modelled */
        }
        CHECK(D.held == NULL, "disconnect left an URB in the device");
        D.attached = 0;
        break;
    default:
        usbip_server_step(&S, 0);
        break;
    }
}

static void act_conn(struct fz_in *in)
{
    uint8_t b = fz_u8(in);
    int i = b % USBIP_MAX_CONNS;
    if (b & 0x80) {
        if (ids[i] >= 0) {
            drain(i);
            usbip_server_eof(&S, ids[i]);
            close_model(&M[i]);
            ids[i] = -1;
        }
        return;
    }
    if (ids[i] >= 0)
        return;
    ids[i] = usbip_server_adopt(&S, -1);
    if (ids[i] < 0)
        return;
    memset(&M[i], 0, sizeof M[i]);
    M[i].open = 1;
    M[i].phase = USBIP_CONN_OP;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in;
    int i, steps = 0;
    in.p = data;
    in.n = size;
    memset(&D, 0, sizeof D);
    memset(M, 0, sizeof M);
    for (i = 0; i < USBIP_MAX_CONNS; i++)
        ids[i] = -1;
    CHECK(usbip_server_init(&S, &ops, NULL, BUSID) == 0, "init");
    ids[0] = usbip_server_adopt(&S, -1);
    M[0].open = 1;
    M[0].phase = USBIP_CONN_OP;
    while (in.n && steps++ < 512) {
        uint8_t op = fz_u8(&in);
        int c = (op >> 4) % USBIP_MAX_CONNS;
        switch (op & 7) {
        case 0: act_conn(&in); break;
        case 1: case 2: if (ids[c] >= 0) act_op(&in, c); break;
        case 3: case 4: if (ids[c] >= 0) act_submit(&in, c); break;
        case 5: if (ids[c] >= 0) act_unlink(&in, c); break;
        case 6: act_device(&in); break;
        default: if (ids[c] >= 0) act_raw(&in, c); break;
        }
        sync_model();
    }
    drain_all();
    usbip_server_close(&S);
    CHECK(D.held == NULL && !D.attached, "server closed with the device still in a session");
    return 0;
}
