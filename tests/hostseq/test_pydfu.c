/*
 * test_pydfu.c - micropython's pydfu.py sequence against the class core:
 * init (GETSTATUS, ABORT/CLRSTATUS until dfuIDLE), optional mass erase,
 * per page: erase, then per chunk set-address + DNLOAD block 2, each
 * command and block followed by exactly two GETSTATUS expecting dfuDNBUSY
 * then dfuDNLOAD-IDLE (pydfu never sleeps bwPollTimeout), then the exit:
 * set address 0x08000000, DNLOAD wValue 0 wLength 0, one GETSTATUS
 * expecting dfuMANIFEST. The device must leave by itself.
 *
 * pydfu does not wait bwPollTimeout, so these runs use a backend that
 * finishes flash work within one turn of the main loop (fast flash).
 */
#include <stdio.h>
#include <string.h>

#include "host_model.h"
#include "test.h"

static const uint8_t ATTR = UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD;

static const struct udfu_region flash_regions[] = {
    {0x08000000u, 2048u, 2u, UDFU_MEM_READ, 25u, 2000u},
    {0x08001000u, 2048u, 6u, UDFU_MEM_ALL, 25u, 2000u},
    {0x08004000u, 8192u, 2u, UDFU_MEM_ALL, 60u, 2000u},
};
static const struct udfu_target dfuse_dev[] = {{"Internal Flash", flash_regions, 3, 1}};

static struct cf_dev dev;
static struct hm_host host;
static uint8_t img[32 * 1024];
static uint8_t expect[CF_MEM_MAX];
static char layout[256];

static void setup(void)
{
    uint32_t i;
    cf_init(&dev, dfuse_dev, 1, ATTR, 2048);
    dev.cfg.manifest_ms = 5;
    dev.now = 300;
    cf_pump(&dev);
    CHECK(udfu_mem_layout(&dfuse_dev[0], layout, sizeof layout) > 0);
    for (i = 0; i < sizeof img; i++)
        img[i] = (uint8_t)(i * 13u + (i >> 9));
    memcpy(expect, dev.mem[0], sizeof expect);
    hm_attach(&host, &dev);
}

static void check_ok(void)
{
    CHECK(!host.failed);
    if (host.failed) {
        fprintf(stderr, "    pydfu would fail: %s\n", host.msg);
        hm_dump(&host, 16);
    }
    CHECK_EQ(dev.violations, 0);
    if (dev.violations)
        fprintf(stderr, "    backend: %s\n", dev.violation);
}

/* Exit: leave(0x08000000) with no request after the dfuMANIFEST reply. */
static void check_exit(void)
{
    const struct hm_xfer *end = &host.tr[host.ntr - 1];
    CHECK_EQ(py_exit(&host), 0);
    check_ok();
    end = &host.tr[host.ntr - 1];
    CHECK_EQ(end->req, UDFU_REQ_GETSTATUS);
    CHECK_EQ(end->state, UDFU_MANIFEST);
    CHECK_EQ(host.tr[host.ntr - 2].req, UDFU_REQ_DNLOAD);
    CHECK_EQ(host.tr[host.ntr - 2].value, 0);
    CHECK_EQ(host.tr[host.ntr - 2].length, 0);
    CHECK_EQ(host.msg[0], '\0'); /* no "Failed to reset device" */
    cf_sleep(&dev, end->poll);
    CHECK_EQ(dev.leaves, 1);
    CHECK_EQ(dev.leave_addr, 0x08000000u);
    cf_sleep(&dev, 5000);
    CHECK_EQ(dev.leaves, 1);
}

TEST(pydfu_write_element_then_exit)
{
    const uint32_t addr = 0x08001000u, n = 14000;
    uint32_t a;
    setup();
    CHECK_EQ(py_init(&host), 0);
    CHECK_EQ(py_write_element(&host, 2048, layout, addr, img, n, 0), 0);
    check_ok();
    /* pages 0x1000..0x3FFF (2 KiB) and 0x4000 (8 KiB) erased */
    for (a = addr; a < addr + n;) {
        uint32_t page = a < 0x08004000u ? 2048u : 8192u;
        memset(&expect[a - 0x08000000u], 0xFF, page);
        a += page;
    }
    memcpy(&expect[addr - 0x08000000u], img, n);
    CHECK_MEM(dev.mem[0], expect, 0x8000);
    CHECK_EQ(dev.erases, 7);
    check_exit();
}

TEST(pydfu_mass_erase_write_then_exit)
{
    const uint32_t addr = 0x08004000u, n = 9000;
    setup();
    CHECK_EQ(py_init(&host), 0);
    CHECK_EQ(py_mass_erase(&host), 0);
    CHECK_EQ(py_write_element(&host, 2048, layout, addr, img, n, 1), 0);
    check_ok();
    memset(&expect[0x1000], 0xFF, 0x7000);
    memcpy(&expect[addr - 0x08000000u], img, n);
    CHECK_MEM(dev.mem[0], expect, 0x8000);
    check_exit();
}

/* pydfu's init from a device left in dfuERROR / dfuDNLOAD-IDLE. */
TEST(pydfu_init_clears_error_and_aborts_download)
{
    struct cf_reply r;
    setup();
    cf_ctl(&dev, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, 0, NULL, &r);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_ERROR);
    CHECK_EQ(py_init(&host), 0);
    check_ok();
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_IDLE);
    CHECK_EQ(hm_count(&host, 0xA1, UDFU_REQ_GETSTATUS), 2);
    CHECK_EQ(hm_count(&host, 0x21, UDFU_REQ_CLRSTATUS), 1);
}

int main(void)
{
    RUN(pydfu_write_element_then_exit);
    RUN(pydfu_mass_erase_write_then_exit);
    RUN(pydfu_init_clears_error_and_aborts_download);
    return test_summary();
}
