/*
 * cmd_pack.c - `udfu pack`: raw images and Intel HEX into a plain .dfu
 * (image + DFU suffix) or a DfuSe .dfu (one target, one element per run).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "udfu_file.h"

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
    if (!last || last->addr + last->len != addr) {
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

/* Sorted, adjacent runs merged; overlaps are an error (two inputs claim
 * the same byte). Returns 0 or the address of the first overlap + 1. */
static uint64_t normalise(struct runs *rs)
{
    int i, o = 0;
    if (!rs->n)
        return 0;
    qsort(rs->r, (size_t)rs->n, sizeof *rs->r, by_addr);
    for (i = 1; i < rs->n; i++) {
        struct run *prev = &rs->r[o], *cur = &rs->r[i];
        if ((uint64_t)prev->addr + prev->len > cur->addr)
            return (uint64_t)cur->addr + 1;
        if ((uint64_t)prev->addr + prev->len == cur->addr) {
            if (append(prev, cur->data, cur->len) < 0)
                return 0;
            free(cur->data);
        } else {
            rs->r[++o] = *cur;
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

static void report(struct cli *c, int dfuse, size_t len, int elements)
{
    if (c->json) {
        json_open(NULL, '{');
        json_bool("ok", 1);
        json_str("command", "pack");
        json_str("output", c->output);
        json_str("format", dfuse ? "dfuse" : "dfu");
        json_int("bytes", (long long)len);
        json_int("elements", elements);
        json_close('}');
        json_end();
    } else if (!c->quiet) {
        printf("wrote %s: %s, %zu bytes%s", c->output, dfuse ? "DfuSe file" : "DFU file", len,
               dfuse ? "" : "\n");
        if (dfuse)
            printf(", %d element%s\n", elements, elements == 1 ? "" : "s");
    }
}

static int pack(struct cli *c, struct runs *rs)
{
    int dfuse = wants_dfuse(c), i, code = 0, hex = 0;
    uint8_t *out = NULL;
    size_t len = 0;
    uint64_t overlap;
    for (i = 0; i < c->nargs && !code; i++)
        code = load_input(c, c->args[i], rs, dfuse, &hex);
    /* A HEX file found by its content means DfuSe as well. */
    dfuse |= hex;
    if (!code && !dfuse && c->nargs > 1)
        code = cli_error(c, EXIT_USAGE, "a plain .dfu holds one image; for several, give "
                         "each an address (FILE@ADDRESS) to make a DfuSe file");
    if (code)
        return code;
    if ((overlap = normalise(rs)) != 0)
        return cli_error(c, EXIT_FILE, "the inputs overlap at 0x%08X: two of them write the "
                         "same bytes", (unsigned)(overlap - 1));
    if (!rs->n)
        return cli_error(c, EXIT_FILE, "the inputs hold no data");
    code = dfuse ? build_dfuse(c, rs, &out, &len) : build_plain(c, rs, &out, &len);
    if (!code)
        code = cli_write_file(c, c->output, out, len);
    if (!code)
        report(c, dfuse, len, rs->n);
    free(out);
    return code;
}

int cmd_pack(struct cli *c)
{
    struct runs rs = {NULL, 0, 0};
    int code = cli_allow(c, OPT_OUTPUT | OPT_DFUSE | OPT_ADDRESS | OPT_ALT | OPT_NAME | OPT_VID |
                                OPT_PID | OPT_BCD);
    if (code)
        return code;
    if (!c->nargs || !c->output)
        return cli_error(c, EXIT_USAGE, "`udfu pack` needs INPUT... and -o OUTPUT; see `udfu "
                         "pack --help`");
    code = pack(c, &rs);
    free_runs(&rs);
    return code;
}
