/*
 * test_dcd_template.c - ports/template driven by a simulated controller and
 * a simulated host doing what a host does on the wire: packets of
 * bMaxPacketSize0, a data stage that ends on a short packet or wLength, a
 * zero-length status stage, the address taking effect after the status.
 */
#include <string.h>

#include "dcd_template.h"
#include "fake_dcd.h"
#include "test.h"
#include "udfu_util.h"

static struct fixture fx;
static struct tmpl_regs regs;
static struct tmpl_dcd drv;

#define STALLED (-1)
#define PROTOCOL (-2) /* the driver did not arm what the host needed */

/* One interrupt with events ev. istat is write-1-to-clear on the chip; in
 * this plain memory the handler's write leaves it set, so clear it here. */
static void raise(uint32_t ev)
{
    regs.istat = ev;
    tmpl_dcd_irq(&drv);
    regs.istat = 0;
}

/* Takes the command the driver last gave the controller. */
static uint32_t take_cmd(void)
{
    uint32_t c = regs.ep0_ctrl;
    regs.ep0_ctrl = 0;
    return c;
}

static void send_setup(uint8_t rt, uint8_t req, uint16_t value, uint16_t index, uint16_t len)
{
    uint8_t raw[8] = {rt, req, (uint8_t)value, (uint8_t)(value >> 8), (uint8_t)index,
                      (uint8_t)(index >> 8), (uint8_t)len, (uint8_t)(len >> 8)};
    memcpy((void *)regs.setup, raw, 8);
    raise(TMPL_IRQ_SETUP);
}

/* Zero-length status stage in direction `in` (device to host). */
static int status_stage(int in)
{
    uint32_t c = take_cmd();
    if (c == TMPL_EP0_STALL)
        return STALLED;
    if (in) {
        if (c != TMPL_EP0_IN || regs.in_len != 0)
            return PROTOCOL;
        raise(TMPL_IRQ_IN);
    } else {
        if (c != TMPL_EP0_OUT)
            return PROTOCOL;
        regs.out_len = 0;
        raise(TMPL_IRQ_OUT);
    }
    return 0;
}

/* A control read: returns the byte count received, STALLED or PROTOCOL.
 * *packets counts the data packets (a closing zlp included). */
static int control_in(uint8_t rt, uint8_t req, uint16_t value, uint16_t index, uint16_t len,
                      uint8_t *out, int *packets)
{
    int got = 0;
    *packets = 0;
    send_setup(rt, req, value, index, len);
    for (;;) {
        uint32_t c = take_cmd();
        uint16_t n;
        if (c == TMPL_EP0_STALL)
            return STALLED;
        if (c != TMPL_EP0_IN)
            return PROTOCOL;
        n = (uint16_t)regs.in_len;
        if (n > drv.ep0_size || got + n > len)
            return PROTOCOL;
        memcpy(out + got, (const void *)regs.in_buf, n);
        got += n;
        ++*packets;
        raise(TMPL_IRQ_IN);
        if (n < drv.ep0_size || got == len)
            break;
    }
    return status_stage(0) < 0 ? PROTOCOL : got;
}

/* A control write with data (or none): 0, STALLED or PROTOCOL. */
static int control_out(uint8_t rt, uint8_t req, uint16_t value, uint16_t index,
                       const uint8_t *data, uint16_t len)
{
    uint16_t sent = 0;
    send_setup(rt, req, value, index, len);
    while (sent < len) {
        uint32_t c = take_cmd();
        uint16_t n = (uint16_t)(len - sent < drv.ep0_size ? len - sent : drv.ep0_size);
        if (c == TMPL_EP0_STALL)
            return STALLED;
        if (c != TMPL_EP0_OUT)
            return PROTOCOL;
        memcpy((void *)regs.out_buf, data + sent, n);
        regs.out_len = n;
        sent = (uint16_t)(sent + n);
        raise(TMPL_IRQ_OUT);
    }
    return status_stage(1);
}

static void setup_device(uint8_t ep0)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    memset(&regs, 0, sizeof regs);
    memset(&drv, 0, sizeof drv);
    drv.regs = &regs;
    drv.usbd = &fx.usbd;
    drv.ep0_size = ep0;
    fx.ucfg.context = &drv;
    fx.ucfg.dcd = &tmpl_dcd_ops;
    fx.ucfg.ep0_size = ep0;
    fx_reinit(&fx);
    raise(TMPL_IRQ_RESET);
}

TEST(template_enumerates_like_a_host_sees_it)
{
    uint8_t d[256];
    int packets;
    setup_device(8);
    /* Device descriptor in 8-byte packets: 8 + 8 + 2. */
    CHECK_EQ(control_in(0x80, 6, 0x0100, 0, 64, d, &packets), 18);
    CHECK_EQ(packets, 3);
    CHECK_EQ(d[0], 18);
    CHECK_EQ(d[7], 8);
    CHECK_EQ(udfu_get16(d + 8), 0x1209);
    /* The address switches only once the status stage is over. */
    send_setup(0x00, 5, 42, 0, 0);
    CHECK_EQ(regs.addr, 0);
    CHECK_EQ(status_stage(1), 0);
    CHECK_EQ(regs.addr, 42);
    CHECK_EQ(control_in(0x80, 6, 0x0200, 0, 9, d, &packets), 9);
    CHECK_EQ(control_in(0x80, 6, 0x0200, 0, udfu_get16(d + 2), d, &packets), 36);
    CHECK_EQ(d[9 + 1], 4);
    CHECK_EQ(control_out(0x00, 9, 1, 0, NULL, 0), 0);
    CHECK_EQ(control_out(0x01, 11, 1, 0, NULL, 0), 0);
    CHECK_EQ(fx.dfu.alt, 1);
    CHECK_EQ(control_in(UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, 0, 6, d, &packets), 6);
    CHECK_EQ(d[4], UDFU_DFU_IDLE);
}

TEST(template_ends_a_short_full_packet_reply_with_a_zlp)
{
    uint8_t d[256];
    int packets;
    setup_device(8);
    fx.ucfg.manufacturer = "seven c"; /* 2 + 2 * 7 = 16 bytes: two full packets */
    CHECK_EQ(control_in(0x80, 6, 0x0301, 0x0409, 255, d, &packets), 16);
    CHECK_EQ(packets, 3); /* 8 + 8 + zero-length */
    CHECK_EQ(d[0], 16);
    CHECK_EQ(d[14], 'c');
    CHECK_EQ(control_in(0x80, 6, 0x0301, 0x0409, 16, d, &packets), 16);
    CHECK_EQ(packets, 2); /* wLength reached: no zlp */
}

TEST(template_carries_a_multi_packet_dnload)
{
    uint8_t block[40], d[8];
    int packets, i;
    setup_device(16);
    for (i = 0; i < (int)sizeof block; i++)
        block[i] = (uint8_t)(i * 7 + 1);
    CHECK_EQ(control_out(0x00, 9, 1, 0, NULL, 0), 0);
    CHECK_EQ(control_out(UDFU_RT_OUT, UDFU_REQ_DNLOAD, 0, 0, block, sizeof block), 0);
    CHECK_MEM(fx.dcfg.buffer, block, sizeof block);
    CHECK_EQ(udfu_dfu_state(&fx.dfu), UDFU_DNLOAD_SYNC);
    CHECK_EQ(control_in(UDFU_RT_IN, UDFU_REQ_GETSTATE, 0, 0, 1, d, &packets), 1);
}

TEST(template_stalls_and_recovers_on_the_next_setup)
{
    uint8_t d[64];
    int packets;
    setup_device(64);
    CHECK_EQ(control_in(0x80, 6, 0x0600, 0, 10, d, &packets), STALLED);
    CHECK_EQ(control_in(0x80, 0, 0, 0, 2, d, &packets), 2);
    /* A short OUT stage: usbd refuses it after the data arrived. */
    CHECK_EQ(control_out(0x00, 9, 1, 0, NULL, 0), 0);
    send_setup(UDFU_RT_OUT, UDFU_REQ_DNLOAD, 0, 0, 32);
    CHECK_EQ(take_cmd(), TMPL_EP0_OUT);
    regs.out_len = 10;
    raise(TMPL_IRQ_OUT);
    CHECK_EQ(take_cmd(), TMPL_EP0_STALL);
    CHECK_EQ(control_in(UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, 0, 6, d, &packets), 6);
    CHECK_EQ(d[4], UDFU_DFU_ERROR);
}

TEST(template_bus_reset_returns_to_address_zero)
{
    setup_device(64);
    send_setup(0x00, 5, 7, 0, 0);
    CHECK_EQ(status_stage(1), 0);
    CHECK_EQ(regs.addr, 7);
    raise(TMPL_IRQ_RESET);
    CHECK_EQ(regs.addr, 0);
    CHECK_EQ(fx.usbd.address, 0);
}

int main(void)
{
    RUN(template_enumerates_like_a_host_sees_it);
    RUN(template_ends_a_short_full_packet_reply_with_a_zlp);
    RUN_IF(UDFU_CFG_PLAIN, template_carries_a_multi_packet_dnload);
    RUN(template_stalls_and_recovers_on_the_next_setup);
    RUN(template_bus_reset_returns_to_address_zero);
    return test_summary();
}
