/*
 * suffix.c - the 16-byte DFU suffix (DFU 1.1 appendix B): bcdDevice,
 * idProduct, idVendor, bcdDFU, "UFD" (stored reversed), bLength, dwCRC.
 */
#include <limits.h>

#include "udfu_file.h"
#include "udfu_util.h"

int udfu_suffix_parse(const uint8_t *file, size_t len, struct udfu_suffix *out)
{
    const uint8_t *s;
    size_t slen;
    uint32_t crc;

    if (len < UDFU_SUFFIX_LEN)
        return UDFU_ERR_FORMAT;
    s = file + len - UDFU_SUFFIX_LEN;
    if (s[8] != 'U' || s[9] != 'F' || s[10] != 'D')
        return UDFU_ERR_FORMAT;
    /* bLength may announce a longer suffix (the spec allows vendor fields
     * in front of ours); it can never be shorter or exceed the file. */
    slen = s[11];
    if (slen < UDFU_SUFFIX_LEN || slen > len || len - slen > (size_t)INT_MAX)
        return UDFU_ERR_FORMAT;
    crc = udfu_get32(s + 12);
    if (udfu_crc32(UDFU_CRC32_INIT, file, len - 4) != crc)
        return UDFU_ERR_CRC;
    if (out) {
        out->bcd_device = udfu_get16(s);
        out->pid = udfu_get16(s + 2);
        out->vid = udfu_get16(s + 4);
        out->bcd_dfu = udfu_get16(s + 6);
        out->crc = crc;
    }
    return (int)(len - slen);
}

int udfu_suffix_append(uint8_t *buf, size_t len, size_t cap, const struct udfu_suffix *sx)
{
    uint8_t *s;

    if (cap < UDFU_SUFFIX_LEN || len > cap - UDFU_SUFFIX_LEN ||
        len > (size_t)INT_MAX - UDFU_SUFFIX_LEN)
        return UDFU_ERR_NOSPACE;
    s = buf + len;
    udfu_put16(s, sx ? sx->bcd_device : UDFU_ID_ANY);
    udfu_put16(s + 2, sx ? sx->pid : UDFU_ID_ANY);
    udfu_put16(s + 4, sx ? sx->vid : UDFU_ID_ANY);
    udfu_put16(s + 6, sx ? sx->bcd_dfu : 0x0100u);
    s[8] = 'U';
    s[9] = 'F';
    s[10] = 'D';
    s[11] = UDFU_SUFFIX_LEN;
    udfu_put32(s + 12, udfu_crc32(UDFU_CRC32_INIT, buf, len + 12));
    return (int)(len + UDFU_SUFFIX_LEN);
}
