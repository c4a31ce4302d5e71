/*
 * flashmodel.c - see flashmodel.h. Figures and sources: docs/performance.md.
 */
#include "flashmodel.h"

#include <stdlib.h>
#include <string.h>

void flash_stm32f4(struct flash_part *p)
{
    memset(p, 0, sizeof *p);
    p->name = "stm32f4";
    p->base = 0x08000000u;
    /* DS8626 "Flash memory programming", x32: tERASE16KB 250 ms,
     * tERASE64KB 550 ms, tERASE128KB 1 s, tPROG 16 us per word (typical). */
    p->geo[0] = (struct flash_geo){16u * 1024u, 4, 250 * PS_PER_MS};
    p->geo[1] = (struct flash_geo){64u * 1024u, 1, 550 * PS_PER_MS};
    p->geo[2] = (struct flash_geo){128u * 1024u, 7, 1000 * PS_PER_MS};
    p->ngeo = 3;
    p->prog_unit = 4;
    p->prog_unit_time = 16 * PS_PER_US;
}

void flash_nor(struct flash_part *p)
{
    memset(p, 0, sizeof *p);
    p->name = "nor";
    p->base = 0x90000000u;
    /* W25Q128JV: tSE 45 ms per 4 KiB sector, tPP 0.4 ms per 256-byte page
     * (typical); the page is shifted in at 50 MHz on one data line:
     * 160 ns per byte, 4 bytes of command and address per page. */
    p->geo[0] = (struct flash_geo){4096u, 256, 45 * PS_PER_MS};
    p->ngeo = 1;
    p->prog_unit = 256;
    p->prog_unit_time = 400 * PS_PER_US;
    p->prog_byte_time = 160000;
    p->prog_cmd_time = 4 * 160000;
}

uint32_t flash_size(const struct flash_part *p)
{
    uint32_t n = 0;
    int i;
    for (i = 0; i < p->ngeo; i++)
        n += p->geo[i].sector_size * p->geo[i].count;
    return n;
}

int flash_sector(const struct flash_part *p, uint32_t addr, uint32_t *start, uint32_t *size,
                 ps_t *erase)
{
    uint32_t a = p->base;
    int i;
    if (addr < p->base)
        return -1;
    for (i = 0; i < p->ngeo; i++) {
        const struct flash_geo *g = &p->geo[i];
        uint32_t span = g->sector_size * g->count;
        if (addr - a < span) {
            *start = addr - (addr - a) % g->sector_size;
            *size = g->sector_size;
            *erase = g->erase;
            return 0;
        }
        a += span;
    }
    return -1;
}

/* Programming goes in units that do not cross a unit boundary (a word, a
 * page); a partial unit costs a whole step. */
ps_t flash_prog_time(const struct flash_part *p, uint32_t addr, uint32_t len)
{
    uint32_t first = addr / p->prog_unit, last;
    if (!len)
        return 0;
    last = (addr + len - 1) / p->prog_unit;
    return (last - first + 1) * (p->prog_unit_time + p->prog_cmd_time) +
           (ps_t)len * p->prog_byte_time;
}

ps_t flash_image_time(const struct flash_part *p, uint32_t addr, uint32_t len)
{
    ps_t t = flash_prog_time(p, addr, len), erase;
    uint32_t a = addr, start, size;
    while (a < addr + len && !flash_sector(p, a, &start, &size, &erase)) {
        t += erase;
        a = start + size;
    }
    return t;
}

static uint32_t ceil_div(ps_t a, ps_t b)
{
    return (uint32_t)((a + b - 1) / b);
}

int flash_regions(const struct flash_part *p, struct udfu_region *out, int max)
{
    uint32_t a = p->base;
    int i;
    for (i = 0; i < p->ngeo && i < max; i++) {
        const struct flash_geo *g = &p->geo[i];
        memset(&out[i], 0, sizeof out[i]);
        out[i].start = a;
        out[i].sector_size = g->sector_size;
        out[i].sector_count = g->count;
        out[i].attr = UDFU_MEM_ALL;
        out[i].erase_ms = (uint16_t)ceil_div(g->erase, PS_PER_MS);
        out[i].prog_us_per_kib = ceil_div(flash_prog_time(p, 0, 1024), PS_PER_US);
        a += g->sector_size * g->count;
    }
    return i;
}

int flash_mem_init(struct flash_mem *m, const struct flash_part *p)
{
    memset(m, 0, sizeof *m);
    m->part = p;
    m->bytes = malloc(flash_size(p));
    if (!m->bytes)
        return -1;
    memset(m->bytes, 0xFF, flash_size(p));
    return 0;
}

void flash_mem_free(struct flash_mem *m)
{
    free(m->bytes);
    m->bytes = NULL;
}

static int in_part(const struct flash_mem *m, uint32_t addr, uint32_t len)
{
    uint32_t size = flash_size(m->part);
    return addr >= m->part->base && addr - m->part->base <= size &&
           len <= size - (addr - m->part->base);
}

int flash_mem_erase(struct flash_mem *m, uint32_t addr, uint32_t len)
{
    uint32_t a = addr, start, size;
    ps_t erase;
    if (!in_part(m, addr, len ? len : 1))
        return -1;
    do {
        if (flash_sector(m->part, a, &start, &size, &erase))
            return -1;
        memset(m->bytes + (start - m->part->base), 0xFF, size);
        a = start + size;
    } while (a < addr + len);
    m->erases++;
    return 0;
}

int flash_mem_prog(struct flash_mem *m, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    uint8_t *d;
    uint32_t i;
    if (!in_part(m, addr, len))
        return -1;
    d = m->bytes + (addr - m->part->base);
    for (i = 0; i < len; i++) {
        if (d[i] != 0xFF)
            m->bad_progs++;
        d[i] &= buf[i];
    }
    m->progs++;
    return 0;
}
