/* Pipelined download (cfg.buffers = 2): block N+1 is received while block
 * N is programmed, the poll timeout lasts only as long as needed, late
 * errors are reported and stop everything, and no buffer is reused while
 * flash work still reads it (the fixture's async program reads its buffer
 * when the operation ends, as DMA would). */
#include <string.h>

#include "dfu_fixture.h"
#include "test.h"

#define CAN (UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD)

static struct fx F;

static void pipe_init(uint8_t attr, uint8_t alt)
{
    fx_init(&F, attr);
    F.cfg.buffers = 2;
    fx_start(&F);
    udfu_dfu_set_alt(&F.dfu, alt);
    fx_task(&F);
    memset(F.flash, 0xFF, sizeof F.flash); /* DfuSe hosts erase first */
    F.async = 1;
}

static void fill(uint8_t *p, uint32_t n, uint32_t seed)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)((i ^ (i >> 7) ^ (i >> 13)) * 31u + seed);
}

TEST(second_block_is_taken_while_first_programs)
{
    static uint8_t a[FX_XFER], b[FX_XFER];
    uint32_t poll = 99;
    fill(a, sizeof a, 1);
    fill(b, sizeof b, 2);
    pipe_init(CAN, 0);
    CHECK_EQ(fx_set_address(&F, 0x08004000), UDFU_DNLOAD_IDLE);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, FX_XFER, a), FX_XFER);
    fx_task(&F);
    CHECK(F.pending); /* block 2 is programming */
    /* DfuSe contract kept: dfuDNBUSY first, but 0 ms: the data is safe */
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_DNBUSY);
    CHECK_EQ(poll, 0);
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_DNLOAD_IDLE);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 3, FX_XFER, b), FX_XFER);
    /* Both buffers in use: the next block must wait for block 2. */
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_DNBUSY);
    CHECK_EQ(poll, 5); /* 1 KiB at 4100 us/KiB, the running program */
    fx_advance(&F, 3);
    fx_finish(&F, 0);
    fx_task(&F); /* block 3 starts programming */
    CHECK_EQ(F.progs, 2);
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_DNLOAD_IDLE);
    fx_finish(&F, 0);
    fx_task(&F);
    CHECK_MEM(F.flash + 0x4000, a, FX_XFER);
    CHECK_MEM(F.flash + 0x4000 + FX_XFER, b, FX_XFER);
    CHECK(!udfu_dfu_busy(&F.dfu));
}

TEST(single_buffer_waits_for_every_block)
{
    static uint8_t a[FX_XFER];
    uint32_t poll = 0;
    fx_init(&F, CAN);
    F.async = 1;
    F.async = 0;
    CHECK_EQ(fx_set_address(&F, 0x08004000), UDFU_DNLOAD_IDLE);
    F.async = 1;
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, FX_XFER, a);
    fx_task(&F);
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_DNBUSY);
    CHECK_EQ(poll, 5);
    fx_advance(&F, poll);
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_DNBUSY); /* still programming */
}

/* dfu-util style plain download with random completion delays. */
TEST(pipelined_plain_image_lands_byte_for_byte)
{
    static uint8_t img[300 * 1024 + 77];
    uint32_t off = 0, guard = 0, seed = 12345;
    uint16_t block = 0;
    fill(img, sizeof img, 7);
    pipe_init(CAN | UDFU_ATTR_MANIFEST_TOLERANT, 1);
    while (off < sizeof img && guard++ < 100000) {
        uint16_t n = (uint16_t)(sizeof img - off < FX_XFER ? sizeof img - off : FX_XFER);
        uint32_t poll = 0;
        int st;
        CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, block++, n, img + off), n);
        off += n;
        for (;;) {
            fx_task(&F);
            st = fx_status(&F, &poll, NULL);
            if (st == UDFU_DNLOAD_IDLE || st < 0 || st == UDFU_DFU_ERROR)
                break;
            fx_advance(&F, poll);
            seed = seed * 1103515245u + 12345u;
            if (F.pending && (seed >> 16) % 3 == 0)
                fx_finish(&F, 0);
        }
        CHECK_EQ(st, UDFU_DNLOAD_IDLE);
        if (st != UDFU_DNLOAD_IDLE)
            return;
    }
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, block, 0, NULL), 0);
    for (guard = 0; guard < 1000; guard++) {
        uint32_t poll = 0;
        int st = fx_status(&F, &poll, NULL);
        if (st == UDFU_DFU_IDLE)
            break;
        CHECK(st == UDFU_MANIFEST);
        fx_advance(&F, poll);
        if (F.pending)
            fx_finish(&F, 0);
        fx_task(&F);
    }
    CHECK_EQ(F.manifests, 1);
    CHECK_MEM(F.flash + 0x4000, img, sizeof img);
}

TEST(late_program_error_stops_pipeline_and_manifestation)
{
    static uint8_t a[FX_XFER], b[FX_XFER];
    uint8_t status;
    pipe_init(CAN, 0);
    fx_set_address(&F, 0x08004000);
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, FX_XFER, a);
    fx_task(&F);
    fx_status(&F, NULL, NULL);
    CHECK_EQ(fx_status(&F, NULL, NULL), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 3, FX_XFER, b);
    fx_finish(&F, UDFU_ERR_PROG); /* block 2 fails after block 3 was taken */
    fx_task(&F);
    CHECK_EQ(F.progs, 1); /* block 3 is never programmed */
    CHECK_EQ(fx_status(&F, NULL, &status), UDFU_DFU_ERROR);
    CHECK_EQ(status, UDFU_STATUS_ERR_PROG);
    fx_advance(&F, 10000);
    CHECK_EQ(F.manifests, 0);
    CHECK_EQ(F.leaves, 0);
}

TEST(leave_waits_for_pipeline_to_drain)
{
    static uint8_t a[FX_XFER];
    uint32_t poll = 0;
    pipe_init(CAN, 0);
    fx_set_address(&F, 0x08004000);
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, FX_XFER, a);
    fx_task(&F);
    fx_status(&F, NULL, NULL);
    fx_status(&F, NULL, NULL);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, 0, NULL), 0); /* leave */
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_MANIFEST);
    CHECK_EQ(poll, 5 + 20); /* the program still running + the check */
    fx_advance(&F, 50);
    CHECK_EQ(F.manifests, 0);
    CHECK_EQ(F.leaves, 0);
    fx_finish(&F, 0);
    fx_task(&F); /* the check runs (async) */
    CHECK_EQ(F.manifests, 1);
    fx_finish(&F, 0);
    fx_task(&F);
    CHECK_EQ(F.leaves, 1);
    CHECK_EQ(F.leave_addr, 0x08004000);
}

TEST(abort_keeps_acknowledged_blocks_and_reports_remaining_time)
{
    static uint8_t a[FX_XFER];
    uint32_t poll = 0;
    fill(a, sizeof a, 9);
    pipe_init(CAN, 0);
    fx_set_address(&F, 0x08004000);
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, FX_XFER, a);
    fx_task(&F);
    fx_status(&F, NULL, NULL);
    fx_status(&F, NULL, NULL);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL), 0);
    /* dfu-util's abort-to-idle sleeps this poll timeout */
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_DFU_IDLE);
    CHECK_EQ(poll, 5);
    /* reading back before the write is done would be stale: refused */
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 2, 16, NULL), UDFU_ERR_STALL);
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    fx_finish(&F, 0);
    fx_task(&F);
    CHECK_MEM(F.flash + 0x4000, a, FX_XFER);
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 2, 16, NULL), 16);
    CHECK_MEM(F.in, a, 16);
}

int main(void)
{
    RUN_IF(UDFU_CFG_PIPELINE && UDFU_CFG_ASYNC, second_block_is_taken_while_first_programs);
    RUN_IF(UDFU_CFG_ASYNC, single_buffer_waits_for_every_block);
    RUN_IF(UDFU_CFG_PIPELINE && UDFU_CFG_PLAIN, pipelined_plain_image_lands_byte_for_byte);
    RUN_IF(UDFU_CFG_PIPELINE && UDFU_CFG_ASYNC,
           late_program_error_stops_pipeline_and_manifestation);
    RUN_IF(UDFU_CFG_PIPELINE && UDFU_CFG_ASYNC, leave_waits_for_pipeline_to_drain);
    RUN_IF(UDFU_CFG_PIPELINE && UDFU_CFG_ASYNC,
           abort_keeps_acknowledged_blocks_and_reports_remaining_time);
    return test_summary();
}
