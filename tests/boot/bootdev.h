/*
 * bootdev.h - a simulated device for the boot-layer tests: NOR flash with a
 * bootloader region, two journal areas and up to two slots, the boot
 * configuration of each layout, test images, and a host that downloads
 * them the way plain DFU or DfuSe would.
 */
#ifndef BOOTDEV_H
#define BOOTDEV_H

#include <stdint.h>

#include "udfu_boot.h"
#include "udfu_nor.h"

enum layout { LAYOUT_SINGLE, LAYOUT_AB, LAYOUT_FACTORY };
enum style { STYLE_PLAIN, STYLE_DFUSE };

#define DEV_BOOT 0x08000000u /* bootloader: 4 KiB */
#define DEV_BOOT_SIZE 0x1000u
#define DEV_JOURNAL 0x08001000u /* two areas of up to 512 bytes */
#define DEV_SLOT0 0x08002000u
#define DEV_SLOT_SIZE 0x2000u /* 8 sectors of 1 KiB */
#define DEV_SLOT1 (DEV_SLOT0 + DEV_SLOT_SIZE)
#define DEV_SECTOR 1024u
#define DEV_HDR 256u
#define DEV_CHUNK 256u /* wTransferSize of the simulated host */
#define DEV_IMG_MAX DEV_SLOT_SIZE
#define DEV_TRIALS 3

/* outcome of a boot */
enum boot_kind { BOOT_DFU, BOOT_OLD, BOOT_NEW, BOOT_FACTORY, BOOT_OTHER, BOOT_CORRUPT };

struct dev {
    enum layout layout;
    struct udfu_nor nor;
    struct udfu_boot boot;
    struct udfu_boot_cfg cfg;
    struct udfu_boot_slot slots[2];
    struct udfu_region map[4];
    uint8_t bootrom[DEV_BOOT_SIZE]; /* what the bootloader region must keep */
    uint32_t old_version, new_version;
};

/* Opens a fresh device (journal areas of journal_size bytes; 0: 512). The
 * factory layout gets its factory image (version 100) programmed here. */
void dev_open(struct dev *d, enum layout layout, uint32_t journal_size);
void dev_close(struct dev *d);

/* Builds the image (header + padding + payload) of `version` linked for
 * slot_addr; returns its length. Same arguments, same bytes. */
uint32_t dev_image(uint8_t *out, uint32_t version, uint32_t slot_addr);

/* Downloads `version` into the update slot and commits it, the way a host
 * would drive the DFU core: plain (erase sector by sector as it goes) or
 * DfuSe (host erases every page first, then writes blocks, both in an
 * order shuffled by seed). Stops at the first error and returns it. */
int dev_download(struct dev *d, uint32_t version, enum style style, uint32_t seed);

/* Downloads the prepared image img[0..len) (plain style) and commits it. */
int dev_write(struct dev *d, const uint8_t *img, uint32_t len);

/* Reset: boot-layer init, then select. Returns the slot or < 0 (DFU). */
int dev_reboot(struct dev *d);

/* Classifies what boot chose: exact bytes of the old, new or factory image,
 * DFU mode, or corrupt (anything else). */
enum boot_kind dev_classify(struct dev *d, int slot);

/* 1 if the bootloader region is bit-for-bit what it was at open. */
int dev_bootloader_intact(struct dev *d);

/* Reboots and, if the chosen image is on trial, lets it confirm itself.
 * Returns what booted. */
enum boot_kind dev_boot_and_run(struct dev *d, int confirm);

const char *dev_kind_name(enum boot_kind k);
const char *dev_layout_name(enum layout l);

#endif
