/*
 * main.c - udfu-virtual: a DFU device on USB/IP, for trying udfu, host
 * tools and the kernel's usbip without hardware. See docs/virtual-device.md.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdev.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: udfu-virtual [options]\n"
            "\n"
            "Exports a simulated DFU device over USB/IP on loopback: a bootloader with\n"
            "udfu's fail-safe boot layer (an image boots only once it was downloaded in\n"
            "full, verified and committed) and a run-time personality. Attach it with\n"
            "  udfu --usbip 127.0.0.1 list          (no kernel module, no root)\n"
            "  sudo usbip attach -r 127.0.0.1 -b 1-1 (then any libusb tool, e.g. dfu-util)\n"
            "\n"
            "options:\n"
            "  --port N            TCP port (default 3240; 0 picks a free one)\n"
            "  --host ADDR         listen address (default 127.0.0.1)\n"
            "  --busid ID          bus ID the device is exported as (default 1-1)\n"
            "  --flash FILE        keep the flash in FILE (created erased; default: RAM only)\n"
            "  --layout STR        DfuSe memory layout, e.g.\n"
            "                      \"@Internal Flash /0x08000000/03*016Ka,01*016Kg,01*064Kg,"
            "07*128Kg\"\n"
            "                      (default: the first writable sector starts the image slot,\n"
            "                      the two read-only sectors below it hold the commit journal,\n"
            "                      anything below those is the bootloader)\n"
            "  --vid V             vendor ID (default 0x1209, pid.codes)\n"
            "  --pid P             run-time PID (default 0x0001); DFU mode uses P+1\n"
            "  --serial S          serial number string (default UDFUVIRT0001)\n"
            "  --transfer-size N   wTransferSize, 64..4096 (default 2048)\n"
            "  --alts KIND         DFU-mode alt settings: dfuse (default: alt 0 DfuSe over the\n"
            "                      whole flash; what dfu-util handles), mixed (plus alt 1,\n"
            "                      plain DFU 1.1 over the image slot), plain (plain DFU 1.1\n"
            "                      over the slot only)\n"
            "  --timing PCT        flash timing in percent of the STM32F4 datasheet figures\n"
            "                      (default 100; 0: instant)\n"
            "  --once              exit when the first client session ends (tests)\n"
            "  -v, --verbose       log sessions; twice: every URB and flash operation\n"
            "  -h, --help          this text\n");
}

/* Numbers in C notation (0x.., decimal); out of [lo, hi] is an error. */
static int parse_num(const char *opt, const char *s, unsigned long lo, unsigned long hi,
                     unsigned long *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 0);
    if (errno || end == s || *end || v < lo || v > hi || s[0] == '-') {
        fprintf(stderr, "udfu-virtual: %s needs a number in %lu..%lu, not '%s'\n", opt, lo, hi,
                s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct vdev_opts *o, int *once)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long n;

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o->verbose++;
            continue;
        } else if (!strcmp(a, "--once")) {
            *once = 1;
            continue;
        }
        if (a[0] != '-' || !val) {
            fprintf(stderr, "udfu-virtual: %s '%s' (see --help)\n",
                    a[0] == '-' ? "missing value for" : "unexpected argument", a);
            return -1;
        }
        i++;
        if (!strcmp(a, "--port")) {
            if (parse_num(a, val, 0, 65535, &n) < 0)
                return -1;
            o->port = (uint16_t)n;
        } else if (!strcmp(a, "--host")) {
            o->host = val;
        } else if (!strcmp(a, "--busid")) {
            o->busid = val;
        } else if (!strcmp(a, "--flash")) {
            o->flash = val;
        } else if (!strcmp(a, "--layout")) {
            o->layout = val;
        } else if (!strcmp(a, "--serial")) {
            o->serial = val;
        } else if (!strcmp(a, "--vid") || !strcmp(a, "--pid")) {
            if (parse_num(a, val, 1, 0xFFFF, &n) < 0)
                return -1;
            if (a[2] == 'v')
                o->vid = (uint16_t)n;
            else
                o->pid = (uint16_t)n;
        } else if (!strcmp(a, "--transfer-size")) {
            if (parse_num(a, val, 64, 4096, &n) < 0)
                return -1;
            o->transfer_size = (uint16_t)n;
        } else if (!strcmp(a, "--alts")) {
            if (!strcmp(val, "mixed")) {
                o->alts = VDEV_ALTS_MIXED;
            } else if (!strcmp(val, "dfuse")) {
                o->alts = VDEV_ALTS_DFUSE;
            } else if (!strcmp(val, "plain")) {
                o->alts = VDEV_ALTS_PLAIN;
            } else {
                fprintf(stderr, "udfu-virtual: --alts is mixed, dfuse or plain, not '%s'\n", val);
                return -1;
            }
        } else if (!strcmp(a, "--timing")) {
            if (parse_num(a, val, 0, 10000, &n) < 0)
                return -1;
            o->timing = (int)n;
        } else {
            fprintf(stderr, "udfu-virtual: unknown option %s (see --help)\n", a);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct vdev v;
    struct vdev_opts o;
    struct sigaction sa;
    int once = 0, rc = 0;

    memset(&o, 0, sizeof(o));
    o.port = USBIP_DEFAULT_PORT;
    o.timing = -1;
    if (parse_args(argc, argv, &o, &once) < 0)
        return 2;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (vdev_open(&v, &o) < 0)
        return 1;
    while (!stop_signal) {
        if (vdev_step(&v, -1) < 0) {
            perror("udfu-virtual: poll");
            rc = 1;
            break;
        }
        if (once && v.srv.stats.client_ends > 0)
            break;
    }
    vdev_close(&v);
    if (stop_signal)
        printf("udfu-virtual: %s, shutting down\n", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
    printf("udfu-virtual: stopped%s%s\n", o.flash ? ", flash saved in " : "",
           o.flash ? o.flash : "");
    return rc;
}
