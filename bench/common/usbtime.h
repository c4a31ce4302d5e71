/*
 * usbtime.h - timing model of USB 2.0 control transfers as a host running
 * libusb on Linux issues them: wire time per transaction, packing into
 * (micro)frames, and the host software's cost per transfer and per sleep.
 *
 * Every figure and its source is in docs/performance.md ("Models"). Time is
 * in picoseconds so a high-speed byte time (16.667 ns) stays exact enough
 * over a million transactions.
 */
#ifndef BENCH_USBTIME_H
#define BENCH_USBTIME_H

#include <stdint.h>

typedef uint64_t ps_t; /* simulated time, picoseconds */

#define PS_PER_US 1000000ull
#define PS_PER_MS 1000000000ull

struct usb_bus {
    const char *name;      /* "FS", "HS" */
    ps_t frame;            /* (micro)frame period */
    uint32_t budget;       /* byte times a (micro)frame holds */
    ps_t byte_time;        /* one byte on the wire */
    uint16_t xact_ovh;     /* bytes of overhead of one non-isochronous transaction */
    uint16_t ctrl_ovh;     /* ... of a control transfer with one data packet */
    uint16_t mps;          /* bMaxPacketSize0 */
    ps_t submit;           /* host software: call to first token on the wire */
    ps_t complete;         /* host software: last handshake to the call returning */
    ps_t sleep_extra;      /* nanosleep(n ms) returns this much after n ms */
    ps_t free_at;          /* state: the bus is idle from here */
    uint64_t xacts;        /* statistics: transactions placed */
};

/* Full speed (12 Mb/s, 1 ms frames) or high speed (480 Mb/s, 125 us
 * microframes), EP0 packet size 64, idle bus. */
void usb_bus_fs(struct usb_bus *b);
void usb_bus_hs(struct usb_bus *b);

/* A bus busy with periodic traffic up to its limit: control transfers get
 * only what USB 2.0 guarantees them, 10% of a frame (FS) or 20% of a
 * microframe (HS). */
void usb_bus_busy(struct usb_bus *b);
/* Host software cost per transfer: us microseconds, one third before the
 * transfer reaches the bus and two thirds after it ends. */
void usb_bus_host_us(struct usb_bus *b, uint32_t us);

/* Places one transaction of `bytes` wire bytes (payload plus overhead) at
 * or after t: after the previous one, and in the next (micro)frame if it
 * does not fit in what is left of this one. Returns its end. */
ps_t usb_xact(struct usb_bus *b, ps_t t, uint32_t bytes);

/* Wire bytes of the stages of a control transfer. The split of the spec's
 * per-transfer overhead is: SETUP = ctrl_ovh - 2 * xact_ovh (it carries the
 * 8 setup bytes), each data packet = xact_ovh + payload, status stage =
 * xact_ovh; one data packet of n bytes then costs ctrl_ovh + n in total. */
uint32_t usb_setup_bytes(const struct usb_bus *b);
uint32_t usb_data_bytes(const struct usb_bus *b, uint32_t payload);
uint32_t usb_status_bytes(const struct usb_bus *b);

/* Host sleep of ms milliseconds as dfu-util's milli_sleep() does it
 * (nothing for 0). */
ps_t usb_sleep(const struct usb_bus *b, ps_t t, uint32_t ms);

#endif
