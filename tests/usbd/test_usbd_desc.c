/*
 * test_usbd_desc.c - usbd's descriptors, parsed back field by field.
 */
#include <string.h>

#include "fake_dcd.h"
#include "test.h"
#include "udfu_util.h"

static struct fixture fx;
static uint8_t buf[512];

/* Tests of one mode run in the builds that have it (udfu_opt.h). */
#define RUN_DFU(name) RUN_IF(UDFU_CFG_USBD_DFU, name)
#define RUN_RT(name) RUN_IF(UDFU_CFG_USBD_RT, name)

static const uint8_t msos_uuid[16] = {0xDF, 0x60, 0xDD, 0xD8, 0x89, 0x45, 0xC7, 0x4C,
                                      0x9C, 0xD2, 0x65, 0x9D, 0x9E, 0x64, 0x8A, 0x9F};
static const char guid[] = "{3D4B2B0E-6E5A-4C5D-9C8B-0A1B2C3D4E5F}";

/* Checks that s is the UTF-16LE string descriptor of ascii. */
static void check_string(const uint8_t *d, int n, const char *ascii)
{
    size_t i, len = strlen(ascii);
    CHECK_EQ(n, 2 + 2 * (int)len);
    CHECK_EQ(d[0], n);
    CHECK_EQ(d[1], 3);
    for (i = 0; i < len; i++) {
        CHECK_EQ(d[2 + 2 * i], (uint8_t)ascii[i]);
        CHECK_EQ(d[3 + 2 * i], 0);
    }
}

TEST(device_descriptor_fields_come_from_the_config)
{
    int n;
    fx_dfu(&fx, fx_plain_targets, 2);
    n = udfu_usbd_device_desc(&fx.ucfg, buf, sizeof buf);
    CHECK_EQ(n, 18);
    CHECK_EQ(buf[0], 18);
    CHECK_EQ(buf[1], 1);
    CHECK_EQ(udfu_get16(buf + 2), 0x0200);
    CHECK_EQ(buf[4], 0); /* class, subclass, protocol: per interface */
    CHECK_EQ(buf[5], 0);
    CHECK_EQ(buf[6], 0);
    CHECK_EQ(buf[7], 64);
    CHECK_EQ(udfu_get16(buf + 8), 0x1209);
    CHECK_EQ(udfu_get16(buf + 10), 0x0001);
    CHECK_EQ(udfu_get16(buf + 12), 0x0123);
    CHECK_EQ(buf[14], UDFU_USBD_STR_MANUFACTURER);
    CHECK_EQ(buf[15], UDFU_USBD_STR_PRODUCT);
    CHECK_EQ(buf[16], UDFU_USBD_STR_SERIAL);
    CHECK_EQ(buf[17], 1);
}

TEST(device_descriptor_follows_options)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    fx.ucfg.ep0_size = 16;
    fx.ucfg.manufacturer = NULL;
    fx.ucfg.serial = NULL;
    CHECK_EQ(udfu_usbd_device_desc(&fx.ucfg, buf, sizeof buf), 18);
    CHECK_EQ(buf[7], 16);
    CHECK_EQ(buf[14], 0);
    CHECK_EQ(buf[15], UDFU_USBD_STR_PRODUCT);
    CHECK_EQ(buf[16], 0);
}

TEST(device_descriptor_says_usb_2_01_with_an_ms_vendor_code)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    fx.ucfg.ms_vendor_code = 0x20;
    CHECK_EQ(udfu_usbd_device_desc(&fx.ucfg, buf, sizeof buf), 18);
    CHECK_EQ(udfu_get16(buf + 2), 0x0201); /* BOS only exists from 2.01 on */
}

TEST(builders_refuse_a_small_buffer)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(udfu_usbd_device_desc(&fx.ucfg, buf, 17), UDFU_ERR_NOSPACE);
    CHECK_EQ(udfu_usbd_config_desc(&fx.ucfg, buf, 9 + 2 * 9 + 8), UDFU_ERR_NOSPACE);
    CHECK_EQ(udfu_usbd_config_desc(&fx.ucfg, buf, 9 + 2 * 9 + 9), 9 + 2 * 9 + 9);
    CHECK_EQ(udfu_usbd_func_desc(&fx.ucfg, buf, 8), UDFU_ERR_NOSPACE);
    CHECK_EQ(udfu_usbd_string_desc(&fx.ucfg, 0, buf, 3), UDFU_ERR_NOSPACE);
}

TEST(msos20_builders_refuse_a_small_buffer)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    fx.ucfg.ms_vendor_code = 0x20;
    fx.ucfg.ms_guid = guid;
    CHECK_EQ(udfu_usbd_bos_desc(&fx.ucfg, buf, 32), UDFU_ERR_NOSPACE);
    CHECK_EQ(udfu_usbd_bos_desc(&fx.ucfg, buf, 33), 33);
    CHECK_EQ(udfu_usbd_msos2_desc(&fx.ucfg, buf, 161), UDFU_ERR_NOSPACE);
    CHECK_EQ(udfu_usbd_msos2_desc(&fx.ucfg, buf, 162), 162);
}

/* Compiled out, MS OS 2.0 is off whatever the config says, so one config
 * serves both builds. */
TEST(without_msos20_the_ms_vendor_code_is_ignored)
{
    int i;
    fx_dfu(&fx, fx_plain_targets, 2);
    fx.ucfg.ms_vendor_code = 0x42;
    fx.ucfg.ms_guid = guid;
    CHECK_EQ(udfu_usbd_device_desc(&fx.ucfg, buf, sizeof buf), 18);
    CHECK_EQ(udfu_get16(buf + 2), 0x0200);
    memset(buf, 0xA5, sizeof buf);
    CHECK_EQ(udfu_usbd_bos_desc(&fx.ucfg, buf, sizeof buf), UDFU_ERR_UNSUPPORTED);
    CHECK_EQ(udfu_usbd_msos2_desc(&fx.ucfg, buf, sizeof buf), UDFU_ERR_UNSUPPORTED);
    for (i = 0; i < (int)sizeof buf; i++) /* and nothing was written */
        CHECK_EQ(buf[i], 0xA5);
}

/* Walks a configuration descriptor: every descriptor's bLength/type, the
 * interface alt settings in order, the functional descriptor once, last. */
static void check_config(const uint8_t *d, int n, uint8_t alts, uint8_t protocol,
                         const uint8_t *istr)
{
    int off = 0, ifaces = 0, funcs = 0, func_at = -1;
    CHECK_EQ(n, 9 + 9 * alts + 9);
    CHECK_EQ(d[0], 9);
    CHECK_EQ(d[1], 2);
    CHECK_EQ(udfu_get16(d + 2), n);
    CHECK_EQ(d[4], 1); /* bNumInterfaces */
    CHECK_EQ(d[5], 1); /* bConfigurationValue */
    CHECK_EQ(d[6], 0);
    while (off < n) {
        const uint8_t *p = d + off;
        CHECK(p[0] >= 2);
        if (p[0] < 2)
            return;
        if (p[1] == 4) {
            CHECK_EQ(p[0], 9);
            CHECK_EQ(p[2], 0);      /* bInterfaceNumber */
            CHECK_EQ(p[3], ifaces); /* bAlternateSetting */
            CHECK_EQ(p[4], 0);      /* no endpoints */
            CHECK_EQ(p[5], 0xFE);
            CHECK_EQ(p[6], 0x01);
            CHECK_EQ(p[7], protocol);
            CHECK_EQ(p[8], istr[ifaces]);
            CHECK_EQ(funcs, 0);
            ifaces++;
        } else if (p[1] == 0x21) {
            CHECK_EQ(p[0], 9);
            funcs++;
            func_at = off;
        } else if (off) {
            CHECK(0); /* nothing else belongs in there */
        }
        off += p[0];
    }
    CHECK_EQ(off, n); /* wTotalLength is the exact sum */
    CHECK_EQ(ifaces, alts);
    CHECK_EQ(funcs, 1);
    CHECK_EQ(func_at, n - 9);
}

TEST(config_descriptor_dfu_mode_has_one_alt_per_target)
{
    static const uint8_t istr[2] = {4, 5};
    int n;
    fx_dfu(&fx, fx_plain_targets, 2);
    n = udfu_usbd_config_desc(&fx.ucfg, buf, sizeof buf);
    check_config(buf, n, 2, 2, istr);
    CHECK_EQ(buf[7], 0x80); /* bus-powered, no remote wakeup */
    CHECK_EQ(buf[8], 50);   /* 100 mA default */
    /* The functional descriptor carries the DFU config. */
    CHECK_EQ(buf[n - 7], UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD | UDFU_ATTR_MANIFEST_TOLERANT);
    CHECK_EQ(udfu_get16(buf + n - 6), 1500);
    CHECK_EQ(udfu_get16(buf + n - 4), 256);
    CHECK_EQ(udfu_get16(buf + n - 2), 0x0110);
}

TEST(config_descriptor_power_attributes)
{
    fx_dfu(&fx, fx_plain_targets, 1);
    fx.ucfg.self_powered = 1;
    fx.ucfg.max_power_ma = 500;
    CHECK_EQ(udfu_usbd_config_desc(&fx.ucfg, buf, sizeof buf), 27);
    CHECK_EQ(buf[7], 0xC0);
    CHECK_EQ(buf[8], 250);
    fx.ucfg.max_power_ma = 2000; /* beyond what USB 2.0 can say: clamped */
    CHECK_EQ(udfu_usbd_config_desc(&fx.ucfg, buf, sizeof buf), 27);
    CHECK_EQ(buf[8], 250);
}

TEST(config_descriptor_runtime_mode)
{
    static const uint8_t istr[1] = {4};
    static const uint8_t no_istr[1] = {0};
    int n;
    fx_rt(&fx, UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_WILL_DETACH);
    n = udfu_usbd_config_desc(&fx.ucfg, buf, sizeof buf);
    check_config(buf, n, 1, 1, istr);
    CHECK_EQ(buf[n - 7], UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_WILL_DETACH);
    CHECK_EQ(udfu_get16(buf + n - 6), 1000);
    CHECK_EQ(udfu_get16(buf + n - 4), 1024);
    CHECK_EQ(udfu_get16(buf + n - 2), 0x0110); /* bcd_dfu 0: DFU 1.1 */
    fx.rcfg.bcd_dfu = 0x011A;
    fx.ucfg.rt_name = NULL;
    n = udfu_usbd_config_desc(&fx.ucfg, buf, sizeof buf);
    check_config(buf, n, 1, 1, no_istr);
    CHECK_EQ(udfu_get16(buf + n - 2), 0x011A);
}

TEST(functional_descriptor_says_dfuse_when_a_target_is_dfuse)
{
    uint8_t cfgd[64];
    int n;
    fx_dfu(&fx, fx_mixed_targets, 2);
    CHECK_EQ(udfu_usbd_func_desc(&fx.ucfg, buf, sizeof buf), 9);
    CHECK_EQ(buf[0], 9);
    CHECK_EQ(buf[1], 0x21);
    CHECK_EQ(udfu_get16(buf + 7), 0x011A);
    /* ... and is the same bytes the configuration descriptor ends with. */
    n = udfu_usbd_config_desc(&fx.ucfg, cfgd, sizeof cfgd);
    CHECK_EQ(n, 36);
    CHECK_MEM(cfgd + n - 9, buf, 9);
}

TEST(string_zero_lists_us_english)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    CHECK_EQ(udfu_usbd_string_desc(&fx.ucfg, 0, buf, sizeof buf), 4);
    CHECK_EQ(buf[0], 4);
    CHECK_EQ(buf[1], 3);
    CHECK_EQ(udfu_get16(buf + 2), 0x0409);
}

TEST(strings_are_utf16le_per_index_plan)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    check_string(buf, udfu_usbd_string_desc(&fx.ucfg, 1, buf, sizeof buf), "udfu");
    check_string(buf, udfu_usbd_string_desc(&fx.ucfg, 2, buf, sizeof buf), "udfu test device");
    check_string(buf, udfu_usbd_string_desc(&fx.ucfg, 3, buf, sizeof buf), "0123456789AB");
    check_string(buf, udfu_usbd_string_desc(&fx.ucfg, 4, buf, sizeof buf), "Flash");
    check_string(buf, udfu_usbd_string_desc(&fx.ucfg, 5, buf, sizeof buf), "Config");
    CHECK_EQ(udfu_usbd_string_desc(&fx.ucfg, 6, buf, sizeof buf), UDFU_ERR_INVAL);
    CHECK_EQ(udfu_usbd_string_desc(&fx.ucfg, 0xEE, buf, sizeof buf), UDFU_ERR_INVAL);
    fx.ucfg.serial = NULL;
    CHECK_EQ(udfu_usbd_string_desc(&fx.ucfg, 3, buf, sizeof buf), UDFU_ERR_INVAL);
}

TEST(latin1_bytes_become_their_code_points)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    fx.ucfg.manufacturer = "M\xfcller";
    CHECK_EQ(udfu_usbd_string_desc(&fx.ucfg, 1, buf, sizeof buf), 14);
    CHECK_EQ(buf[4], 0xFC);
    CHECK_EQ(buf[5], 0x00);
}

TEST(dfuse_alt_string_is_the_layout)
{
    char layout[128];
    int n = udfu_mem_layout(&fx_mixed_targets[1], layout, sizeof layout);
    CHECK(n > 0);
    CHECK_EQ(layout[0], '@');
    fx_dfu(&fx, fx_mixed_targets, 2);
    check_string(buf, udfu_usbd_string_desc(&fx.ucfg, 4, buf, sizeof buf), "Flash");
    check_string(buf, udfu_usbd_string_desc(&fx.ucfg, 5, buf, sizeof buf), layout);
}

TEST(runtime_interface_string)
{
    fx_rt(&fx, 0);
    check_string(buf, udfu_usbd_string_desc(&fx.ucfg, 4, buf, sizeof buf), "udfu DFU");
    CHECK_EQ(udfu_usbd_string_desc(&fx.ucfg, 5, buf, sizeof buf), UDFU_ERR_INVAL);
    fx.ucfg.rt_name = NULL;
    CHECK_EQ(udfu_usbd_string_desc(&fx.ucfg, 4, buf, sizeof buf), UDFU_ERR_INVAL);
}

TEST(long_strings_are_cut_to_the_buffer_and_to_126_chars)
{
    static char longname[301];
    memset(longname, 'x', 300);
    fx_dfu(&fx, fx_plain_targets, 2);
    fx.ucfg.product = longname;
    CHECK_EQ(udfu_usbd_string_desc(&fx.ucfg, 2, buf, sizeof buf), 254);
    CHECK_EQ(buf[0], 254);
    CHECK_EQ(buf[252], 'x');
    CHECK_EQ(udfu_usbd_string_desc(&fx.ucfg, 2, buf, 11), 10); /* whole characters only */
    CHECK_EQ(buf[0], 10);
    CHECK_EQ(buf[8], 'x');
}

TEST(a_layout_that_does_not_fit_is_refused_not_cut)
{
    char layout[256];
    int n = udfu_mem_layout(&fx_long_layout[0], layout, sizeof layout);
    CHECK(n > 126);
    fx_dfu(&fx, fx_short_layout, 1);
    /* udfu_usbd_init() refuses the big one (test_usbd_init); behind its
     * back, the descriptor is still refused, not cut */
    fx.dcfg.targets = fx_long_layout;
    CHECK_EQ(udfu_usbd_string_desc(&fx.ucfg, 4, buf, sizeof buf), UDFU_ERR_NOSPACE);
}

TEST(bos_carries_the_msos20_platform_capability)
{
    int n, off = 5;
    fx_dfu(&fx, fx_plain_targets, 2);
    fx.ucfg.ms_vendor_code = 0x42;
    fx.ucfg.ms_guid = guid;
    n = udfu_usbd_bos_desc(&fx.ucfg, buf, sizeof buf);
    CHECK_EQ(n, 33);
    CHECK_EQ(buf[0], 5);
    CHECK_EQ(buf[1], 0x0F);
    CHECK_EQ(udfu_get16(buf + 2), n);
    CHECK_EQ(buf[4], 1); /* bNumDeviceCaps */
    CHECK_EQ(buf[off + 0], 28);
    CHECK_EQ(buf[off + 1], 0x10); /* DEVICE CAPABILITY */
    CHECK_EQ(buf[off + 2], 0x05); /* PLATFORM */
    CHECK_EQ(buf[off + 3], 0);
    CHECK_MEM(buf + off + 4, msos_uuid, 16);
    CHECK_EQ(udfu_get32(buf + off + 20), 0x06030000u);
    CHECK_EQ(udfu_get16(buf + off + 24), udfu_usbd_msos2_desc(&fx.ucfg, buf + 100, 300));
    CHECK_EQ(buf[off + 26], 0x42);
    CHECK_EQ(buf[off + 27], 0);
    CHECK_EQ(off + buf[off], n);
    fx.ucfg.ms_guid = NULL;
    CHECK_EQ(udfu_usbd_bos_desc(&fx.ucfg, buf, sizeof buf), 33);
    CHECK_EQ(udfu_get16(buf + off + 24), 30);
}

TEST(no_ms_vendor_code_no_bos_nor_msos20)
{
    fx_dfu(&fx, fx_plain_targets, 2);
    fx.ucfg.ms_guid = guid;
    CHECK_EQ(udfu_usbd_bos_desc(&fx.ucfg, buf, sizeof buf), UDFU_ERR_UNSUPPORTED);
    CHECK_EQ(udfu_usbd_msos2_desc(&fx.ucfg, buf, sizeof buf), UDFU_ERR_UNSUPPORTED);
}

static void check_set_header_and_compat(const uint8_t *d, int total)
{
    static const uint8_t winusb[8] = {'W', 'I', 'N', 'U', 'S', 'B', 0, 0};
    static const uint8_t zero[8] = {0};
    CHECK_EQ(udfu_get16(d + 0), 10);
    CHECK_EQ(udfu_get16(d + 2), 0x0000); /* MS_OS_20_SET_HEADER_DESCRIPTOR */
    CHECK_EQ(udfu_get32(d + 4), 0x06030000u);
    CHECK_EQ(udfu_get16(d + 8), total);
    CHECK_EQ(udfu_get16(d + 10), 20);
    CHECK_EQ(udfu_get16(d + 12), 0x0003); /* MS_OS_20_FEATURE_COMPATBLE_ID */
    CHECK_MEM(d + 14, winusb, 8);
    CHECK_MEM(d + 22, zero, 8);
}

TEST(msos20_set_without_guid_is_header_and_winusb)
{
    int n;
    fx_dfu(&fx, fx_plain_targets, 2);
    fx.ucfg.ms_vendor_code = 0x42;
    n = udfu_usbd_msos2_desc(&fx.ucfg, buf, sizeof buf);
    CHECK_EQ(n, 30);
    check_set_header_and_compat(buf, n);
}

TEST(msos20_set_with_guid_adds_the_registry_property)
{
    static const char name[] = "DeviceInterfaceGUIDs";
    const uint8_t *p = buf + 30;
    int n, off, i, sum = 0;
    uint16_t name_len, data_len;
    fx_dfu(&fx, fx_plain_targets, 2);
    fx.ucfg.ms_vendor_code = 0x42;
    fx.ucfg.ms_guid = guid;
    n = udfu_usbd_msos2_desc(&fx.ucfg, buf, sizeof buf);
    CHECK_EQ(n, 10 + 20 + 132);
    check_set_header_and_compat(buf, n);
    /* Every descriptor's wLength adds up to wTotalLength. */
    for (off = 0; off < n && udfu_get16(buf + off) >= 4; off += udfu_get16(buf + off))
        sum += udfu_get16(buf + off);
    CHECK_EQ(sum, n);
    CHECK_EQ(off, n);
    CHECK_EQ(udfu_get16(p + 0), 132);
    CHECK_EQ(udfu_get16(p + 2), 0x0004); /* MS_OS_20_FEATURE_REG_PROPERTY */
    CHECK_EQ(udfu_get16(p + 4), 0x0007); /* REG_MULTI_SZ */
    name_len = udfu_get16(p + 6);
    CHECK_EQ(name_len, 42);
    for (i = 0; i < 21; i++) {
        CHECK_EQ(p[8 + 2 * i], (uint8_t)name[i]);
        CHECK_EQ(p[9 + 2 * i], 0);
    }
    data_len = udfu_get16(p + 8 + name_len);
    CHECK_EQ(data_len, 80);
    CHECK_EQ(10 + name_len + data_len, 132);
    for (i = 0; i < 38; i++) {
        CHECK_EQ(p[10 + name_len + 2 * i], (uint8_t)guid[i]);
        CHECK_EQ(p[11 + name_len + 2 * i], 0);
    }
    for (i = 76; i < 80; i++) /* the GUID's NUL, then the list's */
        CHECK_EQ(p[10 + name_len + i], 0);
}

int main(void)
{
    RUN_DFU(device_descriptor_fields_come_from_the_config);
    RUN_DFU(device_descriptor_follows_options);
    RUN_IF(UDFU_CFG_MSOS20 && UDFU_CFG_USBD_DFU, device_descriptor_says_usb_2_01_with_an_ms_vendor_code);
    RUN_DFU(builders_refuse_a_small_buffer);
    RUN_IF(UDFU_CFG_MSOS20 && UDFU_CFG_USBD_DFU, msos20_builders_refuse_a_small_buffer);
    RUN_IF(!UDFU_CFG_MSOS20 && UDFU_CFG_USBD_DFU, without_msos20_the_ms_vendor_code_is_ignored);
    RUN_IF(UDFU_CFG_PLAIN && UDFU_CFG_USBD_DFU, config_descriptor_dfu_mode_has_one_alt_per_target);
    RUN_DFU(config_descriptor_power_attributes);
    RUN_RT(config_descriptor_runtime_mode);
    RUN_IF(UDFU_CFG_PLAIN && UDFU_CFG_USBD_DFU, functional_descriptor_says_dfuse_when_a_target_is_dfuse);
    RUN_DFU(string_zero_lists_us_english);
    RUN_IF(UDFU_CFG_PLAIN && UDFU_CFG_USBD_DFU, strings_are_utf16le_per_index_plan);
    RUN_DFU(latin1_bytes_become_their_code_points);
    RUN_IF(UDFU_CFG_PLAIN && UDFU_CFG_USBD_DFU, dfuse_alt_string_is_the_layout);
    RUN_RT(runtime_interface_string);
    RUN_DFU(long_strings_are_cut_to_the_buffer_and_to_126_chars);
    RUN_DFU(a_layout_that_does_not_fit_is_refused_not_cut);
    RUN_IF(UDFU_CFG_MSOS20 && UDFU_CFG_USBD_DFU, bos_carries_the_msos20_platform_capability);
    RUN_DFU(no_ms_vendor_code_no_bos_nor_msos20);
    RUN_IF(UDFU_CFG_MSOS20 && UDFU_CFG_USBD_DFU, msos20_set_without_guid_is_header_and_winusb);
    RUN_IF(UDFU_CFG_MSOS20 && UDFU_CFG_USBD_DFU, msos20_set_with_guid_adds_the_registry_property);
    return test_summary();
}
