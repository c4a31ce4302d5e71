/* Bug class: 16-bit block numbers wrapping on large images, and DfuSe's
 * block 0/1 semantics. A plain download of more than 65536 blocks must
 * land contiguously (the block number is not trusted); DfuSe blocks are
 * pointer + (block - 2) * wTransferSize, block 0 is a command (DNLOAD) or
 * the command list (UPLOAD), block 1 is not used. */
#include <string.h>

#include "rg.h"
#include "test.h"

static struct fx F;

TEST(plain_download_past_65536_blocks_lands_contiguously)
{
    /* 8-byte blocks: 65536 of them are 512 KiB; send 65536 + 100 */
    static uint8_t img[(65536u + 100u) * 8u];
    uint32_t off;
    uint16_t block = 0;
    int ok = 1;
    fx_init(&F, RG_CAN | UDFU_ATTR_MANIFEST_TOLERANT);
    F.cfg.transfer_size = 8;
    rg_pattern(img, sizeof img, 21);
    udfu_dfu_set_alt(&F.dfu, RG_ALT_PLAIN);
    for (off = 0; off < sizeof img && ok; off += 8) {
        ok = fx_req(&F, 0x21, UDFU_REQ_DNLOAD, block++, 8, img + off) == 8;
        fx_task(&F);
        ok = ok && fx_wait(&F) == UDFU_DNLOAD_IDLE;
    }
    CHECK(ok);
    CHECK_EQ(block, 100); /* it did wrap */
    CHECK_MEM(F.flash + (RG_APP - FX_FLASH_BASE), img, sizeof img);
}

TEST(plain_upload_past_65536_blocks_reads_contiguously)
{
    uint32_t off, i;
    uint16_t block = 0;
    int ok = 1;
    fx_init(&F, RG_CAN);
    F.cfg.transfer_size = 8;
    for (i = 0; i < FX_FLASH_SIZE; i++)
        F.flash[i] = (uint8_t)(i ^ (i >> 8) ^ (i >> 16));
    udfu_dfu_set_alt(&F.dfu, RG_ALT_PLAIN);
    for (off = 0; off < (65536u + 10u) * 8u && ok; off += 8) {
        ok = fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, block++, 8, NULL) == 8;
        ok = ok && memcmp(F.in, F.flash + (RG_APP - FX_FLASH_BASE) + off, 8) == 0;
    }
    CHECK(ok);
    CHECK_EQ(block, 10);
}

TEST(dfuse_block_1_is_refused_both_ways)
{
    static uint8_t blk[64];
    fx_init(&F, RG_CAN);
    CHECK_EQ(fx_set_address(&F, 0x08008000), UDFU_DNLOAD_IDLE);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 1, 64, blk), UDFU_ERR_STALL);
    fx_advance(&F, 1000);
    CHECK_EQ(F.progs + F.erases, 0);
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 1, 64, NULL), UDFU_ERR_STALL);
    CHECK_EQ(F.reads, 0);
}

TEST(dfuse_upload_block_0_is_the_command_list_not_memory)
{
    fx_init(&F, RG_CAN);
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 0, 64, NULL), 3);
    CHECK_EQ(F.reads, 0);
}

TEST(dfuse_high_block_numbers_never_reach_past_the_map)
{
    static uint8_t blk[FX_XFER];
    static const uint16_t blocks[] = {0x0402, 0x8000, 0xFFFF};
    unsigned i;
    for (i = 0; i < 3; i++) {
        fx_init(&F, RG_CAN);
        CHECK_EQ(fx_set_address(&F, 0x08004000), UDFU_DNLOAD_IDLE);
        CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, blocks[i], FX_XFER, blk), FX_XFER);
        fx_task(&F);
        CHECK_EQ(fx_wait(&F), UDFU_DFU_ERROR);
        CHECK_EQ(F.progs + F.erases, 0);
        fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
        CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, blocks[i], FX_XFER, NULL), UDFU_ERR_STALL);
        CHECK_EQ(F.reads, 0);
    }
}

int main(void)
{
    RUN_IF(UDFU_CFG_PLAIN, plain_download_past_65536_blocks_lands_contiguously);
    RUN_IF(UDFU_CFG_PLAIN, plain_upload_past_65536_blocks_reads_contiguously);
    RUN(dfuse_block_1_is_refused_both_ways);
    RUN(dfuse_upload_block_0_is_the_command_list_not_memory);
    RUN(dfuse_high_block_numbers_never_reach_past_the_map);
    return test_summary();
}
