/*
 * udfu_mem.h - the memory map: regions per target (alt setting).
 *
 * One table drives everything: the DfuSe layout string, every address
 * check (done before erasing, not only before writing), and the time
 * estimates that become bwPollTimeout.
 */
#ifndef UDFU_MEM_H
#define UDFU_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "udfu_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Region permissions. The DfuSe attribute letter is 'a' + attr - 1:
 * a = R, b = E, c = RE, d = W, e = RW, f = EW, g = REW. */
#define UDFU_MEM_READ 0x1u
#define UDFU_MEM_ERASE 0x2u
#define UDFU_MEM_WRITE 0x4u
#define UDFU_MEM_ALL 0x7u

struct udfu_region {
    uint32_t start;           /* first address */
    uint32_t sector_size;     /* bytes per sector, > 0 */
    uint16_t sector_count;    /* > 0 */
    uint8_t attr;             /* UDFU_MEM_* (1..7) */
    uint16_t erase_ms;        /* time to erase one sector (0: instant) */
    uint32_t prog_us_per_kib; /* time to program 1 KiB (0: instant) */
};

/* One DFU target = one alt setting. Regions are sorted by address and do
 * not overlap; gaps between them are not addressable. */
struct udfu_target {
    const char *name;                  /* shown in the alt setting's string */
    const struct udfu_region *regions;
    uint8_t region_count;
    uint8_t dfuse;                     /* 1: ST DfuSe protocol, 0: DFU 1.1 */
};

/* Region holding addr, or NULL. */
const struct udfu_region *udfu_mem_find(const struct udfu_target *t, uint32_t addr);

/* Checks that [addr, addr + len) lies inside the map (it may cross adjacent
 * regions) and that every byte of it has all the permissions in `need`.
 * len 0 checks the single address. Never overflows: a range that wraps past
 * 0xFFFFFFFF is out of range.
 * Returns 0, UDFU_ERR_RANGE (not in the map) or UDFU_ERR_PERM. */
int udfu_mem_check(const struct udfu_target *t, uint32_t addr, uint32_t len, uint8_t need);

/* Start and size of the sector holding addr. 0 or UDFU_ERR_RANGE. */
int udfu_mem_sector(const struct udfu_target *t, uint32_t addr, uint32_t *start,
                    uint32_t *size);

/* Estimated milliseconds to program len bytes at addr (rounded up). */
uint32_t udfu_mem_prog_ms(const struct udfu_target *t, uint32_t addr, uint32_t len);

/* Writes the DfuSe layout string "@Name /0x08000000/04*016Kg,..." of t
 * into buf (NUL-terminated). Contiguous regions share one address segment;
 * sector counts over 99 are split so ST's tools can read them.
 * Returns the string length, or UDFU_ERR_NOSPACE if it does not fit. */
int udfu_mem_layout(const struct udfu_target *t, char *buf, size_t size);

/* Parses a DfuSe layout string (host side). Stores the name (truncated,
 * NUL-terminated) and up to max regions; timing fields are left 0.
 * Returns the number of regions, UDFU_ERR_FORMAT if malformed, or
 * UDFU_ERR_NOSPACE if there are more than max. */
int udfu_mem_parse(const char *s, char *name, size_t name_size, struct udfu_region *out,
                   int max);

#ifdef __cplusplus
}
#endif

#endif /* UDFU_MEM_H */
