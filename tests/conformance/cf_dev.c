#include "cf_dev.h"

#include <stdio.h>
#include <string.h>

void cf_init(struct cf_dev *d, const struct udfu_target *targets, uint8_t count,
             uint8_t attributes, uint16_t xfer)
{
    cf_setup(d, targets, count, attributes, xfer);
    cf_start(d);
}

void cf_complete_now(struct cf_dev *d, int err)
{
    if (d->pending)
        fx_finish(d, err);
}

/* ---- transfers ----------------------------------------------------------- */

static void bad(struct cf_reply *r, const char *what, int n)
{
    r->kind = CF_BAD;
    snprintf(r->bad, sizeof r->bad, "%s (returned %d)", what, n);
}

static struct udfu_setup setup_packet(uint8_t bm, uint8_t req, uint16_t value, uint16_t index,
                                      uint16_t length)
{
    struct udfu_setup s;
    s.bmRequestType = bm;
    s.bRequest = req;
    s.wValue = value;
    s.wIndex = index;
    s.wLength = length;
    return s;
}

/* Judges what a class's setup() returned (n, data); 1 if that ends the
 * transfer (stall, IN reply taken, core misbehaving), 0 for an OUT request
 * that goes on. */
static int first_stage(struct cf_reply *r, uint8_t bm, uint16_t length, int n,
                       const uint8_t *data)
{
    memset(r, 0, sizeof *r);
    if (n == UDFU_ERR_STALL) {
        r->kind = CF_STALL;
        return 1;
    }
    if (n < 0) {
        bad(r, "setup returned an error other than STALL", n);
        return 1;
    }
    if (!(bm & 0x80u))
        return 0;
    if (n > length)
        bad(r, "IN reply longer than wLength", n);
    else if (n && !data)
        bad(r, "IN reply without data", n);
    else {
        memcpy(r->data, data, (size_t)n);
        r->kind = CF_IN;
        r->len = n;
    }
    return 1;
}

/* The OUT data stage of n bytes into data, from out (NULL: zeros). */
static void data_stage(struct cf_dev *d, uint8_t *data, int n, const uint8_t *out,
                       struct cf_reply *r)
{
    int rc;
    if (!data) {
        bad(r, "OUT data stage without a buffer", n);
        return;
    }
    if (out)
        memcpy(data, out, (size_t)n);
    else
        memset(data, 0, (size_t)n);
    rc = udfu_dfu_data(&d->dfu, (uint16_t)n);
    if (rc == UDFU_ERR_STALL)
        r->kind = CF_STALL;
    else if (rc)
        bad(r, "udfu_dfu_data returned neither 0 nor STALL", rc);
}

void cf_ctl(struct cf_dev *d, uint8_t bm, uint8_t req, uint16_t value, uint16_t index,
            uint16_t length, const uint8_t *out, struct cf_reply *r)
{
    struct udfu_setup s = setup_packet(bm, req, value, index, length);
    uint8_t *data = NULL;
    int n = udfu_dfu_setup(&d->dfu, &s, &data);
    if (first_stage(r, bm, length, n, data)) {
        if (r->kind == CF_IN)
            udfu_dfu_status_done(&d->dfu);
        return;
    }
    if (n != length) {
        bad(r, "OUT request whose data stage is not wLength", n);
        return;
    }
    if (n)
        data_stage(d, data, n, out, r);
    if (r->kind != CF_ACK)
        return;
    udfu_dfu_status_done(&d->dfu);
}

void cf_rt_ctl(struct udfu_rt *rt, uint8_t bm, uint8_t req, uint16_t value, uint16_t index,
               uint16_t length, struct cf_reply *r)
{
    struct udfu_setup s = setup_packet(bm, req, value, index, length);
    uint8_t *data = NULL;
    int n = udfu_rt_setup(rt, &s, &data);
    if (first_stage(r, bm, length, n, data)) {
        if (r->kind != CF_IN)
            return;
    } else if (n) {
        bad(r, "run-time class asked for an OUT data stage", n);
        return;
    }
    udfu_rt_status_done(rt);
}

const char *cf_req_name(uint8_t req)
{
    static const char *const names[] = {"DETACH",    "DNLOAD",   "UPLOAD", "GETSTATUS",
                                        "CLRSTATUS", "GETSTATE", "ABORT"};
    return req < 7 ? names[req] : "UNKNOWN";
}
