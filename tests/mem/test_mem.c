/* Memory map: lookups, permission and range checks, estimates, layout
 * string generation and parsing. */
#include <string.h>

#include "test.h"
#include "udfu_mem.h"

static const struct udfu_region f4[] = {
    {0x08000000, 16 * 1024, 1, UDFU_MEM_READ, 300, 4096},
    {0x08004000, 16 * 1024, 3, UDFU_MEM_ALL, 300, 4096},
    {0x08010000, 64 * 1024, 1, UDFU_MEM_ALL, 700, 4096},
    {0x08020000, 128 * 1024, 7, UDFU_MEM_ALL, 1100, 4096},
};
static const struct udfu_target tf4 = {"Internal Flash", f4, 4, 1};

static const struct udfu_region top[] = {
    {0xFFFFF000, 0x800, 2, UDFU_MEM_ALL, 0, 0},
};
static const struct udfu_target ttop = {"Top", top, 1, 1};

TEST(find_returns_region_holding_address)
{
    CHECK(udfu_mem_find(&tf4, 0x08000000) == &f4[0]);
    CHECK(udfu_mem_find(&tf4, 0x08003FFF) == &f4[0]);
    CHECK(udfu_mem_find(&tf4, 0x08004000) == &f4[1]);
    CHECK(udfu_mem_find(&tf4, 0x080FFFFF) == &f4[3]);
    CHECK(udfu_mem_find(&tf4, 0x08100000) == NULL);
    CHECK(udfu_mem_find(&tf4, 0x07FFFFFF) == NULL);
}

TEST(check_refuses_read_only_and_out_of_map)
{
    CHECK_EQ(udfu_mem_check(&tf4, 0x08000000, 4, UDFU_MEM_WRITE), UDFU_ERR_PERM);
    CHECK_EQ(udfu_mem_check(&tf4, 0x08000000, 4, UDFU_MEM_READ), 0);
    CHECK_EQ(udfu_mem_check(&tf4, 0x08004000, 0x10000, UDFU_MEM_WRITE), 0); /* crosses regions */
    CHECK_EQ(udfu_mem_check(&tf4, 0x08003FFC, 8, UDFU_MEM_WRITE), UDFU_ERR_PERM); /* straddles */
    CHECK_EQ(udfu_mem_check(&tf4, 0x080FFFFC, 4, UDFU_MEM_WRITE), 0);
    CHECK_EQ(udfu_mem_check(&tf4, 0x080FFFFC, 5, UDFU_MEM_WRITE), UDFU_ERR_RANGE); /* past end */
    CHECK_EQ(udfu_mem_check(&tf4, 0x08100000, 1, UDFU_MEM_READ), UDFU_ERR_RANGE);
    CHECK_EQ(udfu_mem_check(&tf4, 0x08004000, 0xFFFFFFFF, UDFU_MEM_WRITE), UDFU_ERR_RANGE);
}

TEST(check_never_wraps_past_4gib)
{
    CHECK_EQ(udfu_mem_check(&ttop, 0xFFFFF000, 0x1000, UDFU_MEM_WRITE), 0);
    CHECK_EQ(udfu_mem_check(&ttop, 0xFFFFFFFF, 1, UDFU_MEM_WRITE), 0);
    CHECK_EQ(udfu_mem_check(&ttop, 0xFFFFFFFF, 2, UDFU_MEM_WRITE), UDFU_ERR_RANGE);
    CHECK_EQ(udfu_mem_check(&ttop, 0xFFFFF800, 0x1001, UDFU_MEM_WRITE), UDFU_ERR_RANGE);
}

TEST(sector_gives_start_and_size)
{
    uint32_t start = 0, size = 0;
    CHECK_EQ(udfu_mem_sector(&tf4, 0x08025000, &start, &size), 0);
    CHECK_EQ(start, 0x08020000);
    CHECK_EQ(size, 128 * 1024);
    CHECK_EQ(udfu_mem_sector(&tf4, 0x0800BFFF, &start, &size), 0);
    CHECK_EQ(start, 0x08008000);
    CHECK_EQ(udfu_mem_sector(&tf4, 0x09000000, &start, &size), UDFU_ERR_RANGE);
}

/* Sizes that are not powers of two, and a sector of more than 2 GiB,
 * against the C operators: the same in both UDFU_CFG_SOFT_DIV builds. */
TEST(sector_lookup_divides_exactly_for_any_size)
{
    static const struct udfu_region odd[] = {
        {0x00001000, 528, 1000, UDFU_MEM_ALL, 0, 0},
        {0x10000000, 3, 7, UDFU_MEM_ALL, 0, 0},
        {0x20000000, 0x90000001u, 1, UDFU_MEM_ALL, 0, 0},
    };
    static const struct udfu_target t = {"odd", odd, 3, 1};
    static const uint32_t probe[] = {0x1000, 0x1000 + 527, 0x1000 + 528, 0x1000 + 528 * 999 + 5,
                                     0x10000000, 0x10000014, 0x20000000, 0xB0000000u};
    uint32_t start, size, i;
    for (i = 0; i < sizeof probe / sizeof probe[0]; i++) {
        const struct udfu_region *r = udfu_mem_find(&t, probe[i]);
        CHECK(r != NULL);
        CHECK_EQ(udfu_mem_sector(&t, probe[i], &start, &size), 0);
        CHECK_EQ(size, r->sector_size);
        CHECK_EQ(start, probe[i] - (probe[i] - r->start) % r->sector_size);
    }
}

TEST(prog_estimate_rounds_up_and_does_not_overflow)
{
    static const struct udfu_region slow[] = {{0, 4096, 16, UDFU_MEM_ALL, 0, 0xFFFFFFFFu / 2}};
    static const struct udfu_target tslow = {"s", slow, 1, 0};
    CHECK_EQ(udfu_mem_prog_ms(&tf4, 0x08004000, 1024), 5);  /* 4.096 ms -> 5 */
    CHECK_EQ(udfu_mem_prog_ms(&tf4, 0x08004000, 1), 1);
    CHECK_EQ(udfu_mem_prog_ms(&tf4, 0x08004000, 0), 0);
    CHECK_EQ(udfu_mem_prog_ms(&tf4, 0x09000000, 1024), 0);
    CHECK(udfu_mem_prog_ms(&tslow, 0, 4096) >= 4000000u); /* saturated, not wrapped */
    CHECK_EQ(udfu_mem_prog_ms(&tslow, 0, 1), 2098);
}

TEST(layout_string_matches_st_format)
{
    char buf[128];
    int n = udfu_mem_layout(&tf4, buf, sizeof buf);
    const char *want = "@Internal Flash /0x08000000/01*016Ka,03*016Kg,01*064Kg,07*128Kg";
    CHECK_EQ(n, (int)strlen(want));
    CHECK(strcmp(buf, want) == 0);
    CHECK_EQ(udfu_mem_layout(&tf4, buf, strlen(want)), UDFU_ERR_NOSPACE);
    CHECK_EQ(udfu_mem_layout(&tf4, buf, strlen(want) + 1), (int)strlen(want));
}

TEST(layout_string_splits_segments_counts_and_units)
{
    static const struct udfu_region r[] = {
        {0x00000000, 256, 250, UDFU_MEM_ALL, 0, 0},
        {0x1FFF7800, 528, 1, UDFU_MEM_READ | UDFU_MEM_WRITE, 0, 0},
        {0x90000000, 1024 * 1024, 2, UDFU_MEM_READ | UDFU_MEM_ERASE, 0, 0},
    };
    static const struct udfu_target t = {"X", r, 3, 1};
    char buf[160];
    CHECK(udfu_mem_layout(&t, buf, sizeof buf) > 0);
    CHECK(strcmp(buf, "@X /0x00000000/99*256 g,99*256 g,52*256 g/0x1FFF7800/01*528 e"
                      "/0x90000000/02*001Mc") == 0);
}

TEST(parse_reads_back_generated_string)
{
    char buf[128], name[32];
    struct udfu_region out[8];
    int i, n;
    udfu_mem_layout(&tf4, buf, sizeof buf);
    n = udfu_mem_parse(buf, name, sizeof name, out, 8);
    CHECK_EQ(n, 4);
    CHECK(strcmp(name, "Internal Flash") == 0);
    for (i = 0; i < 4 && i < n; i++) {
        CHECK_EQ(out[i].start, f4[i].start);
        CHECK_EQ(out[i].sector_size, f4[i].sector_size);
        CHECK_EQ(out[i].sector_count, f4[i].sector_count);
        CHECK_EQ(out[i].attr, f4[i].attr);
    }
    CHECK_EQ(udfu_mem_parse(buf, name, sizeof name, out, 3), UDFU_ERR_NOSPACE);
}

TEST(parse_accepts_real_device_strings)
{
    struct udfu_region out[8];
    char name[40];
    /* As an STM32F4 system bootloader and an option-byte alt show them. */
    CHECK_EQ(udfu_mem_parse("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg", name,
                            sizeof name, out, 8), 3);
    CHECK(strcmp(name, "Internal Flash") == 0);
    CHECK_EQ(out[2].start, 0x08020000);
    CHECK_EQ(udfu_mem_parse("@Option Bytes  /0x1FFFC000/01*016 e", name, sizeof name, out, 8),
             1);
    CHECK_EQ(out[0].sector_size, 16);
    CHECK_EQ(out[0].attr, UDFU_MEM_READ | UDFU_MEM_WRITE);
    CHECK_EQ(udfu_mem_parse("@A/0x0/01*1Ka/0x100/02*2Kg", name, sizeof name, out, 8), 2);
    CHECK_EQ(out[1].start, 0x100);
}

TEST(parse_rejects_malformed_strings)
{
    struct udfu_region out[4];
    char name[8];
    static const char *const bad[] = {
        "Internal /0x0/01*1Kg", "@X", "@X /0x/01*1Kg", "@X /0x0/01*1Kz", "@X /0x0/01*1Kh",
        "@X /0x0/00*1Kg", "@X /0x0/01*0Kg", "@X /0x0/01-1Kg", "@X /0x123456789/01*1Kg",
        "@X /0x0/99999*1Kg", "@X /0x0/01*4096Mg", "@X /0x0/01*1Kg;", "@X /0x0/01*1K",
    };
    unsigned i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = udfu_mem_parse(bad[i], name, sizeof name, out, 4);
        if (n != UDFU_ERR_FORMAT)
            fprintf(stderr, "  accepted: %s\n", bad[i]);
        CHECK_EQ(n, UDFU_ERR_FORMAT);
    }
}

int main(void)
{
    RUN(find_returns_region_holding_address);
    RUN(check_refuses_read_only_and_out_of_map);
    RUN(check_never_wraps_past_4gib);
    RUN(sector_gives_start_and_size);
    RUN(sector_lookup_divides_exactly_for_any_size);
    RUN(prog_estimate_rounds_up_and_does_not_overflow);
    RUN(layout_string_matches_st_format);
    RUN(layout_string_splits_segments_counts_and_units);
    RUN(parse_reads_back_generated_string);
    RUN(parse_accepts_real_device_strings);
    RUN(parse_rejects_malformed_strings);
    return test_summary();
}
