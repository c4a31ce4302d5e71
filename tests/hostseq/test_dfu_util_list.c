/*
 * test_dfu_util_list.c - `dfu-util -l` against a DFU-mode device built from
 * the class core and the USB device core (usbd).
 *
 * What goes over the wire: the Linux kernel enumerates the device (device
 * descriptor with wLength 64, bus reset, SET_ADDRESS, device descriptor,
 * configuration 9 bytes then wTotalLength, BOS if bcdUSB >= 2.01, the
 * language list and the device strings, SET_CONFIGURATION 1); dfu-util
 * then reads the cached descriptors (no traffic) and, for every DFU alt
 * setting, the language list and the alt's iInterface string, the language
 * list and the serial number string, all with wLength 255. No class
 * request is sent: listing must not touch the DFU state machine or the
 * flash. The test decodes what dfu-util would print.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_model.h"
#include "test.h"
#include "udfu_usbd.h"

static const uint8_t ATTR = UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD;

static const struct udfu_region flash_regions[] = {
    {0x08000000u, 16384u, 4u, UDFU_MEM_READ, 200u, 2000u},
    {0x08010000u, 65536u, 1u, UDFU_MEM_ALL, 600u, 2000u},
    {0x08020000u, 131072u, 7u, UDFU_MEM_ALL, 1000u, 2000u},
};
static const struct udfu_region option_regions[] = {
    {0x1FFFC000u, 16u, 1u, UDFU_MEM_READ | UDFU_MEM_WRITE, 0u, 1000u},
};
static const struct udfu_target targets[] = {
    {"Internal Flash", flash_regions, 3, 1},
    {"Option Bytes", option_regions, 1, 1},
};

/* ---- a controller driver that records usbd's answers ------------------- */

struct rec {
    int kind; /* 1 IN, 2 OUT, 3 ACK, 4 STALL */
    uint8_t data[512];
    uint16_t len;
};

static struct rec rec;

static void d_in(void *ctx, const uint8_t *data, uint16_t len, int zlp)
{
    (void)ctx;
    (void)zlp;
    rec.kind = 1;
    rec.len = len;
    memcpy(rec.data, data, len < sizeof rec.data ? len : sizeof rec.data);
}

static void d_out(void *ctx, uint8_t *buf, uint16_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    rec.kind = 2;
}

static void d_ack(void *ctx)
{
    (void)ctx;
    rec.kind = 3;
}

static void d_stall(void *ctx)
{
    (void)ctx;
    rec.kind = 4;
}

static const struct udfu_dcd dcd = {d_in, d_out, d_ack, d_stall, NULL};

static struct cf_dev dev;
static struct udfu_usbd usbd;
static struct udfu_usbd_cfg ucfg;

/* A control transfer with no OUT data; IN data lands in rec. */
static int ctl(uint8_t bm, uint8_t req, uint16_t value, uint16_t index, uint16_t length)
{
    uint8_t raw[8] = {bm, req, (uint8_t)value, (uint8_t)(value >> 8), (uint8_t)index,
                      (uint8_t)(index >> 8), (uint8_t)length, (uint8_t)(length >> 8)};
    memset(&rec, 0, sizeof rec);
    udfu_usbd_setup(&usbd, raw);
    if (rec.kind == 1 || rec.kind == 3)
        udfu_usbd_status_done(&usbd);
    udfu_usbd_task(&usbd, dev.now);
    return rec.kind;
}

static int get_descriptor(uint8_t type, uint8_t index, uint16_t lang, uint16_t length)
{
    return ctl(0x80, 6, (uint16_t)(type << 8 | index), lang, length);
}

/* dfu-util's string reading: language list, then the string in the first
 * language; UTF-16 to ASCII with '?' for any non-Latin-1 unit. */
static int read_string(uint8_t index, char *out, size_t size)
{
    uint16_t lang;
    size_t di = 0;
    int si, n;
    if (get_descriptor(3, 0, 0, 255) != 1 || rec.len < 4 || rec.data[1] != 3)
        return -1;
    lang = (uint16_t)(rec.data[2] | rec.data[3] << 8);
    if (get_descriptor(3, index, lang, 255) != 1 || rec.len < 2 || rec.data[1] != 3)
        return -1;
    n = rec.data[0] > rec.len ? rec.len : rec.data[0];
    for (si = 2; si + 1 < n && di + 1 < size; si += 2)
        out[di++] = rec.data[si + 1] ? '?' : (char)rec.data[si];
    out[di] = '\0';
    return (int)di;
}

struct alt_info {
    uint8_t number, cls, sub, proto, iface;
};

TEST(dfu_util_list_shows_every_alt_with_its_layout_and_serial)
{
    static uint8_t config[512];
    struct alt_info alts[8];
    int nalt = 0, i, found_func = 0;
    uint16_t total, bcd_dfu = 0, xfer = 0, bcd_usb;
    uint8_t func_attr = 0, iserial;
    char line[512], name[256], serial[64];

    cf_init(&dev, targets, 2, ATTR, 2048);
    memset(&ucfg, 0, sizeof ucfg);
    ucfg.context = NULL;
    ucfg.dcd = &dcd;
    ucfg.vid = 0x1209;
    ucfg.pid = 0xDF11;
    ucfg.bcd_device = 0x0100;
    ucfg.manufacturer = "udfu";
    ucfg.product = "udfu bootloader";
    ucfg.serial = "0042";
    ucfg.ep0_size = 64;
    ucfg.dfu = &dev.dfu;
    ucfg.ms_vendor_code = 0x21;
    ucfg.ms_guid = "{E1F4F0A0-6B4B-4F4D-9D0C-6F3B3B1E2A77}";
    CHECK_EQ(udfu_usbd_init(&usbd, &ucfg), 0);

    /* the kernel enumerates */
    CHECK_EQ(get_descriptor(1, 0, 0, 64), 1);
    CHECK_EQ(rec.len, 18);
    udfu_usbd_bus_reset(&usbd);
    CHECK_EQ(ctl(0x00, 5, 7, 0, 0), 3);
    CHECK_EQ(get_descriptor(1, 0, 0, 18), 1);
    CHECK_EQ(rec.len, 18);
    CHECK_EQ(rec.data[0], 18);
    CHECK_EQ(rec.data[1], 1);
    CHECK_EQ(rec.data[8] | rec.data[9] << 8, 0x1209);
    CHECK_EQ(rec.data[10] | rec.data[11] << 8, 0xDF11);
    CHECK_EQ(rec.data[17], 1);
    bcd_usb = (uint16_t)(rec.data[2] | rec.data[3] << 8);
    iserial = rec.data[16];
    CHECK(iserial != 0);
    CHECK_EQ(get_descriptor(2, 0, 0, 9), 1);
    CHECK_EQ(rec.len, 9);
    total = (uint16_t)(rec.data[2] | rec.data[3] << 8);
    CHECK(total > 9 && total <= sizeof config);
    CHECK_EQ(get_descriptor(2, 0, 0, total), 1);
    CHECK_EQ(rec.len, total);
    memcpy(config, rec.data, rec.len);
    if (bcd_usb >= 0x0201) {
        CHECK_EQ(get_descriptor(15, 0, 0, 5), 1);
        CHECK_EQ(rec.len, 5);
        CHECK_EQ(get_descriptor(15, 0, 0, (uint16_t)(rec.data[2] | rec.data[3] << 8)), 1);
    }
    CHECK(read_string(2, name, sizeof name) > 0);
    CHECK(read_string(1, name, sizeof name) > 0);
    CHECK(read_string(iserial, serial, sizeof serial) > 0);
    CHECK_EQ(ctl(0x00, 9, 1, 0, 0), 3);

    /* libusb's view of the configuration: interface descriptors, and what
     * follows each ("extra"), where dfu-util looks for the functional
     * descriptor */
    for (i = 9; i + 1 < total && config[i] >= 2; i += config[i]) {
        if (config[i + 1] == 4 && nalt < 8) {
            alts[nalt].number = config[i + 3];
            alts[nalt].cls = config[i + 5];
            alts[nalt].sub = config[i + 6];
            alts[nalt].proto = config[i + 7];
            alts[nalt].iface = config[i + 8];
            CHECK_EQ(config[i + 2], 0); /* bInterfaceNumber */
            nalt++;
        } else if (config[i + 1] == 0x21 && nalt) {
            CHECK_EQ(config[i], 9);
            func_attr = config[i + 2];
            xfer = (uint16_t)(config[i + 5] | config[i + 6] << 8);
            bcd_dfu = (uint16_t)(config[i + 7] | config[i + 8] << 8);
            found_func++;
        }
    }
    CHECK_EQ(i, total);
    CHECK_EQ(nalt, 2);
    CHECK_EQ(found_func, 1);
    CHECK_EQ(bcd_dfu, 0x011A);
    CHECK_EQ(xfer, 2048);
    CHECK_EQ(func_attr, ATTR);

    /* dfu-util -l: per alt, the alt name and the serial */
    for (i = 0; i < nalt; i++) {
        char want[300];
        struct hm_seg segs[16];
        int n;
        CHECK_EQ(alts[i].number, i);
        CHECK_EQ(alts[i].cls, 0xFE);
        CHECK_EQ(alts[i].sub, 0x01);
        CHECK_EQ(alts[i].proto, 0x02);
        CHECK(alts[i].iface != 0);
        CHECK(read_string(alts[i].iface, name, sizeof name) > 0);
        CHECK(read_string(iserial, serial, sizeof serial) > 0);
        snprintf(line, sizeof line,
                 "Found DFU: [%04x:%04x] ver=%04x, devnum=%u, cfg=%u, intf=%u, "
                 "path=\"1-1\", alt=%u, name=\"%s\", serial=\"%s\"",
                 0x1209, 0xDF11, 0x0100, 7, 1, 0, alts[i].number, name, serial);
        if (getenv("TEST_VERBOSE"))
            printf("%s\n", line);
        CHECK(udfu_mem_layout(&targets[i], want, sizeof want) > 0);
        CHECK(strcmp(name, want) == 0);
        CHECK(strcmp(serial, "0042") == 0);
        n = hm_parse_layout(name, segs, 16);
        CHECK_EQ(n, targets[i].region_count);
        if (n == targets[i].region_count) {
            int k;
            for (k = 0; k < n; k++) {
                const struct udfu_region *r = &targets[i].regions[k];
                CHECK_EQ(segs[k].start, r->start);
                CHECK_EQ(segs[k].end, r->start + r->sector_size * r->sector_count - 1u);
                CHECK_EQ(segs[k].page, r->sector_size);
                CHECK_EQ(segs[k].type, r->attr);
            }
        }
    }

    /* the class core saw nothing */
    CHECK_EQ(udfu_dfu_state(&dev.dfu), UDFU_DFU_IDLE);
    CHECK_EQ(udfu_dfu_status(&dev.dfu), UDFU_STATUS_OK);
    CHECK_EQ(dev.nlog, 0);
    CHECK_EQ(dev.leaves, 0);
}

int main(void)
{
    RUN(dfu_util_list_shows_every_alt_with_its_layout_and_serial);
    return test_summary();
}
