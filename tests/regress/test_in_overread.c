/* Bug class: IN replies longer than the field they answer (GETSTATUS
 * returning a whole buffer) and stale data leaking into a reply. Buffers
 * are filled with a canary first; no reply may carry it. */
#include <string.h>

#include "rg.h"
#include "test.h"

static struct fx F;
static struct rg_usb U;

static int has_canary_run(const uint8_t *p, int n)
{
    int i, run = 0;
    for (i = 0; i < n; i++) {
        run = p[i] == RG_CANARY ? run + 1 : 0;
        if (run >= 4)
            return 1;
    }
    return 0;
}

TEST(getstatus_and_getstate_reply_their_field_whatever_wlength)
{
    static const uint16_t lens[] = {64, 255, 4096, 0xFFFF};
    unsigned i;
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        fx_init(&F, RG_CAN);
        CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_GETSTATUS, 0, lens[i], NULL), UDFU_STATUS_LEN);
        CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_GETSTATE, 0, lens[i], NULL), 1);
    }
    /* and no more than asked */
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_GETSTATUS, 0, 3, NULL), 3);
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_GETSTATUS, 0, 0, NULL), 0);
}

TEST(upload_reply_is_memory_only_never_the_buffer_canary)
{
    int n;
    if (UDFU_CFG_PLAIN) {
        fx_init(&F, RG_CAN);
        udfu_dfu_set_alt(&F.dfu, RG_ALT_PLAIN);
        memset(F.buf, RG_CANARY, sizeof F.buf);
        n = fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 0, FX_XFER, NULL);
        CHECK_EQ(n, FX_XFER);
        CHECK_MEM(F.in, F.flash + (RG_APP - FX_FLASH_BASE), FX_XFER);
    }
    /* DfuSe, from the pointer */
    fx_init(&F, RG_CAN);
    memset(F.buf, RG_CANARY, sizeof F.buf);
    CHECK_EQ(fx_set_address(&F, 0x08008000), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL);
    CHECK_EQ(fx_set_address(&F, 0x08008000), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL);
    n = fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 3, 100, NULL);
    CHECK_EQ(n, 100);
    CHECK(!has_canary_run(F.in, n));
}

TEST(upload_of_the_last_block_is_short_and_carries_no_stale_bytes)
{
    /* a 3-region plain target ends at 0x08100000; every reply must be the
     * memory there, never the canary left in the transfer buffer: with
     * wTransferSize blocks (an exact multiple: the last reply is empty)
     * and with 1000-byte blocks (the last one short) */
    static const uint16_t blk[2] = {FX_XFER, 1000};
    uint32_t size = 0x08100000u - RG_APP, off;
    const uint8_t *mem;
    int n = 0, bad;
    fx_init(&F, RG_CAN);
    udfu_dfu_set_alt(&F.dfu, RG_ALT_PLAIN);
    memset(F.flash, 0x3C, sizeof F.flash);
    mem = F.flash + (RG_APP - FX_FLASH_BASE);
    for (int k = 0; k < 2; k++) {
        bad = 0;
        for (off = 0;; off += (uint32_t)n) {
            memset(F.buf, RG_CANARY, sizeof F.buf);
            memset(F.in, RG_CANARY, sizeof F.in);
            n = fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, (uint16_t)(off / blk[k]), blk[k], NULL);
            if (n < 0 || off + (uint32_t)n > size || memcmp(F.in, mem + off, (size_t)n)) {
                bad = 1;
                break;
            }
            if (n < blk[k])
                break;
        }
        CHECK(!bad);
        CHECK_EQ(off + (uint32_t)n, size);
        CHECK_EQ(n, (int)(size % blk[k])); /* 0 for the exact multiple */
        CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_IDLE);
    }
}

TEST(get_commands_reply_is_the_command_list_only)
{
    static const uint8_t want[4] = {0x00, 0x21, 0x41, 0x92};
    int n;
    fx_init(&F, RG_CAN);
    memset(F.buf, RG_CANARY, sizeof F.buf);
    n = fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 0, 64, NULL);
    CHECK_EQ(n, 3); /* no unprotect hook in the fixture */
    CHECK_MEM(F.in, want, 3);
}

TEST(usbd_descriptor_replies_stop_at_the_descriptor)
{
    static const struct {
        uint16_t value;
        int len; /* -1: take wTotalLength, -2: bLength */
    } d[] = {{0x0100, 18}, {0x0200, -1}, {0x0300, 4}, {0x0301, -2}, {0x0304, -2},
             {0x0F00, -1}, {0x2100, 9}};
    unsigned i;
    rg_usb_init(&U, RG_CAN);
    for (i = 0; i < sizeof d / sizeof d[0]; i++) {
        int want;
        memset(U.usbd.buf, RG_CANARY, sizeof U.usbd.buf);
        CHECK_EQ(rg_usb_setup(&U, 0x80, 6, d[i].value, 0, 0xFFFF), RG_IN);
        want = d[i].len >= 0 ? d[i].len
               : d[i].len == -1 ? (U.in_data[2] | U.in_data[3] << 8)
                                : U.in_data[0];
        CHECK_EQ(U.in_len, want);
        CHECK(!has_canary_run(U.in_data, U.in_len));
        udfu_usbd_status_done(&U.usbd);
    }
    /* and cut to wLength */
    CHECK_EQ(rg_usb_setup(&U, 0x80, 6, 0x0200, 0, 9), RG_IN);
    CHECK_EQ(U.in_len, 9);
}

static void no_detach(void *ctx)
{
    (void)ctx;
}

TEST(runtime_status_replies_are_their_field)
{
    struct udfu_rt rt;
    struct udfu_rt_cfg cfg;
    struct udfu_setup s = {0xA1, UDFU_REQ_GETSTATUS, 0, 0, 0xFFFF};
    uint8_t *p = NULL;
    memset(&cfg, 0, sizeof cfg);
    cfg.detach = no_detach;
    CHECK_EQ(udfu_rt_init(&rt, &cfg), 0);
    CHECK_EQ(udfu_rt_setup(&rt, &s, &p), UDFU_STATUS_LEN);
    s.bRequest = UDFU_REQ_GETSTATE;
    CHECK_EQ(udfu_rt_setup(&rt, &s, &p), 1);
}

int main(void)
{
    RUN(getstatus_and_getstate_reply_their_field_whatever_wlength);
    RUN(upload_reply_is_memory_only_never_the_buffer_canary);
    RUN_IF(UDFU_CFG_PLAIN, upload_of_the_last_block_is_short_and_carries_no_stale_bytes);
    RUN(get_commands_reply_is_the_command_list_only);
    RUN(usbd_descriptor_replies_stop_at_the_descriptor);
    RUN(runtime_status_replies_are_their_field);
    return test_summary();
}
