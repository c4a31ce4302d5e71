/*
 * libusb.c - the libusb transport for real USB devices (Debian's
 * libusb-1.0): discovery of DFU interfaces, open by VID:PID, serial or port
 * path, and re-finding a device on the same port after it re-enumerates.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host_int.h"

#ifndef UDFU_HOST_HAVE_LIBUSB

int udfu_host_have_libusb(void)
{
    return 0;
}

int udfu_host_list_libusb(struct udfu_host_info **list, char *msg, size_t msg_size)
{
    *list = NULL;
    snprintf(msg, msg_size, "this udfu was built without libusb; install libusb-1.0-0-dev "
             "and rebuild, or use --usbip");
    return UDFU_ERR_UNSUPPORTED;
}

int udfu_host_open_libusb(struct udfu_host_dev *d, const struct udfu_host_match *m)
{
    (void)m;
    return udfu_host_fail(d, UDFU_ERR_UNSUPPORTED, "this udfu was built without libusb; "
                          "install libusb-1.0-0-dev and rebuild, or use --usbip");
}

#else

#include <libusb.h>

struct lu_ctx {
    libusb_context *usb;
    libusb_device_handle *h;
    uint8_t bus;
    uint8_t ports[8];
    int nports;
    int claimed; /* interface number, or -1 */
    char where[40];
};

int udfu_host_have_libusb(void)
{
    return 1;
}

static int map_err(int e)
{
    switch (e) {
    case LIBUSB_ERROR_PIPE: return UDFU_ERR_STALL;
    case LIBUSB_ERROR_TIMEOUT: return UDFU_ERR_TIMEOUT;
    case LIBUSB_ERROR_NO_DEVICE:
    case LIBUSB_ERROR_NOT_FOUND: return UDFU_ERR_NODEV;
    case LIBUSB_ERROR_ACCESS: return UDFU_ERR_PERM;
    case LIBUSB_ERROR_BUSY: return UDFU_ERR_STATE;
    default: return UDFU_ERR_IO;
    }
}

static void port_path(libusb_device *dev, char *out, size_t size)
{
    uint8_t ports[8];
    int i, n = libusb_get_port_numbers(dev, ports, sizeof ports);
    size_t o = (size_t)snprintf(out, size, "%u", libusb_get_bus_number(dev));
    for (i = 0; i < n && o < size; i++)
        o += (size_t)snprintf(out + o, size - o, "%c%u", i ? '.' : '-', ports[i]);
}

static int lu_control(void *ctx, const struct udfu_setup *s, uint8_t *data, uint32_t timeout)
{
    struct lu_ctx *c = ctx;
    int n;
    if (!c->h)
        return UDFU_ERR_NODEV;
    n = libusb_control_transfer(c->h, s->bmRequestType, s->bRequest, s->wValue, s->wIndex,
                                data, s->wLength, timeout);
    return n < 0 ? map_err(n) : n;
}

static int lu_select(void *ctx, uint8_t interface, uint8_t alt)
{
    struct lu_ctx *c = ctx;
    int e;
    if (!c->h)
        return UDFU_ERR_NODEV;
    if (c->claimed != interface) {
        libusb_set_auto_detach_kernel_driver(c->h, 1);
        e = libusb_claim_interface(c->h, interface);
        if (e < 0)
            return map_err(e);
        c->claimed = interface;
    }
    e = libusb_set_interface_alt_setting(c->h, interface, alt);
    return e < 0 ? map_err(e) : 0;
}

static void lu_release(struct lu_ctx *c)
{
    if (c->h) {
        if (c->claimed >= 0)
            libusb_release_interface(c->h, c->claimed);
        libusb_close(c->h);
    }
    c->h = NULL;
    c->claimed = -1;
}

static int lu_reset(void *ctx)
{
    struct lu_ctx *c = ctx;
    int e;
    if (!c->h)
        return UDFU_ERR_NODEV;
    e = libusb_reset_device(c->h);
    /* NOT_FOUND: the device re-enumerated, which is what we wanted. */
    return e < 0 && e != LIBUSB_ERROR_NOT_FOUND ? map_err(e) : 0;
}

static int same_port(struct lu_ctx *c, libusb_device *dev)
{
    uint8_t ports[8];
    int n = libusb_get_port_numbers(dev, ports, sizeof ports);
    return libusb_get_bus_number(dev) == c->bus && n == c->nports &&
           memcmp(ports, c->ports, (size_t)n) == 0;
}

static int reopen_once(struct lu_ctx *c)
{
    libusb_device **devs;
    ssize_t i, n = libusb_get_device_list(c->usb, &devs);
    int err = UDFU_ERR_NODEV;
    for (i = 0; i < n; i++)
        if (same_port(c, devs[i]) && libusb_open(devs[i], &c->h) == 0) {
            err = 0;
            break;
        }
    if (n >= 0)
        libusb_free_device_list(devs, 1);
    return err;
}

static int lu_reopen(void *ctx, uint32_t timeout_ms)
{
    struct lu_ctx *c = ctx;
    uint32_t waited = 0;
    lu_release(c);
    for (;;) {
        struct timespec ts = {0, 100 * 1000000L};
        if (reopen_once(c) == 0)
            return 0;
        if (waited >= timeout_ms)
            return UDFU_ERR_NODEV;
        nanosleep(&ts, NULL);
        waited += 100;
    }
}

static int lu_wait_gone(void *ctx, uint32_t timeout_ms)
{
    struct lu_ctx *c = ctx;
    uint32_t waited = 0;
    /* A standard GET_STATUS does not disturb the DFU state machine. */
    while (c->h && waited < timeout_ms) {
        struct timespec ts = {0, 50 * 1000000L};
        uint8_t st[2];
        int e = libusb_control_transfer(c->h, 0x80, 0x00, 0, 0, st, 2, 200);
        if (e == LIBUSB_ERROR_NO_DEVICE || e == LIBUSB_ERROR_IO || e == LIBUSB_ERROR_NOT_FOUND)
            return 0;
        nanosleep(&ts, NULL);
        waited += 50;
    }
    return c->h ? UDFU_ERR_TIMEOUT : 0;
}

static const char *lu_where(void *ctx)
{
    return ((struct lu_ctx *)ctx)->where;
}

static void lu_close(void *ctx)
{
    struct lu_ctx *c = ctx;
    lu_release(c);
    libusb_exit(c->usb);
    free(c);
}

static const struct udfu_host_transport_ops lu_ops = {
    lu_control, lu_select, lu_reset, lu_reopen, NULL, lu_where, lu_close, lu_wait_gone,
};

/* ---- discovery -------------------------------------------------------------------- */

/* The DFU interface in a configuration (or NULL), and its functional
 * descriptor from the descriptor extras. */
static const struct libusb_interface_descriptor *
find_dfu(const struct libusb_config_descriptor *cfg, int want)
{
    int i, j;
    for (i = 0; i < cfg->bNumInterfaces; i++)
        for (j = 0; j < cfg->interface[i].num_altsetting; j++) {
            const struct libusb_interface_descriptor *a = &cfg->interface[i].altsetting[j];
            if (a->bInterfaceClass == UDFU_CLASS_APP_SPECIFIC &&
                a->bInterfaceSubClass == UDFU_SUBCLASS_DFU &&
                (want <= 0 || a->bInterfaceNumber == want - 1))
                return a;
        }
    return NULL;
}

static void basic_func(const struct libusb_interface_descriptor *a,
                       struct udfu_host_info *info)
{
    const uint8_t *p = a->extra;
    int pos = 0;
    while (p && pos + 7 <= a->extra_length && p[pos] >= 2) {
        if (p[pos + 1] == UDFU_DESC_FUNCTIONAL && p[pos] >= 7) {
            info->has_func = 1;
            info->attributes = p[pos + 2];
            info->detach_timeout = (uint16_t)(p[pos + 3] | p[pos + 4] << 8);
            info->transfer_size = (uint16_t)(p[pos + 5] | p[pos + 6] << 8);
            info->bcd_dfu = p[pos] >= 9 ? (uint16_t)(p[pos + 7] | p[pos + 8] << 8) : 0x0100;
            return;
        }
        pos += p[pos];
    }
}

/* What can be known without opening the device (no permission needed). */
static int basic_info(libusb_device *dev, const struct udfu_host_match *m,
                      struct udfu_host_info *info)
{
    struct libusb_device_descriptor dd;
    struct libusb_config_descriptor *cfg;
    const struct libusb_interface_descriptor *a;
    memset(info, 0, sizeof *info);
    if (libusb_get_device_descriptor(dev, &dd) < 0)
        return 0;
    if (libusb_get_active_config_descriptor(dev, &cfg) < 0 &&
        libusb_get_config_descriptor(dev, 0, &cfg) < 0)
        return 0;
    a = find_dfu(cfg, m ? m->interface : 0);
    if (a) {
        info->vid = dd.idVendor;
        info->pid = dd.idProduct;
        info->bcd_device = dd.bcdDevice;
        info->interface = a->bInterfaceNumber;
        info->protocol = a->bInterfaceProtocol;
        basic_func(a, info);
        port_path(dev, info->where, sizeof info->where);
    }
    libusb_free_config_descriptor(cfg);
    return a != NULL;
}

static struct lu_ctx *ctx_for(libusb_context *usb, libusb_device *dev)
{
    struct lu_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->usb = usb;
    c->claimed = -1;
    c->bus = libusb_get_bus_number(dev);
    c->nports = libusb_get_port_numbers(dev, c->ports, sizeof c->ports);
    if (c->nports < 0)
        c->nports = 0;
    port_path(dev, c->where, sizeof c->where);
    return c;
}

/* Full info when the device can be opened; basic info otherwise. */
static void full_info(libusb_context *usb, libusb_device *dev, const struct udfu_host_match *m,
                      struct udfu_host_info *info)
{
    struct lu_ctx *c = ctx_for(usb, dev);
    struct udfu_host_info full;
    if (c && libusb_open(dev, &c->h) == 0 &&
        host_probe_info(&lu_ops, c, m, &full, UDFU_HOST_TIMEOUT_MS) == 0)
        *info = full;
    if (c)
        lu_release(c);
    free(c);
}

static int matches(const struct udfu_host_match *m, const struct udfu_host_info *info)
{
    if (!m)
        return 1;
    if ((m->vid && m->vid != info->vid) || (m->pid && m->pid != info->pid))
        return 0;
    if (m->path && strcmp(m->path, info->where) != 0)
        return 0;
    /* A serial is only known once opened; unknown serials do not match. */
    if (m->serial && (!info->strings_ok || strcmp(m->serial, info->serial) != 0))
        return 0;
    return 1;
}

/* Every DFU device that matches m: infos in *out, referenced devices in
 * *found (same order). Returns the count or < 0. */
static int scan(libusb_context *usb, const struct udfu_host_match *m, struct udfu_host_info **out,
                libusb_device ***found)
{
    libusb_device **devs;
    ssize_t i, n = libusb_get_device_list(usb, &devs);
    int count = 0;
    if (n < 0)
        return map_err((int)n);
    *out = calloc((size_t)n + 1, sizeof **out);
    *found = calloc((size_t)n + 1, sizeof **found);
    for (i = 0; *out && *found && i < n; i++) {
        struct udfu_host_info *info = &(*out)[count];
        if (!basic_info(devs[i], m, info))
            continue;
        full_info(usb, devs[i], m, info);
        if (!matches(m, info))
            continue;
        (*found)[count++] = libusb_ref_device(devs[i]);
    }
    libusb_free_device_list(devs, 1);
    return *out && *found ? count : UDFU_ERR_NOSPACE;
}

static void unref_all(libusb_device **found, int n)
{
    int i;
    for (i = 0; found && i < n; i++)
        libusb_unref_device(found[i]);
    free(found);
}

int udfu_host_list_libusb(struct udfu_host_info **list, char *msg, size_t msg_size)
{
    libusb_context *usb;
    libusb_device **found = NULL;
    int n, e = libusb_init(&usb);
    *list = NULL;
    if (e < 0) {
        snprintf(msg, msg_size, "libusb cannot start (%s); is /dev/bus/usb available?",
                 libusb_error_name(e));
        return UDFU_ERR_IO;
    }
    n = scan(usb, NULL, list, &found);
    unref_all(found, n);
    libusb_exit(usb);
    return n;
}

static int ambiguous(struct udfu_host_dev *d, const struct udfu_host_info *list, int n)
{
    char buf[UDFU_HOST_MSG_LEN];
    size_t o = (size_t)snprintf(buf, sizeof buf, "%d DFU devices match; pick one with "
                                "--serial or --path:", n);
    int i;
    for (i = 0; i < n && o < sizeof buf; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, " %s (%04x:%04x%s%s)", list[i].where,
                              list[i].vid, list[i].pid, list[i].serial[0] ? " serial " : "",
                              list[i].serial);
    return udfu_host_fail(d, UDFU_ERR_INVAL, "%s", buf);
}

static int open_failed(struct udfu_host_dev *d, const char *where, int e)
{
    int err = map_err(e);
    return udfu_host_fail(d, err, "cannot open the USB device at %s (%s)%s", where,
                          libusb_error_name(e), err == UDFU_ERR_PERM ?
                          "; allow access with a udev rule (see docs/host-tool.md) or "
                          "run as root" : "");
}

static int none_found(struct udfu_host_dev *d, int n, const struct udfu_host_match *m)
{
    return udfu_host_fail(d, n < 0 ? n : UDFU_ERR_NODEV, "no DFU device found%s; check the "
                          "cable and `udfu list`, or use --usbip for a virtual device",
                          m && (m->vid || m->pid || m->serial || m->path) ?
                          " that matches the selection" : "");
}

int udfu_host_open_libusb(struct udfu_host_dev *d, const struct udfu_host_match *m)
{
    libusb_context *usb;
    libusb_device **found = NULL;
    struct udfu_host_info *list = NULL;
    struct lu_ctx *c = NULL;
    int n, err = 0, e = libusb_init(&usb);
    if (e < 0)
        return udfu_host_fail(d, UDFU_ERR_IO, "libusb cannot start (%s)",
                              libusb_error_name(e));
    n = scan(usb, m, &list, &found);
    if (n == 1) {
        c = ctx_for(usb, found[0]);
        e = c ? libusb_open(found[0], &c->h) : LIBUSB_ERROR_NO_MEM;
        if (e < 0)
            err = open_failed(d, c ? c->where : "?", e);
    } else {
        err = n > 1 ? ambiguous(d, list, n) : none_found(d, n, m);
    }
    unref_all(found, n);
    free(list);
    if (err < 0 || !c) {
        free(c);
        libusb_exit(usb);
        return err < 0 ? err : UDFU_ERR_NOSPACE;
    }
    /* From here c owns the libusb context; attach closes it on failure. */
    return udfu_host_attach(d, &lu_ops, c, m);
}

#endif
