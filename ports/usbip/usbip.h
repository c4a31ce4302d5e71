/*
 * usbip.h - a USB/IP server that exports one device (Linux, loopback).
 *
 * The server speaks the wire protocol of Linux's usbip (OP_REQ_DEVLIST,
 * OP_REQ_IMPORT, then USBIP_CMD_SUBMIT / USBIP_CMD_UNLINK on the imported
 * connection) and knows nothing about the device behind it: the device is a
 * set of callbacks (struct usbip_dev_ops) that receive URBs and complete
 * them, now or later, with usbip_server_complete().
 *
 * Every length that comes off the wire is checked before it is used. A
 * client that sends anything malformed (wrong version, unknown command,
 * transfer length over USBIP_MAX_URB_LEN, iso packets, too many URBs in
 * flight) is dropped; the server goes on serving the others and the next.
 *
 * URBs are handed to the device one at a time, oldest first: the device has
 * only EP0, whose transfers are serial anyway.
 *
 * Single-threaded: all calls, callbacks included, happen inside the caller's
 * thread, from usbip_server_step(), usbip_server_feed() or the calls the
 * device makes.
 */
#ifndef UDFU_PORT_USBIP_H
#define UDFU_PORT_USBIP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- wire constants (Linux Documentation/usb/usbip_protocol.rst) ---------- */

#define USBIP_VERSION 0x0111u
#define USBIP_DEFAULT_PORT 3240

#define USBIP_OP_REQ_DEVLIST 0x8005u
#define USBIP_OP_REP_DEVLIST 0x0005u
#define USBIP_OP_REQ_IMPORT 0x8003u
#define USBIP_OP_REP_IMPORT 0x0003u

/* Status of OP_REP_IMPORT, as the usbip tools name them. */
#define USBIP_ST_OK 0u
#define USBIP_ST_NA 1u       /* request failed */
#define USBIP_ST_DEV_BUSY 2u /* already imported by someone else */
#define USBIP_ST_DEV_ERR 3u
#define USBIP_ST_NODEV 4u    /* no such busid */
#define USBIP_ST_ERROR 5u

#define USBIP_CMD_SUBMIT 1u
#define USBIP_CMD_UNLINK 2u
#define USBIP_RET_SUBMIT 3u
#define USBIP_RET_UNLINK 4u

#define USBIP_DIR_OUT 0u
#define USBIP_DIR_IN 1u

/* enum usb_device_speed of Linux */
#define USBIP_SPEED_LOW 1u
#define USBIP_SPEED_FULL 2u
#define USBIP_SPEED_HIGH 3u

/* Linux errno values carried in the status fields. */
#define USBIP_EPIPE (-32)       /* endpoint stalled */
#define USBIP_ECONNRESET (-104) /* URB unlinked */

#define USBIP_OP_HDR_LEN 8u     /* version, code, status */
#define USBIP_IMPORT_REQ_LEN 40u
#define USBIP_PATH_LEN 256u
#define USBIP_BUSID_LEN 32u
#define USBIP_DEV_REC_LEN 312u  /* path .. bNumInterfaces */
#define USBIP_INTF_REC_LEN 4u
#define USBIP_HDR_LEN 48u       /* every CMD_ and RET_ header */
#define USBIP_SETUP_OFF 0x28u

/* ---- limits ------------------------------------------------------------------ */

/* Longest transfer_buffer_length accepted: the largest data stage a control
 * transfer can have (wLength is 16 bits). Anything longer drops the client. */
#define USBIP_MAX_URB_LEN 65535u
/* URBs queued on one connection before the client counts as abusive. */
#define USBIP_MAX_URBS 64
/* Simultaneous TCP clients (one importer plus listers and refusals). */
#define USBIP_MAX_CONNS 8
#define USBIP_MAX_INTF 8
/* A client that has not finished its OP_REQ_ after this long is dropped. */
#define USBIP_OP_TIMEOUT_MS 10000u
/* After the server closes a connection, how long it waits for the peer's
 * EOF before closing hard (closing with unread input would send a RST and
 * could destroy replies still in flight). */
#define USBIP_LINGER_MS 1000u

/* ---- the device's side --------------------------------------------------------- */

/* What OP_REP_DEVLIST and OP_REP_IMPORT say about the device. */
struct usbip_dev_info {
    char path[USBIP_PATH_LEN];
    uint32_t busnum, devnum, speed;
    uint16_t vid, pid, bcd_device;
    uint8_t dev_class, dev_subclass, dev_protocol;
    uint8_t config_value, num_configs, num_interfaces;
    struct {
        uint8_t cls, subclass, protocol;
    } intf[USBIP_MAX_INTF];
    uint8_t absent; /* 1: nothing on the bus now (empty list, imports refused) */
};

/* One submitted URB. The server owns it; the device may keep the pointer
 * from submit() until it calls usbip_server_complete() or unlink() is called
 * for it, whichever comes first. */
struct usbip_urb {
    struct usbip_urb *next; /* server's queue */
    uint32_t seqnum;
    uint32_t devid;
    uint32_t dir;           /* USBIP_DIR_IN or USBIP_DIR_OUT */
    uint32_t ep;            /* 0..15 */
    uint32_t flags;         /* transfer_flags, as sent */
    uint32_t len;           /* transfer_buffer_length, <= USBIP_MAX_URB_LEN */
    uint8_t setup[8];
    int32_t status;         /* set by usbip_server_complete() */
    uint32_t actual;
    uint8_t started, done;  /* server's bookkeeping */
    uint8_t data[];         /* len bytes: OUT data as received, or room for IN */
};

struct usbip_dev_ops {
    /* Fill in the device record (the device may change between imports,
     * e.g. run-time PID then DFU PID). Required. */
    void (*info)(void *ctx, struct usbip_dev_info *info);
    /* A client imported the device: a new session starts, as after a plug-in
     * and bus reset. Return 0, or < 0 to refuse (the client gets
     * USBIP_ST_DEV_ERR). Optional. */
    int (*attach)(void *ctx);
    /* The session ended because the client went away, misbehaved or the
     * server shut down (not after usbip_server_disconnect()). Every URB the
     * device held has been unlinked before. Optional. */
    void (*detach)(void *ctx);
    /* Start an URB. Complete it with usbip_server_complete(), from inside
     * this call or later. Required. */
    void (*submit)(void *ctx, struct usbip_urb *urb);
    /* Forget a started URB that has not completed: the client unlinked it or
     * the session ends. The pointer is invalid after this. Optional. */
    void (*unlink)(void *ctx, struct usbip_urb *urb);
};

/* ---- the server ------------------------------------------------------------------ */

struct usbip_buf {
    uint8_t *data;
    size_t len, cap;
};

enum usbip_phase {
    USBIP_CONN_FREE = 0,
    USBIP_CONN_OP,      /* waiting for OP_REQ_DEVLIST / OP_REQ_IMPORT */
    USBIP_CONN_URB,     /* imported: CMD_SUBMIT / CMD_UNLINK */
    USBIP_CONN_CLOSING  /* flushing replies, then waiting for EOF */
};

struct usbip_conn {
    int fd;                  /* -1: an in-memory connection (tests, fuzzing) */
    uint8_t phase;           /* enum usbip_phase */
    uint8_t shut;            /* SHUT_WR done */
    uint8_t eof;             /* the client sent no more (it may still read) */
    uint64_t deadline;       /* op timeout or linger end (ms, monotonic) */
    uint8_t *in;             /* USBIP_HDR_LEN + USBIP_MAX_URB_LEN bytes */
    size_t in_len;
    struct usbip_buf out;    /* replies not yet written */
    size_t out_off;
    struct usbip_urb *head, *tail;
    int urbs;
};

struct usbip_stats {
    unsigned accepted;     /* TCP clients taken */
    unsigned devlists;     /* OP_REP_DEVLIST sent */
    unsigned imports;      /* sessions started */
    unsigned refused;      /* OP_REP_IMPORT with an error status */
    unsigned dropped;      /* clients dropped for malformed input */
    unsigned client_ends;  /* sessions ended by the client (EOF, error, drop) */
    unsigned server_ends;  /* sessions ended by usbip_server_disconnect() */
    unsigned submits, unlinks, unlinked; /* CMD_SUBMIT, CMD_UNLINK, URBs cut */
};

struct usbip_server {
    const struct usbip_dev_ops *ops;
    void *ctx;
    char busid[USBIP_BUSID_LEN];
    int listen_fd;
    int verbose;             /* 1: log sessions to stderr; 2: every URB */
    struct usbip_conn conns[USBIP_MAX_CONNS];
    struct usbip_conn *session; /* the importer, or NULL */
    uint8_t pumping;
    struct usbip_stats stats;
};

/* Sets up s with no listening socket yet. busid: the bus ID the device is
 * exported as (e.g. "1-1", at most 31 chars). Returns 0 or -1 (bad args). */
int usbip_server_init(struct usbip_server *s, const struct usbip_dev_ops *ops, void *ctx,
                      const char *busid);

/* Listens on host:port (IPv4 dotted quad; port 0 picks a free one).
 * Returns 0 or -1 with errno set. */
int usbip_server_listen(struct usbip_server *s, const char *host, uint16_t port);

/* The port actually listened on, or 0. */
uint16_t usbip_server_port(const struct usbip_server *s);

/* Takes over a connected socket (made non-blocking here), or with fd -1
 * creates an in-memory connection fed by usbip_server_feed() and read with
 * usbip_server_take(). Returns the connection's id (>= 0), or -1 when all
 * USBIP_MAX_CONNS slots are taken (the fd is closed). */
int usbip_server_adopt(struct usbip_server *s, int fd);

/* Waits up to timeout_ms for socket events and handles them: accepts,
 * reads and parses requests, writes replies, closes what is done. Returns 0,
 * or -1 if poll() failed with something other than EINTR. */
int usbip_server_step(struct usbip_server *s, int timeout_ms);

/* Hands bytes to connection id as if they had been read from its socket.
 * Returns 0 if the connection is still open, -1 if it was closed (by a
 * protocol error or a reply that ends it). */
int usbip_server_feed(struct usbip_server *s, int id, const void *data, size_t len);

/* The peer of connection id hung up (what a 0-byte read tells the server
 * for a socket): the connection is closed, a session on it ends. */
void usbip_server_eof(struct usbip_server *s, int id);

/* Copies up to max bytes of pending output of connection id into buf and
 * removes them. Returns the count (0 when none or no such connection). */
size_t usbip_server_take(struct usbip_server *s, int id, void *buf, size_t max);

/* Phase of connection id (enum usbip_phase; FREE when closed). */
int usbip_server_phase(const struct usbip_server *s, int id);

/* The device finished urb with status (0, USBIP_EPIPE ...) and actual bytes
 * (clamped to urb->len; for IN, the first `actual` bytes of urb->data are
 * sent). urb is freed here or shortly after; do not touch it again. */
void usbip_server_complete(struct usbip_server *s, struct usbip_urb *urb, int32_t status,
                           uint32_t actual);

/* Ends the session from the device's side, as a device that drops off the
 * bus to re-enumerate: replies already completed are still delivered, then
 * the connection is closed; URBs not completed get no reply (the device's
 * unlink() is called for a started one). detach() is not called. The device
 * can be imported again at once. */
void usbip_server_disconnect(struct usbip_server *s);

/* 1 while a client has the device imported. */
int usbip_server_attached(const struct usbip_server *s);

/* Closes every connection (ending the session as the client going away
 * would) and the listening socket. */
void usbip_server_close(struct usbip_server *s);

/* Monotonic clock in ms (CLOCK_MONOTONIC). */
uint64_t usbip_now_ms(void);

/* Big-endian helpers for the wire format (also used by test clients). */
static inline uint32_t usbip_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint16_t usbip_get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void usbip_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void usbip_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

#ifdef __cplusplus
}
#endif

#endif /* UDFU_PORT_USBIP_H */
