/*
 * test_dfu_util.c - the request sequences dfu-util 0.11 sends, replayed
 * against the class core with its sleeps on a fake clock: -D (plain DFU),
 * -a 0 -s ADDR:leave -D (DfuSe), -U (plain and DfuSe, with and without
 * -s ADDR:LEN), -s :mass-erase:force, and -e (run-time detach). Each checks
 * that dfu-util would succeed, the flash byte for byte, and how the device
 * ends (leave()/detach() fired, with no further host traffic where dfu-util
 * sends none).
 */
#include <stdio.h>
#include <string.h>

#include "host_model.h"
#include "test.h"

static const uint8_t ATTR = UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD;

/* A plain DFU 1.1 bootloader: the application area, 8 x 4 KiB. */
static const struct udfu_region app_regions[] = {
    {0x08004000u, 4096u, 8u, UDFU_MEM_ALL, 20u, 3000u},
};
static const struct udfu_target plain_dev[] = {{"Application", app_regions, 1, 0}};

/* An STM32-like DfuSe bootloader: alt 0 internal flash with a read-only
 * bootloader, 2 KiB then 8 KiB pages; alt 1 option bytes. */
static const struct udfu_region flash_regions[] = {
    {0x08000000u, 2048u, 2u, UDFU_MEM_READ, 25u, 2000u},
    {0x08001000u, 2048u, 6u, UDFU_MEM_ALL, 25u, 2000u},
    {0x08004000u, 8192u, 2u, UDFU_MEM_ALL, 60u, 2000u},
};
static const struct udfu_region option_regions[] = {
    {0x1FFFC000u, 16u, 1u, UDFU_MEM_READ | UDFU_MEM_WRITE, 0u, 1000u},
};
static const struct udfu_target dfuse_dev[] = {
    {"Internal Flash", flash_regions, 3, 1},
    {"Option Bytes", option_regions, 1, 1},
};

static struct cf_dev dev;
static struct hm_host host;
static uint8_t img[64 * 1024];
static uint8_t expect[CF_TARGETS_MAX][CF_MEM_MAX];
static uint8_t got[64 * 1024];

static void make_image(uint32_t n, uint8_t seed)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        img[i] = (uint8_t)((i * 7u + seed) ^ (i >> 8));
}

static void snapshot(void)
{
    memcpy(expect, dev.mem, sizeof expect);
}

/* In the expected image: erase [a, a+n) of alt, then write data there. */
static void expect_fill(uint8_t alt, uint32_t a, uint32_t n, int value)
{
    uint32_t base = dev.cfg.targets[alt].regions[0].start;
    memset(&expect[alt][a - base], value, n);
}

static void expect_write(uint8_t alt, uint32_t a, const uint8_t *data, uint32_t n)
{
    uint32_t base = dev.cfg.targets[alt].regions[0].start;
    memcpy(&expect[alt][a - base], data, n);
}

/* Every byte of every target as expected; on failure, the first difference. */
static void check_memory(void)
{
    uint8_t alt;
    for (alt = 0; alt < dev.cfg.target_count; alt++) {
        uint32_t span = cf_span(&dev.cfg.targets[alt]), i;
        test_checks++;
        for (i = 0; i < span; i++)
            if (dev.mem[alt][i] != expect[alt][i]) {
                char msg[160];
                snprintf(msg, sizeof msg, "alt %u byte at 0x%08X is 0x%02X, expected 0x%02X", alt,
                         (unsigned)(dev.cfg.targets[alt].regions[0].start + i), dev.mem[alt][i],
                         expect[alt][i]);
                test_fail(__FILE__, __LINE__, msg);
                break;
            }
    }
}

static void check_tool_succeeded(void)
{
    CHECK(!host.failed);
    if (host.failed) {
        fprintf(stderr, "    dfu-util would fail: %s\n", host.msg);
        hm_dump(&host, 24);
    }
    CHECK_EQ(dev.violations, 0);
    if (dev.violations)
        fprintf(stderr, "    backend: %s\n", dev.violation);
    CHECK_EQ(dev.overlap, 0);
}

/* After every DNLOAD that carries data or a command: the first GETSTATUS
 * says dfuDNBUSY, and after sleeping its bwPollTimeout the next one says
 * dfuDNLOAD-IDLE (an honest poll timeout: exactly one dfuDNBUSY). Mass
 * erase may report dfuDNBUSY once per sector. */
static void check_one_dnbusy_per_dnload(int allow_mass)
{
    int i, bad = 0;
    for (i = 0; i < host.ntr; i++) {
        const struct hm_xfer *t = &host.tr[i];
        int j, busy = 0, mass;
        if (t->req != UDFU_REQ_DNLOAD || !t->length)
            continue;
        mass = t->value == 0 && t->length == 1 && t->first == UDFU_DFUSE_CMD_ERASE;
        for (j = i + 1; j < host.ntr && host.tr[j].req == UDFU_REQ_GETSTATUS; j++)
            busy += host.tr[j].state == UDFU_DNBUSY;
        test_checks += 2;
        if (j == i + 1 || host.tr[i + 1].state != UDFU_DNBUSY) {
            bad++;
            fprintf(stderr, "  request %d: first GETSTATUS after DNLOAD is not dfuDNBUSY\n", i);
        } else if (busy != 1 && !(allow_mass && mass)) {
            bad++;
            fprintf(stderr, "  request %d (DNLOAD wValue %u len %u): %d dfuDNBUSY replies; "
                    "first bwPollTimeout %u ms was too short\n", i, t->value, t->length, busy,
                    (unsigned)host.tr[i + 1].poll);
        }
        if (bad > 5)
            break;
    }
    CHECK_EQ(bad, 0);
    if (bad)
        test_fail(__FILE__, __LINE__, "bwPollTimeout not honest or dfuDNBUSY missing");
}

/* ---- -D on a plain DFU 1.1 device ---------------------------------------- */

static void plain_download(int async, uint8_t attr, int final_reset)
{
    const uint32_t n = 10000, base = 0x08004000u;
    cf_init(&dev, plain_dev, 1, attr, 1024);
    dev.cfg.manifest_ms = 40;
    dev.async = async;
    dev.now = 50000;
    cf_pump(&dev);
    CHECK_EQ(udfu_dfu_bcd(&dev.cfg), 0x0110); /* dfu-util takes the DFU 1.1 path */
    make_image(n, 3);
    snapshot();
    expect_fill(0, base, 3 * 4096, 0xFF); /* sectors reached by the image */
    expect_write(0, base, img, n);

    hm_attach(&host, &dev);
    CHECK_EQ(du_start(&host, 0), 0);
    CHECK_EQ(du_download_plain(&host, 1024, img, n, final_reset), 0);
    check_tool_succeeded();
    check_memory();
    check_one_dnbusy_per_dnload(0);
    CHECK_EQ(hm_count(&host, 0x21, UDFU_REQ_DNLOAD), 10 + 1);
    CHECK_EQ(dev.manifests, 1);
}

TEST(dfu_util_download_plain_not_tolerant_resets_and_leaves)
{
    int async;
    for (async = 0; async < 2; async++) {
        const struct hm_xfer *last;
        plain_download(async, ATTR, 0);
        /* dfu-util saw dfuMANIFEST-WAIT-RESET and reset the device */
        last = &host.tr[host.ntr - 1];
        CHECK_EQ(last->req, UDFU_REQ_GETSTATUS);
        CHECK_EQ(last->state, UDFU_MANIFEST_WAIT_RESET);
        CHECK_EQ(dev.leaves, 1);
        CHECK_EQ(dev.leave_addr, 0);
    }
}

TEST(dfu_util_download_plain_tolerant_ends_in_idle_and_leaves_on_final_reset)
{
    const struct hm_xfer *last;
    plain_download(1, ATTR | UDFU_ATTR_MANIFEST_TOLERANT, 0);
    last = &host.tr[host.ntr - 1];
    CHECK_EQ(last->req, UDFU_REQ_GETSTATUS);
    CHECK_EQ(last->state, UDFU_DFU_IDLE);
    cf_sleep(&dev, 10000);
    CHECK_EQ(dev.leaves, 0); /* stays in DFU mode until told */
    /* the same with -R: DETACH (stalled in dfuIDLE, a warning), then reset */
    plain_download(1, ATTR | UDFU_ATTR_MANIFEST_TOLERANT, 1);
    CHECK_EQ(dev.leaves, 1);
    CHECK_EQ(dev.leave_addr, 0);
}

/* The timing dfu-util imposes: after dfuMANIFEST it sleeps bwPollTimeout
 * + 1000 ms before it asks again; the device must still be there. */
TEST(dfu_util_download_plain_survives_dfu_util_manifest_sleep)
{
    uint16_t manifest_ms[3] = {0, 1500, 4000};
    int k;
    for (k = 0; k < 3; k++) {
        cf_init(&dev, plain_dev, 1, ATTR, 1024);
        dev.cfg.manifest_ms = manifest_ms[k];
        dev.async = 1;
        cf_pump(&dev);
        make_image(2048, 9);
        hm_attach(&host, &dev);
        CHECK_EQ(du_start(&host, 0), 0);
        CHECK_EQ(du_download_plain(&host, 1024, img, 2048, 0), 0);
        check_tool_succeeded();
        CHECK_EQ(dev.leaves, 1);
    }
}

/* ---- -U on a plain DFU 1.1 device ----------------------------------------- */

TEST(dfu_util_upload_plain_reads_the_whole_target)
{
    static const uint16_t sizes[2] = {1024, 3072};
    int k;
    for (k = 0; k < 2; k++) {
        int n, ups;
        cf_init(&dev, plain_dev, 1, ATTR, sizes[k]);
        cf_pump(&dev);
        hm_attach(&host, &dev);
        CHECK_EQ(du_start(&host, 0), 0);
        n = du_upload_plain(&host, sizes[k], got, sizeof got);
        check_tool_succeeded();
        CHECK_EQ(n, 32768);
        CHECK_MEM(got, dev.mem[0], 32768);
        ups = hm_count(&host, 0xA1, UDFU_REQ_UPLOAD);
        /* an exact multiple ends with a zero-length reply */
        CHECK_EQ(ups, 32768 / sizes[k] + 1);
        CHECK_EQ(host.tr[host.ntr - 1].result, (int)(32768 % sizes[k]));
        CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_IDLE);
        CHECK_EQ(dev.nlog, dev.reads); /* nothing but reads */
    }
}

/* ---- DfuSe -------------------------------------------------------------------- */

static char layout0[256];

static void dfuse_setup(int async)
{
    cf_init(&dev, dfuse_dev, 2, ATTR, 2048);
    dev.cfg.manifest_ms = 10;
    dev.async = async;
    dev.now = 7000;
    cf_pump(&dev);
    CHECK_EQ(udfu_dfu_bcd(&dev.cfg), 0x011A);
    CHECK(udfu_mem_layout(&dfuse_dev[0], layout0, sizeof layout0) > 0);
    hm_attach(&host, &dev);
}

TEST(dfu_util_layout_string_parses_to_the_memory_map)
{
    struct hm_seg segs[8];
    int n;
    dfuse_setup(0);
    n = hm_parse_layout(layout0, segs, 8);
    CHECK_EQ(n, 3);
    if (n == 3) {
        CHECK_EQ(segs[0].start, 0x08000000u);
        CHECK_EQ(segs[0].end, 0x08000FFFu);
        CHECK_EQ(segs[0].page, 2048);
        CHECK_EQ(segs[0].type, 1);
        CHECK_EQ(segs[1].start, 0x08001000u);
        CHECK_EQ(segs[1].end, 0x08003FFFu);
        CHECK_EQ(segs[1].type, 7);
        CHECK_EQ(segs[2].start, 0x08004000u);
        CHECK_EQ(segs[2].end, 0x08007FFFu);
        CHECK_EQ(segs[2].page, 8192);
    }
}

static void dfuse_download(int async, uint32_t addr, uint32_t n)
{
    uint32_t first, last, a;
    struct hm_seg segs[8];
    int nseg;
    const struct hm_xfer *end;
    dfuse_setup(async);
    make_image(n, 5);
    snapshot();
    /* dfu-util erases every page the image touches, then writes it */
    nseg = hm_parse_layout(layout0, segs, 8);
    first = addr;
    last = addr + n - 1u;
    for (a = first; a <= last;) {
        const struct hm_seg *s = hm_find_seg(segs, nseg, a);
        uint32_t page = a & ~(s->page - 1u);
        expect_fill(0, page, s->page, 0xFF);
        a = page + s->page;
    }
    expect_write(0, addr, img, n);

    CHECK_EQ(du_start(&host, 0), 0);
    CHECK_EQ(du_download_dfuse(&host, 2048, layout0, addr, img, n, 1), 0);
    check_tool_succeeded();
    check_memory();
    check_one_dnbusy_per_dnload(0);
    /* the last request is the GETSTATUS answering dfuMANIFEST; the device
     * left within its bwPollTimeout, with nothing more from the host */
    end = &host.tr[host.ntr - 1];
    CHECK_EQ(end->req, UDFU_REQ_GETSTATUS);
    CHECK_EQ(end->state, UDFU_MANIFEST);
    CHECK_EQ(host.tr[host.ntr - 2].req, UDFU_REQ_DNLOAD);
    CHECK_EQ(host.tr[host.ntr - 2].length, 0);
    CHECK_EQ(host.tr[host.ntr - 2].value, 2);
    CHECK_EQ(dev.leaves, 1);
    CHECK_EQ(dev.leave_addr, addr);
    CHECK(dev.leave_time <= end->at + end->poll);
    cf_sleep(&dev, 5000);
    CHECK_EQ(dev.leaves, 1);
}

TEST(dfu_util_dfuse_download_with_leave)
{
    int async;
    for (async = 0; async < 1 + UDFU_CFG_ASYNC; async++) {
        dfuse_download(async, 0x08001800u, 13000);
        /* 6 pages erased (5 x 2 KiB + one 8 KiB), 7 chunks, 8 set-address */
        CHECK_EQ(dev.erases, 6);
        CHECK_EQ(dev.progs, 7);
    }
}

TEST(dfu_util_dfuse_download_unaligned_start)
{
    dfuse_download(1, 0x08001C06u, 9001);
}

TEST(dfu_util_dfuse_upload_with_address_and_length)
{
    int n;
    dfuse_setup(1);
    CHECK_EQ(du_start(&host, 0), 0);
    n = du_upload_dfuse(&host, 2048, layout0, 1, 0x08001000u, 0x2100, got, sizeof got);
    check_tool_succeeded();
    CHECK_EQ(n, 0x2100);
    CHECK_MEM(got, cf_mem(&dev, 0, 0x08001000u), 0x2100);
    CHECK_EQ(hm_count(&host, 0xA1, UDFU_REQ_UPLOAD), 5);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_IDLE);
    CHECK_EQ(dev.erases + dev.progs, 0);
}

TEST(dfu_util_dfuse_upload_with_address_to_end_of_segment)
{
    int n;
    dfuse_setup(0);
    CHECK_EQ(du_start(&host, 0), 0);
    n = du_upload_dfuse(&host, 2048, layout0, 1, 0x08004000u, 0, got, sizeof got);
    check_tool_succeeded();
    CHECK_EQ(n, 0x4000);
    CHECK_MEM(got, cf_mem(&dev, 0, 0x08004000u), 0x4000);
}

TEST(dfu_util_dfuse_upload_without_address_reads_16k_from_the_start)
{
    int n;
    dfuse_setup(0);
    CHECK_EQ(du_start(&host, 0), 0);
    n = du_upload_dfuse(&host, 2048, layout0, 0, 0, 0, got, sizeof got);
    check_tool_succeeded();
    CHECK_EQ(n, 0x4000);
    CHECK_MEM(got, cf_mem(&dev, 0, 0x08000000u), 0x4000);
    CHECK_EQ(hm_count(&host, 0xA1, UDFU_REQ_UPLOAD), 8);
}

TEST(dfu_util_dfuse_mass_erase_force)
{
    int async;
    for (async = 0; async < 1 + UDFU_CFG_ASYNC; async++) {
        int i;
        dfuse_setup(async);
        snapshot();
        expect_fill(0, 0x08001000u, 0x7000, 0xFF); /* erasable regions only */
        CHECK_EQ(du_start(&host, 0), 0);
        CHECK_EQ(du_dfuse_command(&host, layout0, 1, 0, 0, 0), 0);
        check_tool_succeeded();
        check_memory();
        check_one_dnbusy_per_dnload(1);
        CHECK_EQ(dev.erases, 8);
        /* no single wait near a host's 5 s timeout; no STM32F405 quirk */
        for (i = 0; i < host.ntr; i++)
            if (host.tr[i].req == UDFU_REQ_GETSTATUS) {
                CHECK(host.tr[i].poll < 5000);
                CHECK(host.tr[i].poll != 100);
            }
        CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_IDLE);
        CHECK_EQ(dev.leaves, 0);
    }
}

/* dfu-util -a 0 -s 0x08001000:leave: start the application, no file. */
TEST(dfu_util_dfuse_leave_only_with_address)
{
    const struct hm_xfer *end;
    dfuse_setup(1);
    snapshot();
    CHECK_EQ(du_start(&host, 0), 0);
    CHECK_EQ(du_dfuse_command(&host, layout0, 0, 1, 1, 0x08001000u), 0);
    check_tool_succeeded();
    check_memory();
    end = &host.tr[host.ntr - 1];
    CHECK_EQ(end->req, UDFU_REQ_GETSTATUS);
    CHECK_EQ(end->state, UDFU_MANIFEST);
    CHECK_EQ(dev.leaves, 1);
    CHECK_EQ(dev.leave_addr, 0x08001000u);
    CHECK(dev.leave_time <= end->at + end->poll);
}

/* dfu-util -a 0 -s :leave -D firmware.dfu: the common way to flash a DfuSe
 * file and start it. The leave comes after ABORT, without SET_ADDRESS: a
 * zero-length DNLOAD (wValue 2) in dfuIDLE, which ST's bootloaders take
 * as "leave". */
TEST(dfu_util_dfuse_file_download_with_leave)
{
    struct hm_element els[2];
    dfuse_setup(1);
    make_image(9000, 1);
    els[0].addr = 0x08001000u;
    els[0].size = 5000;
    els[0].data = img;
    els[1].addr = 0x08004000u;
    els[1].size = 4000;
    els[1].data = img + 5000;
    snapshot();
    expect_fill(0, 0x08001000u, 3 * 2048, 0xFF);
    expect_fill(0, 0x08004000u, 8192, 0xFF);
    expect_write(0, els[0].addr, els[0].data, els[0].size);
    expect_write(0, els[1].addr, els[1].data, els[1].size);
    CHECK_EQ(du_start(&host, 0), 0);
    CHECK_EQ(du_download_dfuse_file(&host, 2048, layout0, els, 2, 1), 0);
    check_tool_succeeded();
    check_memory();
    check_one_dnbusy_per_dnload(0);
    CHECK_EQ(dev.leaves, 1);
}

/* A previous session left the device in dfuERROR or mid-download:
 * dfu-util clears or aborts, then downloads. */
TEST(dfu_util_recovers_a_device_left_in_error_or_dnload_idle)
{
    struct cf_reply r;
    static const uint8_t set_addr[5] = {0x21, 0x00, 0x10, 0x00, 0x08};
    dfuse_setup(0);
    cf_ctl(&dev, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, 0, NULL, &r); /* -> dfuERROR */
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_ERROR);
    CHECK_EQ(du_start(&host, 0), 0);
    check_tool_succeeded();
    CHECK_EQ(hm_count(&host, 0x21, UDFU_REQ_CLRSTATUS), 1);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_IDLE);

    dfuse_setup(0);
    cf_ctl(&dev, 0x21, UDFU_REQ_DNLOAD, 0, 0, 5, set_addr, &r);
    cf_pump(&dev);
    cf_ctl(&dev, 0xA1, UDFU_REQ_GETSTATUS, 0, 0, 6, NULL, &r);
    cf_ctl(&dev, 0xA1, UDFU_REQ_GETSTATUS, 0, 0, 6, NULL, &r);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DNLOAD_IDLE);
    CHECK_EQ(du_start(&host, 0), 0);
    check_tool_succeeded();
    CHECK_EQ(hm_count(&host, 0x21, UDFU_REQ_ABORT), 1);
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_IDLE);
}

/* ---- -e on a run-time device ---------------------------------------------- */

static int detached;
static struct hm_host *rt_host;

static void on_detach(void *ctx)
{
    (void)ctx;
    detached++;
    if (rt_host)
        rt_host->rt_gone = 1; /* the device resets into the bootloader */
}

static void detach_case(uint8_t attr)
{
    static struct udfu_rt rt;
    static struct udfu_rt_cfg cfg;
    static uint32_t now;
    memset(&cfg, 0, sizeof cfg);
    cfg.attributes = attr;
    cfg.detach_timeout_ms = 1000;
    cfg.transfer_size = 1024;
    cfg.detach = on_detach;
    detached = 0;
    now = 123;
    CHECK_EQ(udfu_rt_init(&rt, &cfg), 0);
    udfu_rt_task(&rt, now);
    hm_attach_rt(&host, &rt, &now);
    rt_host = &host;
    CHECK_EQ(du_detach(&host, (attr & UDFU_ATTR_WILL_DETACH) != 0), 0);
    CHECK(!host.failed);
    if (host.failed)
        fprintf(stderr, "    dfu-util would fail: %s\n", host.msg);
    /* GETSTATUS (appIDLE), then DETACH(1000), nothing else */
    CHECK_EQ(host.ntr, 2);
    CHECK_EQ(host.tr[0].req, UDFU_REQ_GETSTATUS);
    CHECK_EQ(host.tr[0].result, 6);
    CHECK_EQ(host.tr[0].state, UDFU_APP_IDLE);
    CHECK_EQ(host.tr[1].req, UDFU_REQ_DETACH);
    CHECK_EQ(host.tr[1].value, 1000);
    CHECK_EQ(host.tr[1].result, 0);
    udfu_rt_task(&rt, ++now);
    CHECK_EQ(detached, 1);
    rt_host = NULL;
}

TEST(dfu_util_detach_resets_a_runtime_device_into_dfu)
{
    detach_case(UDFU_ATTR_CAN_DNLOAD);
}

TEST(dfu_util_detach_on_a_will_detach_device)
{
    detach_case(UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_WILL_DETACH);
}

int main(void)
{
    RUN_IF(UDFU_CFG_PLAIN, dfu_util_download_plain_not_tolerant_resets_and_leaves);
    RUN_IF(UDFU_CFG_PLAIN, dfu_util_download_plain_tolerant_ends_in_idle_and_leaves_on_final_reset);
    RUN_IF(UDFU_CFG_PLAIN, dfu_util_download_plain_survives_dfu_util_manifest_sleep);
    RUN_IF(UDFU_CFG_PLAIN, dfu_util_upload_plain_reads_the_whole_target);
    RUN(dfu_util_layout_string_parses_to_the_memory_map);
    RUN(dfu_util_dfuse_download_with_leave);
    RUN(dfu_util_dfuse_download_unaligned_start);
    RUN(dfu_util_dfuse_upload_with_address_and_length);
    RUN(dfu_util_dfuse_upload_with_address_to_end_of_segment);
    RUN(dfu_util_dfuse_upload_without_address_reads_16k_from_the_start);
    RUN(dfu_util_dfuse_mass_erase_force);
    RUN(dfu_util_dfuse_leave_only_with_address);
    RUN(dfu_util_dfuse_file_download_with_leave);
    RUN(dfu_util_recovers_a_device_left_in_error_or_dnload_idle);
    RUN(dfu_util_detach_resets_a_runtime_device_into_dfu);
    RUN(dfu_util_detach_on_a_will_detach_device);
    return test_summary();
}
