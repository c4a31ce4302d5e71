/*
 * vdev.h - the virtual DFU device behind udfu-virtual: a simulated NOR
 * flash (ports/sim) with real sector geometry and timing, the udfu DFU
 * class core and run-time class under usbd, exported over USB/IP.
 *
 * Two personalities, as a real device with a bootloader has:
 *   run-time mode (PID)      the "application": one DFU run-time interface;
 *                            DETACH makes it drop off the bus and come back
 *   DFU mode (PID + 1)       the "bootloader": alt 0 DfuSe over the whole
 *                            flash, alt 1 plain DFU 1.1 over the application
 *                            (or only one of them, see enum vdev_alts)
 * At start, and whenever the DFU side leaves, the "boot ROM" checks the
 * application area: a valid image boots run-time mode, else DFU mode stays.
 * A mode change closes the USB/IP connection (the device detaches itself,
 * bitWillDetach) and offers the device again under the new PID.
 *
 * Not thread-safe; one instance per process is the intended use, but
 * nothing global is kept except what main.c adds (signals).
 */
#ifndef UDFU_PORT_VDEV_H
#define UDFU_PORT_VDEV_H

#include <stdint.h>

#include "udfu_dfu.h"
#include "udfu_nor.h"
#include "udfu_rt.h"
#include "udfu_usbd.h"
#include "usbip.h"
#include "usbip_dcd.h"

#define VDEV_MAX_REGIONS 16
#define VDEV_NAME_LEN 64

enum vdev_mode { VDEV_RUNTIME, VDEV_DFU };

/* The alt settings of DFU mode. dfu-util treats every alt of an interface
 * whose bcdDFUVersion is 0x011A as DfuSe, so it can use only the DfuSe alt
 * of a mixed device; the udfu CLI handles both. */
enum vdev_alts {
    VDEV_ALTS_MIXED = 0, /* alt 0 DfuSe whole flash, alt 1 plain DFU app area */
    VDEV_ALTS_DFUSE,     /* alt 0 DfuSe whole flash only */
    VDEV_ALTS_PLAIN      /* alt 0 plain DFU 1.1 app area only (bcdDFU 0x0110) */
};

struct vdev_opts {
    const char *host;        /* listen address (NULL: 127.0.0.1) */
    uint16_t port;           /* 0: pick a free port */
    const char *busid;       /* NULL: "1-1" */
    const char *flash;       /* backing file, NULL: RAM only */
    const char *layout;      /* DfuSe layout string, NULL: STM32F4-like map */
    uint16_t vid;            /* 0: 0x1209 (pid.codes) */
    uint16_t pid;            /* run-time PID (0: 0x0001); DFU mode is pid + 1 */
    uint16_t transfer_size;  /* wTransferSize (0: 2048) */
    int timing;              /* percent of the datasheet figures; 0: instant;
                                < 0: default (100) */
    const char *serial;      /* NULL: "UDFUVIRT0001" */
    enum vdev_alts alts;
    int verbose;             /* 0 quiet, 1 sessions, 2 every URB */
};

/* A flash operation that is "in progress" (realistic timing). */
struct vdev_op {
    uint8_t kind;            /* 0 none, 1 erase, 2 prog */
    uint32_t addr, len;
    const uint8_t *buf;
    uint64_t due;            /* ms, monotonic */
};

struct vdev {
    struct vdev_opts opt;
    char name[VDEV_NAME_LEN];               /* alt 0 name from the layout */
    struct udfu_region map[VDEV_MAX_REGIONS]; /* the whole flash (alt 0) */
    uint8_t map_count;
    uint8_t app_first;                      /* map[app_first..] = alt 1 */
    uint32_t app_start, flash_end;
    struct udfu_target whole, app;          /* the flash; the application area */
    struct udfu_target targets[2];          /* the alt settings */
    uint8_t target_count;
    struct udfu_nor nor;
    uint8_t *xfer;                          /* transfer_size bytes */

    struct udfu_dfu dfu;
    struct udfu_dfu_cfg dfu_cfg;
    struct udfu_rt rt;
    struct udfu_rt_cfg rt_cfg;
    struct udfu_usbd usbd;
    struct udfu_usbd_cfg usbd_cfg;
    struct usbip_dcd dcd;
    struct usbip_server srv;

    enum vdev_mode mode;
    int reboot;              /* 1: switch personality at the next task */
    enum vdev_mode reboot_to;
    uint32_t leave_addr;
    struct vdev_op op;
    uint64_t t0;             /* start of the 32-bit ms clock given to usbd */
    unsigned boots;          /* times the "boot ROM" ran */
    int image_valid;         /* result of the last boot check */
    char image_desc[160];    /* what the last boot check found */
};

/* Builds the memory map, opens the flash, boots (choosing the mode) and
 * starts listening. Prints "udfu-virtual: listening on HOST:PORT busid B"
 * on stdout. Returns 0, or -1 with a message on stderr. */
int vdev_open(struct vdev *v, const struct vdev_opts *opt);

/* One turn of the event loop: waits up to the time the device needs
 * (at most max_wait_ms) for USB/IP traffic, then runs timers, flash
 * completions and mode switches. Returns 0 or -1 (poll failed). */
int vdev_step(struct vdev *v, int max_wait_ms);

/* Finishes an operation in progress (so the flash is consistent), ends
 * any session, closes the flash (its file holds everything) and frees. */
void vdev_close(struct vdev *v);

/* The "boot ROM" check of the application area; fills v->image_desc.
 * 1 if an image would boot. */
int vdev_check_image(struct vdev *v);

#endif /* UDFU_PORT_VDEV_H */
