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
    cfg.slot_count = 2;
    cfg.journal[0] = 0x8000;
    cfg.journal[1] = 0x9000;
    cfg.journal_size = 0x1000;
}

TEST(good_config_is_accepted_with_defaults)
{
    good();
    CHECK_EQ(udfu_boot_init(&b, &cfg), 0);
    CHECK_EQ(b.hdr_size, 512);
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
    good();
    slots[1].addr = 0x17000; /* slots overlap */
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
    slots[1].addr = 0x18000;
}

TEST(bad_sizes_are_refused)
{
    good();
    cfg.journal_size = 64; /* cannot hold header + snapshot + a record */
    CHECK_EQ(udfu_boot_init(&b, &cfg), UDFU_ERR_INVAL);
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
    CHECK_EQ(udfu_boot_commit(&b), UDFU_ERR_PERM);
}

int main(void)
{
    RUN(good_config_is_accepted_with_defaults);
    RUN(overlaps_are_refused);
    RUN(bad_sizes_are_refused);
    RUN(demanded_checks_need_their_hooks);
    RUN(only_factory_slots_leave_nothing_to_update);
    return test_summary();
}
