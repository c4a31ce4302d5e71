/*
 * vdev.h - the virtual DFU device behind udfu-virtual: a simulated NOR
 * flash (ports/sim) with real sector geometry and timing, the udfu DFU
 * class core and run-time class under usbd, exported over USB/IP.
 *
 * Two personalities, as a real device with a bootloader has:
 *   run-time mode (PID)      the "application": one DFU run-time interface;
 *                            DETACH makes it drop off the bus and come back
 *   DFU mode (PID + 1)       the "bootloader": alt 0 DfuSe over the whole
 *                            flash and/or plain DFU 1.1 over the image slot
 *                            (see enum vdev_alts)
 * The bootloader is udfu's own boot layer (udfu_boot.h) in layout (a),
 * single slot + DFU fallback: the application area is one image slot, the
 * two sectors below it hold the commit journal (read-only to the host),
 * downloads go through udfu_boot_erase()/udfu_boot_prog(), manifestation
 * and DfuSe leave commit the image (udfu_boot_commit()), and every reset
 * runs udfu_boot_select(): a committed, verified image with a sane vector
 * table boots run-time mode, anything else stays in DFU mode and says why.
 * A mode change closes the USB/IP connection (the device detaches itself,
 * bitWillDetach) and offers the device again under the new PID.
 *
 * Not thread-safe; one instance per process is the intended use, but
 * nothing global is kept except what main.c adds (signals).
 */
#ifndef UDFU_PORT_VDEV_H
#define UDFU_PORT_VDEV_H

#include <stddef.h>
#include <stdint.h>

#include "udfu_boot.h"
#include "udfu_dfu.h"
#include "udfu_nor.h"
#include "udfu_rt.h"
#include "udfu_usbd.h"
#include "usbip.h"
#include "usbip_dcd.h"

#define VDEV_MAX_REGIONS 16
#define VDEV_NAME_LEN 64

/* VDEV_APP_NO_USB: an image booted in a build whose usbd serves DFU mode
 * only (UDFU_CFG_USBD_RT 0); the device is off the bus. */
enum vdev_mode { VDEV_RUNTIME, VDEV_DFU, VDEV_APP_NO_USB };

enum vdev_reset { VDEV_RESET_NONE, VDEV_RESET_LEAVE, VDEV_RESET_DETACH };

/* The alt settings of DFU mode. dfu-util treats every alt of an interface
 * whose bcdDFUVersion is 0x011A as DfuSe, so it can use only the DfuSe alt
 * of a mixed device (hence DfuSe alone is the default); the udfu CLI
 * handles all three. */
enum vdev_alts {
    VDEV_ALTS_DFUSE = 0, /* alt 0 DfuSe whole flash only */
    VDEV_ALTS_MIXED,     /* alt 0 DfuSe whole flash, alt 1 plain DFU image slot */
    VDEV_ALTS_PLAIN      /* alt 0 plain DFU 1.1 image slot only (bcdDFU 0x0110) */
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
    uint8_t app_first;                      /* map[app_first..]: the image slot */
    uint32_t app_start, flash_end;          /* the slot is [app_start, flash_end) */
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

    /* the bootloader (vdev_boot.c) */
    struct udfu_boot boot;
    struct udfu_boot_cfg boot_cfg;
    struct udfu_boot_slot slot;
    uint32_t flag_words[2];  /* "no-init RAM": the boot-request flag */
    struct udfu_boot_flag flag;

    enum vdev_mode mode;
    enum vdev_reset reboot;  /* a reset due at the next task, and why */
    uint32_t leave_addr;
    struct vdev_op op;
    uint64_t t0;             /* start of the 32-bit ms clock given to usbd */
    unsigned boots;          /* times the bootloader ran */
    int image_valid;         /* 1 if the last boot decision chose the image */
    struct udfu_boot_hdr image; /* its header (valid if image_valid) */
    char image_desc[256];    /* what boots, or why nothing does */
    char app_name[64];       /* the image's "udfu-app:" name, or "" */
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

/* ---- vdev_boot.c: the bootloader ---- */

/* Payload offset in the slot (udfu_boot.h default): the application is
 * linked at slot + VDEV_HDR_SIZE, which also suits a vector table that
 * needs 512-byte alignment (Cortex-M4 with up to 112 interrupts). */
#define VDEV_HDR_SIZE 512u
/* The Cortex-M RAM the initial stack pointer must point into: the
 * STM32F4's 128 KiB of contiguous SRAM. */
#define VDEV_SRAM_START 0x20000000u
#define VDEV_SRAM_END 0x20020000u
/* An image may name itself: this tag followed by a NUL-terminated name
 * anywhere in the payload becomes the run-time product string, standing
 * in for the application's own USB descriptors. */
#define VDEV_APP_TAG "udfu-app:"

/* Derives the boot layer's layout from the memory map (the slot is
 * [app_start, flash_end), the journal the two sectors below it) and
 * checks it. 0, or -1 with a message on stderr. */
int vdev_boot_setup(struct vdev *v);

/* The bootloader after a reset: takes the boot-request flag, reads the
 * journal, runs udfu_boot_select() and checks the chosen image's vector
 * table. Fills image_valid, image, image_desc and app_name. 1 if the image
 * boots, 0 if the device stays in DFU mode (image_desc says why). May
 * write the journal, as udfu_boot_select() may. */
int vdev_boot_check(struct vdev *v);

/* manifest() of the DFU class: verify and commit the slot. Prints the
 * outcome. 0 or UDFU_ERR_FIRMWARE / UDFU_ERR_CRC / a flash error. */
int vdev_boot_commit(struct vdev *v);

/* What the slot holds, judged as the boot layer does, and what the journal
 * says about it: why it would not boot, or that it is committed. Changes
 * nothing (for the messages). Fills buf. */
void vdev_boot_explain(struct vdev *v, char *buf, size_t size);

#endif /* UDFU_PORT_VDEV_H */
