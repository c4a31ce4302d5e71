/*
 * usbd.c - a minimal USB device core: chapter-9 standard requests on EP0,
 * the Microsoft OS 2.0 vendor request, and class requests routed to the
 * DFU-mode or run-time class.
 *
 * A control transfer goes SETUP -> optional data stage -> status stage.
 * `stage` says which completion event is awaited next; anything else the
 * driver reports (a late OUT after a new SETUP, a status without transfer)
 * is ignored, so no event can act on a transfer that is gone.
 */
#include "udfu_usbd.h"

#include "udfu_util.h"

enum { STAGE_IDLE, STAGE_DATA_OUT, STAGE_STATUS };
/* Whose transfer it is: decides what happens at the status stage. */
enum { OWN_STD, OWN_CLASS, OWN_ADDRESS };

#define RT_DIR_IN 0x80u
#define RT_TYPE(t) ((t) & 0x60u)
#define RT_STANDARD 0x00u
#define RT_CLASS 0x20u
#define RT_VENDOR 0x40u
#define RT_RCPT(t) ((t) & 0x1Fu)
#define RCPT_DEVICE 0
#define RCPT_INTERFACE 1
#define RCPT_ENDPOINT 2

#define REQ_GET_STATUS 0
#define REQ_CLEAR_FEATURE 1
#define REQ_SET_FEATURE 3
#define REQ_SET_ADDRESS 5
#define REQ_GET_DESCRIPTOR 6
#define REQ_GET_CONFIGURATION 8
#define REQ_SET_CONFIGURATION 9
#define REQ_GET_INTERFACE 10
#define REQ_SET_INTERFACE 11
/* Standard requests whose data stage is IN; the others have none. */
#define REQ_IN_MASK ((1u << REQ_GET_STATUS) | (1u << REQ_GET_DESCRIPTOR) | \
                     (1u << REQ_GET_CONFIGURATION) | (1u << REQ_GET_INTERFACE))

/* bInterfaceNumber of the DFU interface: udfu_usbd_init() only accepts a
 * class configured for interface 0, the only one a one-interface device
 * has. */
#define USBD_IFNUM 0

/* Alt settings the configuration descriptor can hold in buf, and string
 * indices 4 + alt can number. */
#define USBD_ALTS_FIT ((UDFU_CFG_USBD_BUF - 9 - UDFU_FUNC_DESC_LEN) / 9)
#define USBD_MAX_ALTS (USBD_ALTS_FIT < 252 ? USBD_ALTS_FIT : 252)

int udfu_usbd_init(struct udfu_usbd *u, const struct udfu_usbd_cfg *cfg)
{
    const struct udfu_dcd *dcd = cfg ? cfg->dcd : NULL;
    /* ep0_size & 0x87 clear and at most one bit set: 0, 8, 16, 32 or 64. */
    int ok = u && dcd && dcd->ep0_in && dcd->ep0_out && dcd->ep0_ack && dcd->ep0_stall &&
             !cfg->dfu != !cfg->rt && !(cfg->ep0_size & 0x87u) &&
             !(cfg->ep0_size & (cfg->ep0_size - 1u));
    if (ok && cfg->dfu)
        ok = cfg->dfu->cfg && cfg->dfu->cfg->interface == USBD_IFNUM &&
             cfg->dfu->cfg->target_count - 1u < USBD_MAX_ALTS;
    else if (ok)
        ok = cfg->rt->cfg && cfg->rt->cfg->interface == USBD_IFNUM;
    UDFU_ASSERT(ok);
    if (!ok)
        return UDFU_ERR_INVAL;
    memset(u, 0, sizeof *u);
    u->cfg = cfg;
    return 0;
}

static int usbd_get_descriptor(struct udfu_usbd *u, const struct udfu_setup *r)
{
    const struct udfu_usbd_cfg *c = u->cfg;
    uint8_t type = (uint8_t)(r->wValue >> 8), index = (uint8_t)r->wValue;
    uint8_t rcpt = RT_RCPT(r->bmRequestType);
    int (*fn)(const struct udfu_usbd_cfg *, uint8_t *, uint16_t) = NULL;
    /* The functional descriptor is also asked for with the interface as
     * recipient; everything else is a device request. */
    if (rcpt != RCPT_DEVICE && !(rcpt == RCPT_INTERFACE && type == UDFU_DESC_FUNCTIONAL &&
                                 r->wIndex == USBD_IFNUM))
        return UDFU_ERR_STALL;
    switch (type) {
    case 1: fn = udfu_usbd_device_desc; break;
    case 2: fn = index ? NULL : udfu_usbd_config_desc; break;
    case 3: return udfu_usbd_string_desc(c, index, u->buf, sizeof u->buf);
    case 0x0F: fn = udfu_usbd_bos_desc; break;
    case UDFU_DESC_FUNCTIONAL: fn = udfu_usbd_func_desc; break;
    }
    if (fn)
        return fn(c, u->buf, sizeof u->buf);
    /* Including DEVICE_QUALIFIER: a full-speed-only device stalls it. */
    return UDFU_ERR_STALL;
}

/* SET_CONFIGURATION / SET_INTERFACE: both select an alt setting (a new
 * configuration starts at alt 0). The run-time interface has only alt 0. */
static int usbd_select_alt(struct udfu_usbd *u, uint16_t alt)
{
    if (alt > 0xFF || (u->cfg->rt && alt))
        return UDFU_ERR_STALL;
    if (u->cfg->dfu && udfu_dfu_set_alt(u->cfg->dfu, (uint8_t)alt) < 0)
        return UDFU_ERR_STALL;
    u->alt = (uint8_t)alt;
    return 0;
}

static int usbd_standard(struct udfu_usbd *u, const struct udfu_setup *r)
{
    uint8_t rcpt = RT_RCPT(r->bmRequestType);
    uint8_t *b = u->buf;
    /* The interface exists only in the Configured state; EP0 always. */
    int to_if = rcpt == RCPT_INTERFACE && r->wIndex == USBD_IFNUM && u->configuration;
    int to_ep0 = rcpt == RCPT_ENDPOINT && (r->wIndex & 0xFF7Fu) == 0;

    /* Direction must match the request, and none of ours carries OUT data. */
    if (r->bRequest > REQ_SET_INTERFACE ||
        ((REQ_IN_MASK >> r->bRequest) & 1u) != (r->bmRequestType >> 7) ||
        (!(r->bmRequestType & RT_DIR_IN) && r->wLength))
        return UDFU_ERR_STALL;
    switch (r->bRequest) {
    case REQ_GET_STATUS:
        if (rcpt != RCPT_DEVICE && !to_if && !to_ep0)
            break;
        /* Self-powered bit for the device; remote wakeup and halt stay 0. */
        b[0] = rcpt == RCPT_DEVICE && u->cfg->self_powered;
        b[1] = 0;
        return 2;
    case REQ_CLEAR_FEATURE:
    case REQ_SET_FEATURE:
        /* Only ENDPOINT_HALT of EP0 (a no-op: EP0 stalls only until the next
         * SETUP). DEVICE_REMOTE_WAKEUP is not offered, TEST_MODE is
         * high-speed only, interfaces have no features. */
        return to_ep0 && r->wValue == 0 ? 0 : UDFU_ERR_STALL;
    case REQ_SET_ADDRESS:
        if (rcpt != RCPT_DEVICE || r->wValue > 127)
            break;
        u->owner = OWN_ADDRESS; /* applied after the status stage */
        return 0;
    case REQ_GET_DESCRIPTOR:
        return usbd_get_descriptor(u, r);
    case REQ_GET_CONFIGURATION:
        if (rcpt != RCPT_DEVICE)
            break;
        b[0] = u->configuration;
        return 1;
    case REQ_SET_CONFIGURATION:
        if (rcpt != RCPT_DEVICE || r->wValue > 1 || usbd_select_alt(u, 0) < 0)
            break;
        u->configuration = (uint8_t)r->wValue;
        return 0;
    case REQ_GET_INTERFACE:
        if (!to_if)
            break;
        b[0] = u->alt;
        return 1;
    case REQ_SET_INTERFACE:
        return to_if ? usbd_select_alt(u, r->wValue) : UDFU_ERR_STALL;
    }
    return UDFU_ERR_STALL;
}

static int usbd_class(struct udfu_usbd *u, const struct udfu_setup *r, uint8_t **data)
{
    if (RT_RCPT(r->bmRequestType) != RCPT_INTERFACE || r->wIndex != USBD_IFNUM ||
        !u->configuration)
        return UDFU_ERR_STALL;
    u->owner = OWN_CLASS;
    return u->cfg->dfu ? udfu_dfu_setup(u->cfg->dfu, r, data) : udfu_rt_setup(u->cfg->rt, r, data);
}

static void usbd_stall(struct udfu_usbd *u)
{
    u->owner = OWN_STD; /* no status stage follows a stall */
    u->cfg->dcd->ep0_stall(u->cfg->context);
}

static void usbd_ack(struct udfu_usbd *u)
{
    u->stage = STAGE_STATUS;
    u->cfg->dcd->ep0_ack(u->cfg->context);
}

/* Answers the request: stall, status only, IN data or OUT data. */
static void usbd_reply(struct udfu_usbd *u, uint8_t *data, int n)
{
    const struct udfu_dcd *dcd = u->cfg->dcd;
    void *ctx = u->cfg->context;
    uint16_t want = u->req.wLength;
    uint8_t ep0 = u->cfg->ep0_size ? u->cfg->ep0_size : 64; /* a power of 2 */

    /* An OUT data stage is only for a class request (DNLOAD) that takes
     * exactly wLength bytes; anything else cannot be received. */
    if (n >= 0 && want && !(u->req.bmRequestType & RT_DIR_IN) &&
        (u->owner != OWN_CLASS || !u->cfg->dfu || n != want))
        n = UDFU_ERR_STALL;
    if (n < 0)
        usbd_stall(u);
    else if (!want)
        usbd_ack(u);
    else if (u->req.bmRequestType & RT_DIR_IN) {
        /* Never more than asked; a short reply that fills its last packet
         * needs a zero-length packet to end the data stage. */
        uint16_t len = (uint16_t)(n < want ? n : want);
        u->stage = STAGE_STATUS;
        dcd->ep0_in(ctx, data, len, len && len < want && !(len & (ep0 - 1u)));
    } else {
        u->stage = STAGE_DATA_OUT;
        dcd->ep0_out(ctx, data, want);
    }
}

void udfu_usbd_setup(struct udfu_usbd *u, const uint8_t raw[8])
{
    struct udfu_setup *r = &u->req;
    uint8_t *data = u->buf;
    int n = UDFU_ERR_STALL;

    /* A SETUP ends whatever transfer was in progress. */
    u->stage = STAGE_IDLE;
    u->owner = OWN_STD;
    udfu_setup_parse(r, raw);
    switch (RT_TYPE(r->bmRequestType)) {
    case RT_STANDARD:
        n = usbd_standard(u, r);
        break;
    case RT_CLASS:
        n = usbd_class(u, r, &data);
        break;
    case RT_VENDOR:
        /* Windows asks for the MS OS 2.0 descriptor set this way. */
        if (u->cfg->ms_vendor_code && r->bmRequestType == (RT_DIR_IN | RT_VENDOR) &&
            r->bRequest == u->cfg->ms_vendor_code && r->wIndex == UDFU_USBD_MSOS20_INDEX)
            n = udfu_usbd_msos2_desc(u->cfg, u->buf, sizeof u->buf);
        break;
    }
    usbd_reply(u, data, n);
}

void udfu_usbd_out_done(struct udfu_usbd *u, uint16_t len)
{
    if (u->stage != STAGE_DATA_OUT)
        return;
    u->stage = STAGE_IDLE;
    if (udfu_dfu_data(u->cfg->dfu, len) < 0)
        usbd_stall(u);
    else
        usbd_ack(u);
}

void udfu_usbd_status_done(struct udfu_usbd *u)
{
    uint8_t owner = u->owner;
    if (u->stage != STAGE_STATUS)
        return;
    u->stage = STAGE_IDLE;
    u->owner = OWN_STD;
    if (owner == OWN_ADDRESS) {
        u->address = (uint8_t)u->req.wValue;
        if (u->cfg->dcd->set_address)
            u->cfg->dcd->set_address(u->cfg->context, u->address);
    } else if (owner == OWN_CLASS) {
        if (u->cfg->dfu)
            udfu_dfu_status_done(u->cfg->dfu);
        else
            udfu_rt_status_done(u->cfg->rt);
    }
}

void udfu_usbd_bus_reset(struct udfu_usbd *u)
{
    u->address = 0;
    u->configuration = 0;
    u->alt = 0;
    u->stage = STAGE_IDLE;
    u->owner = OWN_STD;
    if (u->cfg->dfu)
        udfu_dfu_reset(u->cfg->dfu);
    else
        udfu_rt_reset(u->cfg->rt);
}

void udfu_usbd_task(struct udfu_usbd *u, uint32_t now_ms)
{
    if (u->cfg->dfu)
        udfu_dfu_task(u->cfg->dfu, now_ms);
    else
        udfu_rt_task(u->cfg->rt, now_ms);
}
