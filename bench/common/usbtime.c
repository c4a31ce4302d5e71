/*
 * usbtime.c - see usbtime.h. Figures and sources: docs/performance.md.
 */
#include "usbtime.h"

/* USB 2.0 5.11.3 tables 5-9/5-10 (full speed) and 5-8/5-11 (high speed)
 * count protocol overhead in byte times per transaction and per control
 * transfer; a frame holds 1500 (FS) and a microframe 7500 (HS) of them.
 * Host software costs are the Linux/libusb figures of docs/performance.md. */
static void common(struct usb_bus *b)
{
    b->mps = 64;
    b->submit = 25 * PS_PER_US;
    b->complete = 50 * PS_PER_US;
    b->sleep_extra = 60 * PS_PER_US;
    b->free_at = 0;
    b->xacts = 0;
}

void usb_bus_fs(struct usb_bus *b)
{
    b->name = "FS";
    b->frame = 1000 * PS_PER_US;
    b->budget = 1500;
    b->byte_time = 666667; /* 8 bits at 12 Mb/s */
    b->xact_ovh = 13;
    b->ctrl_ovh = 45;
    common(b);
}

void usb_bus_hs(struct usb_bus *b)
{
    b->name = "HS";
    b->frame = 125 * PS_PER_US;
    b->budget = 7500;
    b->byte_time = 16667; /* 8 bits at 480 Mb/s */
    b->xact_ovh = 55;
    b->ctrl_ovh = 173;
    common(b);
}

void usb_bus_busy(struct usb_bus *b)
{
    b->budget = b->frame == 1000 * PS_PER_US ? 150 : 1500;
}

void usb_bus_host_us(struct usb_bus *b, uint32_t us)
{
    b->submit = us * PS_PER_US / 3;
    b->complete = us * PS_PER_US - b->submit;
}

ps_t usb_xact(struct usb_bus *b, ps_t t, uint32_t bytes)
{
    ps_t start = t > b->free_at ? t : b->free_at;
    ps_t frame_start = start / b->frame * b->frame;
    /* byte times already gone in this frame, rounded up */
    uint64_t used = (start - frame_start + b->byte_time - 1) / b->byte_time;
    if (used + bytes > b->budget)
        start = frame_start + b->frame;
    b->free_at = start + bytes * b->byte_time;
    b->xacts++;
    return b->free_at;
}

uint32_t usb_setup_bytes(const struct usb_bus *b)
{
    return (uint32_t)(b->ctrl_ovh - 2u * b->xact_ovh);
}

uint32_t usb_data_bytes(const struct usb_bus *b, uint32_t payload)
{
    return b->xact_ovh + payload;
}

uint32_t usb_status_bytes(const struct usb_bus *b)
{
    return b->xact_ovh;
}

ps_t usb_sleep(const struct usb_bus *b, ps_t t, uint32_t ms)
{
    return ms ? t + ms * PS_PER_MS + b->sleep_extra : t;
}
