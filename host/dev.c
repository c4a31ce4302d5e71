/*
 * dev.c - the device handle: transport calls, messages, and reading what a
 * device is (descriptors, strings, functional descriptor, DfuSe layouts).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host_int.h"
#include "udfu_file.h"
#include "udfu_util.h"

struct udfu_host_dev *udfu_host_new(void)
{
    struct udfu_host_dev *d = calloc(1, sizeof *d);
    if (d)
        d->timeout_ms = UDFU_HOST_TIMEOUT_MS;
    return d;
}

void host_close(struct udfu_host_dev *d)
{
    if (d->ops)
        d->ops->close(d->ctx);
    d->ops = NULL;
    d->ctx = NULL;
}

void udfu_host_free(struct udfu_host_dev *d)
{
    if (!d)
        return;
    host_close(d);
    free(d->erased);
    free(d);
}

const char *udfu_host_message(const struct udfu_host_dev *d)
{
    return d->msg;
}

int udfu_host_fail(struct udfu_host_dev *d, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    return err;
}

void udfu_host_set_progress(struct udfu_host_dev *d, udfu_host_progress_fn fn, void *ctx)
{
    d->progress = fn;
    d->progress_ctx = ctx;
}

void udfu_host_set_timeout(struct udfu_host_dev *d, uint32_t ms)
{
    d->timeout_ms = ms ? ms : UDFU_HOST_TIMEOUT_MS;
}

const struct udfu_host_info *udfu_host_info(const struct udfu_host_dev *d)
{
    return d->ops ? &d->info : NULL;
}

uint8_t udfu_host_alt(const struct udfu_host_dev *d)
{
    return d->alt;
}

void host_progress(struct udfu_host_dev *d, enum udfu_host_phase ph, uint64_t done,
                   uint64_t total)
{
    if (d->progress)
        d->progress(d->progress_ctx, ph, done, total);
}

void host_sleep(struct udfu_host_dev *d, uint32_t ms)
{
    struct timespec ts;
    if (d->ops && d->ops->sleep) {
        d->ops->sleep(d->ctx, ms);
        d->slept_ms += ms;
        return;
    }
    ts.tv_sec = ms / 1000u;
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    while (nanosleep(&ts, &ts) != 0)
        ;
}

uint64_t host_now(struct udfu_host_dev *d)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u + d->slept_ms;
}

void host_limit_start(struct udfu_host_dev *d, struct host_limit *l, uint32_t limit_ms,
                      uint32_t zero_limit)
{
    l->deadline = host_now(d) + limit_ms;
    l->limit_ms = limit_ms;
    l->zero_polls = 0;
    l->zero_limit = zero_limit;
}

int host_limit_pause(struct udfu_host_dev *d, struct host_limit *l, uint32_t poll_ms)
{
    uint64_t now = host_now(d);
    l->zero_polls = poll_ms ? 0 : l->zero_polls + 1;
    if (l->zero_polls > l->zero_limit || now + poll_ms > l->deadline)
        return UDFU_ERR_TIMEOUT;
    host_sleep(d, poll_ms);
    return 0;
}

static int raw_control(const struct udfu_host_transport_ops *ops, void *ctx, uint8_t type,
                       uint8_t req, uint16_t value, uint16_t index, uint8_t *data,
                       uint16_t len, uint32_t timeout)
{
    struct udfu_setup s;
    s.bmRequestType = type;
    s.bRequest = req;
    s.wValue = value;
    s.wIndex = index;
    s.wLength = len;
    return ops->control(ctx, &s, data, timeout);
}

int host_control(struct udfu_host_dev *d, uint8_t type, uint8_t req, uint16_t value,
                 uint16_t index, uint8_t *data, uint16_t len)
{
    if (!d->ops)
        return udfu_host_fail(d, UDFU_ERR_NODEV, "no device is open");
    return raw_control(d->ops, d->ctx, type, req, value, index, data, len, d->timeout_ms);
}

int host_xfer_fail(struct udfu_host_dev *d, int err, const char *what)
{
    const char *where = d->ops ? d->ops->where(d->ctx) : "?";
    switch (err) {
    case UDFU_ERR_STALL:
        return udfu_host_fail(d, err, "the device refused %s (stall); it may not support "
                              "this operation in its current state", what);
    case UDFU_ERR_TIMEOUT:
        return udfu_host_fail(d, err, "%s timed out after %u ms: the device at %s stopped "
                              "answering; reconnect or restart it and try again", what,
                              (unsigned)d->timeout_ms, where);
    case UDFU_ERR_NODEV:
        return udfu_host_fail(d, err, "the device at %s went away during %s; check the "
                              "connection, then run `udfu list`", where, what);
    default:
        return udfu_host_fail(d, err, "%s failed: %s (device at %s)", what,
                              udfu_strerror(err), where);
    }
}

/* ---- strings ------------------------------------------------------------- */

/* Appends code point c as UTF-8 (c < 0x110000, not a surrogate). */
static size_t put_utf8(char *out, size_t o, unsigned c)
{
    if (c < 0x80) {
        out[o++] = (char)c;
    } else if (c < 0x800) {
        out[o++] = (char)(0xC0 | (c >> 6));
        out[o++] = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out[o++] = (char)(0xE0 | (c >> 12));
        out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[o++] = (char)(0x80 | (c & 0x3F));
    } else {
        out[o++] = (char)(0xF0 | (c >> 18));
        out[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
        out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[o++] = (char)(0x80 | (c & 0x3F));
    }
    return o;
}

/* Characters outside the BMP (an emoji in a product name) come as a
 * surrogate pair: one 4-byte UTF-8 sequence, not two 3-byte ones (that
 * would be CESU-8, which strict UTF-8 decoders refuse). A lone surrogate
 * becomes U+FFFD. */
void host_utf16_to_utf8(const uint8_t *desc, int len, char *out, size_t size)
{
    size_t o = 0;
    int i;
    if (size == 0)
        return;
    if (len > desc[0])
        len = desc[0];
    for (i = 2; i + 1 < len && o + 4 < size; i += 2) {
        unsigned c = (unsigned)(desc[i] | (desc[i + 1] << 8));
        if (c >= 0xD800 && c < 0xDC00 && i + 3 < len) {
            unsigned lo = (unsigned)(desc[i + 2] | (desc[i + 3] << 8));
            if (lo >= 0xDC00 && lo < 0xE000) {
                c = 0x10000u + ((c - 0xD800u) << 10) + (lo - 0xDC00u);
                i += 2;
            }
        }
        if (c >= 0xD800 && c < 0xE000)
            c = 0xFFFD;
        o = put_utf8(out, o, c);
    }
    out[o] = 0;
}

static void read_string(const struct udfu_host_transport_ops *ops, void *ctx, uint16_t lang,
                        uint8_t index, char *out, size_t size, uint32_t tmo)
{
    uint8_t buf[255];
    int n;
    out[0] = 0;
    if (index == 0)
        return;
    n = raw_control(ops, ctx, 0x80, USB_REQ_GET_DESCRIPTOR, (uint16_t)(USB_DT_STRING << 8 | index),
                    lang, buf, sizeof buf, tmo);
    if (n >= 2 && buf[1] == USB_DT_STRING)
        host_utf16_to_utf8(buf, n, out, size);
}

/* ---- configuration descriptor ------------------------------------------- */

struct cfg_walk {
    const struct udfu_host_match *m;
    struct udfu_host_info *info;
    uint8_t istr[UDFU_HOST_MAX_ALTS];
    int found;        /* the DFU interface was picked */
    int in_dfu;       /* the last interface descriptor is the picked one */
};

static void take_func(struct udfu_host_info *info, const uint8_t *p)
{
    info->has_func = 1;
    info->attributes = p[2];
    info->detach_timeout = udfu_get16(p + 3);
    info->transfer_size = udfu_get16(p + 5);
    info->bcd_dfu = p[0] >= 9 ? udfu_get16(p + 7) : 0x0100;
}

static void walk_interface(struct cfg_walk *w, const uint8_t *p)
{
    struct udfu_host_info *info = w->info;
    int dfu = p[5] == UDFU_CLASS_APP_SPECIFIC && p[6] == UDFU_SUBCLASS_DFU;
    int wanted = w->m && w->m->interface ? p[2] == w->m->interface - 1 : 1;
    w->in_dfu = 0;
    if (!dfu || !wanted)
        return;
    if (!w->found) {
        w->found = 1;
        info->interface = p[2];
        info->protocol = p[7];
    }
    if (p[2] != info->interface || info->alt_count >= UDFU_HOST_MAX_ALTS)
        return;
    w->in_dfu = 1;
    w->istr[info->alt_count] = p[8];
    info->alts[info->alt_count].alt = p[3];
    info->alt_count++;
}

static void walk_config(struct cfg_walk *w, const uint8_t *cfg, int len)
{
    int pos = 0;
    while (pos + 2 <= len) {
        const uint8_t *p = cfg + pos;
        if (p[0] < 2 || pos + p[0] > len)
            break;
        if (p[1] == USB_DT_INTERFACE && p[0] >= 9)
            walk_interface(w, p);
        else if (p[1] == UDFU_DESC_FUNCTIONAL && p[0] >= 7 && !w->info->has_func &&
                 (w->in_dfu || w->found))
            take_func(w->info, p);
        pos += p[0];
    }
}

static int read_config(const struct udfu_host_transport_ops *ops, void *ctx, uint8_t **out,
                       uint32_t tmo)
{
    uint8_t head[9];
    uint8_t *cfg;
    int n = raw_control(ops, ctx, 0x80, USB_REQ_GET_DESCRIPTOR, USB_DT_CONFIG << 8, 0, head,
                        sizeof head, tmo);
    uint16_t total;
    if (n < 0)
        return n;
    if (n < 9 || head[1] != USB_DT_CONFIG)
        return UDFU_ERR_IO;
    total = udfu_get16(head + 2);
    if (total < 9)
        return UDFU_ERR_IO;
    cfg = malloc(total);
    if (!cfg)
        return UDFU_ERR_NOSPACE;
    n = raw_control(ops, ctx, 0x80, USB_REQ_GET_DESCRIPTOR, USB_DT_CONFIG << 8, 0, cfg, total,
                    tmo);
    if (n < 9) {
        free(cfg);
        return n < 0 ? n : UDFU_ERR_IO;
    }
    *out = cfg;
    return n;
}

/* DfuSe devices describe memory in the alt names; parse each once. */
static void parse_layouts(struct udfu_host_info *info)
{
    uint8_t i;
    for (i = 0; i < info->alt_count; i++) {
        struct udfu_host_alt *a = &info->alts[i];
        int n;
        a->dfuse = 0;
        if (info->bcd_dfu != UDFU_BCD_DFUSE || a->name[0] != '@')
            continue;
        n = udfu_mem_parse(a->name, a->mem_name, sizeof a->mem_name, a->regions,
                           UDFU_HOST_MAX_REGIONS);
        if (n > 0) {
            a->region_count = (uint8_t)n;
            a->dfuse = 1;
        }
    }
}

static void read_strings(const struct udfu_host_transport_ops *ops, void *ctx,
                         const uint8_t *dev, struct cfg_walk *w, uint32_t tmo)
{
    struct udfu_host_info *info = w->info;
    uint8_t langs[8];
    uint16_t lang = 0x0409;
    uint8_t i;
    int n = raw_control(ops, ctx, 0x80, USB_REQ_GET_DESCRIPTOR, USB_DT_STRING << 8, 0, langs,
                        sizeof langs, tmo);
    if (n >= 4 && langs[1] == USB_DT_STRING)
        lang = udfu_get16(langs + 2);
    read_string(ops, ctx, lang, dev[14], info->manufacturer, sizeof info->manufacturer,
                tmo);
    read_string(ops, ctx, lang, dev[15], info->product, sizeof info->product, tmo);
    read_string(ops, ctx, lang, dev[16], info->serial, sizeof info->serial, tmo);
    for (i = 0; i < info->alt_count; i++)
        read_string(ops, ctx, lang, w->istr[i], info->alts[i].name, sizeof info->alts[i].name,
                    tmo);
    info->strings_ok = 1;
}

/* Devices without a functional descriptor in the configuration may still
 * answer GET_DESCRIPTOR(0x21), as dfu-util tries. */
static void func_fallback(const struct udfu_host_transport_ops *ops, void *ctx,
                          struct udfu_host_info *info, uint32_t tmo)
{
    uint8_t f[UDFU_FUNC_DESC_LEN];
    int n = raw_control(ops, ctx, 0x80, USB_REQ_GET_DESCRIPTOR, UDFU_DESC_FUNCTIONAL << 8, 0,
                        f, sizeof f, tmo);
    if (n >= 7 && f[1] == UDFU_DESC_FUNCTIONAL && f[0] >= 7)
        take_func(info, f);
    if (!info->has_func) {
        /* Defaults that any DFU device accepts. */
        info->attributes = UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD;
        info->transfer_size = 64;
        info->bcd_dfu = UDFU_BCD_DFU;
    }
}

int host_probe_info(const struct udfu_host_transport_ops *ops, void *ctx,
                    const struct udfu_host_match *m, struct udfu_host_info *info, uint32_t tmo)
{
    uint8_t dev[18];
    uint8_t *cfg = NULL;
    struct cfg_walk w;
    int n;

    memset(info, 0, sizeof *info);
    snprintf(info->where, sizeof info->where, "%s", ops->where(ctx));
    n = raw_control(ops, ctx, 0x80, USB_REQ_GET_DESCRIPTOR, USB_DT_DEVICE << 8, 0, dev,
                    sizeof dev, tmo);
    if (n < 0)
        return n;
    if (n < 18 || dev[1] != USB_DT_DEVICE)
        return UDFU_ERR_IO;
    info->vid = udfu_get16(dev + 8);
    info->pid = udfu_get16(dev + 10);
    info->bcd_device = udfu_get16(dev + 12);

    n = read_config(ops, ctx, &cfg, tmo);
    if (n < 0)
        return n;
    memset(&w, 0, sizeof w);
    w.m = m;
    w.info = info;
    walk_config(&w, cfg, n);
    free(cfg);
    if (!w.found)
        return 1; /* a device, but not a DFU one */
    if (!info->has_func)
        func_fallback(ops, ctx, info, tmo);
    read_strings(ops, ctx, dev, &w, tmo);
    parse_layouts(info);
    return 0;
}

static int ids_match(const struct udfu_host_match *m, const struct udfu_host_info *info)
{
    if (!m)
        return 1;
    if (m->vid && m->vid != info->vid)
        return 0;
    if (m->pid && m->pid != info->pid)
        return 0;
    if (m->serial && strcmp(m->serial, info->serial) != 0)
        return 0;
    return 1;
}

int host_probe(struct udfu_host_dev *d, const struct udfu_host_match *m)
{
    int err = host_probe_info(d->ops, d->ctx, m, &d->info, d->timeout_ms);
    if (err > 0)
        return udfu_host_fail(d, UDFU_ERR_NODEV, "the device at %s has no DFU interface%s; it "
                              "is not a DFU device or its firmware does not offer DFU",
                              d->ops->where(d->ctx), m && m->interface ? " with that number" : "");
    if (err < 0)
        return host_xfer_fail(d, err, "reading the device descriptors");
    if (!ids_match(m, &d->info))
        return udfu_host_fail(d, UDFU_ERR_NODEV, "the device at %s (%04x:%04x serial \"%s\") "
                              "does not match the selection", d->info.where, d->info.vid,
                              d->info.pid, d->info.serial);
    return 0;
}

int host_attach_keep(struct udfu_host_dev *d, const struct udfu_host_transport_ops *ops,
                     void *ctx, const struct udfu_host_match *m)
{
    int err;
    d->ops = ops;
    d->ctx = ctx;
    d->msg[0] = 0;
    if (m) {
        d->match = *m;
        d->match.serial = NULL;
        d->match.path = NULL;
    }
    err = host_probe(d, m);
    if (err == 0)
        err = udfu_host_select_alt(d, d->info.alt_count ? d->info.alts[0].alt : 0);
    if (err == 0)
        d->first_pid = d->info.pid;
    return err;
}

int udfu_host_attach(struct udfu_host_dev *d, const struct udfu_host_transport_ops *ops,
                     void *ctx, const struct udfu_host_match *m)
{
    int err;
    host_close(d);
    err = host_attach_keep(d, ops, ctx, m);
    if (err < 0)
        host_close(d);
    return err;
}

int udfu_host_select_alt(struct udfu_host_dev *d, uint8_t alt)
{
    uint8_t i;
    int err;
    if (!d->ops)
        return udfu_host_fail(d, UDFU_ERR_NODEV, "no device is open");
    for (i = 0; i < d->info.alt_count; i++)
        if (d->info.alts[i].alt == alt)
            break;
    if (d->info.alt_count && i == d->info.alt_count)
        return udfu_host_fail(d, UDFU_ERR_RANGE, "the device has no alt setting %u; "
                              "`udfu list` shows the alt settings it has", alt);
    err = d->ops->select(d->ctx, d->info.interface, alt);
    if (err < 0) {
        char what[64];
        snprintf(what, sizeof what, "selecting interface %u alt %u", d->info.interface, alt);
        return host_xfer_fail(d, err, what);
    }
    d->alt = alt;
    return 0;
}

int udfu_host_find_alt(const struct udfu_host_dev *d, const char *name)
{
    uint8_t i;
    for (i = 0; i < d->info.alt_count; i++)
        if (strcmp(d->info.alts[i].name, name) == 0 ||
            (d->info.alts[i].dfuse && strcmp(d->info.alts[i].mem_name, name) == 0))
            return d->info.alts[i].alt;
    return UDFU_ERR_RANGE;
}

int udfu_host_check_ids(struct udfu_host_dev *d, uint16_t vid, uint16_t pid)
{
    int vid_ok = vid == UDFU_ID_ANY || vid == d->info.vid;
    int pid_ok = pid == UDFU_ID_ANY || pid == d->info.pid || pid == d->first_pid;
    if (vid_ok && pid_ok)
        return 0;
    return udfu_host_fail(d, UDFU_ERR_FORMAT, "the file is for device %04x:%04x but this "
                          "device is %04x:%04x; pick the right file, or use --force if you "
                          "are sure", vid, pid, d->info.vid, d->info.pid);
}
