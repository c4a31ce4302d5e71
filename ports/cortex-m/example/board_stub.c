/*
 * board_stub.c - placeholders so the example links; replace with the
 * flash driver and USB code of your part. Reading memory-mapped flash is
 * the same everywhere.
 */
#include <string.h>

#include "board.h"

int board_flash_read(void *ctx, uint32_t addr, uint8_t *buf, uint32_t len)
{
    (void)ctx;
    memcpy(buf, (const void *)(uintptr_t)addr, len);
    return 0;
}

int board_flash_erase(void *ctx, uint32_t addr, uint32_t size)
{
    (void)ctx;
    (void)addr;
    (void)size;
    return UDFU_ERR_UNSUPPORTED;
}

int board_flash_prog(void *ctx, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    (void)ctx;
    (void)addr;
    (void)buf;
    (void)len;
    return UDFU_ERR_UNSUPPORTED;
}

int board_dfu_button(void)
{
    return 0;
}

void board_dfu_loop(struct udfu_boot *boot)
{
    (void)boot;
}
