/*
 * usbd.c - a minimal USB device core: chapter-9 standard requests on EP0,
 * the Microsoft OS 2.0 vendor request, and class requests routed to the
 * DFU-mode or run-time class.
 *
 * A control transfer goes SETUP -> optional data stage -> status stage.
 * `ctl` says which completion event is awaited next and what it then does;
 * anything else the driver reports (a late OUT after a new SETUP, a status
 * without transfer) is ignored, so no event can act on a transfer that is
 * gone.
 */
#include "usbd_int.h"

#include "udfu_util.h"

/* u->ctl: the event awaited, and what its completion does. */
enum {
    CTL_IDLE,          /* nothing: late events are ignored */
    CTL_OUT,           /* the OUT data stage of DNLOAD */
    CTL_STATUS,        /* a status stage with nothing after it */
    CTL_CLASS,         /* a status stage the class wants to hear about */
    CTL_ADDRESS = 0x80 /* | address: SET_ADDRESS, applied after its status stage */
};

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

/* Who a standard request may be addressed to (bits of std_reqs[] and of
 * usbd_whom()), and whether its data stage is IN. */
#define TO_DEV 0x01u  /* the device */
#define TO_IF 0x02u   /* interface 0 of a configured device */
#define TO_EP0 0x04u  /* endpoint 0, either direction */
#define TO_IF0 0x08u  /* interface 0, configured or not */
#define STD_IN 0x80u

/* Indexed by bRequest. The rest (SET_DESCRIPTOR, SYNCH_FRAME, reserved)
 * is not offered: 0 stalls it. */
static const uint8_t std_reqs[REQ_SET_INTERFACE + 1] = {
    STD_IN | TO_DEV | TO_IF | TO_EP0, /* GET_STATUS */
    TO_EP0, 0, TO_EP0,                /* CLEAR_FEATURE, -, SET_FEATURE */
    0, TO_DEV,                        /* -, SET_ADDRESS */
    STD_IN | TO_DEV | TO_IF0,         /* GET_DESCRIPTOR (interface: functional) */
    0, STD_IN | TO_DEV, TO_DEV,       /* SET_DESCRIPTOR, GET/SET_CONFIGURATION */
    STD_IN | TO_IF, TO_IF             /* GET/SET_INTERFACE */
};

/* bInterfaceNumber of the DFU interface: udfu_usbd_init() only accepts a
 * class configured for interface 0, the only one a one-interface device
 * has. */
#define USBD_IFNUM 0

/* The buffer descriptor replies are written into: usbd's own, or (in DFU
 * mode, borrowing) the DFU class's transfer buffer while it is free; NULL:
 * none now. Its size is usbd_scratch_size(). */
static uint8_t *usbd_scratch(struct udfu_usbd *u, const struct udfu_usbd_cfg *cfg)
{
#if UDFU_CFG_USBD_BUF
    (void)cfg;
    return u->buf;
#else
    (void)u;
    return udfu_dfu_lend(cfg->dfu);
#endif
}

static uint16_t usbd_scratch_size(const struct udfu_usbd_cfg *cfg)
{
#if UDFU_CFG_USBD_BUF
    (void)cfg;
    return UDFU_CFG_USBD_BUF;
#else
    return cfg->dfu->cfg->transfer_size;
#endif
}

/* Alt settings a configuration descriptor of size bytes can hold (9 per
 * alt after the configuration and functional descriptors), and string
 * indices 4 + alt can number. */
static int usbd_alts_fit(unsigned alts, unsigned size)
{
    return alts - 1u < 252u && 9u * alts + 9u + UDFU_FUNC_DESC_LEN <= size;
}

/* A DfuSe layout string is never cut short (the host would read a wrong
 * map): each must fit where it is written. At init the class buffer is
 * free, so a borrowed one can be tried out too. */
static int usbd_layouts_fit(struct udfu_usbd *u, const struct udfu_usbd_cfg *cfg)
{
#if UDFU_CFG_DFUSE
    const struct udfu_dfu_cfg *d = cfg->dfu->cfg;
    uint8_t *buf = usbd_scratch(u, cfg);
    for (uint8_t i = 0; i < d->target_count; i++) {
        if (!buf || (d->targets[i].dfuse &&
             udfu_usbd_string_desc(cfg, (uint8_t)(UDFU_USBD_STR_INTERFACE + i), buf,
                                   usbd_scratch_size(cfg)) < 0))
            return 0;
    }
#else
    (void)u;
    (void)cfg;
#endif
    return 1;
}

int udfu_usbd_init(struct udfu_usbd *u, const struct udfu_usbd_cfg *cfg)
{
    const struct udfu_dcd *dcd = cfg ? cfg->dcd : NULL;
    /* ep0_size & 0x87 clear and at most one bit set: 0, 8, 16, 32 or 64. */
    int ok = u && dcd && dcd->ep0_in && dcd->ep0_out && dcd->ep0_ack && dcd->ep0_stall &&
             !(cfg->ep0_size & 0x87u) && !(cfg->ep0_size & (cfg->ep0_size - 1u));
    /* Exactly one class, of a mode the build has, on interface 0. */
    if (ok && USBD_IS_DFU(cfg))
        ok = cfg->dfu && !cfg->rt && cfg->dfu->cfg && cfg->dfu->cfg->interface == USBD_IFNUM &&
             usbd_alts_fit(cfg->dfu->cfg->target_count, usbd_scratch_size(cfg)) &&
             usbd_layouts_fit(u, cfg);
    else if (ok)
        ok = cfg->rt && !cfg->dfu && cfg->rt->cfg && cfg->rt->cfg->interface == USBD_IFNUM;
    /* Every descriptor offered must fit where it is written. */
    ok = ok && (!UDFU_CFG_MSOS20 || udfu_usbd_msos_room(cfg) <= usbd_scratch_size(cfg));
    UDFU_ASSERT(ok);
    if (!ok)
        return UDFU_ERR_INVAL;
    u->cfg = cfg;
    u->address = 0;
    u->configuration = 0;
    u->alt = 0;
    u->ctl = CTL_IDLE;
    return 0;
}

/* The recipients (TO_* bits) request r is addressed to. The interface
 * exists only in the Configured state; EP0 always. */
static unsigned usbd_whom(const struct udfu_usbd *u, const struct udfu_setup *r)
{
    switch (RT_RCPT(r->bmRequestType)) {
    case RCPT_DEVICE:
        return TO_DEV;
    case RCPT_INTERFACE:
        if (r->wIndex == USBD_IFNUM)
            return u->configuration ? TO_IF | TO_IF0 : TO_IF0;
        break;
    case RCPT_ENDPOINT:
        if (!(r->wIndex & 0xFF7Fu))
            return TO_EP0;
        break;
    }
    return 0;
}

static int usbd_get_descriptor(struct udfu_usbd *u, uint16_t value, unsigned whom,
                               uint8_t **data)
{
    const struct udfu_usbd_cfg *c = u->cfg;
    uint8_t type = (uint8_t)(value >> 8), index = (uint8_t)value;
    uint16_t size = usbd_scratch_size(c);
    uint8_t *buf = usbd_scratch(u, u->cfg);
    int (*fn)(const struct udfu_usbd_cfg *, uint8_t *, uint16_t) = NULL;
    /* The functional descriptor is also asked for with the interface as
     * recipient; everything else is a device request. */
    if (!buf || (!(whom & TO_DEV) && type != UDFU_DESC_FUNCTIONAL))
        return UDFU_ERR_STALL;
    *data = buf;
    switch (type) {
    case 1: fn = udfu_usbd_device_desc; break;
    case 2: fn = index ? NULL : udfu_usbd_config_desc; break;
    case 3: return udfu_usbd_string_desc(c, index, buf, size);
#if UDFU_CFG_MSOS20
    case 0x0F: fn = udfu_usbd_bos_desc; break;
#endif
    case UDFU_DESC_FUNCTIONAL: fn = udfu_usbd_func_desc; break;
    }
    /* Including DEVICE_QUALIFIER: a full-speed-only device stalls it. */
    return fn ? fn(c, buf, size) : UDFU_ERR_STALL;
}

/* GET_STATUS replies: {1, 0} (self-powered) at 0, {0, 0} at 1. Sent from
 * flash: ep0_in only reads. */
static const uint8_t usbd_status_bits[3] = {1, 0, 0};

static int usbd_standard(struct udfu_usbd *u, const struct udfu_setup *r, uint8_t **data)
{
    const struct udfu_usbd_cfg *c = u->cfg;
    unsigned whom = usbd_whom(u, r), req = r->bRequest;
    uint16_t value = r->wValue;

    /* Known, addressed to what it may be, direction as the request says,
     * and none of ours carries OUT data. */
    if (req > REQ_SET_INTERFACE || !(std_reqs[req] & whom) ||
        ((std_reqs[req] ^ r->bmRequestType) & RT_DIR_IN) ||
        (!(r->bmRequestType & RT_DIR_IN) && r->wLength))
        return UDFU_ERR_STALL;
    switch (req) {
    case REQ_GET_STATUS:
        /* Self-powered bit for the device; remote wakeup and halt stay 0. */
        *data = (uint8_t *)&usbd_status_bits[!(whom == TO_DEV && c->self_powered)];
        return 2;
    case REQ_CLEAR_FEATURE:
    case REQ_SET_FEATURE:
        /* Only ENDPOINT_HALT of EP0 (a no-op: EP0 stalls only until the next
         * SETUP). DEVICE_REMOTE_WAKEUP is not offered, TEST_MODE is
         * high-speed only, interfaces have no features. */
        return value ? UDFU_ERR_STALL : 0;
    case REQ_SET_ADDRESS:
        if (value > 127)
            return UDFU_ERR_STALL;
        u->ctl = (uint8_t)(CTL_ADDRESS | value); /* applied after the status stage */
        return 0;
    case REQ_GET_DESCRIPTOR:
        return usbd_get_descriptor(u, value, whom, data);
    case REQ_GET_CONFIGURATION:
        *data = &u->configuration;
        return 1;
    case REQ_GET_INTERFACE:
        *data = &u->alt;
        return 1;
    case REQ_SET_CONFIGURATION:
        if (value > 1)
            return UDFU_ERR_STALL;
        /* A (new) configuration starts at alt 0, which every interface
         * has (udfu_usbd_init checked there is a target). */
        u->configuration = (uint8_t)value;
        value = 0;
        break;
    }
    /* SET_CONFIGURATION and SET_INTERFACE select an alt setting; the
     * run-time interface has only alt 0. */
    if (value > 0xFF || (USBD_IS_DFU(c) ? udfu_dfu_set_alt(c->dfu, (uint8_t)value) < 0 : value != 0))
        return UDFU_ERR_STALL;
    u->alt = (uint8_t)value;
    return 0;
}

/* Answers request r: a stall if n < 0, else its data stage (IN: n bytes
 * from data, cut to wLength) or, without one, its status stage (u->ctl
 * says what follows it). Also ends an OUT data stage (r: no_data). */
static void usbd_reply(struct udfu_usbd *u, const struct udfu_setup *r, uint8_t *data, int n)
{
    const struct udfu_usbd_cfg *c = u->cfg;
    uint16_t want = r->wLength;

    /* An OUT data stage is only for a request of the DFU class (DNLOAD)
     * that takes exactly wLength bytes: standard requests with OUT data and
     * vendor OUT requests have stalled already. */
    if (n >= 0 && want && !(r->bmRequestType & RT_DIR_IN) && (!USBD_IS_DFU(c) || n != want))
        n = UDFU_ERR_STALL;
    if (n < 0) {
        u->ctl = CTL_IDLE; /* no status stage follows a stall */
        c->dcd->ep0_stall(c->context);
    } else if (!want) {
        c->dcd->ep0_ack(c->context);
    } else if (r->bmRequestType & RT_DIR_IN) {
        /* Never more than asked; a short reply that fills its last packet
         * needs a zero-length packet to end the data stage (ep0_size is 0
         * for 64, or a power of 2 up to 64). */
        uint16_t len = (uint16_t)(n < want ? n : want);
        c->dcd->ep0_in(c->context, data, len,
                       len && len < want && !(len & ((c->ep0_size - 1u) & 63u)));
    } else {
        u->ctl = CTL_OUT;
        c->dcd->ep0_out(c->context, data, want);
    }
}

/* A request without data stage, standing for an OUT data stage that ended. */
static const struct udfu_setup no_data;

void udfu_usbd_setup(struct udfu_usbd *u, const uint8_t raw[8])
{
    const struct udfu_usbd_cfg *c = u->cfg;
    struct udfu_setup r;
    uint8_t *data = NULL;
    int n = UDFU_ERR_STALL;

    /* A SETUP ends whatever transfer was in progress. */
    u->ctl = CTL_STATUS;
    udfu_setup_parse(&r, raw);
    switch (RT_TYPE(r.bmRequestType)) {
    case RT_STANDARD:
        n = usbd_standard(u, &r, &data);
        break;
    case RT_CLASS:
        /* The class checks recipient, direction and wIndex itself (and
         * stalls without side effect); the interface exists only once
         * configured. */
        if (!u->configuration)
            break;
        u->ctl = CTL_CLASS;
        n = USBD_IS_DFU(c) ? udfu_dfu_setup(c->dfu, &r, &data) : udfu_rt_setup(c->rt, &r, &data);
        break;
#if UDFU_CFG_MSOS20
    case RT_VENDOR:
        /* Windows asks for the MS OS 2.0 descriptor set this way (the
         * builder refuses when ms_vendor_code is 0). */
        if (r.bmRequestType == (RT_DIR_IN | RT_VENDOR) && r.bRequest == c->ms_vendor_code &&
            r.wIndex == UDFU_USBD_MSOS20_INDEX && (data = usbd_scratch(u, u->cfg)) != NULL)
            n = udfu_usbd_msos2_desc(c, data, usbd_scratch_size(c));
        break;
#endif
    }
    usbd_reply(u, &r, data, n);
}

void udfu_usbd_out_done(struct udfu_usbd *u, uint16_t len)
{
    /* Only DNLOAD of the DFU class has an OUT data stage (without DFU
     * mode, the class is not even linked). */
    if (!UDFU_CFG_USBD_DFU || u->ctl != CTL_OUT)
        return;
    u->ctl = CTL_CLASS;
    usbd_reply(u, &no_data, NULL, udfu_dfu_data(u->cfg->dfu, len));
}

void udfu_usbd_status_done(struct udfu_usbd *u)
{
    const struct udfu_usbd_cfg *c = u->cfg;
    uint8_t ctl = u->ctl;
    if (ctl < CTL_STATUS)
        return;
    u->ctl = CTL_IDLE;
    if (ctl & CTL_ADDRESS) {
        u->address = ctl & 0x7Fu;
        if (c->dcd->set_address)
            c->dcd->set_address(c->context, u->address);
    } else if (ctl == CTL_CLASS) {
        if (USBD_IS_DFU(c))
            udfu_dfu_status_done(c->dfu);
        else
            udfu_rt_status_done(c->rt);
    }
}

void udfu_usbd_bus_reset(struct udfu_usbd *u)
{
    u->address = 0;
    u->configuration = 0;
    u->alt = 0;
    u->ctl = CTL_IDLE;
    if (USBD_IS_DFU(u->cfg))
        udfu_dfu_reset(u->cfg->dfu);
    else
        udfu_rt_reset(u->cfg->rt);
}

void udfu_usbd_task(struct udfu_usbd *u, uint32_t now_ms)
{
    if (USBD_IS_DFU(u->cfg))
        udfu_dfu_task(u->cfg->dfu, now_ms);
    else
        udfu_rt_task(u->cfg->rt, now_ms);
}
