/* Bug class (integrator side): a configuration check that is itself unsafe.
 * udfu_util.h lets the integrator replace UDFU_ASSERT; one that logs and
 * returns is legitimate, so the init functions must not dereference what
 * they are about to reject. This test carries its own copy of the DFU core
 * built with such an assert (tests/regress/CMakeLists.txt). */
#include <string.h>

#include "rg.h"
#include "test.h"

int rg_assert_failures;

static struct fx F;

/* Finding: udfu_dfu_init() dereferences cfg inside UDFU_ASSERT() before its
 * own NULL check (src/dfu.c, the asserts at the top of udfu_dfu_init): with
 * a logging assert, udfu_dfu_init(d, NULL) crashes instead of returning
 * UDFU_ERR_INVAL. (cppcheck: nullPointerRedundantCheck.) */
TEST(dfu_init_rejects_a_null_config_with_a_logging_assert)
{
    struct udfu_dfu d;
    rg_assert_failures = 0;
    CHECK_EQ(udfu_dfu_init(&d, NULL), UDFU_ERR_INVAL);
    CHECK(rg_assert_failures > 0);
}

TEST(dfu_init_rejects_an_incomplete_config_with_a_logging_assert)
{
    struct udfu_dfu_cfg c;
    struct udfu_dfu d;
    fx_init(&F, RG_CAN);
    c = F.cfg;
    c.buffer = NULL;
    rg_assert_failures = 0;
    CHECK_EQ(udfu_dfu_init(&d, &c), UDFU_ERR_INVAL);
    CHECK(rg_assert_failures > 0);
    c = F.cfg;
    c.prog = NULL;
    CHECK_EQ(udfu_dfu_init(&d, &c), UDFU_ERR_INVAL);
}

/* udfu_opt.h: buffers = 2 needs UDFU_CFG_PIPELINE, a plain DFU target
 * UDFU_CFG_PLAIN; a config asking for what is compiled out is refused,
 * in every profile (the compact one and the full one). */
TEST(dfu_init_takes_only_the_compiled_in_buffer_modes_and_protocols)
{
    struct udfu_dfu_cfg c;
    struct udfu_dfu d;
    fx_init(&F, RG_CAN);
    c = F.cfg;
    c.targets = fx_targets; /* alt 0 DfuSe */
    c.target_count = 1;
    rg_assert_failures = 0;
    c.buffers = 2;
    CHECK_EQ(udfu_dfu_init(&d, &c), UDFU_CFG_PIPELINE ? 0 : UDFU_ERR_INVAL);
    CHECK_EQ(rg_assert_failures > 0, !UDFU_CFG_PIPELINE); /* refused loudly */
    c.buffers = 3;
    CHECK_EQ(udfu_dfu_init(&d, &c), UDFU_ERR_INVAL);
    c.buffers = 1;
    CHECK_EQ(udfu_dfu_init(&d, &c), 0);
    /* a plain DFU target alone, and next to a DfuSe one */
    rg_assert_failures = 0;
    c.targets = &fx_targets[1];
    CHECK_EQ(udfu_dfu_init(&d, &c), UDFU_CFG_PLAIN ? 0 : UDFU_ERR_INVAL);
    c.targets = fx_targets;
    c.target_count = 2;
    CHECK_EQ(udfu_dfu_init(&d, &c), UDFU_CFG_PLAIN ? 0 : UDFU_ERR_INVAL);
    CHECK_EQ(rg_assert_failures > 0, !UDFU_CFG_PLAIN);
}

int main(void)
{
    RUN(dfu_init_rejects_an_incomplete_config_with_a_logging_assert);
    RUN(dfu_init_rejects_a_null_config_with_a_logging_assert);
    RUN(dfu_init_takes_only_the_compiled_in_buffer_modes_and_protocols);
    return test_summary();
}
