/*
 * cmd_download.c - `udfu download FILE`: raw images, .dfu files with a
 * suffix, and DfuSe files, with optional read-back verify and leave.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "udfu_file.h"

enum kind { KIND_RAW, KIND_DFU, KIND_DFUSE };

struct image {
    const char *path;
    uint8_t *data;
    size_t len;
    enum kind kind;
    size_t payload;       /* bytes of data before the suffix */
    struct udfu_suffix sx;
    uint32_t first_addr;  /* DfuSe: address of the first element */
    uint8_t first_alt;    /* DfuSe: the alt of the target that holds it */
    int elements;
    uint64_t element_bytes; /* DfuSe: data bytes of all elements */
};

static const char *kind_name(enum kind k)
{
    return k == KIND_DFUSE ? "dfuse" : k == KIND_DFU ? "dfu" : "raw";
}

static int crc_error(struct cli *c, const struct image *im)
{
    uint32_t crc = udfu_crc32(UDFU_CRC32_INIT, im->data, im->len - 4);
    uint32_t stored = (uint32_t)im->data[im->len - 4] | (uint32_t)im->data[im->len - 3] << 8 |
                      (uint32_t)im->data[im->len - 2] << 16 | (uint32_t)im->data[im->len - 1] << 24;
    return cli_error(c, EXIT_FILE, "%s: the DFU suffix CRC is 0x%08X but the file's is 0x%08X: "
                     "the file is corrupt or was changed after packing; re-create it with "
                     "`udfu pack`", im->path, (unsigned)stored, (unsigned)crc);
}

/* The first element of a DfuSe file (for --leave), and the element count;
 * a malformed file is reported here, before the device is opened. */
static int scan_dfuse(struct cli *c, struct image *im)
{
    struct udfu_dfuse_reader r;
    struct udfu_dfuse_target t;
    struct udfu_dfuse_element e;
    int rc = udfu_dfuse_open(&r, im->data, im->len);
    while (rc >= 0 && (rc = udfu_dfuse_next_target(&r, &t)) > 0)
        while ((rc = udfu_dfuse_next_element(&r, &e)) > 0) {
            if (im->elements++ == 0) {
                im->first_addr = e.address;
                im->first_alt = t.alt;
            }
            im->element_bytes += e.size;
        }
    if (rc < 0)
        return cli_error(c, EXIT_FILE, "%s is not a valid DfuSe file (%s); `udfu info %s` "
                         "shows where it breaks", im->path, udfu_strerror(rc), im->path);
    if (!im->elements)
        return cli_error(c, EXIT_FILE, "%s holds no firmware (no DfuSe elements)", im->path);
    return 0;
}

static int classify(struct cli *c, struct image *im)
{
    int n = udfu_suffix_parse(im->data, im->len, &im->sx);
    int prefix = im->len >= 5 && memcmp(im->data, "DfuSe", 5) == 0;
    if (n == UDFU_ERR_CRC)
        return crc_error(c, im);
    if (n < 0) {
        if (prefix)
            return cli_error(c, EXIT_FILE, "%s starts like a DfuSe file but has no valid DFU "
                             "suffix: it is truncated or corrupt", im->path);
        im->kind = KIND_RAW;
        im->payload = im->len;
        return 0;
    }
    if (im->sx.bcd_dfu == UDFU_BCD_DFUSE || prefix) {
        im->kind = KIND_DFUSE;
        return scan_dfuse(c, im);
    }
    im->kind = KIND_DFU;
    im->payload = (size_t)n;
    if (n == 0)
        return cli_error(c, EXIT_FILE, "%s holds only a DFU suffix, no firmware", im->path);
    return 0;
}

static int mismatch(struct cli *c, const uint8_t *want, const uint8_t *got, size_t len,
                    uint32_t addr)
{
    size_t i;
    for (i = 0; i < len && want[i] == got[i]; i++)
        ;
    if (i == len)
        return 0;
    return cli_error(c, EXIT_VERIFY, "verify failed: the byte at 0x%08X reads 0x%02X, expected "
                     "0x%02X; the flash may be worn out or protected", (unsigned)(addr + i),
                     got[i], want[i]);
}

static int verify_range(struct cli *c, struct udfu_host_dev *d, uint32_t addr,
                        const uint8_t *want, size_t len)
{
    uint8_t *buf = malloc(len);
    int err, code;
    if (!buf)
        return cli_error(c, EXIT_FAIL, "out of memory");
    err = udfu_host_dfuse_read(d, addr, buf, len);
    code = err < 0 ? cli_dev_error(c, d, err) : mismatch(c, want, buf, len, addr);
    free(buf);
    return code;
}

static int verify_dfuse_file(struct cli *c, struct udfu_host_dev *d, const struct image *im)
{
    struct udfu_dfuse_reader r;
    struct udfu_dfuse_target t;
    struct udfu_dfuse_element e;
    int code = 0;
    udfu_dfuse_open(&r, im->data, im->len);
    while (!code && udfu_dfuse_next_target(&r, &t) > 0) {
        int err = udfu_host_select_alt(d, t.alt);
        if (err < 0)
            return cli_dev_error(c, d, err);
        while (!code && udfu_dfuse_next_element(&r, &e) > 0)
            code = e.size ? verify_range(c, d, e.address, e.data, e.size) : 0;
    }
    return code;
}

/* A device that is not manifestation tolerant has left DFU mode (it reset
 * into its new firmware): bring it back to read it. It stays in DFU mode. */
static int back_to_dfu(struct cli *c, struct udfu_host_dev *d)
{
    int err, code;
    cli_note(c, "the device left DFU mode after manifestation: bringing it back to verify");
    err = udfu_host_reconnect(d, 0, c->timeout_ms > 10000 ? c->timeout_ms : 0);
    if (err < 0)
        return cli_dev_error(c, d, err);
    code = cli_need_dfu(c, d);
    return code ? code : cli_select_alt(c, d);
}

static int verify_plain(struct cli *c, struct udfu_host_dev *d, const struct image *im)
{
    int left = !(udfu_host_info(d)->attributes & UDFU_ATTR_MANIFEST_TOLERANT);
    uint8_t *buf;
    long n;
    int code = left ? back_to_dfu(c, d) : 0;
    if (code)
        return code;
    if (!(buf = malloc(im->payload)))
        return cli_error(c, EXIT_FAIL, "out of memory");
    n = udfu_host_upload(d, buf, im->payload);
    if (n < 0)
        code = cli_dev_error(c, d, (int)n);
    else if ((size_t)n < im->payload)
        code = cli_error(c, EXIT_VERIFY, "verify failed: the device returned %ld of %zu bytes",
                         n, im->payload);
    else
        code = mismatch(c, im->data, buf, im->payload, 0);
    free(buf);
    if (!code && left)
        cli_note(c, "the device stays in DFU mode after the verify; `udfu leave` starts the "
                    "firmware");
    return code;
}

static int first_writable(struct udfu_host_dev *d, uint32_t *addr)
{
    const struct udfu_host_info *info = udfu_host_info(d);
    uint8_t i, r;
    for (i = 0; i < info->alt_count; i++)
        if (info->alts[i].alt == udfu_host_alt(d))
            for (r = 0; r < info->alts[i].region_count; r++)
                if (info->alts[i].regions[r].attr & UDFU_MEM_WRITE) {
                    *addr = info->alts[i].regions[r].start;
                    return 1;
                }
    return 0;
}

/* Raw or suffixed image: DfuSe alts need an address, plain ones refuse it. */
static int write_image(struct cli *c, struct udfu_host_dev *d, const struct image *im)
{
    int dfuse = udfu_host_is_dfuse(d), err;
    uint32_t hint;
    if ((err = cli_usable_alt(c, d)) != 0)
        return err;
    if (dfuse && !(c->given & OPT_ADDRESS)) {
        if (first_writable(d, &hint))
            return cli_error(c, EXIT_USAGE, "alt %u is DfuSe memory: say where the image goes "
                             "with --address (writable memory starts at 0x%08X; `udfu list` "
                             "shows the layout)", udfu_host_alt(d), (unsigned)hint);
        return cli_error(c, EXIT_USAGE, "alt %u is DfuSe memory: say where the image goes with "
                         "--address", udfu_host_alt(d));
    }
    if (!dfuse && (c->given & OPT_ADDRESS))
        return cli_error(c, EXIT_USAGE, "alt %u is plain DFU: the device decides where the "
                         "image goes; drop --address", udfu_host_alt(d));
    err = dfuse ? udfu_host_dfuse_write(d, c->address, im->data, im->payload)
                : udfu_host_download(d, im->data, im->payload);
    return err < 0 ? cli_dev_error(c, d, err) : 0;
}

static int leave(struct cli *c, struct udfu_host_dev *d, const struct image *im)
{
    uint32_t addr = im->kind == KIND_DFUSE ? im->first_addr : c->address;
    int err = 0;
    /* Writing (and verifying) a DfuSe file ends on the last target's alt;
     * the first element's address belongs to the first target's memory,
     * and a device checks Set Address against the current alt. */
    if (im->kind == KIND_DFUSE)
        err = udfu_host_select_alt(d, im->first_alt);
    if (err == 0)
        err = udfu_host_is_dfuse(d) ? udfu_host_dfuse_leave(d, 1, addr) : udfu_host_reset(d);
    if (err == 0)
        return 0;
    /* The error alone would read as if the download had failed too. */
    cli_note(c, "the image was written%s; starting it failed", c->verify ? " and verified" : "");
    return cli_dev_error(c, d, err);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void report(struct cli *c, struct udfu_host_dev *d, const struct image *im, double s)
{
    uint64_t bytes = im->kind == KIND_DFUSE ? im->element_bytes : im->payload;
    char size[32];
    if (c->json) {
        json_open(NULL, '{');
        json_bool("ok", 1);
        json_str("command", "download");
        json_str("file", im->path);
        json_str("format", kind_name(im->kind));
        json_int("bytes", (long long)bytes);
        if (im->kind == KIND_DFUSE)
            json_int("elements", im->elements);
        if (im->kind != KIND_DFUSE && udfu_host_is_dfuse(d))
            json_int("address", c->address);
        json_int("alt", udfu_host_alt(d));
        json_bool("verified", c->verify);
        json_bool("left", c->leave);
        json_int("ms", (long long)(s * 1000.0));
        json_close('}');
        json_end();
        return;
    }
    if (c->quiet)
        return;
    cli_size(size, sizeof size, bytes);
    if (im->kind == KIND_DFUSE)
        printf("downloaded %s from %s (%d element%s) in %.1f s\n", size, im->path,
               im->elements, im->elements == 1 ? "" : "s", s);
    else if (udfu_host_is_dfuse(d))
        printf("downloaded %s to 0x%08X (alt %u) in %.1f s\n", size, (unsigned)c->address,
               udfu_host_alt(d), s);
    else
        printf("downloaded %s (alt %u) in %.1f s\n", size, udfu_host_alt(d), s);
    if (c->verify)
        printf("verified: the device holds exactly what was written\n");
    if (c->leave)
        printf("left DFU mode: the device starts its application\n");
}

static int run(struct cli *c, struct udfu_host_dev *d, const struct image *im)
{
    struct timespec t0;
    int code = cli_need_dfu(c, d), err;
    if (!code)
        code = cli_select_alt(c, d);
    if (code)
        return code;
    if (im->kind == KIND_DFU && !c->force &&
        udfu_host_check_ids(d, im->sx.vid, im->sx.pid) < 0)
        return cli_error(c, EXIT_FILE, "%s", udfu_host_message(d));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (im->kind == KIND_DFUSE) {
        err = udfu_host_dfuse_download_file(d, im->data, im->len, c->force);
        code = err < 0 ? cli_dev_error(c, d, err) : 0;
        if (!code && c->verify)
            code = verify_dfuse_file(c, d, im);
    } else {
        code = write_image(c, d, im);
        if (!code && c->verify)
            code = udfu_host_is_dfuse(d) ? verify_range(c, d, c->address, im->data, im->payload)
                                         : verify_plain(c, d, im);
    }
    if (!code && c->leave)
        code = leave(c, d, im);
    if (!code)
        report(c, d, im, seconds_since(&t0));
    return code;
}

int cmd_download(struct cli *c)
{
    struct udfu_host_dev *d;
    struct image im;
    int code = cli_allow(c, OPT_SELECT | OPT_ALT | OPT_ADDRESS | OPT_LEAVE | OPT_VERIFY |
                                OPT_FORCE);
    if (code)
        return code;
    if (c->nargs != 1)
        return cli_error(c, EXIT_USAGE, "`udfu download` takes one FILE; see `udfu download "
                         "--help`");
    memset(&im, 0, sizeof im);
    im.path = c->args[0];
    if ((code = cli_read_file(c, im.path, &im.data, &im.len)) != 0)
        return code;
    if (im.len == 0)
        code = cli_error(c, EXIT_FILE, "%s is empty", im.path);
    if (!code)
        code = classify(c, &im);
    if (!code && im.kind == KIND_DFUSE && (c->given & (OPT_ADDRESS | OPT_ALT)))
        code = cli_error(c, EXIT_USAGE, "%s is a DfuSe file: it says itself which alt settings "
                         "and addresses it goes to; drop --address/--alt", im.path);
    if (!code)
        code = cli_open(c, &d);
    if (!code) {
        code = run(c, d, &im);
        udfu_host_free(d);
    }
    free(im.data);
    return code;
}
