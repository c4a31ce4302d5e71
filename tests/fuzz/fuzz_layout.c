/*
 * fuzz_layout.c - libFuzzer harness: the memory map (udfu_mem.h).
 *
 * Mode 0: udfu_mem_parse() on any string (the host reads it from a device
 * it does not trust), with name buffers of every size; what parses is
 * written back with udfu_mem_layout() and must parse to the same map.
 * Mode 1: a sorted, non-overlapping map built from the input (regions up
 * to the end of the 32-bit space): udfu_mem_layout() into buffers of every
 * size (exact-size heap copies, so AddressSanitizer sees an overrun), and
 * udfu_mem_check/_find/_sector compared with a plain 64-bit reference on
 * addresses at and around every region edge (udfu_mem_prog_ms is only run,
 * for sanitizer findings; tests/mem checks its values). These checks guard
 * every erase and write the device does.
 */
#include "fuzz_in.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udfu_mem.h"
#include "udfu_util.h"

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "\n*** mem invariant violated: " __VA_ARGS__);                 \
            fprintf(stderr, "\n");                                                         \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#define MAXR 24


/* ---- comparing maps ---------------------------------------------------------------- */

/* Regions as runs of equal sectors: adjacent entries with the same sector
 * size and attributes merge (the layout string splits counts over 99). */
struct run {
    uint64_t start, size;
    uint32_t sector;
    uint8_t attr;
};

static int normalise(const struct udfu_region *r, int n, struct run *out)
{
    int i, k = 0;
    for (i = 0; i < n; i++) {
        uint64_t size = (uint64_t)r[i].sector_size * r[i].sector_count;
        if (k && out[k - 1].sector == r[i].sector_size && out[k - 1].attr == r[i].attr &&
            (uint32_t)(out[k - 1].start + out[k - 1].size) == r[i].start) {
            out[k - 1].size += size;
            continue;
        }
        out[k].start = r[i].start;
        out[k].size = size;
        out[k].sector = r[i].sector_size;
        out[k].attr = r[i].attr;
        k++;
    }
    return k;
}

static void same_map(const struct udfu_region *a, int na, const struct udfu_region *b, int nb)
{
    static struct run ra[MAXR * 700], rb[MAXR * 700];
    int i, ka = normalise(a, na, ra), kb = normalise(b, nb, rb);
    CHECK(ka == kb, "%d runs became %d", ka, kb);
    for (i = 0; i < ka; i++)
        CHECK(ra[i].start == rb[i].start && ra[i].size == rb[i].size &&
                  ra[i].sector == rb[i].sector && ra[i].attr == rb[i].attr,
              "run %d differs", i);
}

/* ---- mode 0: parse ------------------------------------------------------------------- */

static void parse_mode(struct fz_in *in)
{
    static const size_t name_sizes[4] = {0, 1, 8, 256};
    static struct udfu_region r[MAXR], r2[MAXR * 700];
    static char name[256], name2[256];
    size_t ns = name_sizes[fz_u8(in) & 3], len;
    int max = 1 + fz_u8(in) % MAXR, n, n2, size;
    char *s, *out;
    len = in->n;
    s = malloc(len + 1);
    CHECK(s != NULL, "out of memory");
    memcpy(s, in->p, len);
    s[len] = '\0';
    memset(name, 0x55, sizeof name);
    n = udfu_mem_parse(s, ns ? name : NULL, ns, r, max);
    CHECK(n == UDFU_ERR_FORMAT || n == UDFU_ERR_NOSPACE || (n >= 0 && n <= max),
          "mem_parse returned %d (max %d)", n, max);
    if (ns)
        CHECK(memchr(name, 0, ns) != NULL || n < 0, "name not terminated within its buffer");
    if (n > 0 && ns == 256) {
        int i;
        struct udfu_target t;
        for (i = 0; i < n; i++)
            CHECK(r[i].sector_size > 0 && r[i].sector_count > 0 && r[i].attr >= 1 &&
                      r[i].attr <= 7,
                  "region %d: size %u count %u attr %u", i, r[i].sector_size,
                  r[i].sector_count, r[i].attr);
        /* A region past 4 GiB breaks what udfu_mem_check relies on. */
        for (i = 0; i < n; i++)
            CHECK((uint64_t)r[i].start + (uint64_t)r[i].sector_size * r[i].sector_count <=
                      0x100000000ull,
                  "parsed region %d at 0x%08x runs past 4 GiB", i, r[i].start);
        /* Written back and parsed again: the same map (and the same name,
         * unless it holds a '/' that ends it early). */
        t.name = name;
        t.regions = r;
        t.region_count = (uint8_t)n;
        t.dfuse = 1;
        size = 2 + (int)strlen(name) + n * 700 * 16;
        out = malloc((size_t)size);
        CHECK(out != NULL, "out of memory");
        size = udfu_mem_layout(&t, out, (size_t)size);
        CHECK(size > 0 && (size_t)size == strlen(out), "layout of a parsed map: %d", size);
        n2 = udfu_mem_parse(out, name2, sizeof name2, r2, MAXR * 700);
        CHECK(n2 > 0, "layout \"%s\" does not parse (%d)", out, n2);
        same_map(r, n, r2, n2);
        /* (a name cut to fit 255 bytes may end in spaces the parser trims) */
        CHECK(strchr(name, '/') || strlen(name) == sizeof name - 1 || strcmp(name, name2) == 0,
              "name \"%s\" became \"%s\"", name, name2);
        free(out);
    }
    free(s);
}

/* ---- mode 1: a map and its checks ------------------------------------------------- */

/* Reference: [addr, addr + len) inside the map with `need` everywhere,
 * walked in order so the first fault decides (as the API documents). */
static const struct udfu_region *ref_find(const struct udfu_target *t, uint32_t addr);

static int ref_check(const struct udfu_target *t, uint32_t addr, uint32_t len, uint8_t need)
{
    uint64_t a = addr, end = (uint64_t)addr + (len ? len : 1);
    while (a < end) {
        const struct udfu_region *r = a < 0x100000000ull ? ref_find(t, (uint32_t)a) : NULL;
        if (!r)
            return UDFU_ERR_RANGE;
        if ((r->attr & need) != need)
            return UDFU_ERR_PERM;
        a = (uint64_t)r->start + (uint64_t)r->sector_size * r->sector_count;
    }
    return 0;
}

static const struct udfu_region *ref_find(const struct udfu_target *t, uint32_t addr)
{
    int i;
    for (i = 0; i < t->region_count; i++) {
        uint64_t s = t->regions[i].start;
        uint64_t e = s + (uint64_t)t->regions[i].sector_size * t->regions[i].sector_count;
        if (addr >= s && addr < e)
            return &t->regions[i];
    }
    return NULL;
}

static uint32_t pick_addr(struct fz_in *in, const struct udfu_target *t)
{
    uint8_t b = fz_u8(in);
    const struct udfu_region *r = &t->regions[(b >> 3) % t->region_count];
    uint64_t end = (uint64_t)r->start + (uint64_t)r->sector_size * r->sector_count;
    switch (b & 7) {
    case 0: return r->start;
    case 1: return (uint32_t)(end - 1);
    case 2: return (uint32_t)end;
    case 3: return r->start - 1;
    case 4: return r->start + r->sector_size;
    case 5: return (uint32_t)(end - 1 - fz_u8(in));
    default: return fz_u32(in);
    }
}

static uint32_t pick_len(struct fz_in *in)
{
    uint8_t b = fz_u8(in);
    switch (b & 3) {
    case 0: return b >> 2;
    case 1: return (uint32_t)fz_u8(in) << 8 | fz_u8(in);
    case 2: return 0xFFFFFFFFu - (b >> 2);
    default: return fz_u32(in);
    }
}

static void map_mode(struct fz_in *in)
{
    static struct udfu_region r[MAXR], r2[MAXR * 700];
    static char name2[256];
    static const uint32_t sectors[8] = {1, 16, 512, 1024, 2048, 128 * 1024, 1024 * 1024, 0};
    struct udfu_target t;
    uint64_t a = fz_u32(in);
    int n = 0, i, n2, size, ret, want = 1 + fz_u8(in) % MAXR;
    char *out;
    while (n < want && in->n) {
        uint8_t b = fz_u8(in), c = fz_u8(in);
        uint32_t sector = sectors[b & 7], count;
        uint64_t span;
        if (!sector)
            sector = 1 + (fz_u32(in) & 0x00FFFFFF);
        count = 1 + (c & 0x80 ? (uint32_t)fz_u8(in) << 8 | fz_u8(in) : c & 0x7F);
        if (count > 0xFFFF)
            count = 0xFFFF;
        span = (uint64_t)sector * count;
        /* A region's size is a uint32_t (sector_size * sector_count), so
         * one region covers less than 4 GiB; it may end exactly there. */
        if (span > 0xFFFFFFFFull || a + span > 0x100000000ull)
            break;
        r[n].start = (uint32_t)a;
        r[n].sector_size = sector;
        r[n].sector_count = (uint16_t)count;
        r[n].attr = (uint8_t)(1 + (b >> 3) % 7);
        r[n].erase_ms = (uint16_t)(b >> 1);
        r[n].prog_us_per_kib = (b & 0x40) ? fz_u32(in) : c;
        n++;
        a += span + ((b & 0x80) ? fz_u8(in) * (uint64_t)sector : 0);
        if (a >= 0x100000000ull)
            break;
    }
    if (!n)
        return;
    t.name = (in->n & 1) ? "Internal Flash" : NULL;
    t.regions = r;
    t.region_count = (uint8_t)n;
    t.dfuse = 1;

    /* The layout string: into a buffer of any size, never past it. */
    size = (int)(fz_u8(in) % 4 ? 4096 : fz_u8(in));
    out = malloc(size ? (size_t)size : 1);
    CHECK(out != NULL, "out of memory");
    ret = udfu_mem_layout(&t, out, (size_t)size);
    CHECK(ret == UDFU_ERR_NOSPACE || (ret >= 0 && ret < size && (size_t)ret == strlen(out)),
          "layout returned %d for a buffer of %d", ret, size);
    if (ret > 0) {
        n2 = udfu_mem_parse(out, name2, sizeof name2, r2, MAXR * 700);
        CHECK(n2 > 0, "layout \"%s\" does not parse (%d)", out, n2);
        same_map(r, n, r2, n2);
    }
    free(out);

    /* Every check the device relies on agrees with the reference. */
    for (i = 0; i < 16 && in->n; i++) {
        uint32_t addr = pick_addr(in, &t), len = pick_len(in), start = 0, ssize = 0;
        uint8_t need = (uint8_t)(1 + fz_u8(in) % 7);
        const struct udfu_region *f = udfu_mem_find(&t, addr);
        int got = udfu_mem_check(&t, addr, len, need), want = ref_check(&t, addr, len, need);
        CHECK(f == ref_find(&t, addr), "find(0x%08x)", addr);
        CHECK(got == want, "check(0x%08x, %u, %u) = %d, reference %d", addr, len, need, got,
              want);
        ret = udfu_mem_sector(&t, addr, &start, &ssize);
        if (f) {
            CHECK(ret == 0 && ssize == f->sector_size && start <= addr &&
                      addr - start < ssize && (start - f->start) % ssize == 0,
                  "sector(0x%08x) = 0x%08x+%u", addr, start, ssize);
        } else {
            CHECK(ret == UDFU_ERR_RANGE, "sector() outside the map");
        }
        (void)udfu_mem_prog_ms(&t, addr, len); /* UBSan: no overflow */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in;
    if (size < 1)
        return 0;
    in.p = data + 1;
    in.n = size - 1;
    if (data[0] & 1)
        map_mode(&in);
    else
        parse_mode(&in);
    return 0;
}
