/*
 * uclient.c - a minimal USB/IP client for the tests (see uclient.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "uclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

size_t uc_op_req(uint8_t *p, uint16_t version, uint16_t code)
{
    usbip_put16(p, version);
    usbip_put16(p + 2, code);
    usbip_put32(p + 4, 0);
    return USBIP_OP_HDR_LEN;
}

size_t uc_import_req(uint8_t *p, const char *busid)
{
    uc_op_req(p, USBIP_VERSION, USBIP_OP_REQ_IMPORT);
    memset(p + 8, 0, USBIP_BUSID_LEN);
    memcpy(p + 8, busid, strnlen(busid, USBIP_BUSID_LEN));
    return USBIP_IMPORT_REQ_LEN;
}

size_t uc_submit_hdr(uint8_t *p, uint32_t seq, uint32_t dir, uint32_t ep, uint32_t len,
                     const uint8_t setup[8])
{
    memset(p, 0, USBIP_HDR_LEN);
    usbip_put32(p, USBIP_CMD_SUBMIT);
    usbip_put32(p + 4, seq);
    usbip_put32(p + 8, 0x00010002);
    usbip_put32(p + 0x0C, dir);
    usbip_put32(p + 0x10, ep);
    usbip_put32(p + 0x18, len);
    usbip_put32(p + 0x20, 0); /* what vhci-hcd sends for non-iso URBs */
    if (setup)
        memcpy(p + USBIP_SETUP_OFF, setup, 8);
    return USBIP_HDR_LEN;
}

size_t uc_unlink_req(uint8_t *p, uint32_t seq, uint32_t victim)
{
    memset(p, 0, USBIP_HDR_LEN);
    usbip_put32(p, USBIP_CMD_UNLINK);
    usbip_put32(p + 4, seq);
    usbip_put32(p + 8, 0x00010002);
    usbip_put32(p + 0x14, victim);
    return USBIP_HDR_LEN;
}

void uc_setup(uint8_t s[8], uint8_t type, uint8_t req, uint16_t value, uint16_t index,
              uint16_t length)
{
    s[0] = type;
    s[1] = req;
    s[2] = (uint8_t)value;
    s[3] = (uint8_t)(value >> 8);
    s[4] = (uint8_t)index;
    s[5] = (uint8_t)(index >> 8);
    s[6] = (uint8_t)length;
    s[7] = (uint8_t)(length >> 8);
}

int uc_connect(struct uclient *c, const char *host, uint16_t port)
{
    struct sockaddr_in sa;
    int one = 1;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

void uc_close(struct uclient *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

int uc_send(struct uclient *c, const void *p, size_t n)
{
    const uint8_t *b = p;

    while (n > 0) {
        ssize_t r = send(c->fd, b, n, MSG_NOSIGNAL);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Waits until fd is readable: with an idle hook, in 1 ms slices. */
static int wait_readable(struct uclient *c, int ms)
{
    struct pollfd pfd;

    pfd.fd = c->fd;
    pfd.events = POLLIN;
    if (!c->idle)
        return poll(&pfd, 1, ms) > 0;
    while (ms-- > 0) {
        c->idle(c->idle_arg);
        if (poll(&pfd, 1, 1) > 0)
            return 1;
    }
    return 0;
}

int uc_recv(struct uclient *c, void *p, size_t n)
{
    uint8_t *b = p;
    int ms = c->timeout_ms ? c->timeout_ms : 5000;

    while (n > 0) {
        ssize_t r;

        if (!wait_readable(c, ms))
            return -1;
        r = recv(c->fd, b, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

int uc_wait_eof(struct uclient *c)
{
    uint8_t junk[256];
    int ms = c->timeout_ms ? c->timeout_ms : 5000;

    for (;;) {
        ssize_t r;

        if (!wait_readable(c, ms))
            return 0;
        r = recv(c->fd, junk, sizeof(junk), 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return 1;
        if (r < 0 && errno != EINTR)
            return 0;
    }
}

int uc_devlist(struct uclient *c, uint8_t *rec, uint8_t *intf, size_t intf_max)
{
    uint8_t hdr[12], skip[USBIP_DEV_REC_LEN];
    uint32_t n, i;

    uc_op_req(hdr, USBIP_VERSION, USBIP_OP_REQ_DEVLIST);
    if (uc_send(c, hdr, USBIP_OP_HDR_LEN) < 0 || uc_recv(c, hdr, 12) < 0)
        return -1;
    if (usbip_get16(hdr) != USBIP_VERSION || usbip_get16(hdr + 2) != USBIP_OP_REP_DEVLIST ||
        usbip_get32(hdr + 4) != 0)
        return -1;
    n = usbip_get32(hdr + 8);
    for (i = 0; i < n; i++) {
        uint8_t *r = i == 0 ? rec : skip;
        size_t ni, k;

        if (uc_recv(c, r, USBIP_DEV_REC_LEN) < 0)
            return -1;
        ni = r[0x137];
        for (k = 0; k < ni; k++) {
            uint8_t one[4];

            if (uc_recv(c, one, 4) < 0)
                return -1;
            if (i == 0 && k * 4 + 4 <= intf_max)
                memcpy(intf + k * 4, one, 4);
        }
    }
    return (int)n;
}

int uc_import(struct uclient *c, const char *busid, uint8_t *rec)
{
    uint8_t req[USBIP_IMPORT_REQ_LEN], hdr[USBIP_OP_HDR_LEN];
    uint32_t st;

    uc_import_req(req, busid);
    if (uc_send(c, req, sizeof(req)) < 0 || uc_recv(c, hdr, sizeof(hdr)) < 0)
        return -1;
    if (usbip_get16(hdr) != USBIP_VERSION || usbip_get16(hdr + 2) != USBIP_OP_REP_IMPORT)
        return -1;
    st = usbip_get32(hdr + 4);
    if (st != 0)
        return (int)st;
    return uc_recv(c, rec, USBIP_DEV_REC_LEN) < 0 ? -1 : 0;
}

int uc_control(struct uclient *c, const uint8_t setup[8], uint8_t *data, uint16_t len,
               uint32_t *actual)
{
    uint8_t hdr[USBIP_HDR_LEN];
    uint32_t dir = (setup[0] & 0x80) ? USBIP_DIR_IN : USBIP_DIR_OUT;
    uint32_t seq = ++c->seq, got;
    int32_t status;

    uc_submit_hdr(hdr, seq, dir, 0, len, setup);
    if (uc_send(c, hdr, sizeof(hdr)) < 0)
        return 1;
    if (dir == USBIP_DIR_OUT && len && uc_send(c, data, len) < 0)
        return 1;
    if (uc_recv(c, hdr, sizeof(hdr)) < 0)
        return 1;
    if (usbip_get32(hdr) != USBIP_RET_SUBMIT || usbip_get32(hdr + 4) != seq)
        return 1;
    status = (int32_t)usbip_get32(hdr + 0x14);
    got = usbip_get32(hdr + 0x18);
    if (got > len)
        return 1;
    if (dir == USBIP_DIR_IN && got && uc_recv(c, data, got) < 0)
        return 1;
    if (actual)
        *actual = got;
    return status;
}
