/*
 * fuzz_file.c - libFuzzer harness: the file parsers of udfu_file.h, which
 * read files an attacker may have written: the DFU suffix, the DfuSe
 * container reader, Intel HEX.
 *
 * The first input byte picks the parser and whether the harness repairs
 * what a random mutation almost never gets right (the suffix CRC, the
 * DfuSe prefix and size, Intel HEX record checksums), so the fuzzer reaches
 * the structure behind them. Every parse runs on an exact-size heap copy
 * (AddressSanitizer sees any read past the end), and what a parser
 * accepts is checked: fields equal the bytes they came from, element data
 * lies inside the file, and files written back with the udfu writers parse
 * to the same content.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udfu_file.h"
#include "udfu_util.h"

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "\n*** file invariant violated: " __VA_ARGS__);                \
            fprintf(stderr, "\n");                                                         \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* ---- DFU suffix -------------------------------------------------------------------- */

static void check_suffix(const uint8_t *f, size_t len)
{
    struct udfu_suffix sx;
    uint8_t *copy;
    int n;
    memset(&sx, 0xAB, sizeof sx);
    n = udfu_suffix_parse(f, len, &sx);
    CHECK(n == UDFU_ERR_FORMAT || n == UDFU_ERR_CRC || n >= 0, "suffix_parse returned %d", n);
    if (n < 0)
        return;
    CHECK(len >= UDFU_SUFFIX_LEN && (size_t)n <= len - UDFU_SUFFIX_LEN &&
              len - (size_t)n == f[len - 5],
          "payload %d of %zu with bLength %u", n, len, f[len - 5]);
    CHECK(sx.bcd_device == udfu_get16(f + len - 16) && sx.pid == udfu_get16(f + len - 14) &&
              sx.vid == udfu_get16(f + len - 12) && sx.bcd_dfu == udfu_get16(f + len - 10) &&
              sx.crc == udfu_get32(f + len - 4),
          "suffix fields differ from the bytes");
    CHECK(udfu_crc32(UDFU_CRC32_INIT, f, len - 4) == sx.crc, "accepted a wrong CRC");
    /* Written back, a plain 16-byte suffix is the same bytes. */
    if (f[len - 5] == UDFU_SUFFIX_LEN) {
        copy = malloc(len);
        CHECK(copy != NULL, "out of memory");
        memcpy(copy, f, (size_t)n);
        CHECK(udfu_suffix_append(copy, (size_t)n, len, &sx) == (int)len &&
                  memcmp(copy, f, len) == 0,
              "suffix written back differs");
        free(copy);
    }
}

/* Makes the last 16 bytes a suffix that parses: signature, and the CRC. */
static void repair_suffix(uint8_t *f, size_t len, uint8_t how)
{
    uint8_t *s;
    if (len < UDFU_SUFFIX_LEN)
        return;
    s = f + len - UDFU_SUFFIX_LEN;
    if (how & 1) {
        s[8] = 'U';
        s[9] = 'F';
        s[10] = 'D';
    }
    if (how & 2)
        s[11] = UDFU_SUFFIX_LEN;
    if (how & 4)
        udfu_put16(s + 6, UDFU_BCD_DFUSE);
    udfu_put32(s + 12, udfu_crc32(UDFU_CRC32_INIT, f, len - 4));
}

/* ---- DfuSe ------------------------------------------------------------------------- */

#define MAX_ELEMS 64

struct elem {
    uint8_t alt;
    uint32_t address, size;
    const uint8_t *data;
};

/* Reads everything; returns the element count (at most MAX_ELEMS kept). */
static int read_all(const uint8_t *f, size_t len, struct elem *out, int *targets)
{
    struct udfu_dfuse_reader r;
    struct udfu_dfuse_target t;
    struct udfu_dfuse_element e;
    int n = 0, ret, guard = 0;
    if (udfu_dfuse_open(&r, f, len) < 0)
        return -1;
    *targets = 0;
    while ((ret = udfu_dfuse_next_target(&r, &t)) > 0) {
        uint32_t sum = 0, count = 0;
        CHECK(++guard <= 255, "more targets than bTargets can count");
        CHECK(strlen(t.name) < sizeof t.name && (t.named || t.name[0] == 0), "target name");
        (*targets)++;
        while ((ret = udfu_dfuse_next_element(&r, &e)) > 0) {
            CHECK(e.data >= f && e.size <= len && e.data - f <= (long)(len - e.size),
                  "element data outside the file");
            sum += UDFU_DFUSE_ELEMENT_HDR_LEN + e.size;
            count++;
            if (n < MAX_ELEMS) {
                out[n].alt = t.alt;
                out[n].address = e.address;
                out[n].size = e.size;
                out[n].data = e.data;
            }
            n++;
        }
        CHECK(ret == 0, "open() accepted a file whose elements fail (%d)", ret);
        CHECK(sum == t.size && count == t.elements, "target size %u/%u, elements %u/%u", sum,
              t.size, count, t.elements);
    }
    CHECK(ret == 0, "open() accepted a file whose targets fail (%d)", ret);
    return n;
}

/* A file that opens is written again with the writer and reads the same. */
static void check_dfuse(const uint8_t *f, size_t len)
{
    struct udfu_dfuse_reader r;
    struct udfu_dfuse_writer w;
    struct udfu_dfuse_target t;
    struct udfu_dfuse_element e;
    static struct elem a[MAX_ELEMS], b[MAX_ELEMS];
    uint8_t *out;
    int na, nb, ta, tb, i, ret = udfu_dfuse_open(&r, f, len);
    CHECK(ret == 0 || ret == UDFU_ERR_FORMAT || ret == UDFU_ERR_CRC, "dfuse_open returned %d",
          ret);
    if (ret < 0)
        return;
    na = read_all(f, len, a, &ta);
    CHECK(na >= 0, "second open failed");
    if (na > MAX_ELEMS)
        return;
    out = malloc(len + 64);
    CHECK(out != NULL, "out of memory");
    CHECK(udfu_dfuse_begin(&w, out, len + 64) == 0, "begin");
    udfu_dfuse_open(&r, f, len);
    while (udfu_dfuse_next_target(&r, &t) > 0) {
        CHECK(udfu_dfuse_target(&w, t.alt, t.named ? t.name : NULL) == 0, "writer target");
        while (udfu_dfuse_next_element(&r, &e) > 0)
            CHECK(udfu_dfuse_element(&w, e.address, e.data, e.size) == 0, "writer element");
    }
    ret = udfu_dfuse_finish(&w, NULL);
    CHECK(ret > 0, "writer finish %d", ret);
    nb = read_all(out, (size_t)ret, b, &tb);
    CHECK(nb == na && tb == ta, "written back: %d elements in %d targets, read %d in %d", na,
          ta, nb, tb);
    for (i = 0; i < na; i++)
        CHECK(a[i].alt == b[i].alt && a[i].address == b[i].address && a[i].size == b[i].size &&
                  memcmp(a[i].data, b[i].data, a[i].size) == 0,
              "element %d differs once written back", i);
    free(out);
}

/* Input as bTargets and the body after the DfuSe prefix; the prefix,
 * DFUImageSize (with or without the suffix, both are in the field) and a
 * valid suffix are added. */
static void dfuse_wrapped(const uint8_t *p, size_t n, uint8_t how)
{
    size_t body = n ? n - 1 : 0, len = UDFU_DFUSE_PREFIX_LEN + body + UDFU_SUFFIX_LEN;
    uint8_t *f = malloc(len);
    CHECK(f != NULL, "out of memory");
    memcpy(f, "DfuSe\x01", 6);
    udfu_put32(f + 6, (uint32_t)((how & 8) ? len : len - UDFU_SUFFIX_LEN));
    f[10] = n ? p[0] : 0;
    if (body)
        memcpy(f + UDFU_DFUSE_PREFIX_LEN, p + 1, body);
    memset(f + len - UDFU_SUFFIX_LEN, 0, UDFU_SUFFIX_LEN);
    repair_suffix(f, len, 7);
    check_dfuse(f, len);
    free(f);
}

/* ---- Intel HEX --------------------------------------------------------------------- */

struct ihex_ctx {
    unsigned calls, stop_at;
    uint32_t bytes;
};

static int ihex_cb(void *ctx, uint32_t address, const uint8_t *data, uint32_t len)
{
    struct ihex_ctx *c = ctx;
    uint32_t i, sum = 0;
    (void)address;
    CHECK(len >= 1 && len <= 255, "data run of %u bytes", len);
    for (i = 0; i < len; i++) /* readable (ASan) */
        sum += data[i];
    (void)sum;
    c->bytes += len;
    if (++c->calls == c->stop_at)
        return UDFU_ERR_IO;
    return 0;
}

static int hexval(uint8_t ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Rewrites each ":..." line's count and checksum so the record adds up. */
static void repair_ihex(uint8_t *t, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t start, end, k, digits;
        uint8_t sum = 0, count;
        if (t[i] != ':') {
            i++;
            continue;
        }
        start = ++i;
        while (i < len && hexval(t[i]) >= 0)
            i++;
        end = i;
        digits = (end - start) & ~(size_t)1;
        if (digits < 10)
            continue;
        count = (uint8_t)(digits / 2 - 5);
        t[start] = "0123456789ABCDEF"[count >> 4];
        t[start + 1] = "0123456789ABCDEF"[count & 15];
        for (k = start; k + 2 < start + digits; k += 2)
            sum = (uint8_t)(sum + (hexval(t[k]) << 4 | hexval(t[k + 1])));
        sum = (uint8_t)-sum;
        t[start + digits - 2] = "0123456789ABCDEF"[sum >> 4];
        t[start + digits - 1] = "0123456789ABCDEF"[sum & 15];
    }
}

static void check_ihex(const char *t, size_t len, unsigned stop_at)
{
    struct ihex_ctx c;
    int line = -7, ret, lines = 1;
    size_t i;
    memset(&c, 0, sizeof c);
    c.stop_at = stop_at;
    ret = udfu_ihex_parse(t, len, ihex_cb, &c, &line);
    CHECK(ret == 0 || ret == UDFU_ERR_FORMAT || ret == UDFU_ERR_IO, "ihex_parse returned %d",
          ret);
    CHECK(ret != UDFU_ERR_IO || (stop_at && c.calls == stop_at),
          "callback error not passed through");
    CHECK(!(stop_at && c.calls > stop_at), "parsing went on after the callback failed");
    for (i = 0; i < len; i++)
        lines += t[i] == '\n';
    if (ret < 0)
        CHECK(line >= 1 && line <= lines, "error at line %d of %d", line, lines);
    /* Validation only (no callback) agrees with the full parse. */
    if (!stop_at)
        CHECK(udfu_ihex_parse(t, len, NULL, NULL, NULL) == ret, "validate-only differs");
}

/* ---- entry ------------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t sel, *f;
    if (size < 1)
        return 0;
    sel = data[0];
    data++;
    size--;
    if ((sel & 7) == 3) {
        dfuse_wrapped(data, size, sel);
        return 0;
    }
    f = malloc(size ? size : 1);
    CHECK(f != NULL, "out of memory");
    memcpy(f, data, size);
    switch (sel & 7) {
    case 0:
        check_suffix(f, size);
        break;
    case 1:
        repair_suffix(f, size, sel >> 4);
        check_suffix(f, size);
        break;
    case 2:
        repair_suffix(f, size, 7);
        check_dfuse(f, size);
        break;
    case 4:
        check_ihex((const char *)f, size, 0);
        break;
    case 5:
    case 6:
        repair_ihex(f, size);
        check_ihex((const char *)f, size, (sel & 7) == 6 ? 1u + (sel >> 4) : 0);
        break;
    default:
        check_dfuse(f, size);
        break;
    }
    free(f);
    return 0;
}
