/*
 * usbip.c - a USB/IP client transport: talks the USB/IP protocol over TCP
 * straight to a server that exports a device (udfu-virtual, or usbipd on
 * another machine). No vhci-hcd kernel module and no root needed: we are
 * the host controller, so control transfers become USBIP_CMD_SUBMIT on
 * endpoint 0.
 *
 * vhci-hcd never forwards SET_ADDRESS or port resets, and neither do we:
 * a USB/IP device re-enumerates by closing the connection and being
 * offered again, so "reset" drops the connection and "reopen" imports the
 * device afresh (retrying while the server brings it back).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "host_int.h"

#define USBIP_VERSION 0x0111u
#define OP_REQ_DEVLIST 0x8005u
#define OP_REP_DEVLIST 0x0005u
#define OP_REQ_IMPORT 0x8003u
#define OP_REP_IMPORT 0x0003u
#define CMD_SUBMIT 1u
#define CMD_UNLINK 2u
#define RET_SUBMIT 3u
#define RET_UNLINK 4u
#define USBIP_HDR_LEN 48
#define USBIP_DEV_LEN 312   /* path, busid, numbers, ids, classes */
#define URB_DIR_IN 0x200u
#define MAX_DEVICES 64
#define MAX_IFACES 32
#define USBIP_ERR_PIPE (-32) /* -EPIPE: the device stalled */

struct usbip_devrec {
    char busid[33];
    uint32_t busnum, devnum;
    uint16_t vid, pid;
    uint8_t nifaces;
    uint8_t iface[MAX_IFACES][3]; /* class, subclass, protocol */
};

struct usbip_ctx {
    char host[128];
    uint16_t port;
    char busid[33];
    int fd;
    uint32_t seq;
    uint32_t devid;
    uint8_t configured;
    char where[176];
};

/* ---- big-endian helpers and socket I/O --------------------------------------- */

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return errno == EPIPE || errno == ECONNRESET ? UDFU_ERR_NODEV : UDFU_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Exactly n bytes within timeout_ms. A closed connection is NODEV. */
static int recv_all(int fd, uint8_t *p, size_t n, uint32_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (n) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int64_t left = deadline - now_ms();
        ssize_t r;
        if (left <= 0)
            return UDFU_ERR_TIMEOUT;
        if (poll(&pfd, 1, (int)left) < 0) {
            if (errno == EINTR)
                continue;
            return UDFU_ERR_IO;
        }
        if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return UDFU_ERR_NODEV;
        if (r < 0)
            return UDFU_ERR_IO;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int tcp_connect(const char *host, uint16_t port)
{
    struct addrinfo hints, *res, *ai;
    char service[8];
    int fd = -1;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%u", port);
    if (getaddrinfo(host, service, &hints, &res) != 0)
        return UDFU_ERR_INVAL;
    for (ai = res; ai; ai = ai->ai_next) {
        int one = 1;
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        /* One small request at a time: Nagle would add 40 ms to each. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd >= 0 ? fd : UDFU_ERR_NODEV;
}

/* ---- OP_REQ_DEVLIST / OP_REQ_IMPORT ------------------------------------------- */

static void op_header(uint8_t *p, uint16_t code)
{
    be16(p, USBIP_VERSION);
    be16(p + 2, code);
    be32(p + 4, 0);
}

static void parse_dev(const uint8_t *p, struct usbip_devrec *d)
{
    memcpy(d->busid, p + 256, 32);
    d->busid[32] = 0;
    d->busnum = get_be32(p + 288);
    d->devnum = get_be32(p + 292);
    d->vid = get_be16(p + 300);
    d->pid = get_be16(p + 302);
    d->nifaces = p[311];
}

static int read_devlist(int fd, struct usbip_devrec *devs, int max)
{
    uint8_t h[12], rec[USBIP_DEV_LEN], ifc[4];
    uint32_t n, i, j;
    int err = recv_all(fd, h, sizeof h, UDFU_HOST_TIMEOUT_MS);
    if (err < 0)
        return err;
    if (get_be16(h + 2) != OP_REP_DEVLIST || get_be32(h + 4) != 0)
        return UDFU_ERR_IO;
    n = get_be32(h + 8);
    if (n > MAX_DEVICES)
        return UDFU_ERR_IO;
    for (i = 0; i < n; i++) {
        struct usbip_devrec d;
        if ((err = recv_all(fd, rec, sizeof rec, UDFU_HOST_TIMEOUT_MS)) < 0)
            return err;
        memset(&d, 0, sizeof d);
        parse_dev(rec, &d);
        for (j = 0; j < d.nifaces; j++) {
            if ((err = recv_all(fd, ifc, sizeof ifc, UDFU_HOST_TIMEOUT_MS)) < 0)
                return err;
            if (j < MAX_IFACES)
                memcpy(d.iface[j], ifc, 3);
        }
        if (d.nifaces > MAX_IFACES)
            d.nifaces = MAX_IFACES;
        if ((int)i < max)
            devs[i] = d;
    }
    return (int)(n < (uint32_t)max ? n : (uint32_t)max);
}

static int devlist(const char *host, uint16_t port, struct usbip_devrec *devs, int max)
{
    uint8_t req[8];
    int n, fd = tcp_connect(host, port);
    if (fd < 0)
        return fd;
    op_header(req, OP_REQ_DEVLIST);
    n = send_all(fd, req, sizeof req);
    if (n == 0)
        n = read_devlist(fd, devs, max);
    close(fd);
    return n;
}

/* Imports busid on fd. 0, UDFU_ERR_STATE (refused: held by another client
 * or not exported), or a transport error. */
static int import(int fd, const char *busid, uint32_t *devid)
{
    uint8_t req[40], rep[8 + USBIP_DEV_LEN];
    struct usbip_devrec d;
    int err;
    memset(req, 0, sizeof req);
    op_header(req, OP_REQ_IMPORT);
    memcpy(req + 8, busid, strnlen(busid, 31));
    if ((err = send_all(fd, req, sizeof req)) < 0)
        return err;
    if ((err = recv_all(fd, rep, 8, UDFU_HOST_TIMEOUT_MS)) < 0)
        return err == UDFU_ERR_NODEV ? UDFU_ERR_STATE : err;
    if (get_be16(rep + 2) != OP_REP_IMPORT)
        return UDFU_ERR_IO;
    if (get_be32(rep + 4) != 0)
        return UDFU_ERR_STATE;
    /* The device record, as in DEVLIST but without the interface list. */
    if ((err = recv_all(fd, rep + 8, USBIP_DEV_LEN, UDFU_HOST_TIMEOUT_MS)) < 0)
        return err;
    memset(&d, 0, sizeof d);
    parse_dev(rep + 8, &d);
    /* The server must have imported what we asked for. */
    if (strncmp(d.busid, busid, 32) != 0)
        return UDFU_ERR_IO;
    *devid = d.busnum << 16 | (d.devnum & 0xFFFFu);
    return 0;
}

static int has_dfu(const struct usbip_devrec *d)
{
    int i;
    for (i = 0; i < d->nifaces; i++)
        if (d->iface[i][0] == UDFU_CLASS_APP_SPECIFIC && d->iface[i][1] == UDFU_SUBCLASS_DFU)
            return 1;
    return 0;
}

/* ---- the transport ------------------------------------------------------------------ */

static void drop(struct usbip_ctx *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->configured = 0;
}

static void submit_header(struct usbip_ctx *c, uint8_t *h, const struct udfu_setup *s)
{
    int in = (s->bmRequestType & 0x80) != 0;
    memset(h, 0, USBIP_HDR_LEN);
    be32(h, CMD_SUBMIT);
    be32(h + 4, ++c->seq);
    be32(h + 8, c->devid);
    be32(h + 12, in ? 1u : 0u);
    be32(h + 16, 0); /* endpoint 0 */
    be32(h + 20, in ? URB_DIR_IN : 0u);
    be32(h + 24, s->wLength);
    be32(h + 32, 0); /* number_of_packets: 0 for non-ISO, as vhci-hcd sends */
    h[40] = s->bmRequestType;
    h[41] = s->bRequest;
    h[42] = (uint8_t)s->wValue;
    h[43] = (uint8_t)(s->wValue >> 8);
    h[44] = (uint8_t)s->wIndex;
    h[45] = (uint8_t)(s->wIndex >> 8);
    h[46] = (uint8_t)s->wLength;
    h[47] = (uint8_t)(s->wLength >> 8);
}

static int map_status(int32_t status)
{
    if (status == 0)
        return 0;
    if (status == USBIP_ERR_PIPE)
        return UDFU_ERR_STALL;
    if (status == -ENODEV || status == -ESHUTDOWN)
        return UDFU_ERR_NODEV;
    if (status == -ETIMEDOUT)
        return UDFU_ERR_TIMEOUT;
    return UDFU_ERR_IO;
}

/* After a timeout the request is still queued on the server: unlink it and
 * swallow what comes back, or give up on the connection. */
static void unlink_pending(struct usbip_ctx *c, uint32_t seq, int in)
{
    uint8_t h[USBIP_HDR_LEN], junk[4096];
    int i;
    memset(h, 0, sizeof h);
    be32(h, CMD_UNLINK);
    be32(h + 4, ++c->seq);
    be32(h + 8, c->devid);
    be32(h + 20, seq);
    if (send_all(c->fd, h, sizeof h) < 0) {
        drop(c);
        return;
    }
    for (i = 0; i < 2; i++) {
        uint32_t len;
        if (recv_all(c->fd, h, sizeof h, 1000) < 0)
            break;
        if (get_be32(h) == RET_UNLINK && get_be32(h + 4) == c->seq)
            return;
        len = get_be32(h + 24);
        if (get_be32(h) != RET_SUBMIT || get_be32(h + 4) != seq || !in || len > sizeof junk ||
            recv_all(c->fd, junk, len, 1000) < 0)
            break;
    }
    drop(c);
}

static int await_reply(struct usbip_ctx *c, const struct udfu_setup *s, uint8_t *data,
                       uint32_t timeout_ms)
{
    uint8_t h[USBIP_HDR_LEN];
    uint32_t len;
    int32_t status;
    int in = (s->bmRequestType & 0x80) != 0;
    int err = recv_all(c->fd, h, sizeof h, timeout_ms);
    if (err == UDFU_ERR_TIMEOUT) {
        unlink_pending(c, c->seq, in);
        return err;
    }
    if (err < 0) {
        drop(c);
        return err;
    }
    len = get_be32(h + 24);
    status = (int32_t)get_be32(h + 20);
    /* One request in flight: anything but its reply is a broken server. */
    if (get_be32(h) != RET_SUBMIT || get_be32(h + 4) != c->seq ||
        (in && len > s->wLength)) {
        drop(c);
        return UDFU_ERR_IO;
    }
    if (in && len && (err = recv_all(c->fd, data, len, timeout_ms)) < 0) {
        drop(c);
        return err;
    }
    err = map_status(status);
    if (err < 0)
        return err;
    return in ? (int)len : (int)(len <= s->wLength ? len : s->wLength);
}

static int usbip_control(void *ctx, const struct udfu_setup *s, uint8_t *data,
                         uint32_t timeout_ms)
{
    struct usbip_ctx *c = ctx;
    uint8_t h[USBIP_HDR_LEN];
    int err;
    if (c->fd < 0)
        return UDFU_ERR_NODEV;
    submit_header(c, h, s);
    err = send_all(c->fd, h, sizeof h);
    if (err == 0 && !(s->bmRequestType & 0x80) && s->wLength)
        err = send_all(c->fd, data, s->wLength);
    if (err < 0) {
        drop(c);
        return err;
    }
    err = await_reply(c, s, data, timeout_ms);
    /* The device must have taken all OUT data; vhci reports the length. */
    if (err >= 0 && !(s->bmRequestType & 0x80))
        err = s->wLength;
    return err;
}

static int std_request(struct usbip_ctx *c, uint8_t type, uint8_t req, uint16_t value,
                       uint16_t index)
{
    struct udfu_setup s;
    s.bmRequestType = type;
    s.bRequest = req;
    s.wValue = value;
    s.wIndex = index;
    s.wLength = 0;
    return usbip_control(c, &s, NULL, UDFU_HOST_TIMEOUT_MS);
}

static int usbip_select(void *ctx, uint8_t interface, uint8_t alt)
{
    struct usbip_ctx *c = ctx;
    int err;
    /* A fresh import is unconfigured: vhci's hub driver would configure
     * it; here we are the hub driver. */
    if (!c->configured) {
        err = std_request(c, 0x00, USB_REQ_SET_CONFIGURATION, 1, 0);
        if (err < 0)
            return err;
        c->configured = 1;
    }
    err = std_request(c, 0x01, USB_REQ_SET_INTERFACE, alt, interface);
    return err < 0 ? err : 0;
}

static int import_retry(struct usbip_ctx *c, const char *want, const struct udfu_host_match *m,
                        uint32_t timeout_ms, char *msg, size_t msg_size);

static int usbip_reset(void *ctx)
{
    struct usbip_ctx *c = ctx;
    char msg[UDFU_HOST_MSG_LEN], want[33];
    /* USB/IP has no bus reset; plugging in is one. Unplug and plug again:
     * the import is the reset. The device may then re-enumerate and close
     * the connection on its own, which wait_gone() and reopen() expect. */
    drop(c);
    snprintf(want, sizeof want, "%s", c->busid);
    (void)import_retry(c, want, NULL, 2000, msg, sizeof msg);
    return 0;
}

static void pause_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Picks the exported device to import: the one named, else the only one
 * with a DFU interface. */
static int pick_busid(const struct usbip_devrec *devs, int n, const char *want,
                      const struct udfu_host_match *m, char *busid, char *msg, size_t msg_size)
{
    int i, found = -1, count = 0;
    for (i = 0; i < n; i++) {
        if (want ? strcmp(devs[i].busid, want) != 0 : !has_dfu(&devs[i]))
            continue;
        if (!want && m && ((m->vid && m->vid != devs[i].vid) ||
                           (m->pid && m->pid != devs[i].pid)))
            continue;
        if (found < 0)
            found = i;
        count++;
    }
    if (count == 1 || (want && count)) {
        snprintf(busid, 33, "%s", devs[found].busid);
        return 0;
    }
    if (count > 1) {
        size_t o = (size_t)snprintf(msg, msg_size, "%d DFU devices are exported; pick one "
                                    "with --busid:", count);
        for (i = 0; i < n && o < msg_size; i++)
            if (has_dfu(&devs[i]))
                o += (size_t)snprintf(msg + o, msg_size - o, " %s (%04x:%04x)",
                                      devs[i].busid, devs[i].vid, devs[i].pid);
        return UDFU_ERR_INVAL;
    }
    if (want)
        snprintf(msg, msg_size, "busid %s is not exported by the server; `udfu list "
                 "--usbip HOST` shows what is", want);
    else
        snprintf(msg, msg_size, "the USB/IP server exports no DFU device%s; is the device "
                 "running and in DFU or run-time mode?", m && (m->vid || m->pid) ?
                 " with that VID:PID" : "");
    return UDFU_ERR_NODEV;
}

/* One attempt: list, pick, import. */
static int try_import(struct usbip_ctx *c, const char *want, const struct udfu_host_match *m,
                      char *msg, size_t msg_size)
{
    struct usbip_devrec devs[MAX_DEVICES];
    int n = devlist(c->host, c->port, devs, MAX_DEVICES);
    int err;
    if (n < 0) {
        snprintf(msg, msg_size, "cannot reach the USB/IP server at %s:%u (%s); start it "
                 "(udfu-virtual) or check --usbip", c->host, c->port, udfu_strerror(n));
        return n == UDFU_ERR_INVAL ? n : UDFU_ERR_NODEV;
    }
    err = pick_busid(devs, n, want, m, c->busid, msg, msg_size);
    if (err < 0)
        return err;
    c->fd = tcp_connect(c->host, c->port);
    if (c->fd < 0)
        return UDFU_ERR_NODEV;
    err = import(c->fd, c->busid, &c->devid);
    if (err < 0) {
        drop(c);
        snprintf(msg, msg_size, "the server refused to import %s (%s); another client may "
                 "hold it: detach that one first", c->busid, udfu_strerror(err));
        return err;
    }
    c->configured = 0;
    return 0;
}

/* Retries while the server is between two offers of the device. */
static int import_retry(struct usbip_ctx *c, const char *want, const struct udfu_host_match *m,
                        uint32_t timeout_ms, char *msg, size_t msg_size)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int err = try_import(c, want, m, msg, msg_size);
        if (err == 0 || err == UDFU_ERR_INVAL || now_ms() >= deadline)
            return err;
        pause_ms(50);
    }
}

static int usbip_reopen(void *ctx, uint32_t timeout_ms)
{
    struct usbip_ctx *c = ctx;
    char msg[UDFU_HOST_MSG_LEN];
    char want[33];
    if (c->fd >= 0) {
        /* Let the server close first: that is the device re-enumerating. */
        uint8_t b;
        recv_all(c->fd, &b, 1, timeout_ms < 2000 ? timeout_ms : 2000);
        drop(c);
    }
    snprintf(want, sizeof want, "%s", c->busid);
    return import_retry(c, want, NULL, timeout_ms, msg, sizeof msg) < 0 ? UDFU_ERR_NODEV : 0;
}

static int usbip_wait_gone(void *ctx, uint32_t timeout_ms)
{
    struct usbip_ctx *c = ctx;
    uint8_t b;
    /* The device leaves by having the server close the connection. */
    if (c->fd >= 0 && recv_all(c->fd, &b, 1, timeout_ms) == UDFU_ERR_TIMEOUT)
        return UDFU_ERR_TIMEOUT;
    drop(c);
    return 0;
}

static const char *usbip_where(void *ctx)
{
    struct usbip_ctx *c = ctx;
    snprintf(c->where, sizeof c->where, "%.127s:%u/%.32s", c->host, c->port, c->busid);
    return c->where;
}

static void usbip_close(void *ctx)
{
    struct usbip_ctx *c = ctx;
    drop(c);
    free(c);
}

static const struct udfu_host_transport_ops usbip_ops = {
    usbip_control, usbip_select, usbip_reset, usbip_reopen, NULL, usbip_where, usbip_close,
    usbip_wait_gone,
};

static struct usbip_ctx *ctx_new(const char *host, uint16_t port)
{
    struct usbip_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    snprintf(c->host, sizeof c->host, "%s", host ? host : "127.0.0.1");
    c->port = port ? port : UDFU_HOST_USBIP_PORT;
    c->fd = -1;
    return c;
}

int udfu_host_open_usbip(struct udfu_host_dev *d, const char *host, uint16_t port,
                         const char *busid, const struct udfu_host_match *m)
{
    struct usbip_ctx *c = ctx_new(host, port);
    char msg[UDFU_HOST_MSG_LEN] = "";
    int err, tries;
    if (!c)
        return udfu_host_fail(d, UDFU_ERR_NOSPACE, "out of memory");
    err = import_retry(c, busid, m, 1500, msg, sizeof msg);
    if (err < 0) {
        usbip_close(c);
        return udfu_host_fail(d, err, "%s", msg);
    }
    /* An import is a plug-in, so a bus reset: a device that finished its
     * manifestation leaves DFU mode on it and re-enumerates while we read
     * its descriptors. Take it again in its new mode. */
    for (tries = 0; tries < 3; tries++) {
        err = host_attach_keep(d, &usbip_ops, c, m);
        if (err != UDFU_ERR_NODEV || c->fd >= 0 || usbip_reopen(c, 3000) < 0)
            break;
    }
    if (err < 0)
        host_close(d); /* closes c */
    return err;
}

static void info_from_rec(const struct usbip_ctx *c, const struct usbip_devrec *r,
                          struct udfu_host_info *info)
{
    int i;
    memset(info, 0, sizeof *info);
    info->vid = r->vid;
    info->pid = r->pid;
    snprintf(info->where, sizeof info->where, "%.127s:%u/%.32s", c->host, c->port, r->busid);
    for (i = 0; i < r->nifaces; i++)
        if (r->iface[i][0] == UDFU_CLASS_APP_SPECIFIC && r->iface[i][1] == UDFU_SUBCLASS_DFU) {
            info->interface = (uint8_t)i;
            info->protocol = r->iface[i][2];
            break;
        }
}

int udfu_host_list_usbip(const char *host, uint16_t port, struct udfu_host_info **list,
                         char *msg, size_t msg_size)
{
    struct usbip_devrec devs[MAX_DEVICES];
    struct usbip_ctx *c = ctx_new(host, port);
    int i, n, count = 0;
    *list = NULL;
    if (!c)
        return UDFU_ERR_NOSPACE;
    n = devlist(c->host, c->port, devs, MAX_DEVICES);
    if (n < 0) {
        snprintf(msg, msg_size, "cannot reach the USB/IP server at %s:%u (%s); start it "
                 "(udfu-virtual) or check --usbip", c->host, c->port, udfu_strerror(n));
        usbip_close(c);
        return n == UDFU_ERR_INVAL ? n : UDFU_ERR_NODEV;
    }
    *list = calloc((size_t)n + 1, sizeof **list);
    for (i = 0; *list && i < n; i++) {
        struct udfu_host_info *info = &(*list)[count];
        if (!has_dfu(&devs[i]))
            continue;
        info_from_rec(c, &devs[i], info);
        if (import_retry(c, devs[i].busid, NULL, 500, msg, msg_size) == 0)
            host_probe_info(&usbip_ops, c, NULL, info, UDFU_HOST_TIMEOUT_MS);
        drop(c);
        count++;
    }
    usbip_close(c);
    if (!*list)
        return UDFU_ERR_NOSPACE;
    msg[0] = 0;
    return count;
}
