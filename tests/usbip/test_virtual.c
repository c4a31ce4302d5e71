/*
 * test_virtual.c - the virtual DFU device end to end over real loopback
 * sockets, in-process: enumeration, run-time/DFU personalities, DETACH and
 * leave re-enumerating under the other PID, DfuSe and plain DFU downloads
 * and uploads, the boot layer (commit on manifestation/leave, what never
 * boots: no header, bad CRC, wrong link address, broken vectors, a
 * download cut short), the read-only bootloader and journal, flash
 * timing, persistence, and the controller binding (stalls, non-EP0 URBs,
 * malformed control URBs).
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

#define SLOT 0x0800C000u            /* the image slot: header here */
#define PAYLOAD (SLOT + VDEV_HDR_SIZE) /* the application is linked here */
#define JOURNAL 0x08004000u         /* two 16 KiB journal sectors */
#define TS 2048u

static struct vdev v;
static char flash_path[64];

static void step_dev(void *arg)
{
    (void)arg;
    vdev_step(&v, 0);
}

static int open_alts(const char *flash, int timing, enum vdev_alts alts)
{
    struct vdev_opts o;

    memset(&o, 0, sizeof(o));
    o.port = 0;
    o.flash = flash;
    o.timing = timing;
    o.transfer_size = TS;
    o.alts = alts;
    return vdev_open(&v, &o);
}

static int open_dev(const char *flash, int timing)
{
    return open_alts(flash, timing, VDEV_ALTS_DFUSE);
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

/* A Cortex-M application linked at PAYLOAD: a sane vector table, then a
 * pattern, with a "udfu-app:" name in the middle when named. */
static void make_app(uint8_t *app, uint32_t len, uint8_t seed, const char *name)
{
    uint32_t i;

    for (i = 0; i < len; i++)
        app[i] = (uint8_t)(i * 7 + seed);
    udfu_put32(app, 0x20020000u);
    udfu_put32(app + 4, PAYLOAD + 0x101u);
    if (name && len > 64 + strlen(VDEV_APP_TAG) + strlen(name))
        snprintf((char *)app + 64, len - 64, "%s%s", VDEV_APP_TAG, name);
}

/* The slot image of an application: udfu header, 0xFF to VDEV_HDR_SIZE,
 * the application. Returns its length. */
static uint32_t make_image(uint8_t *img, uint32_t app_len, uint8_t seed, uint32_t version,
                           const char *name)
{
    struct udfu_boot_hdr h;

    memset(img, 0xFF, VDEV_HDR_SIZE);
    make_app(img + VDEV_HDR_SIZE, app_len, seed, name);
    udfu_boot_hdr_init(&h, img + VDEV_HDR_SIZE, app_len, version, PAYLOAD);
    udfu_boot_hdr_write(img, &h);
    return VDEV_HDR_SIZE + app_len;
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
    CHECK(strstr(v.image_desc, "empty (erased)") != NULL);
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

/* alt's iInterface string, as ASCII. */
static void alt_string(struct uclient *c, uint8_t index, char *s, size_t size)
{
    uint8_t buf[256];
    uint32_t n = 0, i;

    CHECK_EQ(ctrl(c, 0x80, 6, (uint16_t)(0x0300 | index), 0x0409, buf, 255, &n), 0);
    for (i = 0; i + 2 < n && i / 2 < size - 1; i += 2)
        s[i / 2] = (char)buf[2 + i];
    s[i / 2] = 0;
}

TEST(default_dfu_mode_is_one_dfuse_alt_with_bootloader_and_journal_read_only)
{
    struct uclient c;
    uint8_t buf[256];
    char s[128];
    uint32_t n = 0;

    CHECK_EQ(open_dev(NULL, 0), 0);
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(ctrl(&c, 0x80, 6, 0x0100, 0, buf, 18, &n), 0);
    CHECK_EQ(n, 18);
    CHECK_EQ(buf[8] | (buf[9] << 8), 0x1209);
    CHECK_EQ(buf[10] | (buf[11] << 8), 0x0002);
    CHECK_EQ(ctrl(&c, 0x80, 6, 0x0200, 0, buf, 255, &n), 0);
    CHECK_EQ(buf[4], 1);                          /* one interface */
    CHECK_EQ(n, 9 + 9 + UDFU_FUNC_DESC_LEN);      /* one alt setting */
    CHECK_EQ(buf[9 + 7], UDFU_PROTOCOL_DFU);
    CHECK(buf[18 + 2] & UDFU_ATTR_WILL_DETACH);
    CHECK_EQ(buf[18 + 5] | (buf[18 + 6] << 8), TS);
    CHECK_EQ(buf[18 + 7] | (buf[18 + 8] << 8), 0x011A);
    alt_string(&c, buf[9 + 8], s, sizeof(s));
    CHECK(strcmp(s, "@Internal Flash /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg") == 0);
    /* the boot layer: journal in sectors 1-2, the slot from sector 3 on */
    CHECK_EQ(v.boot_cfg.journal[0], JOURNAL);
    CHECK_EQ(v.boot_cfg.journal[1], JOURNAL + 0x4000u);
    CHECK_EQ(v.boot_cfg.journal_size, 0x4000u);
    CHECK_EQ(v.slot.addr, SLOT);
    CHECK_EQ(v.slot.size, 0x08100000u - SLOT);
    uc_close(&c);
    vdev_close(&v);
}

TEST(mixed_alts_add_a_plain_dfu_alt_over_the_slot)
{
    struct uclient c;
    uint8_t buf[256];
    char s[128];
    uint32_t n = 0;

    CHECK_EQ(open_alts(NULL, 0, VDEV_ALTS_MIXED), 0);
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(ctrl(&c, 0x80, 6, 0x0200, 0, buf, 255, &n), 0);
    CHECK_EQ(n, 9 + 9 + 9 + UDFU_FUNC_DESC_LEN);
    CHECK_EQ(buf[18 + 3], 1);                     /* second alt setting */
    alt_string(&c, buf[18 + 8], s, sizeof(s));
    CHECK(strcmp(s, "Application slot") == 0);
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
    /* an IN request (UPLOAD) carried by an empty OUT URB: stalled, and it
     * does not run (the state stays dfuIDLE, not dfuUPLOAD-IDLE) */
    uc_setup(setup, UDFU_RT_IN, UDFU_REQ_UPLOAD, 2, 0, 2048);
    uc_submit_hdr(hdr, 902, USBIP_DIR_OUT, 0, 0, setup);
    CHECK_EQ(uc_send(&c, hdr, sizeof(hdr)), 0);
    CHECK_EQ(uc_recv(&c, hdr, sizeof(hdr)), 0);
    CHECK_EQ((int32_t)usbip_get32(hdr + 0x14), -32);
    CHECK_EQ(ctrl(&c, UDFU_RT_IN, UDFU_REQ_GETSTATE, 0, 0, buf, 1, &n), 0);
    CHECK_EQ(buf[0], UDFU_DFU_IDLE);
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

/* DfuSe, as dfu-util does it: erase the sectors img touches, write it from
 * SLOT on (first `blocks` blocks only if blocks > 0), read it back. */
static void dfuse_write_part(struct uclient *c, const uint8_t *img, uint32_t len, int blocks)
{
    uint8_t st[6], back[TS];
    uint32_t off, n = 0, sector;
    uint16_t block;

    CHECK_EQ(configure(c, 0), 0);
    for (sector = SLOT; sector < SLOT + len; sector += 0x4000u)
        CHECK_EQ(dfuse_cmd(c, 0x41, sector, st), UDFU_DNLOAD_IDLE);
    CHECK_EQ(dfuse_cmd(c, 0x21, SLOT, st), UDFU_DNLOAD_IDLE);
    for (off = 0, block = 2; off < len; off += TS, block++) {
        uint16_t chunk = (uint16_t)(len - off < TS ? len - off : TS);

        if (blocks > 0 && block - 2 >= blocks)
            return;
        CHECK_EQ(dnload(c, block, img + off, chunk), 0);
        CHECK_EQ(settle(c, st), UDFU_DNLOAD_IDLE);
        CHECK_EQ(st[0], UDFU_STATUS_OK);
    }
    /* read back as dfu-util does: set address, ABORT to dfuIDLE, UPLOAD */
    CHECK_EQ(dfuse_cmd(c, 0x21, SLOT, st), UDFU_DNLOAD_IDLE);
    CHECK_EQ(ctrl(c, UDFU_RT_OUT, UDFU_REQ_ABORT, 0, 0, NULL, 0, NULL), 0);
    for (off = 0, block = 2; off < len; off += TS, block++) {
        uint16_t chunk = (uint16_t)(len - off < TS ? len - off : TS);

        CHECK_EQ(ctrl(c, UDFU_RT_IN, UDFU_REQ_UPLOAD, block, 0, back, chunk, &n), 0);
        CHECK_EQ(n, chunk);
        CHECK_MEM(back, img + off, chunk);
    }
    CHECK_EQ(ctrl(c, UDFU_RT_OUT, UDFU_REQ_ABORT, 0, 0, NULL, 0, NULL), 0);
}

static void dfuse_write(struct uclient *c, const uint8_t *img, uint32_t len)
{
    dfuse_write_part(c, img, len, 0);
}

/* DfuSe leave: address pointer, zero-length DNLOAD, dfuMANIFEST, and the
 * device drops off the bus (it resets, whatever the boot decision). */
static void dfuse_leave(struct uclient *c)
{
    uint8_t st[6];

    CHECK_EQ(dfuse_cmd(c, 0x21, PAYLOAD, st), UDFU_DNLOAD_IDLE);
    CHECK_EQ(dnload(c, 2, NULL, 0), 0);
    CHECK_EQ(getstatus(c, st), 0);
    CHECK_EQ(st[4], UDFU_MANIFEST);
    CHECK_EQ(dropped(c), 1);
}

/* The flash bytes at addr into a buffer (for before/after comparisons). */
static void snapshot(uint32_t addr, uint8_t *buf, uint32_t len)
{
    memcpy(buf, udfu_nor_mem(&v.nor, addr), len);
}

TEST(dfuse_download_and_leave_commits_and_boots_the_image_in_runtime_mode)
{
    static uint8_t img[VDEV_HDR_SIZE + 5000];
    struct uclient c;
    uint32_t len = make_image(img, 5000, 1, 3, NULL);
    char want[96];

    CHECK_EQ(open_dev(NULL, 0), 0);
    CHECK_EQ(attach(&c), 0x0002);
    dfuse_write(&c, img, len);
    CHECK_MEM(udfu_nor_mem(&v.nor, SLOT), img, len);
    /* written but not committed: a power cut now would stay in DFU mode */
    CHECK_EQ(udfu_boot_slot_info(&v.boot, 0)->state, UDFU_BOOT_EMPTY);
    dfuse_leave(&c);
    CHECK_EQ(v.mode, VDEV_RUNTIME);
    CHECK(v.image_valid);
    CHECK_EQ(udfu_boot_slot_info(&v.boot, 0)->state, UDFU_BOOT_CONFIRMED);
    CHECK_EQ(v.image.version, 3);
    snprintf(want, sizeof(want), "udfu image v3, 5000 bytes at 0x0800C200, crc32 0x%08X",
             (unsigned)udfu_boot_crc32(0, img + VDEV_HDR_SIZE, 5000));
    CHECK(strstr(v.image_desc, want) != NULL);
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

/* Erase command, then a data block, at addr: both refused, nothing changes. */
static void refused_at(struct uclient *c, uint32_t addr)
{
    uint8_t st[6], data[16];

    memset(data, 0, sizeof(data));
    CHECK_EQ(dfuse_cmd(c, 0x41, addr, st), UDFU_DFU_ERROR);
    CHECK_EQ(st[0], UDFU_STATUS_ERR_TARGET);
    CHECK_EQ(ctrl(c, UDFU_RT_OUT, UDFU_REQ_CLRSTATUS, 0, 0, NULL, 0, NULL), 0);
    CHECK_EQ(dfuse_cmd(c, 0x21, addr, st), UDFU_DNLOAD_IDLE);
    CHECK_EQ(dnload(c, 2, data, sizeof(data)), 0);
    CHECK_EQ(settle(c, st), UDFU_DFU_ERROR);
    CHECK_EQ(st[0], UDFU_STATUS_ERR_WRITE);
    CHECK_EQ(ctrl(c, UDFU_RT_OUT, UDFU_REQ_CLRSTATUS, 0, 0, NULL, 0, NULL), 0);
}

TEST(bootloader_and_journal_sectors_cannot_be_erased_or_written)
{
    static uint8_t img[VDEV_HDR_SIZE + 3000], before[0xC000];
    struct uclient c;
    uint32_t ops, len = make_image(img, 3000, 2, 1, NULL);

    CHECK_EQ(open_dev(NULL, 0), 0);
    memset(udfu_nor_mem(&v.nor, 0x08000000u), 0x5A, 0x4000); /* a "bootloader" */
    CHECK_EQ(attach(&c), 0x0002);
    dfuse_write(&c, img, len);
    dfuse_leave(&c); /* the journal holds records now */
    CHECK_EQ(v.mode, VDEV_RUNTIME);
    snapshot(0x08000000u, before, sizeof(before));
    CHECK(before[0x4000] != 0xFF); /* journal area 0 is in use */
    CHECK_EQ(attach(&c), 0x0001);
    CHECK_EQ(configure(&c, 0), 0);
    CHECK_EQ(ctrl(&c, UDFU_RT_OUT, UDFU_REQ_DETACH, 1000, 0, NULL, 0, NULL), 0);
    CHECK_EQ(dropped(&c), 1);
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(configure(&c, 0), 0);
    ops = v.nor.ops;
    refused_at(&c, 0x08000000u);       /* bootloader */
    refused_at(&c, JOURNAL);           /* journal area 0 */
    refused_at(&c, JOURNAL + 0x4000u); /* journal area 1 */
    refused_at(&c, SLOT - 4u);         /* straddling into the slot */
    CHECK_EQ(v.nor.ops, ops);
    CHECK_MEM(udfu_nor_mem(&v.nor, 0x08000000u), before, sizeof(before));
    /* the boot layer itself is the last line: it refuses them too */
    CHECK_EQ(udfu_boot_erase(&v.boot, JOURNAL, 0x4000u), UDFU_ERR_PERM);
    CHECK_EQ(udfu_boot_prog(&v.boot, 0x08000000u, img, 16), UDFU_ERR_PERM);
    CHECK_EQ(v.nor.ops, ops);
    /* and the committed image still boots */
    uc_close(&c);
    CHECK_EQ(vdev_boot_check(&v), 1);
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

/* Plain DFU 1.1 on alt `alt`: the whole image from the slot's start, then
 * the zero-length DNLOAD. Returns the state the manifestation ends in. */
static int plain_download(struct uclient *c, uint8_t alt, const uint8_t *img, uint32_t len,
                          uint8_t st[6])
{
    uint32_t off;
    uint16_t block = 0;

    CHECK_EQ(configure(c, alt), 0);
    for (off = 0; off < len; off += TS) {
        uint16_t chunk = (uint16_t)(len - off < TS ? len - off : TS);

        CHECK_EQ(dnload(c, block++, img + off, chunk), 0);
        CHECK_EQ(settle(c, st), UDFU_DNLOAD_IDLE);
    }
    CHECK_EQ(dnload(c, block, NULL, 0), 0);
    return settle(c, st);
}

TEST(plain_download_to_the_slot_alt_manifests_commits_and_boots)
{
    static uint8_t img[VDEV_HDR_SIZE + 3 * TS + 100];
    struct uclient c;
    uint8_t st[6];
    uint32_t len = make_image(img, 3 * TS + 100, 9, 4, NULL);

    CHECK_EQ(open_alts(NULL, 0, VDEV_ALTS_MIXED), 0);
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(plain_download(&c, 1, img, len, st), UDFU_MANIFEST_WAIT_RESET);
    CHECK_EQ(st[0], UDFU_STATUS_OK);
    CHECK_EQ(udfu_boot_slot_info(&v.boot, 0)->state, UDFU_BOOT_CONFIRMED);
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
    CHECK_EQ(v.image.version, 4);
    CHECK_MEM(udfu_nor_mem(&v.nor, SLOT), img, len);
    CHECK_EQ(attach(&c), 0x0001);
    uc_close(&c);
    vdev_close(&v);
}

TEST(plain_manifest_of_an_image_without_header_reports_errfirmware_and_stays)
{
    uint8_t junk[64];
    struct uclient c;
    uint8_t st[6];

    memset(junk, 0x11, sizeof(junk));
    CHECK_EQ(open_alts(NULL, 0, VDEV_ALTS_MIXED), 0);
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(plain_download(&c, 1, junk, sizeof(junk), st), UDFU_DFU_ERROR);
    CHECK_EQ(st[0], UDFU_STATUS_ERR_FIRMWARE);
    CHECK_EQ(v.mode, VDEV_DFU);
    CHECK(usbip_server_attached(&v.srv));
    CHECK_EQ(udfu_boot_slot_info(&v.boot, 0)->state, UDFU_BOOT_EMPTY);
    uc_close(&c);
    vdev_close(&v);
}

/* ---- what never boots ----------------------------------------------------------------- */

/* Downloads img with DfuSe, leaves, and expects the device back in DFU
 * mode with `why` in its explanation. */
static void never_boots(const uint8_t *img, uint32_t len, const char *why)
{
    struct uclient c;

    CHECK_EQ(open_dev(NULL, 0), 0);
    CHECK_EQ(attach(&c), 0x0002);
    dfuse_write(&c, img, len);
    dfuse_leave(&c); /* the commit is refused; the device resets anyway */
    CHECK_EQ(v.mode, VDEV_DFU);
    CHECK(!v.image_valid);
    CHECK_EQ(udfu_boot_slot_info(&v.boot, 0)->state, UDFU_BOOT_EMPTY);
    if (!strstr(v.image_desc, why))
        fprintf(stderr, "  image_desc: %s\n", v.image_desc);
    CHECK(strstr(v.image_desc, why) != NULL);
    CHECK_EQ(attach(&c), 0x0002);
    uc_close(&c);
    vdev_close(&v);
}

TEST(image_without_a_udfu_header_never_boots)
{
    static uint8_t app[4000];

    /* a perfectly sane vector table at the slot's start, but no header */
    make_app(app, sizeof(app), 3, NULL);
    udfu_put32(app + 4, SLOT + 0x101u);
    never_boots(app, sizeof(app), "no udfu image header at 0x0800C000");
}

TEST(image_with_a_bad_crc_never_boots)
{
    static uint8_t img[VDEV_HDR_SIZE + 4000];
    uint32_t len = make_image(img, 4000, 4, 2, NULL);

    img[len - 10] ^= 0x40; /* changed after the header was made */
    never_boots(img, len, "the header says");
}

TEST(image_linked_for_another_address_never_boots)
{
    static uint8_t img[VDEV_HDR_SIZE + 4000];
    struct udfu_boot_hdr h;
    uint32_t len = make_image(img, 4000, 5, 2, NULL);

    udfu_boot_hdr_init(&h, img + VDEV_HDR_SIZE, 4000, 2, 0x08004000u);
    udfu_boot_hdr_write(img, &h);
    never_boots(img, len, "linked for 0x08004000");
}

TEST(committed_image_with_a_broken_vector_table_stays_in_dfu_mode)
{
    static uint8_t img[VDEV_HDR_SIZE + 2000];
    struct udfu_boot_hdr h;
    struct uclient c;
    uint32_t len;

    make_image(img, 2000, 6, 5, NULL);
    udfu_put32(img + VDEV_HDR_SIZE, 0x10000000u); /* SP outside SRAM */
    udfu_boot_hdr_init(&h, img + VDEV_HDR_SIZE, 2000, 5, PAYLOAD);
    udfu_boot_hdr_write(img, &h);
    len = VDEV_HDR_SIZE + 2000;
    CHECK_EQ(open_dev(NULL, 0), 0);
    CHECK_EQ(attach(&c), 0x0002);
    dfuse_write(&c, img, len);
    dfuse_leave(&c);
    /* the boot layer committed it (header and CRC are fine), the jump
     * check refuses it */
    CHECK_EQ(udfu_boot_slot_info(&v.boot, 0)->state, UDFU_BOOT_CONFIRMED);
    CHECK_EQ(v.mode, VDEV_DFU);
    CHECK(strstr(v.image_desc, "vector table is not sane") != NULL);
    vdev_close(&v);
}

/* v1 committed and running; detach; v2 download cut off by the client
 * after `blocks` blocks: the old image was invalidated by the first write,
 * the new one is incomplete, so nothing boots: not on a leave, not after a
 * restart. A complete download afterwards boots v2. */
TEST(download_interrupted_by_a_client_disconnect_never_boots)
{
    static uint8_t v1[VDEV_HDR_SIZE + 6000], v2[VDEV_HDR_SIZE + 9000];
    uint32_t n1 = make_image(v1, 6000, 7, 1, NULL), n2 = make_image(v2, 9000, 8, 2, NULL);
    struct uclient c;
    uint8_t st[6];

    reset_flash_file();
    CHECK_EQ(open_dev(flash_path, 0), 0);
    CHECK_EQ(attach(&c), 0x0002);
    dfuse_write(&c, v1, n1);
    dfuse_leave(&c);
    CHECK_EQ(v.image.version, 1);
    CHECK_EQ(attach(&c), 0x0001);
    CHECK_EQ(configure(&c, 0), 0);
    CHECK_EQ(ctrl(&c, UDFU_RT_OUT, UDFU_REQ_DETACH, 1000, 0, NULL, 0, NULL), 0);
    CHECK_EQ(dropped(&c), 1);
    CHECK_EQ(attach(&c), 0x0002);
    dfuse_write_part(&c, v2, n2, 2);
    uc_close(&c); /* the cable is pulled mid-download */
    vdev_step(&v, 0);
    CHECK_EQ(udfu_boot_slot_info(&v.boot, 0)->state, UDFU_BOOT_EMPTY);

    /* plugged in again: the host only asks it to leave */
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(configure(&c, 0), 0);
    CHECK_EQ(getstatus(&c, st), 0);
    CHECK_EQ(st[4], UDFU_DFU_ERROR); /* the cut-short download */
    CHECK_EQ(ctrl(&c, UDFU_RT_OUT, UDFU_REQ_CLRSTATUS, 0, 0, NULL, 0, NULL), 0);
    dfuse_leave(&c);
    CHECK_EQ(v.mode, VDEV_DFU);
    CHECK(strstr(v.image_desc, "incomplete or corrupt") != NULL);

    /* power cycle: still nothing to boot */
    vdev_close(&v);
    CHECK_EQ(open_dev(flash_path, 0), 0);
    CHECK_EQ(v.mode, VDEV_DFU);
    CHECK(!v.image_valid);

    /* the retried download completes and boots */
    CHECK_EQ(attach(&c), 0x0002);
    dfuse_write(&c, v2, n2);
    dfuse_leave(&c);
    CHECK_EQ(v.mode, VDEV_RUNTIME);
    CHECK_EQ(v.image.version, 2);
    vdev_close(&v);
    unlink(flash_path);
}

/* ---- run-time mode, DETACH, persistence ------------------------------------------- */

TEST(runtime_mode_names_the_image_and_detach_reaches_the_bootloader_by_the_flag)
{
    static uint8_t img[VDEV_HDR_SIZE + 3000];
    uint32_t len = make_image(img, 3000, 3, 0x0203, "blinky v2.3");
    struct uclient c;
    uint8_t st[6], buf[64];
    uint32_t n = 0;
    char s[64];

    reset_flash_file();
    CHECK_EQ(open_dev(flash_path, 0), 0);
    CHECK_EQ(attach(&c), 0x0002);
    dfuse_write(&c, img, len);
    dfuse_leave(&c);
    vdev_close(&v);

    /* power on with the committed image: run-time mode */
    CHECK_EQ(open_dev(flash_path, 0), 0);
    CHECK_EQ(v.mode, VDEV_RUNTIME);
    CHECK(strstr(v.image_desc, "udfu image v515 \"blinky v2.3\"") != NULL);
    CHECK_EQ(attach(&c), 0x0001);
    CHECK_EQ(ctrl(&c, 0x80, 6, 0x0100, 0, buf, 18, &n), 0);
    CHECK_EQ(buf[12] | (buf[13] << 8), 0x0203); /* bcdDevice: the image version */
    alt_string(&c, buf[15], s, sizeof(s));       /* iProduct */
    CHECK(strcmp(s, "blinky v2.3") == 0);
    CHECK_EQ(configure(&c, 0), 0);
    CHECK_EQ(getstatus(&c, st), 0);
    CHECK_EQ(st[4], UDFU_APP_IDLE);
    CHECK_EQ(ctrl(&c, UDFU_RT_OUT, UDFU_REQ_DETACH, 1000, 0, NULL, 0, NULL), 0);
    CHECK_EQ(dropped(&c), 1);
    CHECK_EQ(v.mode, VDEV_DFU);
    CHECK(strstr(v.image_desc, "boot-request flag") != NULL);
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(configure(&c, 0), 0);
    CHECK_EQ(getstatus(&c, st), 0);
    CHECK_EQ(st[4], UDFU_DFU_IDLE);
    /* a leave without a download: the committed image boots again */
    dfuse_leave(&c);
    CHECK_EQ(v.mode, VDEV_RUNTIME);
    CHECK_EQ(v.image.version, 0x0203);
    vdev_close(&v);
    unlink(flash_path);
}

TEST(written_but_uncommitted_image_persists_and_does_not_boot_after_restart)
{
    static uint8_t img[VDEV_HDR_SIZE + 2 * TS];
    uint32_t len = make_image(img, 2 * TS, 5, 6, NULL);
    struct uclient c;

    reset_flash_file();
    CHECK_EQ(open_dev(flash_path, 0), 0);
    CHECK_EQ(attach(&c), 0x0002);
    dfuse_write(&c, img, len);
    uc_close(&c);
    vdev_close(&v);

    CHECK_EQ(open_dev(flash_path, 0), 0);
    CHECK_MEM(udfu_nor_mem(&v.nor, SLOT), img, len);
    CHECK_EQ(v.mode, VDEV_DFU);
    CHECK(strstr(v.image_desc, "never committed") != NULL);
    vdev_close(&v);
    unlink(flash_path);
}

/* ---- timing -------------------------------------------------------------------------- */

TEST(realistic_timing_reports_datasheet_erase_time_and_holds_busy)
{
    struct uclient c;
    uint8_t b[5] = { 0x41, 0x00, 0xC0, 0x00, 0x08 }, st[6];
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

TEST(custom_layout_sets_slot_and_journal_and_rejects_nonsense)
{
    struct vdev_opts o;

    memset(&o, 0, sizeof(o));
    o.timing = 0;
    o.layout = "@Flash /0x00000000/02*004Ka,30*004Kg";
    CHECK_EQ(vdev_open(&v, &o), 0);
    CHECK_EQ(v.map_count, 2);
    CHECK_EQ(v.app_start, 0x2000);
    CHECK_EQ(v.flash_end, 0x20000);
    CHECK_EQ(v.boot_cfg.journal[0], 0x0000);
    CHECK_EQ(v.boot_cfg.journal[1], 0x1000);
    CHECK_EQ(v.slot.size, 0x1E000);
    CHECK(strcmp(v.name, "Flash") == 0);
    vdev_close(&v);
    o.layout = "/0x08000000/04*016Ka";                /* nothing writable */
    CHECK_EQ(vdev_open(&v, &o), -1);
    o.layout = "/0x08000000/01*016Ka,03*016Kg";       /* no room for the journal */
    CHECK_EQ(vdev_open(&v, &o), -1);
    o.layout = "/0x08000000/01*016Ka,01*004Ka,03*016Kg"; /* journal sectors differ */
    CHECK_EQ(vdev_open(&v, &o), -1);
    o.layout = "/0x08000000/03*016Ka,01*016Kg/0x08100000/01*016Kg"; /* slot with a gap */
    CHECK_EQ(vdev_open(&v, &o), -1);
    o.layout = "garbage";
    CHECK_EQ(vdev_open(&v, &o), -1);
}

TEST(plain_alts_option_offers_one_plain_dfu_alt_that_commits_and_boots)
{
    static uint8_t img[VDEV_HDR_SIZE + TS + 10];
    uint32_t len = make_image(img, TS + 10, 4, 8, NULL);
    struct uclient c;
    uint8_t buf[256], st[6];
    uint32_t n = 0;

    CHECK_EQ(open_alts(NULL, 0, VDEV_ALTS_PLAIN), 0);
    CHECK_EQ(attach(&c), 0x0002);
    CHECK_EQ(ctrl(&c, 0x80, 6, 0x0200, 0, buf, 255, &n), 0);
    /* plain: DFU 1.1 only, so dfu-util uses the plain protocol */
    CHECK_EQ(n, 9 + 9 + UDFU_FUNC_DESC_LEN);
    CHECK_EQ(buf[18 + 7] | (buf[18 + 8] << 8), 0x0110);
    CHECK_EQ(plain_download(&c, 0, img, len, st), UDFU_MANIFEST_WAIT_RESET);
    CHECK_EQ(dropped(&c), 1);
    CHECK_EQ(v.mode, VDEV_RUNTIME);
    CHECK_EQ(v.image.version, 8);
    CHECK_MEM(udfu_nor_mem(&v.nor, SLOT), img, len);
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
    RUN(default_dfu_mode_is_one_dfuse_alt_with_bootloader_and_journal_read_only);
    RUN(mixed_alts_add_a_plain_dfu_alt_over_the_slot);
    RUN(controller_binding_stalls_bad_requests_and_fails_other_endpoints);
    RUN(second_importer_gets_busy_while_first_is_attached);
    RUN(dfuse_download_and_leave_commits_and_boots_the_image_in_runtime_mode);
    RUN(dfuse_upload_reads_the_address_set_before_abort_as_dfu_util_does);
    RUN(bootloader_and_journal_sectors_cannot_be_erased_or_written);
    RUN(programming_unerased_flash_is_reported_as_an_error);
    RUN(plain_download_to_the_slot_alt_manifests_commits_and_boots);
    RUN(plain_manifest_of_an_image_without_header_reports_errfirmware_and_stays);
    RUN(image_without_a_udfu_header_never_boots);
    RUN(image_with_a_bad_crc_never_boots);
    RUN(image_linked_for_another_address_never_boots);
    RUN(committed_image_with_a_broken_vector_table_stays_in_dfu_mode);
    RUN(download_interrupted_by_a_client_disconnect_never_boots);
    RUN(runtime_mode_names_the_image_and_detach_reaches_the_bootloader_by_the_flag);
    RUN(written_but_uncommitted_image_persists_and_does_not_boot_after_restart);
    RUN(realistic_timing_reports_datasheet_erase_time_and_holds_busy);
    RUN(custom_layout_sets_slot_and_journal_and_rejects_nonsense);
    RUN(plain_alts_option_offers_one_plain_dfu_alt_that_commits_and_boots);
    RUN(random_control_traffic_never_breaks_the_device_or_the_bootloader);
    return test_summary();
}
