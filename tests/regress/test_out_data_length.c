/* Bug class: OUT data longer or shorter than wLength, and a new SETUP in
 * the middle of a data stage. The data stage is taken only whole; anything
 * else stalls and queues no work. */
#include <string.h>

#include "rg.h"
#include "test.h"

static struct fx F;
static struct rg_usb U;

TEST(short_or_long_data_stage_stalls_and_writes_nothing)
{
    static const uint16_t got[] = {0, 1, 63, 65, 1024, 0xFFFF};
    unsigned i;
    for (i = 0; i < sizeof got / sizeof got[0]; i++) {
        struct udfu_setup s = {0x21, UDFU_REQ_DNLOAD, 0, 0, 64};
        uint8_t *p = NULL;
        fx_init(&F, RG_CAN);
        CHECK_EQ(udfu_dfu_set_alt(&F.dfu, RG_ALT_SHARED), 0);
        CHECK_EQ(udfu_dfu_setup(&F.dfu, &s, &p), 64);
        CHECK_EQ(udfu_dfu_data(&F.dfu, got[i]), UDFU_ERR_STALL);
        CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_ERROR);
        fx_advance(&F, 1000);
        CHECK_EQ(F.progs + F.erases, 0);
        CHECK(!udfu_dfu_busy(&F.dfu));
    }
}

TEST(new_setup_during_a_data_stage_drops_it)
{
    struct udfu_setup dn = {0x21, UDFU_REQ_DNLOAD, 0, 0, 64};
    struct udfu_setup gs = {0xA1, UDFU_REQ_GETSTATUS, 0, 0, 6};
    uint8_t *p = NULL, *q = NULL;
    fx_init(&F, RG_CAN);
    CHECK_EQ(udfu_dfu_set_alt(&F.dfu, RG_ALT_SHARED), 0);
    CHECK_EQ(udfu_dfu_setup(&F.dfu, &dn, &p), 64);
    CHECK_EQ(udfu_dfu_setup(&F.dfu, &gs, &q), 6);
    CHECK_EQ(udfu_dfu_data(&F.dfu, 64), UDFU_ERR_STALL); /* the late data */
    fx_advance(&F, 1000);
    CHECK_EQ(F.progs + F.erases, 0);
}

TEST(usbd_stalls_an_out_stage_of_the_wrong_length)
{
    rg_usb_init(&U, RG_CAN);
    CHECK_EQ(udfu_dfu_set_alt(&U.fx.dfu, RG_ALT_SHARED), 0);
    CHECK_EQ(rg_usb_setup(&U, 0x21, UDFU_REQ_DNLOAD, 0, 0, 64), RG_OUT);
    U.last = RG_NONE;
    udfu_usbd_out_done(&U.usbd, 65);
    CHECK_EQ(U.last, RG_STALL);
    CHECK_EQ(rg_usb_setup(&U, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, 0), RG_ACK);
    udfu_usbd_status_done(&U.usbd);
    CHECK_EQ(rg_usb_setup(&U, 0x21, UDFU_REQ_DNLOAD, 0, 0, 64), RG_OUT);
    U.last = RG_NONE;
    udfu_usbd_out_done(&U.usbd, 10);
    CHECK_EQ(U.last, RG_STALL);
    /* a data stage after a new SETUP took over is ignored */
    CHECK_EQ(rg_usb_setup(&U, 0xA1, UDFU_REQ_GETSTATE, 0, 0, 1), RG_IN);
    U.answers = 0;
    udfu_usbd_out_done(&U.usbd, 64);
    CHECK_EQ(U.answers, 0);
    fx_advance(&U.fx, 1000);
    CHECK_EQ(U.fx.progs + U.fx.erases, 0);
}

int main(void)
{
    RUN(short_or_long_data_stage_stalls_and_writes_nothing);
    RUN(new_setup_during_a_data_stage_drops_it);
    RUN(usbd_stalls_an_out_stage_of_the_wrong_length);
    return test_summary();
}
