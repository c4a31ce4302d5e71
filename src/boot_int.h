/*
 * boot_int.h - internals shared by boot_image.c (image checks) and
 * boot_slots.c (journal, selection). Not a public header.
 */
#ifndef UDFU_BOOT_INT_H
#define UDFU_BOOT_INT_H

#include "udfu_boot.h"
#include "udfu_util.h"

/* A little-endian word as read from flash into a native one: nothing on a
 * little-endian CPU (the test folds away). */
static inline uint32_t udfu_boot_le32(uint32_t v)
{
    const union {
        uint32_t u;
        uint8_t b[4];
    } one = {1};
    return one.b[0] ? v : (v >> 24 | (v >> 8 & 0xFF00u) | (v << 8 & 0xFF0000u) | v << 24);
}

/* A slot index known to be in range, as the code may use it: 0 when the
 * build tracks one slot (UDFU_CFG_BOOT_SLOTS 1), so the indexing folds
 * away. Only for an index already checked (or asserted) against
 * slot_count. */
static inline int udfu_boot_ix(int slot)
{
    return UDFU_BOOT_MAX_SLOTS == 1 ? 0 : slot;
}

/* Payload offset in a slot, default applied. */
static inline uint32_t udfu_boot_hdr_size(const struct udfu_boot_cfg *c)
{
    return c->hdr_size ? c->hdr_size : 512u;
}

/* What udfu_boot_image_ok() does besides udfu_boot_verify()'s checks. */
#define UDFU_BOOT_CHECK_HOOKS 0x1u  /* SHA-256 and signature, if present */
#define UDFU_BOOT_CHECK_BOOT 0x2u   /* CRC and length match the COMMIT */
#define UDFU_BOOT_CHECK_COMMIT 0x4u /* keep CRC and length, ask accept() */

/* Verifies the image in slot. The header sits on this function's frame
 * alone (a full struct udfu_boot_hdr, which accept() receives), so
 * nothing that runs after the check (journal writes) stacks on it. 0 or
 * what udfu_boot_verify() returns, UDFU_ERR_FIRMWARE for a mismatch with
 * the journal, or accept()'s refusal. */
int udfu_boot_image_ok(struct udfu_boot *b, uint8_t slot, int mode);

#endif /* UDFU_BOOT_INT_H */
