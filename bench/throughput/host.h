/*
 * host.h - dfu-util 0.11's download algorithm (REFERENCE section 4, and
 * the facts read from its source: dfu_load.c for DFU 1.1, dfuse.c for
 * DfuSe) on the simulated bus, one synchronous control transfer at a time.
 *
 * DFU 1.1 (dfu-util -D file.bin): per block DNLOAD, then GETSTATUS until
 * dfuDNLOAD-IDLE or dfuERROR, sleeping bwPollTimeout after each other
 * answer.
 * DfuSe (dfu-util -s ADDR -D file.bin): first an erase pass (ERASE_PAGE
 * command for every page the image touches, in order), then per chunk a
 * SET_ADDRESS command and the data as block 2. A command's first
 * GETSTATUS must report dfuDNBUSY; after every GETSTATUS of a command or a
 * chunk dfu-util sleeps its bwPollTimeout, until dfuDNLOAD-IDLE.
 * Neither counts the start-up requests, the zero-length DNLOAD, the
 * manifestation or the leave: the run ends when the last block is
 * acknowledged (dfuDNLOAD-IDLE).
 */
#ifndef BENCH_HOST_H
#define BENCH_HOST_H

#include <stdint.h>

#include "dev.h"
#include "usbtime.h"

struct host {
    struct usb_bus *bus;
    struct dev *dev;
    ps_t now;
    uint64_t transfers, getstatus, polls_slept;
    ps_t slept;            /* total time asleep in bwPollTimeout */
    uint32_t max_poll;     /* largest bwPollTimeout seen (ms) */
    int failed;            /* dfu-util would have exited with an error */
    int trace;             /* print every transfer (stderr) */
    char msg[160];
};

void host_init(struct host *h, struct usb_bus *bus, struct dev *dev);

/* One control transfer (interface 0). OUT: len bytes from buf; IN: up to
 * len bytes into buf. Returns the bytes moved, or -1 on a stall. */
int host_xfer(struct host *h, uint8_t bm, uint8_t req, uint16_t value, uint16_t len,
              uint8_t *buf);

/* dfu-util -D, plain DFU 1.1. 0, or -1 with h->msg. */
int host_dfu(struct host *h, uint16_t xfer, const uint8_t *img, uint32_t len);
/* dfu-util -s addr -D, DfuSe; pages come from part (the layout). */
int host_dfuse(struct host *h, uint16_t xfer, const struct flash_part *part, uint32_t addr,
               const uint8_t *img, uint32_t len);

#endif
