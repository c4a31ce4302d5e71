/*
 * flashmodel.h - timing and content of the flash parts the benchmarks
 * program: an STM32F4-like internal flash and a serial NOR flash. Figures
 * and sources: docs/performance.md ("Models").
 *
 * The content is simulated too (erase sets 0xFF, program can only clear
 * bits and must hit erased bytes), so a run can check that the image really
 * landed, and that nothing was programmed twice or over old data.
 */
#ifndef BENCH_FLASHMODEL_H
#define BENCH_FLASHMODEL_H

#include <stdint.h>

#include "udfu_mem.h"
#include "usbtime.h"

#define FLASH_MAX_GEO 4

struct flash_geo {
    uint32_t sector_size;
    uint16_t count;
    ps_t erase;            /* typical erase time of one sector */
};

struct flash_part {
    const char *name;
    uint32_t base;
    struct flash_geo geo[FLASH_MAX_GEO]; /* from base on, in order */
    int ngeo;
    uint32_t prog_unit;    /* bytes per program step (word, page) */
    ps_t prog_unit_time;   /* typical time of one step */
    ps_t prog_byte_time;   /* plus this per byte (serial shifting) */
    ps_t prog_cmd_time;    /* plus this per step (command, address) */
};

/* STM32F405/407, x32 parallelism: 4 x 16 KiB, 1 x 64 KiB, 7 x 128 KiB. */
void flash_stm32f4(struct flash_part *p);
/* W25Q128JV-class serial NOR: 4 KiB sectors, 256-byte pages, 1 MiB used. */
void flash_nor(struct flash_part *p);

uint32_t flash_size(const struct flash_part *p);
/* Sector holding addr: 0, or -1 outside the part. */
int flash_sector(const struct flash_part *p, uint32_t addr, uint32_t *start, uint32_t *size,
                 ps_t *erase);
/* Time to program len bytes at addr. */
ps_t flash_prog_time(const struct flash_part *p, uint32_t addr, uint32_t len);
/* Erase plus program time of an image of len bytes at addr: the flash's
 * own lower bound for writing it. */
ps_t flash_image_time(const struct flash_part *p, uint32_t addr, uint32_t len);
/* The udfu memory map of the part (one region per geometry run), with the
 * erase/program estimates an integrator would put there (typical times,
 * rounded up). Returns the number of regions. */
int flash_regions(const struct flash_part *p, struct udfu_region *out, int max);

/* Simulated content. */
struct flash_mem {
    const struct flash_part *part;
    uint8_t *bytes;        /* flash_size() bytes, starts erased */
    uint32_t bad_progs;    /* programs over bytes that were not erased */
    uint32_t erases, progs;
};

int flash_mem_init(struct flash_mem *m, const struct flash_part *p);
void flash_mem_free(struct flash_mem *m);
/* Erase the sectors covering [addr, addr + len); -1 outside the part. */
int flash_mem_erase(struct flash_mem *m, uint32_t addr, uint32_t len);
/* Program: clears bits only; counts bytes that were not erased. -1 outside. */
int flash_mem_prog(struct flash_mem *m, uint32_t addr, const uint8_t *buf, uint32_t len);

#endif
