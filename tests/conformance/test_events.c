/*
 * test_events.c - the transitions of the DFU 1.1 table that are caused by
 * events rather than requests (poll timeouts, end of flash work, timers,
 * bus resets), the run-time class timers, and udfu's documented choices
 * for errors found while processing a request (address, permission,
 * erase/program/verify failures) and for OUT data stages.
 */
#include <stdio.h>
#include <string.h>

#include "cf_dev.h"
#include "test.h"

#define XFER 256u

static const uint8_t ATTR = UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD;

/* 8 KiB, 1 KiB sectors, erase 5 ms, program 4 ms per KiB (1 ms per block). */
static const struct udfu_region flat[] = {
    {0x08000000u, 1024u, 8u, UDFU_MEM_ALL, 5u, 4000u},
};
static const struct udfu_target plain_t[] = {{"Flash", flat, 1, 0}};
static const struct udfu_target dfuse_t[] = {{"Flash", flat, 1, 1}};

/* A DfuSe map with every kind of region:
 * A 0x08000000 2 x 1K 'a' read-only (the bootloader)
 * B 0x08000800 6 x 1K 'g'
 * C 0x08002000 1 x 1K 'e' readable+writable, not erasable
 * D 0x08002400 1 x 1K 'f' erasable+writable, not readable
 * the map ends at 0x08002800. */
static const struct udfu_region mixed[] = {
    {0x08000000u, 1024u, 2u, UDFU_MEM_READ, 5u, 1000u},
    {0x08000800u, 1024u, 6u, UDFU_MEM_ALL, 5u, 1000u},
    {0x08002000u, 1024u, 1u, UDFU_MEM_READ | UDFU_MEM_WRITE, 0u, 1000u},
    {0x08002400u, 1024u, 1u, UDFU_MEM_ERASE | UDFU_MEM_WRITE, 5u, 1000u},
};
static const struct udfu_target mixed_t[] = {{"Mixed", mixed, 4, 1}};
/* The same map as a plain target: its first address is read-only. */
static const struct udfu_target mixed_plain_t[] = {{"Mixed", mixed, 4, 0}};
/* A plain target of 2 KiB, to overflow. */
static const struct udfu_region small[] = {
    {0x00010000u, 1024u, 2u, UDFU_MEM_ALL, 0u, 0u},
};
static const struct udfu_target small_t[] = {{"Small", small, 1, 0}};

static struct cf_dev dev;
static struct cf_reply rep;
static uint8_t img[4096];

static void fill(uint8_t seed, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        img[i] = (uint8_t)(seed + i * 29u);
}

/* ---- request helpers ------------------------------------------------------ */

static int dnload(uint16_t block, uint16_t len, const uint8_t *data)
{
    cf_ctl(&dev, 0x21, UDFU_REQ_DNLOAD, block, 0, len, data, &rep);
    return rep.kind;
}

/* GETSTATUS: returns bState, or -1 if not a 6-byte reply; *poll, *status. */
static int getstatus(uint32_t *poll, uint8_t *status)
{
    cf_ctl(&dev, 0xA1, UDFU_REQ_GETSTATUS, 0, 0, 6, NULL, &rep);
    if (rep.kind != CF_IN || rep.len != 6)
        return -1;
    if (poll)
        *poll = rep.data[1] | (rep.data[2] << 8) | ((uint32_t)rep.data[3] << 16);
    if (status)
        *status = rep.data[0];
    return rep.data[4];
}

static int getstate(void)
{
    cf_ctl(&dev, 0xA1, UDFU_REQ_GETSTATE, 0, 0, 1, NULL, &rep);
    return rep.kind == CF_IN && rep.len == 1 ? rep.data[0] : -1;
}

static int simple(uint8_t req)
{
    cf_ctl(&dev, 0x21, req, 0, 0, 0, NULL, &rep);
    return rep.kind;
}

/* DfuSe command in DNLOAD block 0, then GETSTATUS until not dfuDNBUSY,
 * sleeping the poll timeouts. Returns the final bState. */
static int command(const uint8_t *cmd, uint16_t len)
{
    uint32_t poll = 0;
    int st, n = 0;
    if (dnload(0, len, cmd) != CF_ACK)
        return -2;
    cf_pump(&dev);
    do {
        cf_sleep(&dev, poll);
        st = getstatus(&poll, NULL);
        cf_pump(&dev);
    } while (st == UDFU_DNBUSY && ++n < 100);
    return st;
}

static int set_address(uint32_t a)
{
    uint8_t c[5] = {0x21, (uint8_t)a, (uint8_t)(a >> 8), (uint8_t)(a >> 16), (uint8_t)(a >> 24)};
    return command(c, 5);
}

static void start(const struct udfu_target *t, uint8_t attr)
{
    cf_init(&dev, t, 1, attr, XFER);
    dev.now = 1000;
    cf_pump(&dev);
}

/* DNLOAD + GETSTATUS until dfuDNLOAD-IDLE (or not busy), as dfu-util. */
static int block(uint16_t blk, uint16_t len, const uint8_t *data)
{
    uint32_t poll = 0;
    int st, n = 0;
    if (dnload(blk, len, data) != CF_ACK)
        return -2;
    cf_pump(&dev);
    do {
        cf_sleep(&dev, poll);
        st = getstatus(&poll, NULL);
        cf_pump(&dev);
    } while (st != UDFU_DNLOAD_IDLE && st != UDFU_DFU_ERROR && st >= 0 && ++n < 100);
    return st;
}

/* ---- dfuDNBUSY ------------------------------------------------------------ */

TEST(dnbusy_lapses_to_dnload_sync_once_poll_timeout_elapsed)
{
    uint32_t poll = 0, t0;
    uint8_t status = 0xEE;
    start(plain_t, ATTR);
    dev.async = 1;
    dev.hold = 1; /* the flash never finishes: only time moves the state */
    fill(1, 64);
    CHECK_EQ(dnload(2, 64, img), CF_ACK);
    cf_pump(&dev);
    t0 = dev.now;
    CHECK_EQ(getstatus(&poll, &status), UDFU_DNBUSY);
    CHECK(poll > 0);
    cf_sleep(&dev, poll - 1);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DNBUSY);
    cf_sleep(&dev, 1);
    CHECK_EQ(dev.now, t0 + poll);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DNLOAD_SYNC);
    CHECK_EQ(getstate(), UDFU_DNLOAD_SYNC);
    /* Work still running: dfuDNBUSY again, with a fresh poll timeout. */
    CHECK_EQ(getstatus(&poll, &status), UDFU_DNBUSY);
    CHECK_EQ(status, UDFU_STATUS_OK);
    CHECK(poll > 0);
}

TEST(dnbusy_ends_early_when_the_work_is_done)
{
    uint32_t poll = 0;
    int i;
    start(plain_t, ATTR);
    dev.async = 1;
    dev.hold = 1;
    fill(2, 64);
    CHECK_EQ(dnload(2, 64, img), CF_ACK);
    cf_pump(&dev);
    CHECK_EQ(getstatus(&poll, NULL), UDFU_DNBUSY);
    CHECK(poll > 0);
    /* erase, then program: complete each at once, no time passing */
    for (i = 0; i < 4 && udfu_dfu_busy(&dev.dfu); i++) {
        cf_complete_now(&dev, 0);
        cf_pump(&dev);
    }
    CHECK(!udfu_dfu_busy(&dev.dfu));
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DNLOAD_SYNC);
    CHECK_EQ(getstatus(&poll, NULL), UDFU_DNLOAD_IDLE);
    CHECK_EQ(poll, 0);
    CHECK_MEM(cf_mem(&dev, 0, 0x08000000u), img, 64);
}

TEST(request_during_dnbusy_before_poll_timeout_stalls_into_error)
{
    uint32_t poll = 0;
    uint8_t status = 0xEE;
    start(dfuse_t, ATTR);
    memset(dev.mem[0], 0xFF, 1024);
    dev.async = 1;
    dev.hold = 1;
    fill(3, 200);
    CHECK_EQ(dnload(2, 200, img), CF_ACK);
    cf_pump(&dev);
    CHECK_EQ(getstatus(&poll, NULL), UDFU_DNBUSY);
    CHECK(poll > 0);
    cf_sleep(&dev, poll - 1);
    CHECK_EQ(getstatus(NULL, NULL), -1);
    CHECK_EQ(rep.kind, CF_STALL);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_ERROR);
    CHECK_EQ(getstatus(NULL, &status), UDFU_DFU_ERROR);
    CHECK_EQ(status, UDFU_STATUS_ERR_STALLEDPKT);
}

/* udfu choice 4: first GETSTATUS after every DNLOAD (data or command) is
 * dfuDNBUSY, with poll 0 if the work is done; the next dfuDNLOAD-IDLE. */
TEST(first_getstatus_after_every_dnload_reports_dnbusy)
{
    static const uint8_t get_cmds[1] = {0x00};
    static const uint8_t set_addr[5] = {0x21, 0x00, 0x04, 0x00, 0x08};
    static const uint8_t erase[5] = {0x41, 0x00, 0x04, 0x00, 0x08};
    uint32_t poll = 0xDEAD;
    int i;
    if (UDFU_CFG_PLAIN) {
        start(plain_t, ATTR);
        for (i = 0; i < 5; i++) {
            fill((uint8_t)i, XFER);
            CHECK_EQ(dnload((uint16_t)i, XFER, img), CF_ACK);
            cf_pump(&dev);
            CHECK_EQ(getstatus(&poll, NULL), UDFU_DNBUSY);
            CHECK_EQ(poll, 0);
            CHECK_EQ(getstatus(&poll, NULL), UDFU_DNLOAD_IDLE);
        }
    }
    start(dfuse_t, ATTR);
    {
        const uint8_t *cmds[3] = {get_cmds, set_addr, erase};
        uint16_t lens[3] = {1, 5, 5};
        for (i = 0; i < 3; i++) {
            CHECK_EQ(dnload(0, lens[i], cmds[i]), CF_ACK);
            cf_pump(&dev);
            CHECK_EQ(getstatus(&poll, NULL), UDFU_DNBUSY);
            CHECK_EQ(poll, 0);
            CHECK_EQ(getstatus(&poll, NULL), UDFU_DNLOAD_IDLE);
        }
    }
    fill(9, XFER);
    CHECK_EQ(dnload(2, XFER, img), CF_ACK);
    cf_pump(&dev);
    CHECK_EQ(getstatus(&poll, NULL), UDFU_DNBUSY);
    CHECK_EQ(getstatus(&poll, NULL), UDFU_DNLOAD_IDLE);
    CHECK_MEM(cf_mem(&dev, 0, 0x08000400u), img, XFER);
}

/* A wrong-direction GETSTATUS is not a GETSTATUS: it must not use up the
 * dfuDNBUSY that the next real one reports. */
TEST(stalled_wrong_direction_getstatus_does_not_consume_dnbusy)
{
    start(plain_t, ATTR);
    fill(4, 16);
    CHECK_EQ(dnload(2, 16, img), CF_ACK);
    cf_pump(&dev);
    cf_ctl(&dev, 0x21, UDFU_REQ_GETSTATUS, 0, 0, 0, NULL, &rep);
    CHECK_EQ(rep.kind, CF_STALL);
    CHECK_EQ(getstatus(NULL, NULL), UDFU_DNBUSY);
    CHECK_EQ(getstatus(NULL, NULL), UDFU_DNLOAD_IDLE);
}

/* ---- manifestation --------------------------------------------------------- */

/* Plain download of one block, up to the zero-length DNLOAD. */
static void download_one_block(void)
{
    fill(5, 100);
    CHECK_EQ(block(0, 100, img), UDFU_DNLOAD_IDLE);
    CHECK_EQ(dnload(1, 0, NULL), CF_ACK);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_MANIFEST_SYNC);
}

TEST(manifest_goes_to_manifest_sync_when_tolerant)
{
    uint32_t poll = 0;
    start(plain_t, ATTR | UDFU_ATTR_MANIFEST_TOLERANT);
    dev.cfg.manifest_ms = 30;
    download_one_block();
    dev.async = 1;
    CHECK_EQ(getstatus(&poll, NULL), UDFU_MANIFEST);
    CHECK_EQ(poll, 30);
    cf_pump(&dev);
    cf_sleep(&dev, poll);
    CHECK_EQ(dev.manifests, 1);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_MANIFEST_SYNC);
    CHECK_EQ(getstatus(&poll, NULL), UDFU_DFU_IDLE);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_IDLE);
    cf_sleep(&dev, 10000);
    CHECK_EQ(dev.leaves, 0); /* a tolerant device stays until told */
    /* A bus reset after a completed manifestation leaves (dfu-util -R). */
    udfu_dfu_reset(&dev.dfu);
    cf_pump(&dev);
    CHECK_EQ(dev.leaves, 1);
    CHECK_EQ(dev.leave_addr, 0);
    CHECK_MEM(cf_mem(&dev, 0, 0x08000000u), img, 100);
}

static uint32_t reach_wait_reset(uint16_t reset_timeout)
{
    uint32_t poll = 0, t;
    start(plain_t, ATTR);
    dev.cfg.manifest_ms = 20;
    dev.cfg.reset_timeout_ms = reset_timeout;
    download_one_block();
    dev.async = 1;
    CHECK_EQ(getstatus(&poll, NULL), UDFU_MANIFEST);
    CHECK_EQ(poll, 20);
    cf_pump(&dev);
    for (t = 0; t < 1000 && udfu_dfu_state(&dev.dfu) != UDFU_MANIFEST_WAIT_RESET; t++)
        cf_sleep(&dev, 1);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_MANIFEST_WAIT_RESET);
    CHECK(t <= poll); /* within the bwPollTimeout it announced */
    return dev.now;
}

TEST(manifest_goes_to_wait_reset_when_not_tolerant)
{
    reach_wait_reset(5000);
    CHECK_EQ(dev.manifests, 1);
    CHECK_EQ(getstatus(NULL, NULL), UDFU_MANIFEST_WAIT_RESET);
    CHECK_EQ(getstate(), UDFU_MANIFEST_WAIT_RESET);
    CHECK_EQ(dev.leaves, 0);
}

TEST(wait_reset_leaves_after_reset_timeout_without_host_traffic)
{
    uint32_t t8 = reach_wait_reset(300);
    cf_sleep(&dev, 300 - 1 - (dev.now - t8));
    CHECK_EQ(dev.leaves, 0);
    cf_sleep(&dev, 2);
    CHECK_EQ(dev.leaves, 1);
    CHECK_EQ(dev.leave_addr, 0);
    cf_sleep(&dev, 5000);
    CHECK_EQ(dev.leaves, 1); /* once */
}

TEST(wait_reset_default_timeout_is_bounded)
{
    uint32_t t8 = reach_wait_reset(0);
    cf_sleep(&dev, 60000);
    CHECK_EQ(dev.leaves, 1);
    /* header: 0 means 3000 ms, longer than dfu-util's bwPollTimeout +
     * 1000 ms before it asks for the state again */
    CHECK(dev.leave_time - t8 >= 3000);
    CHECK(dev.leave_time - t8 <= 3001);
}

TEST(wait_reset_leaves_at_once_on_bus_reset)
{
    reach_wait_reset(5000);
    cf_sleep(&dev, 10);
    CHECK_EQ(dev.leaves, 0);
    udfu_dfu_reset(&dev.dfu);
    cf_pump(&dev);
    CHECK_EQ(dev.leaves, 1);
    CHECK_EQ(dev.leave_addr, 0);
    cf_sleep(&dev, 6000);
    CHECK_EQ(dev.leaves, 1);
}

TEST(manifest_failure_reports_errfirmware)
{
    uint32_t poll = 0;
    uint8_t status = 0;
    start(plain_t, ATTR);
    download_one_block();
    dev.manifest_err = UDFU_ERR_FIRMWARE;
    CHECK_EQ(getstatus(&poll, NULL), UDFU_MANIFEST);
    cf_pump(&dev);
    cf_sleep(&dev, poll);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_ERROR);
    CHECK_EQ(getstatus(NULL, &status), UDFU_DFU_ERROR);
    CHECK_EQ(status, UDFU_STATUS_ERR_FIRMWARE);
    cf_sleep(&dev, 5000);
    CHECK_EQ(dev.leaves, 0);
}

/* DfuSe leave: set address, zero-length DNLOAD, one GETSTATUS answered
 * with dfuMANIFEST, then the device leaves by itself within the poll
 * timeout it reported, with no further host traffic. */
static void dfuse_leave(uint16_t blk)
{
    uint32_t poll = 0, t;
    start(dfuse_t, ATTR);
    dev.cfg.manifest_ms = 15;
    CHECK_EQ(set_address(0x08000800u), UDFU_DNLOAD_IDLE);
    CHECK_EQ(dnload(blk, 0, NULL), CF_ACK);
    cf_pump(&dev);
    CHECK_EQ(getstatus(&poll, NULL), UDFU_MANIFEST);
    t = dev.now;
    cf_pump(&dev);
    cf_sleep(&dev, poll);
    CHECK_EQ(dev.leaves, 1);
    CHECK_EQ(dev.leave_addr, 0x08000800u);
    CHECK(dev.leave_time - t <= poll);
    udfu_dfu_reset(&dev.dfu); /* the host may still reset: no second leave */
    cf_sleep(&dev, 5000);
    CHECK_EQ(dev.leaves, 1);
}

TEST(dfuse_leave_with_block_2_leaves_without_more_traffic)
{
    dfuse_leave(2);
}

TEST(dfuse_leave_with_block_0_leaves_without_more_traffic)
{
    dfuse_leave(0);
}

/* ---- bus reset (udfu choice 10) -------------------------------------------- */

static void expect_after_reset(uint8_t state, uint8_t status)
{
    uint8_t st = 0xEE;
    udfu_dfu_reset(&dev.dfu);
    cf_pump(&dev);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), state);
    CHECK_EQ(udfu_dfu_status(&dev.dfu), status);
    CHECK_EQ(getstatus(NULL, &st), state);
    CHECK_EQ(st, status);
}

TEST(bus_reset_during_download_gives_errfirmware)
{
    const struct udfu_target *ts[2] = {plain_t, dfuse_t};
    int k;
    for (k = !UDFU_CFG_PLAIN; k < 2; k++) {
        fill(6, 32);
        /* dfuDNLOAD-SYNC */
        start(ts[k], ATTR);
        memset(dev.mem[0], 0xFF, 1024);
        CHECK_EQ(dnload(2, 32, img), CF_ACK);
        cf_pump(&dev);
        expect_after_reset(UDFU_DFU_ERROR, UDFU_STATUS_ERR_FIRMWARE);
        /* dfuDNBUSY */
        start(ts[k], ATTR);
        memset(dev.mem[0], 0xFF, 1024);
        dev.async = 1;
        dev.hold = 1;
        CHECK_EQ(dnload(2, 32, img), CF_ACK);
        /* Synchronous callbacks (UDFU_CFG_ASYNC 0): the work is pending
         * while the main loop has not run it yet. */
        if (UDFU_CFG_ASYNC)
            cf_pump(&dev);
        CHECK_EQ(getstatus(NULL, NULL), UDFU_DNBUSY);
        expect_after_reset(UDFU_DFU_ERROR, UDFU_STATUS_ERR_FIRMWARE);
        /* dfuDNLOAD-IDLE */
        start(ts[k], ATTR);
        memset(dev.mem[0], 0xFF, 1024);
        CHECK_EQ(block(2, 32, img), UDFU_DNLOAD_IDLE);
        expect_after_reset(UDFU_DFU_ERROR, UDFU_STATUS_ERR_FIRMWARE);
        CHECK_EQ(simple(UDFU_REQ_CLRSTATUS), CF_ACK);
        CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_IDLE);
    }
}

TEST(bus_reset_outside_a_download_keeps_or_returns_to_idle)
{
    start(plain_t, ATTR);
    expect_after_reset(UDFU_DFU_IDLE, UDFU_STATUS_OK);
    cf_ctl(&dev, 0xA1, UDFU_REQ_UPLOAD, 0, 0, XFER, NULL, &rep);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_UPLOAD_IDLE);
    expect_after_reset(UDFU_DFU_IDLE, UDFU_STATUS_OK);
    CHECK_EQ(simple(UDFU_REQ_CLRSTATUS), CF_STALL);
    expect_after_reset(UDFU_DFU_ERROR, UDFU_STATUS_ERR_STALLEDPKT);
    CHECK_EQ(dev.leaves, 0);
}

/* checkm8-like: a reset while a program step still reads the transfer
 * buffer, then the host sends new DNLOADs (a command, then data). Whatever
 * the core accepts, the running step must keep its data: the flash gets
 * the old bytes at the old address. */
TEST(new_dnload_never_overwrites_the_buffer_of_a_running_program)
{
    static const uint8_t set_addr[5] = {0x21, 0x00, 0x04, 0x00, 0x08};
    uint8_t old[64], neu[64];
    int i;
    start(dfuse_t, ATTR);
    memset(dev.mem[0], 0xFF, 2048);
    for (i = 0; i < 64; i++) {
        old[i] = (uint8_t)(0x10 + i);
        neu[i] = (uint8_t)(0x80 + i);
    }
    dev.async = 1;
    dev.hold = 1;
    CHECK_EQ(dnload(2, 64, old), CF_ACK);
    cf_pump(&dev);
    CHECK(dev.pending); /* the program step runs */
    udfu_dfu_reset(&dev.dfu);
    cf_pump(&dev);
    CHECK_EQ(simple(UDFU_REQ_CLRSTATUS), CF_ACK);
    (void)dnload(0, 5, set_addr); /* accepted or refused, */
    cf_pump(&dev);
    (void)getstatus(NULL, NULL);
    (void)getstatus(NULL, NULL);
    (void)dnload(2, 64, neu);     /* but no corruption */
    cf_pump(&dev);
    dev.hold = 0;
    cf_sleep(&dev, 50);
    CHECK(!dev.pending);
    CHECK_EQ(dev.overlap, 0);
    CHECK_EQ(dev.log[0].op, 'p');
    CHECK_EQ(dev.log[0].addr, 0x08000000u);
    CHECK_MEM(cf_mem(&dev, 0, 0x08000000u), old, 64);
}

/* ---- OUT data stages --------------------------------------------------------- */

TEST(data_stage_shorter_or_longer_than_wlength_stalls_into_error)
{
    uint8_t *buf = NULL;
    struct udfu_setup s = {0x21, UDFU_REQ_DNLOAD, 2, 0, 16};
    int k;
    for (k = 0; k < 2; k++) {
        start(plain_t, ATTR);
        CHECK_EQ(udfu_dfu_setup(&dev.dfu, &s, &buf), 16);
        CHECK(buf != NULL);
        CHECK_EQ(udfu_dfu_data(&dev.dfu, k ? 17 : 15), UDFU_ERR_STALL);
        CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_ERROR);
        CHECK_EQ(udfu_dfu_status(&dev.dfu), UDFU_STATUS_ERR_STALLEDPKT);
        cf_sleep(&dev, 50);
        CHECK_EQ(dev.progs + dev.erases, 0);
    }
}

TEST(setup_during_data_stage_drops_the_dnload)
{
    uint8_t *buf = NULL;
    struct udfu_setup s = {0x21, UDFU_REQ_DNLOAD, 2, 0, 16};
    start(plain_t, ATTR);
    CHECK_EQ(udfu_dfu_setup(&dev.dfu, &s, &buf), 16);
    CHECK_EQ(getstatus(NULL, NULL), UDFU_DFU_IDLE);
    CHECK_EQ(udfu_dfu_data(&dev.dfu, 16), UDFU_ERR_STALL);
    cf_sleep(&dev, 50);
    CHECK_EQ(dev.progs + dev.erases, 0);
    /* data without any DNLOAD */
    start(plain_t, ATTR);
    CHECK_EQ(udfu_dfu_data(&dev.dfu, 0), UDFU_ERR_STALL);
    CHECK_EQ(udfu_dfu_data(&dev.dfu, 16), UDFU_ERR_STALL);
    cf_sleep(&dev, 50);
    CHECK_EQ(dev.progs + dev.erases, 0);
}

/* ---- plain DFU addressing (udfu choice 8) ---------------------------------- */

TEST(plain_download_ignores_block_numbers_and_writes_sequentially)
{
    static const uint16_t blocks[5] = {7, 7, 0, 0xFFFF, 3};
    uint8_t all[5 * XFER];
    int i;
    start(plain_t, ATTR);
    for (i = 0; i < 5; i++) {
        fill((uint8_t)(40 + i), XFER);
        memcpy(all + i * XFER, img, XFER);
        CHECK_EQ(block(blocks[i], XFER, img), UDFU_DNLOAD_IDLE);
    }
    CHECK_MEM(cf_mem(&dev, 0, 0x08000000u), all, sizeof all);
    /* ABORT, then a new download starts again at the target's start */
    CHECK_EQ(simple(UDFU_REQ_ABORT), CF_ACK);
    fill(99, XFER);
    CHECK_EQ(block(500, XFER, img), UDFU_DNLOAD_IDLE);
    CHECK_MEM(cf_mem(&dev, 0, 0x08000000u), img, XFER);
    CHECK_EQ(dev.violations, 0);
}

/* ---- errors found while processing (udfu choice 9) ------------------------- */

/* After the DNLOAD data stage: dfuERROR at once, and the next GETSTATUS
 * reports it (udfu choice 9). If the core reports dfuDNBUSY first instead,
 * the status of the GETSTATUS after that is still checked, so a failure
 * shows which half differs. */
/* A refusal found after the data stage (address, permission) shows as ST's
 * bootloaders show it: the first GETSTATUS still reports dfuDNBUSY (dfu-util
 * and pydfu require that after every DNLOAD), the next one dfuERROR with
 * the status. Nothing is erased or written meanwhile. */
static void expect_error_now(uint8_t status)
{
    uint8_t st = 0xEE;
    uint32_t poll = 0;
    int s;
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DNLOAD_SYNC);
    cf_pump(&dev);
    s = getstatus(&poll, &st);
    CHECK_EQ(s, UDFU_DNBUSY);
    CHECK_EQ(st, UDFU_STATUS_OK);
    CHECK_EQ(poll, 0);
    cf_pump(&dev);
    cf_sleep(&dev, poll);
    s = getstatus(&poll, &st);
    CHECK_EQ(s, UDFU_DFU_ERROR);
    CHECK_EQ(st, status);
    CHECK_EQ(udfu_dfu_status(&dev.dfu), status);
}

TEST(plain_write_into_read_only_memory_is_errwrite)
{
    start(mixed_plain_t, ATTR);
    fill(7, 64);
    CHECK_EQ(dnload(0, 64, img), CF_ACK);
    expect_error_now(UDFU_STATUS_ERR_WRITE);
    cf_sleep(&dev, 100);
    CHECK_EQ(dev.erases + dev.progs, 0);
}

TEST(plain_image_larger_than_target_is_erraddress)
{
    int i;
    start(small_t, ATTR);
    for (i = 0; i < 8; i++) {
        fill((uint8_t)i, XFER);
        CHECK_EQ(block((uint16_t)i, XFER, img), UDFU_DNLOAD_IDLE);
    }
    CHECK_EQ(dnload(8, 16, img), CF_ACK);
    expect_error_now(UDFU_STATUS_ERR_ADDRESS);
    cf_sleep(&dev, 100);
    CHECK_EQ(dev.violations, 0);
}

TEST(dfuse_write_into_read_only_memory_is_errwrite)
{
    start(mixed_t, ATTR);
    CHECK_EQ(set_address(0x08000000u), UDFU_DNLOAD_IDLE);
    fill(8, 64);
    CHECK_EQ(dnload(2, 64, img), CF_ACK);
    expect_error_now(UDFU_STATUS_ERR_WRITE);
    cf_sleep(&dev, 100);
    CHECK_EQ(dev.erases + dev.progs, 0);
}

TEST(dfuse_write_outside_the_map_is_erraddress)
{
    /* past the end, straddling the end, and a 32-bit wrap */
    static const struct {
        uint32_t ptr;
        uint16_t blk, len;
    } cases[] = {
        {0x08002400u, 6, 64},    /* 0x08002400 + 4 * 256 = end of map */
        {0x08002780u, 2, XFER},  /* straddles the end */
        {0x08000800u, 0xFFFF, 64}, /* far past the end */
    };
    int i;
    for (i = 0; i < 3; i++) {
        start(mixed_t, ATTR);
        CHECK_EQ(set_address(cases[i].ptr), UDFU_DNLOAD_IDLE);
        fill(9, XFER);
        CHECK_EQ(dnload(cases[i].blk, cases[i].len, img), CF_ACK);
        expect_error_now(UDFU_STATUS_ERR_ADDRESS);
        cf_sleep(&dev, 100);
        CHECK_EQ(dev.erases + dev.progs, 0);
        CHECK_EQ(dev.violations, 0);
    }
}

static void expect_command_error(const uint8_t *cmd, uint16_t len, uint8_t status)
{
    CHECK_EQ(dnload(0, len, cmd), CF_ACK);
    expect_error_now(status);
    cf_sleep(&dev, 100);
    CHECK_EQ(dev.erases + dev.progs, 0);
}

TEST(dfuse_set_address_outside_the_map_is_errtarget)
{
    static const uint8_t c1[5] = {0x21, 0x00, 0x00, 0x00, 0x09};
    static const uint8_t c2[5] = {0x21, 0x00, 0x28, 0x00, 0x08}; /* end of map */
    static const uint8_t c3[5] = {0x21, 0xFF, 0xFF, 0xFF, 0xFF};
    start(mixed_t, ATTR);
    expect_command_error(c1, 5, UDFU_STATUS_ERR_TARGET);
    start(mixed_t, ATTR);
    expect_command_error(c2, 5, UDFU_STATUS_ERR_TARGET);
    start(mixed_t, ATTR);
    expect_command_error(c3, 5, UDFU_STATUS_ERR_TARGET);
}

TEST(dfuse_erase_outside_the_map_or_not_erasable_is_errtarget)
{
    static const uint8_t out[5] = {0x41, 0x00, 0x00, 0x00, 0x09};
    static const uint8_t ro[5] = {0x41, 0x00, 0x04, 0x00, 0x08};  /* region A */
    static const uint8_t rw[5] = {0x41, 0x10, 0x20, 0x00, 0x08};  /* region C */
    static const uint8_t end[5] = {0x41, 0x00, 0x28, 0x00, 0x08}; /* end of map */
    start(mixed_t, ATTR);
    expect_command_error(out, 5, UDFU_STATUS_ERR_TARGET);
    start(mixed_t, ATTR);
    expect_command_error(ro, 5, UDFU_STATUS_ERR_TARGET);
    start(mixed_t, ATTR);
    expect_command_error(rw, 5, UDFU_STATUS_ERR_TARGET);
    start(mixed_t, ATTR);
    expect_command_error(end, 5, UDFU_STATUS_ERR_TARGET);
}

/* A map at the top of the address space: block addresses that wrap past
 * 0xFFFFFFFF would land in the region at 0. */
static const struct udfu_region top[] = {
    {0x00000000u, 1024u, 1u, UDFU_MEM_ALL, 0u, 0u},
    {0xFFFFFC00u, 1024u, 1u, UDFU_MEM_ALL, 0u, 0u},
};
static const struct udfu_target top_t[] = {{"Top", top, 2, 1}};

TEST(dfuse_block_address_wrapping_past_4gib_is_erraddress)
{
    static const struct {
        uint32_t ptr;
        uint16_t blk, len;
    } cases[] = {
        {0xFFFFFC00u, 6, 64},      /* exactly 4 GiB: wraps to 0 */
        {0xFFFFFC00u, 7, 64},      /* wraps into region 0 */
        {0xFFFFFF80u, 2, XFER},    /* straddles 4 GiB */
        {0xFFFFFC00u, 0xFFFF, 64}, /* far past */
    };
    int i;
    for (i = 0; i < 4; i++) {
        start(top_t, ATTR);
        CHECK_EQ(set_address(cases[i].ptr), UDFU_DNLOAD_IDLE);
        fill(11, XFER);
        CHECK_EQ(dnload(cases[i].blk, cases[i].len, img), CF_ACK);
        expect_error_now(UDFU_STATUS_ERR_ADDRESS);
        cf_sleep(&dev, 100);
        CHECK_EQ(dev.erases + dev.progs, 0);
        CHECK_EQ(dev.violations, 0);
    }
}

/* Region D first: nothing readable at the default address pointer. */
static const struct udfu_target wo_t[] = {{"WO", &mixed[3], 1, 1}};

TEST(dfuse_upload_refused_stalls_with_erraddress)
{
    uint8_t st = 0;
    /* not readable */
    start(wo_t, ATTR);
    cf_ctl(&dev, 0xA1, UDFU_REQ_UPLOAD, 2, 0, 64, NULL, &rep);
    CHECK_EQ(rep.kind, CF_STALL);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_ERROR);
    CHECK_EQ(getstatus(NULL, &st), UDFU_DFU_ERROR);
    CHECK_EQ(st, UDFU_STATUS_ERR_ADDRESS);
    /* past the end of the map: 0x08000000 + 32 * 256 is the end */
    start(dfuse_t, ATTR);
    cf_ctl(&dev, 0xA1, UDFU_REQ_UPLOAD, 34, 0, 64, NULL, &rep);
    CHECK_EQ(rep.kind, CF_STALL);
    CHECK_EQ(getstatus(NULL, &st), UDFU_DFU_ERROR);
    CHECK_EQ(st, UDFU_STATUS_ERR_ADDRESS);
    /* straddling the end */
    start(dfuse_t, ATTR);
    cf_ctl(&dev, 0xA1, UDFU_REQ_UPLOAD, 33, 0, XFER, NULL, &rep);
    CHECK_EQ(rep.kind, CF_IN); /* the last full block is fine */
    cf_ctl(&dev, 0xA1, UDFU_REQ_UPLOAD, 2, 0, XFER, NULL, &rep);
    CHECK_EQ(rep.kind, CF_IN);
    CHECK_EQ(dev.violations, 0);
}

/* dfu-util 0.11 -U -s ADDR: SET_ADDRESS, ABORT (to get back to dfuIDLE,
 * where UPLOAD is legal), then UPLOAD from block 2. The address pointer
 * must survive the ABORT, as on ST's bootloaders. */
TEST(dfuse_abort_keeps_the_address_pointer)
{
    start(dfuse_t, ATTR);
    CHECK_EQ(set_address(0x08000800u), UDFU_DNLOAD_IDLE);
    CHECK_EQ(simple(UDFU_REQ_ABORT), CF_ACK);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_IDLE);
    cf_ctl(&dev, 0xA1, UDFU_REQ_UPLOAD, 2, 0, 64, NULL, &rep);
    CHECK_EQ(rep.kind, CF_IN);
    CHECK_EQ(rep.len, 64);
    CHECK_MEM(rep.data, cf_mem(&dev, 0, 0x08000800u), 64);
}

TEST(flash_failures_are_reported_by_the_next_getstatus)
{
    static const uint8_t erase[5] = {0x41, 0x00, 0x08, 0x00, 0x08};
    uint8_t st = 0;
    int async;
    for (async = 0; async < 1 + UDFU_CFG_ASYNC; async++) {
        /* erase */
        start(mixed_t, ATTR);
        dev.async = async;
        dev.erase_err = UDFU_ERR_ERASE;
        CHECK_EQ(dnload(0, 5, erase), CF_ACK);
        cf_sleep(&dev, 20);
        CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_ERROR);
        CHECK_EQ(getstatus(NULL, &st), UDFU_DFU_ERROR);
        CHECK_EQ(st, UDFU_STATUS_ERR_ERASE);
        /* program */
        start(mixed_t, ATTR);
        dev.async = async;
        memset(cf_mem(&dev, 0, 0x08000800u), 0xFF, 1024);
        CHECK_EQ(set_address(0x08000800u), UDFU_DNLOAD_IDLE);
        dev.prog_err = UDFU_ERR_PROG;
        fill(10, 64);
        CHECK_EQ(dnload(2, 64, img), CF_ACK);
        cf_sleep(&dev, 20);
        CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_ERROR);
        CHECK_EQ(getstatus(NULL, &st), UDFU_DFU_ERROR);
        CHECK_EQ(st, UDFU_STATUS_ERR_PROG);
        /* verify */
        start(mixed_t, ATTR);
        dev.async = async;
        memset(cf_mem(&dev, 0, 0x08000800u), 0xFF, 1024);
        CHECK_EQ(set_address(0x08000800u), UDFU_DNLOAD_IDLE);
        dev.verify_err = UDFU_ERR_VERIFY;
        CHECK_EQ(dnload(2, 64, img), CF_ACK);
        cf_sleep(&dev, 20);
        CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_ERROR);
        CHECK_EQ(getstatus(NULL, &st), UDFU_DFU_ERROR);
        CHECK_EQ(st, UDFU_STATUS_ERR_VERIFY);
        /* CLRSTATUS recovers */
        CHECK_EQ(simple(UDFU_REQ_CLRSTATUS), CF_ACK);
        CHECK_EQ(getstatus(NULL, &st), UDFU_DFU_IDLE);
        CHECK_EQ(st, UDFU_STATUS_OK);
    }
}

/* ---- alt settings ------------------------------------------------------------ */

TEST(set_alt_rejects_unknown_alt_and_resets_transfer)
{
    static const struct udfu_target two[2] = {{"A", flat, 1, 1}, {"B", small, 1, 1}};
    cf_init(&dev, two, 2, ATTR, XFER);
    CHECK_EQ(udfu_dfu_set_alt(&dev.dfu, 2), UDFU_ERR_INVAL);
    CHECK_EQ(udfu_dfu_set_alt(&dev.dfu, 1), 0);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_IDLE);
    /* address pointer starts at the new target's first address */
    cf_ctl(&dev, 0xA1, UDFU_REQ_UPLOAD, 2, 0, 16, NULL, &rep);
    CHECK_EQ(rep.kind, CF_IN);
    CHECK_EQ(rep.len, 16);
    CHECK_MEM(rep.data, cf_mem(&dev, 1, 0x00010000u), 16);
    CHECK_EQ(udfu_dfu_set_alt(&dev.dfu, 0), 0);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_IDLE);
}

/* ---- run-time class ------------------------------------------------------------ */

static struct udfu_rt rt;
static struct udfu_rt_cfg rtc;
static int detaches;
static uint32_t rt_now;

static void on_detach(void *ctx)
{
    (void)ctx;
    detaches++;
}

static void rt_start(uint8_t attr, uint16_t detach_timeout)
{
    memset(&rtc, 0, sizeof rtc);
    rtc.attributes = attr;
    rtc.detach_timeout_ms = detach_timeout;
    rtc.transfer_size = XFER;
    rtc.detach = on_detach;
    detaches = 0;
    rt_now = 5000;
    CHECK_EQ(udfu_rt_init(&rt, &rtc), 0);
    udfu_rt_task(&rt, rt_now);
}

static void rt_sleep(uint32_t ms)
{
    while (ms--)
        udfu_rt_task(&rt, ++rt_now);
}

static void rt_detach_req(uint16_t timeout)
{
    cf_rt_ctl(&rt, 0x21, UDFU_REQ_DETACH, timeout, 0, 0, &rep);
    CHECK_EQ(rep.kind, CF_ACK);
    CHECK_EQ(udfu_rt_state(&rt), UDFU_APP_DETACH);
}

TEST(appdetach_lapses_to_appidle_when_the_timer_expires)
{
    rt_start(UDFU_ATTR_CAN_DNLOAD, 1000);
    rt_detach_req(200);
    rt_sleep(199);
    CHECK_EQ(udfu_rt_state(&rt), UDFU_APP_DETACH);
    rt_sleep(2);
    CHECK_EQ(udfu_rt_state(&rt), UDFU_APP_IDLE);
    udfu_rt_reset(&rt); /* too late: no hand-off */
    rt_sleep(10);
    CHECK_EQ(detaches, 0);
    CHECK_EQ(udfu_rt_state(&rt), UDFU_APP_IDLE);
}

TEST(appdetach_timer_is_capped_by_wdetachtimeout)
{
    rt_start(UDFU_ATTR_CAN_DNLOAD, 250);
    rt_detach_req(5000);
    rt_sleep(252);
    CHECK_EQ(udfu_rt_state(&rt), UDFU_APP_IDLE);
}

TEST(usb_reset_in_appdetach_calls_detach_once)
{
    rt_start(UDFU_ATTR_CAN_DNLOAD, 1000);
    rt_detach_req(1000);
    rt_sleep(500);
    CHECK_EQ(detaches, 0);
    udfu_rt_reset(&rt);
    rt_sleep(1);
    CHECK_EQ(detaches, 1);
    rt_sleep(3000);
    udfu_rt_reset(&rt);
    rt_sleep(1);
    CHECK_EQ(detaches, 1);
}

TEST(usb_reset_in_appidle_does_not_detach)
{
    rt_start(UDFU_ATTR_CAN_DNLOAD, 1000);
    udfu_rt_reset(&rt);
    rt_sleep(10);
    CHECK_EQ(detaches, 0);
    CHECK_EQ(udfu_rt_state(&rt), UDFU_APP_IDLE);
}

TEST(will_detach_device_detaches_after_the_reply_without_reset)
{
    rt_start(UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_WILL_DETACH, 1000);
    rt_detach_req(1000);
    CHECK_EQ(detaches, 0); /* not before the task runs */
    rt_sleep(1);
    CHECK_EQ(detaches, 1);
    rt_sleep(2000);
    CHECK_EQ(detaches, 1);
}

int main(void)
{
    RUN_IF(UDFU_CFG_PLAIN && UDFU_CFG_ASYNC,
           dnbusy_lapses_to_dnload_sync_once_poll_timeout_elapsed);
    RUN_IF(UDFU_CFG_PLAIN && UDFU_CFG_ASYNC, dnbusy_ends_early_when_the_work_is_done);
    RUN_IF(UDFU_CFG_ASYNC, request_during_dnbusy_before_poll_timeout_stalls_into_error);
    RUN(first_getstatus_after_every_dnload_reports_dnbusy);
    RUN_IF(UDFU_CFG_PLAIN, stalled_wrong_direction_getstatus_does_not_consume_dnbusy);
    RUN_IF(UDFU_CFG_PLAIN, manifest_goes_to_manifest_sync_when_tolerant);
    RUN_IF(UDFU_CFG_PLAIN, manifest_goes_to_wait_reset_when_not_tolerant);
    RUN_IF(UDFU_CFG_PLAIN, wait_reset_leaves_after_reset_timeout_without_host_traffic);
    RUN_IF(UDFU_CFG_PLAIN, wait_reset_default_timeout_is_bounded);
    RUN_IF(UDFU_CFG_PLAIN, wait_reset_leaves_at_once_on_bus_reset);
    RUN_IF(UDFU_CFG_PLAIN, manifest_failure_reports_errfirmware);
    RUN(dfuse_leave_with_block_2_leaves_without_more_traffic);
    RUN(dfuse_leave_with_block_0_leaves_without_more_traffic);
    RUN(bus_reset_during_download_gives_errfirmware);
    RUN_IF(UDFU_CFG_PLAIN, bus_reset_outside_a_download_keeps_or_returns_to_idle);
    RUN_IF(UDFU_CFG_ASYNC, new_dnload_never_overwrites_the_buffer_of_a_running_program);
    RUN_IF(UDFU_CFG_PLAIN, data_stage_shorter_or_longer_than_wlength_stalls_into_error);
    RUN_IF(UDFU_CFG_PLAIN, setup_during_data_stage_drops_the_dnload);
    RUN_IF(UDFU_CFG_PLAIN, plain_download_ignores_block_numbers_and_writes_sequentially);
    RUN_IF(UDFU_CFG_PLAIN, plain_write_into_read_only_memory_is_errwrite);
    RUN_IF(UDFU_CFG_PLAIN, plain_image_larger_than_target_is_erraddress);
    RUN(dfuse_write_into_read_only_memory_is_errwrite);
    RUN(dfuse_write_outside_the_map_is_erraddress);
    RUN(dfuse_set_address_outside_the_map_is_errtarget);
    RUN(dfuse_erase_outside_the_map_or_not_erasable_is_errtarget);
    RUN(dfuse_block_address_wrapping_past_4gib_is_erraddress);
    RUN(dfuse_upload_refused_stalls_with_erraddress);
    RUN(dfuse_abort_keeps_the_address_pointer);
    RUN(flash_failures_are_reported_by_the_next_getstatus);
    RUN(set_alt_rejects_unknown_alt_and_resets_transfer);
    RUN(appdetach_lapses_to_appidle_when_the_timer_expires);
    RUN(appdetach_timer_is_capped_by_wdetachtimeout);
    RUN(usb_reset_in_appdetach_calls_detach_once);
    RUN(usb_reset_in_appidle_does_not_detach);
    RUN(will_detach_device_detaches_after_the_reply_without_reset);
    return test_summary();
}
