/* Bug class: wLength larger than the transfer buffer on DNLOAD or UPLOAD
 * (Zephyr CVE-2020-10019, U-Boot CVE-2022-2347, TinyUSB #880). The device
 * must refuse before any byte moves, and never write past its buffer. */
#include <string.h>

#include "rg.h"
#include "test.h"

static struct fx F;
static struct rg_usb U;

static int buffer_untouched(const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != RG_CANARY)
            return 0;
    return 1;
}

TEST(dnload_longer_than_wtransfersize_stalls_before_the_data_stage)
{
    static const uint16_t lens[] = {FX_XFER + 1, 2 * FX_XFER, 4096, 0xFFFF};
    unsigned i;
    uint8_t alt;
    for (alt = 0; alt < 1 + UDFU_CFG_PLAIN; alt++) { /* alt 1: plain DFU */
        for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            uint8_t *p = NULL;
            struct udfu_setup s = {0x21, UDFU_REQ_DNLOAD, 2, 0, lens[i]};
            fx_init(&F, RG_CAN);
            udfu_dfu_set_alt(&F.dfu, alt);
            memset(F.buf, RG_CANARY, sizeof F.buf);
            CHECK_EQ(udfu_dfu_setup(&F.dfu, &s, &p), UDFU_ERR_STALL);
            CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_ERROR);
            /* a data stage the host sends anyway is refused too */
            CHECK_EQ(udfu_dfu_data(&F.dfu, lens[i]), UDFU_ERR_STALL);
            fx_advance(&F, 1000);
            CHECK(buffer_untouched(F.buf, sizeof F.buf));
            CHECK_EQ(F.erases + F.progs, 0);
        }
    }
}

TEST(upload_longer_than_wtransfersize_stalls_without_reading)
{
    static const uint16_t lens[] = {FX_XFER + 1, 4096, 0xFFFF};
    unsigned i;
    uint8_t alt;
    for (alt = 0; alt < 1 + UDFU_CFG_PLAIN; alt++) { /* alt 1: plain DFU */
        for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            fx_init(&F, RG_CAN);
            udfu_dfu_set_alt(&F.dfu, alt);
            memset(F.buf, RG_CANARY, sizeof F.buf);
            CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, alt ? 0 : 2, lens[i], NULL),
                     UDFU_ERR_STALL);
            CHECK_EQ(F.reads, 0);
            CHECK(buffer_untouched(F.buf, sizeof F.buf));
        }
    }
}

TEST(usbd_never_asks_the_controller_for_more_out_data_than_wtransfersize)
{
    rg_usb_init(&U, RG_CAN);
    CHECK_EQ(rg_usb_setup(&U, 0x21, UDFU_REQ_DNLOAD, 2, 0, 0xFFFF), RG_STALL);
    CHECK_EQ(rg_usb_setup(&U, 0x21, UDFU_REQ_DNLOAD, 2, 0, FX_XFER + 1), RG_STALL);
    udfu_dfu_reset(&U.fx.dfu);
    fx_req(&U.fx, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    CHECK_EQ(rg_usb_setup(&U, 0x21, UDFU_REQ_DNLOAD, 2, 0, FX_XFER), RG_OUT);
    CHECK(U.out_buf == U.fx.buf);
    CHECK_EQ(U.out_len, FX_XFER);
    CHECK_EQ(U.answers, 1);
}

TEST(usbd_never_sends_more_upload_data_than_wtransfersize)
{
    rg_usb_init(&U, RG_CAN);
    CHECK_EQ(rg_usb_setup(&U, 0xA1, UDFU_REQ_UPLOAD, 2, 0, 0xFFFF), RG_STALL);
    CHECK_EQ(U.fx.reads, 0);
    fx_req(&U.fx, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    CHECK_EQ(rg_usb_setup(&U, 0xA1, UDFU_REQ_UPLOAD, 2, 0, FX_XFER), RG_IN);
    CHECK_EQ(U.in_len, FX_XFER);
    CHECK(U.in_data == U.fx.buf);
}

/* Finding: dfuse.c writes the 3 or 4 bytes of the Get Commands list into
 * the transfer buffer whatever wTransferSize is, so a DfuSe target with a
 * transfer size below 4 gets its buffer overrun by an UPLOAD of block 0. */
TEST(get_commands_never_writes_past_a_small_transfer_buffer)
{
    uint16_t xfer;
    for (xfer = 1; xfer <= 4; xfer++) {
        int n;
        fx_init(&F, RG_CAN);
        F.cfg.unprotect = NULL;
        F.cfg.transfer_size = xfer; /* the buffer the integrator gave has xfer bytes */
        memset(F.buf, RG_CANARY, sizeof F.buf);
        n = fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 0, xfer, NULL);
        CHECK(n >= 0 && n <= xfer);
        CHECK(buffer_untouched(F.buf + xfer, sizeof F.buf - xfer));
    }
}

int main(void)
{
    RUN(dnload_longer_than_wtransfersize_stalls_before_the_data_stage);
    RUN(upload_longer_than_wtransfersize_stalls_without_reading);
    RUN(usbd_never_asks_the_controller_for_more_out_data_than_wtransfersize);
    RUN(usbd_never_sends_more_upload_data_than_wtransfersize);
    RUN(get_commands_never_writes_past_a_small_transfer_buffer);
    return test_summary();
}
