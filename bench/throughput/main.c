/*
 * main.c - the throughput benchmark: dfu-util's download algorithm against
 * udfu (single buffer and pipelined) and against reference sequential
 * devices with fixed poll timeouts, on full- and high-speed USB, for an
 * STM32F4-like flash and a serial NOR flash, 64 KiB and 1 MiB images.
 *
 * For every run: total time, the lower bound max(bus time, flash time) and
 * their ratio (efficiency). Bus time is the same download against the
 * ideal device (dev.h); flash time is erase plus program of the image at
 * typical datasheet times. Deterministic: no clock, no randomness.
 *
 *   throughput [--quick] [--xfer N] [--usbd] [--csv FILE] [--plot FILE] [--check]
 *              [--part P] [--bus FS|HS] [--proto dfu|dfuse] [--size 64K|1M]
 *              [--device D] [--trace] [--busy-bus] [--host-us N]
 *
 * --quick: 64 KiB images only. --usbd: udfu requests go through usbd.
 * --part/--bus/--proto/--size/--device: only the matching runs; --trace:
 * print their transfers with times and GETSTATUS answers (stderr).
 * --busy-bus: control transfers get only their guaranteed share of each
 * (micro)frame; --host-us: host software cost per transfer (default 75).
 * --check: exit 1 if any run failed or broke an invariant (image not in
 * flash exactly, a program over unerased bytes, a time below its bound).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "host.h"

enum { K_UDFU1, K_UDFU2, K_SEQ5, K_SEQ50, K_SEQ100, K_COUNT };

static const char *const kind_name[K_COUNT] = {"udfu-1", "udfu-2", "seq-5", "seq-50",
                                               "seq-100"};

struct opts {
    int quick, usbd, check, trace, busy_bus;
    int host_us;           /* < 0: the default */
    uint16_t xfer;
    const char *csv, *plot;
    const char *part, *bus, *proto, *size, *device; /* filters (NULL: all) */
};

struct result {
    double total, bus, flash, bound, eff;
    uint64_t getstatus;
    uint32_t max_poll;
    int ok;
    char why[160];
};

static double sec(ps_t t)
{
    return (double)t / 1e12;
}

static void make_image(uint8_t *img, uint32_t len)
{
    uint32_t x = 0x12345678u, i;
    for (i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        img[i] = (uint8_t)(x >> 16);
    }
}

static int g_busy_bus, g_host_us = -1;

static void bus_init(struct usb_bus *b, int hs)
{
    if (hs)
        usb_bus_hs(b);
    else
        usb_bus_fs(b);
    if (g_busy_bus)
        usb_bus_busy(b);
    if (g_host_us >= 0)
        usb_bus_host_us(b, (uint32_t)g_host_us);
}

/* Download img with dfu-util's algorithm; returns when the last block is
 * acknowledged and the flash has finished with it. */
static ps_t download(struct dev *d, int hs, int dfuse, uint16_t xfer, const struct flash_part *p,
                     const uint8_t *img, uint32_t len, struct host *h, struct usb_bus *bus,
                     int trace)
{
    ps_t end, t;
    bus_init(bus, hs);
    host_init(h, bus, d);
    h->trace = trace;
    if (dfuse)
        host_dfuse(h, xfer, p, p->base, img, len);
    else
        host_dfu(h, xfer, img, len);
    t = h->now;
    /* let the flash finish what is still queued (bounded: 1 hour) */
    while (!h->failed && d->busy(d) && t < h->now + 3600 * 1000 * PS_PER_MS) {
        t += PS_PER_MS;
        d->advance(d, t);
    }
    end = h->now > d->flash_done ? h->now : d->flash_done;
    return end;
}

static int image_landed(struct dev *d, const uint8_t *img, uint32_t len, char *why, size_t n)
{
    if (memcmp(d->mem.bytes, img, len) != 0) {
        snprintf(why, n, "image differs from flash");
        return 0;
    }
    if (d->mem.bad_progs) {
        snprintf(why, n, "%u bytes programmed while not erased", d->mem.bad_progs);
        return 0;
    }
    return 1;
}

static struct dev *new_dev(int kind, const struct dev_opts *base)
{
    struct dev_opts o = *base;
    static const uint32_t polls[] = {5, 50, 100};
    switch (kind) {
    case K_UDFU1:
    case K_UDFU2:
        o.buffers = kind == K_UDFU1 ? 1 : 2;
        return dev_udfu_new(&o);
    default:
        o.poll_ms = polls[kind - K_SEQ5];
        return dev_seq_new(&o);
    }
}

/* The bus bound: the same download against the ideal device. */
static ps_t bus_time(const struct dev_opts *o, int hs, const uint8_t *img, uint32_t len)
{
    struct usb_bus bus;
    struct host h;
    struct dev *d = dev_ideal_new(o);
    ps_t t = download(d, hs, o->dfuse, o->xfer, o->part, img, len, &h, &bus, 0);
    if (h.failed) {
        fprintf(stderr, "ideal device: %s\n", h.msg);
        exit(2);
    }
    d->destroy(d);
    return t;
}

static void run(int kind, const struct dev_opts *o, int hs, const uint8_t *img, uint32_t len,
                ps_t busb, int trace, struct result *r)
{
    struct usb_bus bus;
    struct host h;
    struct dev *d = new_dev(kind, o);
    ps_t total = download(d, hs, o->dfuse, o->xfer, o->part, img, len, &h, &bus, trace);
    ps_t flash = flash_image_time(o->part, o->part->base, len);
    ps_t bound = busb > flash ? busb : flash;
    memset(r, 0, sizeof *r);
    r->total = sec(total);
    r->bus = sec(busb);
    r->flash = sec(flash);
    r->bound = sec(bound);
    r->eff = total ? (double)bound / (double)total : 0;
    r->getstatus = h.getstatus;
    r->max_poll = h.max_poll;
    r->ok = !h.failed;
    if (h.failed)
        snprintf(r->why, sizeof r->why, "%s", h.msg);
    else if (!image_landed(d, img, len, r->why, sizeof r->why))
        r->ok = 0;
    else if (total < bound) {
        snprintf(r->why, sizeof r->why, "faster than the lower bound");
        r->ok = 0;
    }
    d->destroy(d);
}

static void usage(void)
{
    fprintf(stderr, "usage: throughput [--quick] [--xfer N] [--usbd] [--csv FILE] "
                    "[--plot FILE] [--check] [--part P] [--bus FS|HS] [--proto dfu|dfuse] "
                    "[--size 64K|1M] [--device D] [--trace] [--busy-bus] [--host-us N]\n");
    exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
    int i;
    memset(o, 0, sizeof *o);
    o->xfer = 2048;
    o->host_us = -1;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            o->quick = 1;
        else if (!strcmp(argv[i], "--usbd"))
            o->usbd = 1;
        else if (!strcmp(argv[i], "--check"))
            o->check = 1;
        else if (!strcmp(argv[i], "--trace"))
            o->trace = 1;
        else if (!strcmp(argv[i], "--busy-bus"))
            o->busy_bus = 1;
        else if (!strcmp(argv[i], "--host-us") && i + 1 < argc)
            o->host_us = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--part") && i + 1 < argc)
            o->part = argv[++i];
        else if (!strcmp(argv[i], "--bus") && i + 1 < argc)
            o->bus = argv[++i];
        else if (!strcmp(argv[i], "--proto") && i + 1 < argc)
            o->proto = argv[++i];
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            o->size = argv[++i];
        else if (!strcmp(argv[i], "--device") && i + 1 < argc)
            o->device = argv[++i];
        else if (!strcmp(argv[i], "--xfer") && i + 1 < argc)
            o->xfer = (uint16_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--csv") && i + 1 < argc)
            o->csv = argv[++i];
        else if (!strcmp(argv[i], "--plot") && i + 1 < argc)
            o->plot = argv[++i];
        else
            usage();
    }
    if (o->xfer < 64 || o->xfer > 4096)
        usage(); /* dfu-util caps the transfer size at 4096 on Linux */
}

static int pick(const char *filter, const char *value)
{
    return !filter || !strcmp(filter, value);
}

static void header(FILE *csv)
{
    printf("%-8s %-3s %-6s %-5s %-8s %9s %8s %8s %8s %6s %8s %7s %5s\n", "part", "bus",
           "proto", "image", "device", "total_s", "bus_s", "flash_s", "bound_s", "eff",
           "KiB/s", "status#", "maxpl");
    if (csv)
        fprintf(csv, "part,bus,proto,image_bytes,device,total_s,bus_s,flash_s,bound_s,"
                     "efficiency,kib_per_s,getstatus,max_poll_ms,ok\n");
}

static void row(FILE *csv, const char *part, const char *bus, const char *proto, uint32_t len,
                const char *dev, const struct result *r)
{
    char img[16];
    double kibs = r->total > 0 ? len / 1024.0 / r->total : 0;
    snprintf(img, sizeof img, len >= 1048576u ? "%uM" : "%uK",
             len >= 1048576u ? len >> 20 : len >> 10);
    printf("%-8s %-3s %-6s %-5s %-8s %9.3f %8.3f %8.3f %8.3f %6.3f %8.1f %7llu %5u%s%s\n",
           part, bus, proto, img, dev, r->total, r->bus, r->flash, r->bound, r->eff, kibs,
           (unsigned long long)r->getstatus, r->max_poll, r->ok ? "" : "  FAILED: ",
           r->ok ? "" : r->why);
    if (csv)
        fprintf(csv, "%s,%s,%s,%u,%s,%.6f,%.6f,%.6f,%.6f,%.4f,%.1f,%llu,%u,%d\n", part, bus,
                proto, len, dev, r->total, r->bus, r->flash, r->bound, r->eff, kibs,
                (unsigned long long)r->getstatus, r->max_poll, r->ok);
}

/* Issue 7: at least 0.95 of the lower bound for 1 MiB on the STM32F4 model
 * at full speed (udfu pipelined; single buffer shown for comparison). */
static void target(double eff[2][K_COUNT], int have[2][K_COUNT])
{
    int dfuse, k;
    for (dfuse = 0; dfuse < 2; dfuse++)
        for (k = K_UDFU1; k <= K_UDFU2; k++)
            if (have[dfuse][k])
                printf("target: stm32f4 FS 1M %-5s %-6s efficiency %.3f, target >= 0.95: %s\n",
                       dfuse ? "dfuse" : "dfu", kind_name[k], eff[dfuse][k],
                       k == K_UDFU1            ? "(single buffer, for comparison)"
                       : eff[dfuse][k] >= 0.95 ? "PASS"
                                               : "FAIL");
}

int main(int argc, char **argv)
{
    static const uint32_t sizes[] = {64u * 1024u, 1024u * 1024u};
    struct opts o;
    struct flash_part parts[2];
    FILE *csv = NULL, *plot = NULL;
    uint8_t *img;
    int pi, hs, dfuse, si, k, bad = 0;
    /* STM32F4, full speed, 1 MiB, per protocol and device: for the target */
    double f4fs[2][K_COUNT];
    int have[2][K_COUNT] = {{0}};

    parse(argc, argv, &o);
    g_busy_bus = o.busy_bus;
    g_host_us = o.host_us;
    flash_stm32f4(&parts[0]);
    flash_nor(&parts[1]);
    img = malloc(sizes[1]);
    if (!img)
        return 2;
    make_image(img, sizes[1]);
    if (o.csv && !(csv = fopen(o.csv, "w")))
        return 2;
    if (o.plot && !(plot = fopen(o.plot, "w")))
        return 2;
    if (plot) {
        fprintf(plot, "config");
        for (k = 0; k < K_COUNT; k++)
            fprintf(plot, " %s", kind_name[k]);
        fprintf(plot, "\n");
    }
    printf("dfu-util 0.11 host model, wTransferSize %u, udfu %s%s; times in seconds\n", o.xfer,
           o.usbd ? "through usbd" : "class core", o.busy_bus ? ", busy bus" : "");
    header(csv);
    for (pi = 0; pi < 2; pi++)
        for (hs = 0; hs < 2; hs++)
            for (dfuse = 0; dfuse < 2; dfuse++)
                for (si = 0; si <= (o.quick ? 0 : 1); si++) {
                    struct dev_opts d = {&parts[pi], dfuse, o.xfer, 1, o.usbd, 0};
                    uint32_t len = sizes[si];
                    const char *busn = hs ? "HS" : "FS", *proto = dfuse ? "dfuse" : "dfu";
                    ps_t busb;
                    if (!pick(o.part, parts[pi].name) || !pick(o.bus, busn) ||
                        !pick(o.proto, proto) || !pick(o.size, si ? "1M" : "64K"))
                        continue;
                    busb = bus_time(&d, hs, img, len);
                    if (plot && len == sizes[1])
                        fprintf(plot, "\"%s %s %s\"", parts[pi].name, busn, proto);
                    for (k = 0; k < K_COUNT; k++) {
                        struct result r;
                        if (!pick(o.device, kind_name[k]))
                            continue;
                        run(k, &d, hs, img, len, busb, o.trace, &r);
                        row(csv, parts[pi].name, busn, proto, len, kind_name[k], &r);
                        bad |= !r.ok;
                        if (pi == 0 && !hs && si == 1) {
                            f4fs[dfuse][k] = r.eff;
                            have[dfuse][k] = r.ok;
                        }
                        if (plot && len == sizes[1])
                            fprintf(plot, " %.4f", r.eff);
                    }
                    if (plot && len == sizes[1])
                        fprintf(plot, "\n");
                }
    target(f4fs, have);
    if (csv)
        fclose(csv);
    if (plot)
        fclose(plot);
    free(img);
    return o.check && bad ? 1 : 0;
}
