/*
 * udfu_usbd.h - a minimal USB device core for a DFU device.
 *
 * Answers the chapter-9 standard requests on EP0 from descriptors it
 * generates from its config (device, configuration with the DFU interface
 * and functional descriptor, strings with a serial number, BOS with the
 * Microsoft OS 2.0 platform capability and its descriptor set, so Windows
 * binds WinUSB without an INF; UDFU_CFG_MSOS20 0 compiles those out), and
 * routes class requests to the DFU-mode class (udfu_dfu) or the run-time
 * class (udfu_rt).
 *
 * Below it sits a controller driver (struct udfu_dcd, the udfu_dcd_
 * contract): any USB controller or transport (ports/usbip is one) that can
 * deliver SETUP packets and move EP0 data stages. See ports/template.
 */
#ifndef UDFU_USBD_H
#define UDFU_USBD_H

#include <stdint.h>

#include "udfu_dfu.h"
#include "udfu_opt.h"
#include "udfu_proto.h"
#include "udfu_rt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What usbd asks of the controller. All calls are made from inside one of
 * the udfu_usbd_* event functions below; the driver may act at once or
 * later, but must report back through those event functions. A SETUP
 * packet always wins: it cancels whatever data or status stage was under
 * way (the driver drops it and reports nothing more about it). */
struct udfu_dcd {
    /* Start the IN data stage: send len bytes from data, split into ep0_size
     * packets; len 0 is one zero-length packet. zlp: end with an extra
     * zero-length packet, because len (> 0) is a multiple of the packet size
     * and shorter than wLength, so the host could not otherwise tell the
     * reply ended. data stays valid until udfu_usbd_status_done() or the
     * next SETUP. After the host's status OUT, call udfu_usbd_status_done(). */
    void (*ep0_in)(void *ctx, const uint8_t *data, uint16_t len, int zlp);
    /* Receive the OUT data stage: up to len bytes into buf (len == wLength),
     * then call udfu_usbd_out_done() with the count received. buf stays
     * valid until then or until the next SETUP. */
    void (*ep0_out)(void *ctx, uint8_t *buf, uint16_t len);
    /* Status stage of a no-data or OUT transfer: send a zero-length IN
     * packet, and call udfu_usbd_status_done() once the host took it. */
    void (*ep0_ack)(void *ctx);
    /* Stall EP0 (both directions) until the next SETUP. */
    void (*ep0_stall)(void *ctx);
    /* Apply the device address (called after SET_ADDRESS's status stage).
     * Optional: controllers and transports that do it themselves set NULL. */
    void (*set_address)(void *ctx, uint8_t addr);
};

struct udfu_usbd_cfg {
    void *context;              /* passed to the dcd callbacks */
    const struct udfu_dcd *dcd;
    uint16_t vid, pid, bcd_device;
    const char *manufacturer;   /* ASCII strings; NULL: no string */
    const char *product;
    const char *serial;         /* a serial number lets hosts tell devices apart */
    uint8_t ep0_size;           /* bMaxPacketSize0: 8, 16, 32 or 64 (0: 64) */
    uint8_t self_powered;       /* bmAttributes bit 6 */
    uint16_t max_power_ma;      /* bMaxPower * 2 (0: 100 mA) */

    /* Exactly one of these two selects the mode; it must be initialised
     * (udfu_dfu_init / udfu_rt_init) before udfu_usbd_init(), and its
     * interface number must be 0 (usbd describes a one-interface device).
     * A build can leave one mode out (UDFU_CFG_USBD_DFU / UDFU_CFG_USBD_RT:
     * a bootloader then does not link the run-time class, an application
     * not the DFU class); a cfg of that mode is refused.
     * The device's idProduct is pid in either mode: give the bootloader and
     * the application different pids if hosts must tell them apart. */
    struct udfu_dfu *dfu;       /* DFU mode: one interface, one alt per target */
    struct udfu_rt *rt;         /* run-time mode: one DFU run-time interface */
    const char *rt_name;        /* run-time interface string (NULL: none) */

    /* Microsoft OS 2.0: 0 disables BOS and MS OS descriptors (bcdUSB 2.00);
     * otherwise the vendor bRequest that returns the descriptor set
     * (bcdUSB becomes 2.01). A build with UDFU_CFG_MSOS20 0 ignores it
     * (and ms_guid): bcdUSB stays 2.00, GET_DESCRIPTOR(BOS) and the vendor
     * request stall, so one config serves both builds. */
    uint8_t ms_vendor_code;
    const char *ms_guid;        /* DeviceInterfaceGUIDs value, e.g.
                                   "{9E0D0D1C-....}"; NULL: compatible ID only */
};

/* String indices usbd uses: 1 manufacturer, 2 product, 3 serial,
 * 4 + alt: the name (plain DFU target) or DfuSe layout string (DfuSe
 * target) of target alt; 4: the run-time interface name in run-time mode.
 * A NULL string gets index 0 in the descriptors and stalls if asked for. */
#define UDFU_USBD_STR_MANUFACTURER 1
#define UDFU_USBD_STR_PRODUCT 2
#define UDFU_USBD_STR_SERIAL 3
#define UDFU_USBD_STR_INTERFACE 4

/* The vendor request's wIndex that asks for the MS OS 2.0 descriptor set
 * (MS_OS_20_DESCRIPTOR_INDEX). */
#define UDFU_USBD_MSOS20_INDEX 7

/* The instance: the config pointer, four bytes of state and the scratch
 * buffer. A SETUP is decoded when it arrives and not kept: what a later
 * event needs of it (a pending address, whom to tell about the status
 * stage) fits in `ctl`. */
struct udfu_usbd {
    const struct udfu_usbd_cfg *cfg;
    uint8_t address;            /* applied device address (SET_ADDRESS takes
                                   effect after its status stage) */
    uint8_t configuration;      /* 0 or 1 */
    uint8_t alt;                /* current alt setting of interface 0 */
    uint8_t ctl;                /* internal: the transfer event awaited */
#if UDFU_CFG_USBD_BUF
    /* Descriptor replies (descriptors, strings, MS OS 2.0): never a class
     * buffer, which may hold data being programmed. Without it
     * (UDFU_CFG_USBD_BUF 0), usbd borrows the class buffer only while it
     * is free (udfu_dfu_lend()). */
    uint8_t buf[UDFU_CFG_USBD_BUF];
#endif
};

/* Checks cfg (asserts, and UDFU_ERR_INVAL when asserts are off) and resets
 * to the default state: no address, not configured. cfg must outlive u.
 * Returns 0 or UDFU_ERR_INVAL (also when the configuration descriptor or
 * the MS OS 2.0 descriptor set would not fit in usbd's buffer: its own
 * UDFU_CFG_USBD_BUF bytes, or the class's wTransferSize when it borrows
 * that, or cfg selects a mode compiled out). */
int udfu_usbd_init(struct udfu_usbd *u, const struct udfu_usbd_cfg *cfg);

/* Events from the controller driver. They run in whatever context the
 * driver delivers them (USB interrupt or main loop) and call the dcd hooks
 * and the class from there; the integrator serialises them with
 * udfu_usbd_task() (one at a time). */

/* A SETUP packet arrived on EP0 (raw: its 8 bytes, only read during the
 * call). Cancels any transfer in progress and answers through exactly one
 * of ep0_in, ep0_out, ep0_ack or ep0_stall. Standard requests are answered
 * here; class requests go to the class only once the device is configured
 * (the interface does not exist before SET_CONFIGURATION), and the class
 * stalls, without side effect, those not addressed to interface 0
 * (recipient interface, wIndex 0); the vendor request ms_vendor_code with
 * wIndex UDFU_USBD_MSOS20_INDEX returns the MS OS 2.0 descriptor set
 * (UDFU_CFG_MSOS20 1). Everything else stalls. IN replies are cut to
 * wLength. */
void udfu_usbd_setup(struct udfu_usbd *u, const uint8_t raw[8]);
/* The OUT data stage asked for by ep0_out() ended with len bytes in its
 * buffer. Answers with ep0_ack or ep0_stall. Ignored if no OUT data stage
 * is pending (a SETUP cancelled it). */
void udfu_usbd_out_done(struct udfu_usbd *u, uint16_t len);
/* The status stage of the current transfer completed (after ep0_in: the
 * host's zero-length OUT; after ep0_ack: the host took the zero-length IN).
 * Applies a pending SET_ADDRESS and tells the class its reply was
 * delivered. Ignored if no status stage is pending. */
void udfu_usbd_status_done(struct udfu_usbd *u);
/* USB bus reset: address 0, unconfigured, alt setting 0, transfer dropped;
 * the class gets its reset event (udfu_dfu_reset / udfu_rt_reset). The
 * driver resets its own address and EP0 state. */
void udfu_usbd_bus_reset(struct udfu_usbd *u);

/* Main loop: passes time to the class (udfu_dfu_task / udfu_rt_task). */
void udfu_usbd_task(struct udfu_usbd *u, uint32_t now_ms);

/* Descriptor builders, also usable by firmware on another USB stack that
 * wants udfu's descriptors. Each writes into buf (size bytes, the caller's)
 * and returns the descriptor's length, UDFU_ERR_NOSPACE if it does not fit,
 * or the error named below. They read cfg, and the class instance it
 * points to (its cfg must be set, i.e. the class initialised, and of a
 * mode the build has: see udfu_usbd_cfg.dfu). */

/* Device descriptor (18 bytes). bcdUSB 2.01 when ms_vendor_code is set
 * and UDFU_CFG_MSOS20 is 1 (hosts only ask for the BOS of a 2.01 device),
 * else 2.00. */
int udfu_usbd_device_desc(const struct udfu_usbd_cfg *cfg, uint8_t *buf, uint16_t size);
/* Configuration descriptor with everything under it: the interface (one
 * descriptor per alt setting in DFU mode), then the DFU functional
 * descriptor once, after the last one. No endpoints. */
int udfu_usbd_config_desc(const struct udfu_usbd_cfg *cfg, uint8_t *buf, uint16_t size);
/* The DFU functional descriptor alone (9 bytes), as GET_DESCRIPTOR(0x21)
 * returns it. */
int udfu_usbd_func_desc(const struct udfu_usbd_cfg *cfg, uint8_t *buf, uint16_t size);
/* String descriptor index (see the index plan above) in UTF-16LE; index 0
 * is the language list (0x0409, US English). The strings are ASCII (bytes
 * >= 0x80 are taken as Latin-1) and are cut to what fits in buf and in the
 * 255-byte limit of bLength (126 characters), except a DfuSe layout string:
 * cut short it would describe the wrong memory, so it gives
 * UDFU_ERR_NOSPACE instead. size must be at least 4. UDFU_ERR_INVAL: no
 * such string (index unused or its string NULL). */
int udfu_usbd_string_desc(const struct udfu_usbd_cfg *cfg, uint8_t index, uint8_t *buf,
                          uint16_t size);
/* BOS descriptor: the Microsoft OS 2.0 platform capability (Windows 8.1
 * and later, bMS_VendorCode, the descriptor set's length).
 * UDFU_ERR_UNSUPPORTED if ms_vendor_code is 0, and always in a build with
 * UDFU_CFG_MSOS20 0. */
int udfu_usbd_bos_desc(const struct udfu_usbd_cfg *cfg, uint8_t *buf, uint16_t size);
/* Microsoft OS 2.0 descriptor set of a non-composite device: set header,
 * compatible ID "WINUSB", and, if ms_guid is set, the registry property
 * DeviceInterfaceGUIDs (REG_MULTI_SZ). UDFU_ERR_UNSUPPORTED if
 * ms_vendor_code is 0, and always in a build with UDFU_CFG_MSOS20 0. */
int udfu_usbd_msos2_desc(const struct udfu_usbd_cfg *cfg, uint8_t *buf, uint16_t size);

#ifdef __cplusplus
}
#endif

#endif /* UDFU_USBD_H */
