/*
 * test_virtual.c - the virtual DFU device end to end over real loopback
 * sockets, in-process: enumeration, run-time/DFU personalities, DETACH and
 * leave re-enumerating under the other PID, DfuSe and plain DFU downloads
 * and uploads, the read-only bootloader, flash timing, persistence, and
 * the controller binding (stalls, non-EP0 URBs, malformed control URBs).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>

#include "test.h"
#include "uclient.h"
#include "udfu_boot.h"
#include "udfu_util.h"
#include "vdev.h"

#define APP 0x08004000u
#define TS 2048u

static struct vdev v;
static char flash_path[64];

static void step_dev(void *arg)
{
    (void)arg;
    vdev_step(&v, 0);
}

static int open_dev(const char *flash, int timing)
{
    struct vdev_opts o;

    memset(&o, 0, sizeof(o));
    o.port = 0;
    o.flash = flash;
    o.timing = timing;
    o.transfer_size = TS;
    return vdev_open(&v, &o);
}

static void client_init(struct uclient *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->idle = step_dev;
    c->timeout_ms = 6000;
}

/* Connects and imports; returns the PID of the imported device or -1. */
static int attach(struct uclient *c)
{
    uint8_t rec[USBIP_DEV_REC_LEN];

    client_init(c);
    if (uc_connect(c, "127.0.0.1", usbip_server_port(&v.srv)) < 0)
        return -1;
    if (uc_import(c, "1-1", rec) != 0)
        return -1;
    return usbip_get16(rec + 0x12E);
}

static int ctrl(struct uclient *c, uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                uint8_t *data, uint16_t len, uint32_t *actual)
{
    uint8_t s[8];

    uc_setup(s, type, req, value, index, len);
    return uc_control(c, s, data, len, actual);
}

static int configure(struct uclient *c, uint8_t alt)
{
    if (ctrl(c, 0x00, 9, 1, 0, NULL, 0, NULL) != 0)
        return -1;
    return ctrl(c, 0x01, 11, alt, 0, NULL, 0, NULL);
}

static int getstatus(struct uclient *c, uint8_t st[6])
{
    uint32_t n = 0;
    int r = ctrl(c, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, 0, st, 6, &n);

    return r == 0 && n == 6 ? 0 : -1;
}

static uint32_t poll_of(const uint8_t st[6])
{
    return (uint32_t)st[1] | ((uint32_t)st[2] << 8) | ((uint32_t)st[3] << 16);
}

/* GETSTATUS until the device is out of its busy states, sleeping
 * bwPollTimeout as a host must. Returns the final state, -1 on error. */
static int settle(struct uclient *c, uint8_t st[6])
{
    int i;

    for (i = 0; i < 200; i++) {
        uint64_t until;

        if (getstatus(c, st) < 0)
            return -1;
        if (st[4] != UDFU_DNBUSY && st[4] != UDFU_MANIFEST)
            return st[4];
        until = usbip_now_ms() + poll_of(st);
        while (usbip_now_ms() < until)
            vdev_step(&v, 1);
    }
    return -1;
}

static int dnload(struct uclient *c, uint16_t block, const uint8_t *data, uint16_t len)
{
    return ctrl(c, UDFU_RT_OUT, UDFU_REQ_DNLOAD, block, 0, (uint8_t *)data, len, NULL);
}

static int dfuse_cmd(struct uclient *c, uint8_t cmd, uint32_t addr, uint8_t st[6])
{
    uint8_t b[5] = { cmd, (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16),
                     (uint8_t)(addr >> 24) };

    if (dnload(c, 0, b, 5) != 0)
        return -1;
    return settle(c, st);
}

/* A bootable Cortex-M image: vector table at APP, then a pattern. */
static void make_image(uint8_t *img, uint32_t len, uint8_t seed)
{
    uint32_t i;

    for (i = 0; i < len; i++)
        img[i] = (uint8_t)(i * 7 + seed);
    udfu_put32(img, 0x20020000u);
    udfu_put32(img + 4, APP + 0x101u);
}

/* Waits for the device to drop the connection (re-enumeration). */
static int dropped(struct uclient *c)
{
    int r = uc_wait_eof(c);

    uc_close(c);
    return r;
}

static void reset_flash_file(void)
{
    snprintf(flash_path, sizeof(flash_path), "/tmp/udfu-vtest-%d.bin", (int)getpid());
    unlink(flash_path);
}

/* ---- enumeration and personalities ------------------------------------------------ */

TEST(blank_flash_offers_dfu_mode_under_pid_plus_one)
{
    struct uclient c;
    uint8_t rec[USBIP_DEV_REC_LEN], intf[8];

    CHECK_EQ(open_dev(NULL, 0), 0);
    CHECK_EQ(v.mode, VDEV_DFU);
    client_init(&c);
    CHECK_EQ(uc_connect(&c, "127.0.0.1", usbip_server_port(&v.srv)), 0);
    CHECK_EQ(uc_devlist(&c, rec, intf, sizeof(intf)), 1);
    CHECK_EQ(usbip_get16(rec + 0x12C), 0x1209);
    CHECK_EQ(usbip_get16(rec + 0x12E), 0x0002);
    CHECK_EQ(intf[0], 0xFE);
    CHECK_EQ(intf[1], 0x01);
    CHECK_EQ(intf[2], 0x02);
    uc_close(&c);
    vdev_close(&v);
}

TEST(descriptors_show_dfuse_layout_with_readonly_bootloader_and_plain_alt)
{
    struct uclient c;
    uint8_t buf[256];
    char s[128];
    uint32_t n = 0, i;

    CHECK_EQ(open_dev(NULL, 0), 0);
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(ctrl(&c, 0x80, 6, 0x0100, 0, buf, 18, &n), 0);
    CHECK_EQ(n, 18);
    CHECK_EQ(buf[8] | (buf[9] << 8), 0x1209);
    CHECK_EQ(buf[10] | (buf[11] << 8), 0x0002);
    CHECK_EQ(ctrl(&c, 0x80, 6, 0x0200, 0, buf, 255, &n), 0);
    CHECK_EQ(buf[4], 1);                      /* one interface */
    CHECK_EQ(n, 9 + 9 + 9 + UDFU_FUNC_DESC_LEN); /* two alt settings */
    CHECK_EQ(buf[9 + 7], UDFU_PROTOCOL_DFU);
    CHECK_EQ(buf[18 + 3], 1);                 /* second alt setting */
    CHECK(buf[27 + 2] & UDFU_ATTR_WILL_DETACH);
    CHECK_EQ(buf[27 + 5] | (buf[27 + 6] << 8), TS);
    CHECK_EQ(buf[27 + 7] | (buf[27 + 8] << 8), 0x011A);
    CHECK_EQ(ctrl(&c, 0x80, 6, 0x0300 | buf[9 + 8], 0x0409, buf, 255, &n), 0);
    for (i = 0; i + 2 < n && i / 2 < sizeof(s) - 1; i += 2)
        s[i / 2] = (char)buf[2 + i];
    s[i / 2] = 0;
    CHECK(strcmp(s, "@Internal Flash /0x08000000/01*016Ka,03*016Kg,01*064Kg,07*128Kg") == 0);
    uc_close(&c);
    vdev_close(&v);
}

TEST(controller_binding_stalls_bad_requests_and_fails_other_endpoints)
{
    struct uclient c;
    uint8_t hdr[USBIP_HDR_LEN], buf[64], setup[8];
    uint32_t n = 0;

    CHECK_EQ(open_dev(NULL, 0), 0);
    CHECK_EQ(attach(&c), 0x0002);
    /* unknown standard request: stall */
    CHECK_EQ(ctrl(&c, 0x80, 0x33, 0, 0, buf, 8, &n), -32);
    /* class request before SET_CONFIGURATION: stall */
    CHECK_EQ(ctrl(&c, UDFU_RT_IN, UDFU_REQ_GETSTATE, 0, 0, buf, 1, &n), -32);
    CHECK_EQ(configure(&c, 0), 0);
    CHECK_EQ(ctrl(&c, UDFU_RT_IN, UDFU_REQ_GETSTATE, 0, 0, buf, 1, &n), 0);
    CHECK_EQ(buf[0], UDFU_DFU_IDLE);
    /* an IN URB on EP1 */
    uc_submit_hdr(hdr, 900, USBIP_DIR_IN, 1, 64, NULL);
    CHECK_EQ(uc_send(&c, hdr, sizeof(hdr)), 0);
    CHECK_EQ(uc_recv(&c, hdr, sizeof(hdr)), 0);
    CHECK_EQ(usbip_get32(hdr + 4), 900);
    CHECK_EQ((int32_t)usbip_get32(hdr + 0x14), -32);
    /* a URB whose buffer is longer than the setup's wLength */
    uc_setup(setup, 0x80, 6, 0x0100, 0, 8);
    uc_submit_hdr(hdr, 901, USBIP_DIR_IN, 0, 64, setup);
    CHECK_EQ(uc_send(&c, hdr, sizeof(hdr)), 0);
    CHECK_EQ(uc_recv(&c, hdr, sizeof(hdr)), 0);
    CHECK_EQ((int32_t)usbip_get32(hdr + 0x14), -32);
    /* GET_DESCRIPTOR with a short buffer is cut to it */
    CHECK_EQ(ctrl(&c, 0x80, 6, 0x0100, 0, buf, 8, &n), 0);
    CHECK_EQ(n, 8);
    CHECK_EQ(buf[1], 1);
    uc_close(&c);
    vdev_close(&v);
}

TEST(second_importer_gets_busy_while_first_is_attached)
{
    struct uclient a, b;
    uint8_t rec[USBIP_DEV_REC_LEN];

    CHECK_EQ(open_dev(NULL, 0), 0);
    CHECK_EQ(attach(&a), 0x0002);
    client_init(&b);
    CHECK_EQ(uc_connect(&b, "127.0.0.1", usbip_server_port(&v.srv)), 0);
    CHECK_EQ(uc_import(&b, "1-1", rec), (int)USBIP_ST_DEV_BUSY);
    uc_close(&b);
    CHECK_EQ(configure(&a, 0), 0);
    uc_close(&a);
    vdev_close(&v);
}

/* ---- downloads ------------------------------------------------------------------- */

/* DfuSe: erase the first application sector, write img there, read it back. */
static void dfuse_write(struct uclient *c, const uint8_t *img, uint32_t len)
{
    uint8_t st[6], back[TS];
    uint32_t off, n = 0;
    uint16_t block;

    CHECK_EQ(configure(c, 0), 0);
    CHECK_EQ(dfuse_cmd(c, 0x41, APP, st), UDFU_DNLOAD_IDLE);
    CHECK_EQ(dfuse_cmd(c, 0x21, APP, st), UDFU_DNLOAD_IDLE);
    for (off = 0, block = 2; off < len; off += TS, block++) {
        uint16_t chunk = (uint16_t)(len - off < TS ? len - off : TS);

        CHECK_EQ(dnload(c, block, img + off, chunk), 0);
        CHECK_EQ(settle(c, st), UDFU_DNLOAD_IDLE);
        CHECK_EQ(st[0], UDFU_STATUS_OK);
    }
    /* read back as dfu-util does: set address, ABORT to dfuIDLE, UPLOAD */
    CHECK_EQ(dfuse_cmd(c, 0x21, APP, st), UDFU_DNLOAD_IDLE);
    CHECK_EQ(ctrl(c, UDFU_RT_OUT, UDFU_REQ_ABORT, 0, 0, NULL, 0, NULL), 0);
    for (off = 0, block = 2; off < len; off += TS, block++) {
        uint16_t chunk = (uint16_t)(len - off < TS ? len - off : TS);

        CHECK_EQ(ctrl(c, UDFU_RT_IN, UDFU_REQ_UPLOAD, block, 0, back, chunk, &n), 0);
        CHECK_EQ(n, chunk);
        CHECK_MEM(back, img + off, chunk);
    }
    CHECK_EQ(ctrl(c, UDFU_RT_OUT, UDFU_REQ_ABORT, 0, 0, NULL, 0, NULL), 0);
}

TEST(dfuse_download_reads_back_then_leave_boots_runtime_mode)
{
    static uint8_t img[5000];
    struct uclient c;
    uint8_t st[6];

    make_image(img, sizeof(img), 1);
    CHECK_EQ(open_dev(NULL, 0), 0);
    CHECK_EQ(attach(&c), 0x0002);
    dfuse_write(&c, img, sizeof(img));
    CHECK_MEM(udfu_nor_mem(&v.nor, APP), img, sizeof(img));
    /* leave: address pointer, then a zero-length DNLOAD */
    CHECK_EQ(dfuse_cmd(&c, 0x21, APP, st), UDFU_DNLOAD_IDLE);
    CHECK_EQ(dnload(&c, 2, NULL, 0), 0);
    CHECK_EQ(getstatus(&c, st), 0);
    CHECK_EQ(st[4], UDFU_MANIFEST);
    CHECK_EQ(dropped(&c), 1);
    CHECK_EQ(v.mode, VDEV_RUNTIME);
    CHECK(v.image_valid);
    CHECK(strstr(v.image_desc, "5000 bytes") != NULL);
    CHECK_EQ(attach(&c), 0x0001);
    uc_close(&c);
    vdev_close(&v);
}

/* dfu-util's DfuSe upload: SET_ADDRESS, ABORT back to dfuIDLE, then UPLOAD
 * from block 2. The address pointer must survive the ABORT (ST's
 * bootloaders keep it), else the host reads the wrong memory. */
TEST(dfuse_upload_reads_the_address_set_before_abort_as_dfu_util_does)
{
    struct uclient c;
    uint8_t st[6], back[64];
    uint32_t n = 0, i;

    CHECK_EQ(open_dev(NULL, 0), 0);
    for (i = 0; i < 64; i++)
        udfu_nor_mem(&v.nor, 0x08010000u)[i] = (uint8_t)(0xC0 ^ i);
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(configure(&c, 0), 0);
    CHECK_EQ(dfuse_cmd(&c, 0x21, 0x08010000u, st), UDFU_DNLOAD_IDLE);
    CHECK_EQ(ctrl(&c, UDFU_RT_OUT, UDFU_REQ_ABORT, 0, 0, NULL, 0, NULL), 0);
    CHECK_EQ(ctrl(&c, UDFU_RT_IN, UDFU_REQ_UPLOAD, 2, 0, back, 64, &n), 0);
    CHECK_EQ(n, 64);
    CHECK_MEM(back, udfu_nor_mem(&v.nor, 0x08010000u), 64);
    uc_close(&c);
    vdev_close(&v);
}

TEST(bootloader_sector_cannot_be_erased_or_written)
{
    struct uclient c;
    uint8_t st[6], data[16], before[16];

    memset(data, 0, sizeof(data));
    CHECK_EQ(open_dev(NULL, 0), 0);
    memcpy(before, udfu_nor_mem(&v.nor, 0x08000000u), sizeof(before));
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(configure(&c, 0), 0);
    CHECK_EQ(dfuse_cmd(&c, 0x41, 0x08000000u, st), UDFU_DFU_ERROR);
    CHECK_EQ(st[0], UDFU_STATUS_ERR_TARGET);
    CHECK_EQ(ctrl(&c, UDFU_RT_OUT, UDFU_REQ_CLRSTATUS, 0, 0, NULL, 0, NULL), 0);
    CHECK_EQ(dfuse_cmd(&c, 0x21, 0x08000000u, st), UDFU_DNLOAD_IDLE);
    CHECK_EQ(dnload(&c, 2, data, sizeof(data)), 0);
    CHECK_EQ(settle(&c, st), UDFU_DFU_ERROR);
    CHECK_EQ(st[0], UDFU_STATUS_ERR_WRITE);
    CHECK_MEM(udfu_nor_mem(&v.nor, 0x08000000u), before, sizeof(before));
    CHECK_EQ(v.nor.erases + v.nor.progs, 0);
    uc_close(&c);
    vdev_close(&v);
}

TEST(programming_unerased_flash_is_reported_as_an_error)
{
    struct uclient c;
    uint8_t st[6], a[8] = { 0, 0, 0, 0, 0, 0, 0, 0 }, b[8];

    memset(b, 0xF0, sizeof(b));
    CHECK_EQ(open_dev(NULL, 0), 0);
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(configure(&c, 0), 0);
    CHECK_EQ(dfuse_cmd(&c, 0x21, 0x08010000u, st), UDFU_DNLOAD_IDLE);
    CHECK_EQ(dnload(&c, 2, a, sizeof(a)), 0);
    CHECK_EQ(settle(&c, st), UDFU_DNLOAD_IDLE);
    CHECK_EQ(dnload(&c, 2, b, sizeof(b)), 0); /* 0 -> 1 bits: not erased */
    CHECK_EQ(settle(&c, st), UDFU_DFU_ERROR);
    CHECK_EQ(st[0], UDFU_STATUS_ERR_CHECK_ERASED);
    CHECK_MEM(udfu_nor_mem(&v.nor, 0x08010000u), a, sizeof(a));
    uc_close(&c);
    vdev_close(&v);
}

TEST(plain_download_to_app_alt_manifests_and_boots_new_image)
{
    static uint8_t img[3 * TS + 100];
    struct uclient c;
    uint8_t st[6];
    uint32_t off;
    uint16_t block = 0;

    make_image(img, sizeof(img), 9);
    CHECK_EQ(open_dev(NULL, 0), 0);
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(configure(&c, 1), 0);
    for (off = 0; off < sizeof(img); off += TS) {
        uint16_t chunk = (uint16_t)(sizeof(img) - off < TS ? sizeof(img) - off : TS);

        CHECK_EQ(dnload(&c, block++, img + off, chunk), 0);
        CHECK_EQ(settle(&c, st), UDFU_DNLOAD_IDLE);
    }
    CHECK_EQ(dnload(&c, block, NULL, 0), 0);
    CHECK_EQ(settle(&c, st), UDFU_MANIFEST_WAIT_RESET);
    CHECK_EQ(st[0], UDFU_STATUS_OK);
    /* dfu-util asks once more bwPollTimeout + 1 s after dfuMANIFEST */
    {
        uint64_t until = usbip_now_ms() + 1100;

        while (usbip_now_ms() < until)
            vdev_step(&v, 5);
    }
    CHECK_EQ(getstatus(&c, st), 0);
    CHECK_EQ(st[4], UDFU_MANIFEST_WAIT_RESET);
    CHECK_EQ(dropped(&c), 1); /* then the device resets itself */
    CHECK_EQ(v.mode, VDEV_RUNTIME);
    CHECK_MEM(udfu_nor_mem(&v.nor, APP), img, sizeof(img));
    CHECK_EQ(attach(&c), 0x0001);
    uc_close(&c);
    vdev_close(&v);
}

TEST(plain_manifest_of_unbootable_image_reports_errfirmware_and_stays)
{
    uint8_t junk[64];
    struct uclient c;
    uint8_t st[6];

    memset(junk, 0x11, sizeof(junk));
    CHECK_EQ(open_dev(NULL, 0), 0);
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(configure(&c, 1), 0);
    CHECK_EQ(dnload(&c, 0, junk, sizeof(junk)), 0);
    CHECK_EQ(settle(&c, st), UDFU_DNLOAD_IDLE);
    CHECK_EQ(dnload(&c, 1, NULL, 0), 0);
    CHECK_EQ(settle(&c, st), UDFU_DFU_ERROR);
    CHECK_EQ(st[0], UDFU_STATUS_ERR_FIRMWARE);
    CHECK_EQ(v.mode, VDEV_DFU);
    CHECK(usbip_server_attached(&v.srv));
    uc_close(&c);
    vdev_close(&v);
}

TEST(udfu_image_header_is_recognised_and_its_crc_checked)
{
    static uint8_t payload[1000];
    uint8_t hdr[UDFU_BOOT_HDR_LEN];
    struct udfu_boot_hdr h;
    uint32_t i;

    for (i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i ^ 0x5A);
    udfu_boot_hdr_init(&h, payload, sizeof(payload), 7, APP + 512);
    udfu_boot_hdr_write(hdr, &h);
    CHECK_EQ(open_dev(NULL, 0), 0);
    memcpy(udfu_nor_mem(&v.nor, APP), hdr, sizeof(hdr));
    memcpy(udfu_nor_mem(&v.nor, APP + 512), payload, sizeof(payload));
    CHECK_EQ(vdev_check_image(&v), 1);
    CHECK(strstr(v.image_desc, "udfu image v7, 1000 bytes") != NULL);
    udfu_nor_mem(&v.nor, APP + 512)[10] ^= 1;
    CHECK_EQ(vdev_check_image(&v), 0);
    vdev_close(&v);
}

/* ---- run-time mode, DETACH, persistence ------------------------------------------- */

TEST(valid_image_in_flash_file_boots_runtime_and_detach_reenumerates_in_dfu)
{
    static uint8_t img[300];
    struct uclient c;
    uint8_t st[6];

    reset_flash_file();
    make_image(img, sizeof(img), 3);
    CHECK_EQ(open_dev(flash_path, 0), 0);
    memcpy(udfu_nor_mem(&v.nor, APP), img, sizeof(img));
    CHECK_EQ(udfu_nor_sync(&v.nor), 0);
    vdev_close(&v);

    CHECK_EQ(open_dev(flash_path, 0), 0);
    CHECK_EQ(v.mode, VDEV_RUNTIME);
    CHECK_EQ(attach(&c), 0x0001);
    CHECK_EQ(configure(&c, 0), 0);
    CHECK_EQ(getstatus(&c, st), 0);
    CHECK_EQ(st[4], UDFU_APP_IDLE);
    CHECK_EQ(ctrl(&c, UDFU_RT_OUT, UDFU_REQ_DETACH, 1000, 0, NULL, 0, NULL), 0);
    CHECK_EQ(dropped(&c), 1);
    CHECK_EQ(v.mode, VDEV_DFU);
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(configure(&c, 0), 0);
    CHECK_EQ(getstatus(&c, st), 0);
    CHECK_EQ(st[4], UDFU_DFU_IDLE);
    uc_close(&c);
    vdev_close(&v);
    unlink(flash_path);
}

TEST(flash_contents_persist_across_restarts)
{
    static uint8_t img[2 * TS];
    struct uclient c;

    reset_flash_file();
    make_image(img, sizeof(img), 5);
    CHECK_EQ(open_dev(flash_path, 0), 0);
    CHECK_EQ(attach(&c), 0x0002);
    dfuse_write(&c, img, sizeof(img));
    uc_close(&c);
    vdev_close(&v);

    CHECK_EQ(open_dev(flash_path, 0), 0);
    CHECK_MEM(udfu_nor_mem(&v.nor, APP), img, sizeof(img));
    CHECK_EQ(v.mode, VDEV_RUNTIME);
    vdev_close(&v);
    unlink(flash_path);
}

/* ---- timing -------------------------------------------------------------------------- */

TEST(realistic_timing_reports_datasheet_erase_time_and_holds_busy)
{
    struct uclient c;
    uint8_t b[5] = { 0x41, 0x00, 0x40, 0x00, 0x08 }, st[6];
    uint64_t t;

    CHECK_EQ(open_dev(NULL, 100), 0);
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(configure(&c, 0), 0);
    CHECK_EQ(dnload(&c, 0, b, sizeof(b)), 0);
    t = usbip_now_ms();
    CHECK_EQ(getstatus(&c, st), 0);
    CHECK_EQ(st[4], UDFU_DNBUSY);
    CHECK(poll_of(st) >= 240 && poll_of(st) <= 250); /* 16 KiB sector: 250 ms */
    CHECK_EQ(v.nor.erases, 0);                        /* still "erasing" */
    /* a host sleeps exactly bwPollTimeout (the device loop idle meanwhile)
     * and asks again: the device must have caught up with the time, not
     * stall the request as "too early" */
    poll(NULL, 0, (int)poll_of(st));
    CHECK_EQ(getstatus(&c, st), 0);
    CHECK_EQ(st[4], UDFU_DNLOAD_IDLE);
    CHECK_EQ(st[0], UDFU_STATUS_OK);
    CHECK(usbip_now_ms() - t >= 245);
    CHECK_EQ(v.nor.erases, 1);
    uc_close(&c);
    vdev_close(&v);
}

TEST(custom_layout_sets_map_and_rejects_nonsense)
{
    struct vdev_opts o;

    memset(&o, 0, sizeof(o));
    o.timing = 0;
    o.layout = "@Flash /0x00000000/02*004Ka,30*004Kg";
    CHECK_EQ(vdev_open(&v, &o), 0);
    CHECK_EQ(v.map_count, 2);
    CHECK_EQ(v.app_start, 0x2000);
    CHECK_EQ(v.flash_end, 0x20000);
    CHECK(strcmp(v.name, "Flash") == 0);
    vdev_close(&v);
    o.layout = "/0x08000000/04*016Ka";
    CHECK_EQ(vdev_open(&v, &o), -1); /* nothing writable */
    o.layout = "garbage";
    CHECK_EQ(vdev_open(&v, &o), -1);
}

/* Opens the device with only the DfuSe or only the plain alt and returns
 * its configuration descriptor in buf (length in *n). */
static void open_alts(enum vdev_alts alts, uint8_t *buf, uint32_t *n, struct uclient *c)
{
    struct vdev_opts o;

    memset(&o, 0, sizeof(o));
    o.timing = 0;
    o.alts = alts;
    CHECK_EQ(vdev_open(&v, &o), 0);
    CHECK_EQ(attach(c), 0x0002);
    CHECK_EQ(ctrl(c, 0x80, 6, 0x0200, 0, buf, 255, n), 0);
}

TEST(alts_option_offers_one_dfuse_or_one_plain_dfu_alt)
{
    static uint8_t img[TS + 10];
    struct uclient c;
    uint8_t buf[256], st[6];
    uint32_t n = 0;

    open_alts(VDEV_ALTS_DFUSE, buf, &n, &c);
    CHECK_EQ(n, 9 + 9 + UDFU_FUNC_DESC_LEN);
    CHECK_EQ(buf[18 + 7] | (buf[18 + 8] << 8), 0x011A);
    uc_close(&c);
    vdev_close(&v);

    /* plain: DFU 1.1 only, so dfu-util uses the plain protocol */
    open_alts(VDEV_ALTS_PLAIN, buf, &n, &c);
    CHECK_EQ(n, 9 + 9 + UDFU_FUNC_DESC_LEN);
    CHECK_EQ(buf[18 + 7] | (buf[18 + 8] << 8), 0x0110);
    make_image(img, sizeof(img), 4);
    CHECK_EQ(configure(&c, 0), 0);
    CHECK_EQ(dnload(&c, 0, img, TS), 0);
    CHECK_EQ(settle(&c, st), UDFU_DNLOAD_IDLE);
    CHECK_EQ(dnload(&c, 1, img + TS, 10), 0);
    CHECK_EQ(settle(&c, st), UDFU_DNLOAD_IDLE);
    CHECK_EQ(dnload(&c, 2, NULL, 0), 0);
    CHECK_EQ(settle(&c, st), UDFU_MANIFEST_WAIT_RESET);
    CHECK_EQ(dropped(&c), 1);
    CHECK_EQ(v.mode, VDEV_RUNTIME);
    CHECK_MEM(udfu_nor_mem(&v.nor, APP), img, sizeof(img));
    vdev_close(&v);
}

/* ---- random traffic through the whole stack ----------------------------------------- */

static uint32_t rng = 0x1234567u;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static int import_mem(void)
{
    uint8_t req[USBIP_IMPORT_REQ_LEN], rep[512];
    int id = usbip_server_adopt(&v.srv, -1);

    uc_import_req(req, "1-1");
    if (id < 0 || usbip_server_feed(&v.srv, id, req, sizeof(req)) < 0)
        return -1;
    return usbip_server_take(&v.srv, id, rep, sizeof(rep)) == 8 + USBIP_DEV_REC_LEN ? id : -1;
}

/* A sensible DFU request, so that random sequences get deep into the
 * state machine (downloads, erases, leaves), not only into dfuERROR. */
static void dfu_like(uint8_t *type, uint8_t *req, uint16_t *value, uint16_t *len)
{
    switch (rnd() % 8) {
    case 0: *type = 0xA1; *req = UDFU_REQ_GETSTATUS; *value = 0; *len = 6; break;
    case 1: *type = 0x21; *req = UDFU_REQ_CLRSTATUS; *value = 0; *len = 0; break;
    case 2: *type = 0x21; *req = UDFU_REQ_ABORT; *value = 0; *len = 0; break;
    case 3: *type = 0x21; *req = UDFU_REQ_DNLOAD; *value = 0; *len = 5; break;
    case 4: *type = 0x21; *req = UDFU_REQ_DNLOAD; *value = (uint16_t)(rnd() % 6);
            *len = (uint16_t)(1 + rnd() % TS); break;
    case 5: *type = 0x21; *req = UDFU_REQ_DNLOAD; *value = (uint16_t)(rnd() % 4); *len = 0;
            break;
    case 6: *type = 0xA1; *req = UDFU_REQ_UPLOAD; *value = (uint16_t)(rnd() % 5);
            *len = (uint16_t)(1 + rnd() % TS); break;
    default: *type = 0x01; *req = 11; *value = (uint16_t)(rnd() % 3); *len = 0; break;
    }
}

/* A control request a fuzzer would send: half of them sensible DFU
 * requests, the rest anything, with odd lengths, indices and directions. */
static size_t random_urb(uint8_t *msg, uint32_t seq, uint32_t *dir_out)
{
    static const uint8_t types[] = { 0x21, 0xA1, 0x00, 0x80, 0x01, 0x81, 0x41, 0xC0, 0x02,
                                     0x22 };
    uint8_t setup[8], type = types[rnd() % sizeof(types)], req = (uint8_t)(rnd() % 12);
    uint16_t len = (uint16_t)(rnd() % 4 ? rnd() % 8 : rnd() % (TS + 16));
    uint16_t value = (uint16_t)(rnd() % 4 ? rnd() % 4 : rnd()), index = 0;
    uint32_t dir, i;
    size_t n;

    if (rnd() % 2)
        dfu_like(&type, &req, &value, &len);
    /* A DfuSe zero-length DNLOAD leaves DFU mode from dfuIDLE too: keep it
     * rare, or the walk keeps rebooting instead of getting deep. */
    if (type == 0x21 && req == UDFU_REQ_DNLOAD && len == 0 && rnd() % 8)
        len = (uint16_t)(1 + rnd() % 8);
    else if (rnd() % 8 == 0)
        index = (uint16_t)(rnd() % 3);
    dir = (type & 0x80) ? USBIP_DIR_IN : USBIP_DIR_OUT;
    if (rnd() % 32 == 0)
        dir ^= 1;
    uc_setup(setup, type, req, value, index, len);
    n = uc_submit_hdr(msg, seq, dir, 0, len, setup);
    if (dir == USBIP_DIR_OUT) {
        for (i = 0; i < len; i++)
            msg[n + i] = (uint8_t)rnd();
        if (len == 5) { /* a DfuSe command with a plausible address */
            msg[n] = rnd() % 2 ? 0x21 : 0x41;
            udfu_put32(msg + n + 1, 0x08000000u + (rnd() % 0x110000u));
        }
        n += len;
    }
    *dir_out = dir;
    return n;
}

static int submit_cfg(int id)
{
    uint8_t msg[USBIP_HDR_LEN], setup[8];

    uc_setup(setup, 0x00, 9, 1, 0, 0);
    uc_submit_hdr(msg, 0xFFFF, USBIP_DIR_OUT, 0, 0, setup);
    if (usbip_server_feed(&v.srv, id, msg, sizeof(msg)) < 0)
        return -1;
    return usbip_server_take(&v.srv, id, msg, sizeof(msg)) == USBIP_HDR_LEN &&
                   usbip_get32(msg + 0x14) == 0
               ? 0
               : -1;
}

TEST(random_control_traffic_never_breaks_the_device_or_the_bootloader)
{
    static uint8_t msg[USBIP_HDR_LEN + TS + 16], rep[USBIP_HDR_LEN + TS + 16];
    uint8_t boot[64];
    int id = -1, round, answered = 0, sent = 0;
    uint32_t dir;

    CHECK_EQ(open_dev(NULL, 0), 0);
    memcpy(boot, udfu_nor_mem(&v.nor, 0x08000000u), sizeof(boot));
    for (round = 0; round < 20000; round++) {
        size_t n;

        if (usbip_server_phase(&v.srv, id) != USBIP_CONN_URB) {
            usbip_server_eof(&v.srv, id); /* a re-enumerated device: import again */
            id = import_mem();
            if (id < 0)
                break;
            if (rnd() % 2) /* usually configured, as a host would */
                CHECK_EQ(submit_cfg(id), 0);
        }
        n = random_urb(msg, (uint32_t)round, &dir);
        sent++;
        if (usbip_server_feed(&v.srv, id, msg, n) < 0)
            continue;
        /* with instant flash every URB is answered at once, in one piece */
        if (usbip_server_take(&v.srv, id, rep, USBIP_HDR_LEN) == USBIP_HDR_LEN &&
            usbip_get32(rep + 4) == (uint32_t)round) {
            uint32_t extra = dir == USBIP_DIR_IN ? usbip_get32(rep + 0x18) : 0;

            answered += usbip_server_take(&v.srv, id, rep, sizeof(rep)) == extra;
        }
        vdev_step(&v, 0);
    }
    CHECK(id >= 0);
    CHECK_EQ(answered, sent);
    if (!(v.nor.erases > 10 && v.nor.progs > 10))
        fprintf(stderr, "  erases %lu progs %lu\n", (unsigned long)v.nor.erases,
                (unsigned long)v.nor.progs);
    CHECK(v.nor.erases > 10 && v.nor.progs > 10); /* it got deep, not just into dfuERROR */
    CHECK_MEM(udfu_nor_mem(&v.nor, 0x08000000u), boot, sizeof(boot));
    vdev_close(&v);
}

int main(void)
{
    RUN(blank_flash_offers_dfu_mode_under_pid_plus_one);
    RUN(descriptors_show_dfuse_layout_with_readonly_bootloader_and_plain_alt);
    RUN(controller_binding_stalls_bad_requests_and_fails_other_endpoints);
    RUN(second_importer_gets_busy_while_first_is_attached);
    RUN(dfuse_download_reads_back_then_leave_boots_runtime_mode);
    RUN(dfuse_upload_reads_the_address_set_before_abort_as_dfu_util_does);
    RUN(bootloader_sector_cannot_be_erased_or_written);
    RUN(programming_unerased_flash_is_reported_as_an_error);
    RUN(plain_download_to_app_alt_manifests_and_boots_new_image);
    RUN(plain_manifest_of_unbootable_image_reports_errfirmware_and_stays);
    RUN(udfu_image_header_is_recognised_and_its_crc_checked);
    RUN(valid_image_in_flash_file_boots_runtime_and_detach_reenumerates_in_dfu);
    RUN(flash_contents_persist_across_restarts);
    RUN(realistic_timing_reports_datasheet_erase_time_and_holds_busy);
    RUN(custom_layout_sets_map_and_rejects_nonsense);
    RUN(alts_option_offers_one_dfuse_or_one_plain_dfu_alt);
    RUN(random_control_traffic_never_breaks_the_device_or_the_bootloader);
    return test_summary();
}
