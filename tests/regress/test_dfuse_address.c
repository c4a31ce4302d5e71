/* Bug class: DfuSe address checks. Erase or write inside the bootloader,
 * past the end of the map, straddling its end or a region boundary into
 * memory without the permission, through a gap, or wrapping past
 * 0xFFFFFFFF: refused before anything is erased, not only before writing. */
#include <string.h>

#include "rg.h"
#include "test.h"

static struct fx F;
static uint8_t blk[FX_XFER];

static int cmd5(struct fx *f, uint8_t c, uint32_t a)
{
    uint8_t b[5] = {c, (uint8_t)a, (uint8_t)(a >> 8), (uint8_t)(a >> 16), (uint8_t)(a >> 24)};
    return rg_cmd(f, b, 5);
}

TEST(erase_inside_the_bootloader_is_refused_without_erasing)
{
    static const uint32_t addrs[] = {0x08000000, 0x08001234, 0x08003FFF};
    unsigned i;
    for (i = 0; i < 3; i++) {
        uint8_t status = 0;
        fx_init(&F, RG_CAN);
        CHECK_EQ(cmd5(&F, 0x41, addrs[i]), UDFU_DFU_ERROR);
        fx_status(&F, NULL, &status);
        CHECK_EQ(status, UDFU_STATUS_ERR_TARGET);
        CHECK_EQ(F.erases, 0);
        CHECK_EQ(F.flash[addrs[i] - FX_FLASH_BASE], 0xA5);
    }
}

TEST(erase_or_pointer_outside_the_map_is_refused)
{
    static const uint32_t addrs[] = {0x07FFFFFF, 0x08100000, 0x00000000, 0xFFFFFFFF, 0x20000000};
    unsigned i;
    for (i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        fx_init(&F, RG_CAN);
        CHECK_EQ(cmd5(&F, 0x41, addrs[i]), UDFU_DFU_ERROR);
        fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
        CHECK_EQ(cmd5(&F, 0x21, addrs[i]), UDFU_DFU_ERROR);
        fx_advance(&F, 1000);
        CHECK_EQ(F.erases, 0);
    }
}

TEST(write_into_or_straddling_into_the_bootloader_is_refused)
{
    fx_init(&F, RG_CAN);
    /* wholly inside */
    CHECK_EQ(fx_set_address(&F, 0x08000000), UDFU_DNLOAD_IDLE);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, 64, blk), 64);
    fx_task(&F);
    CHECK_EQ(fx_wait(&F), UDFU_DFU_ERROR);
    CHECK_EQ(F.progs + F.erases, 0);
    CHECK_EQ(F.flash[0], 0xA5);
}

TEST(write_past_or_straddling_the_end_of_the_map_is_refused_before_any_write)
{
    static const uint32_t ptr[] = {0x080FFC01, 0x080FFF00, 0x08100000};
    unsigned i;
    for (i = 0; i < 3; i++) {
        fx_init(&F, RG_CAN);
        /* the pointer is valid (or not); the block runs past 0x08100000 */
        cmd5(&F, 0x21, ptr[i]);
        fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL);
        fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
        fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, FX_XFER, blk);
        fx_task(&F);
        fx_wait(&F);
        fx_advance(&F, 1000);
        CHECK_EQ(F.progs, 0);
        CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_ERROR);
    }
}

/* A map with memory at both ends of the 32-bit space. */
static const struct udfu_region wrap_regions[] = {
    {0x00000000u, 1024, 4, UDFU_MEM_ALL, 0, 0},
    {0xFFFFF000u, 1024, 4, UDFU_MEM_ALL, 0, 0},
};
static const struct udfu_target wrap_target = {"Wrap", wrap_regions, 2, 1};

static void wrap_init(void)
{
    fx_init(&F, RG_CAN);
    F.cfg.targets = &wrap_target;
    F.cfg.target_count = 1;
    fx_start(&F);
}

TEST(address_that_wraps_past_4gib_is_refused_even_where_memory_is)
{
    int n;
    /* pointer + (block - 2) * wTransferSize = 0x1_0000_0000 + 0 */
    wrap_init();
    CHECK_EQ(fx_set_address(&F, 0xFFFFF000), UDFU_DNLOAD_IDLE);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 6, 16, blk), 16);
    fx_task(&F);
    CHECK_EQ(fx_wait(&F), UDFU_DFU_ERROR);
    CHECK_EQ(F.progs + F.erases, 0);
    /* a block straddling 0xFFFFFFFF into address 0 */
    wrap_init();
    CHECK_EQ(fx_set_address(&F, 0xFFFFFF00), UDFU_DNLOAD_IDLE);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, 512, blk), 512);
    fx_task(&F);
    CHECK_EQ(fx_wait(&F), UDFU_DFU_ERROR);
    CHECK_EQ(F.progs + F.erases, 0);
    /* and the same for reading */
    wrap_init();
    CHECK_EQ(fx_set_address(&F, 0xFFFFFF00), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL);
    n = fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 2, 512, NULL);
    CHECK_EQ(n, UDFU_ERR_STALL);
    CHECK_EQ(F.reads, 0);
    wrap_init();
    CHECK_EQ(fx_set_address(&F, 0xFFFFF000), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL);
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 6, 16, NULL), UDFU_ERR_STALL);
    CHECK_EQ(F.reads, 0);
}

TEST(mass_erase_spares_the_bootloader)
{
    fx_init(&F, RG_CAN);
    memset(F.flash, 0x00, sizeof F.flash);
    CHECK_EQ(rg_cmd(&F, (const uint8_t *)"\x41", 1), UDFU_DNLOAD_IDLE);
    CHECK_EQ(F.flash[0], 0x00);
    CHECK_EQ(F.flash[0x3FFF], 0x00);
    CHECK_EQ(F.flash[0x4000], 0xFF);
    CHECK_EQ(F.flash[FX_FLASH_SIZE - 1], 0xFF);
    CHECK_EQ(F.write_lo, 0x08004000u);
}

/* A DfuSe target with nothing erasable (option bytes, OTP). */
static const struct udfu_region noerase_regions[] = {
    {0x08000000u, 16 * 1024, 1, UDFU_MEM_READ, 0, 0},
    {0x08004000u, 16 * 1024, 1, UDFU_MEM_READ | UDFU_MEM_WRITE, 0, 0},
};
static const struct udfu_target noerase_target = {"Options", noerase_regions, 2, 1};

/* Finding: a mass erase on a target without any erasable sector calls
 * erase() with an address and size that were never set: step() in dfu.c
 * ignores udfu_dfuse_next_erasable()'s "none found" for the first sector
 * (the command in dfuse.c queues OP_MASS without looking). */
TEST(mass_erase_with_nothing_erasable_erases_nothing)
{
    int st;
    fx_init(&F, RG_CAN);
    F.cfg.targets = &noerase_target;
    F.cfg.target_count = 1;
    fx_start(&F);
    st = rg_cmd(&F, (const uint8_t *)"\x41", 1);
    CHECK(st == UDFU_DNLOAD_IDLE || st == UDFU_DFU_ERROR);
    fx_advance(&F, 1000);
    CHECK_EQ(F.erases, 0);
}

/* Finding (host side): udfu_mem_parse() accepts a layout string whose
 * region runs past 0xFFFFFFFF ("/0xFFFFF000/04*011Kg"): parse_entry() in
 * src/mem.c checks sector size x count against 32 bits, but not start +
 * size. A device can hand the host such a string; udfu_mem_check() on the
 * parsed map then accepts ranges that wrap. */
TEST(layout_string_with_a_region_past_4gib_is_malformed)
{
    struct udfu_region r[4];
    char name[32];
    CHECK_EQ(udfu_mem_parse("@Flash /0xFFFFF000/04*011Kg", name, sizeof name, r, 4),
             UDFU_ERR_FORMAT);
    CHECK_EQ(udfu_mem_parse("@Flash /0xFFFFFF00/02*256 g", name, sizeof name, r, 4),
             UDFU_ERR_FORMAT);
    /* up to exactly 4 GiB is fine */
    CHECK_EQ(udfu_mem_parse("@Flash /0xFFFFF000/04*001Kg", name, sizeof name, r, 4), 1);
}

int main(void)
{
    RUN(erase_inside_the_bootloader_is_refused_without_erasing);
    RUN(erase_or_pointer_outside_the_map_is_refused);
    RUN(write_into_or_straddling_into_the_bootloader_is_refused);
    RUN(write_past_or_straddling_the_end_of_the_map_is_refused_before_any_write);
    RUN(address_that_wraps_past_4gib_is_refused_even_where_memory_is);
    RUN(mass_erase_spares_the_bootloader);
    RUN(mass_erase_with_nothing_erasable_erases_nothing);
    RUN(layout_string_with_a_region_past_4gib_is_malformed);
    return test_summary();
}
