#include "bootdev.h"
#include "udfu_util.h"

#include <stdio.h>
#include <string.h>

#define FACTORY_VERSION 100u

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

uint32_t dev_image(uint8_t *out, uint32_t version, uint32_t slot_addr)
{
    uint32_t len = 3000u + (version * 977u) % 4000u; /* lengths differ */
    uint32_t s = version * 2654435761u + 1u;
    uint8_t *p = out + DEV_HDR;
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)rnd(&s);
    /* a plausible vector table: stack top in RAM, Thumb reset handler */
    udfu_put32(p, 0x20004000u);
    udfu_put32(p + 4, slot_addr + DEV_HDR + 0x101u);
    struct udfu_boot_hdr h;
    udfu_boot_hdr_init(&h, p, len, version, slot_addr + DEV_HDR);
    memset(out, 0xFF, DEV_HDR);
    udfu_boot_hdr_write(out, &h);
    return DEV_HDR + len;
}

const char *dev_layout_name(enum layout l)
{
    return l == LAYOUT_SINGLE ? "single" : l == LAYOUT_AB ? "a/b" : "factory";
}

const char *dev_kind_name(enum boot_kind k)
{
    static const char *n[] = {"dfu", "old", "new", "factory", "other", "CORRUPT"};
    return n[k];
}

void dev_open(struct dev *d, enum layout layout, uint32_t journal_size)
{
    memset(d, 0, sizeof(*d));
    d->layout = layout;
    if (!journal_size)
        journal_size = 512;
    const struct udfu_region map[] = {
        {DEV_BOOT, DEV_SECTOR, DEV_BOOT_SIZE / DEV_SECTOR, UDFU_MEM_READ, 10, 50},
        {DEV_JOURNAL, journal_size, 2, UDFU_MEM_READ, 10, 50},
        {DEV_SLOT0, DEV_SECTOR, 2 * DEV_SLOT_SIZE / DEV_SECTOR, UDFU_MEM_ALL, 10, 50},
    };
    memcpy(d->map, map, sizeof(map));
    /* journal region ends before DEV_SLOT0: keep it in its 4 KiB window */
    struct udfu_nor_cfg nc = {d->map, 3, NULL};
    udfu_nor_open(&d->nor, &nc);
    uint32_t s = 12345;
    for (uint32_t i = 0; i < DEV_BOOT_SIZE; i++)
        d->bootrom[i] = (uint8_t)rnd(&s);
    memcpy(udfu_nor_mem(&d->nor, DEV_BOOT), d->bootrom, DEV_BOOT_SIZE);

    d->slots[0].addr = DEV_SLOT0;
    d->slots[0].size = DEV_SLOT_SIZE;
    d->slots[1].addr = DEV_SLOT1;
    d->slots[1].size = DEV_SLOT_SIZE;
    d->cfg.context = &d->nor;
    d->cfg.read = udfu_nor_read_cb;
    d->cfg.erase = udfu_nor_erase_cb;
    d->cfg.prog = udfu_nor_prog_cb;
    d->cfg.slots = d->slots;
    d->cfg.slot_count = layout == LAYOUT_SINGLE ? 1 : 2;
    d->cfg.journal[0] = DEV_JOURNAL;
    d->cfg.journal[1] = DEV_JOURNAL + journal_size;
    d->cfg.journal_size = journal_size;
    d->cfg.hdr_size = DEV_HDR;
    d->cfg.trial_boots = layout == LAYOUT_AB ? DEV_TRIALS : 0;
    if (layout == LAYOUT_FACTORY) {
        static uint8_t img[DEV_IMG_MAX];
        d->slots[0].factory = 1;
        uint32_t n = dev_image(img, FACTORY_VERSION, DEV_SLOT0);
        memcpy(udfu_nor_mem(&d->nor, DEV_SLOT0), img, n);
    }
    d->old_version = 1;
    d->new_version = 2;
}

void dev_close(struct dev *d)
{
    udfu_nor_close(&d->nor);
}

static void shuffle(uint32_t *v, uint32_t n, uint32_t seed)
{
    uint32_t s = seed ? seed : 1;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = rnd(&s) % i, t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

int dev_download(struct dev *d, uint32_t version, enum style style, uint32_t seed)
{
    static uint8_t img[DEV_IMG_MAX];
    uint32_t order[DEV_IMG_MAX / DEV_CHUNK];
    int slot = udfu_boot_update_slot(&d->boot);
    if (slot < 0)
        return slot;
    uint32_t base = d->slots[slot].addr;
    uint32_t len = dev_image(img, version, base);
    uint32_t sectors = (len + DEV_SECTOR - 1) / DEV_SECTOR;
    uint32_t blocks = (len + DEV_CHUNK - 1) / DEV_CHUNK;
    int err = 0;
    if (style == STYLE_PLAIN) {
        for (uint32_t b = 0; !err && b < blocks; b++) {
            uint32_t off = b * DEV_CHUNK;
            if (off % DEV_SECTOR == 0)
                err = udfu_boot_erase(&d->boot, base + off, DEV_SECTOR);
            if (!err)
                err = udfu_boot_prog(&d->boot, base + off, img + off,
                                     udfu_min32(DEV_CHUNK, len - off));
        }
    } else {
        for (uint32_t i = 0; i < sectors; i++)
            order[i] = i;
        shuffle(order, sectors, seed);
        for (uint32_t i = 0; !err && i < sectors; i++)
            err = udfu_boot_erase(&d->boot, base + order[i] * DEV_SECTOR, DEV_SECTOR);
        for (uint32_t i = 0; i < blocks; i++)
            order[i] = i;
        shuffle(order, blocks, seed * 7u + 3u);
        for (uint32_t i = 0; !err && i < blocks; i++) {
            uint32_t off = order[i] * DEV_CHUNK;
            err = udfu_boot_prog(&d->boot, base + off, img + off,
                                 udfu_min32(DEV_CHUNK, len - off));
        }
    }
    return err ? err : udfu_boot_commit(&d->boot);
}

int dev_write(struct dev *d, const uint8_t *img, uint32_t len)
{
    int slot = udfu_boot_update_slot(&d->boot);
    if (slot < 0)
        return slot;
    uint32_t base = d->slots[slot].addr;
    int err = 0;
    for (uint32_t off = 0; !err && off < len; off += DEV_CHUNK) {
        if (off % DEV_SECTOR == 0)
            err = udfu_boot_erase(&d->boot, base + off, DEV_SECTOR);
        if (!err)
            err = udfu_boot_prog(&d->boot, base + off, img + off, udfu_min32(DEV_CHUNK, len - off));
    }
    return err ? err : udfu_boot_commit(&d->boot);
}

int dev_reboot(struct dev *d)
{
    int err = udfu_boot_init(&d->boot, &d->cfg);
    if (err)
        return err;
    return udfu_boot_select(&d->boot);
}

enum boot_kind dev_classify(struct dev *d, int slot)
{
    static uint8_t img[DEV_IMG_MAX];
    struct udfu_boot_hdr h;
    if (slot < 0)
        return BOOT_DFU;
    uint32_t base = d->slots[slot].addr;
    if (udfu_boot_hdr_parse(udfu_nor_mem(&d->nor, base), &h) != 0)
        return BOOT_CORRUPT;
    uint32_t len = dev_image(img, h.version, base);
    /* the header and the payload; padding between is not executed */
    if (memcmp(udfu_nor_mem(&d->nor, base), img, UDFU_BOOT_HDR_LEN) != 0 ||
        memcmp(udfu_nor_mem(&d->nor, base + DEV_HDR), img + DEV_HDR, len - DEV_HDR) != 0)
        return BOOT_CORRUPT;
    if (h.version == d->old_version)
        return BOOT_OLD;
    if (h.version == d->new_version)
        return BOOT_NEW;
    if (h.version == FACTORY_VERSION)
        return BOOT_FACTORY;
    return BOOT_OTHER;
}

int dev_bootloader_intact(struct dev *d)
{
    return memcmp(udfu_nor_mem(&d->nor, DEV_BOOT), d->bootrom, DEV_BOOT_SIZE) == 0;
}

enum boot_kind dev_boot_and_run(struct dev *d, int confirm)
{
    int slot = dev_reboot(d);
    enum boot_kind k = dev_classify(d, slot);
    if (slot >= 0 && confirm && udfu_boot_slot_info(&d->boot, (uint8_t)slot)->state ==
                                    UDFU_BOOT_PENDING)
        udfu_boot_confirm(&d->boot, udfu_boot_app_addr(&d->boot, (uint8_t)slot));
    return k;
}
