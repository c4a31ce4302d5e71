/* DFU 1.1 (plain) behaviour of the class core: download with on-the-fly
 * erase, upload, manifestation, asynchronous memory work, honest poll
 * timeouts, resets. The full state table is in tests/conformance. */
#include <string.h>

#include "dfu_fixture.h"
#include "test.h"

#define CAN (UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD)
#define APP 0x08004000u

static struct fx F;

static void pattern(uint8_t *p, uint32_t n, uint32_t seed)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 7u + seed) ^ (i >> 8));
}

/* dfu-util -D: blocks, GETSTATUS loop, zero-length DNLOAD, status loop. */
static int plain_download(struct fx *f, const uint8_t *img, uint32_t len)
{
    uint32_t off = 0;
    uint16_t block = 0;
    int st;
    udfu_dfu_set_alt(&f->dfu, 1); /* SET_INTERFACE, answered by usbd */
    while (off < len) {
        uint16_t n = (uint16_t)(len - off < FX_XFER ? len - off : FX_XFER);
        if (fx_req(f, 0x21, UDFU_REQ_DNLOAD, block++, n, img + off) != n)
            return -1;
        fx_task(f);
        st = fx_wait(f);
        if (st != UDFU_DNLOAD_IDLE)
            return st;
        off += n;
    }
    if (fx_req(f, 0x21, UDFU_REQ_DNLOAD, block, 0, NULL) != 0)
        return -1;
    return 0;
}

TEST(plain_download_writes_image_and_erases_sectors_as_reached)
{
    static uint8_t img[40000];
    uint32_t poll;
    fx_init(&F, CAN | UDFU_ATTR_MANIFEST_TOLERANT);
    pattern(img, sizeof img, 3);
    CHECK_EQ(plain_download(&F, img, sizeof img), 0);
    CHECK_MEM(F.flash + (APP - FX_FLASH_BASE), img, sizeof img);
    CHECK_EQ(F.erases, 3); /* 40000 bytes span three 16K sectors */
    CHECK_EQ(F.write_lo, APP);
    CHECK_EQ(F.write_hi, APP + 3 * 16384);
    /* Bytes past the image in the last erased sector read erased. */
    CHECK_EQ(F.flash[APP - FX_FLASH_BASE + sizeof img], 0xFF);
    /* Sector 0 (bootloader) untouched. */
    CHECK_EQ(F.flash[0], 0xA5);
    /* manifestation */
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_MANIFEST);
    CHECK_EQ(poll, 20);
    fx_task(&F);
    CHECK_EQ(F.manifests, 1);
    fx_advance(&F, poll);
    CHECK_EQ(fx_status(&F, NULL, NULL), UDFU_DFU_IDLE);
    CHECK_EQ(F.leaves, 0);
    /* manifestation tolerant: a bus reset now leaves for the application */
    udfu_dfu_reset(&F.dfu);
    fx_task(&F);
    CHECK_EQ(F.leaves, 1);
    CHECK_EQ(F.leave_addr, 0);
}

TEST(first_getstatus_after_block_reports_dnbusy_with_honest_poll)
{
    static uint8_t img[FX_XFER];
    uint32_t poll = 0;
    fx_init(&F, CAN);
    udfu_dfu_set_alt(&F.dfu, 1);
    F.async = 1;
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, FX_XFER, img), FX_XFER);
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DNLOAD_SYNC);
    CHECK_EQ(F.erases, 0); /* nothing runs inside the request */
    fx_task(&F);
    CHECK_EQ(F.erases, 1);
    CHECK(F.pending);
    /* erase of a 16K sector (250 ms) + 1 KiB at 4100 us/KiB (5 ms) */
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_DNBUSY);
    CHECK_EQ(poll, 255);
    /* Early request while busy: stall into dfuERROR (DFU 1.1 A.2). */
    fx_advance(&F, 100);
    CHECK_EQ(fx_status(&F, &poll, NULL), -1);
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_ERROR);
    CHECK_EQ(udfu_dfu_status(&F.dfu), UDFU_STATUS_ERR_STALLEDPKT);
}

TEST(poll_timeout_counts_down_while_work_runs)
{
    static uint8_t img[FX_XFER];
    uint32_t poll = 0;
    fx_init(&F, CAN);
    udfu_dfu_set_alt(&F.dfu, 1);
    F.async = 1;
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, FX_XFER, img);
    fx_task(&F);
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_DNBUSY);
    fx_advance(&F, poll); /* host waited; erase still running */
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_DNBUSY);
    CHECK_EQ(poll, 6); /* erase overran its estimate: 1 ms, + 5 ms program */
    fx_advance(&F, 1);
    fx_finish(&F, 0); /* erase done */
    fx_task(&F);      /* program starts (5 ms) */
    CHECK_EQ(F.progs, 1);
    fx_advance(&F, 5); /* the host sleeps the 6 ms it was told */
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_DNBUSY);
    CHECK_EQ(poll, 1); /* program at its estimate, not done: 1 ms */
    fx_finish(&F, 0);
    fx_task(&F);
    /* Work done before the poll timeout: the busy state ends early. */
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_DNLOAD_IDLE);
    CHECK_EQ(poll, 0);
}

TEST(program_failure_reported_at_next_getstatus)
{
    static uint8_t img[FX_XFER];
    uint8_t status = 0;
    fx_init(&F, CAN);
    udfu_dfu_set_alt(&F.dfu, 1);
    F.async = 1;
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, FX_XFER, img);
    fx_task(&F);
    fx_finish(&F, 0);
    F.async = 0;
    F.fail_next = UDFU_ERR_PROG;
    fx_task(&F);
    CHECK_EQ(fx_status(&F, NULL, &status), UDFU_DFU_ERROR);
    CHECK_EQ(status, UDFU_STATUS_ERR_PROG);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL), 0);
    CHECK_EQ(fx_status(&F, NULL, &status), UDFU_DFU_IDLE);
    CHECK_EQ(status, UDFU_STATUS_OK);
}

TEST(download_past_end_of_target_is_refused_before_any_erase)
{
    static uint8_t img[FX_XFER];
    uint8_t status;
    uint32_t i;
    fx_init(&F, CAN);
    udfu_dfu_set_alt(&F.dfu, 1);
    /* The plain target holds 1 MiB - 16 KiB: send one block too many. */
    for (i = 0; i < (FX_FLASH_SIZE - 16384) / FX_XFER; i++) {
        fx_req(&F, 0x21, UDFU_REQ_DNLOAD, (uint16_t)i, FX_XFER, img);
        fx_task(&F);
        if (fx_wait(&F) != UDFU_DNLOAD_IDLE)
            break;
    }
    CHECK_EQ(i, (FX_FLASH_SIZE - 16384) / FX_XFER);
    CHECK_EQ(F.erases, 11);
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, (uint16_t)i, 1, img);
    fx_task(&F);
    CHECK_EQ(fx_status(&F, NULL, &status), UDFU_DNBUSY); /* always first */
    fx_task(&F);
    CHECK_EQ(fx_status(&F, NULL, &status), UDFU_DFU_ERROR);
    CHECK_EQ(status, UDFU_STATUS_ERR_ADDRESS);
    CHECK_EQ(F.erases, 11);
    CHECK_EQ(F.write_hi, FX_FLASH_BASE + FX_FLASH_SIZE);
}

TEST(plain_download_wraps_block_number_without_harm)
{
    static uint8_t a[16], b[16];
    fx_init(&F, CAN);
    udfu_dfu_set_alt(&F.dfu, 1);
    memset(a, 0x11, sizeof a);
    memset(b, 0x22, sizeof b);
    /* The block number is not trusted: data goes where the image is. */
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0xFFFF, 16, a);
    fx_task(&F);
    CHECK_EQ(fx_wait(&F), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0x0000, 16, b);
    fx_task(&F);
    CHECK_EQ(fx_wait(&F), UDFU_DNLOAD_IDLE);
    CHECK_MEM(F.flash + (APP - FX_FLASH_BASE), a, 16);
    CHECK_MEM(F.flash + (APP - FX_FLASH_BASE) + 16, b, 16);
}

static uint32_t plain_upload(struct fx *f, uint8_t *out, uint16_t blk)
{
    uint32_t total = 0;
    uint16_t block = 0;
    int n;
    do {
        n = fx_req(f, 0xA1, UDFU_REQ_UPLOAD, block++, blk, NULL);
        if (n < 0)
            return 0xFFFFFFFFu;
        memcpy(out + total, f->in, (size_t)n);
        total += (uint32_t)n;
    } while (n == blk);
    return total;
}

TEST(plain_upload_ends_with_short_block_or_empty_reply)
{
    static uint8_t out[FX_FLASH_SIZE];
    uint32_t size = FX_FLASH_SIZE - 16384;
    fx_init(&F, CAN);
    udfu_dfu_set_alt(&F.dfu, 1);
    pattern(F.flash, FX_FLASH_SIZE, 9);
    /* Target size is a multiple of 1024: the end is a 0-byte reply. */
    CHECK_EQ(plain_upload(&F, out, 1024), size);
    CHECK_MEM(out, F.flash + 16384, size);
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_IDLE);
    /* 1000-byte blocks: the last block is short. */
    CHECK_EQ(plain_upload(&F, out, 1000), size);
    CHECK_MEM(out, F.flash + 16384, size);
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_IDLE);
}

/* dfu-util -U, then -D on a plain target: the upload ended in dfuIDLE,
 * from where a download is a new image at the target's start (A.2.3). */
TEST(download_after_a_finished_upload_starts_at_the_target_start)
{
    static uint8_t out[FX_FLASH_SIZE], img[3000];
    fx_init(&F, CAN | UDFU_ATTR_MANIFEST_TOLERANT);
    udfu_dfu_set_alt(&F.dfu, 1);
    CHECK_EQ(plain_upload(&F, out, 1000), FX_FLASH_SIZE - 16384);
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_IDLE);
    pattern(img, sizeof img, 5);
    CHECK_EQ(plain_download(&F, img, sizeof img), 0);
    CHECK_MEM(F.flash + (APP - FX_FLASH_BASE), img, sizeof img);
}

TEST(upload_refused_without_can_upload)
{
    fx_init(&F, UDFU_ATTR_CAN_DNLOAD);
    udfu_dfu_set_alt(&F.dfu, 1);
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 0, 64, NULL), UDFU_ERR_STALL);
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_ERROR);
    CHECK_EQ(F.reads, 0);
}

TEST(not_tolerant_waits_for_reset_then_leaves_by_itself)
{
    static uint8_t img[100];
    uint32_t poll;
    fx_init(&F, CAN);
    F.cfg.reset_timeout_ms = 2000;
    CHECK_EQ(plain_download(&F, img, sizeof img), 0);
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_MANIFEST);
    fx_task(&F);
    fx_advance(&F, poll + 1000);
    /* dfu-util reads the state to learn it must reset the device */
    CHECK_EQ(fx_status(&F, NULL, NULL), UDFU_MANIFEST_WAIT_RESET);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL), UDFU_ERR_STALL);
    CHECK_EQ(F.leaves, 0);
    /* The host never resets: the device leaves after reset_timeout_ms. */
    fx_advance(&F, 900);
    CHECK_EQ(F.leaves, 0);
    fx_advance(&F, 100);
    CHECK_EQ(F.leaves, 1);
}

/* dfu-util asks again bwPollTimeout + 1000 ms after dfuMANIFEST: a
 * manifestation that ends early must not start the reset timeout before
 * the poll it announced is over, or the device is gone when the host asks. */
TEST(wait_reset_timeout_starts_when_the_announced_poll_ends)
{
    static uint8_t img[100];
    uint32_t poll;
    fx_init(&F, CAN);
    F.cfg.manifest_ms = 4000;
    F.cfg.reset_timeout_ms = 0; /* the default, 3000 ms */
    CHECK_EQ(plain_download(&F, img, sizeof img), 0);
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_MANIFEST);
    CHECK(poll >= 4000);
    fx_advance(&F, 100); /* the manifestation is done long before that */
    CHECK_EQ(F.manifests, 1);
    fx_advance(&F, poll - 100 + 1000);
    CHECK_EQ(F.leaves, 0);
    CHECK_EQ(fx_status(&F, NULL, NULL), UDFU_MANIFEST_WAIT_RESET);
    fx_advance(&F, 3000 - 1000 - 1);
    CHECK_EQ(F.leaves, 0);
    fx_advance(&F, 1);
    CHECK_EQ(F.leaves, 1);
}

TEST(not_tolerant_leaves_on_bus_reset)
{
    static uint8_t img[100];
    uint32_t poll;
    fx_init(&F, CAN);
    F.cfg.reset_timeout_ms = 60000;
    CHECK_EQ(plain_download(&F, img, sizeof img), 0);
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_MANIFEST);
    fx_advance(&F, poll);
    CHECK_EQ(fx_status(&F, NULL, NULL), UDFU_MANIFEST_WAIT_RESET);
    udfu_dfu_reset(&F.dfu);
    fx_task(&F);
    CHECK_EQ(F.leaves, 1);
}

/* Over USB/IP the host's port reset is invisible; the kernel then
 * re-selects the alt setting. That must not cancel the pending leave. */
TEST(alt_reselected_in_wait_reset_keeps_the_leave)
{
    static uint8_t img[100];
    uint32_t poll;
    fx_init(&F, CAN);
    CHECK_EQ(plain_download(&F, img, sizeof img), 0); /* on alt 1 */
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_MANIFEST);
    fx_advance(&F, poll);
    CHECK_EQ(fx_status(&F, NULL, NULL), UDFU_MANIFEST_WAIT_RESET);
    CHECK_EQ(udfu_dfu_set_alt(&F.dfu, 0), 0);
    fx_advance(&F, 500);
    CHECK_EQ(F.leaves, 1);
}

TEST(manifest_failure_never_leaves)
{
    static uint8_t img[100];
    uint8_t status;
    fx_init(&F, CAN);
    CHECK_EQ(plain_download(&F, img, sizeof img), 0);
    F.fail_next = UDFU_ERR_FIRMWARE;
    CHECK_EQ(fx_status(&F, NULL, NULL), UDFU_MANIFEST);
    fx_advance(&F, 20);
    CHECK_EQ(fx_status(&F, NULL, &status), UDFU_DFU_ERROR);
    CHECK_EQ(status, UDFU_STATUS_ERR_FIRMWARE);
    udfu_dfu_reset(&F.dfu);
    fx_advance(&F, 10000);
    CHECK_EQ(F.leaves, 0);
}

TEST(bus_reset_mid_download_reports_errfirmware)
{
    static uint8_t img[FX_XFER];
    uint8_t status;
    fx_init(&F, CAN);
    udfu_dfu_set_alt(&F.dfu, 1);
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, FX_XFER, img);
    fx_task(&F);
    CHECK_EQ(fx_wait(&F), UDFU_DNLOAD_IDLE);
    udfu_dfu_reset(&F.dfu);
    CHECK_EQ(fx_status(&F, NULL, &status), UDFU_DFU_ERROR);
    CHECK_EQ(status, UDFU_STATUS_ERR_FIRMWARE);
    CHECK_EQ(F.leaves, 0);
}

TEST(reset_mid_download_finishes_acknowledged_work_and_guards_its_buffer)
{
    static uint8_t img[FX_XFER];
    uint8_t status;
    memset(img, 0x3C, sizeof img);
    fx_init(&F, CAN);
    udfu_dfu_set_alt(&F.dfu, 1);
    F.async = 1;
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, FX_XFER, img);
    fx_task(&F); /* erase running */
    udfu_dfu_reset(&F.dfu);
    CHECK_EQ(fx_status(&F, NULL, &status), UDFU_DFU_ERROR);
    CHECK_EQ(status, UDFU_STATUS_ERR_FIRMWARE);
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    /* The buffer still feeds the acknowledged block: a new DNLOAD waits. */
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, 16, img), UDFU_ERR_STALL);
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    fx_finish(&F, 0);
    fx_task(&F);
    CHECK_EQ(F.progs, 1);
    fx_finish(&F, 0);
    fx_task(&F);
    CHECK_EQ(fx_status(&F, NULL, &status), UDFU_DFU_IDLE);
    CHECK_MEM(F.flash + (APP - FX_FLASH_BASE), img, FX_XFER);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, 16, img), 16);
}

TEST(failure_of_acknowledged_work_after_reset_is_still_reported)
{
    static uint8_t img[FX_XFER];
    uint8_t status;
    fx_init(&F, CAN);
    udfu_dfu_set_alt(&F.dfu, 1);
    F.async = 1;
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, FX_XFER, img);
    fx_task(&F);
    udfu_dfu_reset(&F.dfu);
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    fx_finish(&F, UDFU_ERR_ERASE);
    fx_task(&F);
    CHECK_EQ(F.progs, 0); /* nothing programmed over a failed erase */
    CHECK_EQ(fx_status(&F, NULL, &status), UDFU_DFU_ERROR);
    CHECK_EQ(status, UDFU_STATUS_ERR_ERASE);
}

TEST(out_data_shorter_than_wlength_stalls)
{
    struct udfu_setup s = {0x21, UDFU_REQ_DNLOAD, 0, 0, 64};
    uint8_t *data;
    fx_init(&F, CAN);
    udfu_dfu_set_alt(&F.dfu, 1);
    CHECK_EQ(udfu_dfu_setup(&F.dfu, &s, &data), 64);
    CHECK_EQ(udfu_dfu_data(&F.dfu, 63), UDFU_ERR_STALL);
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_ERROR);
    fx_task(&F);
    CHECK_EQ(F.erases + F.progs, 0);
}

TEST(new_setup_during_data_stage_drops_the_old_transfer)
{
    struct udfu_setup s = {0x21, UDFU_REQ_DNLOAD, 0, 0, 64};
    uint8_t *data;
    fx_init(&F, CAN);
    udfu_dfu_set_alt(&F.dfu, 1);
    CHECK_EQ(udfu_dfu_setup(&F.dfu, &s, &data), 64);
    CHECK_EQ(fx_status(&F, NULL, NULL), UDFU_DFU_IDLE);
    CHECK_EQ(udfu_dfu_data(&F.dfu, 64), UDFU_ERR_STALL); /* late data */
    fx_task(&F);
    CHECK_EQ(F.erases + F.progs, 0);
}

TEST(set_alt_rejects_unknown_alt)
{
    uint8_t n;
    fx_init(&F, CAN);
    n = F.cfg.target_count; /* 1 when plain DFU (alt 1) is compiled out */
    CHECK_EQ(udfu_dfu_set_alt(&F.dfu, n), UDFU_ERR_INVAL);
    CHECK_EQ(udfu_dfu_set_alt(&F.dfu, (uint8_t)(n - 1)), 0);
    CHECK_EQ(F.dfu.alt, n - 1);
}

int main(void)
{
    RUN_IF(UDFU_CFG_PLAIN, plain_download_writes_image_and_erases_sectors_as_reached);
    RUN_IF(UDFU_CFG_PLAIN && UDFU_CFG_ASYNC,
           first_getstatus_after_block_reports_dnbusy_with_honest_poll);
    RUN_IF(UDFU_CFG_PLAIN && UDFU_CFG_ASYNC, poll_timeout_counts_down_while_work_runs);
    RUN_IF(UDFU_CFG_PLAIN, program_failure_reported_at_next_getstatus);
    RUN_IF(UDFU_CFG_PLAIN, download_past_end_of_target_is_refused_before_any_erase);
    RUN_IF(UDFU_CFG_PLAIN, plain_download_wraps_block_number_without_harm);
    RUN_IF(UDFU_CFG_PLAIN, plain_upload_ends_with_short_block_or_empty_reply);
    RUN_IF(UDFU_CFG_PLAIN, download_after_a_finished_upload_starts_at_the_target_start);
    RUN_IF(UDFU_CFG_PLAIN, upload_refused_without_can_upload);
    RUN_IF(UDFU_CFG_PLAIN, not_tolerant_waits_for_reset_then_leaves_by_itself);
    RUN_IF(UDFU_CFG_PLAIN, wait_reset_timeout_starts_when_the_announced_poll_ends);
    RUN_IF(UDFU_CFG_PLAIN, not_tolerant_leaves_on_bus_reset);
    RUN_IF(UDFU_CFG_PLAIN, alt_reselected_in_wait_reset_keeps_the_leave);
    RUN_IF(UDFU_CFG_PLAIN, manifest_failure_never_leaves);
    RUN_IF(UDFU_CFG_PLAIN, bus_reset_mid_download_reports_errfirmware);
    RUN_IF(UDFU_CFG_PLAIN, reset_mid_download_finishes_acknowledged_work_and_guards_its_buffer);
    RUN_IF(UDFU_CFG_PLAIN && UDFU_CFG_ASYNC,
           failure_of_acknowledged_work_after_reset_is_still_reported);
    RUN_IF(UDFU_CFG_PLAIN, out_data_shorter_than_wlength_stalls);
    RUN_IF(UDFU_CFG_PLAIN, new_setup_during_data_stage_drops_the_old_transfer);
    RUN(set_alt_rejects_unknown_alt);
    return test_summary();
}
