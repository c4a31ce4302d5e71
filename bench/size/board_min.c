/*
 * board_min.c - see board_min.h. The flash controller: write the unlock
 * key, then either ERASE with the page address or PROG and write words;
 * BUSY clears when the operation is over, ERR tells it failed.
 */
#include <string.h>

#include "board_min.h"
#include "udfu_proto.h"

struct fmc_regs {
    volatile uint32_t key;
    volatile uint32_t cr;
    volatile uint32_t sr;
    volatile uint32_t ar;
};

#define FMC ((struct fmc_regs *)0x40022000u)
#define FMC_KEY 0x45670123u
#define FMC_CR_PROG 0x1u
#define FMC_CR_ERASE 0x2u
#define FMC_CR_START 0x40u
#define FMC_SR_BUSY 0x1u
#define FMC_SR_ERR 0x14u
#define FMC_PAGE 2048u

#define MS_COUNTER (*(volatile uint32_t *)0x40000024u)
#define BUTTON_IDR (*(volatile uint32_t *)0x48000010u)
#define USB_BCDR (*(volatile uint32_t *)0x40005C58u)

static int fmc_wait(void)
{
    uint32_t sr;
    while ((sr = FMC->sr) & FMC_SR_BUSY) {
    }
    FMC->sr = sr; /* write 1 to clear */
    FMC->cr = 0;
    return (sr & FMC_SR_ERR) ? -1 : 0;
}

int board_flash_read(void *ctx, uint32_t addr, uint8_t *buf, uint32_t len)
{
    (void)ctx;
    memcpy(buf, (const void *)(uintptr_t)addr, len);
    return 0;
}

int board_flash_erase(void *ctx, uint32_t addr, uint32_t size)
{
    uint32_t a;
    (void)ctx;
    for (a = addr & ~(FMC_PAGE - 1u); a < addr + size; a += FMC_PAGE) {
        FMC->key = FMC_KEY;
        FMC->ar = a;
        FMC->cr = FMC_CR_ERASE | FMC_CR_START;
        if (fmc_wait())
            return UDFU_ERR_ERASE;
    }
    return 0;
}

/* Words; a partial word at either end is padded with erased bytes. */
int board_flash_prog(void *ctx, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    uint32_t a = addr & ~3u, end = addr + len;
    (void)ctx;
    for (; a < end; a += 4) {
        uint32_t w = 0xFFFFFFFFu, i;
        for (i = 0; i < 4; i++)
            if (a + i >= addr && a + i < end)
                w = (w & ~(0xFFu << (8 * i))) | ((uint32_t)buf[a + i - addr] << (8 * i));
        FMC->key = FMC_KEY;
        FMC->cr = FMC_CR_PROG;
        *(volatile uint32_t *)(uintptr_t)a = w;
        if (fmc_wait())
            return UDFU_ERR_PROG;
    }
    return 0;
}

uint32_t board_millis(void)
{
    return MS_COUNTER;
}

int board_dfu_button(void)
{
    return (BUTTON_IDR & 1u) == 0; /* active low */
}

void board_usb_connect(void)
{
    USB_BCDR |= 1u << 15; /* D+ pull-up on */
}

void board_reset(void)
{
#if defined(__arm__)
    *(volatile uint32_t *)0xE000ED0Cu = 0x05FA0004u; /* AIRCR: SYSRESETREQ */
#else
    *(volatile uint32_t *)0x40021000u = 1u;          /* the MCU's reset register */
#endif
    for (;;) {
    }
}
