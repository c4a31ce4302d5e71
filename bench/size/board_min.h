/*
 * board_min.h - the HAL of the minimal bootloader (minboot.c) for an
 * imaginary MCU: a flash controller with 2 KiB pages programmed by 32-bit
 * words, a free-running millisecond counter, a button, the USB pull-up and
 * a reset. Register-level and about as large as the same code for a real
 * part; replace it with your chip's.
 */
#ifndef BOARD_MIN_H
#define BOARD_MIN_H

#include <stdint.h>

#include "dcd_template.h"

#define BOARD_RAM 0x20000000u
#define BOARD_RAM_SIZE (64u * 1024u)
#define BOARD_USB ((struct tmpl_regs *)0x40005C00u)

/* The boot layer's flash callbacks (struct udfu_boot_cfg). */
int board_flash_read(void *ctx, uint32_t addr, uint8_t *buf, uint32_t len);
int board_flash_erase(void *ctx, uint32_t addr, uint32_t size);
int board_flash_prog(void *ctx, uint32_t addr, const uint8_t *buf, uint32_t len);

uint32_t board_millis(void);
int board_dfu_button(void);
void board_usb_connect(void);
void board_reset(void);

#endif
