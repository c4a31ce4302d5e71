/* Bug class: long operations run inside the USB interrupt, or requests
 * held (NAKed) for seconds: hosts time out after 5 s. No erase, program,
 * verify, manifestation or leave may happen inside a USB event
 * (setup/data/status/reset); only udfu_dfu_task() starts them, one step at
 * a time, and every status reply promises a bounded wait. */
#include <string.h>

#include "rg.h"
#include "test.h"

static struct fx F;

static int work(const struct fx *f)
{
    return f->erases + f->progs + f->manifests + f->leaves;
}

TEST(no_memory_work_inside_setup_data_status_or_reset)
{
    static uint8_t img[FX_XFER];
    uint8_t erase[5] = {0x41, 0x00, 0x40, 0x00, 0x08};
    struct udfu_setup dn = {0x21, UDFU_REQ_DNLOAD, 0, 0, FX_XFER};
    uint8_t *p = NULL;
    int before;
    rg_pattern(img, sizeof img, 3);
    /* plain block */
    if (UDFU_CFG_PLAIN) {
        fx_init(&F, RG_CAN);
        udfu_dfu_set_alt(&F.dfu, RG_ALT_PLAIN);
        before = work(&F);
        CHECK_EQ(udfu_dfu_setup(&F.dfu, &dn, &p), FX_XFER);
        memcpy(p, img, FX_XFER);
        CHECK_EQ(udfu_dfu_data(&F.dfu, FX_XFER), 0);
        udfu_dfu_status_done(&F.dfu);
        fx_status(&F, NULL, NULL);
        CHECK_EQ(work(&F), before);
        fx_task(&F);
        CHECK(work(&F) > before);
    }
    /* DfuSe erase command, and the end of a download with a reset */
    fx_init(&F, RG_CAN);
    before = work(&F);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, 5, erase), 5);
    fx_status(&F, NULL, NULL);
    CHECK_EQ(work(&F), before);
    fx_task(&F);
    CHECK_EQ(F.erases, 1);
    fx_wait(&F);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, 0, NULL), 0);
    before = work(&F);
    fx_status(&F, NULL, NULL);
    udfu_dfu_reset(&F.dfu);
    CHECK_EQ(work(&F), before);
}

TEST(mass_erase_is_split_so_no_single_wait_nears_5_seconds)
{
    int i;
    fx_init(&F, RG_CAN);
    F.async = 1;
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, 1, "\x41"), 1);
    fx_task(&F);
    for (i = 0; i < 100 && udfu_dfu_busy(&F.dfu); i++) {
        uint32_t poll = 0;
        int st = fx_status(&F, &poll, NULL);
        CHECK(st == UDFU_DNBUSY || st == UDFU_DNLOAD_IDLE);
        CHECK(poll < 5000);
        fx_advance(&F, poll);
        if (F.pending)
            fx_finish(&F, 0);
        fx_task(&F);
    }
    CHECK(!udfu_dfu_busy(&F.dfu));
    CHECK(F.erases > 1);
}

int main(void)
{
    RUN(no_memory_work_inside_setup_data_status_or_reset);
    RUN(mass_erase_is_split_so_no_single_wait_nears_5_seconds);
    return test_summary();
}
