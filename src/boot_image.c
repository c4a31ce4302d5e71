/*
 * boot_image.c - the image header and the checks an image must pass
 * before it is committed or booted.
 */
#include "boot_int.h"

/* Nibble-wide table: 64 bytes of constants instead of 1 KiB, and still
 * ~8x faster than bit by bit; a bootloader checks a whole image per boot. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t udfu_boot_crc32(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ crc_nibble[crc & 0xFu];
        crc = (crc >> 4) ^ crc_nibble[crc & 0xFu];
    }
    return ~crc;
}

/* CRC-32 of data followed by its own CRC-32 (little endian): a constant,
 * so a header checks itself without picking its CRC field apart. */
#define CRC_RESIDUE 0x2144DF1Cu

/* Header bytes 8..27 are the first five members of struct udfu_boot_hdr,
 * in order, so they are copied in one go. */
typedef char udfu_boot_hdr_fields_in_order[offsetof(struct udfu_boot_hdr, crc) == 16 ? 1 : -1];

/* The fixed part, raw[0..32): what identifies a header and what the boot
 * decision needs. h's fields are filled even when it fails. The caller
 * checks the header CRC (a leaf here keeps the stack shallow). */
static int hdr_fixed(const uint8_t *raw, struct udfu_boot_hdr *h)
{
    uint32_t id[2];
    memcpy(id, raw, sizeof(id));
    memcpy(h, raw + 8, 20);
    h->flags = udfu_boot_le32(h->flags);
    h->version = udfu_boot_le32(h->version);
    h->length = udfu_boot_le32(h->length);
    h->load_addr = udfu_boot_le32(h->load_addr);
    h->crc = udfu_boot_le32(h->crc);
    if (udfu_boot_le32(id[0]) != UDFU_BOOT_MAGIC ||
        udfu_boot_le32(id[1]) != (UDFU_BOOT_HDR_VER << 16 | UDFU_BOOT_HDR_LEN) ||
        (h->flags & (UDFU_BOOT_IMG_SHA256 | UDFU_BOOT_IMG_SIG)) == UDFU_BOOT_IMG_SIG)
        return UDFU_ERR_FORMAT;
    return 0;
}

int udfu_boot_hdr_parse(const uint8_t *raw, struct udfu_boot_hdr *h)
{
    int err = hdr_fixed(raw, h);
    if (udfu_boot_crc32(0, raw, 32) != CRC_RESIDUE)
        err = UDFU_ERR_FORMAT;
    if (!err) {
        memcpy(h->sha256, raw + 32, sizeof(h->sha256));
        memcpy(h->sig, raw + 64, sizeof(h->sig));
    }
    return err;
}

void udfu_boot_hdr_write(uint8_t *raw, const struct udfu_boot_hdr *h)
{
    const uint32_t w[7] = {UDFU_BOOT_MAGIC, UDFU_BOOT_HDR_VER << 16 | UDFU_BOOT_HDR_LEN,
                           h->flags,        h->version,
                           h->length,       h->load_addr,
                           h->crc};
    for (int i = 0; i < 7; i++)
        udfu_put32(raw + 4 * i, w[i]);
    udfu_put32(raw + 28, udfu_boot_crc32(0, raw, 28));
    memcpy(raw + 32, h->sha256, sizeof(h->sha256));
    memcpy(raw + 64, h->sig, sizeof(h->sig));
}

void udfu_boot_hdr_init(struct udfu_boot_hdr *h, const uint8_t *payload, uint32_t len,
                        uint32_t version, uint32_t load_addr)
{
    memset(h, 0, sizeof(*h));
    h->version = version;
    h->length = len;
    h->load_addr = load_addr;
    h->crc = udfu_boot_crc32(0, payload, len);
}

static int same32(const uint8_t *a, const uint8_t *b)
{
    uint8_t diff = 0;
    for (int i = 0; i < 32; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
    return diff == 0;
}

/* The image flags answer the demands bit for bit (see hdr_fits). */
#if UDFU_BOOT_NEED_SHA256 != UDFU_BOOT_IMG_SHA256 || UDFU_BOOT_NEED_SIG != UDFU_BOOT_IMG_SIG
#error "udfu_boot: NEED_* and IMG_* bits must match"
#endif

/* What the header promises must fit the slot and what the integrator
 * demands. */
static int hdr_fits(const struct udfu_boot_cfg *c, uint8_t slot, const struct udfu_boot_hdr *h)
{
    const struct udfu_boot_slot *s = &c->slots[slot];
    uint32_t hs = udfu_boot_hdr_size(c);
    return h->length - 1u < s->size - hs && /* 1..size - hs (init: size > hs) */
           (h->load_addr == UDFU_BOOT_ANY_ADDR || h->load_addr == s->addr + hs) &&
           !(UDFU_CFG_BOOT_HOOKS &&
             (c->need & ~h->flags & (UDFU_BOOT_NEED_SHA256 | UDFU_BOOT_NEED_SIG)));
}

/* The journal's side of a check (see boot_int.h), settled on the header
 * before any payload is read: a boot wants the image its COMMIT describes
 * (a factory image has none), a commit records what it is about to
 * describe (harmless if refused: the slot stays EMPTY). */
static int check_journal(struct udfu_boot *b, uint8_t slot, const struct udfu_boot_hdr *h,
                         int mode)
{
    struct udfu_boot_slot_info *s = &b->slot[slot];
    if (mode & UDFU_BOOT_CHECK_COMMIT) {
        s->crc = h->crc;
        s->length = h->length;
    }
    if ((mode & UDFU_BOOT_CHECK_BOOT) && s->state != UDFU_BOOT_FACTORY &&
        (h->crc != s->crc || h->length != s->length))
        return UDFU_ERR_FIRMWARE;
    return 0;
}

/* The rest of the header, h->sha256 and h->sig, past a payload check that
 * left its digest in h->sig if sha (a digest equal to h->sha256 can then
 * stand for itself). */
static int check_rest(const struct udfu_boot_cfg *c, uint32_t addr, struct udfu_boot_hdr *h,
                      int sha)
{
    sha = UDFU_CFG_BOOT_HOOKS && sha;
    int err = c->read(c->context, addr + 32, h->sha256, sizeof(h->sha256));
    if (!err && sha && !same32(h->sig, h->sha256))
        err = UDFU_ERR_FIRMWARE;
    if (!err)
        err = c->read(c->context, addr + 64, h->sig, sizeof(h->sig));
    if (!err && sha && (h->flags & UDFU_BOOT_IMG_SIG) && c->verify_sig &&
        c->verify_sig(c->context, h->sha256, h->sig) != 0)
        err = UDFU_ERR_FIRMWARE;
    return err;
}

/* The payload's CRC-32 and, if sha, digest (left in h->sig), streamed
 * through h->sig. The digest starts with header bytes 0..31, still in
 * h->sig. */
static int check_payload(const struct udfu_boot_cfg *c, uint32_t addr,
                         struct udfu_boot_hdr *h, int sha)
{
    uint32_t crc = 0;
    int err = 0;
    if (sha) {
        err = c->sha256_start(c->context);
        if (!err)
            err = c->sha256_update(c->context, h->sig, 32);
    }
    for (uint32_t left = h->length, n; !err && left; left -= n, addr += n) {
        n = udfu_min32(sizeof(h->sig), left);
        err = c->read(c->context, addr, h->sig, n);
        if (!err && sha)
            err = c->sha256_update(c->context, h->sig, n);
        crc = udfu_boot_crc32(crc, h->sig, n);
    }
    if (!err && sha)
        err = c->sha256_finish(c->context, h->sig);
    if (!err && crc != h->crc)
        err = UDFU_ERR_CRC;
    return err;
}

/* h is the only buffer: h->sig holds the fixed header part, then the
 * payload chunks, then the digest. The digest covers header bytes 0..31,
 * then the payload; the CRC-32 only the payload. The rest of the header
 * is read only for the hooks. */
static int check(struct udfu_boot *b, uint8_t slot, struct udfu_boot_hdr *h, int mode)
{
    const struct udfu_boot_cfg *c = b->cfg;
    slot = (uint8_t)udfu_boot_ix(slot);
    uint32_t addr = c->slots[slot].addr;
    int err = c->read(c->context, addr, h->sig, 32);
    if (!err)
        err = hdr_fixed(h->sig, h);
    if (!err && udfu_boot_crc32(0, h->sig, 32) != CRC_RESIDUE)
        err = UDFU_ERR_FORMAT;
    if (!err && !hdr_fits(c, slot, h))
        err = UDFU_ERR_FIRMWARE;
    if (!err)
        err = check_journal(b, slot, h, mode);
    if (err)
        return err;
    /* Without a hook the integrator did not ask for the check (init
     * asserts the hooks exist when cfg.need demands them); the CRC still
     * guards integrity. */
    int sha = UDFU_CFG_BOOT_HOOKS && (mode & UDFU_BOOT_CHECK_HOOKS) &&
              (h->flags & UDFU_BOOT_IMG_SHA256) && c->sha256_start;
    err = check_payload(c, addr + udfu_boot_hdr_size(c), h, sha);
    if (UDFU_CFG_BOOT_HOOKS && !err && (sha || ((mode & UDFU_BOOT_CHECK_COMMIT) && c->accept)))
        err = check_rest(c, addr, h, sha);
    if (UDFU_CFG_BOOT_HOOKS && !err && (mode & UDFU_BOOT_CHECK_COMMIT) && c->accept)
        err = c->accept(c->context, slot, h);
    return err;
}

int udfu_boot_image_ok(struct udfu_boot *b, uint8_t slot, int mode)
{
    struct udfu_boot_hdr h;
    return check(b, slot, &h, mode);
}

int udfu_boot_verify(struct udfu_boot *b, uint8_t slot, struct udfu_boot_hdr *h, int hooks)
{
    const struct udfu_boot_cfg *c = b->cfg;
    UDFU_ASSERT(c && slot < c->slot_count);
    int mode = hooks ? UDFU_BOOT_CHECK_HOOKS : 0;
    if (!h)
        return udfu_boot_image_ok(b, slot, mode);
    int err = check(b, slot, h, mode);
    /* all of it for the caller */
    return err ? err : check_rest(c, c->slots[udfu_boot_ix(slot)].addr, h, 0);
}
