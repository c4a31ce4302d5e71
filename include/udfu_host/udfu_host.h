/*
 * udfu_host.h - the host side of udfu: find a DFU device, open it through a
 * transport, and run DFU 1.1 / ST DfuSe operations on it the way real
 * tools do (state recovery with CLRSTATUS/ABORT, bwPollTimeout honoured
 * exactly, manifestation and re-enumeration handled).
 *
 * Host only: uses malloc and libc. Linux for the libusb and USB/IP
 * transports. Not thread-safe per device: one thread uses one device.
 *
 * Errors: every fallible function returns 0 (or a count) or a negative
 * enum udfu_err, and leaves a one-line message saying what happened and
 * what to do in udfu_host_message(dev).
 */
#ifndef UDFU_HOST_H
#define UDFU_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "udfu_mem.h"
#include "udfu_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UDFU_HOST_MSG_LEN 512       /* longest message, NUL included */
#define UDFU_HOST_MAX_ALTS 32       /* alt settings kept per DFU interface */
#define UDFU_HOST_MAX_REGIONS 32    /* regions kept per DfuSe layout */
#define UDFU_HOST_TIMEOUT_MS 5000   /* control transfer timeout (hosts use 5 s) */
#define UDFU_HOST_USBIP_PORT 3240

/* ---- transports ------------------------------------------------------------
 *
 * A transport moves control transfers to one device. The library owns the
 * context once a transport is attached and frees it with close(). */
struct udfu_host_transport_ops {
    /* One control transfer on EP0. OUT: setup->wLength bytes from data.
     * IN: up to setup->wLength bytes into data. Returns the bytes moved, or
     * UDFU_ERR_STALL (the device stalled), UDFU_ERR_TIMEOUT, UDFU_ERR_NODEV
     * (device gone) or UDFU_ERR_IO. */
    int (*control)(void *ctx, const struct udfu_setup *setup, uint8_t *data,
                   uint32_t timeout_ms);
    /* Makes interface/alt the active one for class requests: claims the
     * interface (libusb) or configures the device (SET_CONFIGURATION 1 the
     * first time), then SET_INTERFACE. 0 or < 0. */
    int (*select)(void *ctx, uint8_t interface, uint8_t alt);
    /* USB bus reset, or the transport's nearest equivalent (USB/IP: drop the
     * connection and import again). The device may re-enumerate; that is
     * not an error. */
    int (*reset)(void *ctx);
    /* Drops the connection and finds the same device again (same port path,
     * USB/IP busid, or serial), retrying up to timeout_ms. The device may
     * come back in another mode with another PID. 0 or UDFU_ERR_NODEV. */
    int (*reopen)(void *ctx, uint32_t timeout_ms);
    /* Optional: wait ms milliseconds (NULL: real time). The loopback
     * transport advances a virtual clock instead. */
    void (*sleep)(void *ctx, uint32_t ms);
    /* Where the device is, for messages and `udfu list`: "1-2.3" (libusb),
     * "127.0.0.1:3240/1-1" (USB/IP). Never NULL. */
    const char *(*where)(void *ctx);
    /* Closes the connection and frees ctx. */
    void (*close)(void *ctx);
    /* Optional: waits up to timeout_ms for the device to disconnect on its
     * own (it is leaving DFU mode). 0 once gone, UDFU_ERR_TIMEOUT if it
     * stayed. NULL: the library does not wait. */
    int (*wait_gone)(void *ctx, uint32_t timeout_ms);
};

/* ---- what a device is ------------------------------------------------------ */

struct udfu_host_alt {
    uint8_t alt;
    char name[256];      /* iInterface string, "" if none or unreadable */
    uint8_t dfuse;       /* 1: name is a DfuSe layout that parsed */
    char mem_name[64];   /* the layout's name ("Internal Flash") */
    uint8_t region_count;
    struct udfu_region regions[UDFU_HOST_MAX_REGIONS];
};

struct udfu_host_info {
    uint16_t vid, pid, bcd_device;
    char manufacturer[128], product[128], serial[128]; /* "" if none */
    char where[176];         /* see transport where() */
    uint8_t interface;       /* bInterfaceNumber of the DFU interface */
    uint8_t protocol;        /* UDFU_PROTOCOL_RUNTIME or UDFU_PROTOCOL_DFU */
    uint8_t has_func;        /* a functional descriptor was found */
    uint8_t attributes;      /* UDFU_ATTR_* */
    uint16_t detach_timeout; /* wDetachTimeOut, ms */
    uint16_t transfer_size;  /* wTransferSize */
    uint16_t bcd_dfu;        /* bcdDFUVersion */
    uint8_t strings_ok;      /* 0: could not open the device to read strings */
    uint8_t alt_count;
    struct udfu_host_alt alts[UDFU_HOST_MAX_ALTS];
};

/* Which device to open. Zero-initialise, then set what matters. */
struct udfu_host_match {
    int vid, pid;          /* 0: any (both 0 in a zeroed struct) */
    const char *serial;    /* NULL: any */
    const char *path;      /* libusb port path "1-2.3", NULL: any */
    int interface;         /* bInterfaceNumber + 1; 0: the first DFU interface */
};

/* ---- the device handle ----------------------------------------------------- */

struct udfu_host_dev;

enum udfu_host_phase {
    UDFU_HOST_ERASE,
    UDFU_HOST_DOWNLOAD,
    UDFU_HOST_UPLOAD,
    UDFU_HOST_MANIFEST,
    UDFU_HOST_DETACH
};

/* Called as work advances: done of total bytes (erase: bytes of sectors).
 * Called with done == 0 when a phase starts and done == total when it ends. */
typedef void (*udfu_host_progress_fn)(void *ctx, enum udfu_host_phase phase, uint64_t done,
                                      uint64_t total);

/* A new, closed handle (NULL if out of memory). Free with udfu_host_free(). */
struct udfu_host_dev *udfu_host_new(void);
/* Closes the transport (if any) and frees the handle. NULL is fine. */
void udfu_host_free(struct udfu_host_dev *d);

/* The message of the last failure ("" if none). Valid until the next call
 * on d. */
const char *udfu_host_message(const struct udfu_host_dev *d);
/* The message of the last failure plus its code, as set by the library;
 * for callers who build their own failures (the CLI). Returns err. */
int udfu_host_fail(struct udfu_host_dev *d, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Progress callback (NULL: none). */
void udfu_host_set_progress(struct udfu_host_dev *d, udfu_host_progress_fn fn, void *ctx);
/* Timeout for each control transfer, ms (0: UDFU_HOST_TIMEOUT_MS). */
void udfu_host_set_timeout(struct udfu_host_dev *d, uint32_t ms);

/* Attaches a transport (d takes ownership of ctx: it is closed on failure
 * too), reads the device's descriptors and strings, and selects alt 0 of
 * the DFU interface picked by m (NULL: the first one). 0, UDFU_ERR_NODEV
 * (no DFU interface), UDFU_ERR_IO ... */
int udfu_host_attach(struct udfu_host_dev *d, const struct udfu_host_transport_ops *ops,
                     void *ctx, const struct udfu_host_match *m);

/* What is known about the open device (NULL when closed). Owned by d. */
const struct udfu_host_info *udfu_host_info(const struct udfu_host_dev *d);

/* Selects alt setting alt (SET_INTERFACE). 0, UDFU_ERR_RANGE (no such alt). */
int udfu_host_select_alt(struct udfu_host_dev *d, uint8_t alt);
/* The alt setting whose name is name (exact match), or < 0. */
int udfu_host_find_alt(const struct udfu_host_dev *d, const char *name);
/* The current alt setting. */
uint8_t udfu_host_alt(const struct udfu_host_dev *d);

/* ---- opening real devices -------------------------------------------------- */

/* 1 if this build has the libusb transport. */
int udfu_host_have_libusb(void);

/* Lists the DFU interfaces of the USB devices on this machine (libusb).
 * *list is malloc'd (free() it), *count entries. Devices that cannot be
 * opened are listed with strings_ok = 0. Returns the count or < 0 with a
 * message in msg. */
int udfu_host_list_libusb(struct udfu_host_info **list, char *msg, size_t msg_size);

/* Opens the one device that matches m through libusb. Two or more matches
 * is UDFU_ERR_INVAL with the candidates in the message. */
int udfu_host_open_libusb(struct udfu_host_dev *d, const struct udfu_host_match *m);

/* Lists the DFU devices a USB/IP server exports (host NULL: 127.0.0.1,
 * port 0: 3240). Each one is briefly imported to read its strings; one
 * that another client holds is listed with strings_ok = 0. */
int udfu_host_list_usbip(const char *host, uint16_t port, struct udfu_host_info **list,
                         char *msg, size_t msg_size);

/* Imports busid from a USB/IP server (busid NULL: the one exported device
 * that matches m) and opens it; no kernel module, no root. */
int udfu_host_open_usbip(struct udfu_host_dev *d, const char *host, uint16_t port,
                         const char *busid, const struct udfu_host_match *m);

/* ---- DFU 1.1 ---------------------------------------------------------------- */

struct udfu_host_status {
    uint8_t status;      /* enum udfu_status */
    uint32_t poll_ms;    /* bwPollTimeout */
    uint8_t state;       /* enum udfu_state */
    uint8_t istring;
};

/* Raw requests. Each returns 0 (GETSTATE: the state) or < 0; a GETSTATUS
 * reply that is not exactly 6 bytes is UDFU_ERR_IO. */
int udfu_host_get_status(struct udfu_host_dev *d, struct udfu_host_status *st);
int udfu_host_get_state(struct udfu_host_dev *d);
int udfu_host_clear_status(struct udfu_host_dev *d);
int udfu_host_abort(struct udfu_host_dev *d);

/* Brings a DFU-mode device to dfuIDLE as dfu-util does: dfuERROR ->
 * CLRSTATUS, dfuDNLOAD-IDLE / dfuUPLOAD-IDLE -> ABORT, busy states ->
 * wait bwPollTimeout. A device in run-time mode is UDFU_ERR_STATE. */
int udfu_host_recover(struct udfu_host_dev *d);

/* Run-time -> DFU mode: DETACH (wValue = wDetachTimeOut, or 1000 ms when
 * the device gives none), a bus reset unless bitWillDetach, then waits
 * up to timeout_ms (0: 10 s) for the device to come back in DFU mode and
 * re-reads its descriptors. A device already in DFU mode: 0, nothing sent. */
int udfu_host_detach(struct udfu_host_dev *d, uint32_t timeout_ms);

/* Waits up to timeout_ms (0: 10 s) for the device to come back after it
 * re-enumerated (leave, manifestation, reset) in the given mode
 * (UDFU_PROTOCOL_RUNTIME / UDFU_PROTOCOL_DFU, 0: either), then re-reads its
 * descriptors. 0 or UDFU_ERR_NODEV. */
int udfu_host_reconnect(struct udfu_host_dev *d, uint8_t protocol, uint32_t timeout_ms);

/* USB bus reset (USB/IP: unplug and import again, the import being the
 * reset). A plain DFU device leaves DFU mode this way when its firmware is
 * valid; returns once such a device has gone (at most 3 s). */
int udfu_host_reset(struct udfu_host_dev *d);

/* Plain DFU download of a whole image to the current alt: blocks of
 * wTransferSize, GETSTATUS after each (sleeping exactly bwPollTimeout while
 * the device is busy), the zero-length DNLOAD, then manifestation
 * (MANIFEST-WAIT-RESET -> bus reset). A device that goes away during
 * manifestation is done, not failed. Any bStatus other than OK fails the
 * download, whatever the state; a busy or manifestation phase longer than
 * 10 minutes (a bwPollTimeout that would pass that is not slept) is
 * UDFU_ERR_TIMEOUT. 0 or < 0. */
int udfu_host_download(struct udfu_host_dev *d, const uint8_t *data, size_t len);

/* Plain DFU upload into buf (cap bytes) until the device sends a short
 * block or cap bytes arrived. Returns the byte count or < 0. */
long udfu_host_upload(struct udfu_host_dev *d, uint8_t *buf, size_t cap);

/* ---- ST DfuSe (alt settings whose name is a layout string) ------------------ */

/* 1 if the current alt speaks DfuSe (bcdDFU 0x011A and a layout string). */
int udfu_host_is_dfuse(const struct udfu_host_dev *d);

/* Checks [addr, addr + len) against the current alt's layout, without
 * touching the device: every byte must have all permissions in need
 * (UDFU_MEM_*). The message names the offending range and a usable
 * address. 0, UDFU_ERR_RANGE, UDFU_ERR_PERM, UDFU_ERR_UNSUPPORTED. */
int udfu_host_dfuse_check(struct udfu_host_dev *d, uint32_t addr, uint32_t len, uint8_t need);

/* Individual commands (each waits for the command to finish). */
int udfu_host_dfuse_set_address(struct udfu_host_dev *d, uint32_t addr);
int udfu_host_dfuse_erase_page(struct udfu_host_dev *d, uint32_t addr);
/* Get Commands: the command bytes the device supports. Count or < 0. */
int udfu_host_dfuse_get_commands(struct udfu_host_dev *d, uint8_t *cmds, size_t cap);

/* Erases every sector that [addr, addr + len) touches, after checking they
 * are all erasable. */
int udfu_host_dfuse_erase(struct udfu_host_dev *d, uint32_t addr, uint32_t len);
/* Mass erase (the device may take long; bwPollTimeout is honoured). */
int udfu_host_dfuse_mass_erase(struct udfu_host_dev *d);

/* Writes data at addr: checks the whole range first (writable and
 * erasable), erases the sectors it touches, then for each chunk of
 * wTransferSize sets the address pointer and sends DNLOAD block 2. */
int udfu_host_dfuse_write(struct udfu_host_dev *d, uint32_t addr, const uint8_t *data,
                          size_t len);

/* Reads len bytes at addr into buf (UPLOAD blocks >= 2). */
int udfu_host_dfuse_read(struct udfu_host_dev *d, uint32_t addr, uint8_t *buf, size_t len);

/* Leaves DFU mode: set address (when has_addr) then a zero-length DNLOAD;
 * the device must answer dfuMANIFEST and then go. Without an address the
 * start of the first writable region is used. While the device still
 * answers dfuMANIFEST, asks again after each bwPollTimeout (up to 60 s in
 * all: a bwPollTimeout that would end past that is UDFU_ERR_TIMEOUT at
 * once, never slept). Returns 0 once the device has disconnected (or
 * stopped answering), so that the next open finds it in its new mode. A
 * device that reports dfuERROR instead (its check refused the image) is an
 * error (UDFU_ERR_FIRMWARE, or the one its status names), cleared with
 * CLRSTATUS so the next command starts clean; one that answers dfuIDLE
 * and is still there 3 s later stayed in DFU mode: UDFU_ERR_STATE. */
int udfu_host_dfuse_leave(struct udfu_host_dev *d, int has_addr, uint32_t addr);

/* Downloads a whole DfuSe file (prefix, targets, elements, suffix): every
 * target and element is checked against the device's layouts before
 * anything is erased, then each target's alt is selected and its elements
 * are written (sectors shared by two elements are erased once). vid/pid of
 * the suffix must match unless 0xFFFF or force. 0 or < 0. */
int udfu_host_dfuse_download_file(struct udfu_host_dev *d, const uint8_t *file, size_t len,
                                  int force);

/* Whether the file's suffix VID/PID fit the open device (0xFFFF matches
 * anything; in DFU mode a device may use another PID, so the run-time PID
 * is accepted too when known). 0 or UDFU_ERR_FORMAT with a message. */
int udfu_host_check_ids(struct udfu_host_dev *d, uint16_t vid, uint16_t pid);

#ifdef __cplusplus
}
#endif

#endif /* UDFU_HOST_H */
