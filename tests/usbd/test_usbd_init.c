/*
 * test_usbd_init.c - udfu_usbd_init() refuses configs it cannot serve.
 * Built with UDFU_CFG_ASSERT=0 (see CMakeLists.txt) so the UDFU_ERR_INVAL
 * path a release build takes is what runs.
 */
#include <string.h>

#include "fake_dcd.h"
#include "test.h"

static struct fixture fx;

static int init_with(const struct udfu_usbd_cfg *cfg)
{
    return udfu_usbd_init(&fx.usbd, cfg);
}

TEST(valid_configs_are_accepted_and_start_unaddressed)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(fd_xfer(&fx.usbd, &fx.dcd, 0x00, 5, 7, 0, 0), FD_ACK);
    fx_configure(&fx);
    CHECK_EQ(init_with(&fx.ucfg), 0);
    CHECK_EQ(fx.usbd.address, 0);
    CHECK_EQ(fx.usbd.configuration, 0);
    CHECK(fx.usbd.cfg == &fx.ucfg);
    fx.ucfg.ep0_size = 8;
    CHECK_EQ(init_with(&fx.ucfg), 0);
    fx.ucfg.ep0_size = 32;
    CHECK_EQ(init_with(&fx.ucfg), 0);
    fx_rt(&fx, 0);
    CHECK_EQ(init_with(&fx.ucfg), 0);
}

TEST(missing_pieces_are_refused)
{
    struct udfu_dcd ops = fake_dcd_ops;
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(init_with(NULL), UDFU_ERR_INVAL);
    CHECK_EQ(udfu_usbd_init(NULL, &fx.ucfg), UDFU_ERR_INVAL);
    fx.ucfg.dcd = NULL;
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
    fx.ucfg.dcd = &ops;
    ops.ep0_in = NULL;
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
    ops = fake_dcd_ops;
    ops.ep0_out = NULL;
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
    ops = fake_dcd_ops;
    ops.ep0_ack = NULL;
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
    ops = fake_dcd_ops;
    ops.ep0_stall = NULL;
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
    ops = fake_dcd_ops;
    ops.set_address = NULL; /* optional */
    CHECK_EQ(init_with(&fx.ucfg), 0);
}

TEST(exactly_one_class_is_required)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    fx_rt(&fx, 0);
    fx.ucfg.dfu = &fx.dfu; /* both */
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
    fx.ucfg.dfu = NULL;
    fx.ucfg.rt = NULL; /* neither */
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
}

TEST(bad_ep0_sizes_are_refused)
{
    static const uint8_t bad[] = {1, 4, 7, 12, 24, 63, 65, 128, 255};
    size_t i;
    fx_dfu(&fx, fx_plain_targets, 2);
    for (i = 0; i < sizeof bad; i++) {
        fx.ucfg.ep0_size = bad[i];
        CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
    }
}

TEST(interface_must_be_zero)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    fx.dcfg.interface = 1;
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
    fx_rt(&fx, 0);
    fx.rcfg.interface = 2;
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
}

TEST(config_descriptor_must_fit_the_buffer)
{
    static struct udfu_target many[64];
    uint8_t fit = (UDFU_CFG_USBD_BUF - 18) / 9, i;
    for (i = 0; i < 64; i++)
        many[i] = fx_plain_targets[0];
    fx_dfu(&fx, many, fit);
    CHECK_EQ(init_with(&fx.ucfg), 0);
    fx_dfu(&fx, many, fit);
    fx.dcfg.target_count = (uint8_t)(fit + 1);
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
}

int main(void)
{
    RUN(valid_configs_are_accepted_and_start_unaddressed);
    RUN(missing_pieces_are_refused);
    RUN(exactly_one_class_is_required);
    RUN(bad_ep0_sizes_are_refused);
    RUN(interface_must_be_zero);
    RUN(config_descriptor_must_fit_the_buffer);
    return test_summary();
}
