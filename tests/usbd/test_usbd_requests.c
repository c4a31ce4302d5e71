/*
 * test_usbd_requests.c - usbd's control endpoint against a fake controller:
 * chapter-9 requests, the Microsoft OS 2.0 vendor request, transfer stages,
 * bus reset, and class requests routed to the DFU and run-time classes.
 */
#include <string.h>

#include "fake_dcd.h"
#include "test.h"
#include "udfu_util.h"

static struct fixture fx;
#define U (&fx.usbd)
#define F (&fx.dcd)

/* bmRequestType values */
#define H2D_STD_DEV 0x00
#define H2D_STD_IF 0x01
#define H2D_STD_EP 0x02
#define D2H_STD_DEV 0x80
#define D2H_STD_IF 0x81
#define D2H_STD_EP 0x82

/* Tests of one mode run in the builds that have it (udfu_opt.h). */
#define RUN_DFU(name) RUN_IF(UDFU_CFG_USBD_DFU, name)
#define RUN_RT(name) RUN_IF(UDFU_CFG_USBD_RT, name)

static const char guid[] = "{3D4B2B0E-6E5A-4C5D-9C8B-0A1B2C3D4E5F}";

TEST(get_device_descriptor_is_truncated_to_wlength)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    /* Hosts first read 8 (or 64) bytes of the device descriptor at address 0. */
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0100, 0, 8), FD_IN);
    CHECK_EQ(F->len, 8);
    CHECK_EQ(F->zlp, 0);
    CHECK_EQ(F->data[0], 18);
    CHECK_EQ(F->data[7], 64);
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0100, 0, 64), FD_IN);
    CHECK_EQ(F->len, 18); /* shorter than asked, not a multiple of 64: no zlp */
    CHECK_EQ(F->zlp, 0);
    CHECK_EQ(F->data[1], 1);
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0200, 0, 9), FD_IN);
    CHECK_EQ(F->len, 9);
    CHECK_EQ(udfu_get16(F->data + 2), 9 + 2 * 9 + 9); /* wTotalLength of the whole */
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0200, 0, 0xFF), FD_IN);
    CHECK_EQ(F->len, 36);
}

TEST(short_reply_filling_its_last_packet_ends_with_a_zlp)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    fx.ucfg.ep0_size = 8;
    fx.ucfg.manufacturer = "manufacturer 15"; /* 2 + 2 * 15 = 32 bytes */
    fx_reinit(&fx);
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0301, 0x0409, 0xFF), FD_IN);
    CHECK_EQ(F->len, 32);
    CHECK_EQ(F->zlp, 1);
    /* Exactly what was asked: the host stops by itself, no zlp. */
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0301, 0x0409, 32), FD_IN);
    CHECK_EQ(F->len, 32);
    CHECK_EQ(F->zlp, 0);
    /* Truncated to a packet multiple: also no zlp. */
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0301, 0x0409, 16), FD_IN);
    CHECK_EQ(F->len, 16);
    CHECK_EQ(F->zlp, 0);
    /* Not a multiple of the packet size: the short packet ends it. */
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0302, 0x0409, 0xFF), FD_IN);
    CHECK_EQ(F->len, 2 + 2 * 16);
    CHECK_EQ(F->zlp, 0);
    fx.ucfg.ep0_size = 64;
    fx_reinit(&fx);
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0301, 0x0409, 0xFF), FD_IN);
    CHECK_EQ(F->zlp, 0);
}

TEST(string_requests_by_index)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0300, 0, 0xFF), FD_IN);
    CHECK_EQ(F->len, 4);
    CHECK_EQ(udfu_get16(F->data + 2), 0x0409);
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0304, 0x0409, 0xFF), FD_IN);
    CHECK_EQ(F->len, 12);
    CHECK_EQ(F->data[2], 'F');
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0306, 0x0409, 0xFF), FD_STALL);
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x03EE, 0, 0x12), FD_STALL); /* no MS OS 1.0 */
}

TEST(unknown_descriptors_stall)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0600, 0, 10), FD_STALL); /* qualifier: FS only */
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0201, 0, 0xFF), FD_STALL); /* one config only */
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0400, 0, 9), FD_STALL);
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0F00, 0, 5), FD_STALL); /* BOS off */
    CHECK_EQ(F->stalls, 4);
    CHECK_EQ(F->ins, 0);
}

TEST(functional_descriptor_on_request)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    /* libusb_get_descriptor() (dfu-util's fallback) asks the device. */
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x2100, 0, 9), FD_IN);
    CHECK_EQ(F->len, 9);
    CHECK_EQ(F->data[1], 0x21);
    CHECK_EQ(udfu_get16(F->data + 5), 256);
    CHECK_EQ(fd_setup(U, F, D2H_STD_IF, 6, 0x2100, 0, 0xFF), FD_IN);
    CHECK_EQ(F->len, 9);
    CHECK_EQ(fd_setup(U, F, D2H_STD_IF, 6, 0x2100, 1, 0xFF), FD_STALL); /* no interface 1 */
    CHECK_EQ(fd_setup(U, F, D2H_STD_IF, 6, 0x0100, 0, 18), FD_STALL);   /* device desc */
}

TEST(set_address_takes_effect_after_the_status_stage)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(fd_setup(U, F, H2D_STD_DEV, 5, 23, 0, 0), FD_ACK);
    CHECK_EQ(F->addrs, 0);
    CHECK_EQ(U->address, 0);
    udfu_usbd_status_done(U);
    CHECK_EQ(F->addrs, 1);
    CHECK_EQ(F->address, 23);
    CHECK_EQ(U->address, 23);
    udfu_usbd_status_done(U); /* a spurious second status: nothing */
    CHECK_EQ(F->addrs, 1);
}

TEST(set_address_cancelled_by_a_new_setup_is_not_applied)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(fd_setup(U, F, H2D_STD_DEV, 5, 23, 0, 0), FD_ACK);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 0, 0, 0, 2), FD_IN);
    CHECK_EQ(F->addrs, 0);
    CHECK_EQ(U->address, 0);
}

TEST(set_address_127_and_0_are_applied)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(fd_setup(U, F, H2D_STD_DEV, 5, 127, 0, 0), FD_ACK);
    udfu_usbd_out_done(U, 0); /* a stray OUT completion: ignored */
    CHECK_EQ(F->acks + F->stalls, 1);
    CHECK_EQ(U->address, 0);
    udfu_usbd_status_done(U);
    CHECK_EQ(F->addrs, 1);
    CHECK_EQ(F->address, 127);
    CHECK_EQ(U->address, 127);
    /* The status stage of the next transfer applies nothing more. */
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 8, 0, 0, 1), FD_IN);
    CHECK_EQ(F->addrs, 1);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_DEV, 5, 0, 0, 0), FD_ACK);
    CHECK_EQ(F->addrs, 2);
    CHECK_EQ(F->address, 0);
    CHECK_EQ(U->address, 0);
}

TEST(set_address_refuses_bad_values)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_DEV, 5, 128, 0, 0), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_IF, 5, 3, 0, 0), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 5, 3, 0, 0), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_DEV, 5, 3, 0, 1), FD_STALL); /* OUT data */
    CHECK_EQ(F->addrs, 0);
    CHECK_EQ(U->address, 0);
}

TEST(set_and_get_configuration)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 8, 0, 0, 1), FD_IN);
    CHECK_EQ(F->len, 1);
    CHECK_EQ(F->data[0], 0);
    fx_configure(&fx);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 8, 0, 0, 1), FD_IN);
    CHECK_EQ(F->data[0], 1);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_DEV, 9, 2, 0, 0), FD_STALL);
    CHECK_EQ(U->configuration, 1);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_IF, 8, 0, 0, 1), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_DEV, 9, 0, 0, 0), FD_ACK);
    CHECK_EQ(U->configuration, 0);
}

TEST(get_status_of_device_interface_endpoint)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 0, 0, 0, 2), FD_IN);
    CHECK_EQ(F->len, 2);
    CHECK_EQ(udfu_get16(F->data), 0);
    fx.ucfg.self_powered = 1;
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 0, 0, 0, 2), FD_IN);
    CHECK_EQ(udfu_get16(F->data), 1);
    /* The interface does not exist before SET_CONFIGURATION. */
    CHECK_EQ(fd_xfer(U, F, D2H_STD_IF, 0, 0, 0, 2), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_EP, 0, 0, 0x80, 2), FD_IN);
    CHECK_EQ(udfu_get16(F->data), 0);
    fx_configure(&fx);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_IF, 0, 0, 0, 2), FD_IN);
    CHECK_EQ(udfu_get16(F->data), 0);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_IF, 0, 0, 1, 2), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_EP, 0, 0, 0x00, 2), FD_IN);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_EP, 0, 0, 0x81, 2), FD_STALL); /* no such endpoint */
    CHECK_EQ(fd_xfer(U, F, D2H_STD_EP, 0, 0, 0x01, 2), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, 0x83, 0, 0, 0, 2), FD_STALL); /* recipient "other" */
    CHECK_EQ(fd_xfer(U, F, H2D_STD_DEV, 0, 0, 0, 0), FD_STALL); /* wrong direction */
}

TEST(features_only_endpoint_zero_halt)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    fx_configure(&fx);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_EP, 1, 0, 0x00, 0), FD_ACK);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_EP, 3, 0, 0x80, 0), FD_ACK);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_EP, 3, 0, 0x01, 0), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_DEV, 3, 1, 0, 0), FD_STALL); /* DEVICE_REMOTE_WAKEUP */
    CHECK_EQ(fd_xfer(U, F, H2D_STD_DEV, 1, 1, 0, 0), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_DEV, 3, 2, 0, 0), FD_STALL); /* TEST_MODE */
    CHECK_EQ(fd_xfer(U, F, H2D_STD_IF, 3, 0, 0, 0), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_EP, 1, 0, 0, 0), FD_STALL);
    /* Halt and status of EP0 stay clear. */
    CHECK_EQ(fd_xfer(U, F, D2H_STD_EP, 0, 0, 0, 2), FD_IN);
    CHECK_EQ(udfu_get16(F->data), 0);
}

TEST(set_interface_selects_the_dfu_alt_setting)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_IF, 11, 1, 0, 0), FD_STALL); /* not configured */
    CHECK_EQ(fd_xfer(U, F, D2H_STD_IF, 10, 0, 0, 1), FD_STALL);
    fx_configure(&fx);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_IF, 10, 0, 0, 1), FD_IN);
    CHECK_EQ(F->data[0], 0);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_IF, 11, 1, 0, 0), FD_ACK);
    CHECK_EQ(fx.dfu.alt, 1);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_IF, 10, 0, 0, 1), FD_IN);
    CHECK_EQ(F->data[0], 1);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_IF, 11, 2, 0, 0), FD_STALL); /* no third target */
    CHECK_EQ(fd_xfer(U, F, H2D_STD_IF, 11, 0x100, 0, 0), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_IF, 11, 0, 1, 0), FD_STALL); /* no interface 1 */
    CHECK_EQ(U->alt, 1);
    CHECK_EQ(fx.dfu.alt, 1);
    /* A (re)configuration starts over at alt 0. */
    fx_configure(&fx);
    CHECK_EQ(U->alt, 0);
    CHECK_EQ(fx.dfu.alt, 0);
}

TEST(unknown_and_misdirected_standard_requests_stall)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    fx_configure(&fx);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_DEV, 7, 0x0100, 0, 18), FD_STALL); /* SET_DESCRIPTOR */
    CHECK_EQ(fd_xfer(U, F, D2H_STD_EP, 12, 0, 0x81, 2), FD_STALL);    /* SYNCH_FRAME */
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 2, 0, 0, 0), FD_STALL);       /* reserved */
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 0x30, 0, 0, 2), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_DEV, 6, 0x0100, 0, 0), FD_STALL); /* GET_DESCRIPTOR OUT */
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 9, 1, 0, 0), FD_STALL);      /* SET_CONFIGURATION IN */
    CHECK_EQ(fd_xfer(U, F, H2D_STD_DEV, 9, 1, 0, 2), FD_STALL);      /* ... with OUT data */
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 10, 0, 0, 1), FD_STALL);     /* GET_INTERFACE to device */
    CHECK_EQ(fd_xfer(U, F, H2D_STD_EP, 11, 0, 0, 0), FD_STALL);      /* SET_INTERFACE to EP */
    CHECK_EQ(fd_xfer(U, F, 0xE0, 0, 0, 0, 2), FD_STALL);             /* reserved type */
    CHECK_EQ(F->ins, 0);
    CHECK_EQ(F->acks, 1); /* only fx_configure's */
}

TEST(msos20_vendor_request_returns_the_set)
{
    int n;
    uint8_t set[256];
    static uint8_t xfer[256];
    fx_dfu(&fx, fx_plain_targets, 2);
    if (!UDFU_CFG_USBD_BUF) { /* usbd borrows the class buffer: the set must fit */
        fx.dcfg.buffer = xfer;
        fx.dcfg.transfer_size = sizeof xfer;
    }
    fx.ucfg.ms_vendor_code = 0x42;
    fx.ucfg.ms_guid = guid;
    fx_reinit(&fx);
    n = udfu_usbd_msos2_desc(&fx.ucfg, set, sizeof set);
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0100, 0, 18), FD_IN);
    CHECK_EQ(udfu_get16(F->data + 2), 0x0201);
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0F00, 0, 5), FD_IN);
    CHECK_EQ(F->len, 5);
    CHECK_EQ(udfu_get16(F->data + 2), 33);
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0F00, 0, 33), FD_IN);
    CHECK_EQ(udfu_get16(F->data + 5 + 24), n);
    CHECK_EQ(F->data[5 + 26], 0x42);
    CHECK_EQ(fd_xfer(U, F, 0xC0, 0x42, 0, 7, 0xFFFF), FD_IN);
    CHECK_EQ(F->len, n);
    CHECK_MEM(F->data, set, (size_t)n);
    CHECK_EQ(fd_xfer(U, F, 0xC0, 0x42, 0, 8, 0xFFFF), FD_STALL); /* alt enumeration: no */
    CHECK_EQ(fd_xfer(U, F, 0xC0, 0x41, 0, 7, 0xFFFF), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, 0xC1, 0x42, 0, 7, 0xFFFF), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, 0x40, 0x42, 0, 7, 0), FD_STALL);
    fx.ucfg.ms_vendor_code = 0;
    fx_reinit(&fx);
    CHECK_EQ(fd_xfer(U, F, 0xC0, 0x00, 0, 7, 0xFFFF), FD_STALL);
}

/* Compiled out: no BOS, no vendor request, USB 2.00, whatever the config
 * says. */
TEST(without_msos20_bos_and_the_vendor_request_stall)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    fx.ucfg.ms_vendor_code = 0x42;
    fx.ucfg.ms_guid = guid;
    fx_reinit(&fx);
    CHECK_EQ(fd_setup(U, F, D2H_STD_DEV, 6, 0x0100, 0, 18), FD_IN);
    CHECK_EQ(udfu_get16(F->data + 2), 0x0200);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 6, 0x0F00, 0, 5), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 6, 0x0F00, 0, 0xFF), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, 0xC0, 0x42, 0, 7, 0xFFFF), FD_STALL);
    CHECK_EQ(F->stalls, 3);
    CHECK_EQ(F->ins, 1);
}

TEST(class_requests_need_the_configured_dfu_interface)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, 0, 6), FD_STALL);
    fx_configure(&fx);
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, 1, 6), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, 0xA0, UDFU_REQ_GETSTATUS, 0, 0, 6), FD_STALL); /* to device */
    CHECK_EQ(fd_xfer(U, F, 0xA2, UDFU_REQ_GETSTATUS, 0, 0, 6), FD_STALL); /* to endpoint */
    CHECK_EQ(udfu_dfu_state(&fx.dfu), UDFU_DFU_IDLE); /* none reached the class */
    CHECK_EQ(F->ins, 0);
}

TEST(dfu_getstatus_round_trip)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    fx_configure(&fx);
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, 0, 6), FD_IN);
    CHECK_EQ(F->len, 6);
    CHECK_EQ(F->data[0], UDFU_STATUS_OK);
    CHECK_EQ(F->data[4], UDFU_DFU_IDLE);
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_IN, UDFU_REQ_GETSTATE, 0, 0, 1), FD_IN);
    CHECK_EQ(F->len, 1);
    CHECK_EQ(F->data[0], UDFU_DFU_IDLE);
    /* An illegal request reaches the class: stall and dfuERROR. */
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_OUT, UDFU_REQ_CLRSTATUS, 0, 0, 0), FD_STALL);
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, 0, 6), FD_IN);
    CHECK_EQ(F->data[0], UDFU_STATUS_ERR_STALLEDPKT);
    CHECK_EQ(F->data[4], UDFU_DFU_ERROR);
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_OUT, UDFU_REQ_CLRSTATUS, 0, 0, 0), FD_ACK);
    CHECK_EQ(udfu_dfu_state(&fx.dfu), UDFU_DFU_IDLE);
}

TEST(dnload_data_stage_goes_to_the_class_buffer)
{
    uint8_t block[16];
    fx_dfu(&fx, fx_plain_targets, 2);
    fx_configure(&fx);
    memset(block, 0x5A, sizeof block);
    CHECK_EQ(fd_setup(U, F, UDFU_RT_OUT, UDFU_REQ_DNLOAD, 0, 0, sizeof block), FD_OUT);
    CHECK(F->out_buf == fx.dcfg.buffer);
    CHECK_EQ(F->out_len, sizeof block);
    udfu_usbd_status_done(U); /* not now: the data stage comes first */
    CHECK_EQ(F->acks, 1);
    memcpy(F->out_buf, block, sizeof block);
    udfu_usbd_out_done(U, sizeof block);
    CHECK_EQ(F->last, FD_ACK);
    CHECK_EQ(udfu_dfu_state(&fx.dfu), UDFU_DNLOAD_SYNC);
    udfu_usbd_status_done(U);
    udfu_usbd_out_done(U, sizeof block); /* a stray completion: ignored */
    CHECK_EQ(F->acks, 2);
    CHECK_EQ(F->stalls, 0);
}

TEST(short_dnload_data_stalls)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    fx_configure(&fx);
    CHECK_EQ(fd_setup(U, F, UDFU_RT_OUT, UDFU_REQ_DNLOAD, 0, 0, 16), FD_OUT);
    udfu_usbd_out_done(U, 15);
    CHECK_EQ(F->last, FD_STALL);
    CHECK_EQ(udfu_dfu_state(&fx.dfu), UDFU_DFU_ERROR);
}

TEST(new_setup_during_out_data_stage_cancels_it)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    fx_configure(&fx);
    CHECK_EQ(fd_setup(U, F, UDFU_RT_OUT, UDFU_REQ_DNLOAD, 0, 0, 16), FD_OUT);
    /* The host gives up on the data stage and asks something else. */
    CHECK_EQ(fd_setup(U, F, UDFU_RT_IN, UDFU_REQ_GETSTATE, 0, 0, 1), FD_IN);
    CHECK_EQ(F->data[0], UDFU_DFU_IDLE);
    /* The old data stage's completion must not reach the class. */
    udfu_usbd_out_done(U, 16);
    CHECK_EQ(F->last, FD_IN);
    CHECK_EQ(udfu_dfu_state(&fx.dfu), UDFU_DFU_IDLE);
    udfu_usbd_status_done(U);
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, 0, 6), FD_IN);
    CHECK_EQ(F->data[4], UDFU_DFU_IDLE);
}

TEST(bus_reset_clears_address_configuration_and_alt)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_DEV, 5, 9, 0, 0), FD_ACK);
    fx_configure(&fx);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_IF, 11, 1, 0, 0), FD_ACK);
    CHECK_EQ(U->address, 9);
    udfu_usbd_bus_reset(U);
    CHECK_EQ(U->address, 0);
    CHECK_EQ(U->configuration, 0);
    CHECK_EQ(U->alt, 0);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 8, 0, 0, 1), FD_IN);
    CHECK_EQ(F->data[0], 0);
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, 0, 6), FD_STALL);
}

TEST(bus_reset_drops_a_pending_set_address)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(fd_setup(U, F, H2D_STD_DEV, 5, 9, 0, 0), FD_ACK);
    udfu_usbd_bus_reset(U);
    udfu_usbd_status_done(U);
    CHECK_EQ(F->addrs, 0);
    CHECK_EQ(U->address, 0);
}

TEST(bus_reset_mid_download_reaches_the_class)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    fx_configure(&fx);
    CHECK_EQ(fd_setup(U, F, UDFU_RT_OUT, UDFU_REQ_DNLOAD, 0, 0, 16), FD_OUT);
    udfu_usbd_out_done(U, 16);
    udfu_usbd_status_done(U);
    CHECK_EQ(udfu_dfu_state(&fx.dfu), UDFU_DNLOAD_SYNC);
    udfu_usbd_bus_reset(U);
    /* A download cut short by a reset leaves the image marked incomplete. */
    CHECK_EQ(udfu_dfu_state(&fx.dfu), UDFU_DFU_ERROR);
    CHECK_EQ(udfu_dfu_status(&fx.dfu), UDFU_STATUS_ERR_FIRMWARE);
}

TEST(runtime_getstatus_round_trip)
{
    fx_rt(&fx, 0);
    fx_configure(&fx);
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, 0, 6), FD_IN);
    CHECK_EQ(F->len, 6);
    CHECK_EQ(F->data[0], UDFU_STATUS_OK);
    CHECK_EQ(F->data[4], UDFU_APP_IDLE);
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_OUT, UDFU_REQ_DETACH, 1000, 0, 0), FD_ACK);
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_IN, UDFU_REQ_GETSTATE, 0, 0, 1), FD_IN);
    CHECK_EQ(F->data[0], UDFU_APP_DETACH);
    /* The run-time interface has alt 0 only. */
    CHECK_EQ(fd_xfer(U, F, H2D_STD_IF, 11, 0, 0, 0), FD_ACK);
    CHECK_EQ(fd_xfer(U, F, H2D_STD_IF, 11, 1, 0, 0), FD_STALL);
    /* DETACH carries no data: with an OUT data stage it stalls. */
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_OUT, UDFU_REQ_DETACH, 1000, 0, 4), FD_STALL);
    CHECK_EQ(F->outs, 0);
}

TEST(runtime_will_detach_hands_off_after_the_status_stage)
{
    fx_rt(&fx, UDFU_ATTR_WILL_DETACH);
    fx_configure(&fx);
    udfu_usbd_task(U, 10);
    CHECK_EQ(fd_setup(U, F, UDFU_RT_OUT, UDFU_REQ_DETACH, 1000, 0, 0), FD_ACK);
    udfu_usbd_task(U, 20);
    CHECK_EQ(fx.detached, 0); /* the host does not have the answer yet */
    udfu_usbd_status_done(U);
    udfu_usbd_task(U, 30);
    CHECK_EQ(fx.detached, 1);
}

TEST(runtime_reset_after_detach_hands_off)
{
    fx_rt(&fx, 0);
    fx_configure(&fx);
    udfu_usbd_task(U, 100);
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_OUT, UDFU_REQ_DETACH, 1000, 0, 0), FD_ACK);
    udfu_usbd_task(U, 200);
    CHECK_EQ(fx.detached, 0);
    udfu_usbd_bus_reset(U);
    udfu_usbd_task(U, 300);
    CHECK_EQ(fx.detached, 1);
}

TEST(task_passes_time_to_the_class)
{
    fx_rt(&fx, 0);
    fx_configure(&fx);
    udfu_usbd_task(U, 100);
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_OUT, UDFU_REQ_DETACH, 500, 0, 0), FD_ACK);
    udfu_usbd_task(U, 550);
    CHECK_EQ(udfu_rt_state(&fx.rt), UDFU_APP_DETACH);
    udfu_usbd_task(U, 700); /* no reset within wDetachTimeOut: back to appIDLE */
    CHECK_EQ(udfu_rt_state(&fx.rt), UDFU_APP_IDLE);
    udfu_usbd_bus_reset(U);
    udfu_usbd_task(U, 800);
    CHECK_EQ(fx.detached, 0);
}

/* As dfu-util does after a DNLOAD: GETSTATUS, wait bwPollTimeout, again,
 * until dfuDNLOAD-IDLE (checked), with the task run in between from time
 * now on. */
static void poll_until_dnload_idle(uint32_t now)
{
    int polls = 0;
    CHECK_EQ(fd_xfer(U, F, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, 0, 6), FD_IN);
    while (F->data[4] != UDFU_DNLOAD_IDLE && F->data[4] != UDFU_DFU_ERROR && polls++ < 20) {
        now += (udfu_get32(F->data) >> 8) + 1u; /* bwPollTimeout, 24 bits */
        udfu_usbd_task(U, now);
        CHECK_EQ(fd_xfer(U, F, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, 0, 6), FD_IN);
    }
    CHECK_EQ(F->data[4], UDFU_DNLOAD_IDLE);
}

TEST(task_drives_the_dfu_memory_work)
{
    uint8_t block[16], back[16];
    uint32_t now = 1000;
    int i;
    fx_dfu(&fx, fx_plain_targets, 2);
    fx_configure(&fx);
    for (i = 0; i < (int)sizeof block; i++)
        block[i] = (uint8_t)(0xA5 ^ i);
    udfu_usbd_task(U, now);
    CHECK_EQ(fd_setup(U, F, UDFU_RT_OUT, UDFU_REQ_DNLOAD, 0, 0, sizeof block), FD_OUT);
    memcpy(F->out_buf, block, sizeof block);
    udfu_usbd_out_done(U, sizeof block);
    udfu_usbd_status_done(U);
    poll_until_dnload_idle(now);
    CHECK_EQ(fx.dcfg.read(fx.dcfg.context, 0, 0x08000000u, back, sizeof back), 0);
    CHECK_MEM(back, block, sizeof block);
}

/* A download block whose data waits in the class buffer until the task
 * programs it: usbd must not write a descriptor over it. With its own
 * buffer usbd answers; borrowing the class buffer (UDFU_CFG_USBD_BUF 0) it
 * stalls until the block is programmed, then answers again. */
TEST(descriptors_never_overwrite_download_data_waiting_in_the_class_buffer)
{
    uint8_t block[16], back[16];
    uint32_t now = 1000;
    fx_dfu(&fx, fx_plain_targets, 2);
    fx_configure(&fx);
    memset(block, 0x3C, sizeof block);
    udfu_usbd_task(U, now);
    CHECK_EQ(fd_setup(U, F, UDFU_RT_OUT, UDFU_REQ_DNLOAD, 0, 0, sizeof block), FD_OUT);
    memcpy(F->out_buf, block, sizeof block);
    udfu_usbd_out_done(U, sizeof block);
    udfu_usbd_status_done(U);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 6, 0x0301, 0x0409, 0xFF),
             UDFU_CFG_USBD_BUF ? FD_IN : FD_STALL);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 6, 0x0200, 0, 0xFF), UDFU_CFG_USBD_BUF ? FD_IN : FD_STALL);
    /* Replies that need no buffer are always given. */
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 0, 0, 0, 2), FD_IN);
    CHECK_EQ(F->len, 2);
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 8, 0, 0, 1), FD_IN);
    CHECK_EQ(F->data[0], 1);
    CHECK_EQ(udfu_dfu_state(&fx.dfu), UDFU_DNLOAD_SYNC);
    poll_until_dnload_idle(now);
    CHECK_EQ(fx.dcfg.read(fx.dcfg.context, 0, 0x08000000u, back, sizeof back), 0);
    CHECK_MEM(back, block, sizeof block);
    /* Programmed: the buffer is free again. */
    CHECK_EQ(fd_xfer(U, F, D2H_STD_DEV, 6, 0x0100, 0, 18), FD_IN);
    CHECK_EQ(F->len, 18);
    CHECK_EQ(F->data[1], 1);
}

int main(void)
{
    RUN_DFU(get_device_descriptor_is_truncated_to_wlength);
    RUN_DFU(short_reply_filling_its_last_packet_ends_with_a_zlp);
    RUN_IF(UDFU_CFG_PLAIN && UDFU_CFG_USBD_DFU, string_requests_by_index);
    RUN_DFU(unknown_descriptors_stall);
    RUN_DFU(functional_descriptor_on_request);
    RUN_DFU(set_address_takes_effect_after_the_status_stage);
    RUN_DFU(set_address_cancelled_by_a_new_setup_is_not_applied);
    RUN_DFU(set_address_127_and_0_are_applied);
    RUN_DFU(set_address_refuses_bad_values);
    RUN_DFU(set_and_get_configuration);
    RUN_DFU(get_status_of_device_interface_endpoint);
    RUN_DFU(features_only_endpoint_zero_halt);
    RUN_DFU(set_interface_selects_the_dfu_alt_setting);
    RUN_DFU(unknown_and_misdirected_standard_requests_stall);
    RUN_IF(UDFU_CFG_MSOS20 && UDFU_CFG_USBD_DFU, msos20_vendor_request_returns_the_set);
    RUN_IF(!UDFU_CFG_MSOS20 && UDFU_CFG_USBD_DFU, without_msos20_bos_and_the_vendor_request_stall);
    RUN_DFU(class_requests_need_the_configured_dfu_interface);
    RUN_DFU(dfu_getstatus_round_trip);
    RUN_IF(UDFU_CFG_PLAIN && UDFU_CFG_USBD_DFU, dnload_data_stage_goes_to_the_class_buffer);
    RUN_DFU(short_dnload_data_stalls);
    RUN_DFU(new_setup_during_out_data_stage_cancels_it);
    RUN_DFU(bus_reset_clears_address_configuration_and_alt);
    RUN_DFU(bus_reset_drops_a_pending_set_address);
    RUN_IF(UDFU_CFG_PLAIN && UDFU_CFG_USBD_DFU, bus_reset_mid_download_reaches_the_class);
    RUN_RT(runtime_getstatus_round_trip);
    RUN_RT(runtime_will_detach_hands_off_after_the_status_stage);
    RUN_RT(runtime_reset_after_detach_hands_off);
    RUN_RT(task_passes_time_to_the_class);
    RUN_IF(UDFU_CFG_PLAIN && UDFU_CFG_USBD_DFU, task_drives_the_dfu_memory_work);
    RUN_IF(UDFU_CFG_PLAIN && UDFU_CFG_USBD_DFU,
           descriptors_never_overwrite_download_data_waiting_in_the_class_buffer);
    return test_summary();
}
