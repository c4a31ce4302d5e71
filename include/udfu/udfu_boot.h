/*
 * udfu_boot.h - bootloader helpers: the boot-request flag that survives a
 * reset, the image header and its verification, and the fail-safe slot
 * logic (commit journal, boot selection, trial boots and rollback).
 *
 * The fail-safe rule is simple: an image is bootable only once a COMMIT
 * record for its slot sits in the journal, and that record is written only
 * after the whole image was verified. Before the first erase or program of
 * a slot in a download session, an INVALIDATE record is written, so an
 * interrupted download leaves the slot unbootable whatever order the host
 * wrote it in (DfuSe: any address order, host-driven page erases). At every
 * boot the committed image is checked again (CRC-32, optionally SHA-256 and
 * signature) before it is chosen. See docs/bootloader.md.
 *
 * Flash access goes through callbacks with a context pointer: the HAL on a
 * device, the simulated NOR flash (ports/sim) in tests. No allocation; all
 * state lives in the caller's struct udfu_boot. Not reentrant: one call at a
 * time per instance, from the main loop (never from an ISR).
 */
#ifndef UDFU_BOOT_H
#define UDFU_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "udfu_opt.h"
#include "udfu_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- boot-request flag ---------------------------------------------------- */

/* Requests a firmware leaves for the bootloader across a reset. Any other
 * non-zero value may be used for the integrator's own requests; pick values
 * with mixed bits (a word and its complement must match to count). */
#define UDFU_BOOT_REQ_NONE 0u
#define UDFU_BOOT_REQ_DFU 0x44465542u    /* stay in the bootloader, DFU mode */
#define UDFU_BOOT_REQ_SYSTEM 0x53595342u /* jump to the vendor's ROM bootloader */
#define UDFU_BOOT_REQ_APP 0x41505042u    /* skip DFU, boot the application */

/* Where the flag lives: two 32-bit words that survive a reset but are not
 * initialised by the startup code: a no-init RAM section
 * (ports/cortex-m/noinit.ld) or memory-mapped backup registers. The flag is
 * valid only if words[1] == ~words[0], so power-on garbage reads as "no
 * request". */
struct udfu_boot_flag {
    volatile uint32_t *words; /* 2 words, owned by the integrator */
    void *context;
    /* Optional: called before writing the words (e.g. enable write access
     * to the backup domain). NULL: plain RAM. */
    void (*unlock)(void *ctx);
};

/* Stores request req (not UDFU_BOOT_REQ_NONE) for the next boot. Call it,
 * then reset (run-time DETACH: the udfu_rt detach() callback). */
void udfu_boot_flag_set(const struct udfu_boot_flag *f, uint32_t req);

/* Returns the pending request and clears it (so a crash loop does not
 * re-enter DFU forever), or UDFU_BOOT_REQ_NONE. Call it first thing after
 * reset, before anything could overwrite the words. */
uint32_t udfu_boot_flag_take(const struct udfu_boot_flag *f);

/* ---- image header ---------------------------------------------------------- */

/* An image is a 128-byte header at the start of its slot, padding up to
 * cfg.hdr_size, then the payload (the application, its vector table first,
 * linked at slot address + hdr_size). All fields little-endian:
 *
 *   0  u32 magic      UDFU_BOOT_MAGIC ("uDFU")
 *   4  u16 hdr_len    128
 *   6  u16 hdr_ver    1
 *   8  u32 flags      UDFU_BOOT_IMG_*
 *  12  u32 version    the integrator's image version (anti-rollback policy
 *                     lives in the accept() hook)
 *  16  u32 length     payload bytes
 *  20  u32 load_addr  where the payload is linked (slot + hdr_size), or
 *                     UDFU_BOOT_ANY_ADDR for position-independent code
 *  24  u32 crc        CRC-32 of the payload (zlib/IEEE: reflected
 *                     0xEDB88320, init and final xor 0xFFFFFFFF)
 *  28  u32 hdr_crc    CRC-32 of bytes 0..27
 *  32  u8  sha256[32] SHA-256 of bytes 0..31 followed by the payload
 *  64  u8  sig[64]    signature over sha256 (algorithm: the integrator's)
 */
#define UDFU_BOOT_HDR_LEN 128u
#define UDFU_BOOT_MAGIC 0x55464475u
#define UDFU_BOOT_HDR_VER 1u
#define UDFU_BOOT_ANY_ADDR 0xFFFFFFFFu
#define UDFU_BOOT_IMG_SHA256 0x1u /* sha256 field is filled in */
#define UDFU_BOOT_IMG_SIG 0x2u    /* sig field is filled in (implies SHA256) */

struct udfu_boot_hdr {
    uint32_t flags;
    uint32_t version;
    uint32_t length;
    uint32_t load_addr;
    uint32_t crc;
    uint8_t sha256[32];
    uint8_t sig[64];
};

/* zlib-compatible CRC-32: start with 0, chain by passing the last result. */
uint32_t udfu_boot_crc32(uint32_t crc, const void *data, size_t len);

/* Decodes raw[0..128). Returns 0 or UDFU_ERR_FORMAT (magic, length,
 * version or header CRC wrong, SIG without SHA256; *h then unspecified). */
int udfu_boot_hdr_parse(const uint8_t *raw, struct udfu_boot_hdr *h);

/* Encodes h into raw[0..128) (computing hdr_crc); for build tools and
 * tests. To add a SHA-256: set the flag, encode, hash raw[0..32) then the
 * payload, store the digest in h->sha256 and encode again. */
void udfu_boot_hdr_write(uint8_t *raw, const struct udfu_boot_hdr *h);

/* Fills h for payload[0..len): length and CRC, flags 0, no digest. */
void udfu_boot_hdr_init(struct udfu_boot_hdr *h, const uint8_t *payload, uint32_t len,
                        uint32_t version, uint32_t load_addr);

/* ---- slots and the commit journal ------------------------------------------ */

#define UDFU_BOOT_MAX_SLOTS UDFU_CFG_BOOT_SLOTS /* udfu_opt.h: 4 */
#define UDFU_BOOT_REC_LEN 16u  /* a journal record (padded to write_size) */
#define UDFU_BOOT_NONE 0xFFu

/* One image slot. addr and size are whole erase sectors. */
struct udfu_boot_slot {
    uint32_t addr; /* image header here; payload at addr + hdr_size */
    uint32_t size;
    uint8_t factory; /* 1: written at production, never by DFU; bootable on
                        its header and CRC alone, the last resort */
};

/* What the integrator demands of an image. */
#define UDFU_BOOT_NEED_SHA256 0x1u /* refuse images without a SHA-256 */
#define UDFU_BOOT_NEED_SIG 0x2u    /* refuse unsigned images (secure boot) */
#define UDFU_BOOT_RECHECK 0x4u     /* re-run SHA-256/signature at every boot,
                                      not only the CRC-32 */

/* Layouts are configurations of the same logic (docs/bootloader.md):
 *  (a) single slot + DFU fallback: 1 slot, trial_boots 0;
 *  (b) A/B with rollback: 2 slots, trial_boots N > 0;
 *  (c) factory fallback: slot 0 factory, slot 1 upgrade (trial_boots 0,
 *      or N to fall back to factory when the upgrade never confirms).
 * A bootloader that only needs (a) compiles the rest out (udfu_opt.h:
 * UDFU_CFG_BOOT_SLOTS 1, UDFU_CFG_BOOT_TRIAL 0, and UDFU_CFG_BOOT_HOOKS 0
 * without SHA-256/signature/accept hooks). */
struct udfu_boot_cfg {
    void *context; /* passed to every callback */

    /* Flash access. Synchronous; 0 or a negative udfu_err.
     * erase() erases exactly the whole sectors covering [addr, addr+size).
     * The journal's prog() calls are write_size-aligned and write_size
     * long multiples; udfu_boot_prog() passes the host's writes through. */
    int (*read)(void *ctx, uint32_t addr, uint8_t *buf, uint32_t len);
    int (*erase)(void *ctx, uint32_t addr, uint32_t size);
    int (*prog)(void *ctx, uint32_t addr, const uint8_t *buf, uint32_t len);

    const struct udfu_boot_slot *slots; /* sorted or not, not overlapping */
    uint8_t slot_count;                 /* 1..UDFU_BOOT_MAX_SLOTS */

    /* (The small fields sit before the journal: Thumb-1 loads a byte with
     * an offset of at most 31.) */
    uint8_t write_size;  /* program granule, power of two 1..32 (0: 1) */
    uint8_t trial_boots; /* 0: a commit is final; N: a new image must call
                            udfu_boot_confirm() within N boots or it is
                            dropped and the previous one boots again */
    uint8_t need;        /* UDFU_BOOT_NEED_* | UDFU_BOOT_RECHECK */
    uint16_t hdr_size;   /* payload offset in a slot, >= 128 (0: 512); make it
                            the vector table alignment the core needs */

    /* The journal: two areas of journal_size bytes (whole sectors each),
     * outside every slot. Records are never rewritten, so flash with ECC
     * that forbids programming a word twice is fine. */
    uint32_t journal[2];
    uint32_t journal_size;

    /* Optional SHA-256 (required if images carry one, or need says so).
     * The digest covers header bytes 0..31, then the payload. */
    int (*sha256_start)(void *ctx);
    int (*sha256_update)(void *ctx, const uint8_t *data, uint32_t len);
    int (*sha256_finish)(void *ctx, uint8_t digest[32]);
    /* Optional: check sig over digest. 0 if authentic, else < 0. */
    int (*verify_sig)(void *ctx, const uint8_t digest[32], const uint8_t sig[64]);
    /* Optional policy on a new image before it is committed (version,
     * anti-rollback, hardware id). 0 to accept, else < 0. */
    int (*accept)(void *ctx, uint8_t slot, const struct udfu_boot_hdr *h);
};

enum udfu_boot_slot_state {
    UDFU_BOOT_EMPTY = 0,   /* no committed image (or being written) */
    UDFU_BOOT_PENDING = 1, /* committed, on trial: not yet confirmed */
    UDFU_BOOT_CONFIRMED = 2,
    UDFU_BOOT_FACTORY = 3  /* factory slot (state kept in no journal) */
};

struct udfu_boot_slot_info {
    uint8_t state;    /* enum udfu_boot_slot_state */
    uint8_t attempts; /* boots tried while PENDING */
    uint8_t rank;     /* PENDING or CONFIRMED: higher = committed or confirmed
                         more recently; 0 otherwise (a build with
                         UDFU_CFG_BOOT_SLOTS 1 has nothing to rank the
                         slot against: always 1 then) */
    uint32_t crc;     /* of the committed image */
    uint32_t length;
};

/* The instance: caller-allocated, opaque. (Bytes first: Thumb-1 loads
 * them with an offset of at most 31.) */
struct udfu_boot {
    const struct udfu_boot_cfg *cfg;
    uint8_t rec;    /* journal record size: max(16, write_size) */
    uint8_t active; /* journal area in use: 0, 1 or UDFU_BOOT_NONE */
    uint8_t opened; /* slot + 1 being written in this session, or 0 */
    uint8_t top;    /* highest rank given so far (unused with one slot) */
    uint32_t seq;   /* sequence number of the active journal area */
    uint32_t next;  /* offset of the next free record there */
    struct udfu_boot_slot_info slot[UDFU_BOOT_MAX_SLOTS];
};

/* Checks cfg (asserts) and reads the journal. Writes nothing, so the
 * application may call it too (before udfu_boot_confirm()). cfg must
 * outlive the instance. A journal record that cannot be read counts as
 * torn (skipped, never reused): on flash with ECC that is how a cut write
 * reads back. 0 or UDFU_ERR_INVAL (bad cfg, or one that needs what
 * udfu_opt.h compiled out: more than UDFU_CFG_BOOT_SLOTS slots, trial
 * boots, hooks). */
int udfu_boot_init(struct udfu_boot *b, const struct udfu_boot_cfg *cfg);

/* The bootloader's decision at reset. Returns the slot to boot (>= 0), or
 * UDFU_ERR_FIRMWARE: no valid image, stay in DFU mode. Order: a PENDING
 * image with trials left (counting this boot in the journal), else the
 * most recently confirmed valid image (dropping a PENDING one out of
 * trials), else a valid factory image. "Valid" means the header parses,
 * the payload CRC-32 matches header and journal, and with
 * UDFU_BOOT_RECHECK the SHA-256 and signature hold. May write the journal
 * (power loss there is safe). */
int udfu_boot_select(struct udfu_boot *b);

/* Address of the payload (vector table) of slot: addr + hdr_size. */
uint32_t udfu_boot_app_addr(const struct udfu_boot *b, uint8_t slot);

/* The slot a download must go to: a writable slot that is not the image to
 * fall back on (in a single-slot layout, the only slot). Returns the slot
 * index or UDFU_ERR_PERM (no writable slot). */
int udfu_boot_update_slot(const struct udfu_boot *b);

/* Erase/program on behalf of the DFU class core (call them from its
 * erase()/prog() callbacks). Only the update slot may be touched, else
 * UDFU_ERR_PERM and nothing happens: the bootloader, the journal and the
 * fallback image are out of reach. The first call of a session writes
 * the INVALIDATE record before touching the slot. Returns 0 or the flash
 * or journal error. */
int udfu_boot_erase(struct udfu_boot *b, uint32_t addr, uint32_t size);
int udfu_boot_prog(struct udfu_boot *b, uint32_t addr, const uint8_t *buf, uint32_t len);

/* 1 if the update slot was written in this session and not yet committed. */
int udfu_boot_dirty(const struct udfu_boot *b);

/* Verifies what this session wrote into the update slot and, if the image
 * is good, writes its COMMIT record (PENDING if trial_boots, else
 * CONFIRMED). Call it from the DFU manifest() callback (udfu_dfu calls it
 * after a plain download and for a DfuSe leave; with a class core that
 * skips it on leave, call it from leave() if udfu_boot_dirty()).
 * Without a write since the last commit or reset (a bare `dfu-util -s
 * :leave`) nothing is committed, not even a whole image an earlier session
 * left uncommitted (it may be one the journal dropped: a rolled-back
 * trial, a revert to factory): 0 if some slot holds a committed or factory
 * image (the boot decision picks after the leave), UDFU_ERR_FIRMWARE if
 * none does. Returns 0, UDFU_ERR_FIRMWARE / UDFU_ERR_CRC (image refused:
 * the slot stays unbootable), or a flash error. */
int udfu_boot_commit(struct udfu_boot *b);

/* Checks the image in slot: header, payload CRC-32, load address, and what
 * cfg.need demands; with hooks != 0 also the SHA-256 and signature through
 * the hooks (when the image carries them and the hooks exist). Fills *h if
 * not NULL (all of it when it returns 0; on an error its contents are
 * unspecified). Does not look at the journal. The header (*h, or without
 * one a copy on the stack) is also the read buffer. 0, UDFU_ERR_FORMAT (no
 * header), UDFU_ERR_FIRMWARE (length, load address, missing SHA/signature,
 * digest or signature wrong), UDFU_ERR_CRC, or a read/hook error. */
int udfu_boot_verify(struct udfu_boot *b, uint8_t slot, struct udfu_boot_hdr *h, int hooks);

/* Application side: the image on trial works; make it permanent. running
 * is the address of the running image's vector table (SCB->VTOR, or its
 * linker symbol): only the image that actually runs can confirm itself,
 * never a fallback that booted because the trial could not start. Returns
 * 0 (confirmed, or nothing on trial; always 0 without UDFU_CFG_BOOT_TRIAL),
 * UDFU_ERR_STATE (the image on trial is not the running one: nothing
 * written) or a flash error. */
int udfu_boot_confirm(struct udfu_boot *b, uint32_t running);

/* Makes a non-factory slot unbootable (e.g. "revert to factory").
 * 0, UDFU_ERR_PERM (factory slot or no such slot), or a flash error. */
int udfu_boot_invalidate(struct udfu_boot *b, uint8_t slot);

/* State of slot (for tools and tests). */
static inline const struct udfu_boot_slot_info *udfu_boot_slot_info(const struct udfu_boot *b,
                                                                   uint8_t slot)
{
    return &b->slot[slot];
}

#ifdef __cplusplus
}
#endif

#endif /* UDFU_BOOT_H */
