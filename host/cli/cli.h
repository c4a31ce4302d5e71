/*
 * cli.h - the `udfu` command-line tool: shared state and helpers of the
 * command files (cmd_*.c).
 */
#ifndef UDFU_CLI_H
#define UDFU_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "udfu_host.h"

/* Exit codes (documented in `udfu --help` and docs/host-tool.md). */
enum cli_exit {
    EXIT_OK = 0,
    EXIT_FAIL = 1,     /* anything not covered below */
    EXIT_USAGE = 2,    /* bad command line */
    EXIT_FILE = 3,     /* file unreadable, malformed, bad CRC, or for another device */
    EXIT_NODEV = 4,    /* no device, several devices, or the device went away */
    EXIT_ADDRESS = 5,  /* address outside memory, read-only, image does not fit */
    EXIT_DEVICE = 6,   /* the device refused or reported an error */
    EXIT_TRANSFER = 7, /* timeout or I/O error during a transfer */
    EXIT_VERIFY = 8    /* read-back differs from what was written */
};

/* Options; which ones a command accepts is checked per command. */
enum {
    OPT_USBIP = 1 << 0,
    OPT_BUSID = 1 << 1,
    OPT_DEVICE = 1 << 2,
    OPT_SERIAL = 1 << 3,
    OPT_PATH = 1 << 4,
    OPT_INTF = 1 << 5,
    OPT_ALT = 1 << 6,
    OPT_ADDRESS = 1 << 7,
    OPT_LENGTH = 1 << 8,
    OPT_MASS = 1 << 9,
    OPT_LEAVE = 1 << 10,
    OPT_VERIFY = 1 << 11,
    OPT_FORCE = 1 << 12,
    OPT_OUTPUT = 1 << 13,
    OPT_DFUSE = 1 << 14,
    OPT_VID = 1 << 15,
    OPT_PID = 1 << 16,
    OPT_BCD = 1 << 17,
    OPT_NAME = 1 << 18,
    OPT_WAIT = 1 << 19,
    OPT_TIMEOUT = 1 << 20,
    OPT_BOOT_HEADER = 1 << 21,
    OPT_IMAGE_VERSION = 1 << 22,
    OPT_HEADER_SIZE = 1 << 23,
    OPT_RAW = 1 << 24
};
#define OPT_SELECT (OPT_USBIP | OPT_BUSID | OPT_DEVICE | OPT_SERIAL | OPT_PATH | OPT_INTF | \
                    OPT_TIMEOUT)

struct cli {
    const char *command;
    unsigned given;           /* OPT_* seen on the command line */
    int json, quiet, verbose, help, version;
    /* device selection */
    char usbip_host[128];
    uint16_t usbip_port;
    int use_usbip;
    const char *busid;
    struct udfu_host_match match;
    const char *alt;          /* number or name */
    uint32_t timeout_ms;
    /* command options */
    uint32_t address, length;
    int mass, leave, verify, force, dfuse, wait;
    int boot_header, raw;     /* pack: udfu image header; raw output */
    uint32_t image_version, header_size;
    const char *output, *name;
    uint16_t vid, pid, bcd;
    const char *args[16];     /* positional arguments after the command */
    int nargs;
    /* progress bar state */
    int bar;                  /* draw on stderr */
    int bar_phase;
    int bar_last;
};

/* args.c */
/* Parses argv into c. Returns 0, or EXIT_USAGE after printing why. */
int cli_parse(struct cli *c, int argc, char **argv);
/* Refuses options the command does not take. 0 or EXIT_USAGE. */
int cli_allow(struct cli *c, unsigned allowed);
/* "0x08004000", "4096", "64K", "1M". 0 or -1. */
int cli_number(const char *s, uint32_t *out);

/* output.c */
int cli_error(struct cli *c, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Maps a library error to an exit code and prints the device's message. */
int cli_dev_error(struct cli *c, struct udfu_host_dev *d, int err);
int cli_exit_for(int err);
void cli_note(struct cli *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void cli_progress(void *ctx, enum udfu_host_phase phase, uint64_t done, uint64_t total);
void cli_size(char *buf, size_t size, uint64_t bytes);
const char *cli_attr_word(uint8_t attr);
/* JSON on stdout: objects and arrays nest; commas are handled. */
void json_open(const char *key, char bracket);
void json_close(char bracket);
void json_str(const char *key, const char *v);
void json_int(const char *key, long long v);
void json_bool(const char *key, int v);
void json_end(void); /* newline after the top-level value */
/* A device's description, as human text (out) or JSON. */
void cli_print_info(struct cli *c, const struct udfu_host_info *info);
void cli_json_info(const struct udfu_host_info *info);

/* files.c */
/* Reads a whole file ("-": stdin). *data is malloc'd. 0 or EXIT_FILE. */
int cli_read_file(struct cli *c, const char *path, uint8_t **data, size_t *len);
/* Writes a whole file ("-": stdout). 0 or EXIT_FILE. */
int cli_write_file(struct cli *c, const char *path, const uint8_t *data, size_t len);

/* cmd_device.c */
/* Opens the selected device and sets it up (progress, alt). 0 or exit code. */
int cli_open(struct cli *c, struct udfu_host_dev **out);
/* Selects --alt on an open device. 0 or exit code. */
int cli_select_alt(struct cli *c, struct udfu_host_dev *d);
/* Detaches a run-time device into DFU mode (noting it). 0 or exit code. */
int cli_need_dfu(struct cli *c, struct udfu_host_dev *d);
/* 1 if the alt claims DfuSe (bcdDFU 0x011A, name starting with '@') but its
 * layout did not parse. */
int cli_bad_layout(const struct udfu_host_info *info, const struct udfu_host_alt *a);
/* Refuses the current alt when its DfuSe layout does not parse: it is
 * neither usable as DfuSe nor safe as plain DFU. 0 or EXIT_DEVICE. */
int cli_usable_alt(struct cli *c, struct udfu_host_dev *d);

/* One function per command; each returns the exit code. */
int cmd_list(struct cli *c);
int cmd_detach(struct cli *c);
int cmd_status(struct cli *c);
int cmd_erase(struct cli *c);
int cmd_leave(struct cli *c);
int cmd_download(struct cli *c);
int cmd_upload(struct cli *c);
int cmd_pack(struct cli *c);
int cmd_info(struct cli *c);

/* Help text of a command (NULL: unknown). */
const char *cli_help(const char *command);

#endif
