/* The simulated NOR flash behaves like the hardware the boot layer and the
 * virtual device are tested against. */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "udfu_nor.h"

static const struct udfu_region map[] = {
    {0x08000000u, 1024, 4, 0x7, 20, 100},
    {0x08001000u, 4096, 2, 0x7, 40, 100}, /* adjacent, bigger sectors */
    {0x08010000u, 256, 2, 0x1, 0, 0},     /* after a gap */
};
static const struct udfu_nor_cfg cfg = {map, 3, NULL};

static struct udfu_nor f;

TEST(opens_erased_and_reads_ff)
{
    uint8_t b[16], ff[16];
    memset(ff, 0xFF, sizeof(ff));
    CHECK_EQ(udfu_nor_open(&f, &cfg), 0);
    CHECK_EQ(udfu_nor_read(&f, 0x08000000u, b, 16), 0);
    CHECK_MEM(b, ff, 16);
    CHECK_EQ(udfu_nor_read(&f, 0x08010000u, b, 16), 0);
    CHECK_MEM(b, ff, 16);
    udfu_nor_close(&f);
}

TEST(programming_only_clears_bits)
{
    uint8_t a[4] = {0xF0, 0x0F, 0x00, 0xFF}, b[4] = {0xF1, 0x0F, 0x00, 0xFF}, r[4];
    udfu_nor_open(&f, &cfg);
    CHECK_EQ(udfu_nor_prog(&f, 0x08000010u, a, 4), 0);
    CHECK_EQ(udfu_nor_prog(&f, 0x08000010u, b, 4), UDFU_ERR_NOT_ERASED);
    udfu_nor_read(&f, 0x08000010u, r, 4);
    CHECK_MEM(r, a, 4); /* the refused program changed nothing */
    uint8_t c[1] = {0x30};
    CHECK_EQ(udfu_nor_prog(&f, 0x08000010u, c, 1), 0); /* 0xF0 -> 0x30 clears bits only */
    CHECK_EQ(*udfu_nor_mem(&f, 0x08000010u), 0x30);
    udfu_nor_close(&f);
}

TEST(erase_needs_whole_sectors_and_sets_ff)
{
    uint8_t z[8] = {0};
    udfu_nor_open(&f, &cfg);
    udfu_nor_prog(&f, 0x08000400u, z, 8);
    CHECK_EQ(udfu_nor_erase(&f, 0x08000401u, 1024), UDFU_ERR_RANGE);
    CHECK_EQ(udfu_nor_erase(&f, 0x08000400u, 1000), UDFU_ERR_RANGE);
    CHECK_EQ(*udfu_nor_mem(&f, 0x08000400u), 0);
    CHECK_EQ(udfu_nor_erase(&f, 0x08000400u, 1024), 0);
    CHECK_EQ(*udfu_nor_mem(&f, 0x08000400u), 0xFF);
    /* spanning two adjacent regions with different sector sizes */
    CHECK_EQ(udfu_nor_erase(&f, 0x08000C00u, 1024 + 4096), 0);
    CHECK_EQ(udfu_nor_erase(&f, 0x08000C00u, 1024 + 2048), UDFU_ERR_RANGE);
    udfu_nor_close(&f);
}

TEST(addresses_outside_the_map_are_range_errors)
{
    uint8_t b[4] = {0};
    udfu_nor_open(&f, &cfg);
    CHECK_EQ(udfu_nor_read(&f, 0x07FFFFFFu, b, 1), UDFU_ERR_RANGE);
    CHECK_EQ(udfu_nor_read(&f, 0x08002FFEu, b, 4), UDFU_ERR_RANGE); /* into the gap */
    CHECK_EQ(udfu_nor_prog(&f, 0x080101FEu, b, 4), UDFU_ERR_RANGE); /* past the end */
    CHECK_EQ(udfu_nor_prog(&f, 0xFFFFFFFEu, b, 4), UDFU_ERR_RANGE); /* wraps */
    CHECK_EQ(udfu_nor_erase(&f, 0x08010000u, 0x100000u), UDFU_ERR_RANGE);
    CHECK(udfu_nor_mem(&f, 0x08003000u) == NULL);
    CHECK_EQ(f.ops, 0); /* nothing reached the hardware */
    udfu_nor_close(&f);
}

TEST(read_only_regions_are_still_writable_hardware)
{
    uint8_t z[2] = {0x12, 0x34};
    udfu_nor_open(&f, &cfg);
    CHECK_EQ(udfu_nor_prog(&f, 0x08010000u, z, 2), 0);
    CHECK_EQ(*udfu_nor_mem(&f, 0x08010001u), 0x34);
    udfu_nor_close(&f);
}

TEST(power_cut_tears_the_nth_op_then_everything_fails_until_power_on)
{
    uint8_t d[64], r[64];
    memset(d, 0, sizeof(d));
    udfu_nor_open(&f, &cfg);
    f.cut_at = 2;
    CHECK_EQ(udfu_nor_prog(&f, 0x08000000u, d, 64), 0);
    CHECK_EQ(udfu_nor_prog(&f, 0x08000100u, d, 64), UDFU_ERR_IO);
    CHECK_EQ(f.off, 1);
    CHECK_EQ(udfu_nor_read(&f, 0x08000000u, r, 4), UDFU_ERR_IO);
    CHECK_EQ(udfu_nor_erase(&f, 0x08000000u, 1024), UDFU_ERR_IO);
    CHECK_EQ(f.ops, 2);
    udfu_nor_power_on(&f);
    CHECK_EQ(udfu_nor_read(&f, 0x08000000u, r, 64), 0);
    CHECK_MEM(r, d, 64); /* the op before the cut completed */
    udfu_nor_close(&f);
}

/* Over many seeds, torn programs leave every shape: nothing, a prefix,
 * everything. */
TEST(torn_program_leaves_a_prefix)
{
    uint8_t d[32];
    int none = 0, part = 0, all = 0;
    memset(d, 0, sizeof(d));
    for (uint32_t s = 1; s <= 200; s++) {
        udfu_nor_open(&f, &cfg);
        f.seed = s * 2654435761u;
        f.cut_at = 1;
        CHECK_EQ(udfu_nor_prog(&f, 0x08000000u, d, 32), UDFU_ERR_IO);
        udfu_nor_power_on(&f);
        const uint8_t *m = udfu_nor_mem(&f, 0x08000000u);
        int zeros = 0, prefix_ok = 1, seen_ff = 0;
        for (int i = 0; i < 32; i++) {
            if (m[i] == 0) {
                zeros++;
                if (seen_ff)
                    prefix_ok = 0;
            } else if (m[i] == 0xFF) {
                seen_ff = 1;
            } else {
                seen_ff = 1; /* the byte being written: some bits only */
            }
        }
        CHECK(prefix_ok);
        if (zeros == 0)
            none++;
        else if (zeros == 32)
            all++;
        else
            part++;
        udfu_nor_close(&f);
    }
    CHECK(none > 0);
    CHECK(part > 0);
    CHECK(all > 0);
}

TEST(torn_erase_leaves_the_sector_neither_old_nor_erased_sometimes)
{
    uint8_t z[1024];
    int mixed = 0, erased = 0, untouched = 0;
    memset(z, 0, sizeof(z));
    for (uint32_t s = 1; s <= 200; s++) {
        udfu_nor_open(&f, &cfg);
        udfu_nor_prog(&f, 0x08000000u, z, 1024);
        f.seed = s * 40503u;
        f.cut_at = 1;
        CHECK_EQ(udfu_nor_erase(&f, 0x08000000u, 1024), UDFU_ERR_IO);
        const uint8_t *m = udfu_nor_mem(&f, 0x08000000u);
        int ff = 0, zero = 0;
        for (int i = 0; i < 1024; i++) {
            ff += m[i] == 0xFF;
            zero += m[i] == 0;
        }
        if (ff == 1024)
            erased++;
        else if (zero == 1024)
            untouched++;
        else
            mixed++;
        udfu_nor_close(&f);
    }
    CHECK(mixed > 0);
    CHECK(erased > 0);
    CHECK(untouched > 0);
}

TEST(injected_failure_changes_nothing_and_keeps_power)
{
    uint8_t d[8] = {0};
    udfu_nor_open(&f, &cfg);
    f.fail_at = 1;
    CHECK_EQ(udfu_nor_prog(&f, 0x08000000u, d, 8), UDFU_ERR_PROG);
    CHECK_EQ(*udfu_nor_mem(&f, 0x08000000u), 0xFF);
    CHECK_EQ(f.off, 0);
    f.fail_at = 1;
    CHECK_EQ(udfu_nor_erase(&f, 0x08000000u, 1024), UDFU_ERR_ERASE);
    CHECK_EQ(udfu_nor_prog(&f, 0x08000000u, d, 8), 0);
    udfu_nor_close(&f);
}

TEST(timing_comes_from_the_region_fields)
{
    udfu_nor_open(&f, &cfg);
    CHECK_EQ(udfu_nor_erase_ms(&f, 0x08000000u, 2048), 40);
    CHECK_EQ(udfu_nor_erase_ms(&f, 0x08000C00u, 1024 + 4096), 60);
    CHECK_EQ(udfu_nor_prog_ms(&f, 0x08000000u, 10240), 1);  /* 1000 us */
    CHECK_EQ(udfu_nor_prog_ms(&f, 0x08000000u, 10241), 2);  /* rounds up */
    CHECK_EQ(udfu_nor_prog_ms(&f, 0x08010000u, 256), 0);
    udfu_nor_close(&f);
}

TEST(backing_file_is_created_erased_and_persists)
{
    char path[] = "/tmp/udfu_nor_testXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    struct udfu_nor_cfg c = cfg;
    c.path = path;
    uint8_t d[3] = {1, 2, 3};
    CHECK_EQ(udfu_nor_open(&f, &c), 0);
    CHECK_EQ(*udfu_nor_mem(&f, 0x08001000u), 0xFF);
    CHECK_EQ(udfu_nor_prog(&f, 0x08001000u, d, 3), 0);
    udfu_nor_close(&f);
    CHECK_EQ(udfu_nor_open(&f, &c), 0);
    CHECK_MEM(udfu_nor_mem(&f, 0x08001000u), d, 3);
    udfu_nor_close(&f);
    struct udfu_nor_cfg small = {map, 1, path};
    CHECK_EQ(udfu_nor_open(&f, &small), UDFU_ERR_FORMAT); /* other geometry */
    unlink(path);
}

TEST(bad_geometry_is_refused)
{
    static const struct udfu_region overlap[] = {
        {0x1000, 0x100, 4, 7, 0, 0}, {0x1200, 0x100, 4, 7, 0, 0}};
    struct udfu_nor_cfg c = {overlap, 2, NULL};
    CHECK_EQ(udfu_nor_open(&f, &c), UDFU_ERR_INVAL);
    c.region_count = 0;
    CHECK_EQ(udfu_nor_open(&f, &c), UDFU_ERR_INVAL);
}

int main(void)
{
    RUN(opens_erased_and_reads_ff);
    RUN(programming_only_clears_bits);
    RUN(erase_needs_whole_sectors_and_sets_ff);
    RUN(addresses_outside_the_map_are_range_errors);
    RUN(read_only_regions_are_still_writable_hardware);
    RUN(power_cut_tears_the_nth_op_then_everything_fails_until_power_on);
    RUN(torn_program_leaves_a_prefix);
    RUN(torn_erase_leaves_the_sector_neither_old_nor_erased_sometimes);
    RUN(injected_failure_changes_nothing_and_keeps_power);
    RUN(timing_comes_from_the_region_fields);
    RUN(backing_file_is_created_erased_and_persists);
    RUN(bad_geometry_is_refused);
    return test_summary();
}
