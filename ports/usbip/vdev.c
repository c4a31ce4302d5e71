/*
 * vdev.c - the virtual DFU device (see vdev.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "vdev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "udfu_mem.h"

#define DEFAULT_VID 0x1209u /* pid.codes */
#define DEFAULT_PID 0x0001u /* pid.codes test PIDs: 0x0001 run-time, 0x0002 DFU */
#define DEFAULT_TRANSFER 2048u
#define DEFAULT_SERIAL "UDFUVIRT0001"
#define DEFAULT_BUSID "1-1"
#define DEFAULT_LAYOUT_NAME "Internal Flash"

/* STM32F4 (RM0090 / datasheet, x32 parallelism, typical): sector erase
 * 16 KiB 250 ms, 64 KiB 550 ms, 128 KiB 1 s; program 16 us per 32-bit word,
 * i.e. 256 words = 4096 us per KiB. */
#define PROG_US_PER_KIB 4096u

static const struct udfu_region default_map[] = {
    /* sector 0: the bootloader; sectors 1-2: the boot layer's commit
     * journal. Read-only to the host, which only sees one region. */
    { 0x08000000u, 16u * 1024u, 3, UDFU_MEM_READ, 250, PROG_US_PER_KIB },
    /* sectors 3-11: the image slot */
    { 0x0800C000u, 16u * 1024u, 1, UDFU_MEM_ALL, 250, PROG_US_PER_KIB },
    { 0x08010000u, 64u * 1024u, 1, UDFU_MEM_ALL, 550, PROG_US_PER_KIB },
    { 0x08020000u, 128u * 1024u, 7, UDFU_MEM_ALL, 1000, PROG_US_PER_KIB },
};

static uint32_t region_end(const struct udfu_region *r)
{
    return r->start + r->sector_size * r->sector_count;
}

static uint32_t clock_ms(const struct vdev *v)
{
    return (uint32_t)(usbip_now_ms() - v->t0);
}

/* ---- the memory map ------------------------------------------------------------ */

/* Erase time of a sector of another size, on the line through the STM32F4
 * figures (16 KiB 250 ms, 64 KiB 550 ms, 128 KiB ~1 s). */
static uint32_t erase_ms_for(uint32_t sector_size)
{
    uint64_t ms = 150u + (uint64_t)sector_size / 1024u * 25u / 4u;

    return ms > 0xFFFFu ? 0xFFFFu : (uint32_t)ms;
}

static int parse_layout(struct vdev *v, const char *layout)
{
    char buf[512];
    int n, i;

    /* "/0x08000000/..." without a name gets the default one */
    if (layout[0] == '/')
        snprintf(buf, sizeof(buf), "@%s /%s", DEFAULT_LAYOUT_NAME, layout + 1);
    else
        snprintf(buf, sizeof(buf), "%s", layout);
    n = udfu_mem_parse(buf, v->name, sizeof(v->name), v->map, VDEV_MAX_REGIONS);
    if (n <= 0) {
        fprintf(stderr, "udfu-virtual: bad --layout '%s' (%s)\n", layout,
                n == 0 ? "no regions" : udfu_strerror(n));
        return -1;
    }
    for (i = 0; i < n; i++) {
        struct udfu_region *r = &v->map[i];

        if (i > 0 && r->start < region_end(&v->map[i - 1])) {
            fprintf(stderr, "udfu-virtual: --layout regions overlap or are not sorted\n");
            return -1;
        }
        if (region_end(r) < r->start && region_end(r) != 0) {
            fprintf(stderr, "udfu-virtual: --layout region past 4 GiB\n");
            return -1;
        }
        r->erase_ms = (uint16_t)erase_ms_for(r->sector_size);
        r->prog_us_per_kib = PROG_US_PER_KIB;
    }
    v->map_count = (uint8_t)n;
    return 0;
}

/* Scales the datasheet figures: 100 = as the datasheet says, 0 = instant. */
static void scale_timing(struct vdev *v, int pct)
{
    uint8_t i;

    for (i = 0; i < v->map_count; i++) {
        struct udfu_region *r = &v->map[i];
        uint64_t e = (uint64_t)r->erase_ms * (unsigned)pct / 100u;
        uint64_t p = (uint64_t)r->prog_us_per_kib * (unsigned)pct / 100u;

        r->erase_ms = (uint16_t)(e > 0xFFFFu ? 0xFFFFu : e);
        r->prog_us_per_kib = (uint32_t)(p > 0xFFFFFFFFu ? 0xFFFFFFFFu : p);
    }
}

/* The DfuSe layout string is a string descriptor: at most 126 characters,
 * and no more than usbd has room for (its own buffer, or wTransferSize when
 * it borrows the DFU buffer). usbd refuses a longer one; say why here. */
static int layout_too_long(const struct vdev *v)
{
    char buf[256];
    unsigned room = UDFU_CFG_USBD_BUF ? UDFU_CFG_USBD_BUF : v->opt.transfer_size;
    unsigned cap = ((room < 254 ? room : 254) - 2u) / 2u;
    int n = udfu_mem_layout(&v->whole, buf, sizeof(buf));

    if (n >= 0 && (unsigned)n <= cap)
        return 0;
    fprintf(stderr, "udfu-virtual: --layout: the DfuSe layout string would be %s%d characters; "
                    "a string descriptor here holds %u\n", n < 0 ? "over " : "",
            n < 0 ? (int)sizeof(buf) - 1 : n, cap);
    return 1;
}

/* The alt settings: DfuSe over the whole map, and/or plain DFU 1.1 over
 * the image slot, which starts at the first writable region. */
static int build_map(struct vdev *v)
{
    uint8_t i;

    if (v->opt.layout) {
        if (parse_layout(v, v->opt.layout) < 0)
            return -1;
    } else {
        memcpy(v->map, default_map, sizeof(default_map));
        v->map_count = (uint8_t)(sizeof(default_map) / sizeof(default_map[0]));
        snprintf(v->name, sizeof(v->name), "%s", DEFAULT_LAYOUT_NAME);
    }
    scale_timing(v, v->opt.timing);
    for (i = 0; i < v->map_count && !(v->map[i].attr & UDFU_MEM_WRITE); i++)
        ;
    if (i == v->map_count) {
        fprintf(stderr, "udfu-virtual: the layout has no writable region\n");
        return -1;
    }
    v->app_first = i;
    v->app_start = v->map[i].start;
    v->flash_end = region_end(&v->map[v->map_count - 1]);
    /* the whole flash: what the flash controller's protection checks */
    v->whole.name = v->name;
    v->whole.regions = v->map;
    v->whole.region_count = v->map_count;
    v->whole.dfuse = 1;
    v->app.name = "Application slot";
    v->app.regions = &v->map[i];
    v->app.region_count = (uint8_t)(v->map_count - i);
    v->app.dfuse = 0;
    v->target_count = 0;
    if (v->opt.alts != VDEV_ALTS_PLAIN && layout_too_long(v))
        return -1;
    if (v->opt.alts != VDEV_ALTS_PLAIN)
        v->targets[v->target_count++] = v->whole;
    if (v->opt.alts != VDEV_ALTS_DFUSE)
        v->targets[v->target_count++] = v->app;
    return vdev_boot_setup(v);
}

/* ---- flash backend of the DFU class ------------------------------------------------- */

static uint8_t attr_at(const struct vdev *v, uint32_t addr)
{
    const struct udfu_region *r = udfu_mem_find(&v->whole, addr);

    return r ? r->attr : 0;
}

static int fl_read(void *ctx, uint8_t alt, uint32_t addr, uint8_t *buf, uint32_t len)
{
    struct vdev *v = ctx;

    (void)alt;
    return udfu_nor_read(&v->nor, addr, buf, len);
}

/* The operation's time is up: it goes through the boot layer, whose first
 * write of a session invalidates the committed image. */
static int run_op(struct vdev *v)
{
    int err = v->op.kind == 1 ? udfu_boot_erase(&v->boot, v->op.addr, v->op.len)
                              : udfu_boot_prog(&v->boot, v->op.addr, v->op.buf, v->op.len);

    if (v->opt.verbose >= 2)
        fprintf(stderr, "udfu-virtual: %s 0x%08X +%u: %s\n", v->op.kind == 1 ? "erase" : "prog",
                (unsigned)v->op.addr, (unsigned)v->op.len, err ? udfu_strerror(err) : "ok");
    v->op.kind = 0;
    return err;
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    while (nanosleep(&ts, &ts) < 0) {
    }
}

/* Starts an operation that takes ms: done now if instant, else PENDING and
 * finished by vdev_step() when the time is up. A build without asynchronous
 * callbacks (UDFU_CFG_ASYNC 0) waits here instead, as such a bootloader
 * waits for its flash: nothing on the bus is answered meanwhile. */
static int start_op(struct vdev *v, uint8_t kind, uint32_t addr, uint32_t len,
                    const uint8_t *buf, uint32_t ms)
{
    v->op.kind = kind;
    v->op.addr = addr;
    v->op.len = len;
    v->op.buf = buf;
    if (ms == 0 || !UDFU_CFG_ASYNC) {
        sleep_ms(ms);
        return run_op(v);
    }
    v->op.due = usbip_now_ms() + ms;
    return UDFU_ERR_PENDING;
}

/* The flash controller's write protection: the core checks permissions
 * first, this is the second line (the boot layer, which only lets the
 * slot be touched, is the third). */
static int fl_erase(void *ctx, uint8_t alt, uint32_t addr, uint32_t size)
{
    struct vdev *v = ctx;
    const struct udfu_region *r = udfu_mem_find(&v->whole, addr);

    (void)alt;
    if (!(attr_at(v, addr) & UDFU_MEM_ERASE))
        return UDFU_ERR_PERM;
    return start_op(v, 1, addr, size, NULL, r ? r->erase_ms : 0);
}

static int fl_prog(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    struct vdev *v = ctx;

    if (alt >= v->target_count || udfu_mem_check(&v->whole, addr, len, UDFU_MEM_WRITE) < 0)
        return UDFU_ERR_PERM;
    /* the time the core announced as bwPollTimeout */
    return start_op(v, 2, addr, len, buf, udfu_mem_prog_ms(&v->targets[alt], addr, len));
}

static int fl_verify(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    struct vdev *v = ctx;
    const uint8_t *p = udfu_nor_mem(&v->nor, addr);

    (void)alt;
    if (len == 0)
        return 0;
    if (!p || udfu_nor_mem(&v->nor, addr + len - 1) != p + len - 1)
        return UDFU_ERR_RANGE;
    return memcmp(p, buf, len) ? UDFU_ERR_VERIFY : 0;
}

/* After a plain download and for a DfuSe leave: verify and commit.
 * A refused plain image ends in dfuERROR/errFIRMWARE and the device
 * stays. A DfuSe leave is a reset request, as on ST parts: the host has
 * its dfuMANIFEST and is gone, so the device resets anyway and the boot
 * decision (which keeps it in DFU mode) applies. */
static int fl_manifest(void *ctx, uint8_t alt)
{
    struct vdev *v = ctx;
    int err = vdev_boot_commit(v);

    if (err < 0 && v->targets[alt].dfuse) {
        v->reboot = VDEV_RESET_LEAVE;
        v->leave_addr = v->dfu.addr;
    }
    return err;
}

static void fl_leave(void *ctx, uint32_t addr)
{
    struct vdev *v = ctx;

    v->reboot = VDEV_RESET_LEAVE;
    v->leave_addr = addr;
}

#if UDFU_CFG_USBD_RT
/* The run-time DETACH reaches the bootloader as on parts that cannot
 * re-enumerate by themselves: the boot-request flag, then a reset. */
static void rt_detach(void *ctx)
{
    struct vdev *v = ctx;

    udfu_boot_flag_set(&v->flag, UDFU_BOOT_REQ_DFU);
    v->reboot = VDEV_RESET_DETACH;
    v->leave_addr = 0;
}
#endif

/* ---- personalities -------------------------------------------------------------------- */

static void setup_classes(struct vdev *v)
{
    struct udfu_dfu_cfg *d = &v->dfu_cfg;
    struct udfu_rt_cfg *r = &v->rt_cfg;

    memset(d, 0, sizeof(*d));
    d->context = v;
    d->targets = v->targets;
    d->target_count = v->target_count;
    d->interface = 0;
    /* not manifestation tolerant: after a download the device boots the
     * image (re-enumerating), as a bootloader does */
    d->attributes = UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD | UDFU_ATTR_WILL_DETACH;
    d->transfer_size = v->opt.transfer_size;
    d->buffer = v->xfer;
    d->detach_timeout_ms = 1000;
    d->manifest_ms = 10;
    /* dfu-util reads the status again bwPollTimeout + 1 s after dfuMANIFEST
     * and only then resets: the device must still be there */
    d->reset_timeout_ms = 3000;
    d->read = fl_read;
    d->erase = fl_erase;
    d->prog = fl_prog;
    d->verify = fl_verify;
    d->manifest = fl_manifest;
    d->leave = fl_leave;

#if UDFU_CFG_USBD_RT
    memset(r, 0, sizeof(*r));
    r->context = v;
    r->interface = 0;
    r->attributes = UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD | UDFU_ATTR_WILL_DETACH;
    r->detach_timeout_ms = 1000;
    r->transfer_size = v->opt.transfer_size;
    r->bcd_dfu = udfu_dfu_bcd(d);
    r->detach = rt_detach;
#else
    (void)r;
#endif
}

static uint16_t mode_pid(const struct vdev *v, enum vdev_mode m)
{
    return (uint16_t)(m == VDEV_DFU ? v->opt.pid + 1u : v->opt.pid);
}

/* Powers up a personality: fresh class and device core. A build whose
 * usbd serves DFU mode only has no run-time personality: the application
 * "runs" without USB, and the device stays off the bus until a restart. */
static void enter_mode(struct vdev *v, enum vdev_mode m)
{
    struct udfu_usbd_cfg *u = &v->usbd_cfg;
    int err = UDFU_ERR_INVAL; /* a personality this build cannot serve */

    if (m == VDEV_RUNTIME && !UDFU_CFG_USBD_RT) {
        v->mode = VDEV_APP_NO_USB;
        printf("udfu-virtual: the application runs; this build serves DFU mode only "
               "(UDFU_CFG_USBD_RT 0): off the bus until restarted\n");
        fflush(stdout);
        return;
    }
    v->mode = m;
    memset(u, 0, sizeof(*u));
    u->context = &v->dcd;
    u->dcd = &usbip_dcd_ops;
    u->vid = v->opt.vid;
    u->pid = mode_pid(v, m);
    u->bcd_device = 0x0100;
    u->manufacturer = "udfu";
    u->serial = v->opt.serial;
    u->ep0_size = 64;
    u->self_powered = 1;
    u->ms_vendor_code = 0x20;
    if (m == VDEV_DFU) {
        err = udfu_dfu_init(&v->dfu, &v->dfu_cfg);
        u->product = "udfu virtual device (DFU mode)";
        u->dfu = &v->dfu;
    } else {
#if UDFU_CFG_USBD_RT
        /* the application's own identity, as its descriptors would say */
        err = udfu_rt_init(&v->rt, &v->rt_cfg);
        u->product = v->app_name[0] ? v->app_name : "udfu virtual device";
        u->bcd_device = (uint16_t)v->image.version;
        u->rt = &v->rt;
        u->rt_name = "udfu DFU run-time";
#endif
    }
    /* check_opts() has ruled out what this build cannot serve */
    if (err == 0)
        err = udfu_usbd_init(&v->usbd, u);
    if (err < 0) {
        fprintf(stderr, "udfu-virtual: the device core refused its config: %s\n",
                udfu_strerror(err));
        abort();
    }
    usbip_dcd_init(&v->dcd, &v->srv, &v->usbd);
    printf("udfu-virtual: offering %04x:%04x (%s mode) as busid %s\n", u->vid, u->pid,
           m == VDEV_DFU ? "DFU" : "run-time", v->srv.busid);
    fflush(stdout);
}

/* A reset: the bootloader decides; a committed, verified image runs. */
static void boot(struct vdev *v)
{
    v->boots++;
    if (vdev_boot_check(v)) {
        printf("udfu-virtual: booted %s\n", v->image_desc);
        fflush(stdout);
        enter_mode(v, VDEV_RUNTIME);
    } else {
        printf("udfu-virtual: %s: staying in DFU mode\n", v->image_desc);
        fflush(stdout);
        enter_mode(v, VDEV_DFU);
    }
}

static void do_reboot(struct vdev *v)
{
    enum vdev_reset why = v->reboot;

    v->reboot = VDEV_RESET_NONE;
    /* the device drops off the bus; replies already given still arrive */
    usbip_server_disconnect(&v->srv);
    if (why == VDEV_RESET_DETACH)
        printf("udfu-virtual: detach: rebooting into the bootloader\n");
    else if (v->leave_addr)
        printf("udfu-virtual: leave: jump to 0x%08X requested; resetting, the bootloader "
               "decides\n", (unsigned)v->leave_addr);
    else
        printf("udfu-virtual: leave: resetting\n");
    fflush(stdout);
    boot(v);
}

static void tick(struct vdev *v);

/* ---- USB/IP device callbacks -------------------------------------------------------- */

static void dev_info(void *ctx, struct usbip_dev_info *info)
{
    struct vdev *v = ctx;

    snprintf(info->path, sizeof(info->path), "/sys/devices/platform/udfu-virtual/usb1/%s",
             v->srv.busid);
    info->absent = v->mode == VDEV_APP_NO_USB;
    info->busnum = 1;
    info->devnum = 2;
    info->speed = USBIP_SPEED_FULL;
    info->vid = v->usbd_cfg.vid;
    info->pid = v->usbd_cfg.pid;
    info->bcd_device = v->usbd_cfg.bcd_device;
    info->config_value = 1;
    info->num_configs = 1;
    info->num_interfaces = 1;
    info->intf[0].cls = UDFU_CLASS_APP_SPECIFIC;
    info->intf[0].subclass = UDFU_SUBCLASS_DFU;
    info->intf[0].protocol = v->mode == VDEV_DFU ? UDFU_PROTOCOL_DFU : UDFU_PROTOCOL_RUNTIME;
}

/* A new import: the device was plugged in, so it sees a bus reset. */
static int dev_attach(void *ctx)
{
    struct vdev *v = ctx;

    usbip_dcd_bus_reset(&v->dcd);
    return 0;
}

/* The core judges requests by the time of its last task call: a host that
 * polls exactly when bwPollTimeout ends must not find it a few ms behind
 * (a GETSTATUS "too early" in dfuDNBUSY is a stall). Mode switches wait
 * for the main loop. */
static void dev_submit(void *ctx, struct usbip_urb *urb)
{
    struct vdev *v = ctx;

    tick(v);
    usbip_dcd_submit(&v->dcd, urb);
}

static void dev_unlink(void *ctx, struct usbip_urb *urb)
{
    struct vdev *v = ctx;

    usbip_dcd_unlink(&v->dcd, urb);
}

/* The cable was pulled: a self-powered device keeps running; the next
 * import brings the bus reset. */
static const struct usbip_dev_ops vdev_ops = {
    dev_info, dev_attach, NULL, dev_submit, dev_unlink,
};

/* ---- lifetime and the loop ------------------------------------------------------------ */

static int check_opts(struct vdev_opts *o)
{
    if (!o->host)
        o->host = "127.0.0.1";
    if (!o->busid)
        o->busid = DEFAULT_BUSID;
    if (!o->vid)
        o->vid = DEFAULT_VID;
    if (!o->pid)
        o->pid = DEFAULT_PID;
    if (!o->transfer_size)
        o->transfer_size = DEFAULT_TRANSFER;
    if (o->timing < 0)
        o->timing = 100;
    if (!o->serial)
        o->serial = DEFAULT_SERIAL;
    /* what this build's class core speaks (udfu_opt.h) */
    if ((!UDFU_CFG_PLAIN && o->alts != VDEV_ALTS_DFUSE) ||
        (!UDFU_CFG_DFUSE && o->alts != VDEV_ALTS_PLAIN)) {
        fprintf(stderr, "udfu-virtual: --alts %s needs %s DFU targets, which this build "
                        "leaves out\n", o->alts == VDEV_ALTS_MIXED ? "mixed" :
                        o->alts == VDEV_ALTS_PLAIN ? "plain" : "dfuse",
                !UDFU_CFG_PLAIN ? "plain" : "DfuSe");
        return -1;
    }
    if (o->pid == 0xFFFFu) {
        fprintf(stderr, "udfu-virtual: --pid 0xFFFF leaves no PID for DFU mode\n");
        return -1;
    }
    if (o->transfer_size < 64 || o->transfer_size > 4096) {
        fprintf(stderr, "udfu-virtual: --transfer-size must be 64..4096 (Linux caps control "
                        "transfers at 4096)\n");
        return -1;
    }
    if (strlen(o->busid) >= USBIP_BUSID_LEN) {
        fprintf(stderr, "udfu-virtual: --busid is longer than %u characters\n",
                USBIP_BUSID_LEN - 1);
        return -1;
    }
    return 0;
}

static int open_flash(struct vdev *v)
{
    struct udfu_nor_cfg nc;
    int err;

    memset(&nc, 0, sizeof(nc));
    nc.regions = v->map;
    nc.region_count = v->map_count;
    nc.path = v->opt.flash;
    err = udfu_nor_open(&v->nor, &nc);
    if (err < 0) {
        fprintf(stderr, "udfu-virtual: cannot open flash %s: %s%s\n",
                v->opt.flash ? v->opt.flash : "(RAM)", udfu_strerror(err),
                err == UDFU_ERR_FORMAT ? " (the file does not match the layout's size)" : "");
        return -1;
    }
    return 0;
}

int vdev_open(struct vdev *v, const struct vdev_opts *opt)
{
    memset(v, 0, sizeof(*v));
    v->opt = *opt;
    v->t0 = usbip_now_ms();
    if (check_opts(&v->opt) < 0 || build_map(v) < 0 || open_flash(v) < 0)
        return -1;
    v->xfer = calloc(1, v->opt.transfer_size);
    if (!v->xfer || usbip_server_init(&v->srv, &vdev_ops, v, v->opt.busid) < 0) {
        fprintf(stderr, "udfu-virtual: out of memory\n");
        udfu_nor_close(&v->nor);
        free(v->xfer);
        return -1;
    }
    v->srv.verbose = v->opt.verbose;
    if (usbip_server_listen(&v->srv, v->opt.host, v->opt.port) < 0) {
        perror("udfu-virtual: listen");
        udfu_nor_close(&v->nor);
        free(v->xfer);
        return -1;
    }
    setup_classes(v);
    printf("udfu-virtual: flash %s, %u regions 0x%08X-0x%08X, timing %d%%\n",
           v->opt.flash ? v->opt.flash : "(RAM only)", (unsigned)v->map_count,
           (unsigned)v->map[0].start, (unsigned)(v->flash_end - 1), v->opt.timing);
    printf("udfu-virtual: listening on %s:%u busid %s\n", v->opt.host,
           (unsigned)usbip_server_port(&v->srv), v->srv.busid);
    fflush(stdout);
    boot(v);
    return 0;
}

/* How long poll may sleep: to the flash operation's end, and in small
 * steps for usbd's timers. */
static int wait_ms(const struct vdev *v, int max_wait_ms)
{
    int w = usbip_server_attached(&v->srv) ? 5 : 20;

    if (v->op.kind) {
        uint64_t now = usbip_now_ms();
        uint64_t left = v->op.due > now ? v->op.due - now : 0;

        if (left < (uint64_t)w)
            w = (int)left;
    }
    if (max_wait_ms >= 0 && max_wait_ms < w)
        w = max_wait_ms;
    return w;
}

/* Brings the device up to the present: flash work that is due completes,
 * and the core learns the time. */
static void tick(struct vdev *v)
{
#if UDFU_CFG_ASYNC
    if (v->op.kind && usbip_now_ms() >= v->op.due)
        udfu_dfu_complete(&v->dfu, run_op(v));
#endif
    if (v->mode != VDEV_APP_NO_USB)
        udfu_usbd_task(&v->usbd, clock_ms(v));
}

static void run_timers(struct vdev *v)
{
    tick(v);
    if (v->reboot)
        do_reboot(v);
}

int vdev_step(struct vdev *v, int max_wait_ms)
{
    int r = usbip_server_step(&v->srv, wait_ms(v, max_wait_ms));

    run_timers(v);
    return r;
}

void vdev_close(struct vdev *v)
{
    if (v->op.kind) {
        /* the power stays on until the flash is done */
        int err = run_op(v);

        (void)err;
    }
    usbip_server_close(&v->srv);
    udfu_nor_close(&v->nor);
    free(v->xfer);
    v->xfer = NULL;
}
