#include "rg.h"

#include <string.h>

void rg_pattern(uint8_t *p, uint32_t n, uint32_t seed)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 13u + seed) ^ (i >> 7));
}

void rg_snap(const struct fx *f, struct rg_snap *s)
{
    memset(s, 0, sizeof *s); /* padding too: compared with memcmp */
    s->state = udfu_dfu_state(&f->dfu);
    s->status = udfu_dfu_status(&f->dfu);
    s->erases = f->erases;
    s->progs = f->progs;
    s->reads = f->reads;
    s->manifests = f->manifests;
    s->leaves = f->leaves;
}

int rg_same(const struct fx *f, const struct rg_snap *s)
{
    struct rg_snap now;
    rg_snap(f, &now);
    return memcmp(&now, s, sizeof now) == 0;
}

/* A DNLOAD whose data is harmless on either target: a Get Commands on
 * DfuSe, 16 bytes of image on plain DFU. */
static int first_block(struct fx *f, uint8_t alt)
{
    static const uint8_t get = 0x00;
    uint8_t img[16];
    rg_pattern(img, sizeof img, 1);
    if (alt == RG_ALT_DFUSE)
        return fx_req(f, 0x21, UDFU_REQ_DNLOAD, 0, 1, &get);
    return fx_req(f, 0x21, UDFU_REQ_DNLOAD, 0, sizeof img, img);
}

int rg_reach(struct fx *f, uint8_t alt, int st)
{
    if (udfu_dfu_set_alt(&f->dfu, alt))
        return -1; /* no such alt (plain DFU compiled out) */
    switch (st) {
    case UDFU_DFU_IDLE:
        break;
    case UDFU_DNLOAD_SYNC:
        first_block(f, alt);
        break;
    case UDFU_DNBUSY:
        f->async = 1;
        if (alt == RG_ALT_DFUSE) {
            uint8_t erase[5] = {0x41, 0x00, 0x40, 0x00, 0x08};
            fx_req(f, 0x21, UDFU_REQ_DNLOAD, 0, 5, erase);
        } else {
            first_block(f, alt);
        }
        /* The memory work starts and stays pending; with synchronous
         * callbacks (UDFU_CFG_ASYNC 0) it is pending until the task runs. */
        if (UDFU_CFG_ASYNC)
            fx_task(f);
        fx_status(f, NULL, NULL);
        break;
    case UDFU_DNLOAD_IDLE:
        first_block(f, alt);
        fx_task(f);
        fx_wait(f);
        break;
    case UDFU_MANIFEST_SYNC:
    case UDFU_MANIFEST:
    case UDFU_MANIFEST_WAIT_RESET:
        rg_reach(f, alt, UDFU_DNLOAD_IDLE);
        fx_req(f, 0x21, UDFU_REQ_DNLOAD, 2, 0, NULL);
        if (st == UDFU_MANIFEST_SYNC)
            break;
        fx_status(f, NULL, NULL);
        if (st == UDFU_MANIFEST_WAIT_RESET)
            fx_task(f);
        break;
    case UDFU_UPLOAD_IDLE:
        fx_req(f, 0xA1, UDFU_REQ_UPLOAD, alt == RG_ALT_DFUSE ? 2 : 0, FX_XFER, NULL);
        break;
    case UDFU_DFU_ERROR:
        fx_req(f, 0x21, UDFU_REQ_CLRSTATUS, 0, 0, NULL);
        break;
    default:
        break;
    }
    return udfu_dfu_state(&f->dfu);
}

int rg_cmd(struct fx *f, const uint8_t *cmd, uint16_t len)
{
    int i, st = -1;
    if (fx_req(f, 0x21, UDFU_REQ_DNLOAD, 0, len, cmd) != len)
        return -1;
    fx_task(f);
    for (i = 0; i < 1000; i++) {
        uint32_t poll = 0;
        st = fx_status(f, &poll, NULL);
        if (st < 0 || st == UDFU_DNLOAD_IDLE || st == UDFU_DFU_ERROR)
            break;
        fx_advance(f, poll);
    }
    return st;
}

int rg_dfuse_write(struct fx *f, uint32_t addr, const uint8_t *data, uint16_t len)
{
    uint8_t erase[5] = {0x41, (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16),
                        (uint8_t)(addr >> 24)};
    int st;
    udfu_dfu_set_alt(&f->dfu, RG_ALT_DFUSE);
    if ((st = fx_set_address(f, addr)) != UDFU_DNLOAD_IDLE)
        return st;
    if ((st = fx_cmd(f, erase, 5)) != UDFU_DNLOAD_IDLE)
        return st;
    if (fx_req(f, 0x21, UDFU_REQ_DNLOAD, 2, len, data) != len)
        return -1;
    fx_task(f);
    if ((st = fx_wait(f)) != UDFU_DNLOAD_IDLE)
        return st;
    if (fx_req(f, 0x21, UDFU_REQ_ABORT, 0, 0, NULL) != 0)
        return -1;
    return 0;
}

int rg_plain_download(struct fx *f, const uint8_t *img, uint32_t len)
{
    uint32_t off = 0;
    uint16_t block = 0;
    int st, guard;
    if (udfu_dfu_set_alt(&f->dfu, RG_ALT_PLAIN))
        return -1; /* plain DFU compiled out */
    while (off < len) {
        uint16_t n = (uint16_t)(len - off < FX_XFER ? len - off : FX_XFER);
        if (fx_req(f, 0x21, UDFU_REQ_DNLOAD, block++, n, img + off) != n)
            return -1;
        fx_task(f);
        if ((st = fx_wait(f)) != UDFU_DNLOAD_IDLE)
            return st;
        off += n;
    }
    if (fx_req(f, 0x21, UDFU_REQ_DNLOAD, block, 0, NULL) != 0)
        return -1;
    for (guard = 0; guard < 100; guard++) {
        uint32_t poll = 0;
        st = fx_status(f, &poll, NULL);
        if (st != UDFU_MANIFEST && st != UDFU_MANIFEST_SYNC)
            return st;
        fx_advance(f, poll);
    }
    return -2;
}

/* ---- usbd ------------------------------------------------------------------------ */

static void answer(struct rg_usb *u, int a)
{
    u->last = a;
    u->answers++;
}

static void d_in(void *ctx, const uint8_t *data, uint16_t len, int zlp)
{
    struct rg_usb *u = ctx;
    (void)zlp;
    answer(u, RG_IN);
    u->in_data = data;
    u->in_len = len;
}

static void d_out(void *ctx, uint8_t *buf, uint16_t len)
{
    struct rg_usb *u = ctx;
    answer(u, RG_OUT);
    u->out_buf = buf;
    u->out_len = len;
}

static void d_ack(void *ctx)
{
    answer(ctx, RG_ACK);
}

static void d_stall(void *ctx)
{
    answer(ctx, RG_STALL);
}

static const struct udfu_dcd rg_dcd = {d_in, d_out, d_ack, d_stall, NULL};

int rg_usb_setup(struct rg_usb *u, uint8_t rt, uint8_t req, uint16_t value, uint16_t index,
                 uint16_t len)
{
    uint8_t raw[8] = {rt, req, (uint8_t)value, (uint8_t)(value >> 8), (uint8_t)index,
                      (uint8_t)(index >> 8), (uint8_t)len, (uint8_t)(len >> 8)};
    u->last = RG_NONE;
    u->answers = 0;
    udfu_usbd_setup(&u->usbd, raw);
    return u->last;
}

void rg_usb_init(struct rg_usb *u, uint8_t attributes)
{
    memset(u, 0, sizeof *u);
    fx_init(&u->fx, attributes);
    u->ucfg.context = u;
    u->ucfg.dcd = &rg_dcd;
    u->ucfg.vid = 0x0483;
    u->ucfg.pid = 0xDF11;
    u->ucfg.manufacturer = "udfu";
    u->ucfg.product = "regress";
    u->ucfg.serial = "1";
    u->ucfg.ms_vendor_code = 0x20;
    u->ucfg.dfu = &u->fx.dfu;
    udfu_usbd_init(&u->usbd, &u->ucfg);
    rg_usb_setup(u, 0x00, 5, 5, 0, 0); /* SET_ADDRESS */
    udfu_usbd_status_done(&u->usbd);
    rg_usb_setup(u, 0x00, 9, 1, 0, 0); /* SET_CONFIGURATION */
    udfu_usbd_status_done(&u->usbd);
}
