/*
 * main.c - `udfu`, the udfu host tool: command dispatch and help.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define UDFU_VERSION "0.1.0"

static const char usage[] =
    "udfu " UDFU_VERSION " - USB DFU 1.1 and ST DfuSe firmware tool\n"
    "\n"
    "usage: udfu COMMAND [ARGS] [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  list                 show DFU devices and their memory\n"
    "  status               show the device's DFU state and status\n"
    "  download FILE        write firmware (.bin, .dfu, DfuSe .dfu)\n"
    "  upload FILE          read firmware back into FILE\n"
    "  detach               switch a device from run-time mode to DFU mode\n"
    "  erase                erase a range (--address/--length) or everything (--mass)\n"
    "  leave                leave DFU mode and start the application\n"
    "  pack INPUT -o OUT    make a .dfu or DfuSe .dfu from .bin or Intel HEX (with\n"
    "                       --boot-header: a bootable udfu image)\n"
    "  info FILE            show what a .dfu file holds and check it\n"
    "\n"
    "device selection (commands that talk to a device):\n"
    "  --usbip HOST[:PORT]  use a USB/IP server (udfu-virtual; default port 3240);\n"
    "                       no kernel module or root needed. Default: $UDFU_USBIP\n"
    "  --busid BUSID        which exported device (default: the only DFU one)\n"
    "  -d, --device VID:PID USB device by IDs (hex), through libusb\n"
    "  -S, --serial SERIAL  USB device by serial number\n"
    "  -p, --path BUS-PORT  USB device by port path, as `udfu list` shows it\n"
    "  --intf N             DFU interface number (default: the first one)\n"
    "  -t, --timeout MS     control transfer timeout (default 5000)\n"
    "\n"
    "common options:\n"
    "  --json               one JSON object on stdout (also for errors)\n"
    "  -q, --quiet          no notes, no progress bar\n"
    "  -v, --verbose        more notes\n"
    "  -h, --help           help (also `udfu COMMAND --help`)\n"
    "\n"
    "exit codes:\n"
    "  0 success\n"
    "  1 failure not listed below (e.g. out of memory)\n"
    "  2 bad command line\n"
    "  3 file problem: unreadable, malformed, wrong CRC, or made for another device\n"
    "  4 no device: none found, several match, or it went away\n"
    "  5 address problem: outside the memory, read-only, or the image does not fit\n"
    "    (found before anything was erased)\n"
    "  6 the device refused the request or reported an error\n"
    "  7 transfer failed: timeout or I/O error\n"
    "  8 verify failed: the read-back differs\n";

static const struct {
    const char *name;
    int (*fn)(struct cli *c);
    const char *help;
} commands[] = {
    {"list", cmd_list,
     "usage: udfu list [--usbip HOST[:PORT]] [--json]\n\n"
     "Shows every DFU interface: IDs, mode (run-time or DFU), where it is, strings,\n"
     "transfer size, attributes, and for each alt setting its name or DfuSe memory\n"
     "layout (ranges, sector sizes, read/erase/write permissions).\n"
     "Without --usbip it looks at USB devices through libusb.\n"},
    {"status", cmd_status,
     "usage: udfu status [device selection] [--json]\n\n"
     "Reads GETSTATUS: the DFU state and status, without changing anything.\n"},
    {"download", cmd_download,
     "usage: udfu download FILE [--alt N|NAME] [--address A] [--leave] [--verify]\n"
     "                      [--force] [device selection]\n\n"
     "Writes FILE to the device. A device in run-time mode is detached first.\n"
     "  FILE.bin           raw image: plain DFU devices take it as a whole; DfuSe\n"
     "                     devices need --address (where it goes)\n"
     "  FILE.dfu           image with a DFU suffix: its VID/PID must match the\n"
     "                     device (0xFFFF matches any; --force skips the check)\n"
     "  DfuSe FILE.dfu     targets and elements: each goes to its alt setting and\n"
     "                     address; everything is checked before anything is erased\n"
     "  --alt N|NAME       alt setting to write (default 0)\n"
     "  --address A        DfuSe: where a raw image goes (0x08004000, 16K ...)\n"
     "  --verify           read the data back and compare (exit 8 if it differs)\n"
     "  --leave            DfuSe: start the application afterwards (at --address or\n"
     "                     the first address written)\n"
     "Only the sectors the image touches are erased.\n"},
    {"upload", cmd_upload,
     "usage: udfu upload FILE [--address A --length N] [--alt N|NAME]\n"
     "                    [device selection]\n\n"
     "Reads firmware into FILE (\"-\" for stdout).\n"
     "  DfuSe devices: --address and --length say what to read.\n"
     "  Plain DFU devices: reads until the device ends the upload, at most\n"
     "  --length bytes (default 16M).\n"},
    {"detach", cmd_detach,
     "usage: udfu detach [device selection]\n\n"
     "Switches a device in run-time mode to DFU mode (DETACH, then a bus reset\n"
     "unless the device detaches itself) and waits until it is back in DFU mode.\n"},
    {"erase", cmd_erase,
     "usage: udfu erase --address A --length N [--alt N|NAME] [device selection]\n"
     "       udfu erase --mass [--alt N|NAME] [device selection]\n\n"
     "DfuSe devices: erases every sector that [A, A+N) touches (after checking they\n"
     "are all erasable), or all erasable memory with --mass.\n"},
    {"leave", cmd_leave,
     "usage: udfu leave [--address A] [--wait] [device selection]\n\n"
     "Leaves DFU mode. DfuSe: jump to A (default: the start of the first writable\n"
     "region). Plain DFU: a bus reset. --wait waits for the device to come back\n"
     "and says in which mode. A device whose check of the image refuses to start\n"
     "it (dfuERROR, e.g. errFIRMWARE) stays in DFU mode: exit 6.\n"},
    {"pack", cmd_pack,
     "usage: udfu pack INPUT... -o OUTPUT [--dfuse] [--address A] [--alt N]\n"
     "                 [--name NAME] [--vid V] [--pid P] [--bcd-device D]\n"
     "                 [--boot-header --image-version N [--header-size S]] [--raw]\n\n"
     "Makes a DFU file.\n"
     "  INPUT.bin                  plain .dfu: the image plus a DFU suffix\n"
     "  INPUT.bin --address A      DfuSe .dfu with one element at A\n"
     "  INPUT.bin@A ...            DfuSe .dfu with one element per input\n"
     "  INPUT.hex                  DfuSe .dfu, one element per contiguous run\n"
     "  --alt N / --name NAME      the DfuSe target's alt setting (0) and name\n"
     "  --vid/--pid/--bcd-device   the suffix IDs (default 0xFFFF: any device)\n"
     "  --raw                      write the image alone (one contiguous run), no\n"
     "                             suffix or container: a .bin for plain DFU\n"
     "  --boot-header              put udfu's image header (udfu_boot.h: magic, version,\n"
     "                             length, load address, CRC-32) in front of the\n"
     "                             application, which must be linked at its address\n"
     "                             (--address, INPUT@A or the HEX addresses); the header\n"
     "                             goes --header-size bytes (default 512) below it, the\n"
     "                             gap is 0xFF. Output: DfuSe .dfu, or --raw.\n"
     "  --image-version N          the version in the header (required with it)\n"
     "e.g. udfu pack app.bin --boot-header --image-version 2 --address 0x0800C200 -o app.dfu\n"},
    {"info", cmd_info,
     "usage: udfu info FILE [--json]\n\n"
     "Shows what FILE holds: DFU suffix (IDs, CRC), DfuSe targets and elements,\n"
     "or that it is a raw image; and the udfu boot header of an image (or DfuSe\n"
     "element) that starts with one: version, flags, payload length, load address,\n"
     "CRC and whether the payload matches it. Exits 3 if the file is corrupt\n"
     "(also: a damaged boot header, or a payload that does not match it).\n"},
};

const char *cli_help(const char *command)
{
    size_t i;
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, command))
            return commands[i].help;
    return NULL;
}

static void defaults(struct cli *c)
{
    const char *env = getenv("UDFU_USBIP");
    memset(c, 0, sizeof *c);
    c->bar_phase = -1;
    if (env && *env) {
        struct cli tmp;
        char *argv[4] = {"udfu", "--usbip", (char *)env, NULL};
        memset(&tmp, 0, sizeof tmp);
        if (cli_parse(&tmp, 3, argv) == 0) {
            memcpy(c->usbip_host, tmp.usbip_host, sizeof c->usbip_host);
            c->usbip_port = tmp.usbip_port;
            c->use_usbip = 1;
        }
    }
}

int main(int argc, char **argv)
{
    struct cli c;
    size_t i;
    int err;
    defaults(&c);
    err = cli_parse(&c, argc, argv);
    if (err)
        return err;
    /* libusb selection overrides $UDFU_USBIP; --usbip overrides both. */
    if (!(c.given & OPT_USBIP) && (c.given & (OPT_DEVICE | OPT_SERIAL | OPT_PATH)))
        c.use_usbip = 0;
    c.bar = !c.json && !c.quiet && isatty(STDERR_FILENO);
    if (c.version) {
        puts("udfu " UDFU_VERSION);
        return EXIT_OK;
    }
    if (!c.command) {
        fputs(usage, c.help ? stdout : stderr);
        return c.help ? EXIT_OK : EXIT_USAGE;
    }
    if (!strcmp(c.command, "help")) {
        const char *h = c.nargs ? cli_help(c.args[0]) : NULL;
        fputs(h ? h : usage, stdout);
        return EXIT_OK;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, c.command) != 0)
            continue;
        if (c.help) {
            fputs(commands[i].help, stdout);
            return EXIT_OK;
        }
        return commands[i].fn(&c);
    }
    return cli_error(&c, EXIT_USAGE, "unknown command \"%s\"; see `udfu --help`", c.command);
}
