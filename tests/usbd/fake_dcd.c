#include "fake_dcd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

static void fd_in(void *ctx, const uint8_t *data, uint16_t len, int zlp)
{
    struct fake_dcd *f = ctx;
    f->last = FD_IN;
    f->ins++;
    f->len = len;
    f->zlp = zlp;
    if (len <= sizeof f->data)
        memcpy(f->data, data, len);
}

static void fd_out(void *ctx, uint8_t *buf, uint16_t len)
{
    struct fake_dcd *f = ctx;
    f->last = FD_OUT;
    f->outs++;
    f->out_buf = buf;
    f->out_len = len;
}

static void fd_ack(void *ctx)
{
    struct fake_dcd *f = ctx;
    f->last = FD_ACK;
    f->acks++;
}

static void fd_stall(void *ctx)
{
    struct fake_dcd *f = ctx;
    f->last = FD_STALL;
    f->stalls++;
}

static void fd_set_address(void *ctx, uint8_t addr)
{
    struct fake_dcd *f = ctx;
    f->addrs++;
    f->address = addr;
}

const struct udfu_dcd fake_dcd_ops = {fd_in, fd_out, fd_ack, fd_stall, fd_set_address};

enum fd_event fd_setup(struct udfu_usbd *u, struct fake_dcd *f, uint8_t rt, uint8_t req,
                       uint16_t value, uint16_t index, uint16_t length)
{
    uint8_t raw[8] = {rt, req, (uint8_t)value, (uint8_t)(value >> 8), (uint8_t)index,
                      (uint8_t)(index >> 8), (uint8_t)length, (uint8_t)(length >> 8)};
    f->last = FD_NONE;
    udfu_usbd_setup(u, raw);
    return f->last;
}

enum fd_event fd_xfer(struct udfu_usbd *u, struct fake_dcd *f, uint8_t rt, uint8_t req,
                      uint16_t value, uint16_t index, uint16_t length)
{
    enum fd_event e = fd_setup(u, f, rt, req, value, index, length);
    if (e == FD_IN || e == FD_ACK)
        udfu_usbd_status_done(u);
    return e;
}

/* ---- fixtures ------------------------------------------------------------ */

#define FLASH_BASE 0x08000000u
static uint8_t flash[16 * 1024];

static const struct udfu_region fx_flash_regions[] = {
    {FLASH_BASE, 1024, 8, UDFU_MEM_ALL, 0, 0},
};
static const struct udfu_region fx_config_regions[] = {
    {FLASH_BASE + 8 * 1024, 1024, 2, UDFU_MEM_ALL, 0, 0},
};
static const struct udfu_region fx_dfuse_regions[] = {
    {FLASH_BASE, 1024, 4, UDFU_MEM_READ, 0, 0},
    {FLASH_BASE + 4 * 1024, 1024, 12, UDFU_MEM_ALL, 0, 0},
};

/* Without UDFU_CFG_PLAIN the core refuses plain targets: the same two
 * then speak DfuSe, so the usbd tests that do not depend on the protocol
 * still run (those that do are RUN_IF(UDFU_CFG_PLAIN)). */
const struct udfu_target fx_plain_targets[2] = {
    {"Flash", fx_flash_regions, 1, !UDFU_CFG_PLAIN},
    {"Config", fx_config_regions, 1, !UDFU_CFG_PLAIN},
};
const struct udfu_target fx_mixed_targets[2] = {
    {"Flash", fx_flash_regions, 1, 0},
    {"Internal Flash", fx_dfuse_regions, 2, 1},
};

/* Eight one-sector regions: a 160-character layout string, more than a
 * string descriptor holds; the first region alone gives a short one. */
static const struct udfu_region fx_many_regions[] = {
    {0x08000000, 1024, 1, UDFU_MEM_READ, 0, 0}, {0x08010000, 1024, 1, UDFU_MEM_ALL, 0, 0},
    {0x08020000, 1024, 1, UDFU_MEM_READ, 0, 0}, {0x08030000, 1024, 1, UDFU_MEM_ALL, 0, 0},
    {0x08040000, 1024, 1, UDFU_MEM_READ, 0, 0}, {0x08050000, 1024, 1, UDFU_MEM_ALL, 0, 0},
    {0x08060000, 1024, 1, UDFU_MEM_READ, 0, 0}, {0x08070000, 1024, 1, UDFU_MEM_ALL, 0, 0},
};
const struct udfu_target fx_long_layout[1] = {{"A rather long target name", fx_many_regions, 8, 1}};
const struct udfu_target fx_short_layout[1] = {{"A rather long target name", fx_many_regions, 1, 1}};

static int in_flash(uint32_t addr, uint32_t len)
{
    return addr >= FLASH_BASE && len <= sizeof flash && addr - FLASH_BASE <= sizeof flash - len;
}

static int fx_read(void *ctx, uint8_t alt, uint32_t addr, uint8_t *buf, uint32_t len)
{
    (void)ctx;
    (void)alt;
    if (!in_flash(addr, len))
        return UDFU_ERR_RANGE;
    memcpy(buf, flash + (addr - FLASH_BASE), len);
    return 0;
}

static int fx_erase(void *ctx, uint8_t alt, uint32_t addr, uint32_t size)
{
    (void)ctx;
    (void)alt;
    if (!in_flash(addr, size))
        return UDFU_ERR_ERASE;
    memset(flash + (addr - FLASH_BASE), 0xFF, size);
    return 0;
}

static int fx_prog(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    (void)ctx;
    (void)alt;
    if (!in_flash(addr, len))
        return UDFU_ERR_PROG;
    memcpy(flash + (addr - FLASH_BASE), buf, len);
    return 0;
}

static void fx_leave(void *ctx, uint32_t addr)
{
    (void)ctx;
    (void)addr;
}

static void fx_detach(void *ctx)
{
    struct fixture *fx = ctx;
    fx->detached++;
}

static uint8_t fx_buffer[256]; /* wTransferSize; a borrowed buffer holds any layout string */

static void fx_common(struct fixture *fx)
{
    memset(&fx->dcd, 0, sizeof fx->dcd);
    fx->dcd.address = -1;
    memset(&fx->ucfg, 0, sizeof fx->ucfg);
    fx->ucfg.context = &fx->dcd;
    fx->ucfg.dcd = &fake_dcd_ops;
    fx->ucfg.vid = 0x1209;
    fx->ucfg.pid = 0x0001;
    fx->ucfg.bcd_device = 0x0123;
    fx->ucfg.manufacturer = "udfu";
    fx->ucfg.product = "udfu test device";
    fx->ucfg.serial = "0123456789AB";
    fx->detached = 0;
}

void fx_dfu(struct fixture *fx, const struct udfu_target *targets, uint8_t count)
{
    int rc;
    fx_common(fx);
    memset(&fx->dcfg, 0, sizeof fx->dcfg);
    fx->dcfg.context = fx;
    fx->dcfg.targets = targets;
    fx->dcfg.target_count = count;
    fx->dcfg.attributes = UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD | UDFU_ATTR_MANIFEST_TOLERANT;
    fx->dcfg.transfer_size = sizeof fx_buffer;
    fx->dcfg.buffer = fx_buffer;
    fx->dcfg.detach_timeout_ms = 1500;
    fx->dcfg.read = fx_read;
    fx->dcfg.erase = fx_erase;
    fx->dcfg.prog = fx_prog;
    fx->dcfg.leave = fx_leave;
    rc = udfu_dfu_init(&fx->dfu, &fx->dcfg);
    CHECK_EQ(rc, 0);
    if (rc) {
        /* Running on would drive an uninitialised instance (a target of
         * a protocol compiled out, udfu_opt.h). */
        fprintf(stderr, "fx_dfu: udfu_dfu_init refused %u target(s)\n", (unsigned)count);
        abort();
    }
    fx->ucfg.dfu = &fx->dfu;
    fx_reinit(fx);
}

void fx_rt(struct fixture *fx, uint8_t attributes)
{
    fx_common(fx);
    memset(&fx->rcfg, 0, sizeof fx->rcfg);
    fx->rcfg.context = fx;
    fx->rcfg.attributes = attributes;
    fx->rcfg.detach_timeout_ms = 1000;
    fx->rcfg.transfer_size = 1024;
    fx->rcfg.detach = fx_detach;
    CHECK_EQ(udfu_rt_init(&fx->rt, &fx->rcfg), 0);
    fx->ucfg.rt = &fx->rt;
    fx->ucfg.rt_name = "udfu DFU";
    fx_reinit(fx);
}

void fx_reinit(struct fixture *fx)
{
    CHECK_EQ(udfu_usbd_init(&fx->usbd, &fx->ucfg), 0);
}

void fx_configure(struct fixture *fx)
{
    CHECK_EQ(fd_xfer(&fx->usbd, &fx->dcd, 0x00, 9, 1, 0, 0), FD_ACK);
    CHECK_EQ(fx->usbd.configuration, 1);
}
