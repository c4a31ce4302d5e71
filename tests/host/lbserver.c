/*
 * lbserver.c - a USB/IP server exporting one loopback device, for the host
 * library and CLI tests. See lbserver.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "lbserver.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

#define HDR 48
#define DEV_REC 312
#define BUSID "1-1"

struct lbs {
    struct udfu_loopback lb;
    const struct lbs_opts *o;
    int conn;           /* the importer's connection, or -1 */
    int64_t last_ms;    /* wall clock of the last device tick */
    uint8_t buf[65536];
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rd(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        ssize_t r = recv(fd, b, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

static int wr(int fd, const void *p, size_t n)
{
    return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* The device follows the wall clock. */
static void catch_up(struct lbs *s)
{
    int64_t now = wall_ms();
    if (now > s->last_ms) {
        udfu_loopback_run(&s->lb, (uint32_t)(now - s->last_ms));
        s->last_ms = now;
    }
}

int lbs_listen(uint16_t *port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(*port);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void device_record(struct lbs *s, uint8_t *p)
{
    memset(p, 0, DEV_REC);
    snprintf((char *)p, 256, "/sys/devices/udfu-test/" BUSID);
    memcpy(p + 256, BUSID, sizeof BUSID);
    put32(p + 288, 1);  /* busnum */
    put32(p + 292, 2);  /* devnum */
    put32(p + 296, 2);  /* full speed */
    put16(p + 300, FX_VID);
    put16(p + 302, s->lb.mode == UDFU_PROTOCOL_DFU ? FX_PID_DFU : FX_PID_RT);
    put16(p + 304, 0x0100);
    p[309] = 1; /* bNumConfigurations */
    p[311] = 1; /* bNumInterfaces */
}

static void op_reply(uint8_t *p, uint16_t code, uint32_t status)
{
    put16(p, 0x0111);
    put16(p + 2, code);
    put32(p + 4, status);
}

static void devlist(struct lbs *s, int fd)
{
    uint8_t rep[12 + DEV_REC + 4];
    op_reply(rep, 0x0005, 0);
    put32(rep + 8, 1);
    device_record(s, rep + 12);
    rep[12 + DEV_REC] = UDFU_CLASS_APP_SPECIFIC;
    rep[12 + DEV_REC + 1] = UDFU_SUBCLASS_DFU;
    rep[12 + DEV_REC + 2] = s->lb.mode;
    rep[12 + DEV_REC + 3] = 0;
    wr(fd, rep, sizeof rep);
}

/* Returns 1 if fd became the importer's connection. */
static int import(struct lbs *s, int fd)
{
    uint8_t busid[32], rep[8 + DEV_REC];
    if (rd(fd, busid, sizeof busid) < 0)
        return 0;
    busid[31] = 0;
    if (s->conn >= 0 || strcmp((char *)busid, BUSID) != 0) {
        op_reply(rep, 0x0003, 1);
        wr(fd, rep, 8);
        return 0;
    }
    /* Being imported is being plugged in: a re-enumerating device comes
     * back, one that stayed sees a bus reset (it may leave on it). */
    if (s->lb.attached)
        udfu_loopback_ops()->reset(&s->lb);
    else if (udfu_loopback_ops()->reopen(&s->lb, 0) < 0) {
        op_reply(rep, 0x0003, 1);
        wr(fd, rep, 8);
        return 0;
    }
    op_reply(rep, 0x0003, 0);
    device_record(s, rep + 8);
    if (wr(fd, rep, sizeof rep) < 0)
        return 0;
    s->conn = fd;
    return 1;
}

static void new_client(struct lbs *s, int lfd)
{
    uint8_t h[8];
    int one = 1, fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        return;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (rd(fd, h, sizeof h) == 0) {
        uint16_t code = (uint16_t)(h[2] << 8 | h[3]);
        if (code == 0x8005)
            devlist(s, fd);
        else if (code == 0x8003 && import(s, fd))
            return;
    }
    close(fd);
}

/* The cable is pulled; the device keeps running (self-powered). */
static void drop_conn(struct lbs *s)
{
    close(s->conn);
    s->conn = -1;
}

static void ret_header(uint8_t *r, uint32_t cmd, uint32_t seq, int32_t status, uint32_t len)
{
    memset(r, 0, HDR);
    put32(r, cmd);
    put32(r + 4, seq);
    put32(r + 20, (uint32_t)status);
    put32(r + 24, len);
}

static int submit(struct lbs *s, const uint8_t *h)
{
    struct udfu_setup st;
    uint8_t r[HDR];
    uint32_t seq = get32(h + 4), len = get32(h + 24);
    int in = get32(h + 12) != 0, n;
    udfu_setup_parse(&st, h + 40);
    if (len > sizeof s->buf || len != st.wLength)
        return -1;
    if (!in && len && rd(s->conn, s->buf, len) < 0)
        return -1;
    if (s->o->fault == LBS_SILENT)
        return 0;
    catch_up(s);
    n = udfu_loopback_ops()->control(&s->lb, &st, s->buf, 1000);
    if (s->o->fault == LBS_BAD_SEQNUM)
        seq++;
    ret_header(r, 3, seq, n == UDFU_ERR_STALL ? -32 : n < 0 ? -71 : 0, n < 0 ? 0 : (uint32_t)n);
    if (in && n >= 0 && s->o->fault == LBS_HUGE_LENGTH)
        put32(r + 24, len + 100);
    if (wr(s->conn, r, HDR) < 0 || (in && n > 0 && wr(s->conn, s->buf, (size_t)n) < 0))
        return -1;
    /* The device re-enumerates (detach, leave): this host loses it. */
    return s->lb.attached ? 0 : 1;
}

static void urb(struct lbs *s)
{
    uint8_t h[HDR], r[HDR];
    int rc;
    if (rd(s->conn, h, HDR) < 0) {
        drop_conn(s);
        return;
    }
    switch (get32(h)) {
    case 1:
        rc = submit(s, h);
        if (rc != 0)
            drop_conn(s);
        return;
    case 2: /* everything completes at once: nothing is left to unlink */
        ret_header(r, 4, get32(h + 4), 0, 0);
        if (wr(s->conn, r, HDR) < 0)
            drop_conn(s);
        return;
    default:
        drop_conn(s);
    }
}

/* The fixture's map with a tenth of its timing: tests over a real clock. */
static const struct udfu_region f4_fast[4] = {
    {0x08000000u, 16u * 1024u, 1, UDFU_MEM_READ, 25, 0},
    {0x08004000u, 16u * 1024u, 3, UDFU_MEM_ALL, 25, 4},
    {0x08010000u, 64u * 1024u, 1, UDFU_MEM_ALL, 55, 4},
    {0x08020000u, 128u * 1024u, 7, UDFU_MEM_ALL, 110, 4},
};
static const struct udfu_target f4_fast_targets[1] = {{"Internal Flash", f4_fast, 4, 1}};

static int open_device(struct lbs *s)
{
    struct udfu_loopback_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.targets = s->o->dfuse ? f4_fast_targets : fx_plain_targets;
    cfg.target_count = 1;
    cfg.flash = s->o->dfuse ? f4_fast : fx_plain_regions;
    cfg.flash_count = s->o->dfuse ? 4 : 1;
    cfg.vid = FX_VID;
    cfg.pid_dfu = FX_PID_DFU;
    cfg.pid_rt = FX_PID_RT;
    cfg.transfer_size = 2048;
    cfg.attributes = (uint8_t)s->o->plain_attrs;
    cfg.start_runtime = (uint8_t)s->o->runtime;
    cfg.manifest_ms = 20;
    cfg.serial = "LBS0001";
    if (udfu_loopback_init(&s->lb, &cfg) < 0)
        return -1;
    s->lb.manifest_result = s->o->manifest_result;
    return 0;
}

void lbs_serve(int lfd, const struct lbs_opts *o)
{
    static struct lbs s;
    memset(&s, 0, sizeof s);
    s.o = o;
    s.conn = -1;
    if (open_device(&s) < 0) {
        fprintf(stderr, "lbserver: cannot create the device\n");
        exit(1);
    }
    s.last_ms = wall_ms();
    for (;;) {
        struct pollfd p[2] = {{lfd, POLLIN, 0}, {s.conn, POLLIN, 0}};
        int n = poll(p, s.conn >= 0 ? 2 : 1, 5);
        catch_up(&s);
        /* Left DFU mode on a timer (leave, manifestation): re-enumerate. */
        if (s.conn >= 0 && !s.lb.attached)
            drop_conn(&s);
        if (n <= 0)
            continue;
        if (p[0].revents & POLLIN)
            new_client(&s, lfd);
        if (s.conn >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
            urb(&s);
    }
}
