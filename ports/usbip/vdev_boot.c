/*
 * vdev_boot.c - the bootloader of the virtual device: udfu's boot layer
 * (udfu_boot.h) in layout (a), single slot + DFU fallback, over the
 * simulated flash. This is the code path a real udfu bootloader runs; the
 * only stand-ins are the jump (the device cannot execute Cortex-M code, so
 * "booting" means the run-time personality) and the no-init RAM of the
 * boot-request flag (a field of struct vdev that survives its resets).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udfu_cortexm.h"
#include "udfu_mem.h"
#include "vdev.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* ---- layout ------------------------------------------------------------------------- */

/* The journal: the two sectors right below the slot. They must exist,
 * be read-only in the map (so no host can write them: the DFU class
 * refuses them before the boot layer would) and have the same size. */
static int find_journal(struct vdev *v)
{
    uint32_t s1, n1, s0, n0;

    if (udfu_mem_sector(&v->whole, v->app_start - 1u, &s1, &n1) < 0 || s1 + n1 != v->app_start ||
        udfu_mem_sector(&v->whole, s1 - 1u, &s0, &n0) < 0 || s0 + n0 != s1 || n0 != n1) {
        fprintf(stderr, "udfu-virtual: the layout needs two read-only sectors of the same size "
                        "right below the first writable one, for the boot layer's commit "
                        "journal\n");
        return -1;
    }
    v->boot_cfg.journal[0] = s0;
    v->boot_cfg.journal[1] = s1;
    v->boot_cfg.journal_size = n1;
    return 0;
}

/* The slot: everything from the first writable sector to the end of the
 * flash, which must be one contiguous run. */
static int find_slot(struct vdev *v)
{
    uint8_t i;

    for (i = (uint8_t)(v->app_first + 1u); i < v->map_count; i++) {
        const struct udfu_region *p = &v->map[i - 1];

        if (v->map[i].start != p->start + p->sector_size * p->sector_count) {
            fprintf(stderr, "udfu-virtual: the image slot (0x%08X to the end of the layout) "
                            "must be contiguous; there is a gap at 0x%08X\n",
                    (unsigned)v->app_start,
                    (unsigned)(p->start + p->sector_size * p->sector_count));
            return -1;
        }
    }
    if (v->flash_end - v->app_start <= VDEV_HDR_SIZE) {
        fprintf(stderr, "udfu-virtual: the image slot is too small for a %u-byte image header\n",
                VDEV_HDR_SIZE);
        return -1;
    }
    v->slot.addr = v->app_start;
    v->slot.size = v->flash_end - v->app_start;
    v->slot.factory = 0;
    return 0;
}

int vdev_boot_setup(struct vdev *v)
{
    struct udfu_boot_cfg *c = &v->boot_cfg;

    memset(c, 0, sizeof(*c));
    if (find_journal(v) < 0 || find_slot(v) < 0)
        return -1;
    if (c->journal_size < 16u * 4u) {
        fprintf(stderr, "udfu-virtual: journal sectors of %u bytes are too small\n",
                (unsigned)c->journal_size);
        return -1;
    }
    c->context = &v->nor;
    c->read = udfu_nor_read_cb;
    c->erase = udfu_nor_erase_cb;
    c->prog = udfu_nor_prog_cb;
    c->slots = &v->slot;
    c->slot_count = 1;
    c->hdr_size = VDEV_HDR_SIZE;
    c->write_size = 4; /* the STM32F4 programs 32-bit words at 2.7-3.6 V */
    c->trial_boots = 0; /* layout (a): a commit is final */
    v->flag.words = v->flag_words;
    return 0;
}

/* ---- why an image does or does not boot ------------------------------------------------ */

static int all_ff(const uint8_t *p, size_t n)
{
    while (n && p[n - 1] == 0xFF)
        n--;
    return n == 0;
}

/* CRC-32 of the payload as it is in flash (the header's length, clamped
 * to the slot). */
static uint32_t payload_crc(struct vdev *v, uint32_t len)
{
    uint32_t room = v->slot.size - VDEV_HDR_SIZE, crc = 0, off;
    uint8_t chunk[256];

    if (len > room)
        len = room;
    for (off = 0; off < len; off += sizeof(chunk)) {
        uint32_t n = len - off < sizeof(chunk) ? len - off : (uint32_t)sizeof(chunk);

        if (udfu_nor_read(&v->nor, v->slot.addr + VDEV_HDR_SIZE + off, chunk, n) < 0)
            break;
        crc = udfu_boot_crc32(crc, chunk, n);
    }
    return crc;
}

/* What the header claims that the slot cannot hold. */
static void explain_fit(struct vdev *v, const struct udfu_boot_hdr *h, char *buf, size_t size)
{
    uint32_t want = v->slot.addr + VDEV_HDR_SIZE;

    if (h->load_addr != UDFU_BOOT_ANY_ADDR && h->load_addr != want)
        snprintf(buf, size, "udfu image v%u is linked for 0x%08X, but this slot runs it at "
                 "0x%08X (re-link it, or pack it with --address 0x%08X)",
                 (unsigned)h->version, (unsigned)h->load_addr, (unsigned)want, (unsigned)want);
    else
        snprintf(buf, size, "udfu image v%u claims %u bytes, the slot holds at most %u",
                 (unsigned)h->version, (unsigned)h->length,
                 (unsigned)(v->slot.size - VDEV_HDR_SIZE));
}

/* The slot's content, judged as udfu_boot_verify() does, plus what the
 * journal says about it. */
void vdev_boot_explain(struct vdev *v, char *buf, size_t size)
{
    const struct udfu_boot_slot_info *si = udfu_boot_slot_info(&v->boot, 0);
    uint8_t raw[UDFU_BOOT_HDR_LEN];
    struct udfu_boot_hdr h;
    int err;

    if (udfu_nor_read(&v->nor, v->slot.addr, raw, sizeof(raw)) < 0) {
        snprintf(buf, size, "the slot at 0x%08X cannot be read", (unsigned)v->slot.addr);
        return;
    }
    if (udfu_boot_hdr_parse(raw, &h) < 0) {
        snprintf(buf, size, all_ff(raw, sizeof(raw)) ? "slot 0x%08X is empty (erased)"
                 : "no udfu image header at 0x%08X (an application needs one: "
                   "`udfu pack --boot-header`)",
                 (unsigned)v->slot.addr);
        return;
    }
    err = udfu_boot_verify(&v->boot, 0, &h, 0);
    if (err == UDFU_ERR_CRC)
        snprintf(buf, size, "udfu image v%u, %u bytes at 0x%08X: payload CRC-32 0x%08X, the "
                 "header says 0x%08X (incomplete or corrupt)", (unsigned)h.version,
                 (unsigned)h.length, (unsigned)(v->slot.addr + VDEV_HDR_SIZE),
                 (unsigned)payload_crc(v, h.length), (unsigned)h.crc);
    else if (err == UDFU_ERR_FIRMWARE)
        explain_fit(v, &h, buf, size);
    else if (err < 0)
        snprintf(buf, size, "udfu image v%u: %s", (unsigned)h.version, udfu_strerror(err));
    else if (si->state == UDFU_BOOT_EMPTY)
        snprintf(buf, size, "udfu image v%u, %u bytes, crc32 0x%08X is complete but was never "
                 "committed (its download was interrupted, or did not end with a "
                 "manifestation or leave)", (unsigned)h.version, (unsigned)h.length,
                 (unsigned)h.crc);
    else if (si->crc != h.crc || si->length != h.length)
        snprintf(buf, size, "udfu image v%u (crc32 0x%08X) is not the image the journal "
                 "committed (crc32 0x%08X)", (unsigned)h.version, (unsigned)h.crc,
                 (unsigned)si->crc);
    else
        snprintf(buf, size, "udfu image v%u, %u bytes, crc32 0x%08X, committed",
                 (unsigned)h.version, (unsigned)h.length, (unsigned)h.crc);
}

/* ---- the decision at reset ------------------------------------------------------------- */

/* The image's self-description (VDEV_APP_TAG), if any. */
static void find_app_name(struct vdev *v, uint32_t len)
{
    const size_t tag = strlen(VDEV_APP_TAG);
    uint8_t *p = malloc(len ? len : 1);
    uint32_t i;

    v->app_name[0] = 0;
    if (!p || udfu_nor_read(&v->nor, v->slot.addr + VDEV_HDR_SIZE, p, len) < 0) {
        free(p);
        return;
    }
    for (i = 0; i + tag < len; i++) {
        size_t n = 0;

        if (memcmp(p + i, VDEV_APP_TAG, tag) != 0)
            continue;
        while (i + tag + n < len && n + 1 < sizeof(v->app_name) && p[i + tag + n] >= 0x20 &&
               p[i + tag + n] < 0x7F)
            n++;
        memcpy(v->app_name, p + i + tag, n);
        v->app_name[n] = 0;
        break;
    }
    free(p);
}

/* What udfu_port_jump() checks before it jumps: a bootloader that finds a
 * committed image with a broken vector table stays in DFU mode. */
static int check_vectors(struct vdev *v, uint32_t *sp, uint32_t *reset)
{
    struct udfu_port_jump_cfg j;
    uint32_t vtor = udfu_boot_app_addr(&v->boot, 0);
    uint8_t w[8];

    memset(&j, 0, sizeof(j));
    j.ram_start = VDEV_SRAM_START;
    j.ram_end = VDEV_SRAM_END;
    j.code_start = vtor;
    j.code_end = v->slot.addr + v->slot.size;
    if (udfu_nor_read(&v->nor, vtor, w, sizeof(w)) < 0)
        return UDFU_ERR_FIRMWARE;
    *sp = le32(w);
    *reset = le32(w + 4);
    return udfu_port_check_vectors(&j, vtor, *sp, *reset);
}

/* The boot layer chose the slot: the image runs if its vectors are sane.
 * buf gets what boots, or why it does not. */
static int boot_image(struct vdev *v, char *buf, size_t size)
{
    struct udfu_boot_hdr *h = &v->image;
    uint32_t sp = 0, reset = 0;
    int err = udfu_boot_verify(&v->boot, 0, h, 0);
    char name[sizeof(v->app_name) + 4];

    if (err < 0) {
        vdev_boot_explain(v, buf, size);
        return 0;
    }
    if (check_vectors(v, &sp, &reset) < 0) {
        snprintf(buf, size,
                 "udfu image v%u is committed but its vector table is not sane (SP 0x%08X, "
                 "reset 0x%08X; want SP in RAM 0x%08X-0x%08X, reset (Thumb) in the image)",
                 (unsigned)h->version, (unsigned)sp, (unsigned)reset, VDEV_SRAM_START,
                 VDEV_SRAM_END);
        return 0;
    }
    find_app_name(v, h->length);
    snprintf(name, sizeof(name), v->app_name[0] ? " \"%s\"" : "%s", v->app_name);
    snprintf(buf, size,
             "udfu image v%u%s, %u bytes at 0x%08X, crc32 0x%08X (SP 0x%08X, reset 0x%08X)",
             (unsigned)h->version, name, (unsigned)h->length,
             (unsigned)udfu_boot_app_addr(&v->boot, 0), (unsigned)h->crc, (unsigned)sp,
             (unsigned)reset);
    return 1;
}

int vdev_boot_check(struct vdev *v)
{
    uint32_t req = udfu_boot_flag_take(&v->flag);
    char why[sizeof(v->image_desc) - 32];
    int err, slot;

    v->image_valid = 0;
    v->app_name[0] = 0;
    memset(&v->image, 0, sizeof(v->image));
    /* a reset: the journal is read again, any download session is gone */
    err = udfu_boot_init(&v->boot, &v->boot_cfg);
    if (err < 0) {
        snprintf(v->image_desc, sizeof(v->image_desc), "the commit journal cannot be read (%s)",
                 udfu_strerror(err));
        return 0;
    }
    if (req == UDFU_BOOT_REQ_DFU) {
        snprintf(v->image_desc, sizeof(v->image_desc),
                 "DFU mode requested by the application (boot-request flag)");
        return 0;
    }
    slot = udfu_boot_select(&v->boot);
    if (slot >= 0 && boot_image(v, why, sizeof(why))) {
        snprintf(v->image_desc, sizeof(v->image_desc), "%s", why);
        return v->image_valid = 1;
    }
    if (slot < 0)
        vdev_boot_explain(v, why, sizeof(why));
    snprintf(v->image_desc, sizeof(v->image_desc), "no bootable image: %s", why);
    return 0;
}

/* ---- manifestation ------------------------------------------------------------------------ */

int vdev_boot_commit(struct vdev *v)
{
    /* Only a slot written in this session is verified and committed
     * (udfu_boot_commit); otherwise the message says what the slot holds. */
    int fresh = udfu_boot_dirty(&v->boot);
    char why[256];
    int err = udfu_boot_commit(&v->boot);

    vdev_boot_explain(v, why, sizeof(why));
    if (err < 0)
        printf("udfu-virtual: commit refused: %s\n", why);
    else if (fresh)
        printf("udfu-virtual: commit: %s\n", why);
    else
        printf("udfu-virtual: commit: nothing new was written; %s\n", why);
    fflush(stdout);
    return err;
}
