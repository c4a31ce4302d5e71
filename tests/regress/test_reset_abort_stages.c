/* Bug class: buffer lifetime and transfer context across a USB reset or
 * ABORT at any stage of a transfer (Apple's checkm8 kept using a DFU buffer
 * freed by a reset during a pending data stage). After an interruption at
 * every control stage, the device must still do a normal download and
 * upload, write exactly what the host sent, and never act on a transfer
 * that is gone: no late data accepted, no stale leave, no stale work. */
#include <string.h>

#include "rg.h"
#include "test.h"

static struct fx F;

/* Where the interruption lands. */
enum stage {
    S_AFTER_SETUP,   /* DNLOAD SETUP taken, data stage not sent */
    S_AFTER_DATA,    /* data received, status stage not done */
    S_AFTER_STATUS,  /* acknowledged, no GETSTATUS yet, task not run */
    S_BUSY,          /* programming running (asynchronous) */
    S_DONE,          /* programmed, dfuDNLOAD-IDLE */
    S_UPLOAD_SETUP,  /* UPLOAD answered, host has not taken the data */
    S_MANIFEST_SYNC, /* zero-length DNLOAD taken */
    S_COUNT
};

enum how { H_RESET, H_ABORT, H_ALT, H_COUNT };

static const char *const stage_names[S_COUNT] = {
    "after setup", "after data", "after status", "busy", "done", "upload", "manifest-sync"};

/* Drives plain alt 1 to the stage with a block of `seed` pattern. */
static void drive(struct fx *f, enum stage s, uint32_t seed)
{
    static uint8_t blk[FX_XFER];
    struct udfu_setup dn = {0x21, UDFU_REQ_DNLOAD, 0, 0, FX_XFER};
    struct udfu_setup up = {0xA1, UDFU_REQ_UPLOAD, 0, 0, FX_XFER};
    uint8_t *p = NULL;
    rg_pattern(blk, sizeof blk, seed);
    udfu_dfu_set_alt(&f->dfu, RG_ALT_PLAIN);
    if (s == S_UPLOAD_SETUP) {
        udfu_dfu_setup(&f->dfu, &up, &p);
        return;
    }
    if (s == S_MANIFEST_SYNC) {
        rg_reach(f, RG_ALT_PLAIN, UDFU_MANIFEST_SYNC);
        return;
    }
    f->async = s == S_BUSY;
    if (udfu_dfu_setup(&f->dfu, &dn, &p) != FX_XFER)
        return;
    if (s == S_AFTER_SETUP)
        return;
    memcpy(p, blk, FX_XFER);
    udfu_dfu_data(&f->dfu, FX_XFER);
    if (s == S_AFTER_DATA)
        return;
    udfu_dfu_status_done(&f->dfu);
    if (s == S_AFTER_STATUS)
        return;
    fx_task(f);
    if (s == S_BUSY)
        return;
    fx_wait(f);
}

static void interrupt(struct fx *f, enum how h)
{
    switch (h) {
    case H_RESET:
        udfu_dfu_reset(&f->dfu);
        break;
    case H_ABORT:
        fx_req(f, 0x21, UDFU_REQ_ABORT, 0, 0, NULL);
        break;
    default:
        udfu_dfu_set_alt(&f->dfu, RG_ALT_DFUSE);
        break;
    }
}

/* What a host does next: get the device idle, download, read back. */
static int normal_use(struct fx *f)
{
    static uint8_t img[3 * FX_XFER + 100], back[3 * FX_XFER + 100];
    uint32_t off;
    int i, st;
    for (i = 0; i < 20 && f->pending; i++) {
        fx_finish(f, 0);
        fx_advance(f, 100);
    }
    f->async = 0;
    for (i = 0; i < 20; i++)
        fx_advance(f, 100);
    st = fx_status(f, NULL, NULL);
    if (st == UDFU_DFU_ERROR)
        fx_req(f, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    else if (st != UDFU_DFU_IDLE)
        fx_req(f, 0x21, UDFU_REQ_ABORT, 0, 0, NULL);
    if (fx_status(f, NULL, NULL) != UDFU_DFU_IDLE)
        return 1;
    rg_pattern(img, sizeof img, 77);
    f->leaves = 0;
    f->cfg.attributes |= UDFU_ATTR_MANIFEST_TOLERANT;
    if (rg_plain_download(f, img, sizeof img) != UDFU_DFU_IDLE)
        return 2;
    if (memcmp(f->flash + (RG_APP - FX_FLASH_BASE), img, sizeof img) != 0)
        return 3;
    for (off = 0; off < sizeof back; off += FX_XFER) {
        int n = fx_req(f, 0xA1, UDFU_REQ_UPLOAD, 0, FX_XFER, NULL);
        if (n <= 0)
            return 4;
        memcpy(back + off, f->in, (size_t)n < sizeof back - off ? (size_t)n : sizeof back - off);
    }
    fx_req(f, 0x21, UDFU_REQ_ABORT, 0, 0, NULL);
    return memcmp(back, img, sizeof img) ? 5 : 0;
}

TEST(reset_abort_or_alt_change_at_every_stage_then_normal_use_works)
{
    int s, h;
    for (s = 0; s < S_COUNT; s++)
        for (h = 0; h < H_COUNT; h++) {
            int r;
            fx_init(&F, RG_CAN | UDFU_ATTR_MANIFEST_TOLERANT);
            drive(&F, (enum stage)s, 5);
            interrupt(&F, (enum how)h);
            r = normal_use(&F);
            if (r)
                fprintf(stderr, "  stage %s, interruption %d: normal use failed (%d)\n",
                        stage_names[s], h, r);
            CHECK_EQ(r, 0);
            CHECK_EQ(F.leaves, 0);
        }
}

TEST(data_stage_of_a_transfer_cut_by_reset_is_refused)
{
    struct udfu_setup dn = {0x21, UDFU_REQ_DNLOAD, 0, 0, 64};
    uint8_t *p = NULL;
    fx_init(&F, RG_CAN);
    CHECK_EQ(udfu_dfu_set_alt(&F.dfu, RG_ALT_SHARED), 0);
    CHECK_EQ(udfu_dfu_setup(&F.dfu, &dn, &p), 64);
    udfu_dfu_reset(&F.dfu);
    memset(p, 0x00, 64); /* the controller finishes the old DMA anyway */
    CHECK_EQ(udfu_dfu_data(&F.dfu, 64), UDFU_ERR_STALL);
    fx_advance(&F, 1000);
    CHECK_EQ(F.progs + F.erases, 0);
}

TEST(pipelined_work_never_programs_a_buffer_the_next_transfer_owns)
{
    static uint8_t a[FX_XFER], b[FX_XFER];
    fx_init(&F, RG_CAN);
    F.cfg.buffers = 2;
    F.async = 1;
    rg_pattern(a, sizeof a, 1);
    rg_pattern(b, sizeof b, 2);
    udfu_dfu_set_alt(&F.dfu, RG_ALT_PLAIN);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, FX_XFER, a), FX_XFER);
    fx_task(&F); /* erase of the first sector starts */
    fx_finish(&F, 0);
    fx_task(&F); /* program of block 0 starts, from its buffer */
    /* block 1 arrives into the other buffer, then a reset */
    CHECK_EQ(fx_wait(&F), UDFU_DNLOAD_IDLE);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 1, FX_XFER, b), FX_XFER);
    udfu_dfu_reset(&F.dfu);
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    /* a new transfer must not get a buffer queued work still reads */
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, FX_XFER, b), UDFU_ERR_STALL);
    fx_finish(&F, 0);
    fx_task(&F);
    CHECK_MEM(F.flash + (RG_APP - FX_FLASH_BASE), a, FX_XFER);
}

/* Finding: after a cancelled operation (alt change while it ran) a DNLOAD
 * queued behind it in the pipeline is never started: finish() returns
 * early for a cancelled operation without moving the queue on, so the
 * device stays busy (UPLOAD refused) and the block is programmed only when
 * some later operation finishes, out of order. */
TEST(block_queued_behind_cancelled_work_is_still_programmed)
{
    static uint8_t a[FX_XFER], b[FX_XFER];
    int i;
    fx_init(&F, RG_CAN);
    F.cfg.buffers = 2;
    F.async = 1;
    rg_pattern(a, sizeof a, 3);
    rg_pattern(b, sizeof b, 4);
    udfu_dfu_set_alt(&F.dfu, RG_ALT_PLAIN);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, FX_XFER, a), FX_XFER);
    fx_task(&F); /* erase starts and stays pending */
    CHECK(F.pending);
    udfu_dfu_set_alt(&F.dfu, RG_ALT_DFUSE); /* cancels the running download */
    udfu_dfu_set_alt(&F.dfu, RG_ALT_PLAIN);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, FX_XFER, b), FX_XFER);
    for (i = 0; i < 10; i++) {
        if (F.pending)
            fx_finish(&F, 0);
        fx_advance(&F, 100);
        fx_status(&F, NULL, NULL);
    }
    CHECK(!udfu_dfu_busy(&F.dfu));
    CHECK_MEM(F.flash + (RG_APP - FX_FLASH_BASE), b, FX_XFER);
}

/* Finding: after a manifestation-tolerant device finished a download and
 * went back to dfuIDLE through GETSTATUS, a second plain download does not
 * erase the sectors the first one erased (erased_end is not reset on that
 * path), so its first blocks are programmed over the old image: errCHECK_
 * ERASED with a backend that checks, a corrupt image with one that does
 * not. */
TEST(second_download_after_a_tolerant_manifestation_erases_again)
{
    static uint8_t one[2 * FX_XFER], two[2 * FX_XFER];
    fx_init(&F, RG_CAN | UDFU_ATTR_MANIFEST_TOLERANT);
    rg_pattern(one, sizeof one, 9);
    rg_pattern(two, sizeof two, 10);
    CHECK_EQ(rg_plain_download(&F, one, sizeof one), UDFU_DFU_IDLE);
    CHECK_EQ(rg_plain_download(&F, two, sizeof two), UDFU_DFU_IDLE);
    CHECK_MEM(F.flash + (RG_APP - FX_FLASH_BASE), two, sizeof two);
}

/* Finding: a manifestation-tolerant device that completed one download
 * keeps F_MANIFESTED through the next download, so a bus reset in the
 * middle of that second download leaves DFU mode (leave()) into a
 * half-written image instead of reporting errFIRMWARE and staying. */
TEST(reset_in_a_second_download_after_a_tolerant_manifestation_stays_in_dfu)
{
    static uint8_t img[2 * FX_XFER], zeros[FX_XFER];
    fx_init(&F, RG_CAN | UDFU_ATTR_MANIFEST_TOLERANT);
    rg_pattern(img, sizeof img, 9);
    CHECK_EQ(rg_plain_download(&F, img, sizeof img), UDFU_DFU_IDLE);
    /* second download: one block (zeros program over anything), then the
     * cable is pulled (bus reset) */
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, FX_XFER, zeros), FX_XFER);
    fx_task(&F);
    CHECK_EQ(fx_wait(&F), UDFU_DNLOAD_IDLE);
    udfu_dfu_reset(&F.dfu);
    fx_advance(&F, 5000);
    CHECK_EQ(F.leaves, 0);
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_ERROR);
    CHECK_EQ(udfu_dfu_status(&F.dfu), UDFU_STATUS_ERR_FIRMWARE);
}

/* Finding: CLRSTATUS does not disarm a leave. A device that finished its
 * manifestation (dfuMANIFEST-WAIT-RESET, leave armed for reset_timeout)
 * and is then brought back to dfuIDLE by the host (an illegal request,
 * then CLRSTATUS) still calls leave() when the timer expires, in the
 * middle of the download the host started meanwhile. */
TEST(clrstatus_after_manifestation_disarms_the_pending_leave)
{
    static uint8_t img[FX_XFER];
    fx_init(&F, RG_CAN); /* not manifestation tolerant */
    rg_pattern(img, sizeof img, 11);
    CHECK_EQ(rg_reach(&F, RG_ALT_PLAIN, UDFU_MANIFEST_WAIT_RESET), UDFU_MANIFEST_WAIT_RESET);
    fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL); /* illegal here: dfuERROR */
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL), 0);
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_IDLE);
    /* the host starts over */
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, FX_XFER, img), FX_XFER);
    fx_task(&F);
    CHECK_EQ(fx_wait(&F), UDFU_DNLOAD_IDLE);
    fx_advance(&F, 10000);
    CHECK_EQ(F.leaves, 0);
}

/* Finding: a manifestation that finishes after the host made a mistake
 * (dfuERROR) or cleared it (CLRSTATUS, dfuIDLE) still moves the state to
 * dfuMANIFEST-WAIT-RESET: out of dfuERROR with bStatus errSTALLEDPKT left
 * in place, or out of dfuIDLE with the host's next transfer under way. */
TEST(manifestation_ending_after_the_host_moved_on_leaves_the_state_alone)
{
    fx_init(&F, RG_CAN);
    CHECK_EQ(rg_reach(&F, RG_ALT_PLAIN, UDFU_MANIFEST), UDFU_MANIFEST);
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, 16, "0123456789abcdef"); /* illegal: dfuERROR */
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_ERROR);
    fx_task(&F); /* the manifestation runs and ends */
    CHECK(udfu_dfu_state(&F.dfu) == UDFU_DFU_ERROR ||
          udfu_dfu_status(&F.dfu) == UDFU_STATUS_OK);
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_ERROR);

    fx_init(&F, RG_CAN);
    CHECK_EQ(rg_reach(&F, RG_ALT_PLAIN, UDFU_MANIFEST), UDFU_MANIFEST);
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, 16, "0123456789abcdef");
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    fx_task(&F);
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_IDLE);
    fx_advance(&F, 10000);
    CHECK_EQ(F.leaves, 0);
}

/* Finding: a manifestation the host abandoned (a mistake, then CLRSTATUS)
 * still marks the device "manifested" when it finishes, after the host has
 * queued new work behind it; the next bus reset then leaves DFU mode into
 * memory written or erased after that manifestation. */
TEST(reset_after_work_queued_behind_an_abandoned_manifestation_stays_in_dfu)
{
    static uint8_t blk[FX_XFER];
    uint8_t erase[5] = {0x41, 0x00, 0x40, 0x00, 0x08};
    int i;
    /* plain: manifestation started, host mistake, CLRSTATUS, a new block */
    if (UDFU_CFG_PLAIN) {
        fx_init(&F, RG_CAN);
        F.cfg.buffers = 2;
        CHECK_EQ(rg_reach(&F, RG_ALT_PLAIN, UDFU_MANIFEST), UDFU_MANIFEST);
        fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL); /* illegal in dfuMANIFEST */
        CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL), 0);
        CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, FX_XFER, blk), FX_XFER);
        for (i = 0; i < 5; i++) {
            fx_advance(&F, 100);
            fx_status(&F, NULL, NULL);
        }
        udfu_dfu_reset(&F.dfu);
        fx_advance(&F, 5000);
        CHECK_EQ(F.leaves, 0);
    }
    /* DfuSe: the leave's check started by a reset in dfuERROR, CLRSTATUS,
     * then a page erase */
    fx_init(&F, RG_CAN);
    F.cfg.buffers = 2;
    CHECK_EQ(rg_reach(&F, RG_ALT_DFUSE, UDFU_MANIFEST_SYNC), UDFU_MANIFEST_SYNC);
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL); /* illegal: dfuERROR */
    udfu_dfu_reset(&F.dfu);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL), 0);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, 5, erase), 5);
    for (i = 0; i < 5; i++) {
        fx_advance(&F, 100);
        fx_status(&F, NULL, NULL);
    }
    CHECK_EQ(F.erases, 1);
    udfu_dfu_reset(&F.dfu);
    fx_advance(&F, 5000);
    CHECK_EQ(F.leaves, 0);
}

/* Finding: a DfuSe leave requested while an older, abandoned
 * manifestation still runs with work queued behind it takes that old
 * check as its own: the queued work (here a mass erase) runs after it and
 * the device then leaves without checking again. */
TEST(leave_never_counts_a_check_that_ran_before_queued_work)
{
    int i, manifests;
    fx_init(&F, RG_CAN);
    F.cfg.buffers = 2;
    CHECK_EQ(rg_reach(&F, RG_ALT_DFUSE, UDFU_MANIFEST_SYNC), UDFU_MANIFEST_SYNC);
    CHECK_EQ(fx_status(&F, NULL, NULL), UDFU_MANIFEST);
    F.async = 1;
    fx_task(&F); /* the leave's check (manifest) runs and stays pending */
    CHECK(F.pending);
    fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL); /* illegal: dfuERROR */
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, 1, "\x41"), 1); /* mass erase, queued */
    fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL); /* illegal in dfuDNLOAD-SYNC */
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, 0, NULL), 0); /* leave, from dfuIDLE */
    fx_finish(&F, 0); /* the old check ends */
    fx_task(&F);
    manifests = F.manifests;
    for (i = 0; i < 100 && (F.pending || udfu_dfu_busy(&F.dfu)); i++) {
        if (F.pending)
            fx_finish(&F, 0);
        fx_advance(&F, 100);
    }
    CHECK(F.erases > 0);
    udfu_dfu_reset(&F.dfu);
    for (i = 0; i < 10; i++) {
        if (F.pending)
            fx_finish(&F, 0);
        fx_advance(&F, 1000);
    }
    /* leaving is fine, but only after a check of what the erase left */
    CHECK(F.leaves == 0 || F.manifests > manifests);
}

/* Finding: a DfuSe leave (zero-length DNLOAD) survives a host mistake and
 * an alt change made in dfuERROR; the next bus reset then runs the leave on
 * the newly selected plain-DFU target and calls leave() with that target's
 * first address as if it were a DfuSe jump address (a plain leave is
 * leave(0)). */
TEST(alt_change_drops_a_pending_dfuse_leave)
{
    fx_init(&F, RG_CAN);
    CHECK_EQ(rg_reach(&F, RG_ALT_DFUSE, UDFU_MANIFEST_SYNC), UDFU_MANIFEST_SYNC);
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL); /* illegal: dfuERROR */
    udfu_dfu_set_alt(&F.dfu, RG_ALT_PLAIN);
    udfu_dfu_reset(&F.dfu);
    fx_advance(&F, 5000);
    CHECK(F.leaves == 0 || F.leave_addr == 0);
}

int main(void)
{
    RUN_IF(UDFU_CFG_PLAIN, reset_abort_or_alt_change_at_every_stage_then_normal_use_works);
    RUN(data_stage_of_a_transfer_cut_by_reset_is_refused);
    RUN_IF(UDFU_CFG_PIPELINE && UDFU_CFG_ASYNC && UDFU_CFG_PLAIN,
           pipelined_work_never_programs_a_buffer_the_next_transfer_owns);
    RUN_IF(UDFU_CFG_PIPELINE && UDFU_CFG_ASYNC && UDFU_CFG_PLAIN,
           block_queued_behind_cancelled_work_is_still_programmed);
    RUN_IF(UDFU_CFG_PLAIN, second_download_after_a_tolerant_manifestation_erases_again);
    RUN_IF(UDFU_CFG_PLAIN, reset_in_a_second_download_after_a_tolerant_manifestation_stays_in_dfu);
    RUN_IF(UDFU_CFG_PLAIN, clrstatus_after_manifestation_disarms_the_pending_leave);
    RUN_IF(UDFU_CFG_PLAIN, manifestation_ending_after_the_host_moved_on_leaves_the_state_alone);
    RUN_IF(UDFU_CFG_PIPELINE,
           reset_after_work_queued_behind_an_abandoned_manifestation_stays_in_dfu);
    RUN_IF(UDFU_CFG_PIPELINE && UDFU_CFG_ASYNC,
           leave_never_counts_a_check_that_ran_before_queued_work);
    RUN_IF(UDFU_CFG_PLAIN, alt_change_drops_a_pending_dfuse_leave);
    return test_summary();
}
