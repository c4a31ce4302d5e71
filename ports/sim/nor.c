/*
 * nor.c - the simulated NOR flash (see udfu_nor.h). Host only.
 */
#define _POSIX_C_SOURCE 200809L

#include "udfu_nor.h"
#include "udfu_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint32_t nor_rand(struct udfu_nor *f)
{
    uint32_t x = f->seed ? f->seed : 0x2545F491u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    f->seed = x;
    return x;
}

static int region_of(const struct udfu_nor *f, uint32_t addr)
{
    for (int i = 0; i < f->region_count; i++) {
        const struct udfu_region *r = &f->regions[i];
        uint32_t size = r->sector_size * r->sector_count;
        if (addr >= r->start && addr - r->start < size)
            return i;
    }
    return -1;
}

static uint32_t region_end(const struct udfu_region *r)
{
    return r->start + r->sector_size * r->sector_count;
}

/* Checks that [addr, addr + len) is inside the map, crossing only between
 * adjacent regions; *off is where addr lives in f->mem. */
static int span(const struct udfu_nor *f, uint32_t addr, uint32_t len, uint32_t *off)
{
    int i = region_of(f, addr);
    if (i < 0)
        return UDFU_ERR_RANGE;
    *off = f->offset[i] + (addr - f->regions[i].start);
    uint32_t room = region_end(&f->regions[i]) - addr;
    while (len > room) {
        len -= room;
        uint32_t next = region_end(&f->regions[i]);
        if (i + 1 >= f->region_count || f->regions[i + 1].start != next)
            return UDFU_ERR_RANGE;
        i++;
        room = f->regions[i].sector_size * f->regions[i].sector_count;
    }
    return 0;
}

static int is_sector_boundary(const struct udfu_nor *f, uint32_t addr)
{
    int i = region_of(f, addr);
    if (i < 0) /* the end of the last region of a contiguous run */
        return region_of(f, addr - 1) >= 0;
    return (addr - f->regions[i].start) % f->regions[i].sector_size == 0;
}

static int geometry_ok(const struct udfu_nor_cfg *cfg)
{
    uint64_t prev_end = 0;
    if (!cfg || !cfg->regions || cfg->region_count == 0)
        return 0;
    for (int i = 0; i < cfg->region_count; i++) {
        const struct udfu_region *r = &cfg->regions[i];
        uint64_t end = (uint64_t)r->start + (uint64_t)r->sector_size * r->sector_count;
        if (r->sector_size == 0 || r->sector_count == 0 || end > 0xFFFFFFFFull)
            return 0;
        if (i > 0 && r->start < prev_end)
            return 0;
        prev_end = end;
    }
    return 1;
}

static int persist(struct udfu_nor *f, uint32_t off, uint32_t len)
{
    if (f->fd < 0 || len == 0)
        return 0;
    while (len) {
        ssize_t n = pwrite(f->fd, f->mem + off, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return UDFU_ERR_IO;
        off += (uint32_t)n;
        len -= (uint32_t)n;
    }
    return 0;
}

static int load_file(struct udfu_nor *f, const char *path)
{
    struct stat st;
    f->fd = open(path, O_RDWR | O_CREAT, 0644);
    if (f->fd < 0 || fstat(f->fd, &st) != 0)
        return UDFU_ERR_IO;
    if (st.st_size == 0)
        return persist(f, 0, f->size); /* new file: erased */
    if ((uint64_t)st.st_size != f->size)
        return UDFU_ERR_FORMAT;
    uint32_t done = 0;
    while (done < f->size) {
        ssize_t n = pread(f->fd, f->mem + done, f->size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return UDFU_ERR_IO;
        done += (uint32_t)n;
    }
    return 0;
}

int udfu_nor_open(struct udfu_nor *f, const struct udfu_nor_cfg *cfg)
{
    memset(f, 0, sizeof(*f));
    f->fd = -1;
    if (!geometry_ok(cfg))
        return UDFU_ERR_INVAL;
    f->regions = cfg->regions;
    f->region_count = cfg->region_count;
    f->offset = malloc(sizeof(uint32_t) * cfg->region_count);
    uint64_t total = 0;
    for (int i = 0; f->offset && i < cfg->region_count; i++) {
        f->offset[i] = (uint32_t)total;
        total += (uint64_t)cfg->regions[i].sector_size * cfg->regions[i].sector_count;
    }
    if (!f->offset || total > 0x7FFFFFFFu) {
        udfu_nor_close(f);
        return UDFU_ERR_INVAL;
    }
    f->size = (uint32_t)total;
    f->mem = malloc(f->size);
    if (!f->mem) {
        udfu_nor_close(f);
        return UDFU_ERR_IO;
    }
    memset(f->mem, 0xFF, f->size);
    f->seed = 0x9E3779B9u;
    if (cfg->path) {
        int err = load_file(f, cfg->path);
        if (err) {
            udfu_nor_close(f);
            return err;
        }
    }
    return 0;
}

void udfu_nor_close(struct udfu_nor *f)
{
    if (f->fd >= 0)
        close(f->fd);
    free(f->mem);
    free(f->offset);
    f->fd = -1;
    f->mem = NULL;
    f->offset = NULL;
}

int udfu_nor_read(struct udfu_nor *f, uint32_t addr, uint8_t *buf, uint32_t len)
{
    uint32_t off;
    int err = span(f, addr, len, &off);
    if (err)
        return err;
    if (f->off)
        return UDFU_ERR_IO;
    memcpy(buf, f->mem + off, len);
    return 0;
}

/* Counts one operation and decides its fate: 0 run it, 1 tear it and cut
 * power, 2 fail it. */
static int fate(struct udfu_nor *f)
{
    f->ops++;
    if (f->cut_at && --f->cut_at == 0)
        return 1;
    if (f->fail_at && --f->fail_at == 0) {
        f->failed++;
        return 2;
    }
    return 0;
}

/* One sector interrupted while erasing: anything from untouched to fully
 * erased, with the in-between states real cells show (an erased prefix,
 * garbage, a sector that reads erased but for one weak byte). */
static void tear_erase_sector(struct udfu_nor *f, uint8_t *p, uint32_t size)
{
    uint32_t k = nor_rand(f) % size;
    switch (nor_rand(f) % 5) {
    case 0:
        break;
    case 1:
        memset(p, 0xFF, k);
        break;
    case 2:
        memset(p, 0xFF, k);
        for (uint32_t i = k; i < size; i++)
            p[i] = (uint8_t)nor_rand(f);
        break;
    case 3:
        memset(p, 0xFF, size);
        p[k] = (uint8_t)(0xFF & ~(1u << (nor_rand(f) % 8)));
        break;
    default:
        memset(p, 0xFF, size);
        break;
    }
}

/* Sectors before the torn one finished, the ones after never started. */
static void tear_erase(struct udfu_nor *f, uint32_t addr, uint32_t off, uint32_t size)
{
    uint32_t n = 0, a = addr;
    while (a - addr < size) { /* count sectors */
        a += f->regions[region_of(f, a)].sector_size;
        n++;
    }
    uint32_t torn = nor_rand(f) % n;
    a = addr;
    for (uint32_t s = 0; s <= torn; s++) {
        uint32_t ss = f->regions[region_of(f, a)].sector_size;
        if (s < torn) {
            memset(f->mem + off + (a - addr), 0xFF, ss);
        } else {
            f->last_torn_addr = a;
            tear_erase_sector(f, f->mem + off + (a - addr), ss);
        }
        a += ss;
    }
}

/* A program interrupted: a prefix of the bytes landed, and the byte being
 * written when power went may have only some of its bits cleared. */
static void tear_prog(struct udfu_nor *f, uint32_t addr, uint32_t off, const uint8_t *buf,
                      uint32_t len)
{
    uint32_t k = len ? nor_rand(f) % (len + 1) : 0;
    f->last_torn_addr = addr + k;
    for (uint32_t i = 0; i < k; i++)
        f->mem[off + i] &= buf[i];
    if (k < len && (nor_rand(f) & 1))
        f->mem[off + k] &= (uint8_t)(buf[k] | nor_rand(f));
}

static uint64_t erase_us(const struct udfu_nor *f, uint32_t addr, uint32_t size)
{
    uint64_t us = 0;
    uint32_t a = addr;
    while (a - addr < size) {
        int i = region_of(f, a);
        if (i < 0)
            break;
        us += (uint64_t)f->regions[i].erase_ms * 1000u;
        a += f->regions[i].sector_size;
    }
    return us;
}

static uint64_t prog_us(const struct udfu_nor *f, uint32_t addr, uint32_t len)
{
    uint64_t us = 0;
    while (len) {
        int i = region_of(f, addr);
        if (i < 0)
            break;
        uint32_t n = udfu_min32(len, region_end(&f->regions[i]) - addr);
        us += ((uint64_t)n * f->regions[i].prog_us_per_kib + 1023u) / 1024u;
        addr += n;
        len -= n;
    }
    return us;
}

int udfu_nor_erase(struct udfu_nor *f, uint32_t addr, uint32_t size)
{
    uint32_t off;
    if (size == 0)
        return UDFU_ERR_RANGE;
    int err = span(f, addr, size, &off);
    if (err)
        return err;
    if (!is_sector_boundary(f, addr) || !is_sector_boundary(f, addr + size))
        return UDFU_ERR_RANGE;
    if (f->off)
        return UDFU_ERR_IO;
    f->erases++;
    switch (fate(f)) {
    case 1:
        tear_erase(f, addr, off, size);
        f->off = 1;
        persist(f, off, size);
        return UDFU_ERR_IO;
    case 2:
        if (f->fail_partial) {
            tear_erase(f, addr, off, size);
            persist(f, off, size);
        }
        return UDFU_ERR_ERASE;
    default:
        break;
    }
    f->busy_us += erase_us(f, addr, size);
    memset(f->mem + off, 0xFF, size);
    return persist(f, off, size);
}

int udfu_nor_prog(struct udfu_nor *f, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    uint32_t off;
    if (len == 0)
        return 0;
    int err = span(f, addr, len, &off);
    if (err)
        return err;
    if (f->off)
        return UDFU_ERR_IO;
    f->progs++;
    switch (fate(f)) {
    case 1:
        tear_prog(f, addr, off, buf, len);
        f->off = 1;
        persist(f, off, len);
        return UDFU_ERR_IO;
    case 2:
        if (f->fail_partial) {
            tear_prog(f, addr, off, buf, len);
            persist(f, off, len);
        }
        return UDFU_ERR_PROG;
    default:
        break;
    }
    for (uint32_t i = 0; i < len; i++) {
        if ((uint8_t)(f->mem[off + i] & buf[i]) != buf[i])
            return UDFU_ERR_NOT_ERASED;
    }
    f->busy_us += prog_us(f, addr, len);
    memcpy(f->mem + off, buf, len);
    return persist(f, off, len);
}

void udfu_nor_power_on(struct udfu_nor *f)
{
    f->off = 0;
    f->cut_at = 0;
}

uint32_t udfu_nor_erase_ms(const struct udfu_nor *f, uint32_t addr, uint32_t size)
{
    return (uint32_t)((erase_us(f, addr, size) + 999u) / 1000u);
}

uint32_t udfu_nor_prog_ms(const struct udfu_nor *f, uint32_t addr, uint32_t len)
{
    return (uint32_t)((prog_us(f, addr, len) + 999u) / 1000u);
}

uint8_t *udfu_nor_mem(struct udfu_nor *f, uint32_t addr)
{
    int i = region_of(f, addr);
    if (i < 0)
        return NULL;
    return f->mem + f->offset[i] + (addr - f->regions[i].start);
}

int udfu_nor_sync(struct udfu_nor *f)
{
    return persist(f, 0, f->size);
}

int udfu_nor_read_cb(void *ctx, uint32_t addr, uint8_t *buf, uint32_t len)
{
    return udfu_nor_read(ctx, addr, buf, len);
}

int udfu_nor_erase_cb(void *ctx, uint32_t addr, uint32_t size)
{
    return udfu_nor_erase(ctx, addr, size);
}

int udfu_nor_prog_cb(void *ctx, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    return udfu_nor_prog(ctx, addr, buf, len);
}
