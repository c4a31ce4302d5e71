/*
 * simdev.h - a udfu_usbd instance behind a fake controller driver that
 * only records what usbd asked for, so a benchmark can push class requests
 * through the real USB device core with the same calls it would make on
 * the class core alone (setup / data / status_done).
 */
#ifndef BENCH_SIMDEV_H
#define BENCH_SIMDEV_H

#include <stdint.h>

#include "udfu_usbd.h"

enum { SD_NONE, SD_IN, SD_OUT, SD_ACK, SD_STALL };

struct simdev {
    struct udfu_usbd usbd;
    struct udfu_usbd_cfg cfg;
    int last;              /* SD_*: the hook usbd called last */
    const uint8_t *in;     /* SD_IN: reply and its length */
    uint16_t in_len;
    uint8_t *out;          /* SD_OUT: where the data stage goes */
    uint16_t out_len;
};

/* usbd over an initialised DFU-mode class instance, configured
 * (SET_CONFIGURATION 1 went through, alt setting 0). 0 or < 0. */
int simdev_init(struct simdev *s, struct udfu_dfu *dfu);

/* Same contract as udfu_dfu_setup(): data stage length (IN: the reply in
 * *data; OUT: the buffer to fill), 0, or UDFU_ERR_STALL. */
int simdev_setup(struct simdev *s, const struct udfu_setup *req, uint8_t **data);
/* The OUT data stage brought len bytes: 0, or UDFU_ERR_STALL. */
int simdev_data(struct simdev *s, uint16_t len);
/* The status stage of the transfer completed. */
void simdev_status_done(struct simdev *s);
void simdev_task(struct simdev *s, uint32_t now_ms);

#endif
