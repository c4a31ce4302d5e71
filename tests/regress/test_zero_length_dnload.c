/* Bug class: a zero-length DNLOAD in a state that does not expect it
 * (Zephyr #112559 dereferenced NULL there). It ends a download only in
 * dfuDNLOAD-IDLE (and, for DfuSe, starts a leave from dfuIDLE); in every
 * other state it stalls into dfuERROR and starts nothing. */
#include <string.h>

#include "rg.h"
#include "test.h"

static struct fx F;

static const int all_states[] = {UDFU_DFU_IDLE,       UDFU_DNLOAD_SYNC,   UDFU_DNBUSY,
                                 UDFU_DNLOAD_IDLE,    UDFU_MANIFEST_SYNC, UDFU_MANIFEST,
                                 UDFU_MANIFEST_WAIT_RESET, UDFU_UPLOAD_IDLE, UDFU_DFU_ERROR};

static int accepted_in(uint8_t alt, int st)
{
    return st == UDFU_DNLOAD_IDLE || (alt == RG_ALT_DFUSE && st == UDFU_DFU_IDLE);
}

TEST(zero_length_dnload_in_every_state)
{
    unsigned i;
    uint8_t alt;
    for (alt = 0; alt < 1 + UDFU_CFG_PLAIN; alt++) /* alt 1: plain DFU */
        for (i = 0; i < sizeof all_states / sizeof all_states[0]; i++) {
            int st = all_states[i], reached, n, manifests;
            fx_init(&F, RG_CAN);
            reached = rg_reach(&F, alt, st);
            if (reached != st)
                continue; /* dfuMANIFEST-WAIT-RESET has no DfuSe path */
            manifests = F.manifests;
            n = fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, 0, NULL);
            if (accepted_in(alt, st)) {
                CHECK_EQ(n, 0);
                CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_MANIFEST_SYNC);
            } else {
                CHECK_EQ(n, UDFU_ERR_STALL);
                CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_ERROR);
                CHECK_EQ(udfu_dfu_status(&F.dfu), UDFU_STATUS_ERR_STALLEDPKT);
                /* nothing new starts: no manifestation, no leave */
                fx_advance(&F, 10000);
                if (st != UDFU_MANIFEST && st != UDFU_MANIFEST_WAIT_RESET) {
                    CHECK_EQ(F.manifests, manifests);
                    CHECK_EQ(F.leaves, 0);
                }
            }
        }
}

TEST(zero_length_dnload_never_programs_zero_bytes)
{
    unsigned i;
    for (i = 0; i < sizeof all_states / sizeof all_states[0]; i++) {
        int progs;
        fx_init(&F, RG_CAN);
        if (rg_reach(&F, RG_ALT_PLAIN, all_states[i]) != all_states[i])
            continue;
        fx_advance(&F, 100);
        if (F.pending)
            fx_finish(&F, 0);
        fx_advance(&F, 100);
        progs = F.progs;
        fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, 0, NULL);
        fx_advance(&F, 1000);
        if (F.pending)
            fx_finish(&F, 0);
        fx_advance(&F, 1000);
        CHECK_EQ(F.progs, progs);
    }
}

TEST(plain_download_of_nothing_is_refused_not_manifested)
{
    fx_init(&F, RG_CAN);
    udfu_dfu_set_alt(&F.dfu, RG_ALT_PLAIN);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, 0, NULL), UDFU_ERR_STALL);
    fx_advance(&F, 5000);
    CHECK_EQ(F.manifests, 0);
    CHECK_EQ(F.leaves, 0);
}

TEST(zero_length_dnload_through_usbd_has_no_data_stage)
{
    static struct rg_usb u;
    rg_usb_init(&u, RG_CAN);
    udfu_dfu_set_alt(&u.fx.dfu, RG_ALT_PLAIN);
    CHECK_EQ(rg_usb_setup(&u, 0x21, UDFU_REQ_DNLOAD, 0, 0, 0), RG_STALL);
    CHECK_EQ(u.answers, 1);
}

int main(void)
{
    RUN(zero_length_dnload_in_every_state);
    RUN_IF(UDFU_CFG_PLAIN, zero_length_dnload_never_programs_zero_bytes);
    RUN_IF(UDFU_CFG_PLAIN, plain_download_of_nothing_is_refused_not_manifested);
    RUN_IF(UDFU_CFG_PLAIN, zero_length_dnload_through_usbd_has_no_data_stage);
    return test_summary();
}
