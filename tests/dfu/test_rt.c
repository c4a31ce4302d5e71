/* Run-time class: appIDLE / appDETACH, the detach timer, bitWillDetach. */
#include <string.h>

#include "test.h"
#include "udfu_rt.h"

static int detached;
static void on_detach(void *ctx)
{
    (void)ctx;
    detached++;
}

static struct udfu_rt R;
static struct udfu_rt_cfg C;
static uint8_t in[8];

static void rt_init(uint8_t attr)
{
    detached = 0;
    C.context = NULL;
    C.interface = 0;
    C.attributes = attr;
    C.detach_timeout_ms = 1000;
    C.transfer_size = 1024;
    C.detach = on_detach;
    udfu_rt_init(&R, &C);
    udfu_rt_task(&R, 5000);
}

static int req(uint8_t rt, uint8_t r, uint16_t value, uint16_t len)
{
    struct udfu_setup s = {rt, r, value, 0, len};
    uint8_t *data = NULL;
    int n = udfu_rt_setup(&R, &s, &data);
    if (n > 0)
        memcpy(in, data, (size_t)n);
    if (n >= 0)
        udfu_rt_status_done(&R);
    return n;
}

TEST(getstatus_reports_appidle)
{
    rt_init(0);
    CHECK_EQ(req(0xA1, UDFU_REQ_GETSTATUS, 0, 6), 6);
    CHECK_EQ(in[0], 0);
    CHECK_EQ(in[4], UDFU_APP_IDLE);
    CHECK_EQ(req(0xA1, UDFU_REQ_GETSTATE, 0, 1), 1);
    CHECK_EQ(in[0], UDFU_APP_IDLE);
}

TEST(detach_then_reset_hands_off)
{
    rt_init(0);
    CHECK_EQ(req(0x21, UDFU_REQ_DETACH, 1000, 0), 0);
    CHECK_EQ(udfu_rt_state(&R), UDFU_APP_DETACH);
    udfu_rt_task(&R, 5500);
    CHECK_EQ(detached, 0); /* no bitWillDetach: waits for the host's reset */
    udfu_rt_reset(&R);
    udfu_rt_task(&R, 5501);
    CHECK_EQ(detached, 1);
}

TEST(detach_timer_expiry_returns_to_appidle)
{
    rt_init(0);
    CHECK_EQ(req(0x21, UDFU_REQ_DETACH, 5000, 0), 0);
    /* wValue above wDetachTimeOut is clamped to it */
    udfu_rt_task(&R, 6001);
    CHECK_EQ(udfu_rt_state(&R), UDFU_APP_IDLE);
    udfu_rt_reset(&R);
    udfu_rt_task(&R, 6002);
    CHECK_EQ(detached, 0);
}

TEST(will_detach_detaches_after_reply)
{
    rt_init(UDFU_ATTR_WILL_DETACH);
    CHECK_EQ(req(0x21, UDFU_REQ_DETACH, 1000, 0), 0);
    udfu_rt_task(&R, 5001);
    CHECK_EQ(detached, 1);
}

TEST(illegal_requests_stall_and_return_to_appidle)
{
    rt_init(0);
    CHECK_EQ(req(0x21, UDFU_REQ_DETACH, 1000, 0), 0);
    CHECK_EQ(req(0x21, UDFU_REQ_DNLOAD, 0, 0), UDFU_ERR_STALL);
    CHECK_EQ(udfu_rt_state(&R), UDFU_APP_IDLE);
    CHECK_EQ(req(0xA1, UDFU_REQ_UPLOAD, 0, 64), UDFU_ERR_STALL);
    CHECK_EQ(req(0x21, UDFU_REQ_CLRSTATUS, 0, 0), UDFU_ERR_STALL);
    CHECK_EQ(req(0x21, UDFU_REQ_ABORT, 0, 0), UDFU_ERR_STALL);
    CHECK_EQ(req(0x21, 7, 0, 0), UDFU_ERR_STALL);
    CHECK_EQ(req(0x21, UDFU_REQ_DETACH, 1000, 4), UDFU_ERR_STALL);
    udfu_rt_reset(&R);
    udfu_rt_task(&R, 5001);
    CHECK_EQ(detached, 0);
}

TEST(status_reply_truncated_to_wlength)
{
    rt_init(0);
    in[1] = 0x55;
    CHECK_EQ(req(0xA1, UDFU_REQ_GETSTATUS, 0, 1), 1);
    CHECK_EQ(in[1], 0x55);
    CHECK_EQ(req(0xA1, UDFU_REQ_GETSTATUS, 0, 0), 0);
}

int main(void)
{
    RUN(getstatus_reports_appidle);
    RUN(detach_then_reset_hands_off);
    RUN(detach_timer_expiry_returns_to_appidle);
    RUN(will_detach_detaches_after_reply);
    RUN(illegal_requests_stall_and_return_to_appidle);
    RUN(status_reply_truncated_to_wlength);
    return test_summary();
}
