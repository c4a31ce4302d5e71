/*
 * boot_main.c - the skeleton of a udfu bootloader on Cortex-M: what runs
 * from reset to either the application or DFU mode. Copy it and fill in
 * the board_* functions and the DFU loop for your part.
 *
 * Memory map assumed here (layout (a), single slot, STM32-like part):
 *   0x08000000  32 KiB  bootloader (this program)
 *   0x08008000   2 KiB  journal area 0   } 2 KiB sectors
 *   0x08008800   2 KiB  journal area 1   }
 *   0x08010000 192 KiB  application slot: 512-byte header, then the app
 */
#include "udfu_boot.h"
#include "udfu_cortexm.h"

#include "board.h"

#define SLOT_ADDR 0x08010000u
#define SLOT_SIZE (192u * 1024u)
#define HDR_SIZE 512u
#define ROM_BOOTLOADER 0x1FFF0000u /* the vendor's system memory */

/* The flag's words: same address in the application's linker script. */
static volatile uint32_t flag_words[2] UDFU_PORT_NOINIT;
static const struct udfu_boot_flag flag = {flag_words, 0, 0};

static const struct udfu_boot_slot slots[] = {{SLOT_ADDR, SLOT_SIZE, 0}};

static const struct udfu_boot_cfg boot_cfg = {
    .read = board_flash_read,
    .erase = board_flash_erase,
    .prog = board_flash_prog,
    .slots = slots,
    .slot_count = 1,
    .journal = {0x08008000u, 0x08008800u},
    .journal_size = 2048,
    .hdr_size = HDR_SIZE,
    .write_size = 8,
};

static struct udfu_boot boot;

static void boot_image(int slot)
{
    const struct udfu_boot_slot *s = &slots[slot];
    struct udfu_port_jump_cfg j = {
        .ram_start = 0x20000000u,
        .ram_end = 0x20000000u + 64u * 1024u,
        .code_start = s->addr + HDR_SIZE,
        .code_end = s->addr + s->size,
        .vtor_align = HDR_SIZE,
    };
    (void)udfu_port_jump(&j, udfu_boot_app_addr(&boot, (uint8_t)slot));
    /* only returns if the vector table is not sane: stay in DFU mode */
}

static void system_bootloader(void)
{
    struct udfu_port_jump_cfg j = {
        .ram_start = 0x20000000u,
        .ram_end = 0x20000000u + 64u * 1024u,
        .code_start = ROM_BOOTLOADER,
        .code_end = ROM_BOOTLOADER + 0x8000u,
        .vtor_align = 128,
    };
    (void)udfu_port_jump(&j, ROM_BOOTLOADER);
}

int main(void)
{
    /* First thing: nothing has run that could have needed the hardware,
     * so the jump hands over a core in its reset state. */
    uint32_t req = udfu_boot_flag_take(&flag);
    if (req == UDFU_BOOT_REQ_SYSTEM)
        system_bootloader();
    if (req != UDFU_BOOT_REQ_DFU && !board_dfu_button() &&
        udfu_boot_init(&boot, &boot_cfg) == 0) {
        int slot = udfu_boot_select(&boot);
        if (slot >= 0)
            boot_image(slot);
    } else {
        (void)udfu_boot_init(&boot, &boot_cfg);
    }
    /* DFU mode: clocks, USB, the udfu class core whose erase/prog
     * callbacks call udfu_boot_erase/prog, manifest() calls
     * udfu_boot_commit(), leave() commits if udfu_boot_dirty() and resets. */
    board_dfu_loop(&boot);
    for (;;) {
    }
}
