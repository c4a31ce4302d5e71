/* Bug class: the direction bit of bmRequestType not matching the request
 * (Zephyr CVE-2021-3625 took an IN request's wLength as room for OUT data).
 * A request of the wrong direction, type, recipient or interface must
 * stall and change nothing; usbd must not hand it to the class. */
#include <string.h>

#include "rg.h"
#include "test.h"

static struct fx F;
static struct rg_usb U;
static uint8_t junk[FX_XFER];

static uint8_t right_rt(uint8_t req)
{
    return (req == UDFU_REQ_UPLOAD || req == UDFU_REQ_GETSTATUS || req == UDFU_REQ_GETSTATE)
               ? UDFU_RT_IN
               : UDFU_RT_OUT;
}

TEST(dfu_request_of_the_wrong_direction_stalls_and_changes_nothing)
{
    static const int states[] = {UDFU_DFU_IDLE, UDFU_DNLOAD_SYNC, UDFU_DNLOAD_IDLE,
                                 UDFU_MANIFEST_SYNC, UDFU_UPLOAD_IDLE, UDFU_DFU_ERROR};
    static const uint16_t lens[] = {0, 1, 6, FX_XFER};
    unsigned s, l;
    uint8_t req, alt;
    for (alt = 0; alt < 1 + UDFU_CFG_PLAIN; alt++) /* alt 1: plain DFU */
        for (s = 0; s < sizeof states / sizeof states[0]; s++)
            for (req = UDFU_REQ_DETACH; req <= UDFU_REQ_ABORT; req++)
                for (l = 0; l < sizeof lens / sizeof lens[0]; l++) {
                    struct rg_snap before;
                    fx_init(&F, RG_CAN);
                    CHECK_EQ(rg_reach(&F, alt, states[s]), states[s]);
                    rg_snap(&F, &before);
                    CHECK_EQ(fx_req(&F, right_rt(req) ^ 0x80, req, 2, lens[l], junk),
                             UDFU_ERR_STALL);
                    CHECK(rg_same(&F, &before));
                }
}

TEST(request_for_another_interface_type_or_recipient_stalls_and_changes_nothing)
{
    static const uint8_t types[] = {0x20, 0x22, 0x23, 0xA0, 0xA2, 0x41, 0xC1, 0x01, 0x81};
    unsigned i;
    uint8_t req;
    for (i = 0; i < sizeof types / sizeof types[0]; i++)
        for (req = 0; req <= UDFU_REQ_ABORT; req++) {
            struct rg_snap before;
            fx_init(&F, RG_CAN);
            CHECK_EQ(rg_reach(&F, RG_ALT_SHARED, UDFU_DNLOAD_IDLE), UDFU_DNLOAD_IDLE);
            rg_snap(&F, &before);
            CHECK_EQ(fx_req(&F, types[i], req, 0, (types[i] & 0x80) ? 6 : 0, junk),
                     UDFU_ERR_STALL);
            CHECK(rg_same(&F, &before));
        }
    /* the right request, for interface 1 or an interface number in the high byte */
    for (req = 0; req <= UDFU_REQ_ABORT; req++) {
        static const uint16_t idx[] = {1, 0x0100, 0xFFFF};
        for (i = 0; i < 3; i++) {
            struct udfu_setup st = {right_rt(req), req, 0, idx[i], 0};
            uint8_t *p = NULL;
            struct rg_snap before;
            fx_init(&F, RG_CAN);
            rg_snap(&F, &before);
            CHECK_EQ(udfu_dfu_setup(&F.dfu, &st, &p), UDFU_ERR_STALL);
            CHECK(rg_same(&F, &before));
        }
    }
}

TEST(usbd_refuses_class_requests_of_the_wrong_direction_without_a_data_stage)
{
    rg_usb_init(&U, RG_CAN);
    /* UPLOAD sent as OUT with a wLength: no OUT data stage may be set up */
    CHECK_EQ(rg_usb_setup(&U, 0x21, UDFU_REQ_UPLOAD, 2, 0, FX_XFER), RG_STALL);
    CHECK_EQ(U.answers, 1);
    /* DNLOAD sent as IN: nothing may be sent from the buffer */
    CHECK_EQ(rg_usb_setup(&U, 0xA1, UDFU_REQ_DNLOAD, 2, 0, FX_XFER), RG_STALL);
    CHECK_EQ(U.fx.reads, 0);
    CHECK_EQ(udfu_dfu_state(&U.fx.dfu), UDFU_DFU_IDLE);
    CHECK_EQ(udfu_dfu_status(&U.fx.dfu), UDFU_STATUS_OK);
}

TEST(usbd_refuses_standard_requests_of_the_wrong_direction)
{
    rg_usb_init(&U, RG_CAN);
    /* GET_DESCRIPTOR as OUT: a data stage would write into usbd's buffer */
    CHECK_EQ(rg_usb_setup(&U, 0x00, 6, 0x0100, 0, 18), RG_STALL);
    CHECK_EQ(rg_usb_setup(&U, 0x00, 6, 0x0200, 0, 255), RG_STALL);
    /* SET_INTERFACE / SET_CONFIGURATION as IN */
    CHECK_EQ(rg_usb_setup(&U, 0x81, 11, 1, 0, 0), RG_STALL);
    CHECK_EQ(U.fx.dfu.alt, 0);
    CHECK_EQ(rg_usb_setup(&U, 0x80, 9, 0, 0, 0), RG_STALL);
    CHECK_EQ(U.usbd.configuration, 1);
    /* a standard OUT request with a data stage is never received */
    CHECK_EQ(rg_usb_setup(&U, 0x00, 9, 1, 0, 64), RG_STALL);
}

int main(void)
{
    RUN(dfu_request_of_the_wrong_direction_stalls_and_changes_nothing);
    RUN(request_for_another_interface_type_or_recipient_stalls_and_changes_nothing);
    RUN(usbd_refuses_class_requests_of_the_wrong_direction_without_a_data_stage);
    RUN(usbd_refuses_standard_requests_of_the_wrong_direction);
    return test_summary();
}
