/*
 * dfuse_file.c - ST's DfuSe container (UM0391): an 11-byte prefix, per
 * target a 274-byte "Target" prefix and its elements (address, size, data),
 * then the DFU suffix with bcdDFU 0x011A. Everything little-endian.
 *
 * The file is attacker-controlled: every size is checked against what is
 * left of the buffer by subtraction (never by adding to an offset, which
 * could wrap), so no read ever leaves [file, file + len).
 */
#include <limits.h>

#include "udfu_file.h"
#include "udfu_util.h"

/* Offsets inside the target prefix. */
#define TP_ALT 6
#define TP_NAMED 7
#define TP_NAME 11
#define TP_NAME_LEN 255
#define TP_SIZE 266
#define TP_COUNT 270

/* ---- reader ---------------------------------------------------------------- */

/* memcmp is outside the libc subset device code may use. */
static int dfuse_sig(const uint8_t *p, const char *sig, size_t n)
{
    while (n--)
        if (*p++ != (uint8_t)*sig++)
            return 0;
    return 1;
}

static int dfuse_walk(struct udfu_dfuse_reader *r)
{
    struct udfu_dfuse_reader w = *r;
    int ret;

    while ((ret = udfu_dfuse_next_target(&w, NULL)) > 0) {
        while ((ret = udfu_dfuse_next_element(&w, NULL)) > 0)
            ;
        if (ret < 0)
            return ret;
    }
    return ret;
}

int udfu_dfuse_open(struct udfu_dfuse_reader *r, const uint8_t *file, size_t len)
{
    struct udfu_suffix sx;
    uint32_t image_size;
    int n;

    memset(r, 0, sizeof(*r)); /* a failed open leaves an empty reader */
    n = udfu_suffix_parse(file, len, &sx);
    if (n < 0)
        return n;
    if (sx.bcd_dfu != UDFU_BCD_DFUSE || (size_t)n < UDFU_DFUSE_PREFIX_LEN ||
        !dfuse_sig(file, "DfuSe", 5) || file[5] != 1)
        return UDFU_ERR_FORMAT;
    /* UM0391 and ST's tools count the file without the suffix; dfuse-pack
     * (dfu-util) counts the suffix too. Both are in the field. */
    image_size = udfu_get32(file + 6);
    if (image_size != (size_t)n && image_size != len)
        return UDFU_ERR_FORMAT;
    r->file = file;
    r->len = (size_t)n;
    r->pos = UDFU_DFUSE_PREFIX_LEN;
    r->target_end = UDFU_DFUSE_PREFIX_LEN;
    r->targets = file[10];
    /* Validate the whole layout now, so a caller never starts flashing a
     * file whose tail turns out to be broken. */
    return dfuse_walk(r);
}

static void dfuse_name(struct udfu_dfuse_target *t, const uint8_t *src)
{
    size_t i;

    for (i = 0; t->named && i < TP_NAME_LEN && src[i]; i++)
        t->name[i] = (char)src[i];
    t->name[i] = '\0';
}

int udfu_dfuse_next_target(struct udfu_dfuse_reader *r, struct udfu_dfuse_target *t)
{
    const uint8_t *p;
    uint32_t size, count;

    /* Elements the caller did not read are skipped. */
    r->pos = r->target_end;
    r->elems_left = 0;
    if (r->target_no == r->targets)
        return r->pos == r->len ? 0 : UDFU_ERR_FORMAT; /* bTargets too low */
    if (r->len - r->pos < UDFU_DFUSE_TARGET_PREFIX_LEN)
        return UDFU_ERR_FORMAT;
    p = r->file + r->pos;
    if (!dfuse_sig(p, "Target", 6))
        return UDFU_ERR_FORMAT;
    size = udfu_get32(p + TP_SIZE);
    count = udfu_get32(p + TP_COUNT);
    r->pos += UDFU_DFUSE_TARGET_PREFIX_LEN;
    if (size > r->len - r->pos || count > size / UDFU_DFUSE_ELEMENT_HDR_LEN)
        return UDFU_ERR_FORMAT;
    r->target_end = r->pos + size;
    r->elems_left = count;
    r->target_no++;
    if (t) {
        t->alt = p[TP_ALT];
        t->named = udfu_get32(p + TP_NAMED) != 0;
        dfuse_name(t, p + TP_NAME);
        t->size = size;
        t->elements = count;
    }
    return 1;
}

int udfu_dfuse_next_element(struct udfu_dfuse_reader *r, struct udfu_dfuse_element *e)
{
    const uint8_t *p;
    uint32_t addr, size;

    if (r->elems_left == 0) /* dwTargetSize must be exactly its elements */
        return r->pos == r->target_end ? 0 : UDFU_ERR_FORMAT;
    if (r->target_end - r->pos < UDFU_DFUSE_ELEMENT_HDR_LEN)
        return UDFU_ERR_FORMAT;
    p = r->file + r->pos;
    addr = udfu_get32(p);
    size = udfu_get32(p + 4);
    r->pos += UDFU_DFUSE_ELEMENT_HDR_LEN;
    /* its data must be in the file, and its addresses below 4 GiB */
    if (size > r->target_end - r->pos || (size && addr + (size - 1u) < addr))
        return UDFU_ERR_FORMAT;
    if (e) {
        e->address = addr;
        e->size = size;
        e->data = p + UDFU_DFUSE_ELEMENT_HDR_LEN;
    }
    r->pos += size;
    r->elems_left--;
    return 1;
}

/* ---- writer ---------------------------------------------------------------- */

/* Room for n more bytes, keeping the file addressable by the int return
 * value and the u32 size fields once the suffix is added. */
static int dfuse_room(const struct udfu_dfuse_writer *w, size_t n)
{
    if (n > (size_t)INT_MAX - UDFU_SUFFIX_LEN - w->len)
        return UDFU_ERR_INVAL;
    return n > w->cap - w->len ? UDFU_ERR_NOSPACE : 0;
}

int udfu_dfuse_begin(struct udfu_dfuse_writer *w, uint8_t *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = cap;
    if (dfuse_room(w, UDFU_DFUSE_PREFIX_LEN) < 0)
        return UDFU_ERR_NOSPACE;
    memcpy(buf, "DfuSe\x01\0\0\0\0\0", UDFU_DFUSE_PREFIX_LEN);
    w->len = UDFU_DFUSE_PREFIX_LEN;
    return 0;
}

int udfu_dfuse_target(struct udfu_dfuse_writer *w, uint8_t alt, const char *name)
{
    size_t name_len = name ? strlen(name) : 0;
    uint8_t *p;
    int ret;

    /* 255 characters fill szTargetName with no NUL, which the reader
     * accepts too: whatever reads must be writable again. */
    if (w->targets == 0xFF || name_len > TP_NAME_LEN)
        return UDFU_ERR_INVAL;
    ret = dfuse_room(w, UDFU_DFUSE_TARGET_PREFIX_LEN);
    if (ret < 0)
        return ret;
    w->target_pos = w->len;
    p = w->buf + w->len;
    memset(p, 0, UDFU_DFUSE_TARGET_PREFIX_LEN);
    memcpy(p, "Target", 6);
    p[TP_ALT] = alt;
    if (name) {
        udfu_put32(p + TP_NAMED, 1);
        memcpy(p + TP_NAME, name, name_len);
    }
    w->len += UDFU_DFUSE_TARGET_PREFIX_LEN;
    w->targets++;
    return 0;
}

int udfu_dfuse_element(struct udfu_dfuse_writer *w, uint32_t address, const uint8_t *data,
                       uint32_t size)
{
    uint8_t *tp = w->buf + w->target_pos;
    uint8_t *p;
    int ret;

    if (w->targets == 0 || (size && !data) || size > (uint32_t)INT_MAX ||
        (size && address + (size - 1u) < address)) /* past 4 GiB */
        return UDFU_ERR_INVAL;
    ret = dfuse_room(w, (size_t)UDFU_DFUSE_ELEMENT_HDR_LEN + size);
    if (ret < 0)
        return ret;
    p = w->buf + w->len;
    udfu_put32(p, address);
    udfu_put32(p + 4, size);
    if (size)
        memcpy(p + UDFU_DFUSE_ELEMENT_HDR_LEN, data, size);
    w->len += UDFU_DFUSE_ELEMENT_HDR_LEN + (size_t)size;
    /* Sizes cannot wrap: dfuse_room keeps the whole file under INT_MAX. */
    udfu_put32(tp + TP_SIZE, (uint32_t)(w->len - w->target_pos - UDFU_DFUSE_TARGET_PREFIX_LEN));
    udfu_put32(tp + TP_COUNT, udfu_get32(tp + TP_COUNT) + 1);
    return 0;
}

int udfu_dfuse_finish(struct udfu_dfuse_writer *w, const struct udfu_suffix *sx)
{
    struct udfu_suffix s = { UDFU_ID_ANY, UDFU_ID_ANY, UDFU_ID_ANY, 0, 0 };

    if (w->len < UDFU_DFUSE_PREFIX_LEN) /* begin() failed or was not called */
        return UDFU_ERR_INVAL;
    if (sx)
        s = *sx;
    s.bcd_dfu = UDFU_BCD_DFUSE;
    udfu_put32(w->buf + 6, (uint32_t)w->len); /* without the suffix, as UM0391 */
    w->buf[10] = w->targets;
    return udfu_suffix_append(w->buf, w->len, w->cap, &s);
}
