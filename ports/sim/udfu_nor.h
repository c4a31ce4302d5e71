/*
 * udfu_nor.h - a simulated NOR flash for host tests and the virtual device.
 *
 * Host only (uses malloc and POSIX files). It behaves like the hardware:
 * erase works on whole sectors and sets every bit to 1; programming can only
 * clear bits. It knows nothing about permissions: the region attribute bits
 * do not restrict it (protecting the bootloader is the stack's job), but an
 * address outside every region is UDFU_ERR_RANGE.
 *
 * Fault injection, for power-loss tests:
 *   cut_at = N   the Nth erase/prog from now is torn (partially applied) and
 *                power goes off: that operation and every later read, erase
 *                or prog fails with UDFU_ERR_IO until udfu_nor_power_on().
 *   fail_at = N  the Nth erase/prog from now fails (UDFU_ERR_ERASE or
 *                UDFU_ERR_PROG) with power staying on; nothing changes,
 *                or, if fail_partial is set, the operation is torn first.
 * Both count down only on operations that reach the "hardware" (range
 * errors and calls while power is off do not count). 0 means off.
 * `ops` counts every erase/prog that reached the hardware since open.
 *
 * Torn operations are reproducible: their shape comes from a small PRNG
 * seeded by `seed` (set it after open to vary the shapes).
 */
#ifndef UDFU_NOR_H
#define UDFU_NOR_H

#include <stdint.h>

#include "udfu_mem.h"
#include "udfu_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

struct udfu_nor_cfg {
    const struct udfu_region *regions; /* sorted by address, not overlapping;
                                          must outlive the flash */
    uint8_t region_count;
    const char *path; /* NULL: RAM only; else backing file, created erased
                         (0xFF) if missing, written through on every change */
};

struct udfu_nor {
    /* read-only for users */
    const struct udfu_region *regions;
    uint8_t region_count;
    uint8_t *mem;       /* all regions back to back */
    uint32_t *offset;   /* offset[i]: where region i starts in mem */
    uint32_t size;      /* bytes in mem */
    int fd;             /* backing file or -1 */
    uint8_t off;        /* 1: power is off (after a cut) */

    /* counters and fault injection: read and write them freely */
    uint32_t ops;       /* erase/prog operations that reached the hardware */
    uint32_t erases;    /* of which erases */
    uint32_t progs;     /* of which programs */
    uint64_t busy_us;   /* simulated time spent erasing/programming */
    uint32_t cut_at;    /* see above; 0: no cut pending */
    uint32_t fail_at;   /* see above; 0: no failure pending */
    uint32_t failed;    /* operations failed by fail_at so far */
    uint8_t fail_partial; /* 1: an injected failure tears the op first */
    uint32_t seed;      /* PRNG state for torn shapes (never 0) */
    uint32_t last_torn_addr; /* where the last tear started (for logs) */
};

/* Opens a flash with cfg's geometry. With a path, an existing file must be
 * exactly the geometry's size (else UDFU_ERR_FORMAT); a missing one is
 * created erased. Returns 0, UDFU_ERR_INVAL (bad geometry), UDFU_ERR_IO
 * (file error) or UDFU_ERR_FORMAT. */
int udfu_nor_open(struct udfu_nor *f, const struct udfu_nor_cfg *cfg);

/* Frees memory and closes the backing file (contents already persisted). */
void udfu_nor_close(struct udfu_nor *f);

/* Reads len bytes at addr. 0, UDFU_ERR_RANGE, UDFU_ERR_IO (power off). */
int udfu_nor_read(struct udfu_nor *f, uint32_t addr, uint8_t *buf, uint32_t len);

/* Erases [addr, addr + size), which must be whole sectors (it may span
 * adjacent regions). One call is one operation. 0, UDFU_ERR_RANGE
 * (outside the map, or not sector-aligned), UDFU_ERR_IO (power off or cut
 * now), UDFU_ERR_ERASE (injected failure). */
int udfu_nor_erase(struct udfu_nor *f, uint32_t addr, uint32_t size);

/* Programs len bytes at addr (any alignment). A byte that would need a 0
 * bit turned back into 1 makes the call return UDFU_ERR_NOT_ERASED with
 * nothing changed. 0, UDFU_ERR_RANGE, UDFU_ERR_NOT_ERASED, UDFU_ERR_IO,
 * UDFU_ERR_PROG (injected failure). */
int udfu_nor_prog(struct udfu_nor *f, uint32_t addr, const uint8_t *buf, uint32_t len);

/* Restores power after a cut: clears `off` and any pending cut. The memory
 * keeps whatever the torn operation left. */
void udfu_nor_power_on(struct udfu_nor *f);

/* Time the hardware would take, from the regions' timing fields:
 * erase_ms per sector; prog_us_per_kib per KiB, rounded up to whole ms.
 * Addresses outside the map count as 0. */
uint32_t udfu_nor_erase_ms(const struct udfu_nor *f, uint32_t addr, uint32_t size);
uint32_t udfu_nor_prog_ms(const struct udfu_nor *f, uint32_t addr, uint32_t len);

/* Pointer to the byte at addr in the simulated memory (for tests: peek and
 * poke without counting operations), or NULL outside the map. Bytes up to
 * the end of addr's region are contiguous. A poke is not persisted to the
 * backing file until udfu_nor_sync(). */
uint8_t *udfu_nor_mem(struct udfu_nor *f, uint32_t addr);

/* Writes the whole image to the backing file (no-op without one). 0 or
 * UDFU_ERR_IO. */
int udfu_nor_sync(struct udfu_nor *f);

/* Callback adapters with a context pointer (ctx is the struct udfu_nor *),
 * matching the flash callbacks of udfu_boot.h, so a test or the virtual
 * device can hand the simulator to the boot layer directly. */
int udfu_nor_read_cb(void *ctx, uint32_t addr, uint8_t *buf, uint32_t len);
int udfu_nor_erase_cb(void *ctx, uint32_t addr, uint32_t size);
int udfu_nor_prog_cb(void *ctx, uint32_t addr, const uint8_t *buf, uint32_t len);

#ifdef __cplusplus
}
#endif

#endif /* UDFU_NOR_H */
