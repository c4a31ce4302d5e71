/*
 * usbip.c - the USB/IP protocol server (see usbip.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "usbip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP (USBIP_HDR_LEN + USBIP_MAX_URB_LEN)
/* Stop reading from a client whose replies pile up unread. */
#define OUT_BACKLOG (256u * 1024u)

#define LOG(s, lvl, ...)                                                                   \
    do {                                                                                   \
        if ((s)->verbose >= (lvl))                                                         \
            fprintf(stderr, "usbip: " __VA_ARGS__);                                        \
    } while (0)

uint64_t usbip_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int conn_id(const struct usbip_server *s, const struct usbip_conn *c)
{
    return (int)(c - s->conns);
}

/* ---- output ------------------------------------------------------------------ */

/* Room for n more output bytes, or NULL (out of memory). */
static uint8_t *out_reserve(struct usbip_conn *c, size_t n)
{
    struct usbip_buf *b = &c->out;
    uint8_t *p;

    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 1024;
        uint8_t *nd;

        while (cap - b->len < n)
            cap *= 2;
        nd = realloc(b->data, cap);
        if (!nd)
            return NULL;
        b->data = nd;
        b->cap = cap;
    }
    p = b->data + b->len;
    memset(p, 0, n);
    b->len += n;
    return p;
}

static size_t out_pending(const struct usbip_conn *c)
{
    return c->out.len - c->out_off;
}

static void out_consume(struct usbip_conn *c, size_t n)
{
    c->out_off += n;
    if (c->out_off == c->out.len)
        c->out_off = c->out.len = 0;
}

/* ---- connection lifetime -------------------------------------------------------- */

static void free_urbs(struct usbip_server *s, struct usbip_conn *c, int unlink_started)
{
    struct usbip_urb *u = c->head, *next;

    for (; u; u = next) {
        next = u->next;
        if (unlink_started && u->started && !u->done && s->ops->unlink)
            s->ops->unlink(s->ctx, u);
        free(u);
    }
    c->head = c->tail = NULL;
    c->urbs = 0;
}

static void conn_release(struct usbip_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->in);
    free(c->out.data);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

/* Ends a session because the client is gone or broke the protocol. */
static void session_end(struct usbip_server *s, struct usbip_conn *c)
{
    if (s->session != c)
        return;
    free_urbs(s, c, 1);
    s->session = NULL;
    s->stats.client_ends++;
    LOG(s, 1, "session ended by the client\n");
    if (s->ops->detach)
        s->ops->detach(s->ctx);
}

static void conn_close(struct usbip_server *s, struct usbip_conn *c)
{
    session_end(s, c);
    free_urbs(s, c, 0);
    conn_release(c);
}

/* A client that broke the protocol: closed at once, nothing more is sent. */
static void conn_drop(struct usbip_server *s, struct usbip_conn *c, const char *why)
{
    LOG(s, 1, "client %d dropped: %s\n", conn_id(s, c), why);
    s->stats.dropped++;
    conn_close(s, c);
}

/* Graceful close: deliver what is queued, then close (see USBIP_LINGER_MS). */
static void conn_finish(struct usbip_conn *c)
{
    c->phase = USBIP_CONN_CLOSING;
    c->in_len = 0;
    c->deadline = usbip_now_ms() + USBIP_LINGER_MS;
}

int usbip_server_init(struct usbip_server *s, const struct usbip_dev_ops *ops, void *ctx,
                      const char *busid)
{
    int i;

    if (!s || !ops || !ops->info || !ops->submit || !busid || !busid[0] ||
        strlen(busid) >= USBIP_BUSID_LEN)
        return -1;
    memset(s, 0, sizeof(*s));
    s->ops = ops;
    s->ctx = ctx;
    memcpy(s->busid, busid, strlen(busid) + 1); /* length checked above */
    s->listen_fd = -1;
    for (i = 0; i < USBIP_MAX_CONNS; i++)
        s->conns[i].fd = -1;
    return 0;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int usbip_server_listen(struct usbip_server *s, const char *host, uint16_t port)
{
    struct sockaddr_in sa;
    int one = 1, fd;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0 ||
        set_nonblock(fd) < 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    s->listen_fd = fd;
    return 0;
}

uint16_t usbip_server_port(const struct usbip_server *s)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    if (s->listen_fd < 0 || getsockname(s->listen_fd, (struct sockaddr *)&sa, &len) < 0)
        return 0;
    return ntohs(sa.sin_port);
}

int usbip_server_adopt(struct usbip_server *s, int fd)
{
    int i, one = 1;

    for (i = 0; i < USBIP_MAX_CONNS; i++) {
        struct usbip_conn *c = &s->conns[i];

        if (c->phase != USBIP_CONN_FREE)
            continue;
        c->in = malloc(IN_CAP);
        if (!c->in)
            break;
        if (fd >= 0) {
            set_nonblock(fd);
            /* DFU is a long chain of small request/reply pairs. */
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        c->fd = fd;
        c->phase = USBIP_CONN_OP;
        c->deadline = usbip_now_ms() + USBIP_OP_TIMEOUT_MS;
        s->stats.accepted++;
        return i;
    }
    if (fd >= 0)
        close(fd);
    return -1;
}

/* ---- operations before import ------------------------------------------------------ */

static void put_dev_record(uint8_t *p, const struct usbip_dev_info *in, const char *busid)
{
    memcpy(p, in->path, strnlen(in->path, USBIP_PATH_LEN - 1));
    memcpy(p + 0x100, busid, strlen(busid));
    usbip_put32(p + 0x120, in->busnum);
    usbip_put32(p + 0x124, in->devnum);
    usbip_put32(p + 0x128, in->speed);
    usbip_put16(p + 0x12C, in->vid);
    usbip_put16(p + 0x12E, in->pid);
    usbip_put16(p + 0x130, in->bcd_device);
    p[0x132] = in->dev_class;
    p[0x133] = in->dev_subclass;
    p[0x134] = in->dev_protocol;
    p[0x135] = in->config_value;
    p[0x136] = in->num_configs;
    p[0x137] = in->num_interfaces;
}

static void put_op_hdr(uint8_t *p, uint16_t code, uint32_t status)
{
    usbip_put16(p, USBIP_VERSION);
    usbip_put16(p + 2, code);
    usbip_put32(p + 4, status);
}

static int reply_devlist(struct usbip_server *s, struct usbip_conn *c)
{
    struct usbip_dev_info info;
    uint8_t *p;
    unsigned i, n;

    memset(&info, 0, sizeof(info));
    s->ops->info(s->ctx, &info);
    n = info.num_interfaces <= USBIP_MAX_INTF ? info.num_interfaces : USBIP_MAX_INTF;
    info.num_interfaces = (uint8_t)n;
    p = out_reserve(c, 12 + (info.absent ? 0 : USBIP_DEV_REC_LEN + n * USBIP_INTF_REC_LEN));
    if (!p)
        return -1;
    put_op_hdr(p, USBIP_OP_REP_DEVLIST, USBIP_ST_OK);
    usbip_put32(p + 8, info.absent ? 0u : 1u);
    if (info.absent)
        n = 0;
    else
        put_dev_record(p + 12, &info, s->busid);
    p += 12 + USBIP_DEV_REC_LEN;
    for (i = 0; i < n; i++, p += USBIP_INTF_REC_LEN) {
        p[0] = info.intf[i].cls;
        p[1] = info.intf[i].subclass;
        p[2] = info.intf[i].protocol;
    }
    s->stats.devlists++;
    conn_finish(c);
    return 0;
}

static int refuse_import(struct usbip_server *s, struct usbip_conn *c, uint32_t status)
{
    uint8_t *p = out_reserve(c, USBIP_OP_HDR_LEN);

    if (!p)
        return -1;
    put_op_hdr(p, USBIP_OP_REP_IMPORT, status);
    s->stats.refused++;
    LOG(s, 1, "import refused (status %u)\n", (unsigned)status);
    conn_finish(c);
    return 0;
}

/* The busid field must be a NUL-terminated string equal to ours. */
static int busid_matches(const struct usbip_server *s, const uint8_t *field)
{
    const void *nul = memchr(field, 0, USBIP_BUSID_LEN);

    return nul && strcmp((const char *)field, s->busid) == 0;
}

static int reply_import(struct usbip_server *s, struct usbip_conn *c, const uint8_t *req)
{
    struct usbip_dev_info info;
    uint8_t *p;

    if (!busid_matches(s, req + USBIP_OP_HDR_LEN))
        return refuse_import(s, c, USBIP_ST_NODEV);
    if (s->session)
        return refuse_import(s, c, USBIP_ST_DEV_BUSY);
    memset(&info, 0, sizeof(info));
    s->ops->info(s->ctx, &info);
    if (info.absent)
        return refuse_import(s, c, USBIP_ST_NODEV);
    if (s->ops->attach && s->ops->attach(s->ctx) < 0)
        return refuse_import(s, c, USBIP_ST_DEV_ERR);
    memset(&info, 0, sizeof(info));
    s->ops->info(s->ctx, &info);
    p = out_reserve(c, USBIP_OP_HDR_LEN + USBIP_DEV_REC_LEN);
    if (!p) {
        if (s->ops->detach)
            s->ops->detach(s->ctx);
        return -1;
    }
    put_op_hdr(p, USBIP_OP_REP_IMPORT, USBIP_ST_OK);
    put_dev_record(p + USBIP_OP_HDR_LEN, &info, s->busid);
    c->phase = USBIP_CONN_URB;
    s->session = c;
    s->stats.imports++;
    LOG(s, 1, "device %04x:%04x imported by client %d\n", info.vid, info.pid, conn_id(s, c));
    return 0;
}

/* Consumes one OP_REQ_ from c->in. Returns the bytes used, 0 if more are
 * needed, -1 to drop the client. */
static long parse_op(struct usbip_server *s, struct usbip_conn *c)
{
    uint16_t version, code;

    if (c->in_len < USBIP_OP_HDR_LEN)
        return 0;
    version = usbip_get16(c->in);
    code = usbip_get16(c->in + 2);
    if (version != USBIP_VERSION)
        return -1;
    if (code == USBIP_OP_REQ_DEVLIST)
        return reply_devlist(s, c) < 0 ? -1 : (long)USBIP_OP_HDR_LEN;
    if (code != USBIP_OP_REQ_IMPORT)
        return -1;
    if (c->in_len < USBIP_IMPORT_REQ_LEN)
        return 0;
    return reply_import(s, c, c->in) < 0 ? -1 : (long)USBIP_IMPORT_REQ_LEN;
}

/* ---- URB traffic -------------------------------------------------------------------- */

static int emit_ret_submit(struct usbip_conn *c, const struct usbip_urb *u)
{
    uint32_t data = u->dir == USBIP_DIR_IN ? u->actual : 0;
    uint8_t *p = out_reserve(c, USBIP_HDR_LEN + data);

    if (!p)
        return -1;
    usbip_put32(p, USBIP_RET_SUBMIT);
    usbip_put32(p + 4, u->seqnum);
    /* devid, direction, ep: 0 in replies. */
    usbip_put32(p + 0x14, (uint32_t)u->status);
    usbip_put32(p + 0x18, u->actual);
    /* start_frame 0; number_of_packets 0 as Linux's own server sends for a
     * non-iso URB (the protocol text says 0xffffffff; vhci-hcd copies the
     * value into the URB, and 0 is what its iso code skips safely);
     * error_count 0. */
    memcpy(p + USBIP_HDR_LEN, u->data, data);
    return 0;
}

static int emit_ret_unlink(struct usbip_conn *c, uint32_t seqnum, int32_t status)
{
    uint8_t *p = out_reserve(c, USBIP_HDR_LEN);

    if (!p)
        return -1;
    usbip_put32(p, USBIP_RET_UNLINK);
    usbip_put32(p + 4, seqnum);
    usbip_put32(p + 0x14, (uint32_t)status);
    return 0;
}

/* Starts the oldest URB and sends replies for completed ones, in order.
 * Guarded: submit() may complete at once, which lands here again. */
static void pump(struct usbip_server *s)
{
    struct usbip_conn *c;

    if (s->pumping)
        return;
    s->pumping = 1;
    while ((c = s->session) != NULL && c->head) {
        struct usbip_urb *u = c->head;

        if (!u->started) {
            u->started = 1;
            s->ops->submit(s->ctx, u);
            continue; /* the session may be gone now */
        }
        if (!u->done)
            break;
        c->head = u->next;
        if (!c->head)
            c->tail = NULL;
        c->urbs--;
        LOG(s, 2, "RET_SUBMIT seq %u status %d actual %u\n", (unsigned)u->seqnum,
            (int)u->status, (unsigned)u->actual);
        if (emit_ret_submit(c, u) < 0) {
            free(u);
            s->pumping = 0;
            conn_drop(s, c, "out of memory");
            return;
        }
        free(u);
    }
    s->pumping = 0;
}

void usbip_server_complete(struct usbip_server *s, struct usbip_urb *urb, int32_t status,
                           uint32_t actual)
{
    urb->status = status;
    urb->actual = actual <= urb->len ? actual : urb->len;
    urb->done = 1;
    pump(s);
}

/* Checks a CMD_SUBMIT header. Returns its total length (header + OUT data),
 * or -1 if malformed. */
static long submit_len(const uint8_t *h)
{
    uint32_t dir = usbip_get32(h + 0x0C), ep = usbip_get32(h + 0x10);
    uint32_t len = usbip_get32(h + 0x18), npk = usbip_get32(h + 0x20);

    if (dir > USBIP_DIR_IN || ep > 15 || len > USBIP_MAX_URB_LEN)
        return -1;
    /* iso descriptors would follow; there is no iso endpoint to use them. */
    if (npk != 0 && npk != 0xFFFFFFFFu)
        return -1;
    return (long)USBIP_HDR_LEN + (dir == USBIP_DIR_OUT ? (long)len : 0);
}

static int queue_submit(struct usbip_server *s, struct usbip_conn *c, const uint8_t *h)
{
    uint32_t len = usbip_get32(h + 0x18);
    struct usbip_urb *u;

    if (c->urbs >= USBIP_MAX_URBS)
        return -1;
    u = calloc(1, sizeof(*u) + len);
    if (!u)
        return -1;
    u->seqnum = usbip_get32(h + 4);
    u->devid = usbip_get32(h + 8);
    u->dir = usbip_get32(h + 0x0C);
    u->ep = usbip_get32(h + 0x10);
    u->flags = usbip_get32(h + 0x14);
    u->len = len;
    memcpy(u->setup, h + USBIP_SETUP_OFF, 8);
    if (u->dir == USBIP_DIR_OUT)
        memcpy(u->data, h + USBIP_HDR_LEN, len);
    if (c->tail)
        c->tail->next = u;
    else
        c->head = u;
    c->tail = u;
    c->urbs++;
    s->stats.submits++;
    LOG(s, 2, "CMD_SUBMIT seq %u ep %u %s len %u setup %02x %02x\n", (unsigned)u->seqnum,
        (unsigned)u->ep, u->dir ? "IN" : "OUT", (unsigned)len, u->setup[0], u->setup[1]);
    pump(s);
    return 0;
}

/* An URB still queued or in the device is cut and gets no RET_SUBMIT; one
 * already answered (or unknown) gets status 0, as Linux's server does. */
static int do_unlink(struct usbip_server *s, struct usbip_conn *c, const uint8_t *h)
{
    uint32_t seq = usbip_get32(h + 4), victim = usbip_get32(h + 0x14);
    struct usbip_urb **pp, *u = NULL, *prev = NULL;
    int32_t status = 0;

    s->stats.unlinks++;
    for (pp = &c->head; *pp; prev = *pp, pp = &(*pp)->next) {
        if ((*pp)->seqnum == victim && !(*pp)->done) {
            u = *pp;
            break;
        }
    }
    if (u) {
        *pp = u->next;
        if (c->tail == u)
            c->tail = prev;
        c->urbs--;
        if (u->started && s->ops->unlink)
            s->ops->unlink(s->ctx, u);
        free(u);
        status = USBIP_ECONNRESET;
        s->stats.unlinked++;
    }
    LOG(s, 2, "CMD_UNLINK seq %u of %u: %d\n", (unsigned)seq, (unsigned)victim, (int)status);
    if (emit_ret_unlink(c, seq, status) < 0)
        return -1;
    pump(s); /* the next URB may start now */
    return 0;
}

static long parse_urb(struct usbip_server *s, struct usbip_conn *c)
{
    long need;

    if (c->in_len < USBIP_HDR_LEN)
        return 0;
    switch (usbip_get32(c->in)) {
    case USBIP_CMD_SUBMIT:
        need = submit_len(c->in);
        if (need < 0)
            return -1;
        if (c->in_len < (size_t)need)
            return 0;
        return queue_submit(s, c, c->in) < 0 ? -1 : need;
    case USBIP_CMD_UNLINK:
        return do_unlink(s, c, c->in) < 0 ? -1 : (long)USBIP_HDR_LEN;
    default:
        return -1;
    }
}

/* Handles every complete request in c->in. Returns 0, or -1 if c was
 * closed. */
static int conn_parse(struct usbip_server *s, struct usbip_conn *c)
{
    while (c->in_len > 0) {
        long used;

        if (c->phase == USBIP_CONN_OP)
            used = parse_op(s, c);
        else if (c->phase == USBIP_CONN_URB)
            used = parse_urb(s, c);
        else {
            c->in_len = 0; /* closing: input is ignored */
            break;
        }
        if (used < 0) {
            conn_drop(s, c, "malformed request");
            return -1;
        }
        if (used == 0)
            break;
        if (c->phase == USBIP_CONN_FREE)
            return -1;
        if (c->phase == USBIP_CONN_CLOSING) {
            c->in_len = 0;
            break;
        }
        memmove(c->in, c->in + used, c->in_len - (size_t)used);
        c->in_len -= (size_t)used;
    }
    return 0;
}

int usbip_server_feed(struct usbip_server *s, int id, const void *data, size_t len)
{
    const uint8_t *p = data;
    struct usbip_conn *c;

    if (id < 0 || id >= USBIP_MAX_CONNS)
        return -1;
    c = &s->conns[id];
    while (len > 0) {
        size_t n;

        if (c->phase == USBIP_CONN_FREE)
            return -1;
        n = IN_CAP - c->in_len;
        if (n > len)
            n = len;
        memcpy(c->in + c->in_len, p, n);
        c->in_len += n;
        p += n;
        len -= n;
        if (conn_parse(s, c) < 0)
            return -1;
    }
    return c->phase == USBIP_CONN_FREE ? -1 : 0;
}

void usbip_server_eof(struct usbip_server *s, int id)
{
    if (id >= 0 && id < USBIP_MAX_CONNS && s->conns[id].phase != USBIP_CONN_FREE)
        conn_close(s, &s->conns[id]);
}

size_t usbip_server_take(struct usbip_server *s, int id, void *buf, size_t max)
{
    struct usbip_conn *c;
    size_t n;

    if (id < 0 || id >= USBIP_MAX_CONNS)
        return 0;
    c = &s->conns[id];
    n = out_pending(c);
    if (n > max)
        n = max;
    if (n) {
        memcpy(buf, c->out.data + c->out_off, n);
        out_consume(c, n);
    }
    return n;
}

int usbip_server_phase(const struct usbip_server *s, int id)
{
    if (id < 0 || id >= USBIP_MAX_CONNS)
        return USBIP_CONN_FREE;
    return s->conns[id].phase;
}

int usbip_server_attached(const struct usbip_server *s)
{
    return s->session != NULL;
}

void usbip_server_disconnect(struct usbip_server *s)
{
    struct usbip_conn *c = s->session;

    if (!c)
        return;
    free_urbs(s, c, 1);
    s->session = NULL;
    s->stats.server_ends++;
    LOG(s, 1, "device disconnected (re-enumerating)\n");
    conn_finish(c);
}

/* ---- sockets ------------------------------------------------------------------------ */

static void conn_read(struct usbip_server *s, struct usbip_conn *c)
{
    for (;;) {
        ssize_t n;

        if (c->phase == USBIP_CONN_CLOSING) {
            uint8_t junk[4096];

            n = recv(c->fd, junk, sizeof(junk), 0);
        } else {
            n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 && out_pending(c)) {
            /* Half-closed (shutdown(SHUT_WR)), as a client that sent its
             * last request may do: it still reads. The session ends; what
             * is queued is delivered, then the connection closes. */
            LOG(s, 1, "client %d sent its last request\n", conn_id(s, c));
            session_end(s, c);
            c->eof = 1;
            conn_finish(c);
            return;
        }
        if (n <= 0) {
            if (c->phase != USBIP_CONN_CLOSING)
                LOG(s, 1, "client %d closed the connection\n", conn_id(s, c));
            conn_close(s, c);
            return;
        }
        if (c->phase == USBIP_CONN_CLOSING)
            continue;
        c->in_len += (size_t)n;
        if (conn_parse(s, c) < 0)
            return;
        if (out_pending(c) > OUT_BACKLOG)
            return;
    }
}

static void conn_write(struct usbip_server *s, struct usbip_conn *c)
{
    while (out_pending(c) > 0) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, out_pending(c), MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            conn_close(s, c);
            return;
        }
        out_consume(c, (size_t)n);
    }
    if (c->phase == USBIP_CONN_CLOSING && !c->shut) {
        shutdown(c->fd, SHUT_WR);
        c->shut = 1;
        c->deadline = usbip_now_ms() + USBIP_LINGER_MS;
    }
    if (c->shut && c->eof) /* both directions done */
        conn_close(s, c);
}

static void accept_clients(struct usbip_server *s)
{
    for (;;) {
        int fd = accept(s->listen_fd, NULL, NULL);

        if (fd < 0)
            return;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (usbip_server_adopt(s, fd) < 0)
            LOG(s, 1, "too many clients, one refused\n");
    }
}

static void check_timeouts(struct usbip_server *s, uint64_t now)
{
    int i;

    for (i = 0; i < USBIP_MAX_CONNS; i++) {
        struct usbip_conn *c = &s->conns[i];

        if ((c->phase == USBIP_CONN_OP || c->phase == USBIP_CONN_CLOSING) &&
            now >= c->deadline) {
            if (c->phase == USBIP_CONN_OP)
                s->stats.dropped++;
            if (c->fd < 0 && c->phase == USBIP_CONN_CLOSING && out_pending(c))
                continue; /* in-memory: kept until the test took the output */
            conn_close(s, c);
        }
    }
}

/* Poll timeout so that the nearest connection deadline is not missed. */
static int clamp_timeout(const struct usbip_server *s, int timeout_ms, uint64_t now)
{
    int i;

    for (i = 0; i < USBIP_MAX_CONNS; i++) {
        const struct usbip_conn *c = &s->conns[i];
        uint64_t left;

        if (c->fd < 0 || (c->phase != USBIP_CONN_OP && c->phase != USBIP_CONN_CLOSING))
            continue;
        left = c->deadline > now ? c->deadline - now : 0;
        if (timeout_ms < 0 || left < (uint64_t)timeout_ms)
            timeout_ms = (int)left;
    }
    return timeout_ms;
}

int usbip_server_step(struct usbip_server *s, int timeout_ms)
{
    struct pollfd pfd[USBIP_MAX_CONNS + 1];
    int who[USBIP_MAX_CONNS + 1];
    int i, n = 0, r;

    if (s->listen_fd >= 0) {
        pfd[n].fd = s->listen_fd;
        pfd[n].events = POLLIN;
        who[n++] = -1;
    }
    for (i = 0; i < USBIP_MAX_CONNS; i++) {
        struct usbip_conn *c = &s->conns[i];

        if (c->phase == USBIP_CONN_FREE || c->fd < 0)
            continue;
        /* a closing connection whose replies are out still needs its shutdown */
        if (c->phase == USBIP_CONN_CLOSING && !c->shut && !out_pending(c))
            conn_write(s, c);
        if (c->phase == USBIP_CONN_FREE)
            continue;
        pfd[n].fd = c->fd;
        pfd[n].events = (short)((out_pending(c) ? POLLOUT : 0) |
                                (out_pending(c) > OUT_BACKLOG || c->eof ? 0 : POLLIN));
        who[n++] = i;
    }
    r = poll(pfd, (nfds_t)n, clamp_timeout(s, timeout_ms, usbip_now_ms()));
    if (r < 0)
        return errno == EINTR ? 0 : -1;
    for (i = 0; i < n && r > 0; i++) {
        struct usbip_conn *c;

        if (!pfd[i].revents)
            continue;
        if (who[i] < 0) {
            accept_clients(s);
            continue;
        }
        c = &s->conns[who[i]];
        if (c->fd != pfd[i].fd)
            continue; /* closed meanwhile */
        if (pfd[i].revents & POLLOUT)
            conn_write(s, c);
        if (c->fd == pfd[i].fd && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
            conn_read(s, c);
        /* replies produced by this read go out without another poll round */
        if (c->fd == pfd[i].fd && out_pending(c))
            conn_write(s, c);
    }
    check_timeouts(s, usbip_now_ms());
    return 0;
}

void usbip_server_close(struct usbip_server *s)
{
    int i;

    for (i = 0; i < USBIP_MAX_CONNS; i++)
        if (s->conns[i].phase != USBIP_CONN_FREE)
            conn_close(s, &s->conns[i]);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
}
