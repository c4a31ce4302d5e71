/* udfu_boot_init() refuses configurations that could not be fail-safe
 * (built with asserts off so the refusal is observable). */
#include "test.h"

#include <string.h>

#include "udfu_boot.h"

static int rd(void *c, uint32_t a, uint8_t *b, uint32_t n)
{
    (void)c;
    (void)a;
    memset(b, 0xFF, n);
    return 0;
}
static int er(void *c, uint32_t a, uint32_t n)
{
    (void)c;
    (void)a;
    (void)n;
    return 0;
}
static int pr(void *c, uint32_t a, const uint8_t *b, uint32_t n)
{
    (void)c;
    (void)a;
    (void)b;
    (void)n;
    return 0;
}
static int sha_start(void *c)
{
    (void)c;
    return 0;
}

static struct udfu_boot_slot slots[2] = {{0x10000, 0x8000, 0}, {0x18000, 0x8000, 0}};
static struct udfu_boot_cfg cfg;
static struct udfu_boot b;

static void good(void)
{
    memset(&cfg, 0, sizeof(cfg));
    cfg.read = rd;
    cfg.erase = er;
    cfg.prog = pr;
    cfg.slots = slots;
    cfg.slot_count = UDFU_CFG_BOOT_SLOTS >= 2 ? 2 : 1;
    cfg.journal[0] = 0x8000;
    cfg.journal[1] = 0x9000;
    cfg.journal_size = 0x1000;
}

TEST(good_config_is_accepted_with_defaults)
{
    good();
    CHECK_EQ(udfu_boot_init(&b, &cfg), 0);
    CHECK_EQ(udfu_boot_app_addr(&b, 0), 0x10000 + 512); /* hdr_size 0: 512 */
    CHECK_EQ(b.rec, 16);
    CHECK_EQ(b.active, UDFU_BOOT_NONE);
    CHECK_EQ(udfu_boot_select(&b), UDFU_ERR_FIRMWARE);
}

TEST(overlaps_are_refused)
{
    good();
    cfg.journal[1] = 0x8800; /* journal areas overlap */
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    good();
    cfg.journal[1] = 0x17000; /* journal inside slot 0 */
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
}

/* Areas at the top of the address space: overlaps are found by offsets, and
 * an area that runs past 4 GiB is refused. */
TEST(overlaps_at_the_top_of_the_address_space_are_refused)
{
    good();
    slots[0].addr = 0xFFFF0000u;
    slots[0].size = 0xF800u;       /* up to 0xFFFFF800 */
    cfg.journal[1] = 0xFFFFF000u; /* up to 4 GiB, its first half inside the slot */
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    cfg.journal[1] = 0xFFFFF800u; /* right after the slot, up to 4 GiB: no overlap, */
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL); /* but it ends at 2^32 */
    cfg.journal[1] = 0xFFFFF800u - 0x1000u; /* inside the slot's end */
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    cfg.journal[1] = 0x9000;
    CHECK_EQ(udfu_boot_init(&b, &cfg), 0);
    slots[0].addr = 0x10000;
    slots[0].size = 0x8000;
}

TEST(overlapping_slots_are_refused)
{
    good();
    slots[1].addr = 0x17000; /* slots overlap */
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    slots[1].addr = 0x18000;
    CHECK_EQ(udfu_boot_init(&b, &cfg), 0);
}

TEST(bad_sizes_are_refused)
{
    good();
    /* one record short of header + snapshot + a record */
    cfg.journal_size = 16u * (cfg.slot_count + 3u) - 16u;
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    cfg.journal_size += 16;
    CHECK_EQ(udfu_boot_init(&b, &cfg), 0);
    good();
    cfg.write_size = 3;
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    good();
    cfg.write_size = 64;
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    good();
    cfg.hdr_size = 64; /* smaller than the header */
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    good();
    cfg.slot_count = 0;
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    good();
    cfg.slot_count = UDFU_BOOT_MAX_SLOTS + 1;
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    good();
    cfg.prog = NULL;
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
}

TEST(demanded_checks_need_their_hooks)
{
    good();
    cfg.need = UDFU_BOOT_NEED_SHA256;
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    cfg.need = UDFU_BOOT_NEED_SIG;
    cfg.sha256_start = sha_start;
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
}

TEST(only_factory_slots_leave_nothing_to_update)
{
    static struct udfu_boot_slot f[1] = {{0x10000, 0x8000, 1}};
    good();
    cfg.slots = f;
    cfg.slot_count = 1;
    CHECK_EQ(udfu_boot_init(&b, &cfg), 0);
    CHECK_EQ(udfu_boot_update_slot(&b), UDFU_ERR_PERM);
    CHECK_EQ(udfu_boot_erase(&b, 0x10000, 0x1000), UDFU_ERR_PERM);
    /* nothing written, and the factory image stands: a leave may go on */
    CHECK_EQ(udfu_boot_commit(&b), 0);
}

static int accept_all(void *c, uint8_t slot, const struct udfu_boot_hdr *h)
{
    (void)c;
    (void)slot;
    (void)h;
    return 0;
}

/* A build without trial boots (UDFU_CFG_BOOT_TRIAL 0) does not pretend to
 * roll back: a cfg asking for trials is refused, nothing is ever pending. */
TEST(without_trial_boots_a_trial_config_is_refused)
{
    good();
    cfg.trial_boots = 3;
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    cfg.trial_boots = 0;
    CHECK_EQ(udfu_boot_init(&b, &cfg), 0);
    CHECK_EQ(udfu_boot_confirm(&b, 0x10000 + 512), 0); /* nothing on trial */
}

/* A build without the hooks (UDFU_CFG_BOOT_HOOKS 0) refuses a cfg that
 * expects them, instead of silently checking less. */
TEST(without_hooks_a_cfg_that_expects_them_is_refused)
{
    good();
    cfg.need = UDFU_BOOT_NEED_SHA256;
    cfg.sha256_start = sha_start;
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    cfg.need = 0;
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    cfg.sha256_start = NULL;
    cfg.accept = accept_all;
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    cfg.accept = NULL;
    cfg.need = UDFU_BOOT_RECHECK; /* asks for nothing without hooks */
    CHECK_EQ(udfu_boot_init(&b, &cfg), 0);
}

/* UDFU_CFG_BOOT_SLOTS bounds slot_count. */
TEST(more_slots_than_the_build_tracks_are_refused)
{
    static struct udfu_boot_slot many[UDFU_BOOT_MAX_SLOTS + 1];
    good();
    for (uint32_t i = 0; i <= UDFU_BOOT_MAX_SLOTS; i++) {
        many[i].addr = 0x10000 + i * 0x8000;
        many[i].size = 0x8000;
    }
    cfg.slots = many;
    cfg.slot_count = UDFU_BOOT_MAX_SLOTS;
    CHECK_EQ(udfu_boot_init(&b, &cfg), 0);
    cfg.slot_count = UDFU_BOOT_MAX_SLOTS + 1;
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
}

int main(void)
{
    RUN(good_config_is_accepted_with_defaults);
    RUN(overlaps_are_refused);
    RUN(overlaps_at_the_top_of_the_address_space_are_refused);
    RUN(bad_sizes_are_refused);
    RUN_IF(UDFU_CFG_BOOT_SLOTS >= 2, overlapping_slots_are_refused);
    RUN_IF(UDFU_CFG_BOOT_HOOKS, demanded_checks_need_their_hooks);
    RUN(only_factory_slots_leave_nothing_to_update);
    RUN_IF(!UDFU_CFG_BOOT_TRIAL, without_trial_boots_a_trial_config_is_refused);
    RUN_IF(!UDFU_CFG_BOOT_HOOKS, without_hooks_a_cfg_that_expects_them_is_refused);
    RUN(more_slots_than_the_build_tracks_are_refused);
    return test_summary();
}
