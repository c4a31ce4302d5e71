/*
 * usbd_desc.c - the descriptors of a udfu device, generated from its config:
 * device, configuration (DFU interface, alt settings, functional
 * descriptor), strings, BOS and the Microsoft OS 2.0 descriptor set.
 *
 * Fixed parts come from small templates that are patched in place, which
 * is smaller on a Cortex-M0+ than storing every field one by one.
 */
#include "usbd_int.h"

#include "udfu_util.h"

#define DESC_DEVICE 1
#define DESC_CONFIG 2
#define DESC_STRING 3
#define DESC_INTERFACE 4
#define DESC_BOS 0x0F

#define IF_LEN 9
#define BOS_LEN 33      /* BOS header (5) + MS OS 2.0 platform capability (28) */
#define MSOS_BASE_LEN 30 /* set header (10) + compatible ID (20) */
#define MSOS_PROP_HDR 10 /* registry property minus name and data */
#define MSOS_WINDOWS 0x06030000u /* Windows 8.1: the first with MS OS 2.0 */

static const uint8_t device_tpl[18] = {
    18, DESC_DEVICE, 0x00, 0x02, /* bcdUSB 2.00, patched to 2.01 */
    0, 0, 0,                     /* class per interface */
    64,                          /* bMaxPacketSize0 */
    0, 0, 0, 0, 0, 0,            /* idVendor, idProduct, bcdDevice */
    0, 0, 0, 1                   /* string indices, one configuration */
};

/* One configuration, one interface, bus-powered, no remote wakeup, 100 mA;
 * then the interface (number, alt setting, protocol and string patched),
 * without endpoints. */
static const uint8_t config_tpl[9 + IF_LEN] = {
    9, DESC_CONFIG, 0, 0, 1, 1, 0, 0x80, 50,
    IF_LEN, DESC_INTERFACE, 0, 0, 0, UDFU_CLASS_APP_SPECIFIC, UDFU_SUBCLASS_DFU,
    UDFU_PROTOCOL_RUNTIME, 0
};

/* BOS header, then the platform capability: bDevCapabilityType 5, the
 * MS OS 2.0 platform UUID {D8DD60DF-4589-4CC7-9CD2-659D9E648A9F} in its
 * little-endian GUID byte order, and the descriptor set information
 * (dwWindowsVersion, wMSOSDescriptorSetTotalLength, bMS_VendorCode,
 * bAltEnumCode). */
static const uint8_t bos_tpl[BOS_LEN] = {
    5, DESC_BOS, BOS_LEN, 0, 1,
    28, 0x10, 0x05, 0,
    0xDF, 0x60, 0xDD, 0xD8, 0x89, 0x45, 0xC7, 0x4C,
    0x9C, 0xD2, 0x65, 0x9D, 0x9E, 0x64, 0x8A, 0x9F,
    0x00, 0x00, 0x03, 0x06, 0, 0, 0, 0
};

/* MS OS 2.0 set header (wLength 10, MS_OS_20_SET_HEADER_DESCRIPTOR,
 * dwWindowsVersion, wTotalLength patched), the compatible ID feature
 * (wLength 20, MS_OS_20_FEATURE_COMPATBLE_ID, "WINUSB", no sub-ID), and the
 * start of the registry property (wLength patched,
 * MS_OS_20_FEATURE_REG_PROPERTY, REG_MULTI_SZ, wPropertyNameLength 42). */
static const uint8_t msos_tpl[MSOS_BASE_LEN + 8] = {
    10, 0, 0x00, 0, 0x00, 0x00, 0x03, 0x06, 0, 0,
    20, 0, 0x03, 0, 'W', 'I', 'N', 'U', 'S', 'B', 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0x04, 0, 0x07, 0, 42, 0
};

static const char prop_name[] = "DeviceInterfaceGUIDs"; /* with its NUL: 21 */

/* Whether cfg asks for the MS OS 2.0 descriptors: never in a build
 * without them, where this makes the builders below compile away. */
static int msos20_on(const struct udfu_usbd_cfg *cfg)
{
    return UDFU_CFG_MSOS20 && cfg->ms_vendor_code;
}

/* Bytes 0..n-1 of s as UTF-16LE code units at p, last first: s may be the
 * ASCII text sitting at p itself (a character is read before its slot is
 * overwritten). Returns the end. */
static uint8_t *put_utf16(uint8_t *p, const char *s, size_t n)
{
    uint8_t *end = p + 2 * n;
    while (n--) {
        p[2 * n] = (uint8_t)s[n];
        p[2 * n + 1] = 0;
    }
    return end;
}

/* The string of descriptor index (see the index plan in udfu_usbd.h; not
 * 0), NULL if none; *t is set to the target when that string is a DfuSe
 * layout to generate. */
static const char *usbd_str(const struct udfu_usbd_cfg *cfg, unsigned index,
                            const struct udfu_target **t)
{
    const struct udfu_dfu_cfg *d;
    *t = NULL;
    switch (index) {
    case UDFU_USBD_STR_MANUFACTURER: return cfg->manufacturer;
    case UDFU_USBD_STR_PRODUCT: return cfg->product;
    case UDFU_USBD_STR_SERIAL: return cfg->serial;
    }
    index -= UDFU_USBD_STR_INTERFACE; /* the alt setting */
    if (!USBD_IS_DFU(cfg))
        return index ? NULL : cfg->rt_name;
    d = cfg->dfu->cfg;
    if (index >= d->target_count)
        return NULL;
    /* udfu_dfu_init() refused targets of a protocol compiled out. */
    if (!UDFU_CFG_PLAIN || (UDFU_CFG_DFUSE && d->targets[index].dfuse)) {
        *t = &d->targets[index];
        return "";
    }
    return d->targets[index].name;
}

int udfu_usbd_device_desc(const struct udfu_usbd_cfg *cfg, uint8_t *buf, uint16_t size)
{
    const struct udfu_target *t;
    unsigned i;
    if (size < sizeof device_tpl)
        return UDFU_ERR_NOSPACE;
    memcpy(buf, device_tpl, sizeof device_tpl);
    if (msos20_on(cfg))
        buf[2] = 0x01;
    if (cfg->ep0_size)
        buf[7] = cfg->ep0_size;
    udfu_put16(buf + 8, cfg->vid);
    udfu_put16(buf + 10, cfg->pid);
    udfu_put16(buf + 12, cfg->bcd_device);
    for (i = UDFU_USBD_STR_MANUFACTURER; i <= UDFU_USBD_STR_SERIAL; i++)
        if (usbd_str(cfg, i, &t))
            buf[13 + i] = (uint8_t)i;
    return sizeof device_tpl;
}

int udfu_usbd_func_desc(const struct udfu_usbd_cfg *cfg, uint8_t *buf, uint16_t size)
{
    uint8_t attr;
    uint16_t detach, xfer, bcd;
    if (size < UDFU_FUNC_DESC_LEN)
        return UDFU_ERR_NOSPACE;
    if (USBD_IS_DFU(cfg)) {
        const struct udfu_dfu_cfg *c = cfg->dfu->cfg;
        attr = c->attributes;
        detach = c->detach_timeout_ms;
        xfer = c->transfer_size;
        bcd = udfu_dfu_bcd(c);
    } else {
        const struct udfu_rt_cfg *c = cfg->rt->cfg;
        attr = c->attributes;
        detach = c->detach_timeout_ms;
        xfer = c->transfer_size;
        bcd = c->bcd_dfu ? c->bcd_dfu : UDFU_BCD_DFU;
    }
    buf[0] = UDFU_FUNC_DESC_LEN;
    buf[1] = UDFU_DESC_FUNCTIONAL;
    buf[2] = attr;
    udfu_put16(buf + 3, detach);
    udfu_put16(buf + 5, xfer);
    udfu_put16(buf + 7, bcd);
    return UDFU_FUNC_DESC_LEN;
}

int udfu_usbd_config_desc(const struct udfu_usbd_cfg *cfg, uint8_t *buf, uint16_t size)
{
    const struct udfu_target *t;
    unsigned n = USBD_IS_DFU(cfg) ? cfg->dfu->cfg->target_count : 1, alt;
    unsigned total = 9 + n * IF_LEN + UDFU_FUNC_DESC_LEN;
    uint16_t ma = cfg->max_power_ma;
    uint8_t *p = buf;
    if (total > size)
        return UDFU_ERR_NOSPACE;
    memcpy(p, config_tpl, 9);
    udfu_put16(p + 2, (uint16_t)total);
    if (cfg->self_powered)
        p[7] = 0xC0;
    if (ma)
        p[8] = (uint8_t)(ma > 500 ? 250 : (ma + 1) / 2); /* 2 mA units */
    for (alt = 0; alt < n; alt++) {
        p += IF_LEN;
        memcpy(p, config_tpl + 9, IF_LEN);
        p[2] = USBD_IS_DFU(cfg) ? cfg->dfu->cfg->interface : cfg->rt->cfg->interface;
        p[3] = (uint8_t)alt;
        p[7] = USBD_IS_DFU(cfg) ? UDFU_PROTOCOL_DFU : UDFU_PROTOCOL_RUNTIME;
        if (usbd_str(cfg, UDFU_USBD_STR_INTERFACE + alt, &t))
            p[8] = (uint8_t)(UDFU_USBD_STR_INTERFACE + alt);
    }
    udfu_usbd_func_desc(cfg, p + IF_LEN, UDFU_FUNC_DESC_LEN);
    return (int)total;
}

int udfu_usbd_string_desc(const struct udfu_usbd_cfg *cfg, uint8_t index, uint8_t *buf,
                          uint16_t size)
{
    const struct udfu_target *t;
    const char *s;
    size_t n, cap;
    if (size < 4)
        return UDFU_ERR_NOSPACE;
    buf[1] = DESC_STRING;
    if (index == 0) {
        buf[0] = 4;
        udfu_put16(buf + 2, 0x0409);
        return 4;
    }
    s = usbd_str(cfg, index, &t);
    if (!s)
        return UDFU_ERR_INVAL;
    /* bLength is one byte: at most 126 UTF-16 code units. */
    cap = ((size < 254 ? size : 254) - 2u) / 2u;
    if (t) {
        /* Generate the ASCII layout at buf + 2; expanding it backwards
         * below never overwrites a character before it is read. */
        int rc = udfu_mem_layout(t, (char *)buf + 2, cap + 1);
        if (rc < 0)
            return rc;
        s = (const char *)buf + 2;
        n = (size_t)rc;
    } else {
        n = strlen(s);
        if (n > cap)
            n = cap;
    }
    buf[0] = (uint8_t)(2 + 2 * n);
    put_utf16(buf + 2, s, n);
    return buf[0];
}

/* Length of the MS OS 2.0 descriptor set; the BOS repeats it. 0 when the
 * device offers none. */
unsigned udfu_usbd_msos2_len(const struct udfu_usbd_cfg *cfg)
{
    if (!msos20_on(cfg))
        return 0;
    if (!cfg->ms_guid)
        return MSOS_BASE_LEN;
    return (unsigned)(MSOS_BASE_LEN + MSOS_PROP_HDR + 2 * sizeof prop_name +
                      2 * (strlen(cfg->ms_guid) + 2));
}

unsigned udfu_usbd_msos_room(const struct udfu_usbd_cfg *cfg)
{
    unsigned n = udfu_usbd_msos2_len(cfg);
    return n && n < BOS_LEN ? BOS_LEN : n;
}

int udfu_usbd_bos_desc(const struct udfu_usbd_cfg *cfg, uint8_t *buf, uint16_t size)
{
    if (!msos20_on(cfg))
        return UDFU_ERR_UNSUPPORTED;
    if (size < BOS_LEN)
        return UDFU_ERR_NOSPACE;
    memcpy(buf, bos_tpl, BOS_LEN);
    udfu_put16(buf + 29, (uint16_t)udfu_usbd_msos2_len(cfg));
    buf[31] = cfg->ms_vendor_code;
    return BOS_LEN;
}

int udfu_usbd_msos2_desc(const struct udfu_usbd_cfg *cfg, uint8_t *buf, uint16_t size)
{
    unsigned total;
    uint8_t *p;
    if (!msos20_on(cfg))
        return UDFU_ERR_UNSUPPORTED;
    total = udfu_usbd_msos2_len(cfg);
    if (total > size)
        return UDFU_ERR_NOSPACE;
    memcpy(buf, msos_tpl, cfg->ms_guid ? sizeof msos_tpl : MSOS_BASE_LEN);
    udfu_put16(buf + 8, (uint16_t)total);
    if (!cfg->ms_guid)
        return (int)total;
    /* Registry property DeviceInterfaceGUIDs, REG_MULTI_SZ: the GUID, its
     * NUL, and the NUL that ends the list. */
    udfu_put16(buf + MSOS_BASE_LEN, (uint16_t)(total - MSOS_BASE_LEN));
    p = put_utf16(buf + sizeof msos_tpl, prop_name, sizeof prop_name);
    udfu_put16(p, (uint16_t)(buf + total - p - 2));
    p = put_utf16(p + 2, cfg->ms_guid, (size_t)(buf + total - p - 6) / 2);
    memset(p, 0, 4);
    return (int)total;
}
