/* Bug class: upload exposing firmware that should be protected. Upload is
 * off unless the functional descriptor says bitCanUpload, and never reads
 * memory without the read permission, not even part of a block. */
#include <string.h>

#include "rg.h"
#include "test.h"

static struct fx F;

/* bootloader readable, application write-only (readout protected) */
static const struct udfu_region prot_regions[] = {
    {0x08000000u, 16 * 1024, 1, UDFU_MEM_READ, 0, 0},
    {0x08004000u, 16 * 1024, 3, UDFU_MEM_ERASE | UDFU_MEM_WRITE, 0, 0},
};
static const struct udfu_target prot_targets[2] = {
    {"Protected", prot_regions, 2, 1},
    {"Protected plain", prot_regions, 2, 0},
};

static void prot_init(uint8_t attributes)
{
    fx_init(&F, attributes);
    F.cfg.targets = prot_targets;
    F.cfg.target_count = UDFU_CFG_PLAIN ? 2 : 1; /* alt 1 is plain DFU */
    fx_start(&F);
    memset(F.in, 0, sizeof F.in);
}

TEST(upload_is_refused_without_bitcanupload)
{
    uint8_t alt;
    for (alt = 0; alt < 1 + UDFU_CFG_PLAIN; alt++) { /* alt 1: plain DFU */
        fx_init(&F, UDFU_ATTR_CAN_DNLOAD);
        udfu_dfu_set_alt(&F.dfu, alt);
        CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, alt ? 0 : 2, 64, NULL), UDFU_ERR_STALL);
        CHECK_EQ(F.reads, 0);
    }
}

TEST(dfuse_upload_of_write_only_memory_is_refused_without_reading)
{
    prot_init(RG_CAN);
    CHECK_EQ(fx_set_address(&F, 0x08004000), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL);
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 2, 64, NULL), UDFU_ERR_STALL);
    CHECK_EQ(F.reads, 0);
    CHECK_EQ(udfu_dfu_status(&F.dfu), UDFU_STATUS_ERR_ADDRESS);
}

TEST(dfuse_upload_straddling_into_protected_memory_leaks_nothing)
{
    prot_init(RG_CAN);
    CHECK_EQ(fx_set_address(&F, 0x08003F00), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL);
    /* 256 readable bytes, then the protected region */
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 2, 512, NULL), UDFU_ERR_STALL);
    CHECK_EQ(F.reads, 0);
}

TEST(plain_upload_stops_at_protected_memory)
{
    int n, blocks = 0;
    prot_init(RG_CAN);
    udfu_dfu_set_alt(&F.dfu, 1);
    memset(F.flash + 0x4000, 0x5A, 0x4000); /* the secret */
    do {
        n = fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, (uint16_t)blocks, FX_XFER, NULL);
        if (n > 0) {
            CHECK(memchr(F.in, 0x5A, (size_t)n) == NULL);
            blocks++;
        }
    } while (n == FX_XFER && blocks < 100);
    CHECK_EQ(blocks, 16); /* the 16 KiB bootloader, then a stall */
    CHECK_EQ(n, UDFU_ERR_STALL);
}

TEST(refused_upload_through_usbd_is_a_stall_not_data)
{
    static struct rg_usb u;
    rg_usb_init(&u, UDFU_ATTR_CAN_DNLOAD);
    CHECK_EQ(rg_usb_setup(&u, 0xA1, UDFU_REQ_UPLOAD, 2, 0, 64), RG_STALL);
    CHECK_EQ(u.fx.reads, 0);
}

int main(void)
{
    RUN(upload_is_refused_without_bitcanupload);
    RUN(dfuse_upload_of_write_only_memory_is_refused_without_reading);
    RUN(dfuse_upload_straddling_into_protected_memory_leaks_nothing);
    RUN_IF(UDFU_CFG_PLAIN, plain_upload_stops_at_protected_memory);
    RUN(refused_upload_through_usbd_is_a_stall_not_data);
    return test_summary();
}
