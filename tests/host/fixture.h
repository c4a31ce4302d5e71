/*
 * fixture.h - devices for the host library tests: an STM32F4-like DfuSe
 * device and a plain DFU 1.1 device, both on the loopback transport.
 */
#ifndef HOST_FIXTURE_H
#define HOST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "udfu_host.h"
#include "udfu_loopback.h"

#define FX_VID 0x1209
#define FX_PID_DFU 0xDF11
#define FX_PID_RT 0x0D15
#define FX_FLASH 0x08000000u
#define FX_APP 0x08004000u     /* first writable address (sector 0 is read-only) */
#define FX_FLASH_SIZE (1024u * 1024u)
#define FX_PATTERN(a) ((uint8_t)(((a) * 7u) ^ ((a) >> 9)))

/* The F4-like map: 1x16K read-only (bootloader), 3x16K, 1x64K, 7x128K. */
extern const struct udfu_region fx_f4_regions[4];
extern const struct udfu_target fx_f4_targets[1];
/* A plain DFU 1.1 target: 64 x 4 KiB at 0x08000000. */
extern const struct udfu_region fx_plain_regions[1];
extern const struct udfu_target fx_plain_targets[1];

struct fx {
    struct udfu_loopback lb;
    struct udfu_host_dev *dev;
};

/* A DfuSe device (dfuse = 1) or a plain one. attributes 0: default;
 * runtime: start in run-time mode. Fills the flash with FX_PATTERN.
 * Returns 0 or fails the test. */
int fx_open(struct fx *f, int dfuse, uint8_t attributes, int runtime);
void fx_close(struct fx *f);

/* 1 if flash[addr, addr+len) equals data. */
int fx_flash_is(struct fx *f, uint32_t addr, const uint8_t *data, uint32_t len);
/* 1 if flash[addr, addr+len) still holds the fill pattern. */
int fx_flash_untouched(struct fx *f, uint32_t addr, uint32_t len);
/* 1 if flash[addr, addr+len) is erased (0xFF). */
int fx_flash_erased(struct fx *f, uint32_t addr, uint32_t len);
/* Fills buf with reproducible pseudo-random bytes. */
void fx_random(uint8_t *buf, size_t len, uint32_t seed);

#endif
