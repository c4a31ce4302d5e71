/*
 * mem.c - the memory map: lookups, permission checks, time estimates, and
 * the DfuSe layout string (written on the device, parsed on the host).
 */
#include "udfu_mem.h"

#include "udfu_util.h"

/* n / d, and n % d in *rem (d > 0). UDFU_CFG_SOFT_DIV: by shift and
 * subtract, a few dozen bytes instead of libgcc's ~300 B divide on cores
 * without a divide instruction; its callers (sector lookups, estimates,
 * the layout string) are rare enough that 32 steps do not matter. */
static uint32_t div32(uint32_t n, uint32_t d, uint32_t *rem)
{
#if UDFU_CFG_SOFT_DIV
    uint32_t q = 0, r = 0;
    int i;
    for (i = 31; i >= 0; i--) {
        uint32_t carry = r >> 31; /* r << 1 overflows: then it exceeds d */
        r = (r << 1) | ((n >> i) & 1u);
        if (carry || r >= d) {
            r -= d;
            q |= 1u << i;
        }
    }
    *rem = r;
    return q;
#else
    *rem = n % d;
    return n / d;
#endif
}

static uint32_t region_size(const struct udfu_region *r)
{
    return r->sector_size * r->sector_count;
}

const struct udfu_region *udfu_mem_find(const struct udfu_target *t, uint32_t addr)
{
    uint8_t i;
    for (i = 0; i < t->region_count; i++) {
        const struct udfu_region *r = &t->regions[i];
        /* Offset arithmetic: no end address is ever computed, so a region
         * that ends at 4 GiB does not wrap. */
        if (addr >= r->start && addr - r->start < region_size(r))
            return r;
    }
    return NULL;
}

int udfu_mem_check(const struct udfu_target *t, uint32_t addr, uint32_t len, uint8_t need)
{
    uint32_t left = len ? len : 1;
    for (;;) {
        const struct udfu_region *r = udfu_mem_find(t, addr);
        uint32_t avail;
        if (!r)
            return UDFU_ERR_RANGE;
        if ((r->attr & need) != need)
            return UDFU_ERR_PERM;
        avail = region_size(r) - (addr - r->start);
        if (left <= avail)
            return 0;
        left -= avail;
        addr += avail;
        if (addr == 0) /* the range runs past 0xFFFFFFFF */
            return UDFU_ERR_RANGE;
    }
}

int udfu_mem_sector(const struct udfu_target *t, uint32_t addr, uint32_t *start,
                    uint32_t *size)
{
    const struct udfu_region *r = udfu_mem_find(t, addr);
    uint32_t off;
    if (!r)
        return UDFU_ERR_RANGE;
    (void)div32(addr - r->start, r->sector_size, &off);
    *size = r->sector_size;
    *start = addr - off;
    return 0;
}

uint32_t udfu_mem_prog_ms(const struct udfu_target *t, uint32_t addr, uint32_t len)
{
    const struct udfu_region *r = udfu_mem_find(t, addr);
    uint32_t us, rem;
    if (!r)
        return 0;
    /* Whole KiB and the rest apart, saturating: no product overflows. */
    if (r->prog_us_per_kib && (len >> 10) >= div32(0xFFFFFFFFu / 2, r->prog_us_per_kib, &rem))
        return 0xFFFFFFFFu / 1000u;
    us = (len >> 10) * r->prog_us_per_kib +
         (uint32_t)(((len & 1023u) * (r->prog_us_per_kib >> 10)) +
                    (((len & 1023u) * (r->prog_us_per_kib & 1023u) + 1023u) >> 10));
    us = div32(us, 1000u, &rem);
    return us + (rem != 0);
}

/* ---- layout string ------------------------------------------------------ */

struct out {
    char *p;
    size_t left; /* room, including the final NUL */
};

static void put_c(struct out *o, char c)
{
    if (o->left > 1) {
        *o->p++ = c;
        o->left--;
    } else {
        o->left = 0; /* overflow: remembered, reported at the end */
    }
}

static void put_s(struct out *o, const char *s)
{
    while (*s)
        put_c(o, *s++);
}

/* Decimal with at least `width` digits (zero padded). */
static void put_dec(struct out *o, uint32_t v, int width)
{
    char tmp[10];
    int n = 0;
    do {
        uint32_t digit;
        v = div32(v, 10, &digit);
        tmp[n++] = (char)('0' + digit);
    } while (v);
    while (width-- > n)
        put_c(o, '0');
    while (n)
        put_c(o, tmp[--n]);
}

static void put_addr(struct out *o, uint32_t v)
{
    int s;
    put_s(o, "/0x");
    for (s = 28; s >= 0; s -= 4)
        put_c(o, "0123456789ABCDEF"[(v >> s) & 15u]);
    put_c(o, '/');
}

static void put_region(struct out *o, const struct udfu_region *r)
{
    uint32_t size = r->sector_size;
    char unit = ' ';
    uint16_t count = r->sector_count;
    if (size % (1024u * 1024u) == 0) {
        size /= 1024u * 1024u;
        unit = 'M';
    } else if (size % 1024u == 0) {
        size /= 1024u;
        unit = 'K';
    }
    /* ST's tools read two-digit sector counts: split larger runs. */
    while (count) {
        uint16_t n = count > 99 ? 99 : count;
        put_dec(o, n, 2);
        put_c(o, '*');
        put_dec(o, size, 3);
        put_c(o, unit);
        put_c(o, (char)('a' + r->attr - 1));
        count = (uint16_t)(count - n);
        if (count)
            put_c(o, ',');
    }
}

int udfu_mem_layout(const struct udfu_target *t, char *buf, size_t size)
{
    struct out o;
    uint8_t i;
    if (!size)
        return UDFU_ERR_NOSPACE;
    o.p = buf;
    o.left = size;
    put_c(&o, '@');
    put_s(&o, t->name ? t->name : "");
    put_c(&o, ' ');
    for (i = 0; i < t->region_count; i++) {
        const struct udfu_region *r = &t->regions[i];
        const struct udfu_region *prev = i ? r - 1 : NULL;
        if (!prev || prev->start + region_size(prev) != r->start)
            put_addr(&o, r->start);
        else
            put_c(&o, ',');
        put_region(&o, r);
    }
    if (!o.left)
        return UDFU_ERR_NOSPACE;
    *o.p = '\0';
    return (int)(o.p - buf);
}

/* ---- layout string parser (host side) ----------------------------------- */

static int parse_num(const char **s, uint32_t *v, int base)
{
    const char *p = *s;
    uint32_t x = 0;
    for (;; p++) {
        uint32_t d;
        if (*p >= '0' && *p <= '9')
            d = (uint32_t)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (uint32_t)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (uint32_t)(*p - 'A' + 10);
        else
            break;
        if (x > (0xFFFFFFFFu - d) / (uint32_t)base)
            return UDFU_ERR_FORMAT;
        x = x * (uint32_t)base + d;
    }
    if (p == *s)
        return UDFU_ERR_FORMAT;
    *s = p;
    *v = x;
    return 0;
}

/* One "NN*SSSua" entry at address *addr. */
static int parse_entry(const char **s, uint32_t *addr, struct udfu_region *r)
{
    uint32_t count, size, mult = 1;
    const char *p = *s;
    if (parse_num(&p, &count, 10) || *p++ != '*' || parse_num(&p, &size, 10))
        return UDFU_ERR_FORMAT;
    if (*p == 'K' || *p == 'k')
        mult = 1024u;
    else if (*p == 'M' || *p == 'm')
        mult = 1024u * 1024u;
    else if (*p != ' ' && *p != 'B')
        return UDFU_ERR_FORMAT;
    p++;
    if (*p < 'a' || *p > 'g' || count == 0 || count > 0xFFFFu || size == 0 ||
        size > 0xFFFFFFFFu / mult)
        return UDFU_ERR_FORMAT;
    memset(r, 0, sizeof *r);
    r->start = *addr;
    r->sector_size = size * mult;
    r->sector_count = (uint16_t)count;
    r->attr = (uint8_t)(*p++ - 'a' + 1);
    /* The region must end at or below 4 GiB. */
    if (r->sector_size > 0xFFFFFFFFu / count ||
        r->sector_size * count - 1u > 0xFFFFFFFFu - *addr)
        return UDFU_ERR_FORMAT;
    *addr += r->sector_size * count;
    *s = p;
    return 0;
}

int udfu_mem_parse(const char *s, char *name, size_t name_size, struct udfu_region *out,
                   int max)
{
    const char *slash;
    size_t n;
    int count = 0;
    uint32_t addr = 0;
    if (!s || *s != '@' || !(slash = strchr(s, '/')))
        return UDFU_ERR_FORMAT;
    n = (size_t)(slash - s - 1);
    while (n && s[n] == ' ')
        n--;
    if (name_size) {
        n = n < name_size - 1 ? n : name_size - 1;
        memcpy(name, s + 1, n);
        name[n] = '\0';
    }
    s = slash;
    while (*s) {
        if (*s == '/') {
            if (s[1] == '\0')
                break; /* tolerate a trailing slash */
            if (s[1] != '0' || (s[2] != 'x' && s[2] != 'X'))
                return UDFU_ERR_FORMAT;
            s += 3;
            if (parse_num(&s, &addr, 16) || *s++ != '/')
                return UDFU_ERR_FORMAT;
        } else if (*s == ',') {
            s++;
        } else {
            return UDFU_ERR_FORMAT;
        }
        if (count == max)
            return UDFU_ERR_NOSPACE;
        if (parse_entry(&s, &addr, &out[count]))
            return UDFU_ERR_FORMAT;
        count++;
    }
    return count;
}
