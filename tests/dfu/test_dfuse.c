/* ST DfuSe behaviour of the class core: commands, addressed blocks,
 * address edge cases, mass erase, read unprotect, leave. */
#include <string.h>

#include "dfu_fixture.h"
#include "test.h"

#define CAN (UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD)

static struct fx F;

static int erase_page(struct fx *f, uint32_t addr)
{
    uint8_t c[5] = {0x41, (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16),
                    (uint8_t)(addr >> 24)};
    return fx_cmd(f, c, 5);
}

/* dfu-util's DfuSe write: set address, DNLOAD block 2, status loop. */
static int write_at(struct fx *f, uint32_t addr, const uint8_t *p, uint16_t n)
{
    int st = fx_set_address(f, addr);
    if (st != UDFU_DNLOAD_IDLE)
        return st;
    if (fx_req(f, 0x21, UDFU_REQ_DNLOAD, 2, n, p) != n)
        return -1;
    fx_task(f);
    return fx_wait(f);
}

static uint8_t status_of(struct fx *f)
{
    uint8_t s = 0xEE;
    fx_status(f, NULL, &s);
    return s;
}

TEST(get_commands_lists_supported_commands)
{
    fx_init(&F, CAN);
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 0, 64, NULL), 3);
    CHECK_EQ(F.in[0], 0x00);
    CHECK_EQ(F.in[1], 0x21);
    CHECK_EQ(F.in[2], 0x41);
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_IDLE); /* short reply ends it */
    CHECK_EQ(fx_cmd(&F, (const uint8_t *)"\x00", 1), UDFU_DNLOAD_IDLE);
}

TEST(set_address_outside_map_is_errtarget)
{
    fx_init(&F, CAN);
    CHECK_EQ(fx_set_address(&F, 0x08004000), UDFU_DNLOAD_IDLE);
    CHECK_EQ(F.dfu.addr, 0x08004000);
    CHECK_EQ(fx_set_address(&F, 0x08100000), UDFU_DFU_ERROR); /* after dfuDNBUSY */
    CHECK_EQ(status_of(&F), UDFU_STATUS_ERR_TARGET);
    CHECK_EQ(F.dfu.addr, 0x08004000);
}

TEST(page_erase_erases_one_sector_and_refuses_protected)
{
    fx_init(&F, CAN);
    CHECK_EQ(erase_page(&F, 0x08021234), UDFU_DNLOAD_IDLE);
    CHECK_EQ(F.erases, 1);
    CHECK_EQ(F.write_lo, 0x08020000);
    CHECK_EQ(F.write_hi, 0x08040000);
    CHECK_EQ(erase_page(&F, 0x08000000), UDFU_DFU_ERROR); /* bootloader */
    CHECK_EQ(status_of(&F), UDFU_STATUS_ERR_TARGET);
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    CHECK_EQ(erase_page(&F, 0x08100000), UDFU_DFU_ERROR); /* past the end */
    CHECK_EQ(status_of(&F), UDFU_STATUS_ERR_TARGET);
    CHECK_EQ(F.erases, 1);
    CHECK_EQ(F.flash[0], 0xA5);
}

TEST(first_getstatus_after_command_is_dnbusy)
{
    uint32_t poll = 0;
    fx_init(&F, CAN);
    F.async = 1;
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, 5, "\x41\x00\x40\x00\x08");
    fx_task(&F);
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_DNBUSY);
    CHECK_EQ(poll, 250);
    fx_advance(&F, 250);
    fx_finish(&F, 0);
    fx_task(&F);
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_DNLOAD_IDLE);
}

TEST(mass_erase_is_chunked_per_sector_and_skips_protected)
{
    uint32_t poll = 0, polls = 0, max_poll = 0;
    int st;
    fx_init(&F, CAN);
    F.async = 1;
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, 1, "\x41");
    fx_task(&F);
    for (st = fx_status(&F, &poll, NULL); st == UDFU_DNBUSY; st = fx_status(&F, &poll, NULL)) {
        polls++;
        CHECK(poll != 100); /* dfu-util would then sleep 35 s (STM32F405 quirk) */
        if (poll > max_poll)
            max_poll = poll;
        fx_advance(&F, poll);
        if (F.pending) {
            fx_finish(&F, 0);
            fx_task(&F);
        }
        if (polls > 100)
            break;
    }
    CHECK_EQ(st, UDFU_DNLOAD_IDLE);
    CHECK_EQ(F.erases, 11); /* 3x16K + 64K + 7x128K; sector 0 is read-only */
    CHECK(max_poll <= 1000);
    CHECK(max_poll >= 250);
    CHECK_EQ(F.flash[0], 0xA5);
    CHECK_EQ(F.flash[16384], 0xFF);
    CHECK_EQ(F.flash[FX_FLASH_SIZE - 1], 0xFF);
}

TEST(write_goes_to_pointer_plus_block_offset)
{
    uint8_t a[FX_XFER], b[FX_XFER];
    memset(a, 0x12, sizeof a);
    memset(b, 0x34, sizeof b);
    fx_init(&F, CAN);
    CHECK_EQ(erase_page(&F, 0x08008000), UDFU_DNLOAD_IDLE);
    CHECK_EQ(fx_set_address(&F, 0x08008000), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, FX_XFER, a);
    fx_task(&F);
    CHECK_EQ(fx_wait(&F), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 5, FX_XFER, b); /* (5 - 2) * 1024 */
    fx_task(&F);
    CHECK_EQ(fx_wait(&F), UDFU_DNLOAD_IDLE);
    CHECK_MEM(F.flash + 0x8000, a, FX_XFER);
    CHECK_EQ(F.flash[0x8000 + FX_XFER], 0xFF);
    CHECK_MEM(F.flash + 0x8000 + 3 * FX_XFER, b, FX_XFER);
}

TEST(write_into_read_only_is_errwrite_and_touches_nothing)
{
    uint8_t a[16] = {0};
    fx_init(&F, CAN);
    CHECK_EQ(write_at(&F, 0x08000000, a, 16), UDFU_DFU_ERROR);
    CHECK_EQ(status_of(&F), UDFU_STATUS_ERR_WRITE);
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    /* straddling from the bootloader into the application */
    CHECK_EQ(write_at(&F, 0x08003FF8, a, 16), UDFU_DFU_ERROR);
    CHECK_EQ(status_of(&F), UDFU_STATUS_ERR_WRITE);
    CHECK_EQ(F.progs + F.erases, 0);
}

TEST(write_past_or_straddling_end_is_erraddress)
{
    uint8_t a[16] = {0};
    fx_init(&F, CAN);
    CHECK_EQ(write_at(&F, 0x080FFFF8, a, 16), UDFU_DFU_ERROR);
    CHECK_EQ(status_of(&F), UDFU_STATUS_ERR_ADDRESS);
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    CHECK_EQ(fx_set_address(&F, 0x080FFC00), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 3, 16, a); /* 0x08100000: past the end */
    fx_task(&F);
    CHECK_EQ(fx_wait(&F), UDFU_DFU_ERROR);
    CHECK_EQ(status_of(&F), UDFU_STATUS_ERR_ADDRESS);
    CHECK_EQ(F.progs, 0);
}

static const struct udfu_region top_regions[] = {
    {0xFFFF0000, 0x1000, 16, UDFU_MEM_ALL, 0, 0},
};
static const struct udfu_target top_target = {"Top", top_regions, 1, 1};

TEST(block_number_wrap_past_4gib_is_erraddress)
{
    uint8_t a[16] = {0};
    fx_init(&F, CAN);
    F.cfg.targets = &top_target;
    F.cfg.target_count = 1;
    fx_start(&F);
    CHECK_EQ(fx_set_address(&F, 0xFFFFF000), UDFU_DNLOAD_IDLE);
    /* (0xFFFF - 2) * 1024 + 0xFFFFF000 wraps to 0x03FF3400 in 32 bits */
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0xFFFF, 16, a);
    fx_task(&F);
    CHECK_EQ(fx_wait(&F), UDFU_DFU_ERROR);
    CHECK_EQ(status_of(&F), UDFU_STATUS_ERR_ADDRESS);
    CHECK_EQ(F.progs, 0);
    /* upload wrap is refused the same way, with nothing read */
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    CHECK_EQ(fx_set_address(&F, 0xFFFFF000), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL);
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 0xFFFF, 16, NULL), UDFU_ERR_STALL);
    CHECK_EQ(F.reads, 0);
    /* the very last bytes below 4 GiB pass the map (the fixture's RAM
     * does not reach there, so it is enough that programming was tried) */
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    CHECK_EQ(fx_set_address(&F, 0xFFFFFFF0), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, 16, a);
    fx_task(&F);
    fx_wait(&F);
    CHECK_EQ(F.progs, 1);
}

TEST(upload_reads_at_address_and_block1_is_illegal)
{
    uint32_t i;
    fx_init(&F, CAN);
    for (i = 0; i < FX_FLASH_SIZE; i++)
        F.flash[i] = (uint8_t)((i * 13) ^ (i >> 8) ^ (i >> 16));
    CHECK_EQ(fx_set_address(&F, 0x08010000), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL);
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 3, 512, NULL), 512);
    CHECK_MEM(F.in, F.flash + 0x10000 + FX_XFER, 512); /* (3 - 2) * wTransferSize */
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_UPLOAD_IDLE);
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 1, 512, NULL), UDFU_ERR_STALL);
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_ERROR);
}

static const struct udfu_region hidden_regions[] = {
    {0x08000000, 16 * 1024, 1, UDFU_MEM_ERASE | UDFU_MEM_WRITE, 0, 0},
    {0x08004000, 16 * 1024, 1, UDFU_MEM_ALL, 0, 0},
};
static const struct udfu_target hidden_target = {"Protected", hidden_regions, 2, 1};

TEST(upload_of_unreadable_region_is_refused_without_reading)
{
    fx_init(&F, CAN);
    F.cfg.targets = &hidden_target;
    F.cfg.target_count = 1;
    fx_start(&F);
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 2, 64, NULL), UDFU_ERR_STALL);
    CHECK_EQ(status_of(&F), UDFU_STATUS_ERR_ADDRESS);
    CHECK_EQ(F.reads, 0);
    /* a read crossing from readable into unreadable is refused too */
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    CHECK_EQ(fx_set_address(&F, 0x08003FC0), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_ABORT, 0, 0, NULL);
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 2, 128, NULL), UDFU_ERR_STALL);
    CHECK_EQ(F.reads, 0);
}

static int unprotects;
static int cb_unprotect(void *ctx, uint8_t alt)
{
    (void)ctx;
    (void)alt;
    unprotects++;
    return 0;
}

TEST(read_unprotect_runs_the_hook_or_is_refused)
{
    fx_init(&F, CAN);
    CHECK_EQ(fx_cmd(&F, (const uint8_t *)"\x92", 1), -1); /* no hook: stall */
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_ERROR);
    F.cfg.unprotect = cb_unprotect;
    fx_start(&F);
    CHECK_EQ(fx_req(&F, 0xA1, UDFU_REQ_UPLOAD, 0, 64, NULL), 4);
    CHECK_EQ(F.in[3], 0x92);
    CHECK_EQ(fx_cmd(&F, (const uint8_t *)"\x92", 1), UDFU_DNLOAD_IDLE);
    CHECK_EQ(unprotects, 1);
}

TEST(unknown_command_or_wrong_length_stalls)
{
    fx_init(&F, CAN);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, 1, "\x55"), UDFU_ERR_STALL);
    CHECK_EQ(status_of(&F), UDFU_STATUS_ERR_STALLEDPKT);
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 0, 3, "\x21\x00\x40"), UDFU_ERR_STALL);
    fx_req(&F, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 1, 4, "abcd"), UDFU_ERR_STALL);
    CHECK_EQ(F.erases + F.progs, 0);
}

TEST(leave_jumps_to_pointer_without_further_traffic)
{
    uint32_t poll = 0;
    fx_init(&F, CAN);
    CHECK_EQ(fx_set_address(&F, 0x08004000), UDFU_DNLOAD_IDLE);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, 0, NULL), 0);
    CHECK_EQ(fx_status(&F, &poll, NULL), UDFU_MANIFEST);
    CHECK(poll <= 20);
    CHECK_EQ(F.leaves, 0);
    /* No more host requests: only time passes. */
    fx_task(&F);
    fx_task(&F);
    CHECK_EQ(F.manifests, 1);
    CHECK_EQ(F.leaves, 1);
    CHECK_EQ(F.leave_addr, 0x08004000);
}

TEST(leave_without_status_ack_still_happens_after_timeout)
{
    struct udfu_setup s = {0xA1, UDFU_REQ_GETSTATUS, 0, 0, 6};
    uint8_t *data;
    fx_init(&F, CAN);
    CHECK_EQ(fx_set_address(&F, 0x08004000), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, 0, NULL);
    /* The GETSTATUS reply is never confirmed (no status_done). */
    CHECK_EQ(udfu_dfu_setup(&F.dfu, &s, &data), 6);
    fx_advance(&F, 10);
    fx_advance(&F, 10);
    CHECK_EQ(F.leaves, 0);
    fx_advance(&F, 500);
    CHECK_EQ(F.leaves, 1);
}

/* A DfuSe leave on alt 1 whose check is still running when the host
 * resets the port: the host re-enumerates (SET_CONFIGURATION selects alt 0,
 * Linux then restores alt 1). That must not cancel the leave, nor move its
 * address. */
static const struct udfu_region bank_a[] = {{0x08000000u, 16384u, 4u, UDFU_MEM_ALL, 5, 100}};
static const struct udfu_region bank_b[] = {{0x08100000u, 16384u, 2u, UDFU_MEM_ALL, 5, 100}};
static const struct udfu_target two_banks[2] = {{"Bank A", bank_a, 1, 1},
                                                {"Bank B", bank_b, 1, 1}};

TEST(leave_survives_the_reenumeration_after_a_reset_during_its_check)
{
    fx_setup(&F, two_banks, 2, CAN, FX_XFER);
    F.async = 1;
    F.cfg.manifest_ms = 300;
    fx_start(&F);
    CHECK_EQ(udfu_dfu_set_alt(&F.dfu, 1), 0);
    CHECK_EQ(fx_set_address(&F, 0x08100400u), UDFU_DNLOAD_IDLE);
    CHECK_EQ(fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, 0, NULL), 0);
    CHECK_EQ(fx_status(&F, NULL, NULL), UDFU_MANIFEST);
    fx_pump(&F);
    CHECK_EQ(F.manifests, 1); /* the check runs */
    udfu_dfu_reset(&F.dfu);
    CHECK_EQ(udfu_dfu_set_alt(&F.dfu, 0), 0);
    CHECK_EQ(udfu_dfu_set_alt(&F.dfu, 1), 0);
    fx_sleep(&F, 2000);
    CHECK_EQ(F.leaves, 1);
    CHECK_EQ(F.leave_addr, 0x08100400u);
}

TEST(leave_refused_when_check_fails)
{
    fx_init(&F, CAN);
    CHECK_EQ(fx_set_address(&F, 0x08004000), UDFU_DNLOAD_IDLE);
    fx_req(&F, 0x21, UDFU_REQ_DNLOAD, 2, 0, NULL);
    F.fail_next = UDFU_ERR_FIRMWARE;
    CHECK_EQ(fx_status(&F, NULL, NULL), UDFU_MANIFEST);
    fx_advance(&F, 1000);
    CHECK_EQ(F.leaves, 0);
    CHECK_EQ(udfu_dfu_state(&F.dfu), UDFU_DFU_ERROR);
    CHECK_EQ(udfu_dfu_status(&F.dfu), UDFU_STATUS_ERR_FIRMWARE);
}

int main(void)
{
    RUN(get_commands_lists_supported_commands);
    RUN(set_address_outside_map_is_errtarget);
    RUN(page_erase_erases_one_sector_and_refuses_protected);
    RUN_IF(UDFU_CFG_ASYNC, first_getstatus_after_command_is_dnbusy);
    RUN(mass_erase_is_chunked_per_sector_and_skips_protected);
    RUN(write_goes_to_pointer_plus_block_offset);
    RUN(write_into_read_only_is_errwrite_and_touches_nothing);
    RUN(write_past_or_straddling_end_is_erraddress);
    RUN(block_number_wrap_past_4gib_is_erraddress);
    RUN(upload_reads_at_address_and_block1_is_illegal);
    RUN(upload_of_unreadable_region_is_refused_without_reading);
    RUN(read_unprotect_runs_the_hook_or_is_refused);
    RUN(unknown_command_or_wrong_length_stalls);
    RUN(leave_jumps_to_pointer_without_further_traffic);
    RUN(leave_without_status_ack_still_happens_after_timeout);
    RUN_IF(UDFU_CFG_ASYNC, leave_survives_the_reenumeration_after_a_reset_during_its_check);
    RUN(leave_refused_when_check_fails);
    return test_summary();
}
