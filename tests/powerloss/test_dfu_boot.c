/*
 * The DFU class core wired to the boot layer the way an integrator does
 * it (erase/prog through udfu_boot_erase/prog, manifest() = commit), on
 * the simulated NOR flash, driven like dfu-util drives a device: plain
 * DFU and DfuSe downloads end in a bootable image; a refused image leaves
 * the device in DFU mode; the bootloader cannot be erased; and a power cut
 * at any flash operation of a download through the class core leaves a
 * device that boots the old or new image or stays in DFU mode, and takes
 * the retried download.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "bootdev.h"
#include "udfu_dfu.h"
#include "udfu_util.h"

#define XFER DEV_CHUNK

static const struct udfu_region dfuse_map[] = {
    {DEV_BOOT, DEV_SECTOR, DEV_BOOT_SIZE / DEV_SECTOR, UDFU_MEM_READ, 10, 50},
    {DEV_SLOT0, DEV_SECTOR, DEV_SLOT_SIZE / DEV_SECTOR, UDFU_MEM_ALL, 10, 50},
};
static const struct udfu_region plain_map[] = {
    {DEV_SLOT0, DEV_SECTOR, DEV_SLOT_SIZE / DEV_SECTOR, UDFU_MEM_ALL, 10, 50},
};
static const struct udfu_target targets[] = {
    {"Internal Flash", dfuse_map, 2, 1},
    {"Application", plain_map, 1, 0},
};

static struct dev d;
static struct udfu_dfu dfu;
static struct udfu_dfu_cfg dcfg;
static uint8_t xbuf[XFER], in[16], img[DEV_IMG_MAX];
static uint32_t now;
static int leaves, manifests;

static int cb_read(void *ctx, uint8_t alt, uint32_t addr, uint8_t *buf, uint32_t len)
{
    (void)alt;
    return udfu_nor_read(&((struct dev *)ctx)->nor, addr, buf, len);
}
static int cb_erase(void *ctx, uint8_t alt, uint32_t addr, uint32_t size)
{
    (void)alt;
    return udfu_boot_erase(&((struct dev *)ctx)->boot, addr, size);
}
static int cb_prog(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    (void)alt;
    return udfu_boot_prog(&((struct dev *)ctx)->boot, addr, buf, len);
}
static int cb_manifest(void *ctx, uint8_t alt)
{
    (void)alt;
    manifests++;
    return udfu_boot_commit(&((struct dev *)ctx)->boot);
}
static void cb_leave(void *ctx, uint32_t addr)
{
    (void)ctx;
    (void)addr;
    leaves++; /* the device resets: the caller reboots it */
}

/* The bootloader came up in DFU mode. */
static void dfu_mode(void)
{
    udfu_boot_init(&d.boot, &d.cfg);
    memset(&dcfg, 0, sizeof(dcfg));
    dcfg.context = &d;
    dcfg.targets = targets;
    dcfg.target_count = UDFU_CFG_PLAIN ? 2 : 1; /* alt 1 is plain DFU */
    dcfg.attributes = UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_MANIFEST_TOLERANT;
    dcfg.transfer_size = XFER;
    dcfg.buffer = xbuf;
    dcfg.manifest_ms = 50;
    dcfg.reset_timeout_ms = 500;
    dcfg.read = cb_read;
    dcfg.erase = cb_erase;
    dcfg.prog = cb_prog;
    dcfg.manifest = cb_manifest;
    dcfg.leave = cb_leave;
    if (udfu_dfu_init(&dfu, &dcfg)) {
        /* Running on would drive an uninitialised instance. */
        fprintf(stderr, "dfu_mode: udfu_dfu_init refused the config\n");
        abort();
    }
    leaves = manifests = 0;
    now += 1000;
    udfu_dfu_task(&dfu, now);
}

static int req(uint8_t rt, uint8_t r, uint16_t value, uint16_t len, const void *out)
{
    struct udfu_setup s = {rt, r, value, 0, len};
    uint8_t *data = NULL;
    int n = udfu_dfu_setup(&dfu, &s, &data);
    if (n < 0)
        return n;
    if (rt & 0x80) {
        memcpy(in, data, (size_t)n);
    } else if (n > 0) {
        memcpy(data, out, (size_t)n);
        if (udfu_dfu_data(&dfu, (uint16_t)n) < 0)
            return UDFU_ERR_STALL;
    }
    udfu_dfu_status_done(&dfu);
    return n;
}

/* GETSTATUS until the device is idle again, as dfu-util does. Returns the
 * state, or -1 once power is gone. */
static int wait_idle(void)
{
    for (int guard = 0; guard < 1000; guard++) {
        if (d.nor.off)
            return -1;
        if (req(UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, 6, NULL) != 6)
            return -2;
        int st = in[4];
        if (st == UDFU_DNLOAD_IDLE || st == UDFU_DFU_ERROR || st == UDFU_DFU_IDLE)
            return st;
        now += (uint32_t)(in[1] | in[2] << 8 | in[3] << 16) + 1;
        udfu_dfu_task(&dfu, now);
        if (leaves)
            return st;
    }
    return -3;
}

static int dnload(uint16_t block, const uint8_t *p, uint16_t len)
{
    if (req(UDFU_RT_OUT, UDFU_REQ_DNLOAD, block, len, p) < 0)
        return -2;
    return wait_idle();
}

static int dfuse_cmd(uint8_t cmd, uint32_t addr)
{
    uint8_t c[5] = {cmd};
    udfu_put32(c + 1, addr);
    return dnload(0, c, 5);
}

/* dfu-util -a 1 -D image: plain DFU into the slot. */
static int plain_download(uint32_t version)
{
    uint32_t n = dev_image(img, version, DEV_SLOT0);
    if (udfu_dfu_set_alt(&dfu, 1) != 0) /* SET_INTERFACE */
        return -2;
    for (uint32_t off = 0; off < n; off += XFER) {
        int st = dnload((uint16_t)(off / XFER), img + off, (uint16_t)udfu_min32(XFER, n - off));
        if (st != UDFU_DNLOAD_IDLE)
            return st;
    }
    req(UDFU_RT_OUT, UDFU_REQ_DNLOAD, 0, 0, NULL);
    return wait_idle();
}

/* dfu-util -a 0 -s 0x08002000:leave -D image: DfuSe, pages erased by the
 * host first, then written, then leave. */
static int dfuse_download(uint32_t version, uint32_t target)
{
    uint32_t n = dev_image(img, version, DEV_SLOT0);
    int st = 0;
    udfu_dfu_set_alt(&dfu, 0);
    for (uint32_t off = 0; off < n; off += DEV_SECTOR) {
        if ((st = dfuse_cmd(UDFU_DFUSE_CMD_ERASE, target + off)) != UDFU_DNLOAD_IDLE)
            return st;
    }
    if ((st = dfuse_cmd(UDFU_DFUSE_CMD_SET_ADDRESS, target)) != UDFU_DNLOAD_IDLE)
        return st;
    for (uint32_t off = 0; off < n; off += XFER) {
        st = dnload((uint16_t)(2 + off / XFER), img + off, (uint16_t)udfu_min32(XFER, n - off));
        if (st != UDFU_DNLOAD_IDLE)
            return st;
    }
    if ((st = dfuse_cmd(UDFU_DFUSE_CMD_SET_ADDRESS, DEV_SLOT0 + DEV_HDR)) != UDFU_DNLOAD_IDLE)
        return st;
    req(UDFU_RT_OUT, UDFU_REQ_DNLOAD, 2, 0, NULL);
    st = wait_idle();
    for (int i = 0; i < 100 && !leaves && !d.nor.off; i++) {
        now += 100;
        udfu_dfu_task(&dfu, now);
    }
    return st;
}

/* The old image (version 1) the device runs before the tests' download:
 * put there by plain DFU where it is compiled in, else by DfuSe. */
static void install_old(void)
{
    if (UDFU_CFG_PLAIN)
        plain_download(1);
    else
        dfuse_download(1, DEV_SLOT0);
}

TEST(plain_download_through_the_class_core_commits_and_boots)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    dfu_mode();
    CHECK_EQ(plain_download(1), UDFU_DFU_IDLE); /* manifestation tolerant: back to idle */
    CHECK_EQ(manifests, 1);
    CHECK_EQ(udfu_boot_slot_info(&d.boot, 0)->state, UDFU_BOOT_CONFIRMED);
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_OLD);
    dev_close(&d);
}

TEST(dfuse_download_and_leave_commits_and_boots)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    dfu_mode();
    dfuse_download(2, DEV_SLOT0);
    CHECK_EQ(manifests, 1);
    CHECK_EQ(leaves, 1);
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_NEW);
    CHECK(dev_bootloader_intact(&d));
    dev_close(&d);
}

TEST(refused_image_reports_an_error_and_stays_in_dfu)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    dfu_mode();
    plain_download(1);
    dfu_mode();
    /* version 2, one payload byte damaged after the header was made */
    uint32_t n = dev_image(img, 2, DEV_SLOT0);
    img[n - 3] ^= 0x40;
    udfu_dfu_set_alt(&dfu, 1);
    for (uint32_t off = 0; off < n; off += XFER)
        dnload((uint16_t)(off / XFER), img + off, (uint16_t)udfu_min32(XFER, n - off));
    req(UDFU_RT_OUT, UDFU_REQ_DNLOAD, 0, 0, NULL);
    CHECK_EQ(wait_idle(), UDFU_DFU_ERROR);
    CHECK_EQ(in[0], UDFU_STATUS_ERR_FIRMWARE);
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE);
    dev_close(&d);
}

TEST(dfuse_erase_of_the_bootloader_is_refused)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    dfu_mode();
    install_old();
    dfu_mode();
    udfu_dfu_set_alt(&dfu, 0);
    CHECK_EQ(dfuse_cmd(UDFU_DFUSE_CMD_ERASE, DEV_BOOT), UDFU_DFU_ERROR);
    CHECK(dev_bootloader_intact(&d));
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_OLD); /* nothing was touched */
    dev_close(&d);
}

/* Power cut at every flash operation of a download through the class
 * core (both protocols), then reboot and retry. */
TEST(download_through_the_class_core_survives_power_loss_everywhere)
{
    unsigned all_points = 0, all_bricks = 0;
    /* plain DFU only where it is compiled in (udfu_opt.h) */
    for (int dfuse = !UDFU_CFG_PLAIN; dfuse < 2; dfuse++) {
        unsigned points = 0, bricks = 0;
        dev_open(&d, LAYOUT_SINGLE, 128);
        dfu_mode();
        install_old();
        dfu_mode();
        uint8_t *saved = malloc(d.nor.size);
        memcpy(saved, d.nor.mem, d.nor.size);
        uint32_t ops0 = d.nor.ops;
        if (dfuse)
            dfuse_download(2, DEV_SLOT0);
        else
            plain_download(2);
        uint32_t n = d.nor.ops - ops0;
        CHECK(n > 10);
        CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_NEW);
        for (uint32_t i = 1; i <= n; i++) {
            memcpy(d.nor.mem, saved, d.nor.size);
            udfu_nor_power_on(&d.nor);
            dfu_mode();
            d.nor.cut_at = i;
            d.nor.seed = i * 2654435761u + 7u;
            if (dfuse)
                dfuse_download(2, DEV_SLOT0);
            else
                plain_download(2);
            if (!d.nor.off) {
                bricks++;
                continue;
            }
            points++;
            udfu_nor_power_on(&d.nor);
            int slot = dev_reboot(&d);
            enum boot_kind k = dev_classify(&d, slot);
            if (!dev_bootloader_intact(&d) || (k != BOOT_OLD && k != BOOT_NEW && k != BOOT_DFU))
                bricks++;
            if (k != BOOT_NEW) {
                dfu_mode(); /* the user runs dfu-util again */
                if (dfuse)
                    dfuse_download(2, DEV_SLOT0);
                else
                    plain_download(2);
                if (dev_classify(&d, dev_reboot(&d)) != BOOT_NEW)
                    bricks++;
            }
        }
        printf("powerloss dfu-core single %-5s: %u interruption points, %u bricks\n",
               dfuse ? "dfuse" : "plain", points, bricks);
        free(saved);
        dev_close(&d);
        CHECK(points > 25); /* per protocol: some of them may be compiled out */
        all_points += points;
        all_bricks += bricks;
    }
    CHECK(all_points > 25);
    CHECK_EQ(all_bricks, 0);
}

int main(void)
{
    RUN_IF(UDFU_CFG_PLAIN, plain_download_through_the_class_core_commits_and_boots);
    RUN(dfuse_download_and_leave_commits_and_boots);
    RUN_IF(UDFU_CFG_PLAIN, refused_image_reports_an_error_and_stays_in_dfu);
    RUN(dfuse_erase_of_the_bootloader_is_refused);
    RUN(download_through_the_class_core_survives_power_loss_everywhere);
    return test_summary();
}
