/*
 * ihex.c - Intel HEX reader, for packing .hex builds into DFU files.
 *
 * A record is ":LLAAAATT<data>CC"; the 8-bit sum of all its bytes, checksum
 * included, is zero. Data addresses follow the Intel spec: with a segment
 * base (type 02, value * 16; also the default, base 0) the offset wraps
 * inside its 64 KiB, SBA + ((offset + index) mod 64K); with a linear base
 * (type 04, value << 16) a record runs on into the next 64 KiB,
 * (LBA + offset + index) mod 4G.
 */
#include "udfu_file.h"
#include "udfu_util.h"

#define IHEX_MAX 260 /* count, address (2), type, 255 data bytes, checksum */

static int ihex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes n bytes of hex digits from t[0..avail) into out; 0 or -1. */
static int ihex_bytes(const char *t, size_t avail, uint8_t *out, size_t n)
{
    size_t i;

    if (avail / 2 < n)
        return -1;
    for (i = 0; i < n; i++) {
        int hi = ihex_nibble(t[2 * i]), lo = ihex_nibble(t[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* Reads one record starting after the ':' at text[*pos]; 0 or FORMAT. */
static int ihex_record(const char *text, size_t len, size_t *pos, uint8_t *rec)
{
    size_t i, n, p = *pos;
    uint8_t sum = 0;

    if (ihex_bytes(text + p, len - p, rec, 1) < 0)
        return UDFU_ERR_FORMAT;
    n = (size_t)rec[0] + 5;
    if (ihex_bytes(text + p, len - p, rec, n) < 0)
        return UDFU_ERR_FORMAT;
    for (i = 0; i < n; i++)
        sum = (uint8_t)(sum + rec[i]);
    p += 2 * n;
    /* Nothing may follow a record on its line. */
    if (sum != 0 || (p < len && text[p] != '\r' && text[p] != '\n'))
        return UDFU_ERR_FORMAT;
    *pos = p;
    return 0;
}

/* The base address in effect: type 02 or 04 set it. */
struct ihex_base {
    uint32_t addr;
    int linear; /* 1: type 04 (runs on past 64 KiB), 0: segment */
};

/* A data record as one run, or two where its addresses wrap: at the end of
 * its segment back to the segment base, or at 4 GiB back to 0. */
static int ihex_data(const struct ihex_base *b, const uint8_t *rec, udfu_ihex_cb cb, void *ctx)
{
    uint32_t off = (uint32_t)rec[1] << 8 | rec[2], n = rec[0];
    uint32_t at = b->addr + off, first, wrap_to;
    int ret = 0;

    if (!cb || n == 0)
        return 0;
    if (b->linear) {
        first = at + (n - 1) < at ? 0u - at : n; /* up to 4 GiB */
        wrap_to = 0;
    } else {
        first = udfu_min32(n, 0x10000u - off);
        wrap_to = b->addr;
    }
    ret = cb(ctx, at, rec + 4, first);
    if (ret >= 0 && n > first)
        ret = cb(ctx, wrap_to, rec + 4 + first, n - first);
    return ret < 0 ? ret : 0;
}

/* Applies one decoded record: 1 at the end-of-file record, 0, or < 0. */
static int ihex_apply(struct ihex_base *base, const uint8_t *rec, udfu_ihex_cb cb, void *ctx)
{
    uint32_t value = (uint32_t)rec[4] << 8 | rec[5];

    switch (rec[3]) {
    case 0x00:
        return ihex_data(base, rec, cb, ctx);
    case 0x01:
        return rec[0] == 0 ? 1 : UDFU_ERR_FORMAT;
    case 0x02:
    case 0x04:
        if (rec[0] != 2)
            return UDFU_ERR_FORMAT;
        base->linear = rec[3] == 0x04;
        base->addr = base->linear ? value << 16 : value << 4;
        return 0;
    case 0x03:
    case 0x05: /* start address: meaningless for a DFU download */
        return rec[0] == 4 ? 0 : UDFU_ERR_FORMAT;
    default:
        return UDFU_ERR_FORMAT;
    }
}

int udfu_ihex_parse(const char *text, size_t len, udfu_ihex_cb cb, void *ctx, int *line)
{
    uint8_t rec[IHEX_MAX];
    struct ihex_base base = {0, 0};
    size_t pos = 0;
    int ln = 1, ret = 0;

    while (ret == 0 && pos < len) {
        char c = text[pos++];
        if (c == '\n')
            ln++;
        if (c == '\n' || c == '\r' || c == ' ' || c == '\t')
            continue;
        ret = c == ':' ? ihex_record(text, len, &pos, rec) : UDFU_ERR_FORMAT;
        if (ret == 0)
            ret = ihex_apply(&base, rec, cb, ctx);
    }
    if (ret == 1)
        return 0;
    if (ret == 0) /* the text ended before the end-of-file record */
        ret = UDFU_ERR_FORMAT;
    if (line)
        *line = ln;
    return ret;
}
