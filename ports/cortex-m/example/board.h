/* What the example bootloader needs from the board (your HAL). */
#ifndef BOARD_H
#define BOARD_H

#include <stdint.h>

#include "udfu_boot.h"

int board_flash_read(void *ctx, uint32_t addr, uint8_t *buf, uint32_t len);
int board_flash_erase(void *ctx, uint32_t addr, uint32_t size);
int board_flash_prog(void *ctx, uint32_t addr, const uint8_t *buf, uint32_t len);
int board_dfu_button(void);
void board_dfu_loop(struct udfu_boot *boot);

#endif
