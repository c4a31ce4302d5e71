/*
 * cmd_pack.c - `udfu pack`: raw images and Intel HEX into a plain .dfu
 * (image + DFU suffix), a DfuSe .dfu (one target, one element per run) or
 * a raw image; optionally with the udfu boot layer's image header
 * (udfu_boot.h) in front of the application.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "udfu_boot.h"
#include "udfu_file.h"
#include "udfu_util.h"

struct run {
    uint32_t addr;
    uint8_t *data;
    size_t len, cap;
};

struct runs {
    struct run *r;
    int n, cap;
};

static int add_run(struct runs *rs, uint32_t addr)
{
    if (rs->n == rs->cap) {
        int cap = rs->cap ? rs->cap * 2 : 8;
        struct run *p = realloc(rs->r, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        rs->r = p;
        rs->cap = cap;
    }
    memset(&rs->r[rs->n], 0, sizeof rs->r[rs->n]);
    rs->r[rs->n++].addr = addr;
    return 0;
}

static int append(struct run *r, const uint8_t *data, size_t len)
{
    if (r->len + len > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        uint8_t *p;
        while (cap < r->len + len)
            cap *= 2;
        p = realloc(r->data, cap);
        if (!p)
            return -1;
        r->data = p;
        r->cap = cap;
    }
    memcpy(r->data + r->len, data, len);
    r->len += len;
    return 0;
}

static void free_runs(struct runs *rs)
{
    int i;
    for (i = 0; i < rs->n; i++)
        free(rs->r[i].data);
    free(rs->r);
}

/* Intel HEX records usually follow each other: extend the last run. */
static int hex_record(void *ctx, uint32_t addr, const uint8_t *data, uint32_t len)
{
    struct runs *rs = ctx;
    struct run *last = rs->n ? &rs->r[rs->n - 1] : NULL;
    if (!last || (uint64_t)last->addr + last->len != addr) { /* no run across 4 GiB */
        if (add_run(rs, addr) < 0)
            return UDFU_ERR_NOSPACE;
        last = &rs->r[rs->n - 1];
    }
    return append(last, data, len) < 0 ? UDFU_ERR_NOSPACE : 0;
}

static int by_addr(const void *a, const void *b)
{
    const struct run *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Sorted, adjacent runs merged. Errors: a run past 4 GiB, two inputs
 * that claim the same byte, out of memory (the runs stay freeable). */
static int normalise(struct cli *c, struct runs *rs)
{
    int i, o = 0;
    for (i = 0; i < rs->n; i++) {
        if ((uint64_t)rs->r[i].addr + rs->r[i].len > 0x100000000u)
            return cli_error(c, EXIT_FILE, "the input at 0x%08X (%zu bytes) runs past 4 GiB",
                             (unsigned)rs->r[i].addr, rs->r[i].len);
    }
    if (!rs->n)
        return 0;
    qsort(rs->r, (size_t)rs->n, sizeof *rs->r, by_addr);
    for (i = 1; i < rs->n; i++) {
        struct run *prev = &rs->r[o], *cur = &rs->r[i];
        if ((uint64_t)prev->addr + prev->len > cur->addr) {
            return cli_error(c, EXIT_FILE, "the inputs overlap at 0x%08X: two of them write "
                             "the same bytes", (unsigned)cur->addr);
        }
        if ((uint64_t)prev->addr + prev->len == cur->addr) {
            if (append(prev, cur->data, cur->len) < 0)
                return cli_error(c, EXIT_FAIL, "out of memory");
            free(cur->data);
            cur->data = NULL;
        } else {
            rs->r[++o] = *cur;
            if (o != i)
                cur->data = NULL; /* moved to r[o] */
        }
    }
    rs->n = o + 1;
    return 0;
}

static int is_hex(const char *path, const uint8_t *data, size_t len)
{
    size_t n = strlen(path);
    if ((n > 4 && !strcmp(path + n - 4, ".hex")) || (n > 5 && !strcmp(path + n - 5, ".ihex")))
        return 1;
    return len > 0 && data[0] == ':';
}

/* Splits "file.bin@0x08004000". */
static int split_at(struct cli *c, const char *arg, char *path, size_t size, uint32_t *addr,
                    int *has_addr)
{
    const char *at = strrchr(arg, '@');
    *has_addr = 0;
    if (!at) {
        snprintf(path, size, "%s", arg);
        return 0;
    }
    if ((size_t)(at - arg) >= size || cli_number(at + 1, addr) < 0)
        return cli_error(c, EXIT_USAGE, "bad input \"%s\": use FILE or FILE@ADDRESS", arg);
    memcpy(path, arg, (size_t)(at - arg));
    path[at - arg] = 0;
    *has_addr = 1;
    return 0;
}

static int load_input(struct cli *c, const char *arg, struct runs *rs, int dfuse, int *hex)
{
    char path[1024];
    uint8_t *data;
    size_t len;
    uint32_t addr = c->address;
    int has_addr, line = 0, err, code = split_at(c, arg, path, sizeof path, &addr, &has_addr);
    if (code || (code = cli_read_file(c, path, &data, &len)) != 0)
        return code;
    if (is_hex(path, data, len)) {
        *hex = 1;
        err = udfu_ihex_parse((const char *)data, len, hex_record, rs, &line);
        if (err < 0)
            code = cli_error(c, EXIT_FILE, "%s: bad Intel HEX at line %d (%s)", path, line,
                             udfu_strerror(err));
    } else if (!len) {
        code = cli_error(c, EXIT_FILE, "%s is empty", path);
    } else if (c->boot_header && !has_addr && !(c->given & OPT_ADDRESS)) {
        code = cli_error(c, EXIT_USAGE, "--boot-header needs the address %s is linked at "
                         "(the slot + the header size, e.g. 0x0800C200): --address or "
                         "%s@ADDRESS", path, path);
    } else if (dfuse && !has_addr && !(c->given & OPT_ADDRESS)) {
        code = cli_error(c, EXIT_USAGE, "a raw image in a DfuSe file needs an address: "
                         "%s@0x08004000 or --address", path);
    } else if (add_run(rs, addr) < 0 || append(&rs->r[rs->n - 1], data, len) < 0) {
        code = cli_error(c, EXIT_FAIL, "out of memory");
    }
    free(data);
    return code;
}

static struct udfu_suffix suffix_of(const struct cli *c, uint16_t bcd_dfu)
{
    struct udfu_suffix sx;
    memset(&sx, 0, sizeof sx);
    sx.vid = (c->given & OPT_VID) ? c->vid : UDFU_ID_ANY;
    sx.pid = (c->given & OPT_PID) ? c->pid : UDFU_ID_ANY;
    sx.bcd_device = (c->given & OPT_BCD) ? c->bcd : UDFU_ID_ANY;
    sx.bcd_dfu = bcd_dfu;
    return sx;
}

static int build_dfuse(struct cli *c, const struct runs *rs, uint8_t **out, size_t *len)
{
    struct udfu_suffix sx = suffix_of(c, UDFU_BCD_DFUSE);
    struct udfu_dfuse_writer w;
    uint32_t alt;
    size_t cap = UDFU_DFUSE_PREFIX_LEN + UDFU_DFUSE_TARGET_PREFIX_LEN + UDFU_SUFFIX_LEN;
    int i, n;
    if (c->alt && (cli_number(c->alt, &alt) < 0 || alt > 255))
        return cli_error(c, EXIT_USAGE, "pack takes --alt as a number (0-255)");
    for (i = 0; i < rs->n; i++)
        cap += UDFU_DFUSE_ELEMENT_HDR_LEN + rs->r[i].len;
    if (cap > 0x7FFFFFFFu || !(*out = malloc(cap)))
        return cli_error(c, EXIT_FAIL, "out of memory");
    n = udfu_dfuse_begin(&w, *out, cap);
    if (n == 0)
        n = udfu_dfuse_target(&w, (uint8_t)(c->alt ? alt : 0), c->name ? c->name : "");
    for (i = 0; n == 0 && i < rs->n; i++)
        n = udfu_dfuse_element(&w, rs->r[i].addr, rs->r[i].data, (uint32_t)rs->r[i].len);
    if (n == 0)
        n = udfu_dfuse_finish(&w, &sx);
    if (n < 0)
        return cli_error(c, EXIT_FAIL, "packing failed: %s", udfu_strerror(n));
    *len = (size_t)n;
    return 0;
}

static int build_plain(struct cli *c, const struct runs *rs, uint8_t **out, size_t *len)
{
    struct udfu_suffix sx = suffix_of(c, UDFU_BCD_DFU);
    size_t cap = rs->r[0].len + UDFU_SUFFIX_LEN;
    int n;
    if (!(*out = malloc(cap)))
        return cli_error(c, EXIT_FAIL, "out of memory");
    memcpy(*out, rs->r[0].data, rs->r[0].len);
    n = udfu_suffix_append(*out, rs->r[0].len, cap, &sx);
    if (n < 0)
        return cli_error(c, EXIT_FAIL, "packing failed: %s", udfu_strerror(n));
    *len = (size_t)n;
    return 0;
}

/* ---- --boot-header ------------------------------------------------------------------ */

/* An application linked elsewhere than where its header puts it never
 * boots; the reset vector tells (when it looks like a Cortex-M table). */
static void check_link_address(struct cli *c, const struct run *r)
{
    uint32_t sp, reset;
    if (r->len < 8)
        return;
    sp = udfu_get32(r->data);
    reset = udfu_get32(r->data + 4);
    if ((sp & 0xFF000003u) == 0x20000000u && (reset & 1u) &&
        (reset - 1u < r->addr || reset - 1u - r->addr >= r->len))
        cli_note(c, "warning: the reset vector 0x%08X lies outside the application at "
                 "0x%08X-0x%08X: was it linked for another address?", (unsigned)reset,
                 (unsigned)r->addr, (unsigned)(r->addr + r->len - 1u));
}

/* Puts the header hdr_size bytes in front of the application (the one
 * run), 0xFF in between, as the boot layer expects it in its slot. */
static int add_boot_header(struct cli *c, struct runs *rs, struct udfu_boot_hdr *h)
{
    uint32_t hs = c->header_size ? c->header_size : 512u;
    struct run *r = &rs->r[0];
    uint8_t *img;
    if (rs->n != 1)
        return cli_error(c, EXIT_FILE, "--boot-header covers one contiguous application; "
                         "the inputs make %d runs (a gap at 0x%08X)", rs->n,
                         (unsigned)(r->addr + r->len));
    if (r->addr < hs || r->len > 0xFFFFFFFFu - hs)
        return cli_error(c, EXIT_USAGE, "the application at 0x%08X leaves no room for a "
                         "%u-byte header in front of it", (unsigned)r->addr, (unsigned)hs);
    check_link_address(c, r);
    if (!(img = malloc(r->len + hs)))
        return cli_error(c, EXIT_FAIL, "out of memory");
    udfu_boot_hdr_init(h, r->data, (uint32_t)r->len, c->image_version, r->addr);
    memset(img, 0xFF, hs);
    udfu_boot_hdr_write(img, h);
    memcpy(img + hs, r->data, r->len);
    free(r->data);
    r->data = img;
    r->len += hs;
    r->cap = r->len;
    r->addr -= hs;
    return 0;
}

static int build_raw(struct cli *c, const struct runs *rs, uint8_t **out, size_t *len)
{
    if (rs->n != 1)
        return cli_error(c, EXIT_FILE, "--raw writes one contiguous image; the inputs make %d "
                         "runs (a gap at 0x%08X)", rs->n,
                         (unsigned)(rs->r[0].addr + rs->r[0].len));
    if (!(*out = malloc(rs->r[0].len ? rs->r[0].len : 1)))
        return cli_error(c, EXIT_FAIL, "out of memory");
    memcpy(*out, rs->r[0].data, rs->r[0].len);
    *len = rs->r[0].len;
    return 0;
}

static int wants_dfuse(const struct cli *c)
{
    int i;
    if (c->dfuse || (c->given & (OPT_ADDRESS | OPT_ALT | OPT_NAME)))
        return 1;
    for (i = 0; i < c->nargs; i++) {
        size_t n = strlen(c->args[i]);
        if (strchr(c->args[i], '@') || (n > 4 && !strcmp(c->args[i] + n - 4, ".hex")) ||
            (n > 5 && !strcmp(c->args[i] + n - 5, ".ihex")))
            return 1;
    }
    return 0;
}

static void json_boot_header(const struct cli *c, const struct runs *rs,
                             const struct udfu_boot_hdr *h)
{
    json_open("boot_header", '{');
    json_int("address", rs->r[0].addr);
    json_int("header_size", c->header_size ? c->header_size : 512);
    json_int("image_version", h->version);
    json_int("load_address", h->load_addr);
    json_int("payload_bytes", h->length);
    json_int("payload_crc32", h->crc);
    json_close('}');
}

static void report(struct cli *c, int dfuse, size_t len, const struct runs *rs,
                   const struct udfu_boot_hdr *h)
{
    const char *format = c->raw ? "raw" : dfuse ? "dfuse" : "dfu";
    FILE *out;
    if (c->json) {
        json_open(NULL, '{');
        json_bool("ok", 1);
        json_str("command", "pack");
        json_str("output", c->output);
        json_str("format", format);
        json_int("bytes", (long long)len);
        json_int("elements", rs->n);
        if (c->boot_header)
            json_boot_header(c, rs, h);
        json_close('}');
        json_end();
        return;
    }
    if (c->quiet)
        return;
    /* With -o - the file itself is on stdout: the summary must not join it. */
    out = strcmp(c->output, "-") ? stdout : stderr;
    if (c->boot_header)
        fprintf(out, "boot header at 0x%08X: image v%u, %u bytes linked at 0x%08X, crc32 "
                "0x%08X\n", (unsigned)rs->r[0].addr, (unsigned)h->version,
                (unsigned)h->length, (unsigned)h->load_addr, (unsigned)h->crc);
    if (c->raw)
        fprintf(out, "wrote %s: raw image, %zu bytes (for 0x%08X)\n", c->output, len,
                (unsigned)rs->r[0].addr);
    else if (dfuse)
        fprintf(out, "wrote %s: DfuSe file, %zu bytes, %d element%s\n", c->output, len,
                rs->n, rs->n == 1 ? "" : "s");
    else
        fprintf(out, "wrote %s: DFU file, %zu bytes\n", c->output, len);
}

static int pack(struct cli *c, struct runs *rs)
{
    int dfuse = !c->raw && (c->boot_header || wants_dfuse(c)), i, code = 0, hex = 0;
    struct udfu_boot_hdr h;
    uint8_t *out = NULL;
    size_t len = 0;
    memset(&h, 0, sizeof h);
    for (i = 0; i < c->nargs && !code; i++)
        code = load_input(c, c->args[i], rs, dfuse, &hex);
    /* A HEX file found by its content means DfuSe as well. */
    dfuse = !c->raw && (dfuse || hex);
    if (!code && !dfuse && !c->raw && c->nargs > 1)
        code = cli_error(c, EXIT_USAGE, "a plain .dfu holds one image; for several, give "
                         "each an address (FILE@ADDRESS) to make a DfuSe file");
    if (code)
        return code;
    if ((code = normalise(c, rs)) != 0)
        return code;
    if (!rs->n)
        return cli_error(c, EXIT_FILE, "the inputs hold no data");
    if (c->boot_header && (code = add_boot_header(c, rs, &h)) != 0)
        return code;
    code = c->raw ? build_raw(c, rs, &out, &len)
           : dfuse ? build_dfuse(c, rs, &out, &len) : build_plain(c, rs, &out, &len);
    if (!code)
        code = cli_write_file(c, c->output, out, len);
    if (!code)
        report(c, dfuse, len, rs, &h);
    free(out);
    return code;
}

int cmd_pack(struct cli *c)
{
    struct runs rs = {NULL, 0, 0};
    int code = cli_allow(c, OPT_OUTPUT | OPT_DFUSE | OPT_ADDRESS | OPT_ALT | OPT_NAME | OPT_VID |
                                OPT_PID | OPT_BCD | OPT_BOOT_HEADER | OPT_IMAGE_VERSION |
                                OPT_HEADER_SIZE | OPT_RAW);
    if (code)
        return code;
    if ((c->given & (OPT_IMAGE_VERSION | OPT_HEADER_SIZE)) && !c->boot_header)
        return cli_error(c, EXIT_USAGE, "--image-version and --header-size describe the boot "
                         "header: add --boot-header");
    if (c->boot_header && !(c->given & OPT_IMAGE_VERSION))
        return cli_error(c, EXIT_USAGE, "--boot-header needs --image-version N (the version "
                         "the bootloader reports and may check)");
    if (c->raw && (c->given & (OPT_DFUSE | OPT_ALT | OPT_NAME | OPT_VID | OPT_PID | OPT_BCD)))
        return cli_error(c, EXIT_USAGE, "--raw writes the image alone, without a DFU suffix "
                         "or DfuSe container: drop --dfuse/--alt/--name/--vid/--pid/"
                         "--bcd-device");
    if (!c->nargs || !c->output)
        return cli_error(c, EXIT_USAGE, "`udfu pack` needs INPUT... and -o OUTPUT; see `udfu "
                         "pack --help`");
    if (c->json && !strcmp(c->output, "-"))
        return cli_error(c, EXIT_USAGE, "--json writes its report on stdout: pack to a file "
                         "(not -o -)");
    code = pack(c, &rs);
    free_runs(&rs);
    return code;
}
