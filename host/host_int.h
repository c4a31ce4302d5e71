/*
 * host_int.h - internals shared by the files of the host library.
 */
#ifndef UDFU_HOST_INT_H
#define UDFU_HOST_INT_H

#include "udfu_host.h"

/* Standard requests and descriptor types (USB 2.0 chapter 9). */
#define USB_REQ_GET_DESCRIPTOR 0x06
#define USB_REQ_SET_CONFIGURATION 0x09
#define USB_REQ_SET_INTERFACE 0x0B
#define USB_DT_DEVICE 0x01
#define USB_DT_CONFIG 0x02
#define USB_DT_STRING 0x03
#define USB_DT_INTERFACE 0x04

struct udfu_host_dev {
    const struct udfu_host_transport_ops *ops;
    void *ctx;
    struct udfu_host_info info;
    struct udfu_host_match match;  /* copy without the strings */
    uint16_t first_pid;            /* PID before a detach, for suffix checks */
    uint8_t alt;
    uint32_t timeout_ms;
    udfu_host_progress_fn progress;
    void *progress_ctx;
    char msg[UDFU_HOST_MSG_LEN];
    /* Time the transport's own sleep() made pass (a virtual clock does
     * not move the real one), so that limits hold on both kinds. */
    uint64_t slept_ms;
    /* Sectors erased during the current DfuSe download, so that two
     * elements sharing a sector do not erase each other. Each alt is its
     * own address space: the same address on another alt is another
     * sector. */
    struct host_erased *erased;
    size_t erased_count, erased_cap;
};

struct host_erased {
    uint8_t alt;
    uint32_t start;
};

/* dev.c */
int host_control(struct udfu_host_dev *d, uint8_t type, uint8_t req, uint16_t value,
                 uint16_t index, uint8_t *data, uint16_t len);
void host_sleep(struct udfu_host_dev *d, uint32_t ms);
/* Milliseconds on the device's clock: the monotonic clock plus what the
 * transport's sleep() made pass. Only differences mean anything. */
uint64_t host_now(struct udfu_host_dev *d);

/* A wait loop with a limit: wall-clock time (host_now) and a run of
 * replies that ask for no wait at all. */
struct host_limit {
    uint64_t deadline;      /* host_now() when the wait must end */
    uint32_t limit_ms;      /* for messages */
    uint32_t zero_polls, zero_limit;
};
void host_limit_start(struct udfu_host_dev *d, struct host_limit *l, uint32_t limit_ms,
                      uint32_t zero_limit);
/* Sleeps bwPollTimeout before the next poll, as DFU wants, unless that
 * would end past the limit (or the run of zero waits is too long): then
 * UDFU_ERR_TIMEOUT at once, without sleeping, and the caller says why.
 * A device may ask for hours (bwPollTimeout is 24 bits); the host never
 * waits longer than its limit. */
int host_limit_pause(struct udfu_host_dev *d, struct host_limit *l, uint32_t poll_ms);
void host_progress(struct udfu_host_dev *d, enum udfu_host_phase ph, uint64_t done,
                   uint64_t total);
int host_probe(struct udfu_host_dev *d, const struct udfu_host_match *m);
/* Reads the descriptors of a device behind ops/ctx into info (no handle
 * needed); used by discovery. 0, 1 if the device has no DFU interface
 * (that m allows), or < 0 on a transfer error. */
int host_probe_info(const struct udfu_host_transport_ops *ops, void *ctx,
                    const struct udfu_host_match *m, struct udfu_host_info *info,
                    uint32_t timeout_ms);
/* Closes the transport (if any); the handle stays usable. */
void host_close(struct udfu_host_dev *d);
/* udfu_host_attach() that leaves the transport attached on failure (the
 * caller may retry, then closes). */
int host_attach_keep(struct udfu_host_dev *d, const struct udfu_host_transport_ops *ops,
                     void *ctx, const struct udfu_host_match *m);
/* Describes a transport error for an operation ("GETSTATUS"). */
int host_xfer_fail(struct udfu_host_dev *d, int err, const char *what);

/* dfu.c */
/* A device error (bStatus), turned into the closest udfu_err. */
int host_status_err(uint8_t status);
/* What the user can do about a device error (bStatus). */
const char *host_status_hint(uint8_t status);
/* GETSTATUS until the device is no longer busy; fails on dfuERROR, and on
 * any bStatus other than OK whatever bState says (bStatus is the result of
 * the last request), with a message built from bStatus and the request
 * named what. */
int host_wait(struct udfu_host_dev *d, struct udfu_host_status *st, const char *what,
              uint32_t addr);
/* A failed DNLOAD/UPLOAD: a stall is explained with the device's bStatus
 * (and cleared); other failures with the transport error. */
int host_refused(struct udfu_host_dev *d, int err, const char *what, uint32_t addr);
/* A reply with bStatus other than OK (or dfuERROR): the error named by
 * bStatus, with the device put back where the next operation can start
 * (CLRSTATUS in dfuERROR, ABORT in an idle state). */
int host_device_error(struct udfu_host_dev *d, const struct udfu_host_status *st,
                      const char *what, uint32_t addr);
/* The current alt claims DfuSe (bcdDFU 0x011A and a name starting with
 * '@') but its layout does not parse: neither DfuSe nor plain DFU may be
 * spoken to it (plain block 0 is a DfuSe command). 0, or
 * UDFU_ERR_UNSUPPORTED with a message. */
int host_check_layout(struct udfu_host_dev *d, uint8_t alt);
int host_dnload(struct udfu_host_dev *d, uint16_t block, const uint8_t *data, uint16_t len);
int host_upload_block(struct udfu_host_dev *d, uint16_t block, uint8_t *buf, uint16_t len);
uint16_t host_xfer_size(const struct udfu_host_dev *d);

/* usbip.c and libusb.c: transports that can be constructed by the open
 * functions. */
int host_usbip_connect(const char *host, uint16_t port, const char *busid,
                       const struct udfu_host_transport_ops **ops, void **ctx, char *msg,
                       size_t msg_size);

/* UTF-16LE string descriptor -> UTF-8. */
void host_utf16_to_utf8(const uint8_t *desc, int len, char *out, size_t size);

#endif
