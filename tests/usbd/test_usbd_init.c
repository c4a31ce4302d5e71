/*
 * test_usbd_init.c - udfu_usbd_init() refuses configs it cannot serve.
 * Built with UDFU_CFG_ASSERT=0 (see CMakeLists.txt) so the UDFU_ERR_INVAL
 * path a release build takes is what runs.
 */
#include <stddef.h>
#include <string.h>

#include "fake_dcd.h"
#include "test.h"

static struct fixture fx;

static int init_with(const struct udfu_usbd_cfg *cfg)
{
    return udfu_usbd_init(&fx.usbd, cfg);
}

/* A usbd config with a DFU and a run-time class instance at hand, neither
 * selected: udfu_usbd_init() only reads their cfg (interface, targets), so
 * this works whichever modes the build has. */
static void bare(void)
{
    static uint8_t xfer[256]; /* the buffer usbd may borrow (UDFU_CFG_USBD_BUF 0) */
    memset(&fx, 0, sizeof fx);
    fx.ucfg.context = &fx.dcd;
    fx.ucfg.dcd = &fake_dcd_ops;
    fx.dcfg.targets = fx_plain_targets;
    fx.dcfg.target_count = 2;
    fx.dcfg.buffer = xfer;
    fx.dcfg.transfer_size = sizeof xfer;
    fx.dfu.cfg = &fx.dcfg;
    fx.rt.cfg = &fx.rcfg;
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
}

TEST(runtime_config_is_accepted)
{
    fx_rt(&fx, 0);
    CHECK_EQ(init_with(&fx.ucfg), 0);
    CHECK_EQ(fx.usbd.configuration, 0);
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
    bare();
    fx.ucfg.dfu = &fx.dfu; /* both */
    fx.ucfg.rt = &fx.rt;
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
    fx.ucfg.dfu = NULL;
    fx.ucfg.rt = NULL; /* neither */
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
    /* and one, of a mode the build has, is fine */
    if (UDFU_CFG_USBD_DFU)
        fx.ucfg.dfu = &fx.dfu;
    else
        fx.ucfg.rt = &fx.rt;
    CHECK_EQ(init_with(&fx.ucfg), 0);
}

/* A build without one of the modes (UDFU_CFG_USBD_DFU / _RT) refuses a
 * config of that mode, however valid otherwise. */
TEST(a_mode_compiled_out_is_refused)
{
    bare();
    if (UDFU_CFG_USBD_DFU)
        fx.ucfg.rt = &fx.rt;
    else
        fx.ucfg.dfu = &fx.dfu;
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

TEST(dfu_interface_must_be_zero)
{
    bare();
    fx.ucfg.dfu = &fx.dfu;
    CHECK_EQ(init_with(&fx.ucfg), 0);
    fx.dcfg.interface = 1;
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
}

TEST(runtime_interface_must_be_zero)
{
    bare();
    fx.ucfg.rt = &fx.rt;
    CHECK_EQ(init_with(&fx.ucfg), 0);
    fx.rcfg.interface = 2;
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
}

TEST(config_descriptor_must_fit_the_buffer)
{
    static struct udfu_target many[64];
    uint8_t fit, i;
    for (i = 0; i < 64; i++)
        many[i] = fx_plain_targets[0];
    fx_dfu(&fx, many, 1);
    /* usbd's own buffer, or the class buffer it borrows. */
    fit = (uint8_t)(((UDFU_CFG_USBD_BUF ? UDFU_CFG_USBD_BUF : fx.dcfg.transfer_size) - 18) / 9);
    CHECK(fit >= 2 && fit < 64);
    fx_dfu(&fx, many, fit);
    CHECK_EQ(init_with(&fx.ucfg), 0);
    fx_dfu(&fx, many, fit);
    fx.dcfg.target_count = (uint8_t)(fit + 1);
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
}

/* Windows fetches the whole MS OS 2.0 set in one request: a set that
 * cannot be built where usbd writes replies is a config error, not a
 * stall found in the field. */
TEST(msos20_set_must_fit_the_buffer)
{
    static const char guid[] = "{3D4B2B0E-6E5A-4C5D-9C8B-0A1B2C3D4E5F}";
    unsigned room;
    static char long_guid[300];
    fx_dfu(&fx, fx_plain_targets, 2);
    room = UDFU_CFG_USBD_BUF ? UDFU_CFG_USBD_BUF : fx.dcfg.transfer_size;
    fx.ucfg.ms_vendor_code = 0x42;
    fx.ucfg.ms_guid = guid; /* a 162-byte set */
    CHECK_EQ(init_with(&fx.ucfg), room >= 162 ? 0 : UDFU_ERR_INVAL);
    /* The set grows by two bytes per character of the GUID string. */
    memset(long_guid, 'A', sizeof long_guid - 1);
    long_guid[38 + (room > 162 ? (room - 162) / 2 + 1 : 1)] = '\0';
    fx.ucfg.ms_guid = long_guid;
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
    fx.ucfg.ms_vendor_code = 0; /* no MS OS 2.0: nothing to fit */
    CHECK_EQ(init_with(&fx.ucfg), 0);
}

/* The BOS is offered with the set and must fit as well: without a GUID
 * the set (30 bytes) is shorter than the BOS (33). Only a borrowed buffer
 * can be that small. */
TEST(bos_must_fit_the_borrowed_buffer_too)
{
    fx_dfu(&fx, fx_plain_targets, 1);
    fx.ucfg.ms_vendor_code = 0x42;
    fx.ucfg.ms_guid = NULL;
    fx.dcfg.transfer_size = 32;
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
    fx.dcfg.transfer_size = 33;
    CHECK_EQ(init_with(&fx.ucfg), 0);
    fx.ucfg.ms_vendor_code = 0; /* no BOS: 32 bytes will do */
    fx.dcfg.transfer_size = 32;
    CHECK_EQ(init_with(&fx.ucfg), 0);
}

/* A DfuSe layout string is never cut short (a host would read a wrong
 * map): one that cannot be written whole is a config error. */
TEST(dfuse_layout_that_does_not_fit_is_refused)
{
    fx_dfu(&fx, fx_short_layout, 1);
    fx.dcfg.targets = fx_long_layout; /* a 160-character layout string */
    CHECK_EQ(init_with(&fx.ucfg), UDFU_ERR_INVAL);
    fx.dcfg.targets = fx_short_layout;
    CHECK_EQ(init_with(&fx.ucfg), 0);
}

/* Static RAM: a bootloader's usbd is the config pointer, four bytes of
 * state (the SETUP is not kept) and the scratch buffer, if it has one. */
TEST(instance_state_is_four_bytes_beside_config_and_buffer)
{
#if UDFU_CFG_USBD_BUF
    CHECK_EQ(offsetof(struct udfu_usbd, buf), sizeof(void *) + 4);
    CHECK_EQ(sizeof fx.usbd.buf, UDFU_CFG_USBD_BUF);
#else
    /* Nothing but the pointer and the state, padded to pointer alignment. */
    CHECK_EQ(offsetof(struct udfu_usbd, ctl), sizeof(void *) + 3);
    CHECK_EQ(sizeof fx.usbd, (sizeof(void *) + 4 + sizeof(void *) - 1) / sizeof(void *) *
                                 sizeof(void *));
#endif
}

int main(void)
{
    RUN_IF(UDFU_CFG_USBD_DFU, valid_configs_are_accepted_and_start_unaddressed);
    RUN_IF(UDFU_CFG_USBD_RT, runtime_config_is_accepted);
    RUN_IF(UDFU_CFG_USBD_DFU, missing_pieces_are_refused);
    RUN(exactly_one_class_is_required);
    RUN_IF(!UDFU_CFG_USBD_DFU || !UDFU_CFG_USBD_RT, a_mode_compiled_out_is_refused);
    RUN_IF(UDFU_CFG_USBD_DFU, bad_ep0_sizes_are_refused);
    RUN_IF(UDFU_CFG_USBD_DFU, dfu_interface_must_be_zero);
    RUN_IF(UDFU_CFG_USBD_RT, runtime_interface_must_be_zero);
    RUN_IF(UDFU_CFG_USBD_DFU, config_descriptor_must_fit_the_buffer);
    RUN_IF(UDFU_CFG_USBD_DFU && UDFU_CFG_MSOS20, msos20_set_must_fit_the_buffer);
    /* plain targets: a DfuSe layout string would not fit 33 bytes either */
    RUN_IF(!UDFU_CFG_USBD_BUF && UDFU_CFG_MSOS20 && UDFU_CFG_PLAIN, bos_must_fit_the_borrowed_buffer_too);
    RUN_IF(UDFU_CFG_USBD_DFU && UDFU_CFG_DFUSE, dfuse_layout_that_does_not_fit_is_refused);
    RUN(instance_state_is_four_bytes_beside_config_and_buffer);
    return test_summary();
}
