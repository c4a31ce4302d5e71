/*
 * dev.h - the devices the throughput benchmark downloads to, behind one
 * interface the host model drives at simulated times:
 *
 *   udfu   the real class core (optionally through the real usbd), its
 *          flash callbacks returning UDFU_ERR_PENDING and completed by
 *          udfu_dfu_complete() when simulated time reaches the end of the
 *          operation; the main loop calls the task at every event and at
 *          every millisecond tick.
 *   seq    a reference "sequential" device as common DFU stacks behave:
 *          fixed bwPollTimeout, the flash work runs after the GETSTATUS
 *          that reported dfuDNBUSY, and the firmware answers nothing (NAK)
 *          until it is done. A model written for this benchmark, not udfu.
 *   ideal  infinitely fast flash, the fewest GETSTATUS dfu-util accepts:
 *          what the host and the bus alone cost (the bus bound).
 */
#ifndef BENCH_DEV_H
#define BENCH_DEV_H

#include <stdint.h>

#include "flashmodel.h"
#include "udfu_proto.h"
#include "usbtime.h"

struct dev {
    const char *name;
    /* Same contract as udfu_dfu_setup/_data/_status_done, at time now. */
    int (*setup)(struct dev *d, const struct udfu_setup *req, uint8_t **data);
    int (*data)(struct dev *d, uint16_t len);
    void (*status_done)(struct dev *d);
    /* Runs the device (main loop, flash completions) up to time t. */
    void (*advance)(struct dev *d, ps_t t);
    /* The firmware takes requests from this time on (0: always). */
    ps_t (*ready)(struct dev *d);
    /* 1 while flash work is queued or running. */
    int (*busy)(struct dev *d);
    void (*destroy)(struct dev *d);
    struct flash_mem mem;
    ps_t flash_done;       /* end of the last flash operation */
    ps_t flash_busy;       /* total time the flash was busy */
};

struct dev_opts {
    const struct flash_part *part;
    int dfuse;             /* 1: DfuSe target (dfu-util -s ADDR), 0: DFU 1.1 */
    uint16_t xfer;         /* wTransferSize */
    uint8_t buffers;       /* udfu: 1 or 2 */
    int via_usbd;          /* udfu: requests go through udfu_usbd */
    uint32_t poll_ms;      /* seq: the fixed bwPollTimeout */
};

struct dev *dev_udfu_new(const struct dev_opts *o);
struct dev *dev_seq_new(const struct dev_opts *o);
struct dev *dev_ideal_new(const struct dev_opts *o);

#endif
