/*
 * minboot.c - a complete minimal udfu bootloader, linked for real by
 * scripts/size.sh to measure what a firmware carries: usbd + the DFU/DfuSe
 * class core + the boot layer (flag, journal, fail-safe commit, jump) + the
 * controller driver of ports/template, on a small HAL (board_min.c).
 *
 * One DfuSe target over the application slot, so `dfu-util -a 0 -s
 * 0x08008000:leave -D app.bin` works; a plain DFU host works too (the core
 * speaks both). The main loop polls the controller (no interrupt), so the
 * worst-case stack is that of one call chain from reset.
 *
 * Memory map (2 KiB pages):
 *   0x08000000  16 KiB  this bootloader
 *   0x08004000   2 x 2 KiB  commit journal
 *   0x08008000  96 KiB  application slot (512-byte header, then the app)
 */
#include "board_min.h"
#include "dcd_template.h"
#include "udfu_boot.h"
#include "udfu_cortexm.h"
#include "udfu_dfu.h"
#include "udfu_usbd.h"

#ifndef MINBOOT_BUFFERS
#define MINBOOT_BUFFERS 1 /* 2: pipelined download */
#endif
#ifndef MINBOOT_XFER
#define MINBOOT_XFER 1024 /* wTransferSize */
#endif

#define JOURNAL 0x08004000u
#define SLOT 0x08008000u
#define PAGE 2048u
#define SLOT_PAGES 48u
#define HDR 512u

static volatile uint32_t flag_words[2] UDFU_PORT_NOINIT;
static const struct udfu_boot_flag flag = {flag_words, 0, 0};

static const struct udfu_boot_slot slots[] = {{SLOT, SLOT_PAGES * PAGE, 0}};

static const struct udfu_boot_cfg boot_cfg = {
    .read = board_flash_read,
    .erase = board_flash_erase,
    .prog = board_flash_prog,
    .slots = slots,
    .slot_count = 1,
    .journal = {JOURNAL, JOURNAL + PAGE},
    .journal_size = PAGE,
    .hdr_size = HDR,
    .write_size = 8,
};

static const struct udfu_port_jump_cfg jump_cfg = {
    .ram_start = BOARD_RAM,
    .ram_end = BOARD_RAM + BOARD_RAM_SIZE,
    .code_start = SLOT + HDR,
    .code_end = SLOT + SLOT_PAGES * PAGE,
    .vtor_align = HDR,
};

static struct udfu_boot boot;

/* ---- the DFU class core, writing through the boot layer ------------------ */

static int dfu_read(void *ctx, uint8_t alt, uint32_t addr, uint8_t *buf, uint32_t len)
{
    (void)ctx;
    (void)alt;
    return board_flash_read(NULL, addr, buf, len);
}

static int dfu_erase(void *ctx, uint8_t alt, uint32_t addr, uint32_t size)
{
    (void)ctx;
    (void)alt;
    return udfu_boot_erase(&boot, addr, size);
}

static int dfu_prog(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    (void)ctx;
    (void)alt;
    return udfu_boot_prog(&boot, addr, buf, len);
}

/* Verify the image and write its COMMIT record: only then is it bootable. */
static int dfu_manifest(void *ctx, uint8_t alt)
{
    (void)ctx;
    (void)alt;
    return udfu_boot_commit(&boot);
}

static void dfu_leave(void *ctx, uint32_t addr)
{
    (void)ctx;
    (void)addr;
    board_reset(); /* the next boot selects the committed image */
}

static const struct udfu_region regions[] = {
    {SLOT, PAGE, SLOT_PAGES, UDFU_MEM_ALL, 25, 1000},
};
static const struct udfu_target target = {"Flash", regions, 1, 1};
static uint8_t buffer[MINBOOT_BUFFERS * MINBOOT_XFER];

static const struct udfu_dfu_cfg dfu_cfg = {
    .targets = &target,
    .target_count = 1,
    .attributes = UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_MANIFEST_TOLERANT,
    .transfer_size = MINBOOT_XFER,
    .buffer = buffer,
    .buffers = MINBOOT_BUFFERS,
    .read = dfu_read,
    .erase = dfu_erase,
    .prog = dfu_prog,
    .manifest = dfu_manifest,
    .leave = dfu_leave,
};
static struct udfu_dfu dfu;

/* ---- USB: usbd over the template controller driver ----------------------- */

static struct tmpl_dcd drv;
static struct udfu_usbd usbd;
static const struct udfu_usbd_cfg usbd_cfg = {
    .context = &drv,
    .dcd = &tmpl_dcd_ops,
    .vid = 0x1209,
    .pid = 0x0001,
    .product = "udfu",
    .dfu = &dfu,
};

int main(void)
{
    /* First thing after reset: a request left by the application. */
    uint32_t req = udfu_boot_flag_take(&flag);
    int slot;
    if (udfu_boot_init(&boot, &boot_cfg) == 0 && req != UDFU_BOOT_REQ_DFU &&
        !board_dfu_button() && (slot = udfu_boot_select(&boot)) >= 0)
        (void)udfu_port_jump(&jump_cfg, udfu_boot_app_addr(&boot, (uint8_t)slot));
    /* No valid image, or asked to stay: DFU mode. */
    (void)udfu_dfu_init(&dfu, &dfu_cfg);
    drv.regs = BOARD_USB;
    drv.usbd = &usbd;
    drv.ep0_size = 64;
    (void)udfu_usbd_init(&usbd, &usbd_cfg);
    board_usb_connect();
    for (;;) {
        tmpl_dcd_irq(&drv);
        udfu_usbd_task(&usbd, board_millis());
    }
}
