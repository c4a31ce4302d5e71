/* The sanity checks the Cortex-M jump does before handing over. */
#include "test.h"

#include "udfu_cortexm.h"

static const struct udfu_port_jump_cfg cfg = {
    0x20000000u, 0x20010000u, 0x08010200u, 0x08040000u, 512, NULL, NULL};

TEST(sane_vector_table_passes)
{
    CHECK_EQ(udfu_port_check_vectors(&cfg, 0x08010200u, 0x20010000u, 0x08010301u), 0);
    CHECK_EQ(udfu_port_check_vectors(&cfg, 0x08010200u, 0x20000004u, 0x08010201u), 0);
    CHECK_EQ(udfu_port_check_vectors(&cfg, 0x08010200u, 0x20008000u, 0x0803FFFFu), 0);
}

TEST(stack_pointer_outside_ram_is_refused)
{
    CHECK_EQ(udfu_port_check_vectors(&cfg, 0x08010200u, 0xFFFFFFFFu, 0x08010301u),
             UDFU_ERR_FIRMWARE); /* erased flash */
    CHECK_EQ(udfu_port_check_vectors(&cfg, 0x08010200u, 0x00000000u, 0x08010301u),
             UDFU_ERR_FIRMWARE);
    CHECK_EQ(udfu_port_check_vectors(&cfg, 0x08010200u, 0x20010004u, 0x08010301u),
             UDFU_ERR_FIRMWARE); /* past the end */
    CHECK_EQ(udfu_port_check_vectors(&cfg, 0x08010200u, 0x20000000u, 0x08010301u),
             UDFU_ERR_FIRMWARE); /* nothing below it to push into */
    CHECK_EQ(udfu_port_check_vectors(&cfg, 0x08010200u, 0x20008002u, 0x08010301u),
             UDFU_ERR_FIRMWARE); /* misaligned */
}

TEST(reset_vector_must_be_thumb_and_inside_the_image)
{
    CHECK_EQ(udfu_port_check_vectors(&cfg, 0x08010200u, 0x20010000u, 0x08010300u),
             UDFU_ERR_FIRMWARE); /* ARM state: would fault */
    CHECK_EQ(udfu_port_check_vectors(&cfg, 0x08010200u, 0x20010000u, 0x08000101u),
             UDFU_ERR_FIRMWARE); /* into the bootloader */
    CHECK_EQ(udfu_port_check_vectors(&cfg, 0x08010200u, 0x20010000u, 0x08040001u),
             UDFU_ERR_FIRMWARE); /* past the slot */
    CHECK_EQ(udfu_port_check_vectors(&cfg, 0x08010200u, 0x20010000u, 0xFFFFFFFFu),
             UDFU_ERR_FIRMWARE);
}

TEST(vector_table_must_be_aligned)
{
    CHECK_EQ(udfu_port_check_vectors(&cfg, 0x08010300u, 0x20010000u, 0x08010301u),
             UDFU_ERR_FIRMWARE);
    struct udfu_port_jump_cfg c = cfg;
    c.vtor_align = 0; /* default 128 */
    CHECK_EQ(udfu_port_check_vectors(&c, 0x08010280u, 0x20010000u, 0x08010301u), 0);
    CHECK_EQ(udfu_port_check_vectors(&c, 0x08010240u, 0x20010000u, 0x08010301u),
             UDFU_ERR_FIRMWARE);
}

TEST(jump_is_refused_on_the_host)
{
    CHECK_EQ(udfu_port_jump(&cfg, 0x08010200u), UDFU_ERR_UNSUPPORTED);
}

int main(void)
{
    RUN(sane_vector_table_passes);
    RUN(stack_pointer_outside_ram_is_refused);
    RUN(reset_vector_must_be_thumb_and_inside_the_image);
    RUN(vector_table_must_be_aligned);
    RUN(jump_is_refused_on_the_host);
    return test_summary();
}
